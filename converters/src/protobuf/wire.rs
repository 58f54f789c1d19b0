//! Protobuf wire primitives and Confluent's framing.
//!
//! A framed message is `0x00`, the schema id as 4 big-endian bytes, the message indexes,
//! then the protobuf message. The indexes locate the message type inside the schema file:
//! a count then one index per nesting level, each written with Kafka's `ByteUtils.writeVarint`
//! (zig-zag, then base-128 varint). Confluent's `MessageIndexes.toByteArray` writes the common
//! `[0]` (first top-level message) as the single byte `0x00` (a zero count), and reads a zero
//! count back as `[0]`; we do the same both ways, so our bytes equal the Java serializer's.
//!
//! Protobuf varints are unsigned base-128 little-endian groups; `int32` negatives are
//! sign-extended to 64 bits (10 bytes), as every protobuf runtime writes them.

use super::ProtobufError;

/// Confluent's magic byte.
pub const MAGIC: u8 = 0;

/// Protobuf wire types.
pub const WIRE_VARINT: u32 = 0;
pub const WIRE_FIXED64: u32 = 1;
pub const WIRE_LEN: u32 = 2;
pub const WIRE_FIXED32: u32 = 5;

/// Appends `v` as a base-128 varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The encoded length of `v` as a varint.
#[inline]
pub fn varint_len(v: u64) -> usize {
    // ceil(significant bits / 7), with 0 taking one byte.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// A field key: `(number << 3) | wire_type`, as varint bytes (precomputed per field).
pub fn field_key(number: u32, wire_type: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(2);
    put_varint(&mut out, (u64::from(number) << 3) | u64::from(wire_type));
    out
}

/// Reads a varint at `*pos`, advancing it.
pub fn get_varint(buf: &[u8], pos: &mut usize) -> Result<u64, ProtobufError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let Some(&b) = buf.get(*pos) else {
            return Err(ProtobufError::Wire(format!(
                "the record ends inside a varint at byte {}",
                *pos
            )));
        };
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(value);
        }
    }
    Err(ProtobufError::Wire(format!(
        "varint longer than 10 bytes ending at byte {}",
        *pos
    )))
}

fn zigzag(v: i32) -> u64 {
    u64::from(((v << 1) ^ (v >> 31)) as u32)
}

fn unzigzag(v: u32) -> i32 {
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

/// Writes the Confluent header: magic byte, schema id, message indexes.
pub fn write_header(out: &mut Vec<u8>, schema_id: i32, indexes: &[i32]) {
    out.push(MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
    if indexes == [0] {
        out.push(0);
        return;
    }
    put_varint(out, zigzag(indexes.len() as i32));
    for &i in indexes {
        put_varint(out, zigzag(i));
    }
}

/// A parsed Confluent header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The writer schema's registry id.
    pub schema_id: i32,
    /// The message type's path in the schema file (`[0]` = first top-level message).
    pub indexes: Vec<i32>,
    /// Where the protobuf message starts.
    pub body_start: usize,
}

/// Reads the Confluent header, failing with what is wrong and what the bytes look like.
pub fn read_header(bytes: &[u8]) -> Result<Header, ProtobufError> {
    if bytes.len() < 5 {
        return Err(ProtobufError::Wire(format!(
            "a Confluent Protobuf record has at least 6 bytes (magic byte, 4-byte schema id, message indexes) but this one has {}; was it written by the ProtobufConverter?",
            bytes.len()
        )));
    }
    if bytes[0] != MAGIC {
        return Err(ProtobufError::Wire(format!(
            "unknown magic byte 0x{:02x} (Confluent's framing starts with 0x00); the topic holds data that was not written by a Schema Registry serializer",
            bytes[0]
        )));
    }
    let schema_id = i32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    let mut pos = 5;
    let count = read_index(bytes, &mut pos)?;
    let indexes = if count == 0 {
        vec![0]
    } else {
        if count < 0 || count as usize > bytes.len() {
            return Err(ProtobufError::Wire(format!(
                "invalid message-index count {count} after schema id {schema_id}"
            )));
        }
        (0..count)
            .map(|_| read_index(bytes, &mut pos))
            .collect::<Result<Vec<_>, _>>()?
    };
    if let Some(bad) = indexes.iter().find(|&&i| i < 0) {
        return Err(ProtobufError::Wire(format!(
            "invalid message index {bad} after schema id {schema_id}"
        )));
    }
    Ok(Header {
        schema_id,
        indexes,
        body_start: pos,
    })
}

/// One of Kafka's zig-zag `int` varints (at most 5 bytes).
fn read_index(bytes: &[u8], pos: &mut usize) -> Result<i32, ProtobufError> {
    let start = *pos;
    let v = get_varint(bytes, pos)?;
    if *pos - start > 5 || v > u64::from(u32::MAX) {
        return Err(ProtobufError::Wire(format!(
            "message index at byte {start} is longer than 5 bytes"
        )));
    }
    Ok(unzigzag(v as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_lengths_match_encoding() {
        for v in [0u64, 1, 127, 128, 16383, 16384, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
            let mut pos = 0;
            assert_eq!(get_varint(&out, &mut pos).ok(), Some(v));
        }
    }

    #[test]
    fn header_round_trips_and_uses_the_zero_shortcut() {
        let mut out = Vec::new();
        write_header(&mut out, 7, &[0]);
        assert_eq!(out, [0, 0, 0, 0, 7, 0]);
        let mut out = Vec::new();
        write_header(&mut out, 258, &[1, 0, 70]);
        // count 3 -> zigzag 6; 1 -> 2; 0 -> 0; 70 -> 140 = 0x8c 0x01
        assert_eq!(out, [0, 0, 0, 1, 2, 6, 2, 0, 0x8c, 0x01]);
        let h = read_header(&out).expect("header");
        assert_eq!(h.schema_id, 258);
        assert_eq!(h.indexes, [1, 0, 70]);
        assert_eq!(h.body_start, out.len());
    }
}
