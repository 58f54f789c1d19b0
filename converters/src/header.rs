//! Kafka Connect's default header converter (`SimpleHeaderConverter`): strings as
//! UTF-8, other values as their text; read back as strings. It writes what
//! `StringConverter` writes.

use sluice_core::plugin::Converter;
use sluice_core::{ConnectError, SchemaAndValue};

use crate::string::StringConverter;

/// Header values as text.
#[derive(Debug, Default)]
pub struct SimpleHeaderConverter {
    strings: StringConverter,
}

impl Converter for SimpleHeaderConverter {
    fn from_connect(
        &self,
        topic: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Vec<u8>>, ConnectError> {
        self.strings.from_connect(topic, data)
    }

    fn to_connect(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConnectError> {
        self.strings.to_connect(topic, bytes)
    }
}
