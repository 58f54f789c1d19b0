//! Kafka Connect's default header converter (`SimpleHeaderConverter`): strings as
//! UTF-8, other values as their text; read back as strings.

use sluice_core::plugin::Converter;
use sluice_core::{ConnectError, SchemaAndValue};

use crate::string::{text_of, StringConverter};

/// Header values as text.
#[derive(Debug, Default)]
pub struct SimpleHeaderConverter {
    strings: StringConverter,
}

impl Converter for SimpleHeaderConverter {
    fn from_connect(
        &self,
        _topic: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Vec<u8>>, ConnectError> {
        Ok(text_of(&data.value)?.map(String::into_bytes))
    }

    fn to_connect(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConnectError> {
        self.strings.to_connect(topic, bytes)
    }
}
