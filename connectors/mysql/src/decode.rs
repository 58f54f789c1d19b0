//! Row images of binlog rows events, decoded into [`Raw`] values by column type.
//!
//! Why this is right: each type is read exactly as the server's `Field::pack` wrote it —
//! little-endian integers with MEDIUMINT sign-extended from 24 bits, big-endian packed
//! TIME2 / DATETIME2 / TIMESTAMP2 with their 0-3 fractional bytes (including MySQL's
//! negative-TIME fraction borrow), DECIMAL in MySQL's 9-digits-per-4-bytes binary form
//! with the sign bit flipped and negative values inverted, length prefixes sized by the
//! column metadata (1 byte when the column's maximum is below 256). Every read is bounds
//! checked ([`Reader`]), so a malformed event is an error, never a panic. Only the columns
//! marked present in the event's bitmap are read, and NULL is taken from the row's own
//! null bitmap over the present columns, as the format specifies.

use crate::convert::Raw;
use crate::replication::bytes::{Reader, Short};
use crate::replication::table_map::{ty, BinlogColumn};

/// Insert, update or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsKind {
    Write,
    Update,
    Delete,
}

/// The header of a rows event; `rows` reads the row images.
#[derive(Debug)]
pub struct RowsEvent<'a> {
    pub table_id: u64,
    pub kind: RowsKind,
    /// Columns present in the (before) image.
    present: &'a [u8],
    /// Columns present in the after image of an update.
    present_after: &'a [u8],
    columns: usize,
    body: Reader<'a>,
}

/// Rows event type codes: v1 (MySQL 5.1-5.5, MariaDB) and v2 (MySQL ≥ 5.6).
pub fn rows_kind(event_type: u8) -> Option<(RowsKind, bool)> {
    Some(match event_type {
        0x17 => (RowsKind::Write, false),
        0x18 => (RowsKind::Update, false),
        0x19 => (RowsKind::Delete, false),
        0x1e => (RowsKind::Write, true),
        0x1f => (RowsKind::Update, true),
        0x20 => (RowsKind::Delete, true),
        _ => return None,
    })
}

/// Reads the header of a rows event of type `event_type`.
pub fn parse_rows(data: &[u8], event_type: u8) -> Result<RowsEvent<'_>, String> {
    let (kind, v2) = rows_kind(event_type).ok_or("not a rows event")?;
    let mut r = Reader::new(data);
    let f = |e: Short| e.to_string();
    let table_id = r.uint_le(6, "table id").map_err(f)?;
    r.take(2, "flags").map_err(f)?;
    if v2 {
        let extra = r.uint_le(2, "extra data length").map_err(f)? as usize;
        r.take(extra.saturating_sub(2), "extra data").map_err(f)?;
    }
    let columns =
        usize::try_from(r.lenenc("column count").map_err(f)?).map_err(|_| "column count")?;
    let present = r.take(columns.div_ceil(8), "columns bitmap").map_err(f)?;
    let present_after = if kind == RowsKind::Update {
        r.take(columns.div_ceil(8), "after-image columns bitmap")
            .map_err(f)?
    } else {
        present
    };
    Ok(RowsEvent {
        table_id,
        kind,
        present,
        present_after,
        columns,
        body: r,
    })
}

fn bit(map: &[u8], i: usize) -> bool {
    map.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

impl<'a> RowsEvent<'a> {
    /// True when every row image was read.
    pub fn is_done(&self) -> bool {
        self.body.is_empty()
    }

    /// The next row: (before, after) images as [`Raw`] values, one per table column
    /// (absent columns are `Null`). Inserts have no before image, deletes no after image.
    #[allow(clippy::type_complexity)]
    pub fn next_row(
        &mut self,
        cols: &[BinlogColumn],
    ) -> Result<(Option<Vec<Raw<'a>>>, Option<Vec<Raw<'a>>>), String> {
        if cols.len() != self.columns {
            return Err(format!(
                "the rows event has {} columns but its TABLE_MAP has {}",
                self.columns,
                cols.len()
            ));
        }
        let before = self.body.remaining();
        let first = image(&mut self.body, cols, self.present)?;
        let row = match self.kind {
            RowsKind::Write => (None, Some(first)),
            RowsKind::Delete => (Some(first), None),
            RowsKind::Update => {
                let after = image(&mut self.body, cols, self.present_after)?;
                (Some(first), Some(after))
            }
        };
        // A row of no bytes (no column present) would leave the body where it was, and
        // the caller's `while !is_done()` would never end.
        if self.body.remaining() == before {
            return Err(format!(
                "the rows event of table id {} has row images of no bytes (none of its {} columns present) but {before} bytes left: the event is malformed",
                self.table_id, self.columns
            ));
        }
        Ok(row)
    }
}

fn image<'a>(
    r: &mut Reader<'a>,
    cols: &[BinlogColumn],
    present: &[u8],
) -> Result<Vec<Raw<'a>>, String> {
    let n_present = (0..cols.len()).filter(|&i| bit(present, i)).count();
    let nulls = r
        .take(n_present.div_ceil(8), "row null bitmap")
        .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(cols.len());
    let mut k = 0;
    for (i, c) in cols.iter().enumerate() {
        if !bit(present, i) {
            out.push(Raw::Null);
            continue;
        }
        let is_null = bit(nulls, k);
        k += 1;
        if is_null {
            out.push(Raw::Null);
        } else {
            out.push(
                value(r, c)
                    .map_err(|e| format!("column {}: {e}", c.name.as_deref().unwrap_or("?")))?,
            );
        }
    }
    Ok(out)
}

fn sign_extend(v: u64, bytes: usize) -> i64 {
    let shift = 64 - 8 * bytes as u32;
    ((v << shift) as i64) >> shift
}

fn int<'a>(r: &mut Reader<'a>, n: usize, unsigned: bool) -> Result<Raw<'a>, Short> {
    let v = r.uint_le(n, "integer")?;
    Ok(if unsigned {
        Raw::UInt(v)
    } else {
        Raw::Int(sign_extend(v, n))
    })
}

/// Fractional microseconds stored in `(fsp + 1) / 2` big-endian bytes.
fn frac(r: &mut Reader<'_>, fsp: u8) -> Result<u32, Short> {
    Ok(match fsp {
        1 | 2 => r.uint_be(1, "fraction")? as u32 * 10_000,
        3 | 4 => r.uint_be(2, "fraction")? as u32 * 100,
        5 | 6 => r.uint_be(3, "fraction")? as u32,
        _ => 0,
    })
}

fn length_prefixed<'a>(r: &mut Reader<'a>, prefix: usize) -> Result<&'a [u8], Short> {
    let n = r.uint_le(prefix, "length")? as usize;
    r.take(n, "value")
}

/// Decodes one non-null value of column `c`.
pub fn value<'a>(r: &mut Reader<'a>, c: &BinlogColumn) -> Result<Raw<'a>, String> {
    let e = |s: Short| s.to_string();
    Ok(match c.ty {
        ty::TINY => int(r, 1, c.unsigned).map_err(e)?,
        ty::SHORT => int(r, 2, c.unsigned).map_err(e)?,
        ty::INT24 => int(r, 3, c.unsigned).map_err(e)?,
        ty::LONG => int(r, 4, c.unsigned).map_err(e)?,
        ty::LONGLONG => int(r, 8, c.unsigned).map_err(e)?,
        ty::FLOAT => Raw::F32(f32::from_bits(r.uint_le(4, "float").map_err(e)? as u32)),
        ty::DOUBLE => Raw::F64(f64::from_bits(r.uint_le(8, "double").map_err(e)?)),
        ty::NEWDECIMAL => {
            let (precision, scale) = (c.meta[0], c.meta[1]);
            let size = decimal_size(precision, scale);
            let bytes = r.take(size, "decimal").map_err(e)?;
            match decimal_unscaled(bytes, precision, scale)? {
                Some(unscaled) => Raw::Decimal(unscaled),
                None => Raw::Text(decimal_text(bytes, precision, scale)?),
            }
        }
        ty::YEAR => {
            let y = r.u8("year").map_err(e)?;
            Raw::Int(if y == 0 { 0 } else { 1900 + i64::from(y) })
        }
        ty::DATE | ty::NEWDATE => {
            let v = r.uint_le(3, "date").map_err(e)?;
            Raw::Date {
                y: (v >> 9) as u16,
                m: ((v >> 5) & 15) as u8,
                d: (v & 31) as u8,
            }
        }
        ty::TIME => {
            let v = sign_extend(r.uint_le(3, "time").map_err(e)?, 3);
            let (neg, a) = (v < 0, v.abs());
            let us = ((a / 10_000) * 3600 + (a / 100 % 100) * 60 + a % 100) * 1_000_000;
            Raw::Time(if neg { -us } else { us })
        }
        ty::TIME2 => Raw::Time(time2(r, c.meta[0]).map_err(e)?),
        ty::DATETIME => {
            let v = r.uint_le(8, "datetime").map_err(e)?;
            let (d, t) = (v / 1_000_000, v % 1_000_000);
            Raw::DateTime {
                y: (d / 10_000) as u16,
                m: (d / 100 % 100) as u8,
                d: (d % 100) as u8,
                h: (t / 10_000) as u8,
                mi: (t / 100 % 100) as u8,
                s: (t % 100) as u8,
                us: 0,
            }
        }
        ty::DATETIME2 => {
            let packed = r.uint_be(5, "datetime").map_err(e)? as i64 - 0x80_0000_0000;
            let us = frac(r, c.meta[0]).map_err(e)?;
            let ymd = packed >> 17;
            let ym = ymd >> 5;
            let hms = packed % (1 << 17);
            Raw::DateTime {
                y: (ym / 13) as u16,
                m: (ym % 13) as u8,
                d: (ymd % 32) as u8,
                h: (hms >> 12) as u8,
                mi: ((hms >> 6) % 64) as u8,
                s: (hms % 64) as u8,
                us,
            }
        }
        ty::TIMESTAMP => Raw::Timestamp {
            secs: r.uint_le(4, "timestamp").map_err(e)? as i64,
            us: 0,
        },
        ty::TIMESTAMP2 => {
            let secs = r.uint_be(4, "timestamp").map_err(e)? as i64;
            Raw::Timestamp {
                secs,
                us: frac(r, c.meta[0]).map_err(e)?,
            }
        }
        ty::BIT => {
            let n = usize::from(c.meta[1]) + usize::from(c.meta[0] > 0);
            Raw::Bytes(r.take(n, "bit").map_err(e)?)
        }
        ty::VARCHAR | ty::VAR_STRING => {
            let max = u16::from_le_bytes(c.meta);
            Raw::Bytes(length_prefixed(r, if max < 256 { 1 } else { 2 }).map_err(e)?)
        }
        ty::STRING => {
            let max = c.string_max_len();
            Raw::Bytes(length_prefixed(r, if max < 256 { 1 } else { 2 }).map_err(e)?)
        }
        ty::ENUM => Raw::EnumIndex(
            r.uint_le(usize::from(c.meta[1]).clamp(1, 2), "enum")
                .map_err(e)? as u16,
        ),
        ty::SET => Raw::SetBits(
            r.uint_le(usize::from(c.meta[1]).clamp(1, 8), "set")
                .map_err(e)?,
        ),
        ty::BLOB | ty::TINY_BLOB | ty::MEDIUM_BLOB | ty::LONG_BLOB | ty::GEOMETRY => {
            Raw::Bytes(length_prefixed(r, usize::from(c.meta[0]).clamp(1, 4)).map_err(e)?)
        }
        ty::JSON => {
            Raw::JsonBinary(length_prefixed(r, usize::from(c.meta[0]).clamp(1, 4)).map_err(e)?)
        }
        other => return Err(format!("column type {other} is not supported")),
    })
}

/// MySQL's `my_time_packed_from_binary`, returned as signed microseconds.
fn time2(r: &mut Reader<'_>, fsp: u8) -> Result<i64, Short> {
    const OFS: i64 = 0x80_0000;
    let packed = match fsp {
        1 | 2 => {
            let mut int = r.uint_be(3, "time")? as i64 - OFS;
            let mut f = r.uint_be(1, "fraction")? as i64;
            if int < 0 && f != 0 {
                int += 1;
                f -= 0x100;
            }
            (int << 24) + f * 10_000
        }
        3 | 4 => {
            let mut int = r.uint_be(3, "time")? as i64 - OFS;
            let mut f = r.uint_be(2, "fraction")? as i64;
            if int < 0 && f != 0 {
                int += 1;
                f -= 0x10000;
            }
            (int << 24) + f * 100
        }
        5 | 6 => r.uint_be(6, "time")? as i64 - 0x8000_0000_0000,
        _ => (r.uint_be(3, "time")? as i64 - OFS) << 24,
    };
    let (neg, v) = (packed < 0, packed.abs());
    let hms = v >> 24;
    let f = v % (1 << 24);
    let hour = (hms >> 12) % (1 << 10);
    let minute = (hms >> 6) % 64;
    let second = hms % 64;
    let us = ((hour * 60 + minute) * 60 + second) * 1_000_000 + f;
    Ok(if neg { -us } else { us })
}

const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// Bytes of a binary DECIMAL(precision, scale).
pub fn decimal_size(precision: u8, scale: u8) -> usize {
    let intg = usize::from(precision.saturating_sub(scale));
    let scale = usize::from(scale);
    (intg / 9) * 4 + DIG2BYTES[intg % 9] + (scale / 9) * 4 + DIG2BYTES[scale % 9]
}

/// One group of `digits` decimal digits (1-9), stored in `DIG2BYTES[digits]` big-endian
/// bytes; a group holding more digits than it may is malformed, not a bigger number.
fn digit_group(r: &mut Reader<'_>, digits: usize) -> Result<u64, String> {
    let v = r
        .uint_be(DIG2BYTES[digits], "decimal")
        .map_err(|s| s.to_string())?;
    if v >= 10u64.pow(digits as u32) {
        return Err(format!(
            "a DECIMAL group of {digits} digits holds {v}: the value is malformed"
        ));
    }
    Ok(v)
}

/// Checks the length of a binary DECIMAL(precision, scale) and returns its bytes with the
/// sign bit flipped and, for a negative value, every bit inverted: the magnitude.
fn decimal_magnitude(bytes: &[u8], precision: u8, scale: u8) -> Result<(Vec<u8>, bool), String> {
    if bytes.is_empty() || bytes.len() != decimal_size(precision, scale) {
        return Err(format!(
            "DECIMAL({precision},{scale}) needs {} bytes, got {}",
            decimal_size(precision, scale),
            bytes.len()
        ));
    }
    let mut b = bytes.to_vec();
    let negative = b[0] & 0x80 == 0;
    b[0] ^= 0x80;
    if negative {
        b.iter_mut().for_each(|x| *x = !*x);
    }
    Ok((b, negative))
}

/// MySQL's binary DECIMAL of at most 38 digits as its unscaled value (`-12.50` in a
/// DECIMAL(5,2) is -1250), without going through text; `None` above 38 digits (and for a
/// scale above the precision, which no server writes), left to [`decimal_text`].
pub fn decimal_unscaled(bytes: &[u8], precision: u8, scale: u8) -> Result<Option<i128>, String> {
    if precision > 38 || scale > precision {
        return Ok(None);
    }
    let (b, negative) = decimal_magnitude(bytes, precision, scale)?;
    let intg = usize::from(precision - scale);
    let frac = usize::from(scale);
    let mut r = Reader::new(&b);
    // At most 38 digits, each group checked: the value stays below 10^38 < i128::MAX.
    let mut v = i128::from(digit_group(&mut r, intg % 9)?);
    for _ in 0..intg / 9 + frac / 9 {
        v = v * 1_000_000_000 + i128::from(digit_group(&mut r, 9)?);
    }
    let trail = frac % 9;
    if trail > 0 {
        v = v * 10i128.pow(trail as u32) + i128::from(digit_group(&mut r, trail)?);
    }
    Ok(Some(if negative { -v } else { v }))
}

/// MySQL's binary DECIMAL as plain decimal text (`-12.50`).
pub fn decimal_text(bytes: &[u8], precision: u8, scale: u8) -> Result<String, String> {
    let (b, negative) = decimal_magnitude(bytes, precision, scale)?;
    let intg = usize::from(precision.saturating_sub(scale));
    let scale = usize::from(scale);
    let mut r = Reader::new(&b);
    let mut int = String::new();
    if intg % 9 > 0 {
        int.push_str(&digit_group(&mut r, intg % 9)?.to_string());
    }
    for _ in 0..intg / 9 {
        int.push_str(&format!("{:09}", digit_group(&mut r, 9)?));
    }
    let int = int.trim_start_matches('0');
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if scale > 0 {
        out.push('.');
        for _ in 0..scale / 9 {
            out.push_str(&format!("{:09}", digit_group(&mut r, 9)?));
        }
        let trail = scale % 9;
        if trail > 0 {
            let v = digit_group(&mut r, trail)?;
            out.push_str(&format!("{v:0trail$}"));
        }
    }
    Ok(out)
}

/// MySQL's binary JSON as JSON text.
pub fn mysql_json(bytes: &[u8]) -> Result<String, String> {
    use mysql_common::proto::MyDeserialize;
    if bytes.is_empty() {
        return Ok("null".into());
    }
    let mut buf = mysql_common::io::ParseBuf(bytes);
    let v = mysql_common::binlog::jsonb::Value::deserialize((), &mut buf)
        .map_err(|e| format!("invalid binary JSON: {e}"))?;
    let json = serde_json::Value::try_from(v).map_err(|e| format!("invalid binary JSON: {e}"))?;
    Ok(json.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_decode_as_mysql_writes_them() {
        // DECIMAL(14,4) 1234567890.1234 and its negation, from MySQL's documentation.
        let pos = [0x81, 0x0D, 0xFB, 0x38, 0xD2, 0x04, 0xD2];
        assert_eq!(decimal_text(&pos, 14, 4).as_deref(), Ok("1234567890.1234"));
        let neg: Vec<u8> = pos.iter().map(|b| !b).collect();
        assert_eq!(decimal_text(&neg, 14, 4).as_deref(), Ok("-1234567890.1234"));
        // DECIMAL(5,2) 0.05
        assert_eq!(
            decimal_text(&[0x80, 0x00, 0x05], 5, 2).as_deref(),
            Ok("0.05")
        );
        assert!(decimal_text(&[0x80], 5, 2).is_err());
        // The same values without text.
        assert_eq!(decimal_unscaled(&pos, 14, 4), Ok(Some(12_345_678_901_234)));
        assert_eq!(decimal_unscaled(&neg, 14, 4), Ok(Some(-12_345_678_901_234)));
        assert_eq!(decimal_unscaled(&[0x80, 0x00, 0x05], 5, 2), Ok(Some(5)));
        assert!(decimal_unscaled(&[0x80], 5, 2).is_err());
        // Above 38 digits the text form is used.
        assert_eq!(decimal_unscaled(&[0; 30], 65, 30), Ok(None));
    }

    #[test]
    fn malformed_decimals_are_errors_not_overflows() {
        // Found by the binlog_event fuzz target. A scale above the precision (no server
        // writes one) made 36 bytes for a 32-byte buffer and 72 digits for an i128; it is
        // left to the text form.
        let mut zero = vec![0x80];
        zero.resize(decimal_size(38, 80), 0);
        assert_eq!(zero.len(), 36);
        assert_eq!(decimal_unscaled(&zero, 38, 80), Ok(None));
        let text = decimal_text(&zero, 38, 80).expect("text");
        assert_eq!(text, format!("0.{}", "0".repeat(80)));
        // A 4-byte group holds at most 999999999, a 1-byte lead group of one digit 9.
        let big_group = [0x80, 0xff, 0xff, 0xff, 0xff];
        for bytes in [&big_group[..], &[0x8a, 0, 0, 0, 0]] {
            let err = decimal_unscaled(bytes, 10, 0).expect_err("malformed");
            assert!(err.contains("the value is malformed"), "{err}");
            assert!(decimal_text(bytes, 10, 0).is_err());
        }
        // The largest valid values still decode.
        let nines = [0x89, 0x3b, 0x9a, 0xc9, 0xff];
        assert_eq!(decimal_unscaled(&nines, 10, 0), Ok(Some(9_999_999_999)));
        let mut max38 = vec![0x80 | 99];
        for _ in 0..4 {
            max38.extend(999_999_999u32.to_be_bytes());
        }
        assert_eq!(
            decimal_unscaled(&max38, 38, 0),
            Ok(Some(10i128.pow(38) - 1))
        );
        let negative: Vec<u8> = max38.iter().map(|b| !b).collect();
        assert_eq!(
            decimal_unscaled(&negative, 38, 0),
            Ok(Some(1 - 10i128.pow(38)))
        );
    }

    fn col(t: u8, meta: [u8; 2], unsigned: bool) -> BinlogColumn {
        BinlogColumn {
            ty: t,
            meta,
            nullable: true,
            unsigned,
            collation: None,
            name: None,
            values: vec![],
        }
    }

    /// A WRITE_ROWS (v2) event of table 7 with `columns` columns, `present` as the
    /// columns bitmap, then `body`.
    fn write_rows(columns: u8, present: &[u8], body: &[u8]) -> Vec<u8> {
        let mut data = vec![7, 0, 0, 0, 0, 0, 0, 0, 2, 0, columns];
        data.extend_from_slice(present);
        data.extend_from_slice(body);
        data
    }

    #[test]
    fn rows_of_no_bytes_are_an_error_not_an_endless_loop() {
        // Found by the binlog_event fuzz target: no column present, so each row image is
        // empty and reading rows never reached the end of the event.
        let data = write_rows(1, &[0], &[0xaa]);
        let mut ev = parse_rows(&data, 0x1e).expect("header");
        let cols = [col(ty::LONG, [0, 0], false)];
        let err = ev.next_row(&cols).expect_err("no progress");
        assert!(err.contains("row images of no bytes"), "{err}");
        let data = write_rows(0, &[], &[0, 0]);
        let mut ev = parse_rows(&data, 0x1e).expect("header");
        assert!(ev.next_row(&[]).is_err());
        // A real row still reads: one present column, its null bitmap, its 4 bytes.
        let data = write_rows(1, &[1], &[0, 5, 0, 0, 0]);
        let mut ev = parse_rows(&data, 0x1e).expect("header");
        assert_eq!(ev.next_row(&cols), Ok((None, Some(vec![Raw::Int(5)]))));
        assert!(ev.is_done());
    }

    #[test]
    fn mediumint_is_sign_extended() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff]);
        assert_eq!(
            value(&mut r, &col(ty::INT24, [0, 0], false)),
            Ok(Raw::Int(-1))
        );
        let mut r = Reader::new(&[0xff, 0xff, 0xff]);
        assert_eq!(
            value(&mut r, &col(ty::INT24, [0, 0], true)),
            Ok(Raw::UInt(0xff_ffff))
        );
        let mut r = Reader::new(&[0x00, 0x00, 0x80]);
        assert_eq!(
            value(&mut r, &col(ty::INT24, [0, 0], false)),
            Ok(Raw::Int(-8_388_608))
        );
    }

    #[test]
    fn temporal_types() {
        // DATETIME2(0) 2018-06-20 06:37:03: packed per MySQL's TIME_to_longlong_datetime_packed.
        let ymd = ((2018 * 13 + 6) << 5) | 20;
        let hms = (6 << 12) | (37 << 6) | 3;
        let packed: u64 = (((ymd as u64) << 17) | hms as u64) + 0x80_0000_0000;
        let bytes = &packed.to_be_bytes()[3..];
        let mut r = Reader::new(bytes);
        assert_eq!(
            value(&mut r, &col(ty::DATETIME2, [0, 0], false)),
            Ok(Raw::DateTime {
                y: 2018,
                m: 6,
                d: 20,
                h: 6,
                mi: 37,
                s: 3,
                us: 0
            })
        );
        // TIME2(0) -00:00:01 and TIME2(2) -00:00:00.50
        let mut r = Reader::new(&[0x7f, 0xff, 0xff]);
        assert_eq!(
            value(&mut r, &col(ty::TIME2, [0, 0], false)),
            Ok(Raw::Time(-1_000_000))
        );
        let mut r = Reader::new(&[0x7f, 0xff, 0xff, 0xce]);
        assert_eq!(
            value(&mut r, &col(ty::TIME2, [2, 0], false)),
            Ok(Raw::Time(-500_000))
        );
        // TIMESTAMP2(3): seconds then 2 fraction bytes (hundreds of µs)
        let mut r = Reader::new(&[0x5b, 0x29, 0xf5, 0x0f, 0x04, 0xb0]);
        assert_eq!(
            value(&mut r, &col(ty::TIMESTAMP2, [3, 0], false)),
            Ok(Raw::Timestamp {
                secs: 0x5b29_f50f,
                us: 120_000
            })
        );
        // DATE 2024-02-29
        let v: u32 = (2024 << 9) | (2 << 5) | 29;
        let bytes = v.to_le_bytes();
        let mut r = Reader::new(&bytes[..3]);
        assert_eq!(
            value(&mut r, &col(ty::DATE, [0, 0], false)),
            Ok(Raw::Date {
                y: 2024,
                m: 2,
                d: 29
            })
        );
    }
}
