//! Connector configs, task configs and target states in `config.storage.topic`, in
//! Kafka Connect's `KafkaConfigBackingStore` keys and JSON values:
//!
//! | key | value |
//! |---|---|
//! | `connector-<name>` | `{"properties":{…}}`, tombstone on delete |
//! | `task-<name>-<n>` | `{"properties":{…}}` |
//! | `commit-<name>` | `{"tasks":<count>}` |
//! | `target-state-<name>` | `{"state":"STARTED"\|"PAUSED","state.v2":"STARTED"\|"PAUSED"\|"STOPPED"}` |
//! | `restart-connector-<name>` | `{"include-tasks":bool,"only-failed":bool}` |
//!
//! Why a worker never runs a half-written set of task configs: task records are held
//! aside until the `commit-<name>` record that counts them; only then, and only if every
//! task `0..count` was seen since the last commit, does the set replace the connector's
//! tasks (otherwise the connector is marked inconsistent until the next complete commit),
//! exactly as Kafka Connect does. The topic has one partition, so every worker applies
//! the records in one order, and [`ClusterConfig::offset`] (the next offset to read)
//! names a state every worker at that offset shares: the group leader reads at least to
//! the highest offset any member reports before it assigns.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sluice_core::config::ConfigMap;
use tokio::sync::watch;

use super::log::{KafkaLog, LogError};
use super::settings::DistributedConfig;

pub use crate::herder::TargetState;

/// A restart asked for through `POST /connectors/{n}/restart` (KIP-745).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartRequest {
    /// Restart the tasks too.
    pub include_tasks: bool,
    /// Only what is FAILED.
    pub only_failed: bool,
}

/// The cluster's configuration as of one offset of the config topic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterConfig {
    /// The next offset of the config topic: every record before it is applied.
    pub offset: i64,
    /// Connector configs.
    pub connectors: BTreeMap<String, ConfigMap>,
    /// Target states (a connector without one is STARTED).
    pub target_states: BTreeMap<String, TargetState>,
    /// Committed task configs per connector, in task order.
    pub tasks: BTreeMap<String, Vec<ConfigMap>>,
    /// Connectors whose last commit named tasks that were never written.
    pub inconsistent: BTreeSet<String>,
    /// The last restart request of each connector (KIP-745), with the offset of the
    /// record that asked for it: workers carry out requests newer than they have seen.
    pub restarts: BTreeMap<String, (i64, RestartRequest)>,
}

impl ClusterConfig {
    /// The target state of `connector`.
    pub fn target_state(&self, connector: &str) -> TargetState {
        self.target_states
            .get(connector)
            .copied()
            .unwrap_or(TargetState::Started)
    }

    /// How many committed tasks `connector` has (0 when inconsistent).
    pub fn task_count(&self, connector: &str) -> usize {
        if self.inconsistent.contains(connector) {
            return 0;
        }
        self.tasks.get(connector).map_or(0, Vec::len)
    }
}

/// What the reader applies records to.
#[derive(Debug, Default)]
struct State {
    config: ClusterConfig,
    /// Task configs written but not yet committed.
    deferred: BTreeMap<String, BTreeMap<usize, ConfigMap>>,
}

#[derive(Serialize, Deserialize)]
struct Properties {
    properties: BTreeMap<String, Option<String>>,
}

#[derive(Serialize, Deserialize)]
struct Commit {
    tasks: i64,
}

#[derive(Serialize, Deserialize)]
struct Target {
    state: String,
    #[serde(rename = "state.v2", default, skip_serializing_if = "Option::is_none")]
    state_v2: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Restart {
    #[serde(rename = "include-tasks", default)]
    include_tasks: bool,
    #[serde(rename = "only-failed", default)]
    only_failed: bool,
}

/// `connector-<name>`.
pub fn connector_key(name: &str) -> String {
    format!("connector-{name}")
}
/// `task-<name>-<n>`.
pub fn task_key(name: &str, task: usize) -> String {
    format!("task-{name}-{task}")
}
/// `commit-<name>`.
pub fn commit_key(name: &str) -> String {
    format!("commit-{name}")
}
/// `target-state-<name>`.
pub fn target_state_key(name: &str) -> String {
    format!("target-state-{name}")
}
/// `restart-connector-<name>`.
pub fn restart_key(name: &str) -> String {
    format!("restart-connector-{name}")
}

/// `{"properties":{…}}`: a connector's or task's config.
pub fn properties_value(config: &ConfigMap) -> Vec<u8> {
    let props: BTreeMap<&String, &String> = config.iter().collect();
    serde_json::to_vec(&json!({ "properties": props })).unwrap_or_default()
}
/// `{"tasks":<count>}`.
pub fn commit_value(tasks: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({ "tasks": tasks })).unwrap_or_default()
}
/// `{"state":…,"state.v2":…}`; STOPPED is `PAUSED` for workers that predate it.
pub fn target_state_value(state: TargetState) -> Vec<u8> {
    let v1 = if state == TargetState::Stopped {
        TargetState::Paused
    } else {
        state
    };
    serde_json::to_vec(&Target {
        state: v1.name().to_owned(),
        state_v2: Some(state.name().to_owned()),
    })
    .unwrap_or_default()
}
/// `{"include-tasks":…,"only-failed":…}`.
pub fn restart_value(request: &RestartRequest) -> Vec<u8> {
    serde_json::to_vec(&Restart {
        include_tasks: request.include_tasks,
        only_failed: request.only_failed,
    })
    .unwrap_or_default()
}

fn properties(value: &[u8]) -> Option<ConfigMap> {
    let p: Properties = serde_json::from_slice(value).ok()?;
    Some(
        p.properties
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect(),
    )
}

impl State {
    /// Kafka Connect's `ConsumeCallback`: one record of the config topic.
    fn apply(&mut self, key: &str, value: Option<&[u8]>, offset: i64) {
        self.config.offset = offset + 1;
        let c = &mut self.config;
        if let Some(name) = key.strip_prefix("target-state-") {
            match value.and_then(|v| serde_json::from_slice::<Target>(v).ok()) {
                Some(t) => {
                    let state = t.state_v2.as_deref().and_then(TargetState::parse);
                    match state.or_else(|| TargetState::parse(&t.state)) {
                        Some(s) => {
                            c.target_states.insert(name.to_owned(), s);
                        }
                        None => tracing::warn!(key, "config topic: unknown target state; ignored"),
                    }
                }
                None if value.is_none() => {
                    c.target_states.remove(name);
                }
                None => tracing::warn!(key, "config topic: malformed target state; ignored"),
            }
        } else if let Some(name) = key.strip_prefix("connector-") {
            match value {
                None => {
                    c.connectors.remove(name);
                    c.target_states.remove(name);
                    c.tasks.remove(name);
                    c.inconsistent.remove(name);
                    c.restarts.remove(name);
                    self.deferred.remove(name);
                }
                Some(v) => match properties(v) {
                    Some(props) => {
                        c.connectors.insert(name.to_owned(), props);
                    }
                    None => {
                        tracing::warn!(key, "config topic: malformed connector config; ignored")
                    }
                },
            }
        } else if let Some(rest) = key.strip_prefix("task-") {
            let parsed = rest
                .rsplit_once('-')
                .and_then(|(name, n)| Some((name, n.parse::<usize>().ok()?)));
            match (parsed, value.and_then(properties)) {
                (Some((name, n)), Some(props)) => {
                    self.deferred
                        .entry(name.to_owned())
                        .or_default()
                        .insert(n, props);
                }
                _ => tracing::warn!(key, "config topic: malformed task config; ignored"),
            }
        } else if let Some(name) = key.strip_prefix("commit-") {
            let Some(commit) = value.and_then(|v| serde_json::from_slice::<Commit>(v).ok()) else {
                tracing::warn!(key, "config topic: malformed task commit; ignored");
                return;
            };
            let count = usize::try_from(commit.tasks).unwrap_or(0);
            let mut deferred = self.deferred.remove(name).unwrap_or_default();
            if (0..count).all(|i| deferred.contains_key(&i)) {
                let tasks = (0..count).filter_map(|i| deferred.remove(&i)).collect();
                c.tasks.insert(name.to_owned(), tasks);
                c.inconsistent.remove(name);
            } else {
                tracing::error!(connector = name, tasks = count, "config topic: a task commit names tasks that were never written; the connector's tasks stay stopped until its tasks are written again");
                c.inconsistent.insert(name.to_owned());
            }
        } else if let Some(name) = key.strip_prefix("restart-connector-") {
            match value.and_then(|v| serde_json::from_slice::<Restart>(v).ok()) {
                Some(r) => {
                    c.restarts.insert(
                        name.to_owned(),
                        (
                            offset,
                            RestartRequest {
                                include_tasks: r.include_tasks,
                                only_failed: r.only_failed,
                            },
                        ),
                    );
                }
                None => {
                    c.restarts.remove(name);
                }
            }
        } else {
            // session-key, task-count-record-*, logger-cluster-*: not used here.
            tracing::debug!(key, "config topic: record not used by sluice");
        }
    }
}

/// Errors of the config store.
pub type ConfigStoreError = LogError;

/// The config topic, read into a [`ClusterConfig`].
#[derive(Debug)]
pub struct KafkaConfigStore {
    log: KafkaLog,
    state: Arc<Mutex<State>>,
    updates: watch::Receiver<i64>,
}

impl KafkaConfigStore {
    /// Creates the topic when missing and reads it to its end.
    pub async fn start(config: &DistributedConfig) -> Result<Self, ConfigStoreError> {
        let state = Arc::new(Mutex::new(State::default()));
        let (tx, updates) = watch::channel(0);
        let apply_state = state.clone();
        let log = KafkaLog::start(
            &config.worker,
            &config.config_topic,
            &format!("{}-configs", config.group_id),
            Box::new(move |key, value, _partition, offset| {
                let key = String::from_utf8_lossy(key);
                apply_state
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .apply(&key, value, offset);
                let _ = tx.send(offset + 1);
            }),
        )
        .await?;
        if log.partition_count() != 1 {
            return Err(LogError::Topic {
                topic: log.topic().to_owned(),
                reason: format!("config.storage.topic must have exactly one partition (so every worker reads configs in one order), it has {}; name a new topic", log.partition_count()),
            });
        }
        Ok(KafkaConfigStore {
            log,
            state,
            updates,
        })
    }

    /// The configuration as applied so far.
    pub fn snapshot(&self) -> ClusterConfig {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .config
            .clone()
    }

    /// Changes whenever a record is applied (to the next offset).
    pub fn updates(&self) -> watch::Receiver<i64> {
        self.updates.clone()
    }

    /// Reads to the end of the topic.
    pub async fn refresh(&self) -> Result<ClusterConfig, ConfigStoreError> {
        self.log.read_to_end().await?;
        Ok(self.snapshot())
    }

    /// Writes a connector's config, and its target state when given.
    pub async fn put_connector_config(
        &self,
        name: &str,
        config: &ConfigMap,
        target: Option<TargetState>,
    ) -> Result<(), ConfigStoreError> {
        if let Some(t) = target {
            self.log
                .send(
                    target_state_key(name).as_bytes(),
                    Some(&target_state_value(t)),
                )
                .await?;
        }
        self.log
            .send(
                connector_key(name).as_bytes(),
                Some(&properties_value(config)),
            )
            .await?;
        Ok(())
    }

    /// Deletes a connector: tombstones for its config and target state.
    pub async fn remove_connector(&self, name: &str) -> Result<(), ConfigStoreError> {
        self.log.send(connector_key(name).as_bytes(), None).await?;
        self.log
            .send(target_state_key(name).as_bytes(), None)
            .await?;
        Ok(())
    }

    /// Writes a connector's task configs, then the commit that makes them current.
    pub async fn put_task_configs(
        &self,
        name: &str,
        tasks: &[ConfigMap],
    ) -> Result<(), ConfigStoreError> {
        self.log.read_to_end().await?;
        for (i, t) in tasks.iter().enumerate() {
            self.log
                .send(task_key(name, i).as_bytes(), Some(&properties_value(t)))
                .await?;
        }
        self.log
            .send(
                commit_key(name).as_bytes(),
                Some(&commit_value(tasks.len())),
            )
            .await?;
        Ok(())
    }

    /// Writes a target state.
    pub async fn put_target_state(
        &self,
        name: &str,
        state: TargetState,
    ) -> Result<(), ConfigStoreError> {
        self.log
            .send(
                target_state_key(name).as_bytes(),
                Some(&target_state_value(state)),
            )
            .await?;
        Ok(())
    }

    /// Writes a restart request; `None` clears it once carried out.
    pub async fn put_restart_request(
        &self,
        name: &str,
        request: Option<&RestartRequest>,
    ) -> Result<(), ConfigStoreError> {
        let value = request.map(restart_value);
        self.log
            .send(restart_key(name).as_bytes(), value.as_deref())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn values_are_kafka_connect_bytes() {
        assert_eq!(
            properties_value(&cfg(&[("tasks.max", "2"), ("connector.class", "X")])),
            br#"{"properties":{"connector.class":"X","tasks.max":"2"}}"#
        );
        assert_eq!(commit_value(3), br#"{"tasks":3}"#);
        assert_eq!(
            target_state_value(TargetState::Stopped),
            br#"{"state":"PAUSED","state.v2":"STOPPED"}"#
        );
        assert_eq!(
            target_state_value(TargetState::Started),
            br#"{"state":"STARTED","state.v2":"STARTED"}"#
        );
        assert_eq!(
            restart_value(&RestartRequest {
                include_tasks: true,
                only_failed: false
            }),
            br#"{"include-tasks":true,"only-failed":false}"#
        );
    }

    #[test]
    fn tasks_apply_only_on_a_complete_commit() {
        let mut s = State::default();
        s.apply("connector-a-b", Some(br#"{"properties":{"k":"v"}}"#), 0);
        s.apply("task-a-b-0", Some(br#"{"properties":{"t":"0"}}"#), 1);
        assert_eq!(s.config.task_count("a-b"), 0, "no commit yet");
        s.apply("task-a-b-1", Some(br#"{"properties":{"t":"1"}}"#), 2);
        s.apply("commit-a-b", Some(br#"{"tasks":2}"#), 3);
        assert_eq!(
            s.config.tasks["a-b"],
            vec![cfg(&[("t", "0")]), cfg(&[("t", "1")])]
        );
        assert_eq!(s.config.offset, 4);
        s.apply("commit-a-b", Some(br#"{"tasks":1}"#), 4);
        assert!(
            s.config.inconsistent.contains("a-b"),
            "task 0 not rewritten"
        );
        assert_eq!(s.config.task_count("a-b"), 0);
        // A target state written by an older Kafka Connect (no state.v2) still reads.
        s.apply("target-state-a-b", Some(br#"{"state":"PAUSED"}"#), 5);
        assert_eq!(s.config.target_state("a-b"), TargetState::Paused);
        s.apply(
            "target-state-a-b",
            Some(br#"{"state":"PAUSED","state.v2":"STOPPED"}"#),
            6,
        );
        assert_eq!(s.config.target_state("a-b"), TargetState::Stopped);
        s.apply("connector-a-b", None, 7);
        assert!(s.config.connectors.is_empty() && s.config.tasks.is_empty());
        assert_eq!(s.config.target_state("a-b"), TargetState::Started);
    }
}
