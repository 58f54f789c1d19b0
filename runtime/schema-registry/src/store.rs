//! [`SchemaStore`]: the registry's operations (register, look up, delete, configure,
//! test compatibility) over its state, kept in memory or in a compacted Kafka topic.
//!
//! Every change is a list of `_schemas` records handed to the backend: in memory they are
//! applied at once; with Kafka they are produced, and the call returns only once the
//! store's own consumer has read them back and applied them (read-your-writes). Whether a
//! write took effect is then read from the state, never assumed: a registration that lost
//! a race with another worker for an id is retried with the next free id (see `model`).
//! Within one process, writes hold one lock from "read the state" to "state applied", so
//! local registrations never race each other.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use crate::compat;
use crate::error::RegistryError;
use crate::model::{CompatibilityLevel, RegistryState, StoredSchema, SubjectVersion};
use crate::records::{LogRecord, SchemaRecord};

/// How often a registration that lost an id race is retried.
const REGISTER_ATTEMPTS: usize = 5;

/// A version as named in a URL: a number, or `latest` (also `-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    Latest,
    Number(i32),
}

impl VersionSpec {
    /// Parses a version path segment, or 42202.
    pub fn parse(text: &str) -> Result<VersionSpec, RegistryError> {
        if text.eq_ignore_ascii_case("latest") || text == "-1" {
            return Ok(VersionSpec::Latest);
        }
        match text.parse::<i32>() {
            Ok(n) if n >= 1 => Ok(VersionSpec::Number(n)),
            _ => Err(RegistryError::InvalidVersion(text.to_string())),
        }
    }
}

enum Backend {
    Memory,
}

struct Inner {
    state: Arc<RwLock<RegistryState>>,
    backend: Backend,
    write_lock: tokio::sync::Mutex<()>,
}

/// The registry's store; cheap to clone (clones share one state).
#[derive(Clone)]
pub struct SchemaStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SchemaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.inner.backend {
            Backend::Memory => "memory",
        };
        f.debug_struct("SchemaStore")
            .field("backend", &backend)
            .finish()
    }
}

impl SchemaStore {
    /// A store that lives in memory only (tests, and converters' tests).
    pub fn in_memory() -> SchemaStore {
        SchemaStore {
            inner: Arc::new(Inner {
                state: Arc::default(),
                backend: Backend::Memory,
                write_lock: tokio::sync::Mutex::new(()),
            }),
        }
    }

    fn state(&self) -> RwLockReadGuard<'_, RegistryState> {
        // A panic while applying a record cannot leave the maps half-updated in a way
        // reads could trip over, so a poisoned lock is still read.
        self.inner
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn write(&self, records: Vec<LogRecord>) -> Result<(), RegistryError> {
        match &self.inner.backend {
            Backend::Memory => {
                let mut state = self
                    .inner
                    .state
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for record in records {
                    state.apply(record);
                }
                Ok(())
            }
        }
    }

    /// The schema a global id names.
    pub fn schema_by_id(&self, id: i32) -> Result<Arc<StoredSchema>, RegistryError> {
        self.state()
            .schema(id)
            .ok_or_else(|| RegistryError::SchemaNotFound(id.to_string()))
    }

    /// The (subject, version) pairs that use an id (soft-deleted ones only if `deleted`).
    pub fn uses_of(&self, id: i32, deleted: bool) -> Result<Vec<(String, i32)>, RegistryError> {
        let state = self.state();
        if state.schema(id).is_none() {
            return Err(RegistryError::SchemaNotFound(id.to_string()));
        }
        Ok(state
            .uses_of(id)
            .into_iter()
            .filter(|(_, _, d)| deleted || !d)
            .map(|(s, v, _)| (s, v))
            .collect())
    }

    /// Subject names, sorted.
    pub fn subjects(&self, deleted: bool) -> Vec<String> {
        self.state().subject_names(deleted)
    }

    /// A subject's versions (live ones unless `deleted`); 40401 when it has none.
    fn versions_of(
        &self,
        subject: &str,
        deleted: bool,
    ) -> Result<Vec<SubjectVersion>, RegistryError> {
        let versions: Vec<SubjectVersion> = self
            .state()
            .versions(subject)
            .into_iter()
            .filter(|v| deleted || !v.deleted)
            .collect();
        if versions.is_empty() {
            return Err(RegistryError::SubjectNotFound(subject.to_string()));
        }
        Ok(versions)
    }

    /// A subject's version numbers, oldest first.
    pub fn version_numbers(&self, subject: &str, deleted: bool) -> Result<Vec<i32>, RegistryError> {
        Ok(self
            .versions_of(subject, deleted)?
            .iter()
            .map(|v| v.version)
            .collect())
    }

    /// One version of a subject.
    pub fn version(
        &self,
        subject: &str,
        spec: VersionSpec,
        deleted: bool,
    ) -> Result<SubjectVersion, RegistryError> {
        let versions = self.versions_of(subject, deleted)?;
        let found = match spec {
            VersionSpec::Latest => versions.last().cloned(),
            VersionSpec::Number(n) => versions.into_iter().find(|v| v.version == n),
        };
        found.ok_or_else(|| RegistryError::VersionNotFound {
            subject: subject.to_string(),
            version: match spec {
                VersionSpec::Number(n) => n,
                VersionSpec::Latest => -1,
            },
        })
    }

    /// Ids of schemas that reference a subject version.
    pub fn referenced_by(
        &self,
        subject: &str,
        spec: VersionSpec,
    ) -> Result<Vec<i32>, RegistryError> {
        let version = self.version(subject, spec, false)?;
        Ok(self.state().referenced_by(subject, version.version))
    }

    /// Checks that every reference names an existing subject version (Confluent refuses
    /// a schema with a dangling reference as invalid).
    fn check_references(&self, schema: &StoredSchema) -> Result<(), RegistryError> {
        for reference in &schema.references {
            self.version(&reference.subject, VersionSpec::Number(reference.version), false)
                .map_err(|_| {
                    RegistryError::InvalidSchema(format!(
                        "reference '{}' names subject '{}' version {}, which does not exist; register it first",
                        reference.name, reference.subject, reference.version
                    ))
                })?;
        }
        Ok(())
    }

    /// Registers a schema under a subject and returns its global id: the existing id when
    /// the subject already has this schema, the schema's id from another subject when it
    /// has one, else a new id. 409 when it breaks the subject's compatibility level.
    pub async fn register(
        &self,
        subject: &str,
        schema: StoredSchema,
    ) -> Result<i32, RegistryError> {
        self.check_references(&schema)?;
        let _guard = self.inner.write_lock.lock().await;
        for _ in 0..REGISTER_ATTEMPTS {
            let (id, version) = {
                let state = self.state();
                let live: Vec<SubjectVersion> = state
                    .versions(subject)
                    .into_iter()
                    .filter(|v| !v.deleted)
                    .collect();
                if let Some(existing) = live.iter().rev().find(|v| *v.schema == schema) {
                    return Ok(existing.id);
                }
                let level = state.effective_level(subject);
                let messages = compat::check(level, &schema, &live);
                if !messages.is_empty() {
                    return Err(RegistryError::Incompatible {
                        subject: subject.to_string(),
                        messages,
                    });
                }
                (
                    state.id_of(&schema).unwrap_or_else(|| state.next_id()),
                    state.next_version(subject),
                )
            };
            let record = SchemaRecord {
                subject: subject.to_string(),
                version,
                id,
                schema_type: schema.schema_type,
                references: schema.references.clone(),
                schema: schema.schema.clone(),
                deleted: false,
            };
            self.write(vec![LogRecord::Schema {
                subject: subject.to_string(),
                version,
                value: Some(record),
            }])
            .await?;
            let taken = self
                .state()
                .versions(subject)
                .into_iter()
                .any(|v| v.version == version && v.id == id && *v.schema == schema);
            if taken {
                tracing::info!(subject, version, id, "schema registered");
                return Ok(id);
            }
            tracing::info!(
                subject,
                version,
                id,
                "another registry took this id or version first; retrying"
            );
        }
        Err(RegistryError::Store(format!(
            "registering under subject '{subject}' lost {REGISTER_ATTEMPTS} races for an id with other registries sharing the schemas topic; retry the request"
        )))
    }

    /// The version of a subject that holds this schema (`POST /subjects/{s}`).
    pub fn lookup(
        &self,
        subject: &str,
        schema: &StoredSchema,
        deleted: bool,
    ) -> Result<SubjectVersion, RegistryError> {
        self.versions_of(subject, deleted)?
            .into_iter()
            .rev()
            .find(|v| *v.schema == *schema)
            .ok_or_else(|| RegistryError::SchemaNotFound("not found".into()))
    }

    fn soft_delete_record(version: &SubjectVersion, deleted: bool) -> LogRecord {
        LogRecord::Schema {
            subject: version.subject.clone(),
            version: version.version,
            value: Some(SchemaRecord {
                subject: version.subject.clone(),
                version: version.version,
                id: version.id,
                schema_type: version.schema.schema_type,
                references: version.schema.references.clone(),
                schema: version.schema.schema.clone(),
                deleted,
            }),
        }
    }

    /// Deletes a subject: soft (every live version marked deleted), or permanent (only
    /// after a soft delete; the records are tombstoned). Returns the deleted versions.
    pub async fn delete_subject(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<Vec<i32>, RegistryError> {
        let _guard = self.inner.write_lock.lock().await;
        let all = self.versions_of(subject, true)?;
        let live: Vec<&SubjectVersion> = all.iter().filter(|v| !v.deleted).collect();
        let (records, numbers): (Vec<LogRecord>, Vec<i32>) = if permanent {
            if !live.is_empty() {
                return Err(RegistryError::SubjectNotSoftDeleted(subject.to_string()));
            }
            let mut records: Vec<LogRecord> = all
                .iter()
                .map(|v| LogRecord::Schema {
                    subject: subject.to_string(),
                    version: v.version,
                    value: None,
                })
                .collect();
            if self.state().subject_level(subject).is_some() {
                records.push(LogRecord::Config {
                    subject: Some(subject.to_string()),
                    level: None,
                });
            }
            (records, all.iter().map(|v| v.version).collect())
        } else {
            if live.is_empty() {
                return Err(RegistryError::SubjectSoftDeleted(subject.to_string()));
            }
            (
                live.iter()
                    .map(|v| Self::soft_delete_record(v, true))
                    .collect(),
                live.iter().map(|v| v.version).collect(),
            )
        };
        self.write(records).await?;
        tracing::info!(subject, permanent, versions = ?numbers, "subject deleted");
        Ok(numbers)
    }

    /// Deletes one version of a subject: soft, or permanent after a soft delete.
    pub async fn delete_version(
        &self,
        subject: &str,
        spec: VersionSpec,
        permanent: bool,
    ) -> Result<i32, RegistryError> {
        let _guard = self.inner.write_lock.lock().await;
        let version = match spec {
            VersionSpec::Latest => self.version(subject, spec, permanent)?,
            VersionSpec::Number(_) => self.version(subject, spec, true)?,
        };
        if !permanent && version.deleted {
            return Err(RegistryError::VersionSoftDeleted {
                subject: subject.to_string(),
                version: version.version,
            });
        }
        let record = if permanent {
            if !version.deleted {
                return Err(RegistryError::VersionNotSoftDeleted {
                    subject: subject.to_string(),
                    version: version.version,
                });
            }
            LogRecord::Schema {
                subject: subject.to_string(),
                version: version.version,
                value: None,
            }
        } else {
            Self::soft_delete_record(&version, true)
        };
        self.write(vec![record]).await?;
        tracing::info!(
            subject,
            version = version.version,
            permanent,
            "subject version deleted"
        );
        Ok(version.version)
    }

    /// The global compatibility level.
    pub fn global_level(&self) -> CompatibilityLevel {
        self.state().global_level()
    }

    /// A subject's own level, if set.
    pub fn subject_level(&self, subject: &str) -> Option<CompatibilityLevel> {
        self.state().subject_level(subject)
    }

    /// Sets the global level (`subject: None`) or a subject's.
    pub async fn set_level(
        &self,
        subject: Option<&str>,
        level: CompatibilityLevel,
    ) -> Result<(), RegistryError> {
        let _guard = self.inner.write_lock.lock().await;
        self.write(vec![LogRecord::Config {
            subject: subject.map(str::to_string),
            level: Some(level),
        }])
        .await
    }

    /// Removes a subject's level; returns the level it had, or 40408.
    pub async fn delete_subject_level(
        &self,
        subject: &str,
    ) -> Result<CompatibilityLevel, RegistryError> {
        let _guard = self.inner.write_lock.lock().await;
        let level = self
            .subject_level(subject)
            .ok_or_else(|| RegistryError::SubjectConfigNotFound(subject.to_string()))?;
        self.write(vec![LogRecord::Config {
            subject: Some(subject.to_string()),
            level: None,
        }])
        .await?;
        Ok(level)
    }

    /// Tests a schema against a subject without registering it: against one version
    /// (`Some`), or against the versions the subject's level checks (`None`). Returns the
    /// incompatibilities; empty means compatible. A subject without versions accepts any
    /// schema when testing against `latest` or all versions.
    pub fn test_compatibility(
        &self,
        subject: &str,
        spec: Option<VersionSpec>,
        schema: &StoredSchema,
    ) -> Result<Vec<String>, RegistryError> {
        self.check_references(schema)?;
        let level = self.state().effective_level(subject);
        let previous = match spec {
            None | Some(VersionSpec::Latest) => match self.versions_of(subject, false) {
                Ok(versions) if spec.is_none() => versions,
                Ok(versions) => versions.last().cloned().into_iter().collect(),
                Err(RegistryError::SubjectNotFound(_)) => Vec::new(),
                Err(e) => return Err(e),
            },
            Some(spec) => vec![self.version(subject, spec, false)?],
        };
        Ok(compat::check(level, schema, &previous))
    }
}
