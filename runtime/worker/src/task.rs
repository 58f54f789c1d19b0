//! What source and sink executors share: task identity and state, the converters of
//! a task, and the transform chain (error handling is in [`crate::errors`]).

use std::sync::{Arc, Mutex};

use serde::Serialize;
use sluice_core::plugin::{Converter, Transform};
use sluice_core::{ConnectError, Record};

use crate::config::ConnectorConfig;
use crate::registry;

/// A connector's task: `<connector>-<n>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    /// The connector's name.
    pub connector: String,
    /// The task number.
    pub task: usize,
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// A connector's or task's state, as `/status` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StateInfo {
    /// `UNASSIGNED`, `RUNNING`, `PAUSED`, `FAILED`, `RESTARTING` or `STOPPED`.
    pub state: &'static str,
    /// `host:port` of the worker running it.
    pub worker_id: String,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// What a running task reports of its progress (e.g. a snapshot's rows done / estimated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<serde_json::Value>,
}

/// A state shared between a running task and the REST API.
pub type SharedState = Arc<Mutex<StateInfo>>;

/// Sets a shared state.
pub fn set_state(state: &SharedState, name: &'static str, trace: Option<String>) {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.state = name;
    s.trace = trace;
}

/// The key, value and header converters of one task.
pub struct Converters {
    /// Key converter.
    pub key: Box<dyn Converter>,
    /// Value converter.
    pub value: Box<dyn Converter>,
    /// Header converter.
    pub header: Box<dyn Converter>,
}

impl Converters {
    /// Builds the converters a validated connector config names.
    pub fn for_connector(config: &ConnectorConfig) -> Result<Self, ConnectError> {
        Ok(Converters {
            key: registry::converter(&config.key_converter.0, "key", &config.key_converter.1)?,
            value: registry::converter(
                &config.value_converter.0,
                "value",
                &config.value_converter.1,
            )?,
            header: registry::converter(
                &config.header_converter.0,
                "header",
                &config.header_converter.1,
            )?,
        })
    }
}

pub use crate::errors::{ErrorPolicy, Stage};

/// Runs a record through a chain of transforms; `Ok(None)` when one dropped it; the
/// failing transform's index in the chain with its error.
pub fn apply_transforms(
    chain: &mut [Box<dyn Transform>],
    mut record: Record,
) -> Result<Option<Record>, (usize, ConnectError)> {
    for (i, t) in chain.iter_mut().enumerate() {
        match t.apply(record).map_err(|e| (i, e))? {
            Some(r) => record = r,
            None => return Ok(None),
        }
    }
    Ok(Some(record))
}
