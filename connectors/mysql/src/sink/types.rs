//! Connect → MySQL: the column type `auto.create` / `auto.evolve` give a field
//! ([`column_type`]), and the parameter a value is bound as ([`bind`]).
//!
//! Why a copy is exact: the source ([`crate::convert`]) writes every MySQL value in one of
//! Debezium's representations, and each is turned back here without a lossy step. Integers
//! and floats are bound with their own width (a FLOAT stays an `f32`, so the stored single
//! is the same bits); DECIMAL is bound as its decimal text; DATE / DATETIME / TIME arrive
//! as day / milli / micro counts and are bound as MySQL DATETIME / TIME parameters with
//! every microsecond; TIMESTAMP arrives as an ISO-8601 instant and is bound in UTC, which
//! is what the session's `time_zone='+00:00'` stores; BIT(n) arrives as little-endian bytes
//! and is bound as the unsigned integer they spell; a negative `int64` bound to a BIGINT
//! UNSIGNED column is the wrapped value Debezium's `bigint.unsigned.handling.mode=long`
//! made of it, so it is unwrapped; JSON, ENUM and SET are their text. Types are chosen
//! from the logical name and its parameters (`connect.decimal.precision`, `length`,
//! `allowed`), so `auto.create` rebuilds DECIMAL(p,s), BIT(n), ENUM and SET exactly;
//! where the event does not carry a width (VARCHAR length, DATETIME fsp) the widest
//! type that holds every value is used.

use mysql_async::Value as My;
use sluice_core::{Decimal, Schema, Type, Value};

use crate::convert::civil_from_days;

/// Logical type names this module knows.
pub mod names {
    pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
    pub const DATE: &str = "org.apache.kafka.connect.data.Date";
    pub const TIME: &str = "org.apache.kafka.connect.data.Time";
    pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
    pub const DBZ_DATE: &str = "io.debezium.time.Date";
    pub const DBZ_TIME: &str = "io.debezium.time.Time";
    pub const DBZ_MICRO_TIME: &str = "io.debezium.time.MicroTime";
    pub const DBZ_NANO_TIME: &str = "io.debezium.time.NanoTime";
    pub const DBZ_TIMESTAMP: &str = "io.debezium.time.Timestamp";
    pub const DBZ_MICRO_TIMESTAMP: &str = "io.debezium.time.MicroTimestamp";
    pub const DBZ_NANO_TIMESTAMP: &str = "io.debezium.time.NanoTimestamp";
    pub const DBZ_ZONED_TIMESTAMP: &str = "io.debezium.time.ZonedTimestamp";
    pub const DBZ_ZONED_TIME: &str = "io.debezium.time.ZonedTime";
    pub const DBZ_YEAR: &str = "io.debezium.time.Year";
    pub const DBZ_JSON: &str = "io.debezium.data.Json";
    pub const DBZ_ENUM: &str = "io.debezium.data.Enum";
    pub const DBZ_ENUM_SET: &str = "io.debezium.data.EnumSet";
    pub const DBZ_BITS: &str = "io.debezium.data.Bits";
    pub const DBZ_UUID: &str = "io.debezium.data.Uuid";
    pub const DBZ_VARIABLE_DECIMAL: &str = "io.debezium.data.VariableScaleDecimal";
    pub const DBZ_GEOMETRY: &str = "io.debezium.data.geometry.Geometry";
    pub const DBZ_POINT: &str = "io.debezium.data.geometry.Point";
}

/// What the sink knows of a target column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    /// `information_schema.COLUMNS.DATA_TYPE`, lower case (`bigint`, `bit`, …).
    pub data_type: String,
    pub unsigned: bool,
}

/// Quotes `s` as a MySQL string literal.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// The column type (with NULL / NOT NULL) `auto.create` gives a field of `schema`;
/// `key` columns get indexable types (VARCHAR(255) rather than LONGTEXT).
pub fn column_type(schema: &Schema, key: bool) -> Result<String, String> {
    let base = base_type(schema, key)?;
    Ok(if schema.optional && !key {
        format!("{base} NULL")
    } else {
        format!("{base} NOT NULL")
    })
}

fn base_type(schema: &Schema, key: bool) -> Result<String, String> {
    use names::*;
    let param = |k: &str| {
        schema
            .parameter(k)
            .and_then(|v| v.trim().parse::<u32>().ok())
    };
    if let Some(name) = schema.name() {
        let t = match name {
            DECIMAL => {
                let scale = param("scale").unwrap_or(0);
                let precision = param("connect.decimal.precision")
                    .unwrap_or(65)
                    .max(scale.max(1));
                format!("DECIMAL({},{scale})", precision.min(65))
            }
            DATE | DBZ_DATE => "DATE".into(),
            TIME | DBZ_TIME => "TIME(3)".into(),
            DBZ_MICRO_TIME | DBZ_NANO_TIME | DBZ_ZONED_TIME => "TIME(6)".into(),
            TIMESTAMP | DBZ_TIMESTAMP => "DATETIME(3)".into(),
            DBZ_MICRO_TIMESTAMP | DBZ_NANO_TIMESTAMP => "DATETIME(6)".into(),
            DBZ_ZONED_TIMESTAMP => "TIMESTAMP(6)".into(),
            DBZ_YEAR => "YEAR".into(),
            DBZ_JSON => "JSON".into(),
            DBZ_UUID => "CHAR(36)".into(),
            DBZ_ENUM | DBZ_ENUM_SET => {
                let allowed: Vec<String> = schema
                    .parameter("allowed")
                    .unwrap_or("")
                    .split(',')
                    .map(literal)
                    .collect();
                let kw = if name == DBZ_ENUM { "ENUM" } else { "SET" };
                format!("{kw}({})", allowed.join(","))
            }
            DBZ_BITS => format!("BIT({})", param("length").unwrap_or(64).clamp(1, 64)),
            DBZ_VARIABLE_DECIMAL => "DECIMAL(65,30)".into(),
            DBZ_GEOMETRY => "GEOMETRY".into(),
            DBZ_POINT => "POINT".into(),
            _ => String::new(),
        };
        if !t.is_empty() {
            return Ok(t);
        }
    }
    Ok(match schema.ty {
        Type::Int8 => "TINYINT".into(),
        Type::Int16 => "SMALLINT".into(),
        Type::Int32 => "INT".into(),
        Type::Int64 => "BIGINT".into(),
        Type::Float32 => "FLOAT".into(),
        Type::Float64 => "DOUBLE".into(),
        Type::Boolean => "BOOLEAN".into(),
        Type::String if key => "VARCHAR(255)".into(),
        Type::String => "LONGTEXT".into(),
        Type::Bytes if key => "VARBINARY(255)".into(),
        Type::Bytes => "LONGBLOB".into(),
        Type::Array | Type::Map | Type::Struct => {
            return Err(format!(
                "a field of type {} ({}) has no column type: flatten it with a transform (e.g. Flatten) or drop it",
                schema.ty.json_name(),
                schema.name().unwrap_or("unnamed")
            ))
        }
    })
}

/// `days` since the epoch plus `micros` into the day, as a DATETIME parameter.
fn datetime(micros_since_epoch: i64) -> My {
    let days = micros_since_epoch.div_euclid(86_400_000_000);
    let rem = micros_since_epoch.rem_euclid(86_400_000_000);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1_000_000;
    My::Date(
        y.clamp(0, 9999) as u16,
        m as u8,
        d as u8,
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
        (rem % 1_000_000) as u32,
    )
}

/// A signed duration in microseconds as a TIME parameter.
fn time(micros: i64) -> My {
    let neg = micros < 0;
    let a = micros.unsigned_abs();
    let secs = a / 1_000_000;
    My::Time(
        neg,
        (secs / 86_400) as u32,
        (secs / 3600 % 24) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
        (a % 1_000_000) as u32,
    )
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `HH:MM:SS[.ffffff]` → microseconds into the day.
fn parse_clock(s: &str) -> Option<i64> {
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut it = hms.split(':');
    let (h, m, sec) = (
        digits(it.next()?)?,
        digits(it.next()?)?,
        digits(it.next().unwrap_or("0"))?,
    );
    let mut us = 0;
    if !frac.is_empty() {
        let f: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
        us = digits(&f)?;
    }
    Some(((h * 60 + m) * 60 + sec) * 1_000_000 + us)
}

/// Splits a trailing `Z` / `±HH:MM` / `±HHMM` off; returns the text and the offset in seconds.
fn split_offset(s: &str) -> Option<(&str, i64)> {
    if let Some(t) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        return Some((t, 0));
    }
    let i = s.rfind(['+', '-'])?;
    let (t, off) = s.split_at(i);
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let off = off[1..].replace(':', "");
    if off.len() != 4 {
        return None;
    }
    Some((
        t,
        sign * (digits(&off[..2])? * 3600 + digits(&off[2..])? * 60),
    ))
}

/// An ISO-8601 instant (`2018-06-20T06:37:03.120Z`, `…+02:00`) as microseconds since the epoch.
pub fn parse_instant(s: &str) -> Option<i64> {
    let (local, offset) = split_offset(s.trim())?;
    let (date, clock) = local.split_once(['T', ' '])?;
    let mut it = date.splitn(3, '-');
    let (y, m, d) = (
        digits(it.next()?)?,
        digits(it.next()?)?,
        digits(it.next()?)?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = crate::convert::days_from_civil(y, m as u32, d as u32);
    Some(days * 86_400_000_000 + parse_clock(clock)? - offset * 1_000_000)
}

fn decimal_text(d: &Decimal) -> My {
    My::Bytes(d.to_string().into_bytes())
}

fn int(n: i64, column: Option<&ColumnInfo>) -> My {
    match column {
        // Debezium's bigint.unsigned.handling.mode=long wraps values above 2^63-1.
        Some(c) if c.unsigned && n < 0 => My::UInt(n as u64),
        _ => My::Int(n),
    }
}

fn bad(schema: &Schema, value: &Value) -> String {
    format!(
        "a {} value cannot be written as {} ({})",
        value.kind(),
        schema.ty.json_name(),
        schema.name().unwrap_or("no logical type")
    )
}

/// The parameter for `value` of `schema` (None: schemaless) written to `column`.
pub fn bind(
    schema: Option<&Schema>,
    value: &Value,
    column: Option<&ColumnInfo>,
) -> Result<My, String> {
    use names::*;
    if value.is_null() {
        return Ok(My::NULL);
    }
    let Some(schema) = schema else {
        return bind_schemaless(value, column);
    };
    let num = || -> Option<i64> {
        Some(match value {
            Value::Int8(n) => i64::from(*n),
            Value::Int16(n) => i64::from(*n),
            Value::Int32(n) => i64::from(*n),
            Value::Int64(n) => *n,
            _ => return None,
        })
    };
    let text = || match value {
        Value::String(s) => Some(s.as_str()),
        _ => None,
    };
    if let Some(name) = schema.name() {
        let converted = match name {
            DATE | DBZ_DATE => num()
                .map(|d| datetime(d * 86_400_000_000))
                .map(|v| match v {
                    My::Date(y, m, d, ..) => My::Date(y, m, d, 0, 0, 0, 0),
                    v => v,
                }),
            TIME | DBZ_TIME => num().map(|ms| time(ms * 1_000)),
            DBZ_MICRO_TIME => num().map(time),
            DBZ_NANO_TIME => num().map(|ns| time(ns.div_euclid(1_000))),
            TIMESTAMP | DBZ_TIMESTAMP => num().map(|ms| datetime(ms * 1_000)),
            DBZ_MICRO_TIMESTAMP => num().map(datetime),
            DBZ_NANO_TIMESTAMP => num().map(|ns| datetime(ns.div_euclid(1_000))),
            DBZ_ZONED_TIMESTAMP => match text() {
                Some(s) => Some(datetime(parse_instant(s).ok_or_else(|| {
                    format!("{s:?} is not an ISO-8601 instant ({DBZ_ZONED_TIMESTAMP})")
                })?)),
                None => None,
            },
            DBZ_ZONED_TIME => match text() {
                Some(s) => {
                    let (clock, off) =
                        split_offset(s).ok_or_else(|| format!("{s:?} is not a zoned time"))?;
                    let us =
                        parse_clock(clock).ok_or_else(|| format!("{s:?} is not a zoned time"))?;
                    Some(time((us - off * 1_000_000).rem_euclid(86_400_000_000)))
                }
                None => None,
            },
            DECIMAL => match value {
                Value::Decimal(d) => Some(decimal_text(d)),
                Value::Bytes(b) => {
                    let scale = schema
                        .parameter("scale")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    Some(decimal_text(&Decimal::from_bytes(b, scale)))
                }
                _ => None,
            },
            DBZ_BITS => match value {
                Value::Bytes(le) if le.len() <= 8 => Some(My::UInt(
                    le.iter().rev().fold(0u64, |n, b| (n << 8) | u64::from(*b)),
                )),
                _ => None,
            },
            DBZ_VARIABLE_DECIMAL | DBZ_GEOMETRY | DBZ_POINT => match value {
                Value::Struct(s) if name == DBZ_VARIABLE_DECIMAL => {
                    match (s.get("scale"), s.get("value")) {
                        (Some(Value::Int32(scale)), Some(Value::Bytes(b))) => {
                            Some(decimal_text(&Decimal::from_bytes(b, *scale)))
                        }
                        _ => None,
                    }
                }
                Value::Struct(s) => match (s.get("wkb"), s.get("srid")) {
                    (Some(Value::Bytes(wkb)), srid) => {
                        let srid = match srid {
                            Some(Value::Int32(n)) => *n,
                            _ => 0,
                        };
                        let mut b = srid.to_le_bytes().to_vec();
                        b.extend_from_slice(wkb);
                        Some(My::Bytes(b))
                    }
                    _ => None,
                },
                _ => None,
            },
            _ => Some(My::NULL).filter(|_| false),
        };
        if let Some(v) = converted {
            return Ok(v);
        }
        if matches!(
            name,
            DATE | DBZ_DATE
                | TIME
                | DBZ_TIME
                | DBZ_MICRO_TIME
                | DBZ_NANO_TIME
                | TIMESTAMP
                | DBZ_TIMESTAMP
                | DBZ_MICRO_TIMESTAMP
                | DBZ_NANO_TIMESTAMP
                | DBZ_ZONED_TIMESTAMP
                | DBZ_ZONED_TIME
                | DECIMAL
                | DBZ_BITS
                | DBZ_VARIABLE_DECIMAL
                | DBZ_GEOMETRY
                | DBZ_POINT
        ) {
            return Err(bad(schema, value));
        }
    }
    Ok(match value {
        Value::Int8(_) | Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => {
            int(num().unwrap_or_default(), column)
        }
        Value::Float32(f) => My::Float(*f),
        Value::Float64(f) => My::Double(*f),
        Value::Boolean(b) => My::Int(i64::from(*b)),
        Value::String(s) => My::Bytes(s.as_bytes().to_vec()),
        Value::Bytes(b) => My::Bytes(b.clone()),
        Value::Decimal(d) => decimal_text(d),
        Value::Null => My::NULL,
        Value::Array(_) | Value::Map(_) | Value::Struct(_) => return Err(bad(schema, value)),
    })
}

fn bind_schemaless(value: &Value, column: Option<&ColumnInfo>) -> Result<My, String> {
    Ok(match value {
        Value::Int8(n) => My::Int(i64::from(*n)),
        Value::Int16(n) => My::Int(i64::from(*n)),
        Value::Int32(n) => My::Int(i64::from(*n)),
        Value::Int64(n) => int(*n, column),
        Value::Float32(f) => My::Float(*f),
        Value::Float64(f) => My::Double(*f),
        Value::Boolean(b) => My::Int(i64::from(*b)),
        Value::String(s) => My::Bytes(s.as_bytes().to_vec()),
        Value::Bytes(b) => My::Bytes(b.clone()),
        Value::Decimal(d) => decimal_text(d),
        Value::Null => My::NULL,
        other => {
            return Err(format!(
                "a schemaless {} value has no column representation: flatten it with a transform",
                other.kind()
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::SchemaBuilder;

    fn named(ty: Type, name: &str) -> Schema {
        SchemaBuilder::new(ty).name(name).into_schema()
    }

    #[test]
    fn auto_create_types_follow_the_logical_type() {
        let dec = SchemaBuilder::decimal(2)
            .parameter("connect.decimal.precision", "10")
            .optional()
            .into_schema();
        assert_eq!(
            column_type(&dec, false).as_deref(),
            Ok("DECIMAL(10,2) NULL")
        );
        let e = SchemaBuilder::new(Type::String)
            .name(names::DBZ_ENUM)
            .parameter("allowed", "a,b'c")
            .into_schema();
        assert_eq!(
            column_type(&e, false).as_deref(),
            Ok("ENUM('a','b''c') NOT NULL")
        );
        let bits = SchemaBuilder::new(Type::Bytes)
            .name(names::DBZ_BITS)
            .parameter("length", "12")
            .into_schema();
        assert_eq!(base_type(&bits, false).as_deref(), Ok("BIT(12)"));
        for (name, ty, want) in [
            (names::DBZ_DATE, Type::Int32, "DATE"),
            (names::DBZ_MICRO_TIME, Type::Int64, "TIME(6)"),
            (names::DBZ_TIME, Type::Int32, "TIME(3)"),
            (names::DBZ_TIMESTAMP, Type::Int64, "DATETIME(3)"),
            (names::DBZ_MICRO_TIMESTAMP, Type::Int64, "DATETIME(6)"),
            (names::DBZ_ZONED_TIMESTAMP, Type::String, "TIMESTAMP(6)"),
            (names::DBZ_YEAR, Type::Int32, "YEAR"),
            (names::DBZ_JSON, Type::String, "JSON"),
            (names::TIMESTAMP, Type::Int64, "DATETIME(3)"),
        ] {
            assert_eq!(
                base_type(&named(ty, name), false).as_deref(),
                Ok(want),
                "{name}"
            );
        }
        let s = Schema::primitive(Type::String, false);
        assert_eq!(base_type(&s, true).as_deref(), Ok("VARCHAR(255)"));
        assert_eq!(base_type(&s, false).as_deref(), Ok("LONGTEXT"));
        assert_eq!(
            column_type(&Schema::primitive(Type::Int16, true), false).as_deref(),
            Ok("SMALLINT NULL")
        );
        let arr = SchemaBuilder::array(Schema::primitive(Type::Int32, false)).into_schema();
        assert!(column_type(&arr, false)
            .expect_err("no type")
            .contains("Flatten"));
    }

    #[test]
    fn values_bind_without_loss() {
        let s = |ty, name| named(ty, name);
        // 2018-06-20 = day 17702.
        assert_eq!(
            bind(
                Some(&s(Type::Int32, names::DBZ_DATE)),
                &Value::Int32(17_702),
                None
            ),
            Ok(My::Date(2018, 6, 20, 0, 0, 0, 0))
        );
        assert_eq!(
            bind(
                Some(&s(Type::Int64, names::DBZ_MICRO_TIMESTAMP)),
                &Value::Int64(1_529_476_623_000_001),
                None
            ),
            Ok(My::Date(2018, 6, 20, 6, 37, 3, 1))
        );
        assert_eq!(
            bind(
                Some(&s(Type::Int64, names::DBZ_TIMESTAMP)),
                &Value::Int64(-1),
                None
            ),
            Ok(My::Date(1969, 12, 31, 23, 59, 59, 999_000))
        );
        assert_eq!(
            bind(
                Some(&s(Type::Int64, names::DBZ_MICRO_TIME)),
                &Value::Int64(-(3_600_000_000 * 30 + 5)),
                None
            ),
            Ok(My::Time(true, 1, 6, 0, 0, 5))
        );
        assert_eq!(
            bind(
                Some(&s(Type::String, names::DBZ_ZONED_TIMESTAMP)),
                &Value::String("2018-06-20T06:37:03.12Z".into()),
                None
            ),
            Ok(My::Date(2018, 6, 20, 6, 37, 3, 120_000))
        );
        assert_eq!(
            bind(
                Some(&s(Type::String, names::DBZ_ZONED_TIMESTAMP)),
                &Value::String("2018-06-20T08:37:03+02:00".into()),
                None
            ),
            Ok(My::Date(2018, 6, 20, 6, 37, 3, 0))
        );
        assert!(bind(
            Some(&s(Type::String, names::DBZ_ZONED_TIMESTAMP)),
            &Value::String("yesterday".into()),
            None
        )
        .is_err());
        assert_eq!(
            bind(
                Some(&s(Type::Bytes, names::DBZ_BITS)),
                &Value::Bytes(vec![0x34, 0x12]),
                None
            ),
            Ok(My::UInt(0x1234))
        );
        let dec = SchemaBuilder::decimal(3).into_schema();
        assert_eq!(
            bind(Some(&dec), &Value::Decimal(Decimal::new(-12_345, 3)), None),
            Ok(My::Bytes(b"-12.345".to_vec()))
        );
        let unsigned = ColumnInfo {
            name: "u".into(),
            data_type: "bigint".into(),
            unsigned: true,
        };
        let long = Schema::primitive(Type::Int64, false);
        assert_eq!(
            bind(Some(&long), &Value::Int64(-1), Some(&unsigned)),
            Ok(My::UInt(u64::MAX))
        );
        assert_eq!(bind(Some(&long), &Value::Int64(-1), None), Ok(My::Int(-1)));
        let f = Schema::primitive(Type::Float32, false);
        assert_eq!(
            bind(Some(&f), &Value::Float32(0.1), None),
            Ok(My::Float(0.1))
        );
        assert_eq!(bind(None, &Value::Null, None), Ok(My::NULL));
    }
}
