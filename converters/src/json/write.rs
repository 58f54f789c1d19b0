//! Writes Connect schemas and values as Kafka Connect's JsonConverter does, straight
//! into a byte buffer (no intermediate JSON tree): compact, keys in Jackson's order.
//!
//! Schema key order follows `JsonConverter.asJsonSchema`: `type`, then `items` /
//! `keys`+`values` / `fields`, then `optional`, `name`, `version`, `doc`,
//! `parameters`, `default`; a struct field's schema ends with `"field": <name>`.

use base64::Engine as _;
use sluice_core::schema::logical;
use sluice_core::{ConnectError, Schema, Type, Value};

use super::java_float::{write_f32, write_f64};

/// How values are written.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// `decimal.format=NUMERIC`: decimals as JSON numbers instead of base64.
    pub decimal_numeric: bool,
    /// `replace.null.with.default`: a null field with a default is written as the default.
    pub replace_null_with_default: bool,
}

/// For each byte: 0 when it is written as is, else the character after the backslash
/// (`u` for the `\u00XX` form).
static ESCAPES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// True when one of the eight bytes of `w` is a control character, `"` or `\\`
/// (the bytes [`ESCAPES`] escapes), by the classic SWAR zero-byte tests.
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGH != 0
}

/// Appends a JSON string literal, escaping as Jackson does. Most strings need no
/// escape: they are checked eight bytes at a time and copied in one piece.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut clean = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if needs_escape(u64::from_le_bytes(word)) {
            break;
        }
        clean += 8;
    }
    out.extend_from_slice(&bytes[..clean]);
    write_escaped(out, &bytes[clean..]);
    out.push(b'"');
}

/// Appends `bytes`, escaping as Jackson does.
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPES[b as usize];
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        out.push(b'\\');
        out.push(esc);
        if esc == b'u' {
            out.extend_from_slice(&[b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

fn write_int<I: itoa::Integer>(out: &mut Vec<u8>, n: I) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends the JSON form of `schema`.
pub fn write_schema(
    out: &mut Vec<u8>,
    schema: &Schema,
    opts: WriteOptions,
) -> Result<(), ConnectError> {
    out.extend_from_slice(b"{\"type\":");
    write_str(out, schema.ty.json_name());
    match schema.ty {
        Type::Array => {
            out.extend_from_slice(b",\"items\":");
            let items = schema
                .value_schema
                .as_ref()
                .ok_or_else(|| ConnectError::Data("array schema without an item schema".into()))?;
            write_schema(out, items, opts)?;
        }
        Type::Map => {
            let (Some(k), Some(v)) = (&schema.key_schema, &schema.value_schema) else {
                return Err(ConnectError::Data(
                    "map schema without key or value schema".into(),
                ));
            };
            out.extend_from_slice(b",\"keys\":");
            write_schema(out, k, opts)?;
            out.extend_from_slice(b",\"values\":");
            write_schema(out, v, opts)?;
        }
        Type::Struct => {
            out.extend_from_slice(b",\"fields\":[");
            for (i, field) in schema.fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_schema(out, &field.schema, opts)?;
                // Replace the closing brace to append the field name.
                out.pop();
                out.extend_from_slice(b",\"field\":");
                write_str(out, &field.name);
                out.push(b'}');
            }
            out.push(b']');
        }
        _ => {}
    }
    out.extend_from_slice(if schema.optional {
        b",\"optional\":true"
    } else {
        b",\"optional\":false"
    });
    if let Some(name) = &schema.name {
        out.extend_from_slice(b",\"name\":");
        write_str(out, name);
    }
    if let Some(version) = schema.version {
        out.extend_from_slice(b",\"version\":");
        write_int(out, version);
    }
    if let Some(doc) = &schema.doc {
        out.extend_from_slice(b",\"doc\":");
        write_str(out, doc);
    }
    if !schema.parameters.is_empty() {
        out.extend_from_slice(b",\"parameters\":{");
        for (i, (k, v)) in schema.parameters.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, k);
            out.push(b':');
            write_str(out, v);
        }
        out.push(b'}');
    }
    if let Some(default) = &schema.default {
        out.extend_from_slice(b",\"default\":");
        write_value(out, Some(schema), default, opts)?;
    }
    out.push(b'}');
    Ok(())
}

/// Appends the JSON form of `value` (with its schema, when there is one).
pub fn write_value(
    out: &mut Vec<u8>,
    schema: Option<&Schema>,
    value: &Value,
    opts: WriteOptions,
) -> Result<(), ConnectError> {
    let Some(schema) = schema else {
        return write_schemaless(out, value, opts);
    };
    if value.is_null() {
        if opts.replace_null_with_default {
            if let Some(default) = &schema.default {
                return write_value(out, Some(schema), default, opts);
            }
        }
        if schema.optional || schema.default.is_some() {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        return Err(ConnectError::Data(format!(
            "Conversion error: null value for field that is required and has no default value (schema {} {})",
            schema.ty.json_name(),
            schema.name().unwrap_or("")
        )));
    }
    let mismatch = || {
        ConnectError::Data(format!(
            "Conversion error: a {} value does not fit schema type {}{}",
            value.kind(),
            schema.ty.json_name(),
            schema.name().map(|n| format!(" ({n})")).unwrap_or_default()
        ))
    };
    match (schema.ty, value) {
        (Type::Int8, Value::Int8(n)) => write_int(out, *n),
        (Type::Int16, Value::Int16(n)) => write_int(out, *n),
        (Type::Int32, Value::Int32(n)) => write_int(out, *n),
        (Type::Int64, Value::Int64(n)) => write_int(out, *n),
        (Type::Float32, Value::Float32(x)) => write_f32(out, *x),
        (Type::Float64, Value::Float64(x)) => write_f64(out, *x),
        (Type::Boolean, Value::Boolean(b)) => {
            out.extend_from_slice(if *b { b"true" } else { b"false" })
        }
        (Type::String, Value::String(s)) => write_str(out, s),
        (Type::Bytes, Value::Decimal(d)) if schema.name() == Some(logical::DECIMAL) => {
            let scale = schema
                .parameter(logical::DECIMAL_SCALE)
                .and_then(|s| s.parse::<i32>().ok())
                .unwrap_or(d.scale);
            let d = d.with_scale(scale).ok_or_else(|| {
                ConnectError::Data(format!(
                    "decimal {d} does not fit the schema's scale {scale} without losing digits"
                ))
            })?;
            if opts.decimal_numeric {
                out.extend_from_slice(d.to_java_string().as_bytes());
            } else {
                write_base64(out, &d.to_bytes());
            }
        }
        (Type::Bytes, Value::Bytes(b)) => write_base64(out, b),
        (Type::Array, Value::Array(items)) => {
            let item_schema = schema.value_schema.as_deref();
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item_schema, item, opts)?;
            }
            out.push(b']');
        }
        (Type::Map, Value::Map(entries)) => {
            let ks = schema.key_schema.as_deref();
            let vs = schema.value_schema.as_deref();
            write_map(
                out,
                ks,
                vs,
                entries,
                ks.is_some_and(|k| k.ty == Type::String),
                opts,
            )?;
        }
        (Type::Struct, Value::Struct(s)) => {
            if !s.has_schema(schema) {
                return Err(ConnectError::Data(format!(
                    "Mismatching schema: struct {} written with schema {}",
                    s.schema().name().unwrap_or("(unnamed)"),
                    schema.name().unwrap_or("(unnamed)")
                )));
            }
            out.push(b'{');
            for (i, (field, v)) in schema.fields.iter().zip(s.values()).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, &field.name);
                out.push(b':');
                write_value(out, Some(&field.schema), v, opts)
                    .map_err(|e| ConnectError::Data(format!("field {}: {e}", field.name)))?;
            }
            out.push(b'}');
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

fn write_map(
    out: &mut Vec<u8>,
    ks: Option<&Schema>,
    vs: Option<&Schema>,
    entries: &[(Value, Value)],
    as_object: bool,
    opts: WriteOptions,
) -> Result<(), ConnectError> {
    if as_object {
        out.push(b'{');
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let Value::String(k) = k else {
                return Err(ConnectError::Data(format!(
                    "map key {} is not a string",
                    k.kind()
                )));
            };
            write_str(out, k);
            out.push(b':');
            write_value(out, vs, v, opts)?;
        }
        out.push(b'}');
    } else {
        out.push(b'[');
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            write_value(out, ks, k, opts)?;
            out.push(b',');
            write_value(out, vs, v, opts)?;
            out.push(b']');
        }
        out.push(b']');
    }
    Ok(())
}

fn write_schemaless(
    out: &mut Vec<u8>,
    value: &Value,
    opts: WriteOptions,
) -> Result<(), ConnectError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Int8(n) => write_int(out, *n),
        Value::Int16(n) => write_int(out, *n),
        Value::Int32(n) => write_int(out, *n),
        Value::Int64(n) => write_int(out, *n),
        Value::Float32(x) => write_f32(out, *x),
        Value::Float64(x) => write_f64(out, *x),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::String(s) => write_str(out, s),
        Value::Bytes(b) => write_base64(out, b),
        Value::Decimal(d) => {
            if opts.decimal_numeric {
                out.extend_from_slice(d.to_java_string().as_bytes());
            } else {
                write_base64(out, &d.to_bytes());
            }
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_schemaless(out, item, opts)?;
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            let as_object = entries.iter().all(|(k, _)| matches!(k, Value::String(_)));
            write_map(out, None, None, entries, as_object, opts)?;
        }
        Value::Struct(s) => write_value(out, Some(s.schema()), value, opts)?,
    }
    Ok(())
}

fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let start = out.len();
    let len = base64::encoded_len(bytes.len(), true).unwrap_or(0);
    out.resize(start + len, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every position of strings of 1..=20 bytes: the word-at-a-time
    /// check finds exactly the bytes the byte table escapes.
    #[test]
    fn word_check_agrees_with_the_byte_table() {
        for len in 1..=20usize {
            for pos in 0..len {
                for b in 0u8..0x80 {
                    let mut text = vec![b'a'; len];
                    text[pos] = b;
                    let s = std::str::from_utf8(&text).expect("ascii");
                    let mut fast = Vec::new();
                    write_str(&mut fast, s);
                    let mut slow = vec![b'"'];
                    write_escaped(&mut slow, s.as_bytes());
                    slow.push(b'"');
                    assert_eq!(fast, slow, "byte {b:#x} at {pos} of {len}");
                }
            }
        }
        let mut out = Vec::new();
        write_str(&mut out, "caf\u{e9} \u{1F600} \"q\" \\ \u{7f}");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "\"caf\u{e9} \u{1F600} \\\"q\\\" \\\\ \u{7f}\""
        );
    }
}
