//! The distributed herder: runs the connectors and tasks the group assigned to this
//! worker with the same task executors as standalone mode, records their statuses in
//! the status topic, and keeps them in step with the config topic (configs, target
//! states, restart requests). What the REST API asks of it is in [`super::api`].
//!
//! Why a task runs only where it is assigned: tasks are started only for keys in the
//! current assignment ([`GroupWork::apply`] keeps exactly the assigned set, stops
//! awaited before it returns; [`GroupWork::stop_all`] clears it), and every later start
//! (a config change, a resume, a restart request, an automatic restart) first checks
//! that the key is still assigned, under the same lock as the assignment change. Task
//! configs are written only by the leader (a follower that runs the connector forwards
//! them to the leader's REST URL), so the config topic has one writer per generation,
//! as in Kafka Connect.
//!
//! Why pause, stop and restart are seen everywhere: they are records of the config
//! topic, which every worker reads in one order; each worker acts on the records that
//! concern what it runs ([`DistributedHerder::follow_configs`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::Progress;
use sluice_core::ConnectError;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::config_store::{ClusterConfig, KafkaConfigStore, RestartRequest};
use super::coordinator::{ConfigView, GroupWork, Leadership};
use super::offset_store::KafkaOffsetStore;
use super::protocol::{Assignment, TaskKey};
use super::rest::forward;
use super::settings::DistributedConfig;
use super::status_store::{KafkaStatusStore, Status};
use crate::config::{connector_for_start, task_for_start, ConnectorConfig};
use crate::herder::topics::{ActiveTopics, TopicRecorder};
use crate::herder::TargetState;
use crate::kafka;
use crate::offsets::OffsetStore;
use crate::registry::Factory;
use crate::sink::SinkTaskRunner;
use crate::source::{SourceTaskRunner, TransactionSettings};
use crate::task::{Converters, ErrorPolicy, StateInfo, TaskId};

/// A task executor running in the background.
struct Executor {
    stop: watch::Sender<bool>,
    join: JoinHandle<()>,
    /// Which start this is, so a late report of an older executor is ignored.
    instance: u64,
    started: Instant,
}

/// A task assigned to this worker: its config and, unless paused or failed, its executor.
struct AssignedTask {
    config: ConfigMap,
    executor: Option<Executor>,
    /// Automatic restarts since the task last ran long enough to count as healthy.
    failures: u32,
}

/// A connector instance assigned to this worker.
struct OwnedConnector {
    props: ConfigMap,
    target: TargetState,
}

#[derive(Default)]
struct Running {
    connectors: BTreeMap<String, OwnedConnector>,
    tasks: BTreeMap<TaskKey, AssignedTask>,
    /// The offset of the last restart request seen per connector.
    restarts_seen: BTreeMap<String, i64>,
}

/// The distributed herder of one worker.
pub struct DistributedHerder {
    /// The worker's settings.
    pub config: DistributedConfig,
    /// `host:port`, as statuses name this worker.
    pub worker_id: String,
    /// This worker's REST URL (`http://host:port`).
    pub url: String,
    /// The config topic.
    pub configs: KafkaConfigStore,
    /// The offset topic.
    pub offsets: Arc<KafkaOffsetStore>,
    /// The status topic.
    pub statuses: Arc<KafkaStatusStore>,
    /// Who leads the group now.
    pub leadership: watch::Receiver<Leadership>,
    /// The Kafka cluster id, for `GET /`.
    pub kafka_cluster_id: Option<String>,
    running: Mutex<Running>,
    /// Held by the leader over each REST write, from reading the config topic to writing
    /// it, as Kafka Connect's herder thread runs one request at a time: two PATCHes never
    /// lose each other's keys, a create never races a delete.
    pub(super) writes: Mutex<()>,
    generation: AtomicI32,
    instances: AtomicU64,
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
    /// A rebalance is under way: Kafka Connect's 409.
    #[error("Cannot complete request because of a conflicting operation (e.g. worker rebalance)")]
    Rebalancing,
    /// The write or the forwarding failed.
    #[error("{0}")]
    Failed(String),
}

/// How long a connector keeps trying to hand its task configs to a leader that is
/// not known yet (a rebalance) before it shows FAILED.
const TASK_CONFIG_WRITE_TIMEOUT: Duration = Duration::from_secs(60);

impl DistributedHerder {
    /// A herder over started stores.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: DistributedConfig,
        worker_id: String,
        url: String,
        configs: KafkaConfigStore,
        offsets: Arc<KafkaOffsetStore>,
        statuses: KafkaStatusStore,
        leadership: watch::Receiver<Leadership>,
        kafka_cluster_id: Option<String>,
    ) -> Self {
        crate::metrics::global().set_worker_id(&worker_id);
        DistributedHerder {
            config,
            worker_id,
            url,
            configs,
            offsets,
            statuses: Arc::new(statuses),
            leadership,
            kafka_cluster_id,
            running: Mutex::new(Running::default()),
            writes: Mutex::new(()),
            generation: AtomicI32::new(-1),
            instances: AtomicU64::new(0),
        }
    }

    pub(super) fn status(&self, state: &str, trace: Option<String>) -> Status {
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
    /// (`POST {leader}/connectors/{name}/tasks`), waiting out a rebalance.
    pub async fn put_task_configs(
        &self,
        name: &str,
        tasks: Vec<ConfigMap>,
    ) -> Result<(), WriteError> {
        let deadline = Instant::now() + TASK_CONFIG_WRITE_TIMEOUT;
        loop {
            let result = match self.leader_url() {
                Ok(None) => self
                    .configs
                    .put_task_configs(name, &tasks)
                    .await
                    .map_err(|e| WriteError::Failed(e.to_string())),
                Ok(Some(url)) => {
                    let body = serde_json::to_vec(&tasks).unwrap_or_default();
                    let tasks_url = format!("{url}/connectors/{name}/tasks");
                    match forward(&self.config.worker, &tasks_url, "POST", body).await {
                        Ok(r) if r.status == 409 => Err(WriteError::Rebalancing),
                        Ok(r) if r.status >= 400 => Err(WriteError::Failed(format!(
                            "the leader at {url} answered {}: {}",
                            r.status,
                            String::from_utf8_lossy(&r.body)
                        ))),
                        Ok(_) => Ok(()),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            match result {
                Err(WriteError::NoLeader | WriteError::Rebalancing)
                    if Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                other => return other,
            }
        }
    }

    /// Starts (or restarts) a connector instance: computes its task configs and
    /// publishes them when they differ from the committed ones; a STOPPED connector
    /// only shows STOPPED.
    async fn reconfigure(self: &Arc<Self>, name: &str, props: &ConfigMap, target: TargetState) {
        if target == TargetState::Stopped {
            self.put_connector_status(name, self.status("STOPPED", None))
                .await;
            return;
        }
        let result = async {
            // Resolved now, at the connector's start, from the stored raw config.
            let parsed =
                connector_for_start(props, &self.config.worker).map_err(|e| e.to_string())?;
            let tasks = crate::herder::generate_task_configs(&parsed)
                .await
                .map_err(|e| e.to_string())?;
            let committed = self.configs.snapshot().tasks.get(name).cloned();
            if committed.as_ref() != Some(&tasks) {
                self.put_task_configs(name, tasks)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        }
        .instrument(tracing::error_span!("connector", connector = %name))
        .await;
        let status = match result {
            Ok(()) if target == TargetState::Paused => self.status("PAUSED", None),
            Ok(()) => self.status("RUNNING", None),
            Err(e) => {
                tracing::error!(connector = name, error = %e, "connector failed");
                self.status("FAILED", Some(e))
            }
        };
        self.put_connector_status(name, status).await;
    }

    async fn put_connector_status(&self, name: &str, status: Status) {
        if !self.configs.snapshot().connectors.contains_key(name) {
            return; // deleted meanwhile: its status is gone for good
        }
        if let Err(e) = self.statuses.put_connector(name, &status).await {
            tracing::warn!(connector = name, error = %e, "writing the connector status failed");
        }
    }

    async fn put_task_status(&self, key: &TaskKey, status: Status) {
        if !self.configs.snapshot().connectors.contains_key(&key.0) {
            return;
        }
        if let Err(e) = self
            .statuses
            .put_task(&key.0, key.1 as usize, &status)
            .await
        {
            tracing::warn!(connector = %key.0, task = key.1, error = %e, "writing the task status failed");
        }
    }

    /// Builds and spawns the executor of task `key`; its end is reported back to
    /// [`Self::task_ended`].
    fn spawn_task(
        self: &Arc<Self>,
        key: &TaskKey,
        config: &ConnectorConfig,
        task_config: ConfigMap,
    ) -> Result<Executor, ConnectError> {
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
        let task_config = task_for_start(&task_config, &self.config.worker)?;
        let converters = Converters::for_connector(config)?;
        let worker = &self.config.worker;
        let mut transforms = crate::chain::build(&config.originals)?;
        let recorder = worker.topic_tracking.then(|| {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
            let statuses = self.statuses.clone();
            let task_id = id.clone();
            tokio::spawn(async move {
                while let Some(topic) = rx.recv().await {
                    if let Err(e) = statuses
                        .put_topic(&task_id.connector, &topic, task_id.task)
                        .await
                    {
                        tracing::warn!(task = %task_id, topic, error = %e, "recording an active topic failed");
                    }
                }
            });
            TopicRecorder::new(Arc::new(ActiveTopics::notifying(tx)))
        });
        let policy = ErrorPolicy::for_task(worker, config, &id)?;
        let run: BoxFuture<'static, Result<(), ConnectError>> = match config.plugin.factory {
            Factory::Source { task, .. } => {
                let mut producer_config = kafka::producer_config(
                    worker,
                    &config.originals,
                    &format!("connector-producer-{id}"),
                );
                let transactions = self.transactions(config, &id, &mut producer_config);
                let (producer, acks) =
                    crate::source::create_producer(&producer_config).map_err(|e| {
                        ConnectError::Fatal(format!("creating the producer of {id}: {e}"))
                    })?;
                let offsets: Arc<dyn OffsetStore> = self.offsets.clone();
                let runner = SourceTaskRunner {
                    id: id.clone(),
                    task: task(),
                    config: task_config,
                    converters,
                    transforms,
                    policy,
                    producer,
                    acks,
                    topics: recorder,
                    offsets,
                    progress: Progress::default(),
                    flush_interval: worker.offset_flush_interval,
                    flush_timeout: worker.offset_flush_timeout,
                    transactions,
                };
                Box::pin(runner.run(stop_rx, state))
            }
            Factory::Sink { task, .. } => {
                if let Some(r) = recorder {
                    transforms.insert(0, Box::new(r));
                }
                let runner = SinkTaskRunner {
                    id: id.clone(),
                    task: task(),
                    config: task_config,
                    converters,
                    transforms,
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
        let instance = self.instances.fetch_add(1, Ordering::SeqCst);
        let herder = self.clone();
        let task_key = key.clone();
        let span = tracing::error_span!("task", connector = %id.connector, task = id.task);
        let run_task = async move {
            tracing::info!(task = %id, "assigned task started");
            herder
                .put_task_status(&task_key, herder.status("RUNNING", None))
                .await;
            if let Err(e) = run.await {
                herder.task_failed(task_key, instance, e).await;
            }
        };
        let join = tokio::spawn(run_task.instrument(span));
        Ok(Executor {
            stop,
            join,
            instance,
            started: Instant::now(),
        })
    }

    /// Exactly-once settings of a source task when the worker enables them, with the
    /// producer made transactional (`transactional.id` = `<group>-<connector>-<task>`).
    fn transactions(
        &self,
        config: &ConnectorConfig,
        id: &TaskId,
        producer: &mut rdkafka::ClientConfig,
    ) -> Option<TransactionSettings> {
        if !self.config.exactly_once_source {
            return None;
        }
        let get = |k: &str| config.originals.get(k).map(|v| v.trim().to_owned());
        let interval = (get("transaction.boundary").as_deref() == Some("interval")).then(|| {
            get("transaction.boundary.interval.ms")
                .and_then(|v| v.parse::<u64>().ok())
                .map_or(
                    self.config.worker.offset_flush_interval,
                    Duration::from_millis,
                )
        });
        producer
            .set(
                "transactional.id",
                format!("{}-{}-{}", self.config.group_id, id.connector, id.task),
            )
            .set("enable.idempotence", "true");
        Some(TransactionSettings {
            offset_topic: self.config.offset_topic.name.clone(),
            interval,
            timeout: Duration::from_secs(30),
        })
    }

    /// A task's executor failed: show FAILED and, when enabled, schedule its restart.
    async fn task_failed(self: Arc<Self>, key: TaskKey, instance: u64, error: ConnectError) {
        tracing::error!(connector = %key.0, task = key.1, error = %error, "task failed");
        self.put_task_status(&key, self.status("FAILED", Some(error.to_string())))
            .await;
        let Some(backoff) = self.config.auto_restart else {
            return;
        };
        let attempt = {
            let mut running = self.running.lock().await;
            let Some(t) = running.tasks.get_mut(&key) else {
                return;
            };
            if t.executor.as_ref().map(|e| e.instance) != Some(instance) {
                return;
            }
            let Some(ex) = t.executor.take() else {
                return;
            };
            if ex.started.elapsed() > backoff.max {
                t.failures = 0;
            }
            t.failures += 1;
            t.failures - 1
        };
        let wait = backoff.delay(attempt);
        tracing::info!(connector = %key.0, task = key.1, attempt = attempt + 1, wait_ms = wait.as_millis() as u64, "restarting the failed task after a backoff");
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            self.start_if_idle(&key).await;
        });
    }

    /// Stops a task's executor, waiting for it (bounded), then records `after`.
    async fn stop_executor(&self, key: &TaskKey, executor: Executor, after: &str) {
        let _ = executor.stop.send(true);
        let timeout = self.config.worker.shutdown_timeout + self.config.worker.offset_flush_timeout;
        if tokio::time::timeout(timeout, executor.join).await.is_err() {
            tracing::warn!(connector = %key.0, task = key.1, "task did not stop in time");
        }
        tracing::info!(connector = %key.0, task = key.1, state = after, "assigned task stopped");
        self.put_task_status(key, self.status(after, None)).await;
    }

    /// Starts the executor of an assigned task that has none, if its connector's
    /// target state is STARTED; PAUSED shows PAUSED.
    async fn start_if_idle(self: &Arc<Self>, key: &TaskKey) {
        let snapshot = self.configs.snapshot();
        let target = snapshot.target_state(&key.0);
        let mut running = self.running.lock().await;
        let Some(task) = running.tasks.get_mut(key) else {
            return; // no longer assigned here
        };
        if task.executor.is_some() {
            return;
        }
        if target != TargetState::Started {
            drop(running);
            self.put_task_status(key, self.status("PAUSED", None)).await;
            return;
        }
        let Some(props) = snapshot.connectors.get(&key.0) else {
            return;
        };
        let started = connector_for_start(props, &self.config.worker)
            .and_then(|c| self.spawn_task(key, &c, task.config.clone()));
        match started {
            Ok(e) => task.executor = Some(e),
            Err(e) => {
                drop(running);
                tracing::error!(connector = %key.0, task = key.1, error = %e, "task could not start");
                self.put_task_status(key, self.status("FAILED", Some(e.to_string())))
                    .await;
            }
        }
    }

    /// Stops an assigned task's executor (if any) and starts it again with `config`.
    async fn restart_local_task(self: &Arc<Self>, key: &TaskKey, config: Option<ConfigMap>) {
        let old = {
            let mut running = self.running.lock().await;
            let Some(t) = running.tasks.get_mut(key) else {
                return;
            };
            if let Some(c) = config {
                t.config = c;
            }
            t.failures = 0;
            t.executor.take()
        };
        if let Some(old) = old {
            self.stop_executor(key, old, "UNASSIGNED").await;
        }
        self.start_if_idle(key).await;
    }

    /// Restarts task `key` if this worker runs it; false when it does not.
    pub(super) async fn restart_task_here(self: &Arc<Self>, key: &TaskKey) -> bool {
        if !self.running.lock().await.tasks.contains_key(key) {
            return false;
        }
        self.restart_local_task(key, None).await;
        tracing::info!(connector = %key.0, task = key.1, "task restarted");
        true
    }

    /// Follows the config topic: asks for a rebalance when connectors or task counts
    /// change, and brings what this worker runs in line with the new configs, target
    /// states and restart requests. Runs until the store is dropped.
    pub async fn follow_configs(self: Arc<Self>, rejoin: watch::Sender<u64>) {
        let mut updates = self.configs.updates();
        let first = self.configs.snapshot();
        let mut shape = shape_of(&first);
        // Requests written before this worker started were carried out by the workers
        // of that time (Kafka Connect, too, acts only on requests read after start).
        self.running.lock().await.restarts_seen = first
            .restarts
            .iter()
            .map(|(n, (offset, _))| (n.clone(), *offset))
            .collect();
        while updates.changed().await.is_ok() {
            let snapshot = self.configs.snapshot();
            let now = shape_of(&snapshot);
            if now != shape {
                shape = now;
                rejoin.send_modify(|n| *n += 1);
            }
            self.reconcile(&snapshot).await;
        }
    }

    /// Brings the owned connectors and assigned tasks in line with `snapshot`.
    async fn reconcile(self: &Arc<Self>, snapshot: &ClusterConfig) {
        let mut reconfigure = Vec::new();
        let mut connector_states = Vec::new();
        let mut replace = Vec::new();
        let mut pause = Vec::new();
        let mut resume = Vec::new();
        let mut restarts = Vec::new();
        {
            let mut running = self.running.lock().await;
            let running = &mut *running;
            for (name, owned) in running.connectors.iter_mut() {
                let Some(props) = snapshot.connectors.get(name) else {
                    continue;
                };
                let target = snapshot.target_state(name);
                let config_changed = *props != owned.props;
                let was = std::mem::replace(&mut owned.target, target);
                owned.props = props.clone();
                if config_changed || (was == TargetState::Stopped && target != was) {
                    reconfigure.push((name.clone(), props.clone(), target));
                } else if was != target {
                    connector_states.push((name.clone(), target));
                }
            }
            for (key, task) in running.tasks.iter_mut() {
                let target = snapshot.target_state(&key.0);
                let committed = snapshot
                    .tasks
                    .get(&key.0)
                    .and_then(|t| t.get(key.1 as usize));
                if let Some(c) = committed.filter(|c| **c != task.config) {
                    replace.push((key.clone(), c.clone()));
                } else if target != TargetState::Started && task.executor.is_some() {
                    pause.push(key.clone());
                } else if target == TargetState::Started && task.executor.is_none() {
                    let failed = self
                        .statuses
                        .task(&key.0, key.1 as usize)
                        .is_some_and(|s| s.state == "FAILED" && s.worker_id == self.worker_id);
                    if !failed {
                        resume.push(key.clone());
                    }
                }
            }
            for (name, (offset, request)) in &snapshot.restarts {
                let seen = running.restarts_seen.insert(name.clone(), *offset);
                if seen.is_none_or(|s| s < *offset) {
                    restarts.push((name.clone(), request.clone()));
                }
            }
        }
        for (name, props, target) in reconfigure {
            let herder = self.clone();
            tokio::spawn(async move { herder.reconfigure(&name, &props, target).await });
        }
        for (name, target) in connector_states {
            let state = match target {
                TargetState::Started => "RUNNING",
                TargetState::Paused => "PAUSED",
                TargetState::Stopped => "STOPPED",
            };
            tracing::info!(connector = %name, state, "connector target state changed");
            self.put_connector_status(&name, self.status(state, None))
                .await;
        }
        for (key, config) in replace {
            self.restart_local_task(&key, Some(config)).await;
        }
        for key in pause {
            let executor = {
                let mut running = self.running.lock().await;
                running.tasks.get_mut(&key).and_then(|t| t.executor.take())
            };
            if let Some(e) = executor {
                self.stop_executor(&key, e, "PAUSED").await;
            }
        }
        for key in resume {
            self.start_if_idle(&key).await;
        }
        for (name, request) in restarts {
            self.carry_out_restart(&name, &request, snapshot).await;
        }
    }

    /// Restarts what a KIP-745 request selects among what this worker runs, judged by
    /// the statuses as they are now.
    async fn carry_out_restart(
        self: &Arc<Self>,
        name: &str,
        request: &RestartRequest,
        snapshot: &ClusterConfig,
    ) {
        let selects = |state: Option<Status>| {
            !request.only_failed || state.is_some_and(|s| s.state == "FAILED")
        };
        let (connector, tasks) = {
            let running = self.running.lock().await;
            let connector = running
                .connectors
                .get(name)
                .filter(|_| selects(self.statuses.connector(name)))
                .map(|c| (c.props.clone(), c.target));
            let tasks: Vec<TaskKey> = if request.include_tasks {
                running
                    .tasks
                    .keys()
                    .filter(|k| k.0 == name && selects(self.statuses.task(name, k.1 as usize)))
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            };
            (connector, tasks)
        };
        if let Some((props, target)) = connector {
            tracing::info!(connector = name, "connector restarting");
            self.put_connector_status(name, self.status("RESTARTING", None))
                .await;
            self.reconfigure(name, &props, target).await;
        }
        for key in tasks {
            tracing::info!(connector = name, task = key.1, "task restarting");
            let config = snapshot
                .tasks
                .get(name)
                .and_then(|t| t.get(key.1 as usize))
                .cloned();
            self.put_task_status(&key, self.status("RESTARTING", None))
                .await;
            self.restart_local_task(&key, config).await;
        }
    }
}

type Shape = BTreeMap<String, usize>;

/// What an assignment depends on: the connectors and their task counts.
fn shape_of(c: &ClusterConfig) -> Shape {
    c.connectors
        .keys()
        .map(|n| (n.clone(), c.task_count(n)))
        .collect()
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
            crate::metrics::global()
                .worker()
                .rebalance_completed(generation);
            let (stop_tasks, stop_connectors) = {
                let mut running = self.running.lock().await;
                let gone: Vec<TaskKey> = running
                    .tasks
                    .keys()
                    .filter(|k| !a.assigned.tasks.contains(*k))
                    .cloned()
                    .collect();
                let tasks: Vec<(TaskKey, Option<Executor>)> = gone
                    .into_iter()
                    .filter_map(|k| running.tasks.remove(&k).map(|t| (k, t.executor)))
                    .collect();
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
            for (key, executor) in stop_tasks {
                match executor {
                    Some(e) => self.stop_executor(&key, e, "UNASSIGNED").await,
                    None => tracing::info!(connector = %key.0, task = key.1, "idle task revoked"),
                }
            }
            for c in stop_connectors {
                tracing::info!(connector = %c, "connector stopped");
            }
            let snapshot = self.configs.snapshot();
            for c in &a.assigned.connectors {
                let Some(props) = snapshot.connectors.get(c) else {
                    continue;
                };
                let target = snapshot.target_state(c);
                let fresh = {
                    let mut running = self.running.lock().await;
                    if running.connectors.contains_key(c) {
                        false
                    } else {
                        running.connectors.insert(
                            c.clone(),
                            OwnedConnector {
                                props: props.clone(),
                                target,
                            },
                        );
                        true
                    }
                };
                if fresh {
                    tracing::info!(connector = %c, target = target.name(), "connector started");
                    let herder = self.clone();
                    let (name, props) = (c.clone(), props.clone());
                    tokio::spawn(async move { herder.reconfigure(&name, &props, target).await });
                }
            }
            for key in &a.assigned.tasks {
                let Some(config) = snapshot
                    .tasks
                    .get(&key.0)
                    .and_then(|t| t.get(key.1 as usize))
                else {
                    continue;
                };
                let fresh = {
                    let mut running = self.running.lock().await;
                    if running.tasks.contains_key(key) {
                        false
                    } else {
                        running.tasks.insert(
                            key.clone(),
                            AssignedTask {
                                config: config.clone(),
                                executor: None,
                                failures: 0,
                            },
                        );
                        true
                    }
                };
                if fresh {
                    self.start_if_idle(key).await;
                }
            }
        })
    }

    fn stop_all(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let tasks = {
                let mut running = self.running.lock().await;
                running.connectors.clear();
                std::mem::take(&mut running.tasks)
            };
            for (key, task) in tasks {
                if let Some(e) = task.executor {
                    self.stop_executor(&key, e, "UNASSIGNED").await;
                }
            }
        })
    }
}
