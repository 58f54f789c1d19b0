//! What source and sink executors share: task identity and state, the converters of
//! a task, and the `errors.tolerance` policy.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use sluice_core::plugin::{Converter, Transform};
use sluice_core::{ConnectError, Record};

use crate::config::{ConnectorConfig, ErrorTolerance};
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

/// Where in the pipeline a record failed.
#[derive(Debug, Clone, Copy)]
pub enum Stage {
    /// In a transformation.
    Transformation,
    /// In the key converter.
    KeyConverter,
    /// In the value converter.
    ValueConverter,
    /// In the header converter.
    HeaderConverter,
}

/// `errors.tolerance`, `errors.log.enable`, `errors.log.include.messages`.
#[derive(Debug, Clone, Copy)]
pub struct ErrorPolicy {
    tolerance: ErrorTolerance,
    log: bool,
    include_messages: bool,
}

impl ErrorPolicy {
    /// The policy of a connector.
    pub fn of(config: &ConnectorConfig) -> Self {
        ErrorPolicy {
            tolerance: config.errors_tolerance,
            log: config.errors_log_enable,
            include_messages: config.errors_log_include_messages,
        }
    }

    /// Handles a record failure: `Ok` to skip the record, `Err` to fail the task.
    pub fn on_record_error(
        &self,
        task: &TaskId,
        stage: Stage,
        error: ConnectError,
        record: &dyn std::fmt::Debug,
    ) -> Result<(), ConnectError> {
        let fatal = self.tolerance == ErrorTolerance::None
            || error.class() != sluice_core::ErrorClass::BadRecord;
        crate::metrics::record_failure(task, !fatal, self.log || fatal);
        if self.log || fatal {
            if self.include_messages {
                tracing::error!(task = %task, stage = ?stage, error = %error, record = ?record, "error processing a record");
            } else {
                tracing::error!(task = %task, stage = ?stage, error = %error, "error processing a record");
            }
        }
        if fatal {
            Err(ConnectError::Fatal(format!(
                "Tolerance exceeded in error handler: {stage:?} failed: {error}. Set errors.tolerance=all to skip such records"
            )))
        } else {
            Ok(())
        }
    }
}

/// Runs a record through a chain of transforms; `Ok(None)` when one dropped it.
pub fn apply_transforms(
    chain: &mut [Box<dyn Transform>],
    mut record: Record,
) -> Result<Option<Record>, ConnectError> {
    for t in chain.iter_mut() {
        match t.apply(record)? {
            Some(r) => record = r,
            None => return Ok(None),
        }
    }
    Ok(Some(record))
}
