//! Source offsets in `offset.storage.topic`, in Kafka Connect's `KafkaOffsetBackingStore`
//! format: key `["<connector>",{partition}]`, value the offset object (a tombstone
//! removes the partition's offset), both compact JSON.
//!
//! Why a task moved between workers never resumes behind what was committed:
//! [`KafkaOffsetStore::offsets_for`] reads the topic to its end before it answers, and
//! a commit returns only after the broker acknowledged every record of it (`acks=all`)
//! and the reader applied them. A task on its new worker starts only after the old one
//! stopped (the group's revocation protocol), so the old worker's last commit was
//! acknowledged before the new worker's read began. Keys are hashed with the Java
//! client's murmur2, so every worker — and Kafka Connect itself — writes a given source
//! partition's offsets into one partition of the topic, where the last write wins.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde_json::{json, Value as Json};
use sluice_core::record::OffsetMap;

use super::log::{KafkaLog, LogError};
use super::settings::DistributedConfig;
use crate::offsets::{OffsetError, OffsetStore};

/// `["<connector>",{partition}]` as compact JSON.
pub fn offset_key(connector: &str, partition: &OffsetMap) -> Vec<u8> {
    serde_json::to_vec(&json!([connector, partition])).unwrap_or_default()
}

/// The offset object as compact JSON.
pub fn offset_value(offset: &OffsetMap) -> Vec<u8> {
    serde_json::to_vec(offset).unwrap_or_default()
}

/// Reads a key back; `None` for anything else (Kafka Connect logs and skips those too).
pub fn parse_offset_key(key: &[u8]) -> Option<(String, OffsetMap)> {
    match serde_json::from_slice::<Json>(key).ok()? {
        Json::Array(mut items) if items.len() == 2 => {
            let partition = match items.pop()? {
                Json::Object(p) => p,
                _ => return None,
            };
            match items.pop()? {
                Json::String(c) => Some((c, partition)),
                _ => None,
            }
        }
        _ => None,
    }
}

type Entries = BTreeMap<Vec<u8>, (String, OffsetMap, OffsetMap)>;

/// Offsets in the offset topic; usable wherever a [`crate::offsets::FileOffsetStore`] is.
#[derive(Debug)]
pub struct KafkaOffsetStore {
    log: KafkaLog,
    entries: Arc<Mutex<Entries>>,
}

impl KafkaOffsetStore {
    /// Creates the topic when missing and reads it to its end.
    pub async fn start(config: &DistributedConfig) -> Result<Self, LogError> {
        let entries: Arc<Mutex<Entries>> = Arc::default();
        let apply_entries = entries.clone();
        let log = KafkaLog::start(
            &config.worker,
            &config.offset_topic,
            &format!("{}-offsets", config.group_id),
            Box::new(move |key, value, _, _| {
                let Some((connector, partition)) = parse_offset_key(key) else {
                    tracing::warn!(key = %String::from_utf8_lossy(key), "offset topic: key is not [\"<connector>\",{{partition}}]; ignored");
                    return;
                };
                let mut entries = apply_entries.lock().unwrap_or_else(|p| p.into_inner());
                match value.map(serde_json::from_slice::<Json>) {
                    Some(Ok(Json::Object(offset))) => {
                        entries.insert(key.to_vec(), (connector, partition, offset));
                    }
                    None | Some(Ok(Json::Null)) => {
                        entries.remove(key);
                    }
                    Some(_) => tracing::warn!(connector, "offset topic: value is not a JSON object; ignored"),
                }
            }),
        )
        .await?;
        Ok(KafkaOffsetStore { log, entries })
    }

    fn error(&self, e: LogError) -> OffsetError {
        OffsetError::Topic {
            topic: self.log.topic().to_owned(),
            reason: e.to_string(),
        }
    }

    /// Every (partition, offset) of `connector` applied so far, without reading to the end.
    pub fn cached_offsets_for(&self, connector: &str) -> Vec<(OffsetMap, OffsetMap)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .values()
            .filter(|(c, _, _)| c == connector)
            .map(|(_, p, o)| (p.clone(), o.clone()))
            .collect()
    }

    /// Sets (`Some`) or removes (`None`) offsets of `connector`'s partitions:
    /// `PATCH /connectors/{n}/offsets`.
    pub async fn alter(
        &self,
        connector: &str,
        offsets: Vec<(OffsetMap, Option<OffsetMap>)>,
    ) -> Result<(), OffsetError> {
        for (partition, offset) in offsets {
            let value = offset.as_ref().map(offset_value);
            self.log
                .send(&offset_key(connector, &partition), value.as_deref())
                .await
                .map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    /// Removes every offset of `connector`: `DELETE /connectors/{n}/offsets`.
    pub async fn reset(&self, connector: &str) -> Result<(), OffsetError> {
        self.log.read_to_end().await.map_err(|e| self.error(e))?;
        let partitions = self
            .cached_offsets_for(connector)
            .into_iter()
            .map(|(p, _)| (p, None))
            .collect();
        self.alter(connector, partitions).await
    }
}

impl OffsetStore for KafkaOffsetStore {
    fn offsets_for<'a>(
        &'a self,
        connector: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(OffsetMap, OffsetMap)>, OffsetError>> {
        Box::pin(async move {
            self.log.read_to_end().await.map_err(|e| self.error(e))?;
            Ok(self.cached_offsets_for(connector))
        })
    }

    fn commit<'a>(
        &'a self,
        connector: &'a str,
        offsets: Vec<(OffsetMap, OffsetMap)>,
    ) -> BoxFuture<'a, Result<(), OffsetError>> {
        Box::pin(async move {
            self.alter(
                connector,
                offsets.into_iter().map(|(p, o)| (p, Some(o))).collect(),
            )
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_are_kafka_connect_json() {
        let Json::Object(partition) = json!({"server": "shop"}) else {
            unreachable!()
        };
        let Json::Object(offset) = json!({"file": "binlog.000003", "pos": 154}) else {
            unreachable!()
        };
        assert_eq!(
            offset_key("inventory", &partition),
            br#"["inventory",{"server":"shop"}]"#
        );
        assert_eq!(
            offset_value(&offset),
            br#"{"file":"binlog.000003","pos":154}"#
        );
        assert_eq!(
            parse_offset_key(br#"["inventory",{"server":"shop"}]"#),
            Some(("inventory".to_owned(), partition))
        );
        assert_eq!(parse_offset_key(br#"{"not":"an array"}"#), None);
        assert_eq!(parse_offset_key(b"garbage"), None);
    }
}
