//! The standalone offset store: one JSON file holding, per connector and source
//! partition, the last offset whose record Kafka acknowledged.
//!
//! Entries use Kafka Connect's offset key format, `["<connector>", {partition}]`, with
//! the offset object as value. Every commit rewrites the whole file through a temp
//! file, `fsync`, `rename` and a directory `fsync`, so after a crash the file holds
//! either the previous commit or the new one, never a torn mix.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use futures::future::BoxFuture;
use serde_json::{json, Value as Json};
use sluice_core::plugin::partition_key;
use sluice_core::record::OffsetMap;

/// A failure to read or write the offset file.
#[derive(Debug, thiserror::Error)]
pub enum OffsetError {
    /// The file exists but cannot be read or parsed.
    #[error("offset file {path}: {reason}; fix or move the file (moving it re-reads every source from the start)")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The offset topic failed (distributed mode).
    #[error("offset topic {topic}: {reason}")]
    Topic {
        /// `offset.storage.topic`.
        topic: String,
        /// What went wrong.
        reason: String,
    },
    /// Writing failed.
    #[error("writing offset file {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Where a source task's committed offsets live: a local file ([`FileOffsetStore`],
/// standalone) or `offset.storage.topic` (distributed mode's `KafkaOffsetStore`).
///
/// `offsets_for` answers what was committed before it was called, also by other
/// workers (a store shared between workers reads its log to the end first), so a task
/// moved to another worker resumes where the last one committed.
pub trait OffsetStore: Send + Sync + std::fmt::Debug {
    /// Every (partition, offset) of `connector`.
    fn offsets_for<'a>(
        &'a self,
        connector: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(OffsetMap, OffsetMap)>, OffsetError>>;

    /// Records new offsets for `connector`; returns once they are durable.
    fn commit<'a>(
        &'a self,
        connector: &'a str,
        offsets: Vec<(OffsetMap, OffsetMap)>,
    ) -> BoxFuture<'a, Result<(), OffsetError>>;
}

impl OffsetStore for FileOffsetStore {
    fn offsets_for<'a>(
        &'a self,
        connector: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(OffsetMap, OffsetMap)>, OffsetError>> {
        let offsets = FileOffsetStore::offsets_for(self, connector);
        Box::pin(async move { Ok(offsets) })
    }

    fn commit<'a>(
        &'a self,
        connector: &'a str,
        offsets: Vec<(OffsetMap, OffsetMap)>,
    ) -> BoxFuture<'a, Result<(), OffsetError>> {
        let result = FileOffsetStore::commit(self, connector, offsets);
        Box::pin(async move { result })
    }
}

#[derive(Debug, Clone)]
struct Entry {
    connector: String,
    partition: OffsetMap,
    offset: OffsetMap,
}

/// Offsets in a local file.
#[derive(Debug)]
pub struct FileOffsetStore {
    path: PathBuf,
    entries: Mutex<BTreeMap<String, Entry>>,
}

fn entry_key(connector: &str, partition: &OffsetMap) -> String {
    format!("{}\u{0}{}", connector, partition_key(partition))
}

impl FileOffsetStore {
    /// Opens (or starts) the store at `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, OffsetError> {
        let path = path.into();
        let corrupt = |reason: String| OffsetError::Corrupt {
            path: path.display().to_string(),
            reason,
        };
        let mut entries = BTreeMap::new();
        match std::fs::read(&path) {
            Ok(bytes) if !bytes.is_empty() => {
                let doc: Json = serde_json::from_slice(&bytes)
                    .map_err(|e| corrupt(format!("not JSON: {e}")))?;
                let list = doc
                    .get("offsets")
                    .and_then(Json::as_array)
                    .ok_or_else(|| corrupt("no \"offsets\" array".into()))?;
                for item in list {
                    let (Some(key), Some(Json::Object(offset))) = (item.get(0), item.get(1)) else {
                        return Err(corrupt(format!("entry {item} is not [key, offset]")));
                    };
                    let (Some(Json::String(connector)), Some(Json::Object(partition))) =
                        (key.get(0), key.get(1))
                    else {
                        return Err(corrupt(format!(
                            "key {key} is not [\"<connector>\", {{partition}}]"
                        )));
                    };
                    entries.insert(
                        entry_key(connector, partition),
                        Entry {
                            connector: connector.clone(),
                            partition: partition.clone(),
                            offset: offset.clone(),
                        },
                    );
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(corrupt(format!("cannot read: {e}"))),
        }
        Ok(FileOffsetStore {
            path,
            entries: Mutex::new(entries),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every (partition, offset) of `connector`.
    pub fn offsets_for(&self, connector: &str) -> Vec<(OffsetMap, OffsetMap)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .values()
            .filter(|e| e.connector == connector)
            .map(|e| (e.partition.clone(), e.offset.clone()))
            .collect()
    }

    /// Records new offsets for `connector` and writes the file.
    pub fn commit(
        &self,
        connector: &str,
        offsets: impl IntoIterator<Item = (OffsetMap, OffsetMap)>,
    ) -> Result<(), OffsetError> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut changed = false;
        for (partition, offset) in offsets {
            changed = true;
            entries.insert(
                entry_key(connector, &partition),
                Entry {
                    connector: connector.to_owned(),
                    partition,
                    offset,
                },
            );
        }
        if !changed {
            return Ok(());
        }
        self.write_all(&entries)
    }

    /// Sets (`Some`) or removes (`None`) the offsets of `connector`'s partitions and
    /// writes the file: `PATCH /connectors/{n}/offsets`.
    pub fn alter(
        &self,
        connector: &str,
        offsets: impl IntoIterator<Item = (OffsetMap, Option<OffsetMap>)>,
    ) -> Result<(), OffsetError> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        for (partition, offset) in offsets {
            let key = entry_key(connector, &partition);
            match offset {
                Some(offset) => {
                    entries.insert(
                        key,
                        Entry {
                            connector: connector.to_owned(),
                            partition,
                            offset,
                        },
                    );
                }
                None => {
                    entries.remove(&key);
                }
            }
        }
        self.write_all(&entries)
    }

    /// Removes every offset of `connector` and writes the file:
    /// `DELETE /connectors/{n}/offsets`.
    pub fn reset(&self, connector: &str) -> Result<(), OffsetError> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, e| e.connector != connector);
        self.write_all(&entries)
    }

    fn write_all(&self, entries: &BTreeMap<String, Entry>) -> Result<(), OffsetError> {
        let list: Vec<Json> = entries
            .values()
            .map(|e| json!([[e.connector, e.partition], e.offset]))
            .collect();
        let doc = json!({ "version": 1, "offsets": list });
        self.write(&serde_json::to_vec(&doc).unwrap_or_default())
    }

    fn write(&self, bytes: &[u8]) -> Result<(), OffsetError> {
        let err = |source| OffsetError::Write {
            path: self.path.display().to_string(),
            source,
        };
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(bytes).map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        std::fs::rename(&tmp, &self.path).map_err(err)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(err)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Json) -> OffsetMap {
        match v {
            Json::Object(m) => m,
            _ => OffsetMap::new(),
        }
    }

    #[test]
    fn commits_survive_reopen_in_kafka_connect_key_format() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("connect.offsets");
        let store = FileOffsetStore::open(&path).expect("open");
        store
            .commit(
                "src",
                [(map(json!({"filename": "a"})), map(json!({"position": 10})))],
            )
            .expect("commit");
        store
            .commit(
                "src",
                [(map(json!({"filename": "a"})), map(json!({"position": 20})))],
            )
            .expect("commit");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            r#"{"version":1,"offsets":[[["src",{"filename":"a"}],{"position":20}]]}"#
        );
        let again = FileOffsetStore::open(&path).expect("reopen");
        assert_eq!(
            again.offsets_for("src"),
            vec![(map(json!({"filename": "a"})), map(json!({"position": 20})))]
        );
        assert!(again.offsets_for("other").is_empty());
    }

    #[test]
    fn alter_sets_and_removes_and_reset_keeps_other_connectors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("connect.offsets");
        let store = FileOffsetStore::open(&path).expect("open");
        let (a, b) = (map(json!({"filename": "a"})), map(json!({"filename": "b"})));
        store
            .commit("src", [(a.clone(), map(json!({"position": 10})))])
            .expect("commit");
        store
            .commit("other", [(a.clone(), map(json!({"position": 5})))])
            .expect("commit");
        store
            .alter(
                "src",
                [
                    (a.clone(), None),
                    (b.clone(), Some(map(json!({"position": 3})))),
                ],
            )
            .expect("alter");
        let again = FileOffsetStore::open(&path).expect("reopen");
        assert_eq!(
            again.offsets_for("src"),
            vec![(b, map(json!({"position": 3})))]
        );
        again.reset("src").expect("reset");
        let again = FileOffsetStore::open(&path).expect("reopen");
        assert!(again.offsets_for("src").is_empty());
        assert_eq!(
            again.offsets_for("other"),
            vec![(a, map(json!({"position": 5})))]
        );
    }

    #[test]
    fn corrupt_file_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("connect.offsets");
        std::fs::write(&path, "{nope").expect("write");
        let e = FileOffsetStore::open(&path).expect_err("corrupt");
        assert!(e.to_string().contains("connect.offsets"), "{e}");
    }
}
