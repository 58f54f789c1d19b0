//! The distributed herder: runs the connectors and tasks the group assigned to this
//! worker with the same task executors as standalone mode, records their statuses in
//! the status topic, and keeps the group's assignment in step with the config topic.
//!
//! Why a task runs only where it is assigned: tasks are started and stopped only by
//! [`GroupWork::apply`] (exactly the assigned set, stops awaited before it returns) and
//! [`GroupWork::stop_all`], both called by the coordinator, whose own note argues the
//! group-level guarantee. Task configs are written only by the leader (a follower that
//! runs the connector forwards them to the leader's REST URL), so the config topic has
//! one writer per generation, as in Kafka Connect.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::Progress;
use sluice_core::ConnectError;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

use super::config_store::KafkaConfigStore;
use super::coordinator::{ConfigView, GroupWork, Leadership};
use super::offset_store::KafkaOffsetStore;
use super::protocol::{Assignment, TaskKey};
use super::settings::DistributedConfig;
use super::status_store::{KafkaStatusStore, Status};
use crate::config::{validate_connector, ConnectorConfig};
use crate::kafka;
use crate::offsets::OffsetStore;
use crate::registry::Factory;
use crate::sink::SinkTaskRunner;
use crate::source::SourceTaskRunner;
use crate::task::{Converters, ErrorPolicy, StateInfo, TaskId};

struct RunningTask {
    config: ConfigMap,
    stop: watch::Sender<bool>,
    join: JoinHandle<()>,
}

#[derive(Default)]
struct Running {
    /// Connector instances and the config they last computed task configs from.
    connectors: BTreeMap<String, ConfigMap>,
    tasks: BTreeMap<TaskKey, RunningTask>,
}

/// The distributed herder of one worker.
pub struct DistributedHerder {
    /// The worker's settings.
    pub config: DistributedConfig,
    /// `host:port`, as statuses name this worker.
    pub worker_id: String,
    /// The config topic.
    pub configs: KafkaConfigStore,
    /// The offset topic.
    pub offsets: Arc<KafkaOffsetStore>,
    /// The status topic.
    pub statuses: KafkaStatusStore,
    /// Who leads the group now.
    pub leadership: watch::Receiver<Leadership>,
    running: Mutex<Running>,
    generation: AtomicI32,
}

impl std::fmt::Debug for DistributedHerder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistributedHerder")
            .field("worker_id", &self.worker_id)
            .finish()
    }
}

/// How a forwarded or local write failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// No leader is known (a rebalance is running): Kafka Connect's 409.
    #[error("Cannot complete request momentarily due to no known leader URL, likely because a rebalance is underway.")]
    NoLeader,
    /// The write or the forwarding failed.
    #[error("{0}")]
    Failed(String),
}

impl DistributedHerder {
    /// A herder over started stores.
    pub fn new(
        config: DistributedConfig,
        worker_id: String,
        configs: KafkaConfigStore,
        offsets: Arc<KafkaOffsetStore>,
        statuses: KafkaStatusStore,
        leadership: watch::Receiver<Leadership>,
    ) -> Self {
        DistributedHerder {
            config,
            worker_id,
            configs,
            offsets,
            statuses,
            leadership,
            running: Mutex::new(Running::default()),
            generation: AtomicI32::new(-1),
        }
    }

    fn status(&self, state: &str, trace: Option<String>) -> Status {
        Status {
            state: state.to_owned(),
            trace,
            worker_id: self.worker_id.clone(),
            generation: self.generation.load(Ordering::SeqCst),
        }
    }

    /// Where writes only the leader may do go: `None` when this worker leads.
    pub fn leader_url(&self) -> Result<Option<String>, WriteError> {
        let l = self.leadership.borrow();
        if l.is_leader {
            Ok(None)
        } else if l.leader_url.is_empty() {
            Err(WriteError::NoLeader)
        } else {
            Ok(Some(l.leader_url.clone()))
        }
    }

    /// Writes a connector's task configs as the leader, or forwards them to it
    /// (`POST {leader}/connectors/{name}/tasks`).
    pub async fn put_task_configs(
        &self,
        name: &str,
        tasks: Vec<ConfigMap>,
    ) -> Result<(), WriteError> {
        match self.leader_url()? {
            None => self
                .configs
                .put_task_configs(name, &tasks)
                .await
                .map_err(|e| WriteError::Failed(e.to_string())),
            Some(url) => {
                let body = serde_json::to_vec(&tasks).unwrap_or_default();
                forward(format!("{url}/connectors/{name}/tasks"), "POST", body)
                    .await
                    .map(drop)
            }
        }
    }

    /// Computes a running connector's task configs and publishes them when they differ
    /// from the committed ones.
    async fn reconfigure(self: &Arc<Self>, name: &str, props: &ConfigMap) {
        let result = async {
            let (infos, parsed) = validate_connector(props, &self.config.worker);
            let parsed = parsed.ok_or_else(|| {
                let errors: Vec<String> = infos.errors().into_iter().map(|(_, e)| e).collect();
                format!("invalid config: {}", errors.join("; "))
            })?;
            let tasks = match parsed.plugin.factory {
                Factory::Source { connector, .. } => {
                    let mut c = connector();
                    c.start(&parsed.originals)
                        .await
                        .map_err(|e| e.to_string())?;
                    c.task_configs(parsed.tasks_max)
                        .map_err(|e| e.to_string())?
                }
                Factory::Sink { connector, .. } => {
                    let mut c = connector();
                    c.start(&parsed.originals)
                        .await
                        .map_err(|e| e.to_string())?;
                    c.task_configs(parsed.tasks_max)
                        .map_err(|e| e.to_string())?
                }
                Factory::Converter(_) => {
                    return Err(format!("{} is not a connector", parsed.plugin.info.class))
                }
            };
            let committed = self.configs.snapshot().tasks.get(name).cloned();
            if committed.as_ref() != Some(&tasks) {
                self.put_task_configs(name, tasks)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        }
        .await;
        let status = match result {
            Ok(()) => self.status("RUNNING", None),
            Err(e) => {
                tracing::error!(connector = name, error = %e, "connector failed");
                self.status("FAILED", Some(e))
            }
        };
        if let Err(e) = self.statuses.put_connector(name, &status).await {
            tracing::warn!(connector = name, error = %e, "writing the connector status failed");
        }
    }

    fn start_task(
        self: &Arc<Self>,
        key: &TaskKey,
        config: &ConnectorConfig,
        task_config: ConfigMap,
    ) -> Result<RunningTask, ConnectError> {
        let id = TaskId {
            connector: key.0.clone(),
            task: key.1 as usize,
        };
        let state = Arc::new(std::sync::Mutex::new(StateInfo {
            state: "UNASSIGNED",
            worker_id: self.worker_id.clone(),
            trace: None,
            progress: None,
        }));
        let (stop, stop_rx) = watch::channel(false);
        let converters = Converters::for_connector(config)?;
        let worker = &self.config.worker;
        let policy = ErrorPolicy::for_task(worker, config, &id)?;
        let run: BoxFuture<'static, Result<(), ConnectError>> = match config.plugin.factory {
            Factory::Source { task, .. } => {
                let (producer, acks) = crate::source::create_producer(&kafka::producer_config(
                    worker,
                    &config.originals,
                    &format!("connector-producer-{id}"),
                ))
                .map_err(|e| ConnectError::Fatal(format!("creating the producer of {id}: {e}")))?;
                let offsets: Arc<dyn OffsetStore> = self.offsets.clone();
                let runner = SourceTaskRunner {
                    id: id.clone(),
                    task: task(),
                    config: task_config.clone(),
                    converters,
                    transforms: crate::chain::build(&config.originals)?,
                    policy,
                    producer,
                    acks,
                    // Topic tracking (status-topic-* records) is not kept in distributed mode yet.
                    topics: None,
                    offsets,
                    progress: Progress::default(),
                    flush_interval: worker.offset_flush_interval,
                    flush_timeout: worker.offset_flush_timeout,
                };
                Box::pin(runner.run(stop_rx, state))
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
                        worker,
                        &config.originals,
                        &config.name,
                        id.task,
                    ),
                    topics: config.topics.clone(),
                    topics_regex: config.topics_regex.clone(),
                    flush_interval: worker.offset_flush_interval,
                };
                Box::pin(runner.run(stop_rx, state))
            }
            Factory::Converter(_) => {
                return Err(ConnectError::Fatal(format!(
                    "{} is not a connector",
                    config.plugin.info.class
                )))
            }
        };
        let herder = self.clone();
        let join = tokio::spawn(async move {
            tracing::info!(task = %id, "assigned task started");
            let _ = herder
                .statuses
                .put_task(&id.connector, id.task, &herder.status("RUNNING", None))
                .await;
            let result = run.await;
            if let Err(e) = result {
                tracing::error!(task = %id, error = %e, "task failed");
                let _ = herder
                    .statuses
                    .put_task(
                        &id.connector,
                        id.task,
                        &herder.status("FAILED", Some(e.to_string())),
                    )
                    .await;
            }
        });
        Ok(RunningTask {
            config: task_config,
            stop,
            join,
        })
    }

    async fn stop_task(&self, key: &TaskKey, task: RunningTask) {
        let _ = task.stop.send(true);
        let timeout = self.config.worker.shutdown_timeout + self.config.worker.offset_flush_timeout;
        if tokio::time::timeout(timeout, task.join).await.is_err() {
            tracing::warn!(connector = %key.0, task = key.1, "task did not stop in time");
        }
        tracing::info!(connector = %key.0, task = key.1, "assigned task stopped");
        let _ = self
            .statuses
            .put_task(&key.0, key.1 as usize, &self.status("UNASSIGNED", None))
            .await;
    }

    /// Follows the config topic: asks for a rebalance when connectors or task counts
    /// change, recomputes the task configs of connectors whose config changed, and
    /// restarts tasks whose config changed. Runs until the store is dropped.
    pub async fn follow_configs(self: Arc<Self>, rejoin: watch::Sender<u64>) {
        let mut updates = self.configs.updates();
        let mut shape = shape(&self.configs.snapshot());
        while updates.changed().await.is_ok() {
            let snapshot = self.configs.snapshot();
            let now = shape_of(&snapshot);
            if now != shape {
                shape = now;
                rejoin.send_modify(|n| *n += 1);
            }
            let mut restart = Vec::new();
            let mut reconfigure = Vec::new();
            {
                let mut running = self.running.lock().await;
                for (name, props) in running.connectors.iter_mut() {
                    if let Some(current) = snapshot.connectors.get(name) {
                        if current != props {
                            *props = current.clone();
                            reconfigure.push((name.clone(), current.clone()));
                        }
                    }
                }
                for (key, task) in &running.tasks {
                    let committed = snapshot
                        .tasks
                        .get(&key.0)
                        .and_then(|t| t.get(key.1 as usize));
                    if committed.is_some_and(|c| *c != task.config) {
                        restart.push(key.clone());
                    }
                }
            }
            for (name, props) in reconfigure {
                let herder = self.clone();
                tokio::spawn(async move { herder.reconfigure(&name, &props).await });
            }
            for key in restart {
                let old = self.running.lock().await.tasks.remove(&key);
                if let Some(old) = old {
                    self.stop_task(&key, old).await;
                }
                self.start_assigned_task(&key, &snapshot).await;
            }
        }
    }

    async fn start_assigned_task(self: &Arc<Self>, key: &TaskKey, snapshot: &super::ClusterConfig) {
        let (Some(props), Some(task_config)) = (
            snapshot.connectors.get(&key.0),
            snapshot
                .tasks
                .get(&key.0)
                .and_then(|t| t.get(key.1 as usize)),
        ) else {
            return;
        };
        let (_, parsed) = validate_connector(props, &self.config.worker);
        let started = match parsed {
            Some(c) => self.start_task(key, &c, task_config.clone()),
            None => Err(ConnectError::Fatal(format!(
                "connector {} has an invalid config",
                key.0
            ))),
        };
        match started {
            Ok(t) => {
                self.running.lock().await.tasks.insert(key.clone(), t);
            }
            Err(e) => {
                tracing::error!(connector = %key.0, task = key.1, error = %e, "task could not start");
                let _ = self
                    .statuses
                    .put_task(
                        &key.0,
                        key.1 as usize,
                        &self.status("FAILED", Some(e.to_string())),
                    )
                    .await;
            }
        }
    }
}

type Shape = BTreeMap<String, usize>;

fn shape(c: &super::ClusterConfig) -> Shape {
    shape_of(c)
}

/// What an assignment depends on: the connectors and their task counts.
fn shape_of(c: &super::ClusterConfig) -> Shape {
    c.connectors
        .keys()
        .map(|n| (n.clone(), c.task_count(n)))
        .collect()
}

/// Sends a write to the leader; returns its answer body, or its error message.
pub async fn forward(
    url: String,
    method: &'static str,
    body: Vec<u8>,
) -> Result<Vec<u8>, WriteError> {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .into();
        let response = match method {
            "DELETE" => agent.delete(&url).call(),
            "PUT" => agent
                .put(&url)
                .header("content-type", "application/json")
                .send(&body[..]),
            _ => agent
                .post(&url)
                .header("content-type", "application/json")
                .send(&body[..]),
        };
        let mut response = response
            .map_err(|e| WriteError::Failed(format!("forwarding to the leader at {url}: {e}")))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_vec().unwrap_or_default();
        if status >= 400 {
            return Err(WriteError::Failed(format!(
                "the leader at {url} answered {status}: {}",
                String::from_utf8_lossy(&text)
            )));
        }
        Ok(text)
    })
    .await
    .map_err(|e| WriteError::Failed(format!("forwarding panicked: {e}")))?
}

impl GroupWork for Arc<DistributedHerder> {
    fn config_offset(&self) -> i64 {
        self.configs.snapshot().offset
    }

    fn read_config(&self, _offset: i64) -> BoxFuture<'_, Result<ConfigView, String>> {
        Box::pin(async move {
            let c = self.configs.refresh().await.map_err(|e| e.to_string())?;
            Ok(ConfigView {
                offset: c.offset,
                connectors: c.connectors.keys().cloned().collect(),
                tasks: c
                    .connectors
                    .keys()
                    .flat_map(|n| (0..c.task_count(n)).map(move |t| (n.clone(), t as u32)))
                    .collect(),
            })
        })
    }

    fn apply<'a>(&'a self, a: &'a Assignment, generation: i32) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.generation.store(generation, Ordering::SeqCst);
            let (stop_tasks, stop_connectors) = {
                let mut running = self.running.lock().await;
                let tasks: Vec<(TaskKey, RunningTask)> = {
                    let gone: Vec<TaskKey> = running
                        .tasks
                        .keys()
                        .filter(|k| !a.assigned.tasks.contains(*k))
                        .cloned()
                        .collect();
                    gone.into_iter()
                        .filter_map(|k| running.tasks.remove(&k).map(|t| (k, t)))
                        .collect()
                };
                let connectors: Vec<String> = running
                    .connectors
                    .keys()
                    .filter(|c| !a.assigned.connectors.contains(*c))
                    .cloned()
                    .collect();
                for c in &connectors {
                    running.connectors.remove(c);
                }
                (tasks, connectors)
            };
            for (key, task) in stop_tasks {
                self.stop_task(&key, task).await;
            }
            for c in stop_connectors {
                tracing::info!(connector = %c, "connector stopped");
            }
            let snapshot = self.configs.snapshot();
            for c in &a.assigned.connectors {
                let props = snapshot.connectors.get(c).cloned();
                let fresh = {
                    let mut running = self.running.lock().await;
                    match (&props, running.connectors.contains_key(c)) {
                        (Some(p), false) => {
                            running.connectors.insert(c.clone(), p.clone());
                            true
                        }
                        _ => false,
                    }
                };
                if let (true, Some(p)) = (fresh, props) {
                    tracing::info!(connector = %c, "connector started");
                    let herder = self.clone();
                    let name = c.clone();
                    tokio::spawn(async move { herder.reconfigure(&name, &p).await });
                }
            }
            for key in &a.assigned.tasks {
                if !self.running.lock().await.tasks.contains_key(key) {
                    self.start_assigned_task(key, &snapshot).await;
                }
            }
        })
    }

    fn stop_all(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let tasks = std::mem::take(&mut self.running.lock().await.tasks);
            self.running.lock().await.connectors.clear();
            for (key, task) in tasks {
                self.stop_task(&key, task).await;
            }
        })
    }
}
