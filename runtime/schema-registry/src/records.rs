//! The records of the `_schemas` topic, in Confluent Schema Registry's own key and value
//! JSON, so a topic written by Confluent's registry can be read here and the reverse.
//!
//! Keys (Confluent's `SchemaKey`, `ConfigKey`, `NoopKey`, `DeleteSubjectKey`; Jackson
//! writes them with `@JsonInclude(NON_EMPTY)`, so the global config key has no `subject`):
//! - `{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}`, value
//!   `{"subject":"s","version":1,"id":7,"schemaType":"PROTOBUF","references":[..],
//!   "schema":"..","deleted":false}` (`schemaType` absent for AVRO, `references` absent
//!   when empty) or a tombstone (permanent delete);
//! - `{"keytype":"CONFIG","subject":"s","magic":0}`, value `{"compatibilityLevel":"FULL"}`
//!   or a tombstone (the subject's level removed);
//! - `{"keytype":"NOOP","magic":0}`: written by a registry to learn the end of the log;
//!   carries no state;
//! - `{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}`, value
//!   `{"subject":"s","version":3}`: Confluent's soft delete of every version up to 3.
//!
//! Other key types Confluent writes (MODE, CONTEXT, CLEAR_SUBJECT, …) carry nothing this
//! registry serves; decoding reports them as [`LogRecord::Ignored`].

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::model::{CompatibilityLevel, SchemaReference, SchemaType};

/// The value of a SCHEMA record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaRecord {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    pub schema_type: SchemaType,
    pub references: Vec<SchemaReference>,
    pub schema: String,
    pub deleted: bool,
}

/// One record of the `_schemas` topic, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogRecord {
    /// A subject version: registered, soft-deleted (`deleted`), or gone (`value: None`).
    Schema {
        subject: String,
        version: i32,
        value: Option<SchemaRecord>,
    },
    /// A compatibility level: global (`subject: None`) or a subject's; `None` removes it.
    Config {
        subject: Option<String>,
        level: Option<CompatibilityLevel>,
    },
    /// Every version of `subject` up to `version` is soft-deleted.
    DeleteSubject { subject: String, version: i32 },
    /// A NOOP marker.
    Noop,
    /// A key type this registry does not serve (MODE, CONTEXT, …), by name.
    Ignored(String),
}

/// Why a topic record could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("record of the schemas topic is not in Confluent's format ({what}): {text}")]
pub struct DecodeError {
    what: String,
    text: String,
}

fn decode_error(what: impl Into<String>, bytes: &[u8]) -> DecodeError {
    DecodeError {
        what: what.into(),
        text: String::from_utf8_lossy(bytes).chars().take(200).collect(),
    }
}

#[derive(Deserialize)]
struct RawKey {
    keytype: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    version: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSchemaValue {
    subject: String,
    version: i32,
    id: i32,
    schema: String,
    #[serde(default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Option<Vec<SchemaReference>>,
    #[serde(default)]
    deleted: bool,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct RawConfigValue {
    #[serde(default)]
    compatibility_level: Option<String>,
}

#[derive(Deserialize)]
struct RawDeleteSubjectValue {
    version: i32,
}

impl LogRecord {
    /// Decodes a record of the topic: its key, and its value (`None` = tombstone).
    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<LogRecord, DecodeError> {
        let raw: RawKey =
            serde_json::from_slice(key).map_err(|e| decode_error(format!("key: {e}"), key))?;
        let subject = |what: &str| {
            raw.subject
                .clone()
                .ok_or_else(|| decode_error(format!("{what} key without subject"), key))
        };
        match raw.keytype.as_str() {
            "SCHEMA" => {
                let subject = subject("SCHEMA")?;
                let version = raw
                    .version
                    .ok_or_else(|| decode_error("SCHEMA key without version", key))?;
                let value = match value {
                    None => None,
                    Some(bytes) => {
                        let v: RawSchemaValue = serde_json::from_slice(bytes)
                            .map_err(|e| decode_error(format!("SCHEMA value: {e}"), bytes))?;
                        let schema_type = match v.schema_type.as_deref() {
                            None => SchemaType::Avro,
                            Some(name) => SchemaType::parse(name).map_err(|_| {
                                decode_error(format!("unknown schemaType {name}"), bytes)
                            })?,
                        };
                        Some(SchemaRecord {
                            subject: v.subject,
                            version: v.version,
                            id: v.id,
                            schema_type,
                            references: v.references.unwrap_or_default(),
                            schema: v.schema,
                            deleted: v.deleted,
                        })
                    }
                };
                Ok(LogRecord::Schema {
                    subject,
                    version,
                    value,
                })
            }
            "CONFIG" => {
                let level = match value {
                    None => None,
                    Some(bytes) => {
                        let v: RawConfigValue = serde_json::from_slice(bytes)
                            .map_err(|e| decode_error(format!("CONFIG value: {e}"), bytes))?;
                        match v.compatibility_level {
                            None => None,
                            Some(name) => Some(CompatibilityLevel::parse(&name).map_err(|_| {
                                decode_error(format!("unknown compatibilityLevel {name}"), bytes)
                            })?),
                        }
                    }
                };
                Ok(LogRecord::Config {
                    subject: raw.subject.filter(|s| !s.is_empty()),
                    level,
                })
            }
            "DELETE_SUBJECT" => {
                let subject = subject("DELETE_SUBJECT")?;
                match value {
                    None => Ok(LogRecord::Ignored("DELETE_SUBJECT tombstone".into())),
                    Some(bytes) => {
                        let v: RawDeleteSubjectValue =
                            serde_json::from_slice(bytes).map_err(|e| {
                                decode_error(format!("DELETE_SUBJECT value: {e}"), bytes)
                            })?;
                        Ok(LogRecord::DeleteSubject {
                            subject,
                            version: v.version,
                        })
                    }
                }
            }
            "NOOP" => Ok(LogRecord::Noop),
            other => Ok(LogRecord::Ignored(other.to_string())),
        }
    }

    /// The record's key, as Confluent writes it.
    pub fn key_json(&self) -> String {
        let key = match self {
            LogRecord::Schema {
                subject, version, ..
            } => json!({"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1}),
            LogRecord::Config {
                subject: Some(subject),
                ..
            } => json!({"keytype": "CONFIG", "subject": subject, "magic": 0}),
            LogRecord::Config { subject: None, .. } => json!({"keytype": "CONFIG", "magic": 0}),
            LogRecord::DeleteSubject { subject, .. } => {
                json!({"keytype": "DELETE_SUBJECT", "subject": subject, "magic": 0})
            }
            LogRecord::Noop | LogRecord::Ignored(_) => json!({"keytype": "NOOP", "magic": 0}),
        };
        key.to_string()
    }

    /// The record's value as Confluent writes it; `None` is a tombstone.
    pub fn value_json(&self) -> Option<String> {
        match self {
            LogRecord::Schema { value, .. } => value.as_ref().map(|v| {
                let mut out = Map::new();
                out.insert("subject".into(), json!(v.subject));
                out.insert("version".into(), json!(v.version));
                out.insert("id".into(), json!(v.id));
                if v.schema_type != SchemaType::Avro {
                    out.insert("schemaType".into(), json!(v.schema_type.name()));
                }
                if !v.references.is_empty() {
                    out.insert("references".into(), json!(v.references));
                }
                out.insert("schema".into(), json!(v.schema));
                out.insert("deleted".into(), json!(v.deleted));
                Value::Object(out).to_string()
            }),
            LogRecord::Config { level, .. } => {
                level.map(|level| json!({"compatibilityLevel": level.name()}).to_string())
            }
            LogRecord::DeleteSubject { subject, version } => {
                Some(json!({"subject": subject, "version": version}).to_string())
            }
            LogRecord::Noop | LogRecord::Ignored(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(record: LogRecord) {
        let key = record.key_json();
        let value = record.value_json();
        let decoded = LogRecord::decode(key.as_bytes(), value.as_deref().map(str::as_bytes))
            .expect("decodes");
        assert_eq!(decoded, record);
    }

    #[test]
    fn schema_records_are_written_as_confluent_writes_them() {
        let record = LogRecord::Schema {
            subject: "orders-value".into(),
            version: 2,
            value: Some(SchemaRecord {
                subject: "orders-value".into(),
                version: 2,
                id: 5,
                schema_type: SchemaType::Avro,
                references: vec![],
                schema: "\"string\"".into(),
                deleted: false,
            }),
        };
        assert_eq!(
            record.key_json(),
            r#"{"keytype":"SCHEMA","subject":"orders-value","version":2,"magic":1}"#
        );
        assert_eq!(
            record.value_json().as_deref(),
            Some(
                r#"{"subject":"orders-value","version":2,"id":5,"schema":"\"string\"","deleted":false}"#
            )
        );
        round_trip(record);
    }

    #[test]
    fn protobuf_schema_records_carry_type_and_references() {
        round_trip(LogRecord::Schema {
            subject: "p".into(),
            version: 1,
            value: Some(SchemaRecord {
                subject: "p".into(),
                version: 1,
                id: 3,
                schema_type: SchemaType::Protobuf,
                references: vec![SchemaReference {
                    name: "other.proto".into(),
                    subject: "other".into(),
                    version: 1,
                }],
                schema: "syntax = \"proto3\";".into(),
                deleted: true,
            }),
        });
    }

    #[test]
    fn config_keys_omit_the_subject_for_the_global_level() {
        let global = LogRecord::Config {
            subject: None,
            level: Some(CompatibilityLevel::Full),
        };
        assert_eq!(global.key_json(), r#"{"keytype":"CONFIG","magic":0}"#);
        assert_eq!(
            global.value_json().as_deref(),
            Some(r#"{"compatibilityLevel":"FULL"}"#)
        );
        round_trip(global);
        round_trip(LogRecord::Config {
            subject: Some("s".into()),
            level: None,
        });
    }

    #[test]
    fn confluent_delete_subject_and_unknown_keys_decode() {
        let deleted = LogRecord::decode(
            br#"{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}"#,
            Some(br#"{"subject":"s","version":4}"#),
        )
        .expect("decodes");
        assert_eq!(
            deleted,
            LogRecord::DeleteSubject {
                subject: "s".into(),
                version: 4
            }
        );
        let mode = LogRecord::decode(
            br#"{"keytype":"MODE","magic":0}"#,
            Some(br#"{"mode":"READWRITE"}"#),
        )
        .expect("decodes");
        assert_eq!(mode, LogRecord::Ignored("MODE".into()));
        assert!(LogRecord::decode(b"not json", None).is_err());
    }
}
