//! Column values as Debezium represents them, from either source of rows: the binlog
//! decoder and the snapshot's binary-protocol result sets both produce a [`Raw`] value,
//! and [`to_value`] turns it into the Connect value of the column's schema
//! ([`crate::schema::column_schema`]).
//!
//! Why this is right: one function per column type serves snapshot and streaming, so the
//! two agree by construction. The rules are Debezium's: DATE is days since the epoch,
//! DATETIME milli- or microseconds since the epoch read as UTC, TIME a signed duration,
//! TIMESTAMP an ISO-8601 UTC string with exactly the column's fractional digits
//! (`ZonedTimestamp` with `fsp`), zero dates are null for nullable columns and the epoch
//! otherwise, BIT(n>1) is little-endian bytes, ENUM / SET are their labels, BINARY(n) is
//! padded to n bytes as a SELECT returns it, geometry is `{wkb, srid}` from MySQL's
//! 4-byte-SRID + WKB form. Nothing here panics on bad input: a value that does not fit its
//! column is an error naming the column.

use sluice_core::{Decimal, Struct, Value};

use crate::config::{BigIntUnsignedMode, BinaryMode, DecimalMode, MySqlConfig, TimeMode};
use crate::schema::{Charset, ColumnMeta, ColumnType, FieldPlan, TableSchema};

/// A column value before conversion.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw<'a> {
    Null,
    Int(i64),
    UInt(u64),
    F32(f32),
    F64(f64),
    /// Text, binary data, decimal digits, ENUM / SET labels, BIT bytes (big-endian).
    Bytes(&'a [u8]),
    /// Owned text (decimal digits decoded from the binlog, above 38 digits).
    Text(String),
    /// A binlog DECIMAL of up to 38 digits: its unscaled value (the scale is the column's).
    Decimal(i128),
    Date {
        y: u16,
        m: u8,
        d: u8,
    },
    DateTime {
        y: u16,
        m: u8,
        d: u8,
        h: u8,
        mi: u8,
        s: u8,
        us: u32,
    },
    /// A signed duration in microseconds.
    Time(i64),
    /// Seconds since the epoch and microseconds (TIMESTAMP from the binlog).
    Timestamp {
        secs: i64,
        us: u32,
    },
    EnumIndex(u16),
    SetBits(u64),
    /// MySQL's binary JSON (binlog type 245).
    JsonBinary(&'a [u8]),
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2024-01-02T03:04:05.120Z` with exactly `fsp` fractional digits (none when 0).
pub fn iso_utc(secs: i64, us: u32, fsp: u8) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    if fsp > 0 {
        let frac = format!("{us:06}");
        s.push('.');
        s.push_str(&frac[..usize::from(fsp.min(6))]);
    }
    s.push('Z');
    s
}

fn base64(bytes: &[u8], url: bool) -> String {
    let table: &[u8; 64] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(table[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn decode_text(bytes: &[u8], charset: Charset) -> String {
    match charset {
        Charset::Utf8 => match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        },
        Charset::Latin1 => bytes.iter().map(|&b| cp1252(b)).collect(),
    }
}

/// Windows-1252, which MySQL calls latin1.
fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    if (0x80..0xa0).contains(&b) {
        HIGH[usize::from(b - 0x80)]
    } else {
        char::from(b)
    }
}

fn bytes_of<'r>(raw: &'r Raw<'_>) -> Option<&'r [u8]> {
    match raw {
        Raw::Bytes(b) => Some(b),
        Raw::Text(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn int_of(raw: &Raw<'_>) -> Option<i128> {
    match raw {
        Raw::Text(s) => s.trim().parse().ok(),
        Raw::Int(i) => Some(i128::from(*i)),
        Raw::UInt(u) => Some(i128::from(*u)),
        Raw::Bytes(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
        Raw::F64(f) => Some(*f as i128),
        Raw::F32(f) => Some(*f as i128),
        _ => None,
    }
}

/// Converts one value of column `c` for field plan `f`.
pub fn to_value(
    c: &ColumnMeta,
    f: &FieldPlan,
    raw: Raw<'_>,
    cfg: &MySqlConfig,
) -> Result<Value, String> {
    let v = convert(c, raw, cfg)?;
    Ok(match (&f.mask, v) {
        (Some(m), Value::String(s)) => Value::String(m.apply(&s)),
        (_, v) => v,
    })
}

/// Converts one value of column `c` (also used for key fields, which are never masked).
pub fn convert(c: &ColumnMeta, raw: Raw<'_>, cfg: &MySqlConfig) -> Result<Value, String> {
    if raw == Raw::Null {
        return Ok(Value::Null);
    }
    let bad = |raw: &Raw<'_>| format!("column {}: unexpected value {raw:?} for {:?}", c.name, c.ty);
    let zero = |c: &ColumnMeta, v: Value| if c.nullable { Value::Null } else { v };
    Ok(match &c.ty {
        ColumnType::TinyInt
        | ColumnType::SmallInt
        | ColumnType::MediumInt
        | ColumnType::Int
        | ColumnType::BigInt => {
            let n = int_of(&raw).ok_or_else(|| bad(&raw))?;
            match (&c.ty, c.unsigned) {
                (ColumnType::TinyInt, _) | (ColumnType::SmallInt, false) => Value::Int16(n as i16),
                (ColumnType::SmallInt, true)
                | (ColumnType::MediumInt, _)
                | (ColumnType::Int, false) => Value::Int32(n as i32),
                (ColumnType::Int, true) | (ColumnType::BigInt, false) => Value::Int64(n as i64),
                _ => match cfg.bigint_unsigned_mode {
                    BigIntUnsignedMode::Long => Value::Int64(n as u64 as i64),
                    BigIntUnsignedMode::Precise => Value::Decimal(Decimal::new(n as u64, 0)),
                },
            }
        }
        ColumnType::Float => match raw {
            Raw::F32(f) => Value::Float32(f),
            Raw::F64(f) => Value::Float32(f as f32),
            Raw::Bytes(b) => Value::Float32(parse_text(b).ok_or_else(|| bad(&raw))?),
            _ => return Err(bad(&raw)),
        },
        ColumnType::Double => match raw {
            Raw::F64(f) => Value::Float64(f),
            Raw::F32(f) => Value::Float64(f64::from(f)),
            Raw::Bytes(b) => Value::Float64(parse_text(b).ok_or_else(|| bad(&raw))?),
            _ => return Err(bad(&raw)),
        },
        ColumnType::Decimal { scale, .. } => {
            let d = if let Raw::Decimal(unscaled) = raw {
                Decimal::new(unscaled, i32::from(*scale))
            } else {
                let Some(b) = bytes_of(&raw) else {
                    return Err(bad(&raw));
                };
                let text = std::str::from_utf8(b).map_err(|_| bad(&raw))?;
                let d = Decimal::parse(text.trim()).ok_or_else(|| bad(&raw))?;
                d.with_scale(i32::from(*scale)).unwrap_or(d)
            };
            match cfg.decimal_mode {
                DecimalMode::Precise => Value::Decimal(d),
                DecimalMode::Double => {
                    Value::Float64(d.to_string().parse().map_err(|_| bad(&raw))?)
                }
                DecimalMode::String => Value::String(d.to_string()),
            }
        }
        ColumnType::Bit { bits } => {
            let bytes: Vec<u8> = match raw {
                Raw::Bytes(b) => b.to_vec(),
                Raw::UInt(u) => u.to_be_bytes().to_vec(),
                Raw::Int(i) => i.to_be_bytes().to_vec(),
                _ => return Err(bad(&raw)),
            };
            if *bits == 1 {
                Value::Boolean(bytes.iter().any(|&b| b != 0))
            } else {
                let n = usize::from(*bits).div_ceil(8);
                let mut le: Vec<u8> = bytes.iter().rev().copied().collect();
                le.resize(n, 0);
                Value::Bytes(le)
            }
        }
        ColumnType::Year => Value::Int32(int_of(&raw).ok_or_else(|| bad(&raw))? as i32),
        ColumnType::Date => {
            let (y, m, d) = match raw {
                Raw::Date { y, m, d } | Raw::DateTime { y, m, d, .. } => (y, m, d),
                _ => return Err(bad(&raw)),
            };
            if m == 0 || d == 0 {
                zero(c, Value::Int32(0))
            } else {
                Value::Int32(days_from_civil(i64::from(y), u32::from(m), u32::from(d)) as i32)
            }
        }
        ColumnType::Time { fsp } => {
            let us = match raw {
                Raw::Time(us) => us,
                _ => return Err(bad(&raw)),
            };
            match cfg.time_mode {
                TimeMode::AdaptiveMicroseconds => Value::Int64(us),
                TimeMode::Adaptive if *fsp > 3 => Value::Int64(us),
                _ => Value::Int32((us / 1_000) as i32),
            }
        }
        ColumnType::DateTime { fsp } => {
            let Raw::DateTime {
                y,
                m,
                d,
                h,
                mi,
                s,
                us,
            } = raw
            else {
                return Err(bad(&raw));
            };
            if m == 0 || d == 0 {
                return Ok(zero(c, Value::Int64(0)));
            }
            let secs = days_from_civil(i64::from(y), u32::from(m), u32::from(d)) * 86_400
                + i64::from(h) * 3600
                + i64::from(mi) * 60
                + i64::from(s);
            let micros = secs * 1_000_000 + i64::from(us);
            match cfg.time_mode {
                TimeMode::Connect => Value::Int64(micros.div_euclid(1_000)),
                _ if *fsp <= 3 => Value::Int64(micros.div_euclid(1_000)),
                _ => Value::Int64(micros),
            }
        }
        ColumnType::Timestamp { fsp } => {
            let (secs, us) = match raw {
                Raw::Timestamp { secs, us } => (secs, us),
                Raw::DateTime {
                    y,
                    m,
                    d,
                    h,
                    mi,
                    s,
                    us,
                } => {
                    if m == 0 || d == 0 {
                        (0, 0)
                    } else {
                        let days = days_from_civil(i64::from(y), u32::from(m), u32::from(d));
                        (
                            days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s),
                            us,
                        )
                    }
                }
                _ => return Err(bad(&raw)),
            };
            if secs == 0 && us == 0 {
                zero(c, Value::String(iso_utc(0, 0, *fsp)))
            } else {
                Value::String(iso_utc(secs, us, *fsp))
            }
        }
        ColumnType::Text { binary: false, .. } => {
            let Some(b) = bytes_of(&raw) else {
                return Err(bad(&raw));
            };
            Value::String(decode_text(b, c.charset))
        }
        ColumnType::Json => match raw {
            Raw::JsonBinary(b) => Value::String(
                crate::decode::mysql_json(b).map_err(|e| format!("column {}: {e}", c.name))?,
            ),
            _ => {
                let Some(b) = bytes_of(&raw) else {
                    return Err(bad(&raw));
                };
                Value::String(decode_text(b, c.charset))
            }
        },
        ColumnType::Text {
            binary: true,
            fixed,
        } => {
            let Some(b) = bytes_of(&raw) else {
                return Err(bad(&raw));
            };
            let mut bytes = b.to_vec();
            if let Some(n) = fixed {
                if bytes.len() < *n as usize {
                    bytes.resize(*n as usize, 0);
                }
            }
            match cfg.binary_mode {
                BinaryMode::Bytes => Value::Bytes(bytes),
                BinaryMode::Base64 => Value::String(base64(&bytes, false)),
                BinaryMode::Base64UrlSafe => Value::String(base64(&bytes, true)),
                BinaryMode::Hex => {
                    Value::String(bytes.iter().map(|b| format!("{b:02x}")).collect())
                }
            }
        }
        ColumnType::Enum { values } => match raw {
            Raw::EnumIndex(0) => Value::String(String::new()),
            Raw::EnumIndex(i) => Value::String(
                values
                    .get(usize::from(i) - 1)
                    .cloned()
                    .ok_or_else(|| bad(&raw))?,
            ),
            Raw::Bytes(b) => Value::String(decode_text(b, Charset::Utf8)),
            _ => return Err(bad(&raw)),
        },
        ColumnType::Set { values } => match raw {
            Raw::SetBits(bits) => Value::String(
                values
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i < 64 && bits & (1u64 << i) != 0)
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Raw::Bytes(b) => Value::String(decode_text(b, Charset::Utf8)),
            _ => return Err(bad(&raw)),
        },
        ColumnType::Geometry => {
            let Some(b) = bytes_of(&raw) else {
                return Err(bad(&raw));
            };
            if b.len() < 4 {
                return Err(bad(&raw));
            }
            let srid = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let schema = crate::schema::column_schema(c, true, cfg);
            Value::Struct(
                Struct::from_values(
                    schema,
                    vec![Value::Bytes(b[4..].to_vec()), Value::Int32(srid)],
                )
                .map_err(|e| e.to_string())?,
            )
        }
    })
}

/// The `<topic>.Value` struct of one row image (one [`Raw`] per table column).
pub fn row_struct(t: &TableSchema, raws: &[Raw<'_>], cfg: &MySqlConfig) -> Result<Value, String> {
    let mut values = Vec::with_capacity(t.fields.len());
    for f in &t.fields {
        let c = &t.meta.columns[f.column];
        let raw = raws.get(f.column).cloned().unwrap_or(Raw::Null);
        values.push(to_value(c, f, raw, cfg)?);
    }
    Struct::from_values(t.value.clone(), values)
        .map(Value::Struct)
        .map_err(|e| e.to_string())
}

/// The `<topic>.Key` struct of one row image, when the table has a key.
pub fn key_struct(
    t: &TableSchema,
    raws: &[Raw<'_>],
    cfg: &MySqlConfig,
) -> Result<Option<Value>, String> {
    let Some(schema) = &t.key else {
        return Ok(None);
    };
    let mut values = Vec::with_capacity(t.key_columns.len());
    for &i in &t.key_columns {
        let c = &t.meta.columns[i];
        values.push(convert(c, raws.get(i).cloned().unwrap_or(Raw::Null), cfg)?);
    }
    Struct::from_values(schema.clone(), values)
        .map(|s| Some(Value::Struct(s)))
        .map_err(|e| e.to_string())
}

fn parse_text<T: std::str::FromStr>(b: &[u8]) -> Option<T> {
    std::str::from_utf8(b).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        for z in [-800_000, -1, 0, 1, 11_017, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(iso_utc(1_529_476_623, 0, 0), "2018-06-20T06:37:03Z");
        assert_eq!(
            iso_utc(1_529_476_623, 120_000, 3),
            "2018-06-20T06:37:03.120Z"
        );
        assert_eq!(
            iso_utc(1_529_476_623, 120_000, 6),
            "2018-06-20T06:37:03.120000Z"
        );
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b"", false), "");
        assert_eq!(base64(b"f", false), "Zg==");
        assert_eq!(base64(b"fo", false), "Zm8=");
        assert_eq!(base64(b"foobar", false), "Zm9vYmFy");
        assert_eq!(base64(&[0xfb, 0xff], true), "-_8=");
        assert_eq!(cp1252(0x80), '€');
        assert_eq!(cp1252(b'a'), 'a');
        assert_eq!(cp1252(0xe9), 'é');
    }
}
