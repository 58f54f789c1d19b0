//! Connect value → Avro binary, straight from the Connect schema (no Avro value tree).
//!
//! The Avro schema `from_connect` derives is a pure function of the Connect schema, so the
//! encoder can follow the Connect schema alone and write what the Avro schema prescribes
//! (Avro spec, "Binary Encoding"): int/long as zig-zag varints, float/double as
//! little-endian IEEE 754, boolean as one byte, bytes/string as a length then the bytes,
//! records as their fields in order, arrays and maps as one block (count, items) then a
//! 0 count, unions as the zig-zag branch index then the branch. Optional schemas are the
//! unions `from_connect` writes: `["null", T]` (null = 0, value = 1), or `[T, "null"]` when
//! the schema has a default (value = 0, null = 1), except optional structs, always
//! `["null", record]`. A null field whose schema has a default is written as the default,
//! as Confluent's `Struct.get(field)` does. Decimals are the unscaled two's-complement
//! big-endian bytes at the schema's scale; int8/int16 widen to int.

use sluice_core::schema::{Schema, Type};
use sluice_core::value::{Decimal, Value};

use super::from_connect::{decimal_scale, is_decimal};
use super::AVRO_ENUM_PARAM;

/// Appends the zig-zag varint of `n`.
#[inline]
pub fn write_long(out: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

#[inline]
fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

/// Encoding options that change the bytes.
#[derive(Debug, Clone, Copy)]
pub struct EncodeOptions {
    /// `enhanced.avro.schema.support`: strings with enum parameters are Avro enums.
    pub enhanced: bool,
}

/// Writes `value` of `schema` (the top level: a null is written only for optional schemas).
pub fn write_value(
    out: &mut Vec<u8>,
    schema: &Schema,
    value: &Value,
    opts: EncodeOptions,
) -> Result<(), String> {
    let value = match (value, &schema.default) {
        (Value::Null, Some(d)) => d,
        _ => value,
    };
    if schema.optional {
        let value_first = schema.default.is_some() && schema.ty != Type::Struct;
        match (value.is_null(), value_first) {
            (true, false) => out.push(0),
            (true, true) => out.push(2),
            (false, false) => out.push(2),
            (false, true) => out.push(0),
        }
        if value.is_null() {
            return Ok(());
        }
    } else if value.is_null() {
        return Err(format!(
            "Found null value for non-optional schema{}",
            schema.name().map(|n| format!(" {n}")).unwrap_or_default()
        ));
    }
    write_present(out, schema, value, opts)
}

fn mismatch(schema: &Schema, value: &Value) -> String {
    format!(
        "Invalid type for {}{}: a {} value",
        schema.ty.json_name(),
        schema.name().map(|n| format!(" ({n})")).unwrap_or_default(),
        value.kind()
    )
}

fn write_present(
    out: &mut Vec<u8>,
    schema: &Schema,
    value: &Value,
    opts: EncodeOptions,
) -> Result<(), String> {
    match (schema.ty, value) {
        (Type::Int8, Value::Int8(v)) => write_long(out, i64::from(*v)),
        (Type::Int16, Value::Int16(v)) => write_long(out, i64::from(*v)),
        (Type::Int32, Value::Int32(v)) => write_long(out, i64::from(*v)),
        (Type::Int64, Value::Int64(v)) => write_long(out, *v),
        (Type::Float32, Value::Float32(v)) => out.extend_from_slice(&v.to_le_bytes()),
        (Type::Float64, Value::Float64(v)) => out.extend_from_slice(&v.to_le_bytes()),
        (Type::Boolean, Value::Boolean(v)) => out.push(u8::from(*v)),
        (Type::String, Value::String(s)) => {
            if opts.enhanced {
                if let Some(index) = enum_index(schema, s)? {
                    write_long(out, index);
                    return Ok(());
                }
            }
            write_bytes(out, s.as_bytes())
        }
        (Type::Bytes, Value::Decimal(d)) if is_decimal(schema) => write_decimal(out, schema, d)?,
        (Type::Bytes, Value::Bytes(b)) if !is_decimal(schema) => write_bytes(out, b),
        (Type::Array, Value::Array(items)) => {
            let item_schema = schema
                .value_schema
                .as_deref()
                .ok_or("an array schema has no item schema")?;
            if !items.is_empty() {
                write_long(out, items.len() as i64);
                for item in items {
                    write_value(out, item_schema, item, opts)?;
                }
            }
            out.push(0);
        }
        (Type::Map, Value::Map(entries)) => {
            let ks = schema
                .key_schema
                .as_deref()
                .ok_or("a map schema has no key schema")?;
            let vs = schema
                .value_schema
                .as_deref()
                .ok_or("a map schema has no value schema")?;
            if !entries.is_empty() {
                write_long(out, entries.len() as i64);
                let avro_map = ks.ty == Type::String && !ks.optional;
                for (k, v) in entries {
                    if avro_map {
                        let key = k.as_str().ok_or_else(|| mismatch(ks, k))?;
                        write_bytes(out, key.as_bytes());
                    } else {
                        write_value(out, ks, k, opts)?;
                    }
                    write_value(out, vs, v, opts)?;
                }
            }
            out.push(0);
        }
        (Type::Struct, Value::Struct(s)) => {
            if !s.has_schema(schema) {
                return Err(format!(
                    "Mismatching struct schema: a struct of {} for a field of {}",
                    s.schema().name().unwrap_or("(unnamed)"),
                    schema.name().unwrap_or("(unnamed)")
                ));
            }
            for (field, v) in schema.fields.iter().zip(s.values()) {
                write_value(out, &field.schema, v, opts)
                    .map_err(|e| format!("field {}: {e}", field.name))?;
            }
        }
        _ => return Err(mismatch(schema, value)),
    }
    Ok(())
}

/// The Avro enum index of `symbol` when `schema` carries Confluent's enum parameters.
fn enum_index(schema: &Schema, symbol: &str) -> Result<Option<i64>, String> {
    if schema.parameter(AVRO_ENUM_PARAM).is_none() {
        return Ok(None);
    }
    let prefix_len = AVRO_ENUM_PARAM.len() + 1;
    let symbols = schema.parameters.iter().filter(|(k, _)| {
        k.len() > prefix_len
            && k.starts_with(AVRO_ENUM_PARAM)
            && k.as_bytes()[prefix_len - 1] == b'.'
    });
    for (i, (k, _)) in symbols.enumerate() {
        if &k[prefix_len..] == symbol {
            return Ok(Some(i as i64));
        }
    }
    Err(format!(
        "{symbol:?} is not a symbol of enum {}",
        schema.parameter(AVRO_ENUM_PARAM).unwrap_or_default()
    ))
}

fn write_decimal(out: &mut Vec<u8>, schema: &Schema, d: &Decimal) -> Result<(), String> {
    let scale = decimal_scale(schema)?;
    let rescaled;
    let d = if d.scale == scale {
        d
    } else {
        rescaled = d.with_scale(scale).ok_or_else(|| {
            format!(
                "BigDecimal has mismatching scale value for given Decimal schema: {d} has scale {}, the schema {scale}",
                d.scale
            )
        })?;
        &rescaled
    };
    // Small values (the common case) without allocating: the minimal two's complement.
    if let Ok(v) = i64::try_from(&d.unscaled) {
        let bytes = v.to_be_bytes();
        let mut start = 0;
        while start < 7 {
            let (b, next) = (bytes[start], bytes[start + 1]);
            let redundant = (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0);
            if !redundant {
                break;
            }
            start += 1;
        }
        write_bytes(out, &bytes[start..]);
    } else {
        write_bytes(out, &d.unscaled.to_signed_bytes_be());
    }
    Ok(())
}
