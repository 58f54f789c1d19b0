//! Confluent's `ProtobufConverter`: Connect data ↔ Schema Registry–framed Protobuf.
//!
//! Writing: the record's Connect schema becomes a proto3 file as Confluent's
//! `ProtobufData.fromConnectSchema` builds it ([`schema`] has the mapping table); the file
//! is registered once per subject (`schemaType: PROTOBUF`) and every record after that is
//! encoded straight from Connect values to wire bytes by a precompiled plan ([`encode`]),
//! behind Confluent's framing: `0x00`, the 4-byte id, message indexes `[0]` as the single
//! byte `0x00` ([`wire`]). The schema text, plan and id are cached per schema `Arc` and
//! topic, so the per-record path does no registry call, no hashing of schema text, and
//! no allocation beyond the output buffer.
//!
//! Reading: the writer schema is fetched by id (cached), compiled with protox
//! ([`descriptor`]), the message type picked by the message indexes, and the body decoded
//! with prost-reflect into the Connect schema and value Confluent's
//! `ProtobufData.toConnectData` would produce ([`decode`]).
//!
//! Imports of known types (`confluent/type/decimal.proto`, `google/type/*.proto`,
//! `google/protobuf/*.proto`, `confluent/meta.proto`) are not registered as references,
//! as Confluent's serializer does with its default `skip.known.types=true`; readers resolve
//! them from built-in copies. Root schemas must be structs (Confluent wraps primitive roots
//! in `google.protobuf.*Value`; that is not implemented and is refused with a message).

mod calendar;
pub mod decode;
pub mod descriptor;
pub mod encode;
pub mod schema;
#[cfg(test)]
mod tests;
pub mod wire;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use prost_reflect::{DescriptorPool, MessageDescriptor};
use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::Converter;
use sluice_core::{ConnectError, SchemaAndValue, SchemaRef, Value};

use crate::registry::{
    config_keys, RegistryClient, RegistryError, RegistrySchema, RegistrySettings, SchemaType,
};

pub use decode::ReadSettings;
pub use schema::{generate, Generated, Settings};

/// What can go wrong converting Protobuf.
#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    /// A Connect or writer schema has no Protobuf / Connect form.
    #[error("{0}")]
    Schema(String),
    /// A value does not fit its schema.
    #[error("{0}")]
    Value(String),
    /// The bytes are not a framed Protobuf record of the writer schema.
    #[error("{0}")]
    Wire(String),
    /// The schema registry failed.
    #[error(transparent)]
    Registry(Box<RegistryError>),
}

impl From<RegistryError> for ProtobufError {
    fn from(e: RegistryError) -> Self {
        ProtobufError::Registry(Box::new(e))
    }
}

impl ProtobufError {
    /// Prefixes the error with the field it happened in (`at after.price: …`).
    pub fn in_field(self, name: &str) -> Self {
        let wrap = |msg: String| match msg.strip_prefix("at ") {
            Some(rest) if rest.starts_with('[') => format!("at {name}{rest}"),
            Some(rest) => format!("at {name}.{rest}"),
            None => format!("at {name}: {msg}"),
        };
        match self {
            ProtobufError::Schema(m) => ProtobufError::Schema(wrap(m)),
            ProtobufError::Value(m) => ProtobufError::Value(wrap(m)),
            other => other,
        }
    }

    fn into_connect(self, context: &str) -> ConnectError {
        match self {
            ProtobufError::Registry(e) => (*e).into(),
            ProtobufError::Schema(m) | ProtobufError::Value(m) => {
                ConnectError::Data(format!("{context}: {m}"))
            }
            ProtobufError::Wire(m) => ConnectError::BadRecord(format!("{context}: {m}")),
        }
    }
}

const CACHE_SIZE: &str = "schemas.cache.config";
const ENHANCED: &str = "enhanced.protobuf.schema.support";
const SCRUB: &str = "scrub.invalid.names";
const INT_FOR_ENUMS: &str = "int.for.enums";
const OPTIONAL_FOR_NULLABLES: &str = "optional.for.nullables";
const WRAPPER_FOR_NULLABLES: &str = "wrapper.for.nullables";
const SKIP_KNOWN_TYPES: &str = "skip.known.types";

/// Config keys of the Protobuf converter: Confluent's `ProtobufDataConfig` keys we
/// implement, `skip.known.types`, and the schema registry keys.
pub fn config_def() -> ConfigDef {
    let flag = |name: &'static str, default: &'static str, doc: &'static str| {
        ConfigKey::new(name, ConfigType::Boolean)
            .default(default)
            .importance(Importance::Medium)
            .doc(doc)
    };
    config_keys(
        ConfigDef::new()
            .define(
                ConfigKey::new("converter.type", ConfigType::String)
                    .optional()
                    .importance(Importance::Low)
                    .doc("How this converter will be used: key, value or header.")
                    .validator(Validator::OneOf(&["key", "value", "header"])),
            )
            .define(
                ConfigKey::new(CACHE_SIZE, ConfigType::Int)
                    .default("1000")
                    .importance(Importance::Low)
                    .doc("Size of the converted schemas cache")
                    .validator(Validator::Range { min: Some(1), max: None }),
            )
            .define(flag(ENHANCED, "false", "Toggle for enabling/disabling enhanced protobuf schema support: package name preservation"))
            .define(flag(SCRUB, "false", "Whether to scrub invalid names by replacing invalid characters with valid ones"))
            .define(flag(INT_FOR_ENUMS, "false", "Whether to represent enums as integers"))
            .define(flag(OPTIONAL_FOR_NULLABLES, "false", "Whether nullable fields should be specified with an optional label"))
            .define(flag(WRAPPER_FOR_NULLABLES, "false", "Whether nullable fields should use primitive wrapper messages"))
            .define(flag(SKIP_KNOWN_TYPES, "true", "Whether to skip known types when resolving schema dependencies. Only true is supported: known types (google/protobuf, google/type, confluent/type/decimal.proto, confluent/meta.proto) are never registered as references.")),
    )
}

/// A Connect schema's generated Protobuf schema and the ids it has been given.
struct WriteEntry {
    /// Keeps the schema alive so its address (the cache key) is not reused.
    _schema: SchemaRef,
    generated: Generated,
    registry_schema: RegistrySchema,
    /// Schema id per topic (the subject depends on the topic).
    ids: Mutex<Vec<(String, i32)>>,
}

/// Schema id and message indexes.
type ReadKey = (i32, Vec<i32>);

/// A writer schema's message type and its Connect schema.
struct ReadEntry {
    message: MessageDescriptor,
    schema: SchemaRef,
}

/// Confluent's Protobuf converter.
pub struct ProtobufConverter {
    registry: RegistryClient,
    settings: Settings,
    read: ReadSettings,
    cache_size: usize,
    written: Mutex<HashMap<usize, Arc<WriteEntry>>>,
    pools: Mutex<HashMap<i32, DescriptorPool>>,
    read_entries: Mutex<HashMap<ReadKey, Arc<ReadEntry>>>,
    size_hint: AtomicUsize,
}

impl std::fmt::Debug for ProtobufConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtobufConverter")
            .field("settings", &self.settings)
            .field("read", &self.read)
            .field("registry", self.registry.settings())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ProtobufConverter {
    /// A converter from its config (keys without the `key.converter.` / `value.converter.` prefix).
    pub fn new(config: &ConfigMap) -> Result<Self, ConnectError> {
        let parsed = config_def()
            .parse(config)
            .map_err(|e| ConnectError::Fatal(format!("ProtobufConverter: {e}")))?;
        if !parsed.bool(SKIP_KNOWN_TYPES) {
            return Err(ConnectError::config(
                SKIP_KNOWN_TYPES,
                "false",
                "only true is supported: known types are resolved from built-in copies and never registered as references",
            ));
        }
        let registry = RegistryClient::new(&RegistrySettings::from_config(config)?)?;
        Ok(ProtobufConverter {
            registry,
            settings: Settings {
                optional_for_nullables: parsed.bool(OPTIONAL_FOR_NULLABLES),
                wrapper_for_nullables: parsed.bool(WRAPPER_FOR_NULLABLES),
                scrub_invalid_names: parsed.bool(SCRUB),
            },
            read: ReadSettings {
                optional_for_nullables: parsed.bool(OPTIONAL_FOR_NULLABLES),
                wrapper_for_nullables: parsed.bool(WRAPPER_FOR_NULLABLES),
                int_for_enums: parsed.bool(INT_FOR_ENUMS),
                enhanced_schema_support: parsed.bool(ENHANCED),
            },
            cache_size: usize::try_from(parsed.long(CACHE_SIZE)).unwrap_or(1000),
            written: Mutex::new(HashMap::new()),
            pools: Mutex::new(HashMap::new()),
            read_entries: Mutex::new(HashMap::new()),
            size_hint: AtomicUsize::new(128),
        })
    }

    /// The registry client (its `http_calls` counter proves the per-record path is free of HTTP).
    pub fn registry(&self) -> &RegistryClient {
        &self.registry
    }

    fn write_entry(&self, schema: &SchemaRef) -> Result<Arc<WriteEntry>, ProtobufError> {
        let key = Arc::as_ptr(schema) as usize;
        if let Some(e) = lock(&self.written).get(&key) {
            return Ok(e.clone());
        }
        let generated = generate(schema, self.settings)?;
        let registry_schema = RegistrySchema {
            schema_type: SchemaType::Protobuf,
            schema: generated.text(),
            references: Vec::new(),
        };
        tracing::debug!(message = %generated.full_name, "generated Protobuf schema");
        let entry = Arc::new(WriteEntry {
            _schema: schema.clone(),
            generated,
            registry_schema,
            ids: Mutex::new(Vec::new()),
        });
        let mut cache = lock(&self.written);
        if cache.len() >= self.cache_size {
            cache.clear();
        }
        cache.insert(key, entry.clone());
        Ok(entry)
    }

    fn schema_id(&self, entry: &WriteEntry, topic: &str) -> Result<i32, ProtobufError> {
        if let Some((_, id)) = lock(&entry.ids).iter().find(|(t, _)| t == topic) {
            return Ok(*id);
        }
        let settings = self.registry.settings();
        let subject = settings.subject(topic, &entry.generated.full_name);
        let id = if settings.use_latest_version && !settings.auto_register {
            let (id, latest) = self.registry.latest(&subject)?;
            if latest.schema != entry.registry_schema.schema {
                return Err(ProtobufError::Schema(format!(
                    "use.latest.version: the latest schema of subject {subject} (id {id}) differs from the schema generated for this record; writing records with another schema than their own is not supported, register the generated schema or set use.latest.version=false"
                )));
            }
            id
        } else {
            self.registry.register(&subject, &entry.registry_schema)?
        };
        lock(&entry.ids).push((topic.to_owned(), id));
        Ok(id)
    }

    fn read_entry(&self, id: i32, indexes: &[i32]) -> Result<Arc<ReadEntry>, ProtobufError> {
        let key = (id, indexes.to_vec());
        if let Some(e) = lock(&self.read_entries).get(&key) {
            return Ok(e.clone());
        }
        let pool = self.pool(id)?;
        let message = descriptor::message_at(&pool, indexes)?;
        let schema = decode::connect_schema(&message, self.read)?;
        let entry = Arc::new(ReadEntry { message, schema });
        let mut cache = lock(&self.read_entries);
        if cache.len() >= self.cache_size {
            cache.clear();
        }
        cache.insert(key, entry.clone());
        Ok(entry)
    }

    fn pool(&self, id: i32) -> Result<DescriptorPool, ProtobufError> {
        if let Some(p) = lock(&self.pools).get(&id) {
            return Ok(p.clone());
        }
        let writer = self.registry.schema_by_id(id)?;
        if writer.schema_type != SchemaType::Protobuf {
            return Err(ProtobufError::Schema(format!(
                "schema id {id} is a {} schema, not PROTOBUF; read this topic with the matching converter",
                writer.schema_type.wire_name()
            )));
        }
        if let Some(r) = writer
            .references
            .iter()
            .find(|r| !descriptor::is_known_import(&r.name))
        {
            return Err(ProtobufError::Schema(format!(
                "schema id {id} imports {} (subject {} version {}); schemas with references to other registered files are not supported yet, only known types (google/protobuf, google/type, confluent) can be imported",
                r.name, r.subject, r.version
            )));
        }
        let pool = descriptor::compile(&writer.schema, HashMap::new())
            .map_err(|e| ProtobufError::Schema(format!("schema id {id}: {e}")))?;
        let mut cache = lock(&self.pools);
        if cache.len() >= self.cache_size {
            cache.clear();
        }
        cache.insert(id, pool.clone());
        Ok(pool)
    }
}

/// Frames and encodes one struct value: header for `schema_id`, then the message body.
pub fn encode_record(
    generated: &Generated,
    schema_id: i32,
    value: &Value,
    out: &mut Vec<u8>,
) -> Result<(), ProtobufError> {
    let Value::Struct(s) = value else {
        return Err(ProtobufError::Value(format!(
            "the ProtobufConverter writes structs, not a {} value",
            value.kind()
        )));
    };
    wire::write_header(out, schema_id, &[0]);
    encode::encode_message(&generated.plan, s, out)
}

impl Converter for ProtobufConverter {
    fn from_connect(
        &self,
        topic: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Vec<u8>>, ConnectError> {
        if data.value.is_null() {
            return Ok(None);
        }
        let context = || {
            format!("Converting Kafka Connect data to byte[] failed due to serialization error of topic {topic}")
        };
        let Some(schema) = &data.schema else {
            return Err(ConnectError::Data(format!(
                "{}: the ProtobufConverter needs a schema; the record has a schemaless {} value",
                context(),
                data.value.kind()
            )));
        };
        let result = (|| {
            let entry = self.write_entry(schema)?;
            let id = self.schema_id(&entry, topic)?;
            let mut out = Vec::with_capacity(self.size_hint.load(Ordering::Relaxed));
            encode_record(&entry.generated, id, &data.value, &mut out)?;
            Ok(out)
        })();
        let out = result.map_err(|e: ProtobufError| e.into_connect(&context()))?;
        self.size_hint.store(out.len() + 32, Ordering::Relaxed);
        Ok(Some(out))
    }

    fn to_connect(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConnectError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::NULL);
        };
        let result = (|| {
            let header = wire::read_header(bytes)?;
            let entry = self.read_entry(header.schema_id, &header.indexes)?;
            let value =
                decode::decode_value(&entry.message, &entry.schema, &bytes[header.body_start..])?;
            Ok(SchemaAndValue::new(entry.schema.clone(), value))
        })();
        result.map_err(|e: ProtobufError| {
            e.into_connect(&format!(
                "Converting byte[] to Kafka Connect data failed due to serialization error of topic {topic}"
            ))
        })
    }
}
