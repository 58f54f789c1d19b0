//! Confluent's `AvroConverter`: Connect data ↔ Avro in the Schema Registry wire format.
//!
//! A message is byte 0x00, the schema id as a 4-byte big-endian integer, then the Avro
//! binary encoding of the value. Writing, the Avro schema of a Connect schema (Confluent's
//! `AvroData.fromConnectSchema`, in `from_connect`) is rendered and registered once per
//! schema `Arc` and topic — the id is cached by the `Arc`'s address, which the entry keeps
//! alive so it cannot be reused — and the value is encoded straight from the Connect schema
//! (`encode`), so a record after the first costs a read-locked map lookup and the encoding.
//! Reading, the writer schema is fetched by id once, parsed (`node`), turned into a
//! Connect schema (`to_connect`), cached by id, and the bytes decoded against both
//! (`decode`). A Kafka null is a tombstone both ways.

mod decode;
mod encode;
mod from_connect;
mod node;
mod to_connect;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::Converter;
use sluice_core::{ConnectError, SchemaAndValue, SchemaRef};

use crate::registry::{self, RegistryClient, RegistrySchema, RegistrySettings, SchemaType};

pub use encode::EncodeOptions;
pub use from_connect::Options as SchemaOptions;

/// Confluent's namespace for names it makes up.
pub(crate) const NAMESPACE: &str = "io.confluent.connect.avro";
/// The Connect parameter naming an Avro enum (its symbols follow as `<param>.<symbol>`).
pub(crate) const AVRO_ENUM_PARAM: &str = "io.confluent.connect.avro.Enum";
/// Marks a named map-entry record.
pub(crate) const CONNECT_INTERNAL_TYPE: &str = "connect.internal.type";
/// A Decimal's precision, as a Connect parameter.
pub(crate) const DECIMAL_PRECISION_PARAM: &str = "connect.decimal.precision";
/// Precision written when a Decimal has none.
pub(crate) const DECIMAL_PRECISION_DEFAULT: i32 = 64;
/// Marks a Connect default that came from an Avro field default.
pub(crate) const FIELD_DEFAULT_FLAG: &str = "io.confluent.connect.avro.field.default";

/// Config keys of the Avro converter: its own plus the registry client's.
pub fn config_def() -> ConfigDef {
    let def = ConfigDef::new()
        .define(
            ConfigKey::new("converter.type", ConfigType::String)
                .optional()
                .importance(Importance::Low)
                .doc("How this converter will be used: key, value or header.")
                .validator(Validator::OneOf(&["key", "value", "header"])),
        )
        .define(
            ConfigKey::new("schemas.cache.config", ConfigType::Int)
                .default("1000")
                .importance(Importance::Low)
                .doc("Size of the converted schemas cache")
                .validator(Validator::Range { min: Some(0), max: None }),
        )
        .define(
            ConfigKey::new("enhanced.avro.schema.support", ConfigType::Boolean)
                .default("false")
                .importance(Importance::Low)
                .doc("Enable enhanced schema support to preserve package information and Enums"),
        )
        .define(
            ConfigKey::new("connect.meta.data", ConfigType::Boolean)
                .default("true")
                .importance(Importance::Low)
                .doc("Allow the Connect converter to add its metadata to the output schema"),
        )
        .not_needed(
            "schemas.enable",
            "AvroConverter always writes the schema to the registry; schemas.enable has no effect on it (as in Confluent's converter)",
        );
    registry::config_keys(def)
}

/// A Connect schema's registered form: the `Arc` kept alive, its Avro text, and the id
/// per topic it was written to.
struct Written {
    _schema: SchemaRef,
    avro: RegistrySchema,
    record_name: String,
    ids: Vec<(Box<str>, i32)>,
}

/// A writer schema ready for decoding.
struct ReadPlan {
    node: Arc<node::Node>,
    schema: SchemaRef,
}

/// Confluent's Avro converter.
pub struct AvroConverter {
    client: RegistryClient,
    schema_opts: SchemaOptions,
    encode_opts: EncodeOptions,
    cache_size: usize,
    written: RwLock<HashMap<usize, Written>>,
    read: RwLock<HashMap<i32, Arc<ReadPlan>>>,
    size_hint: AtomicUsize,
}

impl std::fmt::Debug for AvroConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroConverter")
            .field("registry", &self.client)
            .field("schema_opts", &self.schema_opts)
            .finish()
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

impl AvroConverter {
    /// A converter from its config (keys without the `key.converter.` / `value.converter.` prefix).
    pub fn new(config: &ConfigMap) -> Result<Self, ConnectError> {
        let parsed = config_def()
            .parse(config)
            .map_err(|e| ConnectError::Fatal(format!("AvroConverter: {e}")))?;
        let settings = RegistrySettings::from_config(config)?;
        let enhanced = parsed.bool("enhanced.avro.schema.support");
        Ok(AvroConverter {
            client: RegistryClient::new(&settings)?,
            schema_opts: SchemaOptions {
                connect_meta_data: parsed.bool("connect.meta.data"),
                enhanced,
            },
            encode_opts: EncodeOptions { enhanced },
            cache_size: usize::try_from(parsed.long("schemas.cache.config")).unwrap_or(1000),
            written: RwLock::new(HashMap::new()),
            read: RwLock::new(HashMap::new()),
            size_hint: AtomicUsize::new(128),
        })
    }

    /// A value converter for the registry at `url`, every other key at its default.
    pub fn for_registry(url: &str) -> Result<Self, ConnectError> {
        let mut config = BTreeMap::new();
        config.insert("schema.registry.url".to_owned(), url.to_owned());
        Self::new(&config)
    }

    /// The registry client (its `http_calls()` counts requests).
    pub fn registry(&self) -> &RegistryClient {
        &self.client
    }

    /// The Avro schema JSON this converter registers for `schema`.
    pub fn avro_schema_json(
        &self,
        schema: &sluice_core::schema::Schema,
    ) -> Result<String, ConnectError> {
        let node = from_connect::convert(schema, self.schema_opts).map_err(ConnectError::Data)?;
        node::to_json(&node).map_err(ConnectError::Data)
    }

    /// The registry id of `schema` written to `topic`: cached, else rendered and registered.
    fn schema_id(&self, topic: &str, schema: &SchemaRef) -> Result<i32, ConnectError> {
        let key = Arc::as_ptr(schema) as usize;
        if let Some(w) = read(&self.written).get(&key) {
            if let Some((_, id)) = w.ids.iter().find(|(t, _)| &**t == topic) {
                return Ok(*id);
            }
        }
        let (avro, record_name) = match read(&self.written).get(&key) {
            Some(w) => (w.avro.clone(), w.record_name.clone()),
            None => {
                let node = from_connect::convert(schema, self.schema_opts).map_err(|e| {
                    ConnectError::Data(format!(
                        "cannot convert the Connect schema {} to Avro: {e}",
                        schema.name().unwrap_or("(unnamed)")
                    ))
                })?;
                let text = node::to_json(&node).map_err(ConnectError::Data)?;
                let record_name = node
                    .name()
                    .map(|n| n.full())
                    .unwrap_or_else(|| node.type_name().to_owned());
                (RegistrySchema::avro(text), record_name)
            }
        };
        let settings = self.client.settings();
        let subject = settings.subject(topic, &record_name);
        let id = if settings.use_latest_version {
            let (id, latest) = self.client.latest(&subject)?;
            let same = node::parse(&latest.schema)
                .and_then(|n| node::to_json(&n))
                .is_ok_and(|t| t == avro.schema);
            if !same {
                return Err(ConnectError::Data(format!(
                    "use.latest.version=true: the latest schema of subject {subject} (id {id}) differs from the record's schema, and writing a record with another schema is not supported; set use.latest.version=false or register the record's schema as the latest version"
                )));
            }
            id
        } else {
            self.client.register(&subject, &avro)?
        };
        let mut cache = write(&self.written);
        if cache.len() >= self.cache_size.max(1) && !cache.contains_key(&key) {
            cache.clear();
        }
        let entry = cache.entry(key).or_insert_with(|| Written {
            _schema: schema.clone(),
            avro,
            record_name,
            ids: Vec::new(),
        });
        if !entry.ids.iter().any(|(t, _)| &**t == topic) {
            entry.ids.push((topic.into(), id));
        }
        Ok(id)
    }

    fn read_plan(&self, id: i32) -> Result<Arc<ReadPlan>, ConnectError> {
        if let Some(plan) = read(&self.read).get(&id) {
            return Ok(plan.clone());
        }
        let registered = self.client.schema_by_id(id)?;
        if registered.schema_type != SchemaType::Avro {
            return Err(ConnectError::Data(format!(
                "schema id {id} is a {} schema, not Avro: read this topic with the matching converter",
                registered.schema_type.wire_name()
            )));
        }
        let bad = |e: String| {
            ConnectError::Data(format!("the writer schema of id {id} cannot be read: {e}"))
        };
        let node = node::parse(&registered.schema).map_err(bad)?;
        let schema = to_connect::convert(&node, self.schema_opts.connect_meta_data).map_err(bad)?;
        let plan = Arc::new(ReadPlan { node, schema });
        let mut cache = write(&self.read);
        if cache.len() >= self.cache_size.max(1) {
            cache.clear();
        }
        cache.insert(id, plan.clone());
        Ok(plan)
    }
}

impl Converter for AvroConverter {
    fn from_connect(
        &self,
        topic: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Vec<u8>>, ConnectError> {
        let Some(schema) = &data.schema else {
            if data.value.is_null() {
                return Ok(None);
            }
            return Err(ConnectError::Data(format!(
                "AvroConverter needs a schema: a schemaless {} value for topic {topic} cannot be written as Avro",
                data.value.kind()
            )));
        };
        if data.value.is_null() && schema.default.is_none() {
            if schema.optional {
                return Ok(None);
            }
            return Err(ConnectError::Data(format!(
                "Found null value for non-optional schema {} (topic {topic})",
                schema.name().unwrap_or(schema.ty.json_name())
            )));
        }
        let id = self.schema_id(topic, schema)?;
        let mut out = Vec::with_capacity(self.size_hint.load(Ordering::Relaxed));
        out.push(0);
        out.extend_from_slice(&id.to_be_bytes());
        encode::write_value(&mut out, schema, &data.value, self.encode_opts).map_err(|e| {
            ConnectError::Data(format!(
                "Failed to serialize Avro data from topic {topic}: {e}"
            ))
        })?;
        self.size_hint.store(out.len() + 16, Ordering::Relaxed);
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
        if bytes.first() != Some(&0) {
            return Err(ConnectError::Data(format!(
                "Unknown magic byte! Topic {topic}: the message starts with {}, not 0x00, so it was not written with a Confluent Schema Registry serializer; read this topic with the converter that wrote it",
                bytes.first().map_or("nothing (it is empty)".to_owned(), |b| format!("0x{b:02x}"))
            )));
        }
        let Some(id_bytes) = bytes.get(1..5) else {
            return Err(ConnectError::Data(format!(
                "truncated Avro message on topic {topic}: {} bytes, but the magic byte and the 4-byte schema id alone take 5",
                bytes.len()
            )));
        };
        let id = i32::from_be_bytes([id_bytes[0], id_bytes[1], id_bytes[2], id_bytes[3]]);
        let plan = self.read_plan(id)?;
        let mut reader = decode::Reader::new(&bytes[5..], 5);
        let value = decode::read_value(&mut reader, &plan.node, &plan.schema).map_err(|e| {
            ConnectError::Data(format!(
                "Failed to deserialize Avro data for topic {topic} (schema id {id}): {e}"
            ))
        })?;
        Ok(SchemaAndValue {
            schema: Some(plan.schema.clone()),
            value,
        })
    }
}

#[cfg(test)]
mod tests;
