//! `ValueToKey`: replaces the key with a struct (or map) of fields copied from the
//! value.
//!
//! As in Kafka Connect: the key struct is unnamed, its fields in `fields` order with
//! the value fields' schemas (cached per value schema); a field the value schema
//! lacks is an error ("Field does not exist: x"); without a schema the key is a map
//! with a null entry for a missing field; a null value is an error, as in Kafka.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_core::plugin::{PluginInfo, PluginType, Transform, TransformPlugin};
use sluice_core::{ConnectError, Record, SchemaAndValue, SchemaBuilder, SchemaRef, Value};

use crate::util::cache::SchemaCache;
use crate::util::{
    map_get, new_struct, parse_config, replace_null_with_default_key, require_map_ref,
    require_struct_ref, with_default, Result,
};

const CLASS: &str = "org.apache.kafka.connect.transforms.ValueToKey";
const PURPOSE: &str = "copying fields from value to key";

/// `fields`, `replace.null.with.default`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("fields", ConfigType::List)
                .importance(Importance::High)
                .doc("Field names on the record value to extract as the record key."),
        )
        .define(replace_null_with_default_key())
}

/// `org.apache.kafka.connect.transforms.ValueToKey`.
pub const PLUGIN: TransformPlugin = TransformPlugin {
    info: PluginInfo {
        class: CLASS,
        aliases: &["ValueToKey"],
        kind: PluginType::Transformation,
        config: config_def,
    },
    build,
};

fn build(config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let cfg = parse_config(CLASS, &config_def(), config)?;
    let fields = cfg.list("fields");
    if fields.is_empty() {
        return Err(ConnectError::config(
            "fields",
            "",
            "Empty list (a non-empty list of field names is required)",
        ));
    }
    Ok(Box::new(ValueToKey {
        fields,
        replace_null_with_default: cfg.bool("replace.null.with.default"),
        cache: SchemaCache::default(),
    }))
}

struct ValueToKey {
    fields: Vec<String>,
    replace_null_with_default: bool,
    cache: SchemaCache<SchemaRef, SchemaRef>,
}

impl Transform for ValueToKey {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        record.key = match &record.value.schema {
            None => {
                let map = require_map_ref(&record.value.value, PURPOSE)?;
                let key = self
                    .fields
                    .iter()
                    .map(|f| {
                        (
                            Value::String(f.clone()),
                            map_get(map, f).cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect();
                SchemaAndValue::schemaless(Value::Map(key))
            }
            Some(schema) => {
                let value = require_struct_ref(&record.value.value, PURPOSE)?;
                let fields = &self.fields;
                let key_schema = self.cache.get_or_try_insert(schema, || {
                    let mut b = SchemaBuilder::struct_();
                    for f in fields {
                        let field = schema.field(f).ok_or_else(|| {
                            ConnectError::Data(format!("Field does not exist: {f}"))
                        })?;
                        b = b.field(f.clone(), field.schema.clone());
                    }
                    Ok(b.build())
                })?;
                let mut values = Vec::with_capacity(self.fields.len());
                for name in &self.fields {
                    let f = value.schema().field(name).ok_or_else(|| {
                        ConnectError::Data(format!("Field does not exist: {name}"))
                    })?;
                    values.push(with_default(
                        value.values()[f.index].clone(),
                        f,
                        self.replace_null_with_default,
                    ));
                }
                SchemaAndValue::new(key_schema.clone(), new_struct(key_schema, values)?)
            }
        };
        Ok(Some(record))
    }
}
