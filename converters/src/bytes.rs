//! Kafka Connect's `ByteArrayConverter`: bytes pass through unchanged.

use sluice_core::plugin::Converter;
use sluice_core::schema::{Schema, Type};
use sluice_core::{ConnectError, SchemaAndValue, SchemaRef, Value};

/// Passes `bytes` values through; reads bytes as an optional bytes value.
#[derive(Debug)]
pub struct ByteArrayConverter {
    schema: SchemaRef,
}

impl Default for ByteArrayConverter {
    fn default() -> Self {
        ByteArrayConverter {
            schema: Schema::primitive(Type::Bytes, true),
        }
    }
}

impl Converter for ByteArrayConverter {
    fn from_connect(
        &self,
        _topic: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Vec<u8>>, ConnectError> {
        if let Some(s) = &data.schema {
            if s.ty != Type::Bytes {
                return Err(ConnectError::BadRecord(format!(
                    "Invalid schema type for ByteArrayConverter: {}",
                    s.ty.json_name()
                )));
            }
        }
        match &data.value {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.clone())),
            other => Err(ConnectError::BadRecord(format!(
                "ByteArrayConverter is not compatible with objects of type {}",
                other.kind()
            ))),
        }
    }

    fn to_connect(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConnectError> {
        Ok(SchemaAndValue {
            schema: Some(self.schema.clone()),
            value: bytes.map_or(Value::Null, |b| Value::Bytes(b.to_vec())),
        })
    }
}
