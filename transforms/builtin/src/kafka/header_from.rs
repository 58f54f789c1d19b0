//! `HeaderFrom$Key` / `HeaderFrom$Value`: copies or moves fields of the key/value
//! into headers; `fields[i]` goes to header `headers[i]`.
//!
//! As in Kafka Connect: headers are appended (existing ones kept), carry the field's
//! schema (none without a schema), and a missing map entry becomes a null header;
//! `move` also removes the fields (the reduced struct schema is cached per input
//! schema). The two lists must have the same length. A struct field that does not
//! exist is an error naming it.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::Transform;
use sluice_core::{ConnectError, Record, SchemaAndValue, SchemaRef, Type, Value};

use crate::util::cache::SchemaCache;
use crate::util::{
    copy_basics, map_get, map_remove, new_struct, parse_config, push_field,
    replace_null_with_default_key, require_map, require_struct, take_values, with_default, Result,
    Side,
};

/// `fields`, `headers`, `operation`, `replace.null.with.default`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("fields", ConfigType::List)
                .importance(Importance::High)
                .doc("Field names in the record whose values are to be copied or moved to headers."),
        )
        .define(
            ConfigKey::new("headers", ConfigType::List)
                .importance(Importance::High)
                .doc("Header names, in the same order as the field names listed in the fields configuration property."),
        )
        .define(
            ConfigKey::new("operation", ConfigType::String)
                .importance(Importance::High)
                .validator(Validator::OneOf(&["move", "copy"]))
                .doc("Either <code>move</code> if the fields are to be moved to the headers (removed from the key/value), or <code>copy</code> if the fields are to be copied to the headers (retained in the key/value)."),
        )
        .define(replace_null_with_default_key())
}

side_plugins!("HeaderFrom", config_def, build);

fn build(side: Side, config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let class = if side == Side::Key {
        KEY.info.class
    } else {
        VALUE.info.class
    };
    let cfg = parse_config(class, &config_def(), config)?;
    let fields = cfg.list("fields");
    let headers = cfg.list("headers");
    for (key, list) in [("fields", &fields), ("headers", &headers)] {
        if list.is_empty() {
            return Err(ConnectError::config(
                key,
                "",
                "Empty list (a non-empty list is required)",
            ));
        }
    }
    if fields.len() != headers.len() {
        return Err(ConnectError::config(
            "headers",
            headers.join(","),
            "'fields' config must have the same number of elements as 'headers' config.",
        ));
    }
    Ok(Box::new(HeaderFrom {
        side,
        fields,
        headers,
        moving: cfg
            .string_or_default("operation")
            .eq_ignore_ascii_case("move"),
        replace_null_with_default: cfg.bool("replace.null.with.default"),
        cache: SchemaCache::default(),
    }))
}

struct HeaderFrom {
    side: Side,
    fields: Vec<String>,
    headers: Vec<String>,
    moving: bool,
    replace_null_with_default: bool,
    cache: SchemaCache<SchemaRef, SchemaRef>,
}

impl Transform for HeaderFrom {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let op = if self.moving {
            "header move"
        } else {
            "header copy"
        };
        let part = self.side.part_mut(&mut record);
        let value = std::mem::replace(&mut part.value, Value::Null);
        let mut added = Vec::with_capacity(self.fields.len());
        match part.schema.clone() {
            None => {
                let mut map = require_map(value, op)?;
                for (field, header) in self.fields.iter().zip(&self.headers) {
                    let v = if self.moving {
                        map_remove(&mut map, field)
                    } else {
                        map_get(&map, field).cloned()
                    };
                    added.push((
                        header.clone(),
                        SchemaAndValue::schemaless(v.unwrap_or(Value::Null)),
                    ));
                }
                part.value = Value::Map(map);
            }
            Some(schema) => {
                let s = require_struct(value, op)?;
                for (field, header) in self.fields.iter().zip(&self.headers) {
                    let f = schema.field(field).ok_or_else(|| {
                        ConnectError::Data(format!(
                            "Field {field} does not exist in the {} schema",
                            side_name(self.side)
                        ))
                    })?;
                    let v = s.get(field).cloned().unwrap_or(Value::Null);
                    let v = with_default(v, f, self.replace_null_with_default);
                    added.push((header.clone(), SchemaAndValue::new(f.schema.clone(), v)));
                }
                part.value = if self.moving {
                    let fields = &self.fields;
                    let updated = self.cache.get_or_try_insert(&schema, || {
                        let mut out = copy_basics(&schema, Type::Struct);
                        for f in schema.fields.iter().filter(|f| !fields.contains(&f.name)) {
                            push_field(&mut out, f.name.clone(), f.schema.clone());
                        }
                        Ok(out.into())
                    })?;
                    let in_schema = s.schema().clone();
                    let values = take_values(s);
                    let kept = in_schema
                        .fields
                        .iter()
                        .zip(values)
                        .filter(|(f, _)| !self.fields.contains(&f.name))
                        .map(|(f, v)| with_default(v, f, self.replace_null_with_default))
                        .collect();
                    part.schema = Some(updated.clone());
                    Value::Struct(new_struct(updated, kept)?)
                } else {
                    Value::Struct(s)
                };
            }
        }
        for (k, v) in added {
            record.headers.add(k, v);
        }
        Ok(Some(record))
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Key => "key",
        Side::Value => "value",
    }
}
