//! What the REST API asks of a distributed worker: Kafka Connect's `Herder` calls over
//! the three storage topics.
//!
//! Reads answer from this worker's copy of the config and status topics, so every
//! worker shows the same connectors, tasks and states. Writes are carried out by the
//! group leader only ([`super::rest`] forwards a follower's write requests to the
//! leader's REST URL, as Kafka Connect's `completeOrForwardRequest` does): a write
//! here first checks that this worker leads a settled generation (409 otherwise), reads
//! the config topic to its end, and then writes records every worker acts on — configs,
//! target states, restart requests. So two writes never race on stale state, and what
//! one worker accepted is what all of them run.

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_core::config::ConfigMap;

use super::config_store::{ClusterConfig, RestartRequest as RestartRecord};
use super::herder::{DistributedHerder, WriteError};
use super::protocol::TaskKey;
use super::rest::forward;
use super::status_store::Status;
use crate::config::{validate_connector, ConnectorConfig, WorkerConfig};
use crate::herder::{
    kind_name, not_stopped, ConnectorInfo, ConnectorOffset, ConnectorStatus, Created, Herder,
    HerderError, HerderResult, RestartRequest, TargetState, TaskRef, TaskStatus, OFFSETS_ALTERED,
    OFFSETS_RESET,
};
use crate::registry::Factory;
use crate::task::StateInfo;

fn internal(e: impl std::fmt::Display) -> HerderError {
    HerderError::Internal(e.to_string())
}

fn not_found(name: &str) -> HerderError {
    HerderError::NotFound(format!("Connector {name} not found"))
}

/// A state name of the status topic as `/status` shows it.
fn state_name(state: &str) -> &'static str {
    match state {
        "RUNNING" => "RUNNING",
        "PAUSED" => "PAUSED",
        "FAILED" => "FAILED",
        "RESTARTING" => "RESTARTING",
        "STOPPED" => "STOPPED",
        "DESTROYED" => "DESTROYED",
        _ => "UNASSIGNED",
    }
}

impl DistributedHerder {
    fn state_info(&self, status: Option<Status>) -> StateInfo {
        match status {
            Some(s) => StateInfo {
                state: state_name(&s.state),
                worker_id: s.worker_id,
                trace: s.trace,
                progress: None,
            },
            None => StateInfo {
                state: "UNASSIGNED",
                worker_id: self.worker_id.clone(),
                trace: None,
                progress: None,
            },
        }
    }

    /// Fails with 409 unless this worker leads a settled generation.
    fn require_leader(&self) -> HerderResult<()> {
        let l = self.leadership.borrow();
        if l.rebalancing {
            return Err(HerderError::Conflict(WriteError::Rebalancing.to_string()));
        }
        if !l.is_leader {
            return Err(HerderError::Conflict(if l.leader_url.is_empty() {
                WriteError::NoLeader.to_string()
            } else {
                format!(
                    "Cannot complete request because of a conflicting operation (e.g. worker rebalance): this worker is not the leader; the leader is {}",
                    l.leader_url
                )
            }));
        }
        Ok(())
    }

    /// The leader's view for a write: read to the end of the config topic.
    async fn current(&self) -> HerderResult<ClusterConfig> {
        self.require_leader()?;
        self.configs.refresh().await.map_err(internal)
    }

    fn kind(props: &ConfigMap) -> &'static str {
        crate::registry::find(props.get("connector.class").map_or("", String::as_str))
            .map_or("unknown", |p| kind_name(p.info.kind))
    }

    fn info_from(c: &ClusterConfig, name: &str) -> Option<ConnectorInfo> {
        let props = c.connectors.get(name)?;
        Some(ConnectorInfo {
            name: name.to_owned(),
            config: props.clone(),
            tasks: (0..c.task_count(name))
                .map(|task| TaskRef {
                    connector: name.to_owned(),
                    task,
                })
                .collect(),
            kind: Self::kind(props),
        })
    }

    fn status_from(&self, c: &ClusterConfig, name: &str) -> Option<ConnectorStatus> {
        let props = c.connectors.get(name)?;
        Some(ConnectorStatus {
            name: name.to_owned(),
            connector: self.state_info(self.statuses.connector(name)),
            tasks: (0..c.task_count(name))
                .map(|id| TaskStatus {
                    id,
                    state: self.state_info(self.statuses.task(name, id)),
                })
                .collect(),
            kind: Self::kind(props),
        })
    }

    /// A validated config of an existing connector.
    fn parsed(&self, c: &ClusterConfig, name: &str) -> HerderResult<ConnectorConfig> {
        let props = c.connectors.get(name).ok_or_else(|| not_found(name))?;
        validate_connector(props, &self.config.worker)
            .1
            .ok_or_else(|| {
                HerderError::BadRequest(format!(
                    "connector {name} has an invalid config; update it first"
                ))
            })
    }

    /// The config of a STOPPED connector (KIP-875's precondition for offset changes).
    async fn stopped(&self, name: &str) -> HerderResult<ConnectorConfig> {
        let c = self.current().await?;
        let config = self.parsed(&c, name)?;
        if c.target_state(name) != TargetState::Stopped || c.task_count(name) != 0 {
            return Err(not_stopped(name));
        }
        Ok(config)
    }

    async fn put_target(&self, name: &str, target: TargetState) -> HerderResult<()> {
        let c = self.current().await?;
        if !c.connectors.contains_key(name) {
            return Err(HerderError::NotFound(format!("Unknown connector {name}")));
        }
        if c.target_state(name) != target {
            self.configs
                .put_target_state(name, target)
                .await
                .map_err(internal)?;
        }
        tracing::info!(
            connector = name,
            target = target.name(),
            "target state written"
        );
        Ok(())
    }

    async fn put_validated(
        &self,
        name: &str,
        config: ConfigMap,
        initial_state: Option<TargetState>,
        allow_replace: bool,
    ) -> HerderResult<Created<ConnectorInfo>> {
        let c = self.current().await?;
        let created = !c.connectors.contains_key(name);
        if !created && !allow_replace {
            return Err(HerderError::AlreadyExists(format!(
                "Connector {name} already exists"
            )));
        }
        let (infos, parsed) = validate_connector(&config, &self.config.worker);
        if parsed.is_none() {
            return Err(HerderError::InvalidConfig(infos));
        }
        let target = created.then(|| initial_state.unwrap_or(TargetState::Started));
        self.configs
            .put_connector_config(name, &config, target)
            .await
            .map_err(internal)?;
        let c = self.configs.refresh().await.map_err(internal)?;
        let value = Self::info_from(&c, name).ok_or_else(|| not_found(name))?;
        tracing::info!(connector = name, created, "connector config written");
        Ok(Created { created, value })
    }
}

#[async_trait::async_trait]
impl Herder for Arc<DistributedHerder> {
    fn worker(&self) -> &WorkerConfig {
        &self.config.worker
    }

    fn kafka_cluster_id(&self) -> Option<String> {
        self.kafka_cluster_id.clone()
    }

    async fn connectors(&self) -> HerderResult<Vec<String>> {
        Ok(self.configs.snapshot().connectors.keys().cloned().collect())
    }

    async fn connector_info(&self, name: &str) -> HerderResult<ConnectorInfo> {
        DistributedHerder::info_from(&self.configs.snapshot(), name).ok_or_else(|| not_found(name))
    }

    async fn connector_status(&self, name: &str) -> HerderResult<ConnectorStatus> {
        self.status_from(&self.configs.snapshot(), name)
            .ok_or_else(|| HerderError::NotFound(format!("No status found for connector {name}")))
    }

    async fn task_status(&self, name: &str, task: usize) -> HerderResult<TaskStatus> {
        self.status_from(&self.configs.snapshot(), name)
            .and_then(|s| s.tasks.into_iter().find(|t| t.id == task))
            .ok_or_else(|| HerderError::NotFound(format!("No status found for task {name}-{task}")))
    }

    async fn task_configs(&self, name: &str) -> HerderResult<Vec<(usize, ConfigMap)>> {
        let c = self.configs.snapshot();
        if !c.connectors.contains_key(name) {
            return Err(not_found(name));
        }
        Ok(c.tasks
            .get(name)
            .filter(|_| !c.inconsistent.contains(name))
            .map(|t| t.iter().cloned().enumerate().collect())
            .unwrap_or_default())
    }

    async fn put_task_configs(&self, name: &str, tasks: Vec<ConfigMap>) -> HerderResult<()> {
        if !self.leadership.borrow().is_leader {
            return Err(HerderError::Conflict(
                "Cannot complete request because of a conflicting operation (e.g. worker rebalance): this worker is not the leader".into(),
            ));
        }
        let c = self.configs.refresh().await.map_err(internal)?;
        if !c.connectors.contains_key(name) {
            return Err(not_found(name));
        }
        self.configs
            .put_task_configs(name, &tasks)
            .await
            .map_err(internal)
    }

    async fn put_connector_config(
        &self,
        name: &str,
        config: ConfigMap,
        initial_state: Option<TargetState>,
        allow_replace: bool,
    ) -> HerderResult<Created<ConnectorInfo>> {
        let _write = self.writes.lock().await;
        self.put_validated(name, config, initial_state, allow_replace)
            .await
    }

    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> HerderResult<ConnectorInfo> {
        let _write = self.writes.lock().await;
        let c = self.current().await?;
        let mut config = c
            .connectors
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))?;
        crate::herder::merge_patch(&mut config, patch);
        Ok(self.put_validated(name, config, None, true).await?.value)
    }

    async fn delete_connector(&self, name: &str) -> HerderResult<()> {
        let _write = self.writes.lock().await;
        let c = self.current().await?;
        if !c.connectors.contains_key(name) {
            return Err(not_found(name));
        }
        let tasks = c.tasks.get(name).map_or(0, Vec::len);
        self.configs
            .remove_connector(name)
            .await
            .map_err(internal)?;
        // Kafka Connect's owners write tombstones (DESTROYED) for what they ran; the
        // leader writes them for every task the connector had, so none lingers.
        self.statuses
            .remove_connector(name, tasks)
            .await
            .map_err(internal)?;
        self.statuses.reset_topics(name).await.map_err(internal)?;
        tracing::info!(connector = name, "connector deleted");
        Ok(())
    }

    async fn pause_connector(&self, name: &str) -> HerderResult<()> {
        let _write = self.writes.lock().await;
        self.put_target(name, TargetState::Paused).await
    }

    async fn resume_connector(&self, name: &str) -> HerderResult<()> {
        let _write = self.writes.lock().await;
        self.put_target(name, TargetState::Started).await
    }

    async fn stop_connector(&self, name: &str) -> HerderResult<()> {
        let _write = self.writes.lock().await;
        self.put_target(name, TargetState::Stopped).await?;
        // Kafka Connect's stop: no task configs at all, so nothing can run or commit
        // while offsets are changed.
        self.configs
            .put_task_configs(name, &[])
            .await
            .map_err(internal)
    }

    async fn restart_connector(&self, name: &str) -> HerderResult<()> {
        let _write = self.writes.lock().await;
        let c = self.current().await?;
        if !c.connectors.contains_key(name) {
            return Err(not_found(name));
        }
        self.configs
            .put_restart_request(
                name,
                Some(&RestartRecord {
                    include_tasks: false,
                    only_failed: false,
                }),
            )
            .await
            .map_err(internal)
    }

    async fn restart_connector_and_tasks(
        &self,
        request: RestartRequest,
    ) -> HerderResult<ConnectorStatus> {
        let _write = self.writes.lock().await;
        let name = request.connector.clone();
        let c = self.current().await?;
        let mut plan = self
            .status_from(&c, &name)
            .ok_or_else(|| HerderError::NotFound(format!("Unknown connector: {name}")))?;
        if request.restarts_connector(plan.connector.state) {
            plan.connector.state = "RESTARTING";
            plan.connector.trace = None;
        }
        for t in &mut plan.tasks {
            if request.restarts_task(t.state.state) {
                t.state.state = "RESTARTING";
                t.state.trace = None;
            }
        }
        self.configs
            .put_restart_request(
                &name,
                Some(&RestartRecord {
                    include_tasks: request.include_tasks,
                    only_failed: request.only_failed,
                }),
            )
            .await
            .map_err(internal)?;
        Ok(plan)
    }

    async fn restart_task(&self, name: &str, task: usize) -> HerderResult<()> {
        let c = self.configs.snapshot();
        if !c.connectors.contains_key(name) {
            return Err(not_found(name));
        }
        if task >= c.task_count(name) {
            return Err(HerderError::NotFound(format!(
                "Task {name}-{task} not found"
            )));
        }
        let key: TaskKey = (name.to_owned(), task as u32);
        if self.restart_task_here(&key).await {
            return Ok(());
        }
        // Kafka Connect forwards a task restart to the worker that runs the task.
        let owner = self
            .statuses
            .task(name, task)
            .map(|s| s.worker_id)
            .filter(|w| *w != self.worker_id)
            .ok_or_else(|| {
                HerderError::Conflict(format!(
                    "Cannot complete request because of a conflicting operation (e.g. worker rebalance): task {name}-{task} is not running on any worker yet"
                ))
            })?;
        let scheme = self.url.split_once("://").map_or("http", |(s, _)| s);
        let url = format!("{scheme}://{owner}/connectors/{name}/tasks/{task}/restart");
        let reply = forward(&self.config.worker, &url, "POST", Vec::new())
            .await
            .map_err(internal)?;
        match reply.status {
            200..=299 => Ok(()),
            404 | 409 => Err(HerderError::Conflict(format!(
                "Cannot complete request because of a conflicting operation (e.g. worker rebalance): task {name}-{task} moved from {owner}"
            ))),
            s => Err(internal(format!(
                "the worker {owner} running task {name}-{task} answered {s}: {}",
                String::from_utf8_lossy(&reply.body)
            ))),
        }
    }

    async fn active_topics(&self, name: &str) -> HerderResult<Vec<String>> {
        Ok(self.statuses.topics(name))
    }

    async fn reset_active_topics(&self, name: &str) -> HerderResult<()> {
        let _write = self.writes.lock().await;
        self.require_leader()?;
        self.statuses.refresh().await.map_err(internal)?;
        self.statuses.reset_topics(name).await.map_err(internal)
    }

    async fn connector_offsets(&self, name: &str) -> HerderResult<Vec<ConnectorOffset>> {
        let config = self.parsed(&self.configs.snapshot(), name)?;
        match config.plugin.factory {
            Factory::Sink { .. } => crate::sink_offsets::list(&self.config.worker, &config).await,
            _ => {
                let offsets = crate::offsets::OffsetStore::offsets_for(&*self.offsets, name)
                    .await
                    .map_err(internal)?;
                Ok(offsets
                    .into_iter()
                    .map(|(partition, offset)| ConnectorOffset {
                        partition: Some(partition),
                        offset: Some(offset),
                    })
                    .collect())
            }
        }
    }

    async fn alter_connector_offsets(
        &self,
        name: &str,
        offsets: Vec<ConnectorOffset>,
    ) -> HerderResult<String> {
        let _write = self.writes.lock().await;
        let config = self.stopped(name).await?;
        match config.plugin.factory {
            Factory::Sink { .. } => {
                crate::sink_offsets::alter(&self.config.worker, &config, offsets).await?;
            }
            _ => {
                let changes = crate::herder::source_offset_changes(offsets)?;
                self.offsets.alter(name, changes).await.map_err(internal)?;
            }
        }
        tracing::info!(connector = name, "offsets altered");
        Ok(OFFSETS_ALTERED.to_owned())
    }

    async fn reset_connector_offsets(&self, name: &str) -> HerderResult<String> {
        let _write = self.writes.lock().await;
        let config = self.stopped(name).await?;
        match config.plugin.factory {
            Factory::Sink { .. } => {
                crate::sink_offsets::reset(&self.config.worker, &config).await?
            }
            _ => self.offsets.reset(name).await.map_err(internal)?,
        }
        tracing::info!(connector = name, "offsets reset");
        Ok(OFFSETS_RESET.to_owned())
    }
}
