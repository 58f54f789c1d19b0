//! The standalone herder: owns the connectors of one worker process, starts and stops
//! their tasks as their target states say, and answers the REST API's calls.
//!
//! Why the states are right:
//! - Every call that changes a connector holds one async lock (`ops`) from start to end,
//!   as Kafka Connect's standalone herder is `synchronized`: a pause never interleaves
//!   with a restart or a config update of the same worker, so a call sees the connector
//!   as the previous call left it.
//! - PAUSED and STOPPED stop the task executors and wait for them (bounded by
//!   `task.shutdown.graceful.timeout.ms` + `offset.flush.timeout.ms`): a stopping source
//!   task flushes its producer and commits the acknowledged prefix, so when a pause
//!   call returns no record is produced any more, and a resume starts new executors from
//!   exactly the committed offsets. A paused task keeps its config and shows PAUSED; a
//!   stopped connector has no tasks at all (Kafka Connect writes an empty task list), so
//!   offsets can be changed without a task racing to overwrite them.
//! - Each executor reports into its own state cell; a pause, restart or stop replaces the
//!   cell, so an executor that outlived its stop timeout cannot overwrite the new state.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sluice_core::config::ConfigMap;
use sluice_core::plugin::Progress;
use sluice_core::ConnectError;
use tracing::Instrument as _;

use super::executors::{self, Running, TaskSlot};
use super::topics::ActiveTopics;
use super::{
    kind_name, not_stopped, ConnectorInfo, ConnectorOffset, ConnectorStatus, Created, Herder,
    HerderError, HerderResult, RestartRequest, TargetState, TaskRef, TaskStatus, OFFSETS_ALTERED,
    OFFSETS_RESET,
};
use crate::config::{validate_connector, ConnectorConfig, WorkerConfig};
use crate::offsets::FileOffsetStore;
use crate::registry::Factory;
use crate::task::{set_state, SharedState, StateInfo};

/// One connector and its tasks.
struct ConnectorEntry {
    config: ConnectorConfig,
    target: TargetState,
    state: SharedState,
    tasks: Vec<TaskSlot>,
    topics: Arc<ActiveTopics>,
}

/// Runs connectors in this process.
pub struct StandaloneHerder {
    worker: WorkerConfig,
    worker_id: String,
    offsets: Arc<FileOffsetStore>,
    connectors: Mutex<BTreeMap<String, ConnectorEntry>>,
    ops: tokio::sync::Mutex<()>,
    kafka_cluster_id: Option<String>,
}

fn read(s: &SharedState) -> StateInfo {
    s.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn internal(e: impl std::fmt::Display) -> HerderError {
    HerderError::Internal(e.to_string())
}

/// The state a connector shows for a target state.
fn shown(target: TargetState) -> &'static str {
    match target {
        TargetState::Started => "RUNNING",
        TargetState::Paused => "PAUSED",
        TargetState::Stopped => "STOPPED",
    }
}

impl StandaloneHerder {
    /// A herder for `worker`, advertising itself as `worker_id` (host:port).
    pub fn new(
        worker: WorkerConfig,
        worker_id: String,
        offsets: Arc<FileOffsetStore>,
        kafka_cluster_id: Option<String>,
    ) -> Self {
        crate::metrics::global().set_worker_id(&worker_id);
        StandaloneHerder {
            worker,
            worker_id,
            offsets,
            connectors: Mutex::new(BTreeMap::new()),
            ops: tokio::sync::Mutex::new(()),
            kafka_cluster_id,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ConnectorEntry>> {
        self.connectors.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn state(&self, name: &'static str, trace: Option<String>) -> SharedState {
        Arc::new(Mutex::new(StateInfo {
            state: name,
            worker_id: self.worker_id.clone(),
            trace,
            progress: None,
        }))
    }

    /// Starts a validated connector (from a file at startup) in `initial_state`.
    pub async fn start_connector(
        &self,
        config: ConnectorConfig,
        initial_state: TargetState,
    ) -> Result<(), ConnectError> {
        let _op = self.ops.lock().await;
        let name = config.name.clone();
        if self.lock().contains_key(&name) {
            return Err(ConnectError::Fatal(format!(
                "Connector {name} already exists"
            )));
        }
        self.install(config, initial_state, None).await?;
        Ok(())
    }

    /// Puts a validated connector in place (replacing one of the same name, whose tasks
    /// stop first) with `target`, starting its tasks when the target is STARTED.
    /// `topics` carries the recorded topics over from a replaced connector.
    async fn install(
        &self,
        config: ConnectorConfig,
        target: TargetState,
        topics: Option<Arc<ActiveTopics>>,
    ) -> Result<(), ConnectError> {
        let name = config.name.clone();
        // Resolved now, at the connector's start, from the stored raw config.
        let config = crate::config::connector_for_start(&config.raw, &self.worker)?;
        tracing::info!(connector = %name, config = ?crate::config::redacted(&config.originals, Some(&config)), "connector config");
        let task_configs = if target == TargetState::Stopped {
            Vec::new()
        } else {
            super::generate_task_configs(&config)
                .instrument(tracing::error_span!("connector", connector = %name))
                .await?
        };
        let old = self.lock().remove(&name);
        if let Some(old) = old {
            self.stop_tasks(&name, old.tasks).await;
        }
        let topics = topics.unwrap_or_default();
        let tasks = task_configs
            .into_iter()
            .enumerate()
            .map(|(i, task_config)| self.slot(&config, i, task_config, target, &topics))
            .collect::<Vec<_>>();
        tracing::info!(connector = %name, tasks = tasks.len(), target = ?target, "connector configured");
        let entry = ConnectorEntry {
            state: self.state(shown(target), None),
            config,
            target,
            tasks,
            topics,
        };
        self.lock().insert(name, entry);
        Ok(())
    }

    /// A task slot: started when `target` is STARTED, else PAUSED without an executor.
    fn slot(
        &self,
        config: &ConnectorConfig,
        index: usize,
        task_config: ConfigMap,
        target: TargetState,
        topics: &Arc<ActiveTopics>,
    ) -> TaskSlot {
        let mut slot = TaskSlot {
            config: task_config,
            state: self.state("PAUSED", None),
            progress: Progress::default(),
            running: None,
        };
        if target == TargetState::Started {
            self.start_task(config, index, &mut slot, topics);
        }
        slot
    }

    /// Starts an executor for `slot`; a failure to build it shows as FAILED.
    fn start_task(
        &self,
        config: &ConnectorConfig,
        index: usize,
        slot: &mut TaskSlot,
        topics: &Arc<ActiveTopics>,
    ) {
        slot.state = self.state("UNASSIGNED", None);
        slot.progress = Progress::default();
        match executors::spawn(&self.worker, &self.offsets, config, index, slot, topics) {
            Ok(running) => slot.running = Some(running),
            Err(e) => {
                tracing::error!(connector = %config.name, task = index, error = %e, "task could not start");
                set_state(&slot.state, "FAILED", Some(e.to_string()));
            }
        }
    }

    /// Signals every executor of `tasks` to stop and waits for them.
    async fn stop_tasks(&self, connector: &str, tasks: impl IntoIterator<Item = TaskSlot>) {
        let runs = tasks.into_iter().filter_map(|t| t.running);
        self.stop_runs(connector, runs.collect()).await;
    }

    async fn stop_runs(&self, connector: &str, runs: Vec<Running>) {
        executors::stop(&self.worker, connector, runs).await;
    }

    /// Takes the executors of the tasks `which` selects out of `name`'s slots, setting
    /// each selected slot to a fresh `state`.
    fn take_runs(
        &self,
        name: &str,
        state: &'static str,
        which: impl Fn(usize) -> bool,
    ) -> Vec<Running> {
        let mut map = self.lock();
        let Some(entry) = map.get_mut(name) else {
            return Vec::new();
        };
        let mut runs = Vec::new();
        for (i, slot) in entry.tasks.iter_mut().enumerate() {
            if which(i) {
                runs.extend(slot.running.take());
                slot.state = self.state(state, None);
            }
        }
        runs
    }

    /// Starts executors for the selected slots of `name` that have none and did not fail.
    fn start_idle_tasks(&self, name: &str, which: impl Fn(usize, &str) -> bool) {
        let mut map = self.lock();
        let Some(entry) = map.get_mut(name) else {
            return;
        };
        let topics = entry.topics.clone();
        let config = entry.config.clone();
        for (i, slot) in entry.tasks.iter_mut().enumerate() {
            let state = read(&slot.state).state;
            if slot.running.is_none() && which(i, state) {
                self.start_task(&config, i, slot, &topics);
            }
        }
    }

    fn status_of(&self, name: &str) -> Option<ConnectorStatus> {
        let map = self.lock();
        let e = map.get(name)?;
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

    fn info_of(&self, name: &str) -> Option<ConnectorInfo> {
        let map = self.lock();
        let e = map.get(name)?;
        Some(ConnectorInfo {
            name: name.to_owned(),
            config: e.config.raw.clone(),
            tasks: (0..e.tasks.len())
                .map(|task| TaskRef {
                    connector: name.to_owned(),
                    task,
                })
                .collect(),
            kind: kind_name(e.config.plugin.info.kind),
        })
    }

    /// Re-asks the connector for its task configs (a connector restart); when they
    /// changed and the target is STARTED, replaces the tasks. A failure shows as FAILED.
    async fn restart_connector_instance(&self, name: &str) -> HerderResult<()> {
        let Some((config, target)) = self.lock().get(name).map(|e| (e.config.clone(), e.target))
        else {
            return Err(HerderError::NotFound(format!("Connector {name} not found")));
        };
        if target == TargetState::Stopped {
            if let Some(e) = self.lock().get_mut(name) {
                e.state = self.state("STOPPED", None);
            }
            return Ok(());
        }
        let span = tracing::error_span!("connector", connector = %name);
        let configs = match super::generate_task_configs(&config).instrument(span).await {
            Ok(c) => c,
            Err(err) => {
                if let Some(e) = self.lock().get_mut(name) {
                    e.state = self.state("FAILED", Some(err.to_string()));
                }
                tracing::error!(connector = %name, error = %err, "connector restart failed");
                return Err(internal(err));
            }
        };
        let changed = {
            let mut map = self.lock();
            let Some(e) = map.get_mut(name) else {
                return Ok(());
            };
            e.state = self.state(shown(target), None);
            e.tasks.len() != configs.len()
                || e.tasks.iter().zip(&configs).any(|(t, c)| &t.config != c)
        };
        if changed {
            let topics = self.lock().get(name).map(|e| e.topics.clone());
            self.install(config, target, topics)
                .await
                .map_err(internal)?;
        }
        tracing::info!(connector = %name, tasks_replaced = changed, "connector restarted");
        Ok(())
    }

    /// Stops every task, waits up to the graceful timeout, and marks everything stopped.
    pub async fn stop_all(&self) {
        let _op = self.ops.lock().await;
        let names = self.connector_names();
        for name in names {
            let runs = self.take_runs(&name, "UNASSIGNED", |_| true);
            self.stop_runs(&name, runs).await;
        }
        for entry in self.lock().values() {
            set_state(&entry.state, "STOPPED", None);
        }
    }

    /// Connector names, sorted.
    pub fn connector_names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }
}

#[async_trait::async_trait]
impl Herder for StandaloneHerder {
    fn worker(&self) -> &WorkerConfig {
        &self.worker
    }

    fn kafka_cluster_id(&self) -> Option<String> {
        self.kafka_cluster_id.clone()
    }

    async fn connectors(&self) -> HerderResult<Vec<String>> {
        Ok(self.connector_names())
    }

    async fn connector_info(&self, name: &str) -> HerderResult<ConnectorInfo> {
        self.info_of(name)
            .ok_or_else(|| HerderError::NotFound(format!("Connector {name} not found")))
    }

    async fn connector_status(&self, name: &str) -> HerderResult<ConnectorStatus> {
        self.status_of(name)
            .ok_or_else(|| HerderError::NotFound(format!("No status found for connector {name}")))
    }

    async fn task_status(&self, name: &str, task: usize) -> HerderResult<TaskStatus> {
        self.status_of(name)
            .and_then(|s| s.tasks.into_iter().find(|t| t.id == task))
            .ok_or_else(|| HerderError::NotFound(format!("No status found for task {name}-{task}")))
    }

    async fn task_configs(&self, name: &str) -> HerderResult<Vec<(usize, ConfigMap)>> {
        let map = self.lock();
        let e = map
            .get(name)
            .ok_or_else(|| HerderError::NotFound(format!("Connector {name} not found")))?;
        Ok(e.tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (i, t.config.clone()))
            .collect())
    }

    async fn put_connector_config(
        &self,
        name: &str,
        config: ConfigMap,
        initial_state: Option<TargetState>,
        allow_replace: bool,
    ) -> HerderResult<Created<ConnectorInfo>> {
        let _op = self.ops.lock().await;
        self.put_config_locked(name, config, initial_state, allow_replace)
            .await
    }

    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> HerderResult<ConnectorInfo> {
        // One lock over read, merge and write: two patches never lose each other's keys.
        let _op = self.ops.lock().await;
        let mut config = self
            .lock()
            .get(name)
            .map(|e| e.config.raw.clone())
            .ok_or_else(|| HerderError::NotFound(format!("Connector {name} not found")))?;
        crate::herder::merge_patch(&mut config, patch);
        Ok(self
            .put_config_locked(name, config, None, true)
            .await?
            .value)
    }

    async fn delete_connector(&self, name: &str) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        let entry = self
            .lock()
            .remove(name)
            .ok_or_else(|| HerderError::NotFound(format!("Connector {name} not found")))?;
        entry.topics.reset();
        self.stop_tasks(name, entry.tasks).await;
        tracing::info!(connector = %name, "connector stopped and removed");
        Ok(())
    }

    async fn pause_connector(&self, name: &str) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        {
            let mut map = self.lock();
            let e = map
                .get_mut(name)
                .ok_or_else(|| HerderError::NotFound(format!("Unknown connector {name}")))?;
            if e.target == TargetState::Paused {
                return Ok(());
            }
            e.target = TargetState::Paused;
            e.state = self.state("PAUSED", None);
        }
        let runs = self.take_runs(name, "PAUSED", |_| true);
        self.stop_runs(name, runs).await;
        tracing::info!(connector = %name, "connector paused");
        Ok(())
    }

    async fn resume_connector(&self, name: &str) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        let (target, config, no_tasks) = {
            let map = self.lock();
            let e = map
                .get(name)
                .ok_or_else(|| HerderError::NotFound(format!("Unknown connector {name}")))?;
            (e.target, e.config.clone(), e.tasks.is_empty())
        };
        if target == TargetState::Started {
            return Ok(());
        }
        if no_tasks {
            // Resuming a STOPPED connector: it needs its tasks again.
            let topics = self.lock().get(name).map(|e| e.topics.clone());
            if let Err(err) = self.install(config, TargetState::Started, topics).await {
                if let Some(e) = self.lock().get_mut(name) {
                    e.target = TargetState::Started;
                    e.state = self.state("FAILED", Some(err.to_string()));
                }
                tracing::error!(connector = %name, error = %err, "connector failed to resume");
            }
        } else {
            if let Some(e) = self.lock().get_mut(name) {
                e.target = TargetState::Started;
                e.state = self.state("RUNNING", None);
            }
            self.start_idle_tasks(name, |_, state| state != "FAILED");
        }
        tracing::info!(connector = %name, "connector resumed");
        Ok(())
    }

    async fn stop_connector(&self, name: &str) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        let tasks = {
            let mut map = self.lock();
            let e = map
                .get_mut(name)
                .ok_or_else(|| HerderError::NotFound(format!("Unknown connector {name}")))?;
            e.target = TargetState::Stopped;
            e.state = self.state("STOPPED", None);
            std::mem::take(&mut e.tasks)
        };
        self.stop_tasks(name, tasks).await;
        tracing::info!(connector = %name, "connector stopped");
        Ok(())
    }

    async fn restart_connector(&self, name: &str) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        self.restart_connector_instance(name).await
    }

    async fn restart_connector_and_tasks(
        &self,
        request: RestartRequest,
    ) -> HerderResult<ConnectorStatus> {
        let _op = self.ops.lock().await;
        let name = request.connector.clone();
        let mut plan = self
            .status_of(&name)
            .ok_or_else(|| HerderError::NotFound(format!("Unknown connector: {name}")))?;
        let restart_connector = request.restarts_connector(plan.connector.state);
        if restart_connector {
            plan.connector.state = "RESTARTING";
            plan.connector.trace = None;
        }
        let mut restart_tasks = Vec::new();
        for t in &mut plan.tasks {
            if request.restarts_task(t.state.state) {
                restart_tasks.push(t.id);
                t.state.state = "RESTARTING";
                t.state.trace = None;
                t.state.progress = None;
            }
        }
        tracing::info!(connector = %name, connector_restarts = restart_connector, tasks = ?restart_tasks, "restart requested");
        if restart_connector {
            if let Err(e) = self.restart_connector_instance(&name).await {
                tracing::error!(connector = %name, error = %e, "connector restart failed");
            }
        }
        if !restart_tasks.is_empty() {
            let target = self.lock().get(&name).map(|e| e.target);
            let after = if target == Some(TargetState::Started) {
                "UNASSIGNED"
            } else {
                "PAUSED"
            };
            let runs = self.take_runs(&name, after, |i| restart_tasks.contains(&i));
            self.stop_runs(&name, runs).await;
            if target == Some(TargetState::Started) {
                self.start_idle_tasks(&name, |i, _| restart_tasks.contains(&i));
            }
        }
        Ok(plan)
    }

    async fn restart_task(&self, name: &str, task: usize) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        let target = {
            let map = self.lock();
            let e = map
                .get(name)
                .ok_or_else(|| HerderError::NotFound(format!("Connector {name} not found")))?;
            if task >= e.tasks.len() {
                return Err(HerderError::NotFound(format!(
                    "Task {name}-{task} not found"
                )));
            }
            e.target
        };
        let started = target == TargetState::Started;
        let after = if started { "UNASSIGNED" } else { "PAUSED" };
        let runs = self.take_runs(name, after, |i| i == task);
        self.stop_runs(name, runs).await;
        if started {
            self.start_idle_tasks(name, |i, _| i == task);
        }
        tracing::info!(connector = %name, task, "task restarted");
        Ok(())
    }

    async fn active_topics(&self, name: &str) -> HerderResult<Vec<String>> {
        Ok(self
            .lock()
            .get(name)
            .map(|e| e.topics.list())
            .unwrap_or_default())
    }

    async fn reset_active_topics(&self, name: &str) -> HerderResult<()> {
        if let Some(e) = self.lock().get(name) {
            e.topics.reset();
        }
        Ok(())
    }

    async fn connector_offsets(&self, name: &str) -> HerderResult<Vec<ConnectorOffset>> {
        let config = self
            .lock()
            .get(name)
            .map(|e| e.config.clone())
            .ok_or_else(|| HerderError::NotFound(format!("Connector {name} not found")))?;
        match config.plugin.factory {
            Factory::Sink { .. } => crate::sink_offsets::list(&self.worker, &config).await,
            _ => Ok(self
                .offsets
                .offsets_for(name)
                .into_iter()
                .map(|(partition, offset)| ConnectorOffset {
                    partition: Some(partition),
                    offset: Some(offset),
                })
                .collect()),
        }
    }

    async fn alter_connector_offsets(
        &self,
        name: &str,
        offsets: Vec<ConnectorOffset>,
    ) -> HerderResult<String> {
        let _op = self.ops.lock().await;
        let config = self.stopped_config(name)?;
        match config.plugin.factory {
            Factory::Sink { .. } => {
                crate::sink_offsets::alter(&self.worker, &config, offsets).await?;
            }
            _ => {
                let changes = crate::herder::source_offset_changes(offsets)?;
                self.offsets.alter(name, changes).map_err(internal)?;
            }
        }
        tracing::info!(connector = %name, "offsets altered");
        Ok(OFFSETS_ALTERED.to_owned())
    }

    async fn reset_connector_offsets(&self, name: &str) -> HerderResult<String> {
        let _op = self.ops.lock().await;
        let config = self.stopped_config(name)?;
        match config.plugin.factory {
            Factory::Sink { .. } => crate::sink_offsets::reset(&self.worker, &config).await?,
            _ => self.offsets.reset(name).map_err(internal)?,
        }
        tracing::info!(connector = %name, "offsets reset");
        Ok(OFFSETS_RESET.to_owned())
    }
}

impl StandaloneHerder {
    /// `put_connector_config` for a caller holding `ops`.
    async fn put_config_locked(
        &self,
        name: &str,
        config: ConfigMap,
        initial_state: Option<TargetState>,
        allow_replace: bool,
    ) -> HerderResult<Created<ConnectorInfo>> {
        let (infos, parsed) = validate_connector(&config, &self.worker);
        let Some(parsed) = parsed else {
            return Err(HerderError::InvalidConfig(infos));
        };
        let existing = self.lock().get(name).map(|e| (e.target, e.topics.clone()));
        let created = existing.is_none();
        if !created && !allow_replace {
            return Err(HerderError::AlreadyExists(format!(
                "Connector {name} already exists"
            )));
        }
        let (target, topics) = match existing {
            Some((target, topics)) => (target, Some(topics)),
            None => (initial_state.unwrap_or(TargetState::Started), None),
        };
        self.install(parsed, target, topics)
            .await
            .map_err(internal)?;
        let value = self
            .info_of(name)
            .ok_or_else(|| HerderError::NotFound(format!("Connector {name} not found")))?;
        Ok(Created { created, value })
    }

    /// The config of `name` if it exists and is STOPPED (KIP-875's precondition).
    fn stopped_config(&self, name: &str) -> HerderResult<ConnectorConfig> {
        let map = self.lock();
        let e = map
            .get(name)
            .ok_or_else(|| HerderError::NotFound(format!("Connector {name} not found")))?;
        if e.target != TargetState::Stopped || !e.tasks.is_empty() {
            return Err(not_stopped(name));
        }
        Ok(e.config.clone())
    }
}
