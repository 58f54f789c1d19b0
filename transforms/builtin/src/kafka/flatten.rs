//! `Flatten$Key` / `Flatten$Value`: flattens nested structs (or nested maps without
//! a schema) into one level, joining names with `delimiter` (default `.`).
//!
//! As in Kafka Connect: a flattened field is optional when it or any ancestor is,
//! and takes its default from its own schema or else from the ancestor struct's
//! default; the top-level struct keeps name, version, doc and parameters (but not
//! optionality); arrays pass through as leaves; maps inside a schema'd struct are
//! an error; a null nested struct leaves its flattened fields null; a null key/value
//! passes through. Without a schema, nested maps are flattened and null entries kept.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_core::plugin::Transform;
use sluice_core::{ConnectError, Record, Schema, SchemaRef, Struct, Type, Value};

use crate::util::cache::SchemaCache;
use crate::util::{
    copy_basics, copy_basics_same_type, java_class, new_struct, parse_config, push_field,
    require_map, require_struct, with_default, Result, Side,
};

const PURPOSE: &str = "flattening";

/// `delimiter`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new("delimiter", ConfigType::String)
            .default(".")
            .importance(Importance::Medium)
            .doc("Delimiter to insert between field names from the input record when generating field names for the output record"),
    )
}

side_plugins!("Flatten", config_def, build);

fn build(side: Side, config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let class = if side == Side::Key {
        KEY.info.class
    } else {
        VALUE.info.class
    };
    let cfg = parse_config(class, &config_def(), config)?;
    Ok(Box::new(Flatten::new(
        side,
        cfg.string_or_default("delimiter"),
    )))
}

/// The flattener, also used by Debezium's `ExtractNewDocumentState` (`flatten.struct`).
pub(crate) struct Flatten {
    side: Side,
    delimiter: String,
    cache: SchemaCache<SchemaRef, SchemaRef>,
}

impl Flatten {
    pub(crate) fn new(side: Side, delimiter: &str) -> Self {
        Flatten {
            side,
            delimiter: delimiter.to_owned(),
            cache: SchemaCache::default(),
        }
    }

    fn name(&self, prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}{}{name}", self.delimiter)
        }
    }

    fn build_schema(&self, schema: &Schema) -> Result<SchemaRef> {
        let mut out = copy_basics(schema, Type::Struct);
        let default = match &schema.default {
            Some(Value::Struct(s)) => Some(s),
            _ => None,
        };
        self.add_fields(schema, "", &mut out, schema.optional, default)?;
        Ok(out.into())
    }

    fn add_fields(
        &self,
        schema: &Schema,
        prefix: &str,
        out: &mut Schema,
        optional: bool,
        parent_default: Option<&Struct>,
    ) -> Result<()> {
        for f in &schema.fields {
            let name = self.name(prefix, &f.name);
            let optional = optional || f.schema.optional;
            let default = match (&f.schema.default, parent_default) {
                (Some(d), _) => Some(d.clone()),
                (None, Some(p)) => Some(p.values()[f.index].clone()).filter(|v| !v.is_null()),
                (None, None) => None,
            };
            match f.schema.ty {
                Type::Struct => {
                    let nested = match &default {
                        Some(Value::Struct(s)) => Some(s),
                        _ => None,
                    };
                    self.add_fields(&f.schema, &name, out, optional, nested)?
                }
                Type::Map => {
                    return Err(ConnectError::Data(format!(
                        "Flatten transformation does not support MAP for record with schemas (for field {name})."
                    )))
                }
                _ => {
                    let mut s = copy_basics_same_type(&f.schema);
                    s.optional = optional;
                    s.default = default;
                    push_field(out, name, s.into());
                }
            }
        }
        Ok(())
    }

    fn flatten_struct(&self, s: Struct, out: &mut Vec<Value>) {
        let schema = s.schema().clone();
        let values = crate::util::take_values(s);
        for (f, v) in schema.fields.iter().zip(values) {
            let v = with_default(v, f, true);
            match f.schema.ty {
                Type::Struct => match v {
                    Value::Struct(nested) => self.flatten_struct(nested, out),
                    _ => out.extend(std::iter::repeat_n(Value::Null, leaf_count(&f.schema))),
                },
                _ => out.push(v),
            }
        }
    }

    fn flatten_map(
        &self,
        map: Vec<(Value, Value)>,
        prefix: &str,
        out: &mut Vec<(Value, Value)>,
    ) -> Result<()> {
        for (k, v) in map {
            let key = match &k {
                Value::String(s) => s.clone(),
                other => format!("{other:?}"),
            };
            let name = self.name(prefix, &key);
            match v {
                Value::Map(nested) => self.flatten_map(nested, &name, out)?,
                Value::Struct(_) => {
                    return Err(ConnectError::Data(format!(
                        "Flatten transformation does not support class {} for record without schemas (for field {name}).",
                        java_class(&v)
                    )))
                }
                other => out.push((Value::String(name), other)),
            }
        }
        Ok(())
    }

    /// Flattens the key or value of `record` in place.
    pub(crate) fn flatten(&mut self, record: &mut Record) -> Result<()> {
        let part = self.side.part_mut(record);
        if part.value.is_null() {
            return Ok(());
        }
        let value = std::mem::replace(&mut part.value, Value::Null);
        match part.schema.clone() {
            None => {
                let mut out = Vec::new();
                self.flatten_map(require_map(value, PURPOSE)?, "", &mut out)?;
                part.value = Value::Map(out);
            }
            Some(_) => {
                let s = require_struct(value, PURPOSE)?;
                let in_schema = s.schema().clone();
                let updated = match self.cache.get(&in_schema) {
                    Some(v) => v,
                    None => {
                        let v = self.build_schema(&in_schema)?;
                        self.cache.insert(&in_schema, v.clone());
                        v
                    }
                };
                let mut values = Vec::with_capacity(updated.fields.len());
                self.flatten_struct(s, &mut values);
                part.value = Value::Struct(new_struct(updated.clone(), values)?);
                part.schema = Some(updated);
            }
        }
        Ok(())
    }
}

/// How many flattened fields a struct schema produces.
fn leaf_count(schema: &Schema) -> usize {
    schema
        .fields
        .iter()
        .map(|f| {
            if f.schema.ty == Type::Struct {
                leaf_count(&f.schema)
            } else {
                1
            }
        })
        .sum()
}

impl Transform for Flatten {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        self.flatten(&mut record)?;
        Ok(Some(record))
    }
}
