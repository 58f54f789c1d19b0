//! Avro binary → Connect value, walking the writer's Avro schema and the Connect schema
//! `to_connect` derived from it side by side.
//!
//! Every read is bounds-checked: a truncated or corrupt message is an error naming what
//! was being read and at which byte, never a panic or an over-long allocation (a length
//! is checked against the bytes left before anything is allocated). Block counts follow
//! the spec: a negative count is followed by the block's byte size. The Connect value has
//! the Connect schema's types: int8/int16 narrow from int (Java's `byteValue`/`shortValue`),
//! Decimal bytes become a [`Decimal`] at the schema's scale, enums their symbol, and a
//! general union a `io.confluent.connect.avro.Union` struct with one branch set.

use std::sync::Arc;

use sluice_core::schema::{logical, Schema, SchemaRef, Type};
use sluice_core::value::{Decimal, Struct, Value};

use super::from_connect::decimal_scale;
use super::node::{Node, Primitive};
use super::to_connect::{union_member_name, UNION_NAME};

/// A cursor over the Avro bytes.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Offset of `bytes[0]` in the whole message, for error messages.
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8], base: usize) -> Self {
        Reader {
            bytes,
            pos: 0,
            base,
        }
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn truncated(&self, what: &str) -> String {
        format!(
            "truncated Avro data: the message ends at byte {} while reading {what}",
            self.base + self.bytes.len()
        )
    }

    fn long(&mut self, what: &str) -> Result<i64, String> {
        let mut z: u64 = 0;
        let mut shift = 0;
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.truncated(what));
            };
            self.pos += 1;
            if shift >= 64 {
                return Err(format!(
                    "invalid Avro data: a varint longer than 10 bytes at byte {} ({what})",
                    self.offset()
                ));
            }
            z |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    fn int(&mut self, what: &str) -> Result<i32, String> {
        let at = self.offset();
        let v = self.long(what)?;
        i32::try_from(v)
            .map_err(|_| format!("invalid Avro data: int {v} out of range at byte {at} ({what})"))
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.remaining() < n {
            return Err(self.truncated(what));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn len(&mut self, what: &str) -> Result<usize, String> {
        let at = self.offset();
        let n = self.long(what)?;
        let n = usize::try_from(n)
            .map_err(|_| format!("invalid Avro data: negative length {n} at byte {at} ({what})"))?;
        if n > self.remaining() {
            return Err(self.truncated(what));
        }
        Ok(n)
    }

    fn bytes(&mut self, what: &str) -> Result<&'a [u8], String> {
        let n = self.len(what)?;
        self.take(n, what)
    }

    /// The next block's item count (0 ends), skipping a negative count's byte size.
    fn block_count(&mut self, what: &str) -> Result<usize, String> {
        let at = self.offset();
        let n = self.long(what)?;
        let n = if n < 0 {
            self.long(what)?; // the block's size in bytes
            n.checked_neg().unwrap_or(i64::MAX)
        } else {
            n
        };
        // Each item takes at least one byte, except zero-size items (null, empty records):
        // bound the count by what a message could hold.
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > self.remaining().saturating_mul(8).max(1 << 16) {
            return Err(format!(
                "invalid Avro data: block of {n} items at byte {at} ({what}) is larger than the message"
            ));
        }
        Ok(n)
    }
}

/// Reads one value of Avro type `node` as Connect `schema`.
pub fn read_value(r: &mut Reader<'_>, node: &Node, schema: &SchemaRef) -> Result<Value, String> {
    Ok(match node {
        Node::Primitive { ty, .. } => match ty {
            Primitive::Null => Value::Null,
            Primitive::Boolean => {
                let b = r.take(1, "a boolean")?[0];
                match b {
                    0 => Value::Boolean(false),
                    1 => Value::Boolean(true),
                    _ => {
                        return Err(format!(
                            "invalid Avro data: boolean byte {b} at byte {}",
                            r.offset() - 1
                        ))
                    }
                }
            }
            Primitive::Int => {
                let v = r.int("an int")?;
                match schema.ty {
                    Type::Int8 => Value::Int8(v as i8),
                    Type::Int16 => Value::Int16(v as i16),
                    _ => Value::Int32(v),
                }
            }
            Primitive::Long => Value::Int64(r.long("a long")?),
            Primitive::Float => {
                let b = r.take(4, "a float")?;
                Value::Float32(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            Primitive::Double => {
                let b = r.take(8, "a double")?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Float64(f64::from_le_bytes(a))
            }
            Primitive::Bytes => bytes_value(schema, r.bytes("bytes")?)?,
            Primitive::String => {
                let at = r.offset();
                let b = r.bytes("a string")?;
                let s = std::str::from_utf8(b).map_err(|e| {
                    format!("invalid Avro data: a string at byte {at} is not UTF-8: {e}")
                })?;
                Value::String(s.to_owned())
            }
        },
        Node::Fixed { size, .. } => bytes_value(schema, r.take(*size, "a fixed")?)?,
        Node::Enum { symbols, name, .. } => {
            let at = r.offset();
            let i = r.int("an enum index")?;
            let symbol = usize::try_from(i)
                .ok()
                .and_then(|i| symbols.get(i))
                .ok_or_else(|| {
                    format!(
                        "invalid Avro data: enum {} has no symbol {i} (byte {at})",
                        name.full()
                    )
                })?;
            Value::String(symbol.clone())
        }
        Node::Array { items, .. } => {
            let mut out_array = Vec::new();
            let mut out_map = Vec::new();
            let map_entries = schema.ty == Type::Map;
            let item_schema = if map_entries {
                None
            } else {
                Some(
                    schema
                        .value_schema
                        .as_ref()
                        .ok_or("array schema without items")?,
                )
            };
            loop {
                let n = r.block_count("an array block count")?;
                if n == 0 {
                    break;
                }
                for _ in 0..n {
                    match item_schema {
                        Some(is) => out_array.push(read_value(r, items, is)?),
                        None => out_map.push(read_map_entry(r, items, schema)?),
                    }
                }
            }
            if map_entries {
                Value::Map(out_map)
            } else {
                Value::Array(out_array)
            }
        }
        Node::Map { values, .. } => {
            let vs = schema
                .value_schema
                .as_ref()
                .ok_or("map schema without values")?;
            let mut entries = Vec::new();
            loop {
                let n = r.block_count("a map block count")?;
                if n == 0 {
                    break;
                }
                for _ in 0..n {
                    let at = r.offset();
                    let k = r.bytes("a map key")?;
                    let k = std::str::from_utf8(k).map_err(|e| {
                        format!("invalid Avro data: a map key at byte {at} is not UTF-8: {e}")
                    })?;
                    entries.push((Value::String(k.to_owned()), read_value(r, values, vs)?));
                }
            }
            Value::Map(entries)
        }
        Node::Record { fields, .. } => {
            let mut values = Vec::with_capacity(fields.len());
            for (f, cf) in fields.iter().zip(&schema.fields) {
                values.push(read_value(r, &f.ty, &cf.schema)?);
            }
            Value::Struct(Struct::from_values(schema.clone(), values).map_err(|e| e.to_string())?)
        }
        Node::Union(members) => {
            let at = r.offset();
            let i = r.int("a union branch")?;
            let member = usize::try_from(i).ok().and_then(|i| members.get(i)).ok_or_else(|| {
                format!("invalid Avro data: union branch {i} at byte {at} does not exist (the union has {})", members.len())
            })?;
            if member.is_null() {
                Value::Null
            } else if schema.name() == Some(UNION_NAME) {
                let field_name = union_member_name(member);
                let field = schema
                    .field(&field_name)
                    .ok_or_else(|| format!("union struct has no field {field_name}"))?;
                let v = read_value(r, member, &field.schema)?;
                let mut values = vec![Value::Null; schema.fields.len()];
                values[field.index] = v;
                Value::Struct(
                    Struct::from_values(schema.clone(), values).map_err(|e| e.to_string())?,
                )
            } else {
                read_value(r, member, schema)?
            }
        }
    })
}

fn read_map_entry(
    r: &mut Reader<'_>,
    entry: &Node,
    schema: &Schema,
) -> Result<(Value, Value), String> {
    let Node::Record { fields, .. } = entry else {
        return Err("map entries must be records".into());
    };
    let ks = schema
        .key_schema
        .as_ref()
        .ok_or("map schema without keys")?;
    let vs = schema
        .value_schema
        .as_ref()
        .ok_or("map schema without values")?;
    let mut key = Value::Null;
    let mut value = Value::Null;
    for f in fields {
        match f.name.as_str() {
            "key" => key = read_value(r, &f.ty, ks)?,
            _ => value = read_value(r, &f.ty, vs)?,
        }
    }
    Ok((key, value))
}

fn bytes_value(schema: &Arc<Schema>, b: &[u8]) -> Result<Value, String> {
    if schema.name() == Some(logical::DECIMAL) {
        Ok(Value::Decimal(Decimal::from_bytes(
            b,
            decimal_scale(schema)?,
        )))
    } else {
        Ok(Value::Bytes(b.to_vec()))
    }
}
