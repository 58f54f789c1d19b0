//! A Confluent Schema Registry client for the Avro and Protobuf converters.
//!
//! What the converters need from a registry is two maps: subject + schema → id (writing)
//! and id → schema (reading). Both are pure functions of what the registry already holds
//! (a registered schema never changes id, an id never changes schema), so the client
//! caches them for its whole life and asks the registry only on a miss: after warm-up the
//! per-record path makes no HTTP call, and [`RegistryClient::http_calls`] counts every
//! request so tests and benches can prove it. The one answer that may change, the latest
//! version of a subject, is cached for `latest.cache.ttl.sec` (forever by default, as
//! Confluent's serializers do).
//!
//! The wire protocol is Confluent's REST API (`POST /subjects/{s}/versions`,
//! `POST /subjects/{s}`, `GET /subjects/{s}/versions/latest`, `GET /schemas/ids/{id}`),
//! spoken over blocking HTTP/1.1 (`ureq`), with TLS for `https://` URLs (rustls with the
//! ring provider; Mozilla's roots, or the PEM file in
//! `schema.registry.ssl.truststore.location`: see `settings`).

mod client;
mod error;
mod settings;

pub use client::RegistryClient;
pub use error::RegistryError;
pub use settings::{config_keys, RegistrySettings, TrustStore};

/// The kind of a registered schema (the registry's `schemaType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    /// `"AVRO"`: the registry's default, so it is omitted on the wire.
    Avro,
    /// `"PROTOBUF"`.
    Protobuf,
    /// `"JSON"`.
    Json,
}

impl SchemaType {
    /// The registry's name for the type.
    pub fn wire_name(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Protobuf => "PROTOBUF",
            SchemaType::Json => "JSON",
        }
    }

    /// The type of a `schemaType` field; absent means Avro.
    pub fn from_wire_name(name: Option<&str>) -> Option<SchemaType> {
        match name {
            None => Some(SchemaType::Avro),
            Some(n) if n.eq_ignore_ascii_case("AVRO") => Some(SchemaType::Avro),
            Some(n) if n.eq_ignore_ascii_case("PROTOBUF") => Some(SchemaType::Protobuf),
            Some(n) if n.eq_ignore_ascii_case("JSON") => Some(SchemaType::Json),
            Some(_) => None,
        }
    }
}

/// A reference from one schema to another registered schema (Protobuf imports, Avro named
/// types defined elsewhere).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaReference {
    /// The name the referring schema uses (an import path, a full type name).
    pub name: String,
    /// The subject the referenced schema is registered under.
    pub subject: String,
    /// Its version in that subject.
    pub version: i32,
}

/// A schema as the registry stores it: its type, its text and its references.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistrySchema {
    /// Avro, Protobuf or JSON.
    pub schema_type: SchemaType,
    /// The schema text (Avro JSON, a `.proto` file, a JSON Schema).
    pub schema: String,
    /// Other schemas it refers to.
    pub references: Vec<SchemaReference>,
}

impl RegistrySchema {
    /// An Avro schema without references.
    pub fn avro(schema: impl Into<String>) -> Self {
        RegistrySchema {
            schema_type: SchemaType::Avro,
            schema: schema.into(),
            references: Vec::new(),
        }
    }
}

/// How a subject name is derived from the topic and the schema's record name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectNameStrategy {
    /// `<topic>-key` / `<topic>-value` (Confluent's default).
    TopicName,
    /// The record's fully qualified name.
    RecordName,
    /// `<topic>-<record name>`.
    TopicRecordName,
}

impl SubjectNameStrategy {
    /// The class names Confluent's serializers accept for each strategy.
    pub const CLASS_NAMES: [&'static str; 3] = [
        "io.confluent.kafka.serializers.subject.TopicNameStrategy",
        "io.confluent.kafka.serializers.subject.RecordNameStrategy",
        "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy",
    ];

    /// The strategy named by a Confluent class name (or its simple name).
    pub fn from_class_name(name: &str) -> Option<SubjectNameStrategy> {
        let simple = name.trim().rsplit('.').next().unwrap_or("");
        let known_package = {
            let package = &name.trim()[..name.trim().len() - simple.len()];
            package.is_empty()
                || package == "io.confluent.kafka.serializers.subject."
                || package == "io.confluent.kafka.serializers.subject.strategy."
        };
        if !known_package {
            return None;
        }
        match simple {
            "TopicNameStrategy" => Some(SubjectNameStrategy::TopicName),
            "RecordNameStrategy" => Some(SubjectNameStrategy::RecordName),
            "TopicRecordNameStrategy" => Some(SubjectNameStrategy::TopicRecordName),
            _ => None,
        }
    }

    /// The subject for a schema written to `topic` as a key or a value; `record_name` is
    /// the schema's fully qualified name (Avro record name, Protobuf message name).
    pub fn subject(&self, topic: &str, is_key: bool, record_name: &str) -> String {
        match self {
            SubjectNameStrategy::TopicName => {
                format!("{topic}-{}", if is_key { "key" } else { "value" })
            }
            SubjectNameStrategy::RecordName => record_name.to_owned(),
            SubjectNameStrategy::TopicRecordName => format!("{topic}-{record_name}"),
        }
    }
}

#[cfg(test)]
mod tests;
