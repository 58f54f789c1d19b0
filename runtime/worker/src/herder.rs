//! The standalone herder: owns the connectors of one worker process, starts their
//! tasks, tracks their states for the REST API, and stops everything gracefully.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sluice_core::config::ConfigMap;
use sluice_core::plugin::{PluginType, Progress};
use sluice_core::ConnectError;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{ConnectorConfig, WorkerConfig};
use crate::kafka;
use crate::offsets::FileOffsetStore;
use crate::registry::Factory;
use crate::sink::SinkTaskRunner;
use crate::source::SourceTaskRunner;
use crate::task::{set_state, Converters, ErrorPolicy, SharedState, StateInfo, TaskId};

/// One task of a connector.
struct TaskHandle {
    config: ConfigMap,
    state: SharedState,
    progress: Progress,
    stop: watch::Sender<bool>,
    join: Option<JoinHandle<()>>,
}

/// One connector and its tasks.
struct ConnectorEntry {
    config: ConnectorConfig,
    state: SharedState,
    tasks: Vec<TaskHandle>,
}

/// What `GET /connectors/{n}` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectorInfo {
    /// Name.
    pub name: String,
    /// Config as given.
    pub config: ConfigMap,
    /// Task ids.
    pub tasks: Vec<TaskRef>,
    /// `source` or `sink`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `{"connector": …, "task": …}`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TaskRef {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task: usize,
}

/// What `GET /connectors/{n}/status` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectorStatus {
    /// Name.
    pub name: String,
    /// The connector's state.
    pub connector: StateInfo,
    /// Each task's state.
    pub tasks: Vec<TaskStatus>,
    /// `source` or `sink`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// A task's state with its id.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TaskStatus {
    /// Task number.
    pub id: usize,
    /// State fields.
    #[serde(flatten)]
    pub state: StateInfo,
}

/// Runs connectors in this process.
pub struct Herder {
    worker: WorkerConfig,
    worker_id: String,
    offsets: Arc<FileOffsetStore>,
    connectors: Mutex<BTreeMap<String, ConnectorEntry>>,
    /// The Kafka cluster id, for `GET /`.
    pub kafka_cluster_id: Option<String>,
}

impl Herder {
    /// A herder for `worker`, advertising itself as `worker_id` (host:port).
    pub fn new(
        worker: WorkerConfig,
        worker_id: String,
        offsets: Arc<FileOffsetStore>,
        kafka_cluster_id: Option<String>,
    ) -> Self {
        Herder {
            worker,
            worker_id,
            offsets,
            connectors: Mutex::new(BTreeMap::new()),
            kafka_cluster_id,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ConnectorEntry>> {
        self.connectors.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The worker's config.
    pub fn worker(&self) -> &WorkerConfig {
        &self.worker
    }

    fn state(&self, name: &'static str) -> SharedState {
        Arc::new(Mutex::new(StateInfo {
            state: name,
            worker_id: self.worker_id.clone(),
            trace: None,
            progress: None,
        }))
    }

    /// Starts a validated connector and its tasks.
    pub async fn start_connector(&self, config: ConnectorConfig) -> Result<(), ConnectError> {
        let name = config.name.clone();
        if self.lock().contains_key(&name) {
            return Err(ConnectError::Fatal(format!(
                "Connector {name} already exists"
            )));
        }
        let task_configs = match config.plugin.factory {
            Factory::Source { connector, .. } => {
                let mut c = connector();
                c.start(&config.originals).await?;
                c.task_configs(config.tasks_max)?
            }
            Factory::Sink { connector, .. } => {
                let mut c = connector();
                c.start(&config.originals).await?;
                c.task_configs(config.tasks_max)?
            }
            Factory::Converter(_) => {
                return Err(ConnectError::Fatal(format!(
                    "{} is not a connector",
                    config.plugin.info.class
                )))
            }
        };
        let mut tasks = Vec::with_capacity(task_configs.len());
        for (i, task_config) in task_configs.into_iter().enumerate() {
            tasks.push(self.start_task(&config, i, task_config)?);
        }
        tracing::info!(connector = %name, tasks = tasks.len(), "connector started");
        let entry = ConnectorEntry {
            config,
            state: self.state("RUNNING"),
            tasks,
        };
        self.lock().insert(name, entry);
        Ok(())
    }

    fn start_task(
        &self,
        config: &ConnectorConfig,
        index: usize,
        task_config: ConfigMap,
    ) -> Result<TaskHandle, ConnectError> {
        let id = TaskId {
            connector: config.name.clone(),
            task: index,
        };
        let state = self.state("UNASSIGNED");
        let (stop_tx, stop_rx) = watch::channel(false);
        let converters = Converters::for_connector(config)?;
        let policy = ErrorPolicy::of(config);
        let run_state = state.clone();
        let progress = Progress::default();
        let join = match config.plugin.factory {
            Factory::Source { task, .. } => {
                let (producer, acks) = crate::source::create_producer(&kafka::producer_config(
                    &self.worker,
                    &config.originals,
                    &format!("connector-producer-{id}"),
                ))
                .map_err(|e| ConnectError::Fatal(format!("creating the producer of {id}: {e}")))?;
                let runner = SourceTaskRunner {
                    id: id.clone(),
                    task: task(),
                    config: task_config.clone(),
                    converters,
                    transforms: crate::chain::build(&config.originals)?,
                    policy,
                    producer,
                    acks,
                    offsets: self.offsets.clone(),
                    progress: progress.clone(),
                    flush_interval: self.worker.offset_flush_interval,
                    flush_timeout: self.worker.offset_flush_timeout,
                };
                tokio::spawn(async move {
                    let result = runner.run(stop_rx, run_state.clone()).await;
                    finish(&id, &run_state, result);
                })
            }
            Factory::Sink { task, .. } => {
                let runner = SinkTaskRunner {
                    id: id.clone(),
                    task: task(),
                    config: task_config.clone(),
                    converters,
                    transforms: crate::chain::build(&config.originals)?,
                    policy,
                    consumer: kafka::consumer_config(
                        &self.worker,
                        &config.originals,
                        &config.name,
                        index,
                    ),
                    topics: config.topics.clone(),
                    topics_regex: config.topics_regex.clone(),
                    flush_interval: self.worker.offset_flush_interval,
                };
                tokio::spawn(async move {
                    let result = runner.run(stop_rx, run_state.clone()).await;
                    finish(&id, &run_state, result);
                })
            }
            Factory::Converter(_) => unreachable!("checked in start_connector"),
        };
        Ok(TaskHandle {
            config: task_config,
            state,
            progress,
            stop: stop_tx,
            join: Some(join),
        })
    }

    /// Connector names.
    pub fn connector_names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// `GET /connectors/{n}`.
    pub fn connector_info(&self, name: &str) -> Option<ConnectorInfo> {
        let map = self.lock();
        let e = map.get(name)?;
        Some(ConnectorInfo {
            name: name.to_owned(),
            config: e.config.originals.clone(),
            tasks: (0..e.tasks.len())
                .map(|task| TaskRef {
                    connector: name.to_owned(),
                    task,
                })
                .collect(),
            kind: kind_name(e.config.plugin.info.kind),
        })
    }

    /// `GET /connectors/{n}/status`.
    pub fn connector_status(&self, name: &str) -> Option<ConnectorStatus> {
        let map = self.lock();
        let e = map.get(name)?;
        let read = |s: &SharedState| s.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Some(ConnectorStatus {
            name: name.to_owned(),
            connector: read(&e.state),
            tasks: e
                .tasks
                .iter()
                .enumerate()
                .map(|(id, t)| {
                    let mut state = read(&t.state);
                    if state.state == "RUNNING" {
                        state.progress = t.progress.get();
                    }
                    TaskStatus { id, state }
                })
                .collect(),
            kind: kind_name(e.config.plugin.info.kind),
        })
    }

    /// `GET /connectors/{n}/tasks`: each task's id and config.
    pub fn task_configs(&self, name: &str) -> Option<Vec<(usize, ConfigMap)>> {
        let map = self.lock();
        let e = map.get(name)?;
        Some(
            e.tasks
                .iter()
                .enumerate()
                .map(|(i, t)| (i, t.config.clone()))
                .collect(),
        )
    }

    /// Stops one connector's tasks and forgets it; false when there is no such connector.
    pub async fn stop_connector(&self, name: &str) -> bool {
        let Some(mut entry) = self.lock().remove(name) else {
            return false;
        };
        let joins: Vec<_> = entry
            .tasks
            .iter_mut()
            .filter_map(|t| {
                let _ = t.stop.send(true);
                t.join.take()
            })
            .collect();
        let timeout = self.worker.shutdown_timeout + self.worker.offset_flush_timeout;
        for join in joins {
            if tokio::time::timeout(timeout, join).await.is_err() {
                tracing::warn!(connector = %name, "task did not stop in time");
            }
        }
        tracing::info!(connector = %name, "connector stopped and removed");
        true
    }

    /// Stops every task, waits up to the graceful timeout, and reports what did not stop.
    pub async fn stop_all(&self) {
        let mut joins = Vec::new();
        for (name, entry) in self.lock().iter_mut() {
            for (i, t) in entry.tasks.iter_mut().enumerate() {
                let _ = t.stop.send(true);
                if let Some(j) = t.join.take() {
                    joins.push((format!("{name}-{i}"), j));
                }
            }
        }
        let timeout = self.worker.shutdown_timeout + self.worker.offset_flush_timeout;
        for (id, join) in joins {
            if tokio::time::timeout(timeout, join).await.is_err() {
                tracing::warn!(task = %id, "task did not stop in time");
            }
        }
        for entry in self.lock().values() {
            set_state(&entry.state, "STOPPED", None);
        }
    }
}

fn finish(id: &TaskId, state: &SharedState, result: Result<(), ConnectError>) {
    match result {
        Ok(()) => set_state(state, "UNASSIGNED", None),
        Err(e) => {
            tracing::error!(task = %id, error = %e, "task failed");
            set_state(state, "FAILED", Some(e.to_string()));
        }
    }
}

/// `source` or `sink`.
pub fn kind_name(kind: PluginType) -> &'static str {
    match kind {
        PluginType::Sink => "sink",
        PluginType::Source => "source",
        other => other.name(),
    }
}
