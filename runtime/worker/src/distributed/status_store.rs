//! Connector and task statuses in `status.storage.topic`, in Kafka Connect's
//! `KafkaStatusBackingStore` format: keys `status-connector-<name>` and
//! `status-task-<name>-<n>`, values `{"state":…,"trace":…,"worker_id":…,"generation":…}`.
//!
//! Why a stale worker cannot overwrite a newer status: every status carries the group
//! generation its writer was in when it wrote it. The reader ignores a status from a
//! *different* worker with an *older* generation than the one it holds (Kafka Connect's
//! rule), so a worker that lost a task in a rebalance and reports late cannot hide the
//! new owner's state; a worker's own later writes always replace its earlier ones.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::log::{KafkaLog, LogError};
use super::settings::DistributedConfig;

/// One status record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// `RUNNING`, `PAUSED`, `FAILED`, `UNASSIGNED`, `RESTARTING`, `STOPPED`, `DESTROYED`.
    pub state: String,
    /// Why it failed.
    pub trace: Option<String>,
    /// `host:port` of the worker that runs it.
    pub worker_id: String,
    /// The group generation of that worker when it wrote this.
    pub generation: i32,
}

/// `status-connector-<name>`.
pub fn connector_status_key(name: &str) -> String {
    format!("status-connector-{name}")
}

/// `status-task-<name>-<n>`.
pub fn task_status_key(name: &str, task: usize) -> String {
    format!("status-task-{name}-{task}")
}

/// The JSON value of a status.
pub fn status_value(status: &Status) -> Vec<u8> {
    serde_json::to_vec(status).unwrap_or_default()
}

/// What a status key names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Subject {
    Connector(String),
    Task(String, usize),
}

fn subject(key: &str) -> Option<Subject> {
    if let Some(name) = key.strip_prefix("status-connector-") {
        return Some(Subject::Connector(name.to_owned()));
    }
    let rest = key.strip_prefix("status-task-")?;
    let (name, n) = rest.rsplit_once('-')?;
    Some(Subject::Task(name.to_owned(), n.parse().ok()?))
}

/// `status-topic-<topic>:connector-<name>`: a topic the connector uses (KIP-558).
pub fn topic_status_key(name: &str, topic: &str) -> String {
    format!("status-topic-{topic}:connector-{name}")
}

/// Kafka Connect's topic status value.
pub fn topic_status_value(name: &str, topic: &str, task: usize, discovered_ms: i64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"topic": {
        "name": topic,
        "connector": name,
        "task": task,
        "discoverTimestamp": discovered_ms,
    }}))
    .unwrap_or_default()
}

/// (connector, topic) of a topic status key.
fn topic_subject(key: &str) -> Option<(String, String)> {
    let rest = key.strip_prefix("status-topic-")?;
    let (topic, name) = rest.rsplit_once(":connector-")?;
    Some((name.to_owned(), topic.to_owned()))
}

#[derive(Debug, Default)]
struct Statuses {
    by_subject: BTreeMap<Subject, Status>,
    /// Active topics per connector.
    topics: BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl Statuses {
    fn apply(&mut self, key: &str, value: Option<&[u8]>) {
        if let Some((name, topic)) = topic_subject(key) {
            let topics = self.topics.entry(name.clone()).or_default();
            if value.is_some() {
                topics.insert(topic);
            } else {
                topics.remove(&topic);
                if topics.is_empty() {
                    self.topics.remove(&name);
                }
            }
            return;
        }
        let Some(subject) = subject(key) else {
            // Anything newer: not used here.
            return;
        };
        let Some(value) = value else {
            self.by_subject.remove(&subject);
            return;
        };
        let Ok(status) = serde_json::from_slice::<Status>(value) else {
            tracing::warn!(key, "status topic: malformed status; ignored");
            return;
        };
        if let Some(held) = self.by_subject.get(&subject) {
            if held.worker_id != status.worker_id && status.generation < held.generation {
                tracing::debug!(key, stale = %status.worker_id, "status topic: stale status from an older generation ignored");
                return;
            }
        }
        self.by_subject.insert(subject, status);
    }
}

/// The status topic, read into memory.
#[derive(Debug)]
pub struct KafkaStatusStore {
    log: KafkaLog,
    statuses: Arc<Mutex<Statuses>>,
}

impl KafkaStatusStore {
    /// Creates the topic when missing and reads it to its end.
    pub async fn start(config: &DistributedConfig) -> Result<Self, LogError> {
        let statuses: Arc<Mutex<Statuses>> = Arc::default();
        let apply = statuses.clone();
        let log = KafkaLog::start(
            &config.worker,
            &config.status_topic,
            &format!("{}-statuses", config.group_id),
            Box::new(move |key, value, _, _| {
                apply
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .apply(&String::from_utf8_lossy(key), value);
            }),
        )
        .await?;
        Ok(KafkaStatusStore { log, statuses })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Statuses> {
        self.statuses.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes a connector's status.
    pub async fn put_connector(&self, name: &str, status: &Status) -> Result<(), LogError> {
        self.log
            .send(
                connector_status_key(name).as_bytes(),
                Some(&status_value(status)),
            )
            .await
            .map(drop)
    }

    /// Writes a task's status.
    pub async fn put_task(&self, name: &str, task: usize, status: &Status) -> Result<(), LogError> {
        self.log
            .send(
                task_status_key(name, task).as_bytes(),
                Some(&status_value(status)),
            )
            .await
            .map(drop)
    }

    /// Tombstones a deleted connector's statuses (its own and tasks `0..tasks`).
    pub async fn remove_connector(&self, name: &str, tasks: usize) -> Result<(), LogError> {
        self.log
            .send(connector_status_key(name).as_bytes(), None)
            .await?;
        for t in 0..tasks {
            self.log
                .send(task_status_key(name, t).as_bytes(), None)
                .await?;
        }
        Ok(())
    }

    /// Records that task `task` of `name` uses `topic`.
    pub async fn put_topic(&self, name: &str, topic: &str, task: usize) -> Result<(), LogError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.log
            .send(
                topic_status_key(name, topic).as_bytes(),
                Some(&topic_status_value(name, topic, task, now)),
            )
            .await
            .map(drop)
    }

    /// Forgets every topic of `name` (tombstones).
    pub async fn reset_topics(&self, name: &str) -> Result<(), LogError> {
        for topic in self.topics(name) {
            self.log
                .send(topic_status_key(name, &topic).as_bytes(), None)
                .await?;
        }
        Ok(())
    }

    /// The topics `name` uses, sorted.
    pub fn topics(&self, name: &str) -> Vec<String> {
        self.lock()
            .topics
            .get(name)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Reads to the end of the topic.
    pub async fn refresh(&self) -> Result<(), LogError> {
        self.log.read_to_end().await
    }

    /// A connector's status.
    pub fn connector(&self, name: &str) -> Option<Status> {
        self.lock()
            .by_subject
            .get(&Subject::Connector(name.to_owned()))
            .cloned()
    }

    /// A task's status.
    pub fn task(&self, name: &str, task: usize) -> Option<Status> {
        self.lock()
            .by_subject
            .get(&Subject::Task(name.to_owned(), task))
            .cloned()
    }

    /// Every task status of a connector, by task number.
    pub fn tasks(&self, name: &str) -> BTreeMap<usize, Status> {
        self.lock()
            .by_subject
            .iter()
            .filter_map(|(s, st)| match s {
                Subject::Task(c, n) if c == name => Some((*n, st.clone())),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: &str, worker: &str, generation: i32) -> Status {
        Status {
            state: state.into(),
            trace: None,
            worker_id: worker.into(),
            generation,
        }
    }

    #[test]
    fn values_are_kafka_connect_json() {
        assert_eq!(
            status_value(&status("RUNNING", "127.0.0.1:8083", 4)),
            br#"{"state":"RUNNING","trace":null,"worker_id":"127.0.0.1:8083","generation":4}"#
        );
        assert_eq!(connector_status_key("inv"), "status-connector-inv");
        assert_eq!(task_status_key("inv-2", 1), "status-task-inv-2-1");
        assert_eq!(
            subject("status-task-inv-2-1"),
            Some(Subject::Task("inv-2".into(), 1))
        );
    }

    #[test]
    fn an_older_generation_from_another_worker_is_ignored() {
        let mut s = Statuses::default();
        let key = "status-task-c-0";
        s.apply(key, Some(&status_value(&status("RUNNING", "b:1", 5))));
        s.apply(key, Some(&status_value(&status("UNASSIGNED", "a:1", 4))));
        assert_eq!(s.by_subject[&Subject::Task("c".into(), 0)].worker_id, "b:1");
        s.apply(key, Some(&status_value(&status("FAILED", "b:1", 5))));
        assert_eq!(s.by_subject[&Subject::Task("c".into(), 0)].state, "FAILED");
        s.apply(key, None);
        assert!(s.by_subject.is_empty());
    }
}
