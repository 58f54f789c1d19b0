//! Kafka Connect's `JsonConverter`, byte for byte.
//!
//! With `schemas.enable=true` each message is `{"schema":…,"payload":…}`; without, the
//! payload alone. The schema JSON of a given `Arc<Schema>` is rendered once and cached
//! (`schemas.cache.size`), so a table's records after the first copy cached bytes
//! instead of walking the schema; reading caches parsed schemas by their JSON text.

pub(crate) mod java_float;
mod read;
mod write;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::value::RawValue;
use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::Converter;
use sluice_core::{ConnectError, SchemaAndValue, SchemaRef};

pub use read::{
    read_schema, read_schema_with, read_schemaless, read_value, read_value_with, ReadOptions,
};
pub use write::{write_schema, write_str, write_value, WriteOptions};

/// Config keys of the JSON converter.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("converter.type", ConfigType::String)
                .optional()
                .importance(Importance::Low)
                .doc("How this converter will be used: key, value or header.")
                .validator(Validator::OneOf(&["key", "value", "header"])),
        )
        .define(
            ConfigKey::new("schemas.enable", ConfigType::Boolean)
                .default("true")
                .importance(Importance::High)
                .doc("Include schemas within each of the serialized values and keys.")
                .display("Enable Schemas"),
        )
        .define(
            ConfigKey::new("schemas.cache.size", ConfigType::Int)
                .default("1000")
                .importance(Importance::High)
                .doc("The maximum number of schemas that can be cached in this converter instance.")
                .validator(Validator::Range { min: Some(0), max: None })
                .display("Schema Cache Size"),
        )
        .define(
            ConfigKey::new("decimal.format", ConfigType::String)
                .default("BASE64")
                .importance(Importance::Low)
                .doc("Controls which format this converter will serialize decimals in: BASE64 (base64-encoded unscaled bytes) or NUMERIC (a JSON number).")
                .validator(Validator::OneOf(&["BASE64", "NUMERIC"]))
                .display("Decimal Format"),
        )
        .define(
            ConfigKey::new("replace.null.with.default", ConfigType::Boolean)
                .default("true")
                .importance(Importance::Low)
                .doc("Whether to replace fields that have a default value and that are null to the default value.")
                .display("Replace null with default"),
        )
}

/// A schema kept alive with its rendered JSON.
type CachedSchemaJson = (SchemaRef, Arc<[u8]>);

/// Kafka Connect's JSON converter.
pub struct JsonConverter {
    schemas_enable: bool,
    opts: WriteOptions,
    cache_size: usize,
    /// Schema JSON per schema `Arc` (keyed by address; the entry keeps the `Arc` alive so
    /// the address cannot be reused while cached).
    written: Mutex<HashMap<usize, CachedSchemaJson>>,
    /// Capacity for the next output buffer (the last output's size).
    size_hint: AtomicUsize,
    /// Parsed schema per schema JSON text.
    parsed: Mutex<HashMap<Box<str>, SchemaRef>>,
}

impl std::fmt::Debug for JsonConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonConverter")
            .field("schemas_enable", &self.schemas_enable)
            .field("opts", &self.opts)
            .finish()
    }
}

impl JsonConverter {
    /// A converter from its config (keys without the `key.converter.` / `value.converter.` prefix).
    pub fn new(config: &ConfigMap) -> Result<Self, ConnectError> {
        let parsed = config_def()
            .parse(config)
            .map_err(|e| ConnectError::Fatal(format!("JsonConverter: {e}")))?;
        Ok(JsonConverter {
            schemas_enable: parsed.bool("schemas.enable"),
            opts: WriteOptions {
                decimal_numeric: parsed
                    .string_or_default("decimal.format")
                    .eq_ignore_ascii_case("NUMERIC"),
                replace_null_with_default: parsed.bool("replace.null.with.default"),
            },
            cache_size: usize::try_from(parsed.long("schemas.cache.size")).unwrap_or(0),
            written: Mutex::new(HashMap::new()),
            size_hint: AtomicUsize::new(256),
            parsed: Mutex::new(HashMap::new()),
        })
    }

    /// A converter with `schemas.enable` set and every other key at its default.
    pub fn with_schemas(enable: bool) -> Self {
        let mut config = BTreeMap::new();
        config.insert("schemas.enable".to_owned(), enable.to_string());
        match Self::new(&config) {
            Ok(c) => c,
            Err(e) => unreachable!("default JsonConverter config is valid: {e}"),
        }
    }

    fn schema_json(&self, schema: &SchemaRef) -> Result<Arc<[u8]>, ConnectError> {
        let key = Arc::as_ptr(schema) as usize;
        let mut cache = self.written.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, bytes)) = cache.get(&key) {
            return Ok(bytes.clone());
        }
        let mut out = Vec::with_capacity(256);
        write_schema(&mut out, schema, self.opts)?;
        let bytes: Arc<[u8]> = out.into();
        if self.cache_size > 0 {
            if cache.len() >= self.cache_size {
                cache.clear();
            }
            cache.insert(key, (schema.clone(), bytes.clone()));
        }
        Ok(bytes)
    }

    fn read_opts(&self) -> ReadOptions {
        ReadOptions {
            replace_null_with_default: self.opts.replace_null_with_default,
        }
    }

    fn schema_from_json(&self, raw: &RawValue) -> Result<SchemaRef, ConnectError> {
        let text = raw.get();
        let mut cache = self.parsed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = cache.get(text) {
            return Ok(s.clone());
        }
        let json: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ConnectError::Data(format!("invalid schema JSON: {e}")))?;
        let schema = read_schema_with(self.read_opts(), &json)?;
        if self.cache_size > 0 {
            if cache.len() >= self.cache_size {
                cache.clear();
            }
            cache.insert(text.into(), schema.clone());
        }
        Ok(schema)
    }
}

const ENVELOPE_HELP: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";

impl Converter for JsonConverter {
    fn from_connect(
        &self,
        _topic: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Vec<u8>>, ConnectError> {
        if data.schema.is_none() && data.value.is_null() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(self.size_hint.load(Ordering::Relaxed));
        if self.schemas_enable {
            out.extend_from_slice(b"{\"schema\":");
            match &data.schema {
                Some(s) => out.extend_from_slice(&self.schema_json(s)?),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"payload\":");
            write_value(&mut out, data.schema.as_deref(), &data.value, self.opts)?;
            out.push(b'}');
        } else {
            write_value(&mut out, data.schema.as_deref(), &data.value, self.opts)?;
        }
        // The next record is likely the same size: allocate once instead of growing.
        self.size_hint.store(out.len() + 64, Ordering::Relaxed);
        Ok(Some(out))
    }

    fn to_connect(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConnectError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::NULL);
        };
        if !self.schemas_enable {
            let json: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
                ConnectError::BadRecord(format!("Converting byte[] to Kafka Connect data failed due to serialization error: {e}"))
            })?;
            return Ok(SchemaAndValue::schemaless(read_schemaless(&json)));
        }
        let envelope: BTreeMap<String, &RawValue> = serde_json::from_slice(bytes).map_err(|e| {
            ConnectError::BadRecord(format!(
                "Converting byte[] to Kafka Connect data failed due to serialization error: {e}. {ENVELOPE_HELP}"
            ))
        })?;
        let (Some(schema), Some(payload), 2) = (
            envelope.get("schema"),
            envelope.get("payload"),
            envelope.len(),
        ) else {
            return Err(ConnectError::BadRecord(ENVELOPE_HELP.into()));
        };
        let payload: serde_json::Value = serde_json::from_str(payload.get())
            .map_err(|e| ConnectError::BadRecord(format!("invalid payload JSON: {e}")))?;
        if schema.get() == "null" {
            return Ok(SchemaAndValue::schemaless(read_schemaless(&payload)));
        }
        let schema = self.schema_from_json(schema)?;
        let value = read_value_with(self.read_opts(), Some(&schema), &payload)?;
        Ok(SchemaAndValue {
            schema: Some(schema),
            value,
        })
    }
}

#[cfg(test)]
mod tests;
