//! `MaskField$Key` / `MaskField$Value`: replaces fields with a "null-like" value of
//! their type (0, false, "", empty array/map) or with `replacement` converted to the
//! field's type.
//!
//! As in Kafka Connect: masking goes by the value's type; a null field stays null
//! unless its schema has a default and `replace.null.with.default` is true (the
//! default, KIP-1040: Java's `Struct.get` reads the default, which is then masked;
//! with false, `Struct.getWithoutDefault` keeps the null, masked or not); bytes and structs cannot be masked; `replacement` applies to numbers
//! and strings only ("Cannot mask value of type … with custom replacement"); without
//! a schema every listed field is put, a missing one as null. A masked decimal keeps
//! its scale (Java uses `BigDecimal.ZERO`, whose scale 0 would not fit a Decimal
//! schema of another scale). A null key/value passes through.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::Transform;
use sluice_core::{ConnectError, Decimal, Record, Value};

use crate::util::jvalues::parse_string;
use crate::util::{
    java_class, map_get, map_put, new_struct, parse_config, replace_null_with_default_key,
    require_map, require_struct, take_values, with_default, Result, Side,
};

const PURPOSE: &str = "mask fields";

/// `fields`, `replacement`, `replace.null.with.default`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("fields", ConfigType::List)
                .importance(Importance::High)
                .doc("Names of fields to mask."),
        )
        .define(
            ConfigKey::new("replacement", ConfigType::String)
                .optional()
                .importance(Importance::Low)
                .validator(Validator::NonEmpty)
                .doc("Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only)."),
        )
        .define(replace_null_with_default_key())
}

side_plugins!("MaskField", config_def, build);

fn build(side: Side, config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let class = if side == Side::Key {
        KEY.info.class
    } else {
        VALUE.info.class
    };
    let cfg = parse_config(class, &config_def(), config)?;
    let fields = cfg.list("fields");
    if fields.is_empty() {
        return Err(ConnectError::config(
            "fields",
            "",
            "Empty list (a non-empty list of field names is required)",
        ));
    }
    Ok(Box::new(MaskField {
        side,
        fields,
        replacement: cfg.string("replacement").map(str::to_owned),
        replace_null_with_default: cfg.bool("replace.null.with.default"),
    }))
}

struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
    replace_null_with_default: bool,
}

impl MaskField {
    fn masked(&self, value: Value) -> Result<Value> {
        if value.is_null() {
            return Ok(value);
        }
        match &self.replacement {
            None => mask_with_null_value(value),
            Some(r) => mask_with_replacement(value, r),
        }
    }
}

fn mask_with_null_value(value: Value) -> Result<Value> {
    Ok(match value {
        Value::Boolean(_) => Value::Boolean(false),
        Value::Int8(_) => Value::Int8(0),
        Value::Int16(_) => Value::Int16(0),
        Value::Int32(_) => Value::Int32(0),
        Value::Int64(_) => Value::Int64(0),
        Value::Float32(_) => Value::Float32(0.0),
        Value::Float64(_) => Value::Float64(0.0),
        Value::Decimal(d) => Value::Decimal(Decimal::new(0, d.scale)),
        Value::String(_) => Value::String(String::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Map(_) => Value::Map(Vec::new()),
        other => {
            return Err(ConnectError::Data(format!(
                "Cannot mask value of type: class {}",
                java_class(&other)
            )))
        }
    })
}

fn mask_with_replacement(value: Value, replacement: &str) -> Result<Value> {
    let bad = || {
        ConnectError::Data(format!(
            "Unable to convert {replacement} (class java.lang.String) to number"
        ))
    };
    // `Values.convertToXxx(null, text)`: parse the text, then narrow the number.
    let number = || -> Result<(i64, f64)> {
        let parsed = parse_string(Some(replacement)).value;
        Ok(match parsed {
            Value::Int8(v) => (i64::from(v), f64::from(v)),
            Value::Int16(v) => (i64::from(v), f64::from(v)),
            Value::Int32(v) => (i64::from(v), f64::from(v)),
            Value::Int64(v) => (v, v as f64),
            Value::Float32(v) => (v as i64, f64::from(v)),
            Value::Float64(v) => (v as i64, v),
            _ => return Err(bad()),
        })
    };
    Ok(match value {
        Value::Int8(_) => Value::Int8(number()?.0 as i8),
        Value::Int16(_) => Value::Int16(number()?.0 as i16),
        Value::Int32(_) => Value::Int32(number()?.0 as i32),
        Value::Int64(_) => Value::Int64(number()?.0),
        Value::Float32(_) => Value::Float32(number()?.1 as f32),
        Value::Float64(_) => Value::Float64(number()?.1),
        Value::String(_) => Value::String(replacement.to_owned()),
        Value::Decimal(_) => Value::Decimal(Decimal::parse(replacement).ok_or_else(bad)?),
        other => {
            return Err(ConnectError::Data(format!(
                "Cannot mask value of type class {} with custom replacement.",
                java_class(&other)
            )))
        }
    })
}

impl Transform for MaskField {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let part = self.side.part_mut(&mut record);
        if part.value.is_null() {
            return Ok(Some(record));
        }
        let value = std::mem::replace(&mut part.value, Value::Null);
        part.value = match part.schema {
            None => {
                let mut map = require_map(value, PURPOSE)?;
                for field in &self.fields {
                    let v = map_get(&map, field).cloned().unwrap_or(Value::Null);
                    map_put(&mut map, field, self.masked(v)?);
                }
                Value::Map(map)
            }
            Some(_) => {
                let s = require_struct(value, PURPOSE)?;
                let schema = s.schema().clone();
                let mut values = Vec::with_capacity(schema.fields.len());
                for (f, v) in schema.fields.iter().zip(take_values(s)) {
                    let v = with_default(v, f, self.replace_null_with_default);
                    values.push(if self.fields.contains(&f.name) {
                        self.masked(v)?
                    } else {
                        v
                    });
                }
                Value::Struct(new_struct(schema, values)?)
            }
        };
        Ok(Some(record))
    }
}
