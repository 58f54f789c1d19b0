//! `InsertField$Key` / `InsertField$Value`: appends fields holding the topic, the
//! partition, the record timestamp or a static string.
//!
//! As in Kafka Connect: a name ending in `!` makes the field required, `?` (or
//! nothing) optional; fields are appended in the order topic, partition, offset,
//! timestamp, static; the timestamp field has the `Timestamp` logical schema with a
//! schema and is a plain int64 without; a partition or timestamp the record lacks is
//! left null (with a schema) or not put (without); a null key/value passes through.
//! `offset.field` needs the Kafka offset of a sink record, which Sluice's `Record`
//! does not carry into transforms (`Transform::apply` sees a `Record`; the offset
//! lives beside it in `SinkRecord`): setting it is refused at configure time, naming
//! the key, rather than accepted and then failing or guessing on every record.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_core::plugin::Transform;
use sluice_core::{ConnectError, Record, SchemaBuilder, SchemaRef, Type, Value};

use crate::util::cache::SchemaCache;
use crate::util::{
    copy_basics, has_defaults, map_put, new_struct, not_a_struct, parse_config, push_field,
    replace_null_with_default_key, require_map, with_default, Result, Side,
};

const PURPOSE: &str = "field insertion";
const OPTIONALITY_DOC: &str = "Suffix with <code>!</code> to make this a required field, or <code>?</code> to keep it optional (the default).";

/// `topic.field`, `partition.field`, `offset.field`, `timestamp.field`,
/// `static.field`, `static.value`, `replace.null.with.default`.
pub fn config_def() -> ConfigDef {
    let key = |name: &str, doc: String| {
        ConfigKey::new(name, ConfigType::String)
            .optional()
            .importance(Importance::Medium)
            .doc(doc)
    };
    ConfigDef::new()
        .define(key("topic.field", format!("Field name for Kafka topic. {OPTIONALITY_DOC}")))
        .define(key("partition.field", format!("Field name for Kafka partition. {OPTIONALITY_DOC}")))
        .define(key(
            "offset.field",
            format!("Field name for Kafka offset - only applicable to sink connectors.<br/>{OPTIONALITY_DOC} Not supported by Sluice: transforms do not see sink offsets."),
        ))
        .define(key("timestamp.field", format!("Field name for record timestamp. {OPTIONALITY_DOC}")))
        .define(key("static.field", format!("Field name for static data field. {OPTIONALITY_DOC}")))
        .define(key("static.value", "Static field value, if field name configured.".into()))
        .define(replace_null_with_default_key())
}

side_plugins!("InsertField", config_def, build);

/// A field name with its `!` / `?` optionality suffix parsed.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    optional: bool,
}

fn spec(text: Option<&str>) -> Option<Spec> {
    let t = text?;
    Some(if let Some(n) = t.strip_suffix('?') {
        Spec {
            name: n.to_owned(),
            optional: true,
        }
    } else if let Some(n) = t.strip_suffix('!') {
        Spec {
            name: n.to_owned(),
            optional: false,
        }
    } else {
        Spec {
            name: t.to_owned(),
            optional: true,
        }
    })
}

fn build(side: Side, config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let class = if side == Side::Key {
        KEY.info.class
    } else {
        VALUE.info.class
    };
    let cfg = parse_config(class, &config_def(), config)?;
    if let Some(v) = cfg.string("offset.field") {
        return Err(ConnectError::config(
            "offset.field",
            v,
            "not supported by Sluice: the Kafka offset exists only for sink records, and Sluice's transforms receive records without it (in Kafka Connect a source connector fails every record with offset.field set); remove offset.field",
        ));
    }
    Ok(Box::new(InsertField {
        side,
        topic: spec(cfg.string("topic.field")),
        partition: spec(cfg.string("partition.field")),
        timestamp: spec(cfg.string("timestamp.field")),
        static_field: spec(cfg.string("static.field")),
        static_value: cfg.string("static.value").map(str::to_owned),
        replace_null_with_default: cfg.bool("replace.null.with.default"),
        cache: SchemaCache::default(),
    }))
}

/// The configured transform, also used by Debezium's rewrite mode (`__deleted`).
pub(crate) struct InsertField {
    side: Side,
    topic: Option<Spec>,
    partition: Option<Spec>,
    timestamp: Option<Spec>,
    static_field: Option<Spec>,
    static_value: Option<String>,
    replace_null_with_default: bool,
    cache: SchemaCache<SchemaRef, (SchemaRef, bool)>,
}

impl InsertField {
    /// `InsertField$Value` with just `static.field` / `static.value`.
    pub(crate) fn static_value(field: &str, value: &str, replace_null_with_default: bool) -> Self {
        InsertField {
            side: Side::Value,
            topic: None,
            partition: None,
            timestamp: None,
            static_field: spec(Some(field)),
            static_value: Some(value.to_owned()),
            replace_null_with_default,
            cache: SchemaCache::default(),
        }
    }

    fn updated_schema(&self, schema: &sluice_core::Schema) -> Result<SchemaRef> {
        let mut out = copy_basics(schema, Type::Struct);
        for f in &schema.fields {
            push_field(&mut out, f.name.clone(), f.schema.clone());
        }
        let prim = |ty, optional| {
            let b = SchemaBuilder::new(ty);
            if optional {
                b.optional().build()
            } else {
                b.build()
            }
        };
        let mut add = |spec: &Option<Spec>, s: &dyn Fn(bool) -> SchemaRef| -> Result<()> {
            if let Some(spec) = spec {
                if out.field(&spec.name).is_some() {
                    return Err(ConnectError::Data(format!(
                        "Cannot create field because of field name duplication {}",
                        spec.name
                    )));
                }
                push_field(&mut out, spec.name.clone(), s(spec.optional));
            }
            Ok(())
        };
        add(&self.topic, &|o| prim(Type::String, o))?;
        add(&self.partition, &|o| prim(Type::Int32, o))?;
        add(&self.timestamp, &|o| {
            let b = SchemaBuilder::timestamp();
            if o {
                b.optional().build()
            } else {
                b.build()
            }
        })?;
        add(&self.static_field, &|o| prim(Type::String, o))?;
        Ok(out.into())
    }

    /// Inserts the fields into the key or value of `record`.
    pub(crate) fn insert(&mut self, record: &mut Record) -> Result<()> {
        let (partition, ts) = (record.partition, record.timestamp);
        let (part, topic) = match self.side {
            Side::Key => (&mut record.key, &record.topic),
            Side::Value => (&mut record.value, &record.topic),
        };
        if part.value.is_null() {
            return Ok(());
        }
        let value = std::mem::replace(&mut part.value, Value::Null);
        match &part.schema {
            None => {
                let mut map = require_map(value, PURPOSE)?;
                if let Some(s) = &self.topic {
                    map_put(&mut map, &s.name, Value::String(topic.clone()));
                }
                if let (Some(s), Some(p)) = (&self.partition, partition) {
                    map_put(&mut map, &s.name, Value::Int32(p));
                }
                if let (Some(s), Some(t)) = (&self.timestamp, ts) {
                    map_put(&mut map, &s.name, Value::Int64(t));
                }
                if let (Some(s), Some(v)) = (&self.static_field, &self.static_value) {
                    map_put(&mut map, &s.name, Value::String(v.clone()));
                }
                part.value = Value::Map(map);
            }
            Some(_) => {
                // Matched here rather than through `require_struct`, so the parts move
                // straight out of the value.
                let (in_schema, mut values) = match value {
                    Value::Struct(s) => s.into_parts(),
                    other => return Err(not_a_struct(&other, PURPOSE)),
                };
                let (updated, defaults) = match self.cache.get_ref(&in_schema) {
                    Some(v) => v,
                    None => {
                        let v = (self.updated_schema(&in_schema)?, has_defaults(&in_schema));
                        self.cache.insert(&in_schema, v);
                        self.cache
                            .get_ref(&in_schema)
                            .unwrap_or_else(|| unreachable!("just cached"))
                    }
                };
                if self.replace_null_with_default && *defaults {
                    for (f, v) in in_schema.fields.iter().zip(values.iter_mut()) {
                        if v.is_null() {
                            *v = with_default(std::mem::replace(v, Value::Null), f, true);
                        }
                    }
                }
                // The input's vector, extended in place (exactly: a record's values
                // are rarely grown again, and doubling would over-allocate each one).
                values.reserve_exact(updated.fields.len().saturating_sub(values.len()));
                if self.topic.is_some() {
                    values.push(Value::String(topic.clone()));
                }
                if self.partition.is_some() {
                    values.push(partition.map_or(Value::Null, Value::Int32));
                }
                if self.timestamp.is_some() {
                    values.push(ts.map_or(Value::Null, Value::Int64));
                }
                if self.static_field.is_some() {
                    values.push(
                        self.static_value
                            .as_ref()
                            .map_or(Value::Null, |v| Value::String(v.clone())),
                    );
                }
                part.schema = Some(updated.clone());
                part.value = Value::Struct(new_struct(updated.clone(), values)?);
            }
        }
        Ok(())
    }
}

impl Transform for InsertField {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        self.insert(&mut record)?;
        Ok(Some(record))
    }
}
