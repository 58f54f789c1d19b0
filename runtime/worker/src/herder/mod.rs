//! The herder: what the REST API asks of a worker, as one trait both modes implement.
//!
//! [`Herder`] mirrors Kafka Connect's `Herder` interface call for call (create / update /
//! patch / delete a connector, pause / resume / stop, restarts, statuses, active topics,
//! offsets), so the REST layer holds no mode-specific logic: the standalone herder
//! ([`standalone::StandaloneHerder`]) answers from this process, a distributed herder
//! answers the same calls through the group leader. Errors carry the HTTP meaning
//! ([`HerderError`]) and Kafka Connect's messages, so every mode reports the same body.

mod executors;
pub mod standalone;
pub mod topics;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sluice_core::config::{ConfigInfos, ConfigMap};
use sluice_core::plugin::PluginType;
use sluice_core::record::OffsetMap;

use crate::config::{ConnectorConfig, WorkerConfig};
use crate::registry::Factory;
use crate::task::StateInfo;
use sluice_core::ConnectError;

pub use standalone::StandaloneHerder;

/// What a connector is asked to be: Kafka Connect's `TargetState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    /// Running its tasks (`RUNNING` as an initial state).
    Started,
    /// Tasks exist but do not poll or consume.
    Paused,
    /// No tasks at all; offsets may be altered or reset.
    Stopped,
}

impl TargetState {
    /// Kafka Connect's name in the config topic.
    pub fn name(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    /// Reads a name of the config topic.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "STARTED" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }

    /// Reads KIP-980's `initial_state` (`RUNNING`, `PAUSED`, `STOPPED`).
    pub fn from_initial_state(value: &str) -> Option<Self> {
        match value.trim().to_ascii_uppercase().as_str() {
            "RUNNING" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

/// Why a herder call failed, with Kafka Connect's HTTP meaning.
#[derive(Debug, thiserror::Error)]
pub enum HerderError {
    /// 404: no such connector or task.
    #[error("{0}")]
    NotFound(String),
    /// 409: a connector with this name exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// 409: the cluster is rebalancing (distributed mode), try again.
    #[error("{0}")]
    Conflict(String),
    /// 400: the request cannot be carried out as asked.
    #[error("{0}")]
    BadRequest(String),
    /// 400: the connector config is invalid; every error is in the infos.
    #[error("Connector configuration is invalid and contains the following {} error(s)", .0.error_count)]
    InvalidConfig(ConfigInfos),
    /// 500: the worker failed doing it.
    #[error("{0}")]
    Internal(String),
}

/// A result of a herder call.
pub type HerderResult<T> = Result<T, HerderError>;

/// A stored config and whether this call created it (201) or replaced it (200).
#[derive(Debug, Clone)]
pub struct Created<T> {
    /// True when the connector did not exist before.
    pub created: bool,
    /// The result.
    pub value: T,
}

/// What `GET /connectors/{n}` shows.
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct TaskRef {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task: usize,
}

/// What `GET /connectors/{n}/status` shows (Kafka Connect's `ConnectorStateInfo`).
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct TaskStatus {
    /// Task number.
    pub id: usize,
    /// State fields.
    #[serde(flatten)]
    pub state: StateInfo,
}

/// `POST /connectors/{n}/restart?includeTasks=…&onlyFailed=…` (KIP-745).
#[derive(Debug, Clone)]
pub struct RestartRequest {
    /// The connector.
    pub connector: String,
    /// Restart only instances that are FAILED.
    pub only_failed: bool,
    /// Restart the tasks as well as the connector.
    pub include_tasks: bool,
}

impl RestartRequest {
    /// Whether the connector instance in `state` is to restart.
    pub fn restarts_connector(&self, state: &str) -> bool {
        !self.only_failed || state == "FAILED"
    }

    /// Whether a task in `state` is to restart.
    pub fn restarts_task(&self, state: &str) -> bool {
        self.include_tasks && (!self.only_failed || state == "FAILED")
    }
}

/// One entry of `GET /connectors/{n}/offsets` and of a `PATCH` body: a partition and
/// its offset (`null` in a PATCH removes the partition's offset).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectorOffset {
    /// The source partition (or `kafka_topic` / `kafka_partition` for sinks).
    pub partition: Option<OffsetMap>,
    /// The offset (or `kafka_offset` for sinks).
    pub offset: Option<OffsetMap>,
}

/// `{"offsets": [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ConnectorOffsets {
    /// Every partition's offset.
    #[serde(default)]
    pub offsets: Option<Vec<ConnectorOffset>>,
}

/// Everything the REST API asks of a worker, standalone or distributed.
#[async_trait::async_trait]
pub trait Herder: Send + Sync {
    /// The worker's config.
    fn worker(&self) -> &WorkerConfig;
    /// The Kafka cluster id, for `GET /`.
    fn kafka_cluster_id(&self) -> Option<String>;

    /// Connector names, sorted.
    async fn connectors(&self) -> HerderResult<Vec<String>>;
    /// A connector's config and task ids.
    async fn connector_info(&self, name: &str) -> HerderResult<ConnectorInfo>;
    /// A connector's state and its tasks' states.
    async fn connector_status(&self, name: &str) -> HerderResult<ConnectorStatus>;
    /// One task's state.
    async fn task_status(&self, name: &str, task: usize) -> HerderResult<TaskStatus>;
    /// Each task's id and config.
    async fn task_configs(&self, name: &str) -> HerderResult<Vec<(usize, ConfigMap)>>;
    /// Kafka Connect's internal `POST /connectors/{n}/tasks`: a worker running the
    /// connector hands the leader its task configs. Only distributed mode has it.
    async fn put_task_configs(&self, name: &str, tasks: Vec<ConfigMap>) -> HerderResult<()> {
        let _ = tasks;
        Err(HerderError::BadRequest(format!(
            "Kafka Connect in standalone mode does not support externally setting task configurations (connector {name})"
        )))
    }

    /// Creates (or, with `allow_replace`, replaces) a connector. `initial_state` applies
    /// to a new connector only; a replaced one keeps its target state.
    async fn put_connector_config(
        &self,
        name: &str,
        config: ConfigMap,
        initial_state: Option<TargetState>,
        allow_replace: bool,
    ) -> HerderResult<Created<ConnectorInfo>>;
    /// Merges `patch` into an existing connector's config; `None` removes a key.
    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> HerderResult<ConnectorInfo>;
    /// Stops a connector's tasks and forgets it.
    async fn delete_connector(&self, name: &str) -> HerderResult<()>;

    /// Target state PAUSED: tasks stay assigned but produce / consume nothing.
    async fn pause_connector(&self, name: &str) -> HerderResult<()>;
    /// Target state STARTED.
    async fn resume_connector(&self, name: &str) -> HerderResult<()>;
    /// Target state STOPPED: no tasks; offsets may then be altered or reset.
    async fn stop_connector(&self, name: &str) -> HerderResult<()>;

    /// Restarts the connector instance only (`POST …/restart` without parameters).
    async fn restart_connector(&self, name: &str) -> HerderResult<()>;
    /// Restarts what `request` selects; the answer shows those as RESTARTING.
    async fn restart_connector_and_tasks(
        &self,
        request: RestartRequest,
    ) -> HerderResult<ConnectorStatus>;
    /// Restarts one task.
    async fn restart_task(&self, name: &str, task: usize) -> HerderResult<()>;

    /// The topics the connector produced to (source) or consumed from (sink).
    async fn active_topics(&self, name: &str) -> HerderResult<Vec<String>>;
    /// Forgets the recorded topics.
    async fn reset_active_topics(&self, name: &str) -> HerderResult<()>;

    /// The connector's committed offsets.
    async fn connector_offsets(&self, name: &str) -> HerderResult<Vec<ConnectorOffset>>;
    /// Alters offsets of a STOPPED connector; answers the success message.
    async fn alter_connector_offsets(
        &self,
        name: &str,
        offsets: Vec<ConnectorOffset>,
    ) -> HerderResult<String>;
    /// Removes every offset of a STOPPED connector; answers the success message.
    async fn reset_connector_offsets(&self, name: &str) -> HerderResult<String>;
}

/// Asks a connector for its task configs, as they may be stored and shown (values from
/// config provider variables get their variables back).
pub(crate) async fn generate_task_configs(
    config: &ConnectorConfig,
) -> Result<Vec<ConfigMap>, ConnectError> {
    let tasks = match config.plugin.factory {
        Factory::Source { connector, .. } => {
            let mut c = connector();
            c.start(&config.originals).await?;
            let tasks = c.task_configs(config.tasks_max);
            if let Err(e) = c.stop().await {
                tracing::warn!(connector = %config.name, error = %e, "connector stop failed");
            }
            tasks
        }
        Factory::Sink { connector, .. } => {
            let mut c = connector();
            c.start(&config.originals).await?;
            let tasks = c.task_configs(config.tasks_max);
            if let Err(e) = c.stop().await {
                tracing::warn!(connector = %config.name, error = %e, "connector stop failed");
            }
            tasks
        }
        Factory::Converter(_) => Err(ConnectError::Fatal(format!(
            "{} is not a connector",
            config.plugin.info.class
        ))),
    }?;
    Ok(crate::config::task_for_storage(config, tasks))
}

/// Merges a `PATCH /connectors/{n}/config` body into `config`: `None` removes a key.
pub fn merge_patch(config: &mut ConfigMap, patch: BTreeMap<String, Option<String>>) {
    for (k, v) in patch {
        match v {
            Some(v) => config.insert(k, v),
            None => config.remove(&k),
        };
    }
}

/// The (partition, offset) changes of a source connector's offsets PATCH body.
pub fn source_offset_changes(
    offsets: Vec<ConnectorOffset>,
) -> HerderResult<Vec<(OffsetMap, Option<OffsetMap>)>> {
    offsets
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            let partition = o.partition.ok_or_else(|| {
                HerderError::BadRequest(format!(
                    "Source partitions may not be null (offsets[{i}] has no \"partition\" object)"
                ))
            })?;
            Ok((partition, o.offset))
        })
        .collect()
}

/// `source` or `sink`.
pub fn kind_name(kind: PluginType) -> &'static str {
    match kind {
        PluginType::Sink => "sink",
        PluginType::Source => "source",
        other => other.name(),
    }
}

/// Kafka Connect's 400 for modifying offsets of a connector that is not STOPPED.
pub fn not_stopped(name: &str) -> HerderError {
    HerderError::BadRequest(format!(
        "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
    ))
}

/// The message of a successful offsets PATCH.
pub const OFFSETS_ALTERED: &str = "The offsets for this connector have been altered successfully";
/// The message of a successful offsets DELETE.
pub const OFFSETS_RESET: &str = "The offsets for this connector have been reset successfully";
