//! Values matching [`Schema`]s. Logical types keep their physical representation
//! (Date is the `Int32` day count, Timestamp the `Int64` millisecond count) except
//! Decimal, which is a [`Decimal`] so connectors never hand-encode two's complement.

use std::fmt;

use num_bigint::BigInt;

use crate::error::{ConnectError, Result};
use crate::schema::{logical, Schema, SchemaRef, Type};

/// An arbitrary-precision decimal: `unscaled × 10^-scale`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal {
    /// The unscaled integer.
    pub unscaled: BigInt,
    /// Digits after the decimal point.
    pub scale: i32,
}

impl Decimal {
    /// Builds a decimal from its parts.
    pub fn new(unscaled: impl Into<BigInt>, scale: i32) -> Self {
        Decimal {
            unscaled: unscaled.into(),
            scale,
        }
    }

    /// Kafka Connect's wire form: the unscaled value as big-endian two's complement.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.unscaled.to_signed_bytes_be()
    }

    /// Reads Kafka Connect's wire form.
    pub fn from_bytes(bytes: &[u8], scale: i32) -> Self {
        Decimal {
            unscaled: BigInt::from_signed_bytes_be(bytes),
            scale,
        }
    }

    /// Parses decimal text (`-12.340`, `1E-10`, `1.5e+3`), keeping its scale as
    /// Java's `new BigDecimal(String)` does.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (mantissa, exp) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let unsigned = int.trim_start_matches(['+', '-']);
        if int.len() - unsigned.len() > 1
            || !unsigned.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (unsigned.is_empty() && frac.is_empty())
        {
            return None;
        }
        let unscaled: BigInt = format!("{int}{frac}").parse().ok()?;
        let scale = i32::try_from(frac.len()).ok()?.checked_sub(exp)?;
        Some(Decimal { unscaled, scale })
    }

    /// Java's `BigDecimal.toString`: plain unless the scale is negative or the
    /// adjusted exponent is below -6, then scientific (`1E-10`, `1.5E+3`).
    pub fn to_java_string(&self) -> String {
        let digits = self.unscaled.magnitude().to_string();
        let adjusted = -(self.scale as i64) + digits.len() as i64 - 1;
        if self.scale >= 0 && adjusted >= -6 {
            return self.to_string();
        }
        let sign = if self.unscaled.sign() == num_bigint::Sign::Minus {
            "-"
        } else {
            ""
        };
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if adjusted >= 0 { "+" } else { "" };
        format!("{sign}{first}{dot}{rest}E{exp_sign}{adjusted}")
    }

    /// This decimal rescaled to `scale` when that loses no digits.
    pub fn with_scale(&self, scale: i32) -> Option<Decimal> {
        use std::cmp::Ordering;
        match scale.cmp(&self.scale) {
            Ordering::Equal => Some(self.clone()),
            Ordering::Greater => {
                let factor = BigInt::from(10u8).pow((scale - self.scale) as u32);
                Some(Decimal::new(&self.unscaled * factor, scale))
            }
            Ordering::Less => {
                let factor = BigInt::from(10u8).pow((self.scale - scale) as u32);
                let zero = BigInt::from(0u8);
                if &self.unscaled % &factor != zero {
                    return None;
                }
                Some(Decimal::new(&self.unscaled / factor, scale))
            }
        }
    }
}

impl fmt::Display for Decimal {
    /// Plain notation, as Java's `BigDecimal.toPlainString`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.unscaled.magnitude().to_string();
        let sign = if self.unscaled.sign() == num_bigint::Sign::Minus {
            "-"
        } else {
            ""
        };
        if self.scale <= 0 {
            let zeros = if self.unscaled.magnitude().bits() == 0 {
                0
            } else {
                (-self.scale) as usize
            };
            return write!(f, "{sign}{digits}{}", "0".repeat(zeros));
        }
        let scale = self.scale as usize;
        if digits.len() > scale {
            let (i, d) = digits.split_at(digits.len() - scale);
            write!(f, "{sign}{i}.{d}")
        } else {
            write!(f, "{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

/// A struct value: its schema and one value per field, in field order.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    schema: SchemaRef,
    values: Vec<Value>,
}

impl Struct {
    /// An empty struct of `schema` (every field null).
    pub fn new(schema: SchemaRef) -> Self {
        let values = vec![Value::Null; schema.fields.len()];
        Struct { schema, values }
    }

    /// A struct from values already in field order. Fails when the count differs.
    pub fn from_values(schema: SchemaRef, values: Vec<Value>) -> Result<Self> {
        if values.len() != schema.fields.len() {
            return Err(ConnectError::Data(format!(
                "struct {} has {} fields but {} values were given",
                schema.name().unwrap_or("(unnamed)"),
                schema.fields.len(),
                values.len()
            )));
        }
        Ok(Struct { schema, values })
    }

    /// The struct's schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// True when this struct's schema is `schema`: the same allocation (the common
    /// case, checked first) or an equal one.
    pub fn has_schema(&self, schema: &Schema) -> bool {
        std::ptr::eq(self.schema.as_ref(), schema) || self.schema.as_ref() == schema
    }

    /// Values in field order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The values in field order, consuming the struct (lets a transform reuse the vector).
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The schema and the values, consuming the struct.
    pub fn into_parts(self) -> (SchemaRef, Vec<Value>) {
        (self.schema, self.values)
    }

    /// Values in field order, mutable.
    pub fn values_mut(&mut self) -> &mut [Value] {
        &mut self.values
    }

    /// A field's value by name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.schema.field(name).map(|f| &self.values[f.index])
    }

    /// Sets a field by name; fails when the schema has no such field.
    pub fn put(&mut self, name: &str, value: impl Into<Value>) -> Result<&mut Self> {
        let Some(field) = self.schema.field(name) else {
            return Err(ConnectError::Data(format!(
                "{name} is not a field of struct {}",
                self.schema.name().unwrap_or("(unnamed)")
            )));
        };
        self.values[field.index] = value.into();
        Ok(self)
    }

    /// Sets a field by name, builder style; panics only on a programming error
    /// (a field name that is not in the schema the caller built).
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        if let Err(e) = self.put(name, value) {
            panic!("Struct::with: {e}");
        }
        self
    }
}

/// A value of any Kafka Connect type.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Value {
    #[default]
    Null,
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    Boolean(bool),
    String(String),
    Bytes(Vec<u8>),
    /// A `Decimal` logical value (physical type bytes).
    Decimal(Decimal),
    Array(Vec<Value>),
    /// Entries in insertion order.
    Map(Vec<(Value, Value)>),
    Struct(Struct),
}

impl Value {
    /// True for `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A short name of the variant for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int8(_) => "int8",
            Value::Int16(_) => "int16",
            Value::Int32(_) => "int32",
            Value::Int64(_) => "int64",
            Value::Float32(_) => "float32",
            Value::Float64(_) => "float64",
            Value::Boolean(_) => "boolean",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Decimal(_) => "decimal",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Struct(_) => "struct",
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Checks the value against a schema, as Kafka Connect's `ConnectSchema.validateValue`.
    pub fn validate(&self, schema: &Schema) -> Result<()> {
        let mismatch = || {
            ConnectError::Data(format!(
                "invalid value: a {} does not fit schema type {}{}",
                self.kind(),
                schema.ty.json_name(),
                schema
                    .name()
                    .map(|n| format!(" (name {n})"))
                    .unwrap_or_default()
            ))
        };
        match (self, schema.ty) {
            (Value::Null, _) => {
                if schema.optional || schema.default.is_some() {
                    Ok(())
                } else {
                    Err(ConnectError::Data(format!(
                        "invalid value: null for a required {} field{}",
                        schema.ty.json_name(),
                        schema.name().map(|n| format!(" ({n})")).unwrap_or_default()
                    )))
                }
            }
            (Value::Int8(_), Type::Int8)
            | (Value::Int16(_), Type::Int16)
            | (Value::Int32(_), Type::Int32)
            | (Value::Int64(_), Type::Int64)
            | (Value::Float32(_), Type::Float32)
            | (Value::Float64(_), Type::Float64)
            | (Value::Boolean(_), Type::Boolean)
            | (Value::String(_), Type::String) => Ok(()),
            (Value::Bytes(_), Type::Bytes) if schema.name() != Some(logical::DECIMAL) => Ok(()),
            (Value::Decimal(_), Type::Bytes) if schema.name() == Some(logical::DECIMAL) => Ok(()),
            (Value::Array(items), Type::Array) => {
                let item_schema = schema.value_schema.as_ref().ok_or_else(mismatch)?;
                items.iter().try_for_each(|v| v.validate(item_schema))
            }
            (Value::Map(entries), Type::Map) => {
                let ks = schema.key_schema.as_ref().ok_or_else(mismatch)?;
                let vs = schema.value_schema.as_ref().ok_or_else(mismatch)?;
                entries.iter().try_for_each(|(k, v)| {
                    k.validate(ks)?;
                    v.validate(vs)
                })
            }
            (Value::Struct(s), Type::Struct) => {
                if !s.has_schema(schema) {
                    return Err(ConnectError::Data(format!(
                        "struct schema {} does not match the field's schema {}",
                        s.schema().name().unwrap_or("(unnamed)"),
                        schema.name().unwrap_or("(unnamed)")
                    )));
                }
                for (field, value) in schema.fields.iter().zip(s.values()) {
                    value
                        .validate(&field.schema)
                        .map_err(|e| ConnectError::Data(format!("field {}: {e}", field.name)))?;
                }
                Ok(())
            }
            _ => Err(mismatch()),
        }
    }
}

macro_rules! from_impl {
    ($($t:ty => $v:ident),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(x: $t) -> Self {
                Value::$v(x)
            }
        })*
    };
}

from_impl!(i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64, f32 => Float32, f64 => Float64,
    bool => Boolean, String => String, Vec<u8> => Bytes, Decimal => Decimal, Struct => Struct);

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_round_trips() {
        for s in [
            "0",
            "-1.50",
            "123456789012345678901234567890.000001",
            "0.0001",
            "-0.5",
        ] {
            let d = Decimal::parse(s).expect("parse");
            assert_eq!(d.to_string(), s);
            assert_eq!(Decimal::from_bytes(&d.to_bytes(), d.scale), d);
        }
        assert_eq!(Decimal::new(5, -2).to_string(), "500");
        assert_eq!(Decimal::new(5, -2).to_java_string(), "5E+2");
        assert_eq!(Decimal::new(1, 10).to_java_string(), "1E-10");
        assert_eq!(Decimal::new(-15, 8).to_java_string(), "-1.5E-7");
        assert_eq!(Decimal::new(100, 2).to_java_string(), "1.00");
        assert_eq!(Decimal::new(1, 6).to_java_string(), "0.000001");
        assert!(Decimal::parse("1.-2").is_none());
        assert!(Decimal::parse("abc").is_none());
        assert!(Decimal::parse("--1").is_none());
        for s in ["5E+2", "1E-10", "-1.5E-7"] {
            assert_eq!(Decimal::parse(s).expect("parse").to_java_string(), s);
        }
    }

    #[test]
    fn decimal_rescale() {
        let d = Decimal::parse("1.50").expect("parse");
        assert_eq!(d.with_scale(3).map(|d| d.to_string()), Some("1.500".into()));
        assert_eq!(d.with_scale(1).map(|d| d.to_string()), Some("1.5".into()));
        assert_eq!(d.with_scale(0), None);
    }
}
