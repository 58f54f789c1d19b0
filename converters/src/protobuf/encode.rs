//! Connect values → protobuf wire bytes, straight from the [`MessagePlan`] (no dynamic
//! message in between).
//!
//! What is written matches what Confluent's Java path (`ProtobufData.fromConnectData` into a
//! `DynamicMessage`, then `writeTo`) writes, field by field in declaration order:
//! - a null field (after substituting the Connect default, as `Struct.get` does) is absent;
//! - a proto3 field without `optional` holding its default (0, 0.0 but not -0.0, false, "",
//!   empty bytes) is absent, because `DynamicMessage.Builder.setField` clears such fields;
//!   with `optional` (`optional.for.nullables`) it is written;
//! - an empty array is absent; numeric arrays are packed (proto3's default); strings,
//!   bytes and messages repeat their key;
//! - maps are repeated entry messages `{key = 1, value = 2}`, each entry field following the
//!   same presence rules;
//! - nested messages are length-prefixed; we reserve one length byte and shift the body
//!   in the rare case it is 128 bytes or more, so nothing is encoded twice.

use sluice_core::value::Struct;
use sluice_core::Value;

use super::calendar;
use super::schema::{FieldPlan, Kind, MessagePlan, Scalar};
use super::wire::{put_varint, varint_len};
use super::ProtobufError;

/// Writes `value` (a struct of `plan`'s schema) as a protobuf message body.
pub fn encode_message(
    plan: &MessagePlan,
    value: &Struct,
    out: &mut Vec<u8>,
) -> Result<(), ProtobufError> {
    if !value.has_schema(&plan.schema) {
        return Err(ProtobufError::Value(format!(
            "Mismatching struct schema: the value's struct is {} but the schema expects {}",
            value.schema().name().unwrap_or("(unnamed)"),
            plan.schema.name().unwrap_or("(unnamed)")
        )));
    }
    for (field, v) in plan.fields.iter().zip(value.values()) {
        let v = match (v, &field.schema.default) {
            (Value::Null, Some(d)) => d,
            _ => v,
        };
        encode_field(field, v, out).map_err(|e| e.in_field(&field.name))?;
    }
    Ok(())
}

fn encode_field(f: &FieldPlan, v: &Value, out: &mut Vec<u8>) -> Result<(), ProtobufError> {
    if v.is_null() {
        return Ok(());
    }
    if !f.repeated {
        if !f.explicit && is_default(&f.kind, v) {
            return Ok(());
        }
        out.extend_from_slice(&f.key);
        return write_element(&f.kind, v, out);
    }
    match (&f.kind, v) {
        (Kind::MapEntry(entry), Value::Map(entries)) => {
            for (k, val) in entries {
                out.extend_from_slice(&f.key);
                nested(out, |out| {
                    encode_field(&entry.fields[0], k, out)?;
                    encode_field(&entry.fields[1], val, out)
                })?;
            }
            Ok(())
        }
        (kind, Value::Array(items)) => {
            if items.is_empty() {
                return Ok(());
            }
            if let (Some(packed_key), Kind::Scalar(s)) = (&f.packed_key, kind) {
                out.extend_from_slice(packed_key);
                return nested(out, |out| {
                    items.iter().enumerate().try_for_each(|(i, item)| {
                        write_scalar(*s, item, out).map_err(|e| e.in_field(&format!("[{i}]")))
                    })
                });
            }
            items.iter().enumerate().try_for_each(|(i, item)| {
                if item.is_null() {
                    return Err(ProtobufError::Value(format!(
                        "at [{i}]: a Protobuf repeated field cannot hold null elements"
                    )));
                }
                out.extend_from_slice(&f.key);
                write_element(kind, item, out).map_err(|e| e.in_field(&format!("[{i}]")))
            })
        }
        _ => Err(mismatch(
            if matches!(f.kind, Kind::MapEntry(_)) {
                "map"
            } else {
                "array"
            },
            v,
        )),
    }
}

/// True when a field without explicit presence holds the protobuf default and is skipped.
fn is_default(kind: &Kind, v: &Value) -> bool {
    matches!(kind, Kind::Scalar(_)) && is_default_scalar(v)
}

fn is_default_scalar(v: &Value) -> bool {
    match v {
        Value::Int8(x) => *x == 0,
        Value::Int16(x) => *x == 0,
        Value::Int32(x) => *x == 0,
        Value::Int64(x) => *x == 0,
        Value::Float32(x) => x.to_bits() == 0,
        Value::Float64(x) => x.to_bits() == 0,
        Value::Boolean(b) => !*b,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        _ => false,
    }
}

fn write_element(kind: &Kind, v: &Value, out: &mut Vec<u8>) -> Result<(), ProtobufError> {
    match kind {
        Kind::Scalar(s) => write_scalar(*s, v, out),
        Kind::Wrapped(s) => nested(out, |out| {
            if !is_default_scalar(v) {
                put_varint(out, (1 << 3) | u64::from(s.wire_type()));
                write_scalar(*s, v, out)?;
            } else {
                // Still check the type: a wrong value must not pass as an empty wrapper.
                write_scalar(*s, v, &mut Vec::new())?;
            }
            Ok(())
        }),
        Kind::Decimal => {
            let Value::Decimal(d) = v else {
                return Err(mismatch("Decimal", v));
            };
            let unscaled = d.unscaled.to_signed_bytes_be();
            let digits = decimal_digits(&d.unscaled);
            nested(out, |out| {
                out.push(0x0a);
                put_varint(out, unscaled.len() as u64);
                out.extend_from_slice(&unscaled);
                put_int_field(out, 0x10, digits as i64);
                put_int_field(out, 0x18, i64::from(d.scale));
                Ok(())
            })
        }
        Kind::Date => {
            let Value::Int32(days) = v else {
                return Err(mismatch("Date (int32 days)", v));
            };
            let (y, m, d) = calendar::date_from_days(*days);
            nested(out, |out| {
                put_int_field(out, 0x08, i64::from(y));
                put_int_field(out, 0x10, i64::from(m));
                put_int_field(out, 0x18, i64::from(d));
                Ok(())
            })
        }
        Kind::Time => {
            let Value::Int32(ms) = v else {
                return Err(mismatch("Time (int32 milliseconds)", v));
            };
            let parts = calendar::time_of_day(*ms)?;
            nested(out, |out| {
                for (key, part) in [0x08u8, 0x10, 0x18, 0x20].into_iter().zip(parts) {
                    put_int_field(out, key, i64::from(part));
                }
                Ok(())
            })
        }
        Kind::Timestamp => {
            let Value::Int64(ms) = v else {
                return Err(mismatch("Timestamp (int64 milliseconds)", v));
            };
            let (seconds, nanos) = calendar::timestamp(*ms)?;
            nested(out, |out| {
                put_int_field(out, 0x08, seconds);
                put_int_field(out, 0x10, i64::from(nanos));
                Ok(())
            })
        }
        Kind::Message(plan) => {
            let Value::Struct(s) = v else {
                return Err(mismatch("struct", v));
            };
            nested(out, |out| encode_message(plan, s, out))
        }
        Kind::MapEntry(_) => Err(mismatch("map", v)),
    }
}

/// Java's `BigDecimal.precision()`: the number of decimal digits of the unscaled value (1 for 0).
fn decimal_digits(unscaled: &num_bigint::BigInt) -> u64 {
    match unscaled.magnitude().to_u64_digits().as_slice() {
        [] => 1,
        [v] => u64::from(v.checked_ilog10().unwrap_or(0) + 1),
        _ => unscaled.magnitude().to_string().len() as u64,
    }
}

/// A varint field with a one-byte key, skipped when zero (proto3 implicit presence).
#[inline]
fn put_int_field(out: &mut Vec<u8>, key: u8, v: i64) {
    if v != 0 {
        out.push(key);
        put_varint(out, v as u64);
    }
}

#[inline]
fn write_scalar(s: Scalar, v: &Value, out: &mut Vec<u8>) -> Result<(), ProtobufError> {
    match (s, v) {
        (Scalar::Int32, Value::Int8(x)) => put_varint(out, i64::from(*x) as u64),
        (Scalar::Int32, Value::Int16(x)) => put_varint(out, i64::from(*x) as u64),
        (Scalar::Int32, Value::Int32(x)) => put_varint(out, i64::from(*x) as u64),
        (Scalar::Int64, Value::Int64(x)) => put_varint(out, *x as u64),
        (Scalar::Float, Value::Float32(x)) => out.extend_from_slice(&x.to_le_bytes()),
        (Scalar::Double, Value::Float64(x)) => out.extend_from_slice(&x.to_le_bytes()),
        (Scalar::Bool, Value::Boolean(b)) => out.push(u8::from(*b)),
        (Scalar::String, Value::String(x)) => {
            put_varint(out, x.len() as u64);
            out.extend_from_slice(x.as_bytes());
        }
        (Scalar::Bytes, Value::Bytes(x)) => {
            put_varint(out, x.len() as u64);
            out.extend_from_slice(x);
        }
        (s, v) => return Err(mismatch(s.proto_name(), v)),
    }
    Ok(())
}

/// Writes a length-prefixed body produced by `body`.
#[inline]
fn nested(
    out: &mut Vec<u8>,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), ProtobufError>,
) -> Result<(), ProtobufError> {
    let start = out.len();
    out.push(0);
    body(out)?;
    let end = out.len();
    let len = end - start - 1;
    if len < 0x80 {
        out[start] = len as u8;
        return Ok(());
    }
    let n = varint_len(len as u64);
    out.resize(end + n - 1, 0);
    out.copy_within(start + 1..end, start + n);
    let mut prefix = Vec::with_capacity(n);
    put_varint(&mut prefix, len as u64);
    out[start..start + n].copy_from_slice(&prefix);
    Ok(())
}

fn mismatch(expected: &str, v: &Value) -> ProtobufError {
    ProtobufError::Value(format!(
        "a {} value does not fit the schema, which expects {expected}",
        v.kind()
    ))
}
