//! Conversions between Sluice values, the WIT `value` variant and schemaless JSON.
//!
//! Primitives cross as themselves (every integer width as `int`, both float widths as
//! `float`; Date, Time and Timestamp as the integer their schema uses). Decimals cross
//! as text. Arrays, maps and structs cross as JSON text, in which bytes are base64 and
//! decimals are strings. Going back, a value must fit the schema it lands in.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{Map as JsonMap, Number, Value as Json};
use sluice_core::schema::logical;
use sluice_core::{Decimal, Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};

use crate::host::WitValue;

/// A Sluice value as the WIT variant.
pub(crate) fn to_wit(value: &Value) -> WitValue {
    match value {
        Value::Null => WitValue::Null,
        Value::Int8(n) => WitValue::Int(i64::from(*n)),
        Value::Int16(n) => WitValue::Int(i64::from(*n)),
        Value::Int32(n) => WitValue::Int(i64::from(*n)),
        Value::Int64(n) => WitValue::Int(*n),
        Value::Float32(f) => WitValue::Float(f64::from(*f)),
        Value::Float64(f) => WitValue::Float(*f),
        Value::Boolean(b) => WitValue::Boolean(*b),
        Value::String(s) => WitValue::Text(s.clone()),
        Value::Bytes(b) => WitValue::Bytes(b.clone()),
        Value::Decimal(d) => WitValue::Text(d.to_string()),
        Value::Array(_) | Value::Map(_) | Value::Struct(_) => WitValue::Json(to_json_text(value)),
    }
}

/// A value as schemaless JSON text.
pub(crate) fn to_json_text(value: &Value) -> String {
    to_json(value).to_string()
}

/// A value as schemaless JSON: structs and string-keyed maps become objects, other
/// maps arrays of `[key, value]` pairs, bytes base64, decimals strings.
pub(crate) fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Int8(n) => Json::from(*n),
        Value::Int16(n) => Json::from(*n),
        Value::Int32(n) => Json::from(*n),
        Value::Int64(n) => Json::from(*n),
        Value::Float32(f) => float_json(f64::from(*f)),
        Value::Float64(f) => float_json(*f),
        Value::Boolean(b) => Json::Bool(*b),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(BASE64.encode(b)),
        Value::Decimal(d) => Json::String(d.to_string()),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => {
            if entries.iter().all(|(k, _)| matches!(k, Value::String(_))) {
                let mut obj = JsonMap::new();
                for (k, v) in entries {
                    if let Value::String(k) = k {
                        obj.insert(k.clone(), to_json(v));
                    }
                }
                Json::Object(obj)
            } else {
                let pairs = entries
                    .iter()
                    .map(|(k, v)| Json::Array(vec![to_json(k), to_json(v)]));
                Json::Array(pairs.collect())
            }
        }
        Value::Struct(s) => {
            let mut obj = JsonMap::new();
            for (field, v) in s.schema().fields.iter().zip(s.values()) {
                obj.insert(field.name.clone(), to_json(v));
            }
            Json::Object(obj)
        }
    }
}

fn float_json(f: f64) -> Json {
    match Number::from_f64(f) {
        Some(n) => Json::Number(n),
        None => Json::String(f.to_string()),
    }
}

/// Parses JSON text from the guest.
pub(crate) fn parse_json(text: &str) -> Result<Json, String> {
    serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))
}

/// A WIT value as a Sluice value fitting `schema` (any value when schemaless).
pub(crate) fn from_wit(v: WitValue, schema: Option<&SchemaRef>) -> Result<Value, String> {
    let Some(schema) = schema else {
        return Ok(match v {
            WitValue::Null => Value::Null,
            WitValue::Boolean(b) => Value::Boolean(b),
            WitValue::Int(n) => Value::Int64(n),
            WitValue::Float(f) => Value::Float64(f),
            WitValue::Text(s) => Value::String(s),
            WitValue::Bytes(b) => Value::Bytes(b),
            WitValue::Json(text) => from_json(&parse_json(&text)?, None)?,
        });
    };
    let decimal = schema.name() == Some(logical::DECIMAL);
    match (v, schema.ty) {
        (WitValue::Null, _) => null_for(schema),
        (WitValue::Json(text), _) => from_json(&parse_json(&text)?, Some(schema)),
        (WitValue::Boolean(b), Type::Boolean) => Ok(Value::Boolean(b)),
        (WitValue::Int(n), Type::Bytes) if decimal => rescale(Decimal::new(n, 0), schema),
        (WitValue::Int(n), _) => int_for(n, schema),
        (WitValue::Float(f), Type::Float64) => Ok(Value::Float64(f)),
        (WitValue::Float(f), Type::Float32) => Ok(Value::Float32(f as f32)),
        (WitValue::Text(s), Type::String) => Ok(Value::String(s)),
        (WitValue::Text(s), Type::Bytes) if decimal => match Decimal::parse(s.trim()) {
            Some(d) => rescale(d, schema),
            None => Err(format!("{s:?} is not a decimal number")),
        },
        (WitValue::Bytes(b), Type::Bytes) if !decimal => Ok(Value::Bytes(b)),
        (v, _) => Err(format!(
            "a {} does not fit {}",
            wit_kind(&v),
            describe(schema)
        )),
    }
}

/// The WIT variant's case name, for messages.
fn wit_kind(v: &WitValue) -> &'static str {
    match v {
        WitValue::Null => "null",
        WitValue::Boolean(_) => "boolean",
        WitValue::Int(_) => "int",
        WitValue::Float(_) => "float",
        WitValue::Text(_) => "text",
        WitValue::Bytes(_) => "bytes",
        WitValue::Json(_) => "json",
    }
}

/// `int32`, `bytes (org.apache.kafka.connect.data.Decimal)`, … for messages.
fn describe(schema: &Schema) -> String {
    match schema.name() {
        Some(n) => format!("a field of type {} ({n})", schema.ty.json_name()),
        None => format!("a field of type {}", schema.ty.json_name()),
    }
}

fn null_for(schema: &Schema) -> Result<Value, String> {
    if schema.optional {
        Ok(Value::Null)
    } else if let Some(d) = &schema.default {
        Ok(d.clone())
    } else {
        Err(format!("null does not fit a required {}", describe(schema)))
    }
}

fn int_for(n: i64, schema: &Schema) -> Result<Value, String> {
    let out_of_range = || format!("{n} is out of range for {}", describe(schema));
    Ok(match schema.ty {
        Type::Int8 => Value::Int8(i8::try_from(n).map_err(|_| out_of_range())?),
        Type::Int16 => Value::Int16(i16::try_from(n).map_err(|_| out_of_range())?),
        Type::Int32 => Value::Int32(i32::try_from(n).map_err(|_| out_of_range())?),
        Type::Int64 => Value::Int64(n),
        Type::Float32 => Value::Float32(n as f32),
        Type::Float64 => Value::Float64(n as f64),
        _ => return Err(format!("an int does not fit {}", describe(schema))),
    })
}

fn rescale(d: Decimal, schema: &Schema) -> Result<Value, String> {
    let scale = schema
        .parameter(logical::DECIMAL_SCALE)
        .and_then(|s| s.parse::<i32>().ok())
        .unwrap_or(d.scale);
    match d.with_scale(scale) {
        Some(d) => Ok(Value::Decimal(d)),
        None => Err(format!(
            "{d} has more digits than the decimal's scale {scale}"
        )),
    }
}

/// JSON as a Sluice value: fitting `schema`, or schemaless (objects become string-keyed
/// maps, integers `Int64`, other numbers `Float64`).
pub(crate) fn from_json(json: &Json, schema: Option<&SchemaRef>) -> Result<Value, String> {
    let Some(schema) = schema else {
        return Ok(match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Boolean(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int64(i),
                None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => Value::String(s.clone()),
            Json::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|j| from_json(j, None))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(obj) => Value::Map(
                obj.iter()
                    .map(|(k, v)| Ok((Value::String(k.clone()), from_json(v, None)?)))
                    .collect::<Result<_, String>>()?,
            ),
        });
    };
    let mismatch = || format!("JSON {} does not fit {}", json_kind(json), describe(schema));
    let decimal = schema.name() == Some(logical::DECIMAL);
    match (json, schema.ty) {
        (Json::Null, _) => null_for(schema),
        (Json::Bool(b), Type::Boolean) => Ok(Value::Boolean(*b)),
        (Json::Number(n), Type::Bytes) if decimal => match Decimal::parse(&n.to_string()) {
            Some(d) => rescale(d, schema),
            None => Err(mismatch()),
        },
        (Json::String(s), Type::Bytes) if decimal => match Decimal::parse(s.trim()) {
            Some(d) => rescale(d, schema),
            None => Err(format!("{s:?} is not a decimal number")),
        },
        (Json::Number(n), Type::Float32 | Type::Float64) => {
            let f = n.as_f64().ok_or_else(mismatch)?;
            Ok(if schema.ty == Type::Float32 {
                Value::Float32(f as f32)
            } else {
                Value::Float64(f)
            })
        }
        (Json::Number(n), _) => int_for(n.as_i64().ok_or_else(mismatch)?, schema),
        (Json::String(s), Type::String) => Ok(Value::String(s.clone())),
        (Json::String(s), Type::Bytes) => BASE64
            .decode(s)
            .map(Value::Bytes)
            .map_err(|e| format!("bytes must be base64: {e}")),
        (Json::Array(items), Type::Array) => {
            let item = schema.value_schema.as_ref();
            let out = items.iter().map(|j| from_json(j, item));
            Ok(Value::Array(out.collect::<Result<_, _>>()?))
        }
        (Json::Object(obj), Type::Map) => {
            let (ks, vs) = (schema.key_schema.as_ref(), schema.value_schema.as_ref());
            let entries = obj.iter().map(|(k, v)| {
                let key = from_json(&Json::String(k.clone()), ks)?;
                Ok((key, from_json(v, vs)?))
            });
            Ok(Value::Map(entries.collect::<Result<_, String>>()?))
        }
        (Json::Array(pairs), Type::Map) => {
            let (ks, vs) = (schema.key_schema.as_ref(), schema.value_schema.as_ref());
            let entries = pairs.iter().map(|p| match p.as_array().map(Vec::as_slice) {
                Some([k, v]) => Ok((from_json(k, ks)?, from_json(v, vs)?)),
                _ => Err("a map as an array must hold [key, value] pairs".to_owned()),
            });
            Ok(Value::Map(entries.collect::<Result<_, String>>()?))
        }
        (Json::Object(obj), Type::Struct) => struct_from_json(obj, schema),
        _ => Err(mismatch()),
    }
}

fn struct_from_json(obj: &JsonMap<String, Json>, schema: &SchemaRef) -> Result<Value, String> {
    if let Some(unknown) = obj.keys().find(|k| schema.field(k).is_none()) {
        return Err(format!("{unknown} is not a field of the struct"));
    }
    let mut values = Vec::with_capacity(schema.fields.len());
    for field in &schema.fields {
        let v = obj.get(&field.name).unwrap_or(&Json::Null);
        values.push(from_json(v, Some(&field.schema)).map_err(|e| format!("{}: {e}", field.name))?);
    }
    Struct::from_values(schema.clone(), values)
        .map(Value::Struct)
        .map_err(|e| e.to_string())
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// An optional schema for a value a guest adds: from the variant's case, or for JSON
/// from its shape (objects become structs with fields in document order).
pub(crate) fn derive_schema(v: &WitValue) -> Result<SchemaRef, String> {
    Ok(match v {
        WitValue::Null | WitValue::Text(_) => Schema::primitive(Type::String, true),
        WitValue::Boolean(_) => Schema::primitive(Type::Boolean, true),
        WitValue::Int(_) => Schema::primitive(Type::Int64, true),
        WitValue::Float(_) => Schema::primitive(Type::Float64, true),
        WitValue::Bytes(_) => Schema::primitive(Type::Bytes, true),
        WitValue::Json(text) => derive_json_schema(&parse_json(text)?),
    })
}

/// An optional schema for a JSON document.
pub(crate) fn derive_json_schema(json: &Json) -> SchemaRef {
    match json {
        Json::Null | Json::String(_) => Schema::primitive(Type::String, true),
        Json::Bool(_) => Schema::primitive(Type::Boolean, true),
        Json::Number(n) if n.is_i64() => Schema::primitive(Type::Int64, true),
        Json::Number(_) => Schema::primitive(Type::Float64, true),
        Json::Array(items) => {
            let item = items.iter().find(|j| !j.is_null());
            let item =
                item.map_or_else(|| Schema::primitive(Type::String, true), derive_json_schema);
            SchemaBuilder::array(item).optional().build()
        }
        Json::Object(obj) => obj
            .iter()
            .fold(SchemaBuilder::struct_().optional(), |b, (k, v)| {
                b.field(k.clone(), derive_json_schema(v))
            })
            .build(),
    }
}
