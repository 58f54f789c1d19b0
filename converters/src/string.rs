//! Kafka Connect's `StringConverter`: values as UTF-8 text.

use sluice_core::plugin::Converter;
use sluice_core::schema::{Schema, Type};
use sluice_core::{ConnectError, SchemaAndValue, SchemaRef, Value};

use crate::json::{write_value, WriteOptions};

/// Writes a value's text form; reads bytes as an optional string.
#[derive(Debug)]
pub struct StringConverter {
    schema: SchemaRef,
}

impl Default for StringConverter {
    fn default() -> Self {
        StringConverter {
            schema: Schema::primitive(Type::String, true),
        }
    }
}

/// A value's text, as Java's `toString` gives it for primitives; JSON for the rest.
fn text_of(value: &Value) -> Result<Option<String>, ConnectError> {
    Ok(match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Decimal(d) => Some(d.to_string()),
        other => {
            let mut out = Vec::new();
            write_value(
                &mut out,
                None,
                other,
                WriteOptions {
                    decimal_numeric: true,
                    replace_null_with_default: true,
                },
            )?;
            Some(String::from_utf8_lossy(&out).into_owned())
        }
    })
}

impl Converter for StringConverter {
    fn from_connect(
        &self,
        _topic: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Vec<u8>>, ConnectError> {
        Ok(text_of(&data.value)?.map(String::into_bytes))
    }

    fn to_connect(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConnectError> {
        Ok(match bytes {
            None => SchemaAndValue {
                schema: Some(self.schema.clone()),
                value: Value::Null,
            },
            Some(b) => {
                let s = std::str::from_utf8(b).map_err(|e| {
                    ConnectError::BadRecord(format!("StringConverter: bytes are not UTF-8: {e}"))
                })?;
                SchemaAndValue::new(self.schema.clone(), s)
            }
        })
    }
}
