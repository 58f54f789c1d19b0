//! `Cast$Key` / `Cast$Value`: casts fields, or the whole key/value, to another
//! primitive type.
//!
//! Behaviour follows Kafka Connect's `Cast`: inputs may be int8…float64, boolean,
//! string or bytes (struct, map and array inputs fail per record); outputs are
//! int8…float64, boolean or string (a spec asking for bytes is a config error).
//! Numbers narrow with Java's rules (`(byte) 300L == 44`, doubles saturate through
//! `int`), strings parse with Java's parsers (a bad number is "out of range for
//! requested data type"), booleans become 1/0 and `"true"` (any case) is true, bytes
//! become base64 text, Date/Time/Timestamp become ISO text in UTC, decimals use
//! `BigDecimal.toString`. A cast field keeps optionality and gets a cast default;
//! the struct keeps name, version, doc and parameters. A null key/value passes
//! through; schemaless maps get every spec'd field put (a missing one as null).

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_core::plugin::Transform;
use sluice_core::schema::logical;
use sluice_core::{ConnectError, Record, Schema, SchemaRef, Type, Value};

use crate::util::cache::SchemaCache;
use crate::util::datefmt::MS_PER_DAY;
use crate::util::jvalues::{java_date_string, java_double, java_float};
use crate::util::{
    copy_basics, java_class, java_split, map_get, map_put, new_struct, parse_config, push_field,
    replace_null_with_default_key, require_map, require_struct, take_values, with_default, Result,
    Side,
};

const PURPOSE: &str = "cast types";
const SUPPORTED_IN: &str = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]";
const SUPPORTED_OUT: &str = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]";

/// `spec`, `replace.null.with.default`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("spec", ConfigType::List)
                .importance(Importance::High)
                .doc("List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string. Note that binary fields can only be cast to string."),
        )
        .define(replace_null_with_default_key())
}

side_plugins!("Cast", config_def, build);

fn parse_type(name: &str, spec: &str) -> Result<Type> {
    let ty = match name.trim().to_ascii_lowercase().as_str() {
        "int8" => Type::Int8,
        "int16" => Type::Int16,
        "int32" => Type::Int32,
        "int64" => Type::Int64,
        "float32" => Type::Float32,
        "float64" => Type::Float64,
        "boolean" => Type::Boolean,
        "string" => Type::String,
        "bytes" | "array" | "map" | "struct" => {
            return Err(ConnectError::config(
                "spec",
                spec,
                format!(
                    "Cast transformation does not support casting to {}; supported types are {SUPPORTED_OUT}",
                    name.trim().to_ascii_uppercase()
                ),
            ))
        }
        _ => {
            return Err(ConnectError::config(
                "spec",
                spec,
                format!("Invalid type found in casting spec: {}", name.trim()),
            ))
        }
    };
    Ok(ty)
}

fn build(side: Side, config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let class = if side == Side::Key {
        KEY.info.class
    } else {
        VALUE.info.class
    };
    let cfg = parse_config(class, &config_def(), config)?;
    let specs = cfg.list("spec");
    let spec_text = specs.join(",");
    if specs.is_empty() {
        return Err(ConnectError::config(
            "spec",
            spec_text,
            "Must specify at least one field to cast.",
        ));
    }
    let mut whole = None;
    let mut casts: Vec<(String, Type)> = Vec::new();
    for mapping in &specs {
        let parts = java_split(mapping, ':');
        match parts.as_slice() {
            [ty] => whole = Some(parse_type(ty, &spec_text)?),
            [field, ty] => {
                let ty = parse_type(ty, &spec_text)?;
                let field = field.trim().to_owned();
                casts.retain(|(f, _)| *f != field);
                casts.push((field, ty));
            }
            _ => {
                return Err(ConnectError::config(
                    "spec",
                    &spec_text,
                    format!("Invalid rename mapping: {mapping}"),
                ))
            }
        }
    }
    if whole.is_some() && specs.len() > 1 {
        return Err(ConnectError::config(
            "spec",
            spec_text,
            "Cast transformations that specify a type to cast the entire value to may ony specify a single cast in their spec",
        ));
    }
    Ok(Box::new(Cast {
        side,
        whole,
        casts,
        replace_null_with_default: cfg.bool("replace.null.with.default"),
        cache: SchemaCache::default(),
    }))
}

/// The configured transform.
struct Cast {
    side: Side,
    whole: Option<Type>,
    casts: Vec<(String, Type)>,
    replace_null_with_default: bool,
    cache: SchemaCache<SchemaRef, SchemaRef>,
}

impl Cast {
    fn target(&self, field: &str) -> Option<Type> {
        self.casts.iter().find(|(f, _)| f == field).map(|(_, t)| *t)
    }

    fn build_schema(&self, schema: &Schema) -> Result<SchemaRef> {
        let mut out = match self.whole {
            Some(ty) => copy_basics(schema, ty),
            None => {
                let mut s = copy_basics(schema, Type::Struct);
                for f in &schema.fields {
                    match self.target(&f.name) {
                        Some(ty) => {
                            let mut fs = Schema::clone(&Schema::primitive(ty, f.schema.optional));
                            if let Some(d) = &f.schema.default {
                                fs.default = Some(cast_value(Some(&f.schema), d.clone(), ty)?);
                            }
                            push_field(&mut s, f.name.clone(), fs.into());
                        }
                        None => push_field(&mut s, f.name.clone(), f.schema.clone()),
                    }
                }
                s
            }
        };
        out.optional = schema.optional;
        if let Some(d) = &schema.default {
            out.default = Some(match self.whole {
                Some(ty) => cast_value(Some(schema), d.clone(), ty)?,
                None => d.clone(),
            });
        }
        Ok(out.into())
    }
}

impl Transform for Cast {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let part = self.side.part_mut(&mut record);
        if part.value.is_null() {
            return Ok(Some(record));
        }
        let value = std::mem::replace(&mut part.value, Value::Null);
        match part.schema.clone() {
            None => {
                part.value = match self.whole {
                    Some(ty) => cast_value(None, value, ty)?,
                    None => {
                        let mut map = require_map(value, PURPOSE)?;
                        for (field, ty) in &self.casts {
                            let v = map_get(&map, field).cloned().unwrap_or(Value::Null);
                            map_put(&mut map, field, cast_value(None, v, *ty)?);
                        }
                        Value::Map(map)
                    }
                };
            }
            Some(schema) => {
                let updated = match self.cache.get(&schema) {
                    Some(v) => v,
                    None => {
                        let v = self.build_schema(&schema)?;
                        self.cache.insert(&schema, v.clone());
                        v
                    }
                };
                part.value = match self.whole {
                    Some(ty) => cast_value(Some(&schema), value, ty)?,
                    None => {
                        let s = require_struct(value, PURPOSE)?;
                        let in_schema = s.schema().clone();
                        let mut values = take_values(s);
                        for (f, v) in in_schema.fields.iter().zip(values.iter_mut()) {
                            let taken = std::mem::replace(v, Value::Null);
                            let taken = with_default(taken, f, self.replace_null_with_default);
                            *v = match self.target(&f.name) {
                                Some(ty) => cast_value(Some(&f.schema), taken, ty)?,
                                None => taken,
                            };
                        }
                        Value::Struct(new_struct(updated.clone(), values)?)
                    }
                };
                part.schema = Some(updated);
            }
        }
        Ok(Some(record))
    }
}

/// A number as Java sees it, for the narrowing conversions of `Number.xxxValue()`.
enum Num {
    Int(i64),
    Float(f64),
    Big(sluice_core::Decimal),
}

impl Num {
    fn long(&self) -> i64 {
        match self {
            Num::Int(i) => *i,
            Num::Float(f) => *f as i64,
            Num::Big(d) => big_low_bits(d),
        }
    }
    fn int(&self) -> i32 {
        match self {
            Num::Float(f) => *f as i32,
            other => other.long() as i32,
        }
    }
    fn double(&self) -> f64 {
        match self {
            Num::Int(i) => *i as f64,
            Num::Float(f) => *f,
            Num::Big(d) => d.to_java_string().parse().unwrap_or(f64::NAN),
        }
    }
}

/// `BigDecimal.longValue()`: the integer part's low 64 bits.
fn big_low_bits(d: &sluice_core::Decimal) -> i64 {
    let whole = if d.scale > 0 {
        &d.unscaled / num_bigint::BigInt::from(10u8).pow(d.scale as u32)
    } else {
        &d.unscaled * num_bigint::BigInt::from(10u8).pow(d.scale.unsigned_abs())
    };
    let bytes = whole.to_signed_bytes_le();
    let fill = if whole.sign() == num_bigint::Sign::Minus {
        0xff
    } else {
        0
    };
    let mut b = [fill; 8];
    for (i, x) in bytes.iter().take(8).enumerate() {
        b[i] = *x;
    }
    i64::from_le_bytes(b)
}

fn unsupported_input(value: &Value) -> ConnectError {
    ConnectError::Data(format!(
        "Unexpected type in Cast transformation: class {}",
        java_class(value)
    ))
}

fn out_of_range(value: &str) -> ConnectError {
    ConnectError::Data(format!(
        "Value ({value}) was out of range for requested data type"
    ))
}

/// `Cast.castValueToType`.
pub(crate) fn cast_value(schema: Option<&Schema>, value: Value, target: Type) -> Result<Value> {
    let input = match (&value, schema) {
        (Value::Null, _) => return Ok(Value::Null),
        (_, Some(s)) => s.ty,
        (Value::Int8(_), None) => Type::Int8,
        (Value::Int16(_), None) => Type::Int16,
        (Value::Int32(_), None) => Type::Int32,
        (Value::Int64(_), None) => Type::Int64,
        (Value::Float32(_), None) => Type::Float32,
        (Value::Float64(_), None) => Type::Float64,
        (Value::Boolean(_), None) => Type::Boolean,
        (Value::String(_), None) => Type::String,
        (Value::Bytes(_) | Value::Decimal(_), None) => Type::Bytes,
        (Value::Array(_), None) => Type::Array,
        (Value::Map(_), None) => Type::Map,
        (Value::Struct(_), None) => Type::Struct,
    };
    if !input.is_primitive() {
        return Err(ConnectError::Data(format!(
            "Cast transformation does not support casting from {}; supported types are {SUPPORTED_IN}",
            input.json_name().to_ascii_uppercase()
        )));
    }
    if target == Type::String {
        return Ok(Value::String(to_java_string(schema, value)?));
    }
    let num = match &value {
        Value::Int8(v) => Num::Int(i64::from(*v)),
        Value::Int16(v) => Num::Int(i64::from(*v)),
        Value::Int32(v) => Num::Int(i64::from(*v)),
        Value::Int64(v) => Num::Int(*v),
        Value::Float32(v) => Num::Float(f64::from(*v)),
        Value::Float64(v) => Num::Float(*v),
        Value::Decimal(d) => Num::Big(d.clone()),
        Value::Boolean(b) => Num::Int(i64::from(*b)),
        Value::String(s) => return parse_string_as(s, target),
        other => return Err(unsupported_input(other)),
    };
    if let (Value::Boolean(b), Type::Float32 | Type::Float64 | Type::Boolean) = (&value, target) {
        return Ok(match target {
            Type::Float32 => Value::Float32(if *b { 1.0 } else { 0.0 }),
            Type::Float64 => Value::Float64(if *b { 1.0 } else { 0.0 }),
            _ => Value::Boolean(*b),
        });
    }
    Ok(match target {
        Type::Int8 => Value::Int8(num.int() as i8),
        Type::Int16 => Value::Int16(num.int() as i16),
        Type::Int32 => Value::Int32(num.int()),
        Type::Int64 => Value::Int64(num.long()),
        Type::Float32 => Value::Float32(match &num {
            Num::Int(i) => *i as f32,
            other => other.double() as f32,
        }),
        Type::Float64 => Value::Float64(num.double()),
        _ => Value::Boolean(num.long() != 0),
    })
}

fn parse_string_as(s: &str, target: Type) -> Result<Value> {
    Ok(match target {
        Type::Int8 => Value::Int8(s.parse().map_err(|_| out_of_range(s))?),
        Type::Int16 => Value::Int16(s.parse().map_err(|_| out_of_range(s))?),
        Type::Int32 => Value::Int32(s.parse().map_err(|_| out_of_range(s))?),
        Type::Int64 => Value::Int64(s.parse().map_err(|_| out_of_range(s))?),
        Type::Float32 => Value::Float32(s.trim().parse().map_err(|_| out_of_range(s))?),
        Type::Float64 => Value::Float64(s.trim().parse().map_err(|_| out_of_range(s))?),
        _ => Value::Boolean(s.eq_ignore_ascii_case("true")),
    })
}

fn to_java_string(schema: Option<&Schema>, value: Value) -> Result<String> {
    let logical_millis = |v: &Value| -> Option<i64> {
        match (schema.and_then(|s| s.name()), v) {
            (Some(logical::DATE), Value::Int32(d)) => Some(i64::from(*d) * MS_PER_DAY),
            (Some(logical::TIME), Value::Int32(ms)) => Some(i64::from(*ms)),
            (Some(logical::TIMESTAMP), Value::Int64(ms)) => Some(*ms),
            _ => None,
        }
    };
    if let Some(ms) = logical_millis(&value) {
        return Ok(java_date_string(ms));
    }
    Ok(match value {
        Value::Int8(v) => v.to_string(),
        Value::Int16(v) => v.to_string(),
        Value::Int32(v) => v.to_string(),
        Value::Int64(v) => v.to_string(),
        Value::Float32(v) => java_float(v),
        Value::Float64(v) => java_double(v),
        Value::Boolean(v) => v.to_string(),
        Value::String(s) => s,
        Value::Bytes(b) => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(b)
        }
        Value::Decimal(d) => d.to_java_string(),
        other => return Err(unsupported_input(&other)),
    })
}
