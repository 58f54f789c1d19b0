//! `TimestampConverter$Key` / `TimestampConverter$Value`: converts a timestamp field
//! (or the whole key/value when `field` is empty) between Unix epoch numbers,
//! formatted strings and Connect's `Date`, `Time` and `Timestamp`.
//!
//! As in Kafka Connect: the input kind comes from the schema (logical name, else
//! string = formatted, int64 = unix) or, without one, from the value (int64 = unix,
//! string = formatted); everything goes through epoch milliseconds in UTC; `Date`
//! truncates to the day, `Time` keeps the time of day; `unix.precision` scales unix
//! input and output (sub-millisecond parts are lost); `format` is a
//! `SimpleDateFormat` pattern, required when the target is `string`. The converted
//! field keeps its optionality; null values stay null; other fields are unchanged.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::Transform;
use sluice_core::schema::logical;
use sluice_core::{ConnectError, Record, Schema, SchemaBuilder, SchemaRef, Type, Value};

use crate::util::cache::SchemaCache;
use crate::util::datefmt::{DateFormat, MS_PER_DAY};
use crate::util::{
    copy_basics, java_class, map_get, map_put, new_struct, parse_config, push_field,
    replace_null_with_default_key, require_map, require_struct, take_values, with_default, Result,
    Side,
};

const PURPOSE: &str = "converting timestamp formats";

/// `field`, `target.type`, `format`, `unix.precision`, `replace.null.with.default`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("field", ConfigType::String)
                .default("")
                .importance(Importance::High)
                .doc("The field containing the timestamp, or empty if the entire value is a timestamp"),
        )
        .define(
            ConfigKey::new("target.type", ConfigType::String)
                .importance(Importance::High)
                .validator(Validator::OneOf(&["string", "unix", "Date", "Time", "Timestamp"]))
                .doc("The desired timestamp representation: string, unix, Date, Time, or Timestamp"),
        )
        .define(
            ConfigKey::new("format", ConfigType::String)
                .default("")
                .importance(Importance::Medium)
                .validator(Validator::Custom(|s| {
                    if s.trim().is_empty() { Ok(()) } else { DateFormat::new(s).map(|_| ()) }
                }))
                .doc("A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string or used to parse the input if the input is a string."),
        )
        .define(
            ConfigKey::new("unix.precision", ConfigType::String)
                .default("milliseconds")
                .importance(Importance::Low)
                .validator(Validator::OneOf(&["nanoseconds", "microseconds", "milliseconds", "seconds"]))
                .doc("The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. Used to generate the output when type=unix or used to parse the input if the input is a Long.Note: This SMT will cause precision loss during conversions from, and to, values with sub-millisecond components."),
        )
        .define(replace_null_with_default_key())
}

side_plugins!("TimestampConverter", config_def, build);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Str,
    Unix,
    Date,
    Time,
    Timestamp,
}

fn build(side: Side, config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let class = if side == Side::Key {
        KEY.info.class
    } else {
        VALUE.info.class
    };
    let cfg = parse_config(class, &config_def(), config)?;
    let target = match cfg
        .string_or_default("target.type")
        .to_ascii_lowercase()
        .as_str()
    {
        "string" => Kind::Str,
        "unix" => Kind::Unix,
        "date" => Kind::Date,
        "time" => Kind::Time,
        _ => Kind::Timestamp,
    };
    let pattern = cfg.string_or_default("format");
    let format = if pattern.trim().is_empty() {
        if target == Kind::Str {
            return Err(ConnectError::config(
                "format",
                pattern,
                "TimestampConverter requires format option to be specified when using string timestamps",
            ));
        }
        None
    } else {
        Some(DateFormat::new(pattern).map_err(|e| {
            ConnectError::config("format", pattern, format!("TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: {e}"))
        })?)
    };
    let precision = match cfg
        .string_or_default("unix.precision")
        .to_ascii_lowercase()
        .as_str()
    {
        "seconds" => 1_000i64,
        "microseconds" => -1_000,
        "nanoseconds" => -1_000_000,
        _ => 1,
    };
    Ok(Box::new(TimestampConverter {
        side,
        field: cfg.string_or_default("field").to_owned(),
        target,
        format,
        precision,
        replace_null_with_default: cfg.bool("replace.null.with.default"),
        cache: SchemaCache::default(),
    }))
}

struct TimestampConverter {
    side: Side,
    field: String,
    target: Kind,
    format: Option<DateFormat>,
    /// Positive: milliseconds per unit; negative: units per millisecond.
    precision: i64,
    replace_null_with_default: bool,
    cache: SchemaCache<SchemaRef, SchemaRef>,
}

fn kind_of_schema(schema: &Schema) -> Result<Kind> {
    Ok(match (schema.name(), schema.ty) {
        (Some(logical::TIMESTAMP), _) => Kind::Timestamp,
        (Some(logical::DATE), _) => Kind::Date,
        (Some(logical::TIME), _) => Kind::Time,
        (_, Type::String) => Kind::Str,
        (_, Type::Int64) => Kind::Unix,
        _ => {
            return Err(ConnectError::Data(format!(
                "Schema {schema:?} does not correspond to a known timestamp type format"
            )))
        }
    })
}

fn kind_of_value(value: &Value) -> Result<Kind> {
    match value {
        Value::Int64(_) => Ok(Kind::Unix),
        Value::String(_) => Ok(Kind::Str),
        other => Err(ConnectError::Data(format!(
            "TimestampConverter does not support class {} objects as timestamps",
            java_class(other)
        ))),
    }
}

impl TimestampConverter {
    fn type_schema(&self, optional: bool) -> SchemaRef {
        let b = match self.target {
            Kind::Str => SchemaBuilder::new(Type::String),
            Kind::Unix => SchemaBuilder::new(Type::Int64),
            Kind::Date => SchemaBuilder::date(),
            Kind::Time => SchemaBuilder::time(),
            Kind::Timestamp => SchemaBuilder::timestamp(),
        };
        if optional {
            b.optional().build()
        } else {
            b.build()
        }
    }

    fn to_millis(&self, value: &Value, kind: Kind) -> Result<i64> {
        let expected = |what: &str| {
            ConnectError::Data(format!(
                "Expected {what}, but found class {}",
                java_class(value)
            ))
        };
        match (kind, value) {
            (Kind::Str, Value::String(s)) => {
                let f = self.format.as_ref().ok_or_else(|| {
                    ConnectError::Data("TimestampConverter requires format option to be specified when using string timestamps".into())
                })?;
                f.parse(s).ok_or_else(|| {
                    ConnectError::Data(format!(
                        "Could not parse timestamp: value ({s}) does not match pattern ({})",
                        f.pattern()
                    ))
                })
            }
            (Kind::Str, _) => Err(expected("string timestamp to be a String")),
            (Kind::Unix, Value::Int64(v)) => Ok(if self.precision > 0 {
                v.saturating_mul(self.precision)
            } else {
                v / -self.precision
            }),
            (Kind::Unix, _) => Err(expected("Unix timestamp to be a Long")),
            (Kind::Date, Value::Int32(d)) => Ok(i64::from(*d) * MS_PER_DAY),
            (Kind::Date, _) => Err(expected("Date to be a java.util.Date")),
            (Kind::Time, Value::Int32(t)) => Ok(i64::from(*t)),
            (Kind::Time, _) => Err(expected("Time to be a java.util.Date")),
            (Kind::Timestamp, Value::Int64(t)) => Ok(*t),
            (Kind::Timestamp, _) => Err(expected("Timestamp to be a java.util.Date")),
        }
    }

    fn millis_to_target(&self, ms: i64) -> Result<Value> {
        Ok(match self.target {
            Kind::Str => Value::String(
                self.format
                    .as_ref()
                    .map(|f| f.format(ms))
                    .unwrap_or_default(),
            ),
            Kind::Unix => Value::Int64(if self.precision > 0 {
                ms / self.precision
            } else {
                ms.saturating_mul(-self.precision)
            }),
            Kind::Date => Value::Int32(i32::try_from(ms.div_euclid(MS_PER_DAY)).map_err(|_| {
                ConnectError::Data(format!("Timestamp {ms} is out of the range of Date"))
            })?),
            Kind::Time => Value::Int32(ms.rem_euclid(MS_PER_DAY) as i32),
            Kind::Timestamp => Value::Int64(ms),
        })
    }

    fn convert(&self, value: Value, kind: Option<Kind>) -> Result<Value> {
        if value.is_null() {
            return Ok(value);
        }
        let kind = match kind {
            Some(k) => k,
            None => kind_of_value(&value)?,
        };
        self.millis_to_target(self.to_millis(&value, kind)?)
    }

    fn updated_schema(&self, schema: &Schema) -> Result<SchemaRef> {
        let mut out = copy_basics(schema, Type::Struct);
        for f in &schema.fields {
            let fs = if f.name == self.field {
                self.type_schema(f.schema.optional)
            } else {
                f.schema.clone()
            };
            push_field(&mut out, f.name.clone(), fs);
        }
        out.optional = schema.optional;
        Ok(out.into())
    }
}

impl Transform for TimestampConverter {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let part = self.side.part_mut(&mut record);
        let value = std::mem::replace(&mut part.value, Value::Null);
        match part.schema.clone() {
            None if value.is_null() || self.field.is_empty() => {
                part.value = self.convert(value, None)?;
            }
            None => {
                let mut map = require_map(value, PURPOSE)?;
                let v = map_get(&map, &self.field).cloned().unwrap_or(Value::Null);
                map_put(&mut map, &self.field, self.convert(v, None)?);
                part.value = Value::Map(map);
            }
            Some(schema) if self.field.is_empty() => {
                part.value = self.convert(value, Some(kind_of_schema(&schema)?))?;
                part.schema = Some(self.type_schema(schema.optional));
            }
            Some(schema) => {
                let updated = match self.cache.get(&schema) {
                    Some(v) => v,
                    None => {
                        let v = self.updated_schema(&schema)?;
                        self.cache.insert(&schema, v.clone());
                        v
                    }
                };
                if !value.is_null() {
                    let s = require_struct(value, PURPOSE)?;
                    let in_schema = s.schema().clone();
                    let mut values = Vec::with_capacity(in_schema.fields.len());
                    for (f, v) in in_schema.fields.iter().zip(take_values(s)) {
                        let v = with_default(v, f, self.replace_null_with_default);
                        values.push(if f.name == self.field {
                            self.convert(v, Some(kind_of_schema(&f.schema)?))?
                        } else {
                            v
                        });
                    }
                    part.value = Value::Struct(new_struct(updated.clone(), values)?);
                }
                part.schema = Some(updated);
            }
        }
        Ok(Some(record))
    }
}
