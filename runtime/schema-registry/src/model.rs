//! The registry's state and the one function that changes it: [`RegistryState::apply`].
//!
//! The state is a pure function of the `_schemas` log: every change, in memory or through
//! Kafka, goes through `apply` in log order, so every worker that reads the same topic holds
//! the same subjects, versions and ids. Two workers may race to write (each picks the next
//! id from what it has seen), so `apply` refuses a record that would give one id two
//! different schemas, or one subject version two different ids; the writer that lost the
//! race sees its record refused when it reads it back and retries with a fresh id. All
//! workers refuse the same records because they apply the same log in the same order.
//!
//! Confluent's rules kept here: a global id names one schema (type + text + references),
//! and the same schema under several subjects shares one id; versions of a subject count
//! up from 1 and are not reused after a soft delete; a soft-deleted version is still
//! readable by id and with `?deleted=true`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::RegistryError;
use crate::records::{LogRecord, SchemaRecord};

/// `schemaType`: AVRO (the default, omitted in responses), PROTOBUF or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    Avro,
    Protobuf,
    Json,
}

impl SchemaType {
    /// Parses a `schemaType` (case-insensitive, as Confluent's `SchemaType`).
    pub fn parse(name: &str) -> Result<SchemaType, RegistryError> {
        match name.to_ascii_uppercase().as_str() {
            "AVRO" => Ok(SchemaType::Avro),
            "PROTOBUF" => Ok(SchemaType::Protobuf),
            "JSON" => Ok(SchemaType::Json),
            _ => Err(RegistryError::InvalidSchemaType(name.to_string())),
        }
    }

    /// The name Confluent uses.
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Protobuf => "PROTOBUF",
            SchemaType::Json => "JSON",
        }
    }
}

/// A compatibility level, as Confluent names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompatibilityLevel {
    None,
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl CompatibilityLevel {
    /// Confluent's default level.
    pub const DEFAULT: CompatibilityLevel = CompatibilityLevel::Backward;

    /// Parses a level name (case-insensitive, as Confluent's `CompatibilityLevel.forName`).
    pub fn parse(name: &str) -> Result<CompatibilityLevel, RegistryError> {
        match name.to_ascii_uppercase().as_str() {
            "NONE" => Ok(CompatibilityLevel::None),
            "BACKWARD" => Ok(CompatibilityLevel::Backward),
            "BACKWARD_TRANSITIVE" => Ok(CompatibilityLevel::BackwardTransitive),
            "FORWARD" => Ok(CompatibilityLevel::Forward),
            "FORWARD_TRANSITIVE" => Ok(CompatibilityLevel::ForwardTransitive),
            "FULL" => Ok(CompatibilityLevel::Full),
            "FULL_TRANSITIVE" => Ok(CompatibilityLevel::FullTransitive),
            _ => Err(RegistryError::InvalidCompatibility(name.to_string())),
        }
    }

    /// The name Confluent uses.
    pub fn name(self) -> &'static str {
        match self {
            CompatibilityLevel::None => "NONE",
            CompatibilityLevel::Backward => "BACKWARD",
            CompatibilityLevel::BackwardTransitive => "BACKWARD_TRANSITIVE",
            CompatibilityLevel::Forward => "FORWARD",
            CompatibilityLevel::ForwardTransitive => "FORWARD_TRANSITIVE",
            CompatibilityLevel::Full => "FULL",
            CompatibilityLevel::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Whether the new schema must read data written with the old ones.
    pub fn checks_backward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Backward
                | CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }

    /// Whether the old schemas must read data written with the new one.
    pub fn checks_forward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Forward
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }

    /// Whether every earlier version is checked, not only the latest.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::FullTransitive
        )
    }
}

/// A reference from one schema to another subject version (`references` in Confluent's API).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SchemaReference {
    pub name: String,
    pub subject: String,
    pub version: i32,
}

/// A schema as the registry keeps it: what one global id names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoredSchema {
    pub schema_type: SchemaType,
    /// The canonical text (compact JSON for Avro and JSON Schema; Protobuf as given).
    pub schema: String,
    pub references: Vec<SchemaReference>,
}

/// One version of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionEntry {
    pub id: i32,
    pub deleted: bool,
}

/// A subject version with its schema, as the API returns it.
#[derive(Debug, Clone)]
pub struct SubjectVersion {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    pub schema: Arc<StoredSchema>,
    pub deleted: bool,
}

/// Everything the registry knows, rebuilt from the log.
#[derive(Debug, Default)]
pub struct RegistryState {
    subjects: BTreeMap<String, BTreeMap<i32, VersionEntry>>,
    schemas: BTreeMap<i32, Arc<StoredSchema>>,
    ids_by_schema: HashMap<Arc<StoredSchema>, i32>,
    global_level: Option<CompatibilityLevel>,
    subject_levels: BTreeMap<String, CompatibilityLevel>,
}

impl RegistryState {
    /// Applies one log record; returns false when the record is refused because it
    /// contradicts what the log already says (see the module note).
    pub fn apply(&mut self, record: LogRecord) -> bool {
        match record {
            LogRecord::Schema {
                subject,
                version,
                value: None,
            } => {
                if let Some(versions) = self.subjects.get_mut(&subject) {
                    versions.remove(&version);
                    if versions.is_empty() {
                        self.subjects.remove(&subject);
                    }
                }
                true
            }
            LogRecord::Schema {
                subject,
                version,
                value: Some(value),
            } => self.apply_schema(subject, version, value),
            LogRecord::Config { subject, level } => {
                match (subject, level) {
                    (None, level) => self.global_level = level,
                    (Some(subject), Some(level)) => {
                        self.subject_levels.insert(subject, level);
                    }
                    (Some(subject), None) => {
                        self.subject_levels.remove(&subject);
                    }
                }
                true
            }
            LogRecord::DeleteSubject { subject, version } => {
                if let Some(versions) = self.subjects.get_mut(&subject) {
                    for (_, entry) in versions.range_mut(..=version) {
                        entry.deleted = true;
                    }
                }
                true
            }
            LogRecord::Noop | LogRecord::Ignored(_) => true,
        }
    }

    fn apply_schema(&mut self, subject: String, version: i32, value: SchemaRecord) -> bool {
        let schema = StoredSchema {
            schema_type: value.schema_type,
            schema: value.schema,
            references: value.references,
        };
        if let Some(existing) = self.schemas.get(&value.id) {
            if **existing != schema {
                tracing::warn!(
                    id = value.id,
                    subject = %subject,
                    version,
                    "schemas topic: id already names another schema; record ignored"
                );
                return false;
            }
        }
        if let Some(entry) = self.subjects.get(&subject).and_then(|v| v.get(&version)) {
            if entry.id != value.id {
                tracing::warn!(
                    id = value.id,
                    existing_id = entry.id,
                    subject = %subject,
                    version,
                    "schemas topic: subject version already has another id; record ignored"
                );
                return false;
            }
        }
        if !self.schemas.contains_key(&value.id) {
            let schema = Arc::new(schema);
            self.ids_by_schema
                .entry(Arc::clone(&schema))
                .or_insert(value.id);
            self.schemas.insert(value.id, schema);
        }
        self.subjects.entry(subject).or_default().insert(
            version,
            VersionEntry {
                id: value.id,
                deleted: value.deleted,
            },
        );
        true
    }

    /// The schema an id names (soft-deleted versions included, as Confluent).
    pub fn schema(&self, id: i32) -> Option<Arc<StoredSchema>> {
        self.schemas.get(&id).cloned()
    }

    /// The id already given to this schema, if any.
    pub fn id_of(&self, schema: &StoredSchema) -> Option<i32> {
        self.ids_by_schema.get(schema).copied()
    }

    /// The next free global id.
    pub fn next_id(&self) -> i32 {
        self.schemas.keys().next_back().map_or(1, |max| max + 1)
    }

    /// The next version number of a subject: versions are not reused after a soft delete.
    pub fn next_version(&self, subject: &str) -> i32 {
        self.subjects
            .get(subject)
            .and_then(|v| v.keys().next_back())
            .map_or(1, |max| max + 1)
    }

    /// Subject names with at least one version (live ones only unless `deleted`).
    pub fn subject_names(&self, deleted: bool) -> Vec<String> {
        self.subjects
            .iter()
            .filter(|(_, versions)| deleted || versions.values().any(|e| !e.deleted))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// All versions of a subject, oldest first, including soft-deleted ones.
    pub fn versions(&self, subject: &str) -> Vec<SubjectVersion> {
        let Some(versions) = self.subjects.get(subject) else {
            return Vec::new();
        };
        versions
            .iter()
            .filter_map(|(&version, entry)| {
                let schema = self.schemas.get(&entry.id)?;
                Some(SubjectVersion {
                    subject: subject.to_string(),
                    version,
                    id: entry.id,
                    schema: Arc::clone(schema),
                    deleted: entry.deleted,
                })
            })
            .collect()
    }

    /// Every (subject, version) that uses an id.
    pub fn uses_of(&self, id: i32) -> Vec<(String, i32, bool)> {
        let mut out = Vec::new();
        for (subject, versions) in &self.subjects {
            for (&version, entry) in versions {
                if entry.id == id {
                    out.push((subject.clone(), version, entry.deleted));
                }
            }
        }
        out
    }

    /// Ids of the schemas whose references name this subject version.
    pub fn referenced_by(&self, subject: &str, version: i32) -> Vec<i32> {
        self.schemas
            .iter()
            .filter(|(_, s)| {
                s.references
                    .iter()
                    .any(|r| r.subject == subject && r.version == version)
            })
            .map(|(&id, _)| id)
            .collect()
    }

    /// The global level as set, or Confluent's default.
    pub fn global_level(&self) -> CompatibilityLevel {
        self.global_level.unwrap_or(CompatibilityLevel::DEFAULT)
    }

    /// The subject's own level, if one was set.
    pub fn subject_level(&self, subject: &str) -> Option<CompatibilityLevel> {
        self.subject_levels.get(subject).copied()
    }

    /// The level that applies to a subject: its own, else the global one.
    pub fn effective_level(&self, subject: &str) -> CompatibilityLevel {
        self.subject_level(subject)
            .unwrap_or_else(|| self.global_level())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_record(subject: &str, version: i32, id: i32, schema: &str) -> LogRecord {
        LogRecord::Schema {
            subject: subject.into(),
            version,
            value: Some(SchemaRecord {
                subject: subject.into(),
                version,
                id,
                schema_type: SchemaType::Avro,
                references: vec![],
                schema: schema.into(),
                deleted: false,
            }),
        }
    }

    #[test]
    fn a_second_schema_under_a_taken_id_is_refused() {
        let mut state = RegistryState::default();
        assert!(state.apply(schema_record("a", 1, 1, "\"string\"")));
        assert!(!state.apply(schema_record("b", 1, 1, "\"int\"")));
        assert_eq!(state.subject_names(true), vec!["a".to_string()]);
        assert!(state.apply(schema_record("b", 1, 1, "\"string\"")));
        assert_eq!(state.uses_of(1).len(), 2);
    }

    #[test]
    fn a_taken_subject_version_keeps_its_id() {
        let mut state = RegistryState::default();
        assert!(state.apply(schema_record("a", 1, 1, "\"string\"")));
        assert!(!state.apply(schema_record("a", 1, 2, "\"int\"")));
        assert_eq!(state.versions("a")[0].id, 1);
        assert_eq!(state.next_id(), 2);
        assert_eq!(state.next_version("a"), 2);
    }

    #[test]
    fn levels_default_to_backward_and_subject_levels_override() {
        let mut state = RegistryState::default();
        assert_eq!(state.effective_level("s"), CompatibilityLevel::Backward);
        state.apply(LogRecord::Config {
            subject: Some("s".into()),
            level: Some(CompatibilityLevel::None),
        });
        assert_eq!(state.effective_level("s"), CompatibilityLevel::None);
        assert_eq!(state.effective_level("t"), CompatibilityLevel::Backward);
    }
}
