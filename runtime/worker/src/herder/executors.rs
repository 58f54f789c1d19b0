//! Task executors of the standalone herder: building a task's pipeline (converters,
//! transforms with the active-topics recorder, producer or consumer), running it in the
//! background, and stopping it with a bounded wait.
//!
//! A task's executor reports into the state cell of its [`TaskSlot`] at spawn time; the
//! herder gives a slot a fresh cell before each spawn and on each pause or stop, so an
//! executor that outlives its stop timeout writes only to a cell nobody reads.

use std::sync::Arc;

use sluice_core::config::ConfigMap;
use sluice_core::plugin::{Progress, Transform};
use sluice_core::ConnectError;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use super::topics::{ActiveTopics, TopicRecorder};
use crate::config::{ConnectorConfig, WorkerConfig};
use crate::kafka;
use crate::offsets::FileOffsetStore;
use crate::registry::Factory;
use crate::sink::SinkTaskRunner;
use crate::source::SourceTaskRunner;
use crate::task::{set_state, Converters, ErrorPolicy, SharedState, TaskId};

/// A task executor running in the background.
pub(super) struct Running {
    pub(super) stop: watch::Sender<bool>,
    pub(super) join: JoinHandle<()>,
}

/// One task of a connector: its config, and its executor while it runs.
pub(super) struct TaskSlot {
    pub(super) config: ConfigMap,
    pub(super) state: SharedState,
    pub(super) progress: Progress,
    pub(super) running: Option<Running>,
}

/// Builds task `index` of `config` and runs it in the background, reporting into the
/// slot's state cell; a source records its topics after its transforms, a sink before.
pub(super) fn spawn(
    worker: &WorkerConfig,
    offsets: &Arc<FileOffsetStore>,
    config: &ConnectorConfig,
    index: usize,
    slot: &TaskSlot,
    topics: &Arc<ActiveTopics>,
) -> Result<Running, ConnectError> {
    let id = TaskId {
        connector: config.name.clone(),
        task: index,
    };
    // Resolved now, at the task's start: secrets rotated since are picked up.
    let config = &crate::config::connector_for_start(&config.raw, worker)?;
    let task_config = crate::config::task_for_start(&slot.config, worker)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let converters = Converters::for_connector(config)?;
    let policy = ErrorPolicy::for_task(worker, config, &id)?;
    let run_state = slot.state.clone();
    let mut transforms: Vec<Box<dyn Transform>> = crate::chain::build(&config.originals)?;
    let recorder = worker
        .topic_tracking
        .then(|| TopicRecorder::new(topics.clone()));
    // Every log line of the task carries its connector and task number.
    let span = tracing::error_span!("task", connector = %id.connector, task = id.task);
    let join = match config.plugin.factory {
        Factory::Source { task, .. } => {
            let (producer, acks) = crate::source::create_producer(&kafka::producer_config(
                worker,
                &config.originals,
                &format!("connector-producer-{id}"),
            ))
            .map_err(|e| ConnectError::Fatal(format!("creating the producer of {id}: {e}")))?;
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
                offsets: offsets.clone(),
                progress: slot.progress.clone(),
                flush_interval: worker.offset_flush_interval,
                flush_timeout: worker.offset_flush_timeout,
                transactions: None,
            };
            let run = async move {
                let result = runner.run(stop_rx, run_state.clone()).await;
                finish(&id, &run_state, result);
            };
            tokio::spawn(run.instrument(span))
        }
        Factory::Sink { task, .. } => {
            // First: it sees the topic the record was consumed from.
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
                consumer: kafka::consumer_config(worker, &config.originals, &config.name, index),
                topics: config.topics.clone(),
                topics_regex: config.topics_regex.clone(),
                flush_interval: worker.offset_flush_interval,
            };
            let run = async move {
                let result = runner.run(stop_rx, run_state.clone()).await;
                finish(&id, &run_state, result);
            };
            tokio::spawn(run.instrument(span))
        }
        Factory::Converter(_) => {
            return Err(ConnectError::Fatal(format!(
                "{} is not a connector",
                config.plugin.info.class
            )))
        }
    };
    Ok(Running {
        stop: stop_tx,
        join,
    })
}

pub(super) async fn stop(worker: &WorkerConfig, connector: &str, runs: Vec<Running>) {
    for r in &runs {
        let _ = r.stop.send(true);
    }
    let timeout = worker.shutdown_timeout + worker.offset_flush_timeout;
    for r in runs {
        if tokio::time::timeout(timeout, r.join).await.is_err() {
            tracing::warn!(connector = %connector, timeout_ms = timeout.as_millis() as u64, "task did not stop in time");
        }
    }
}

/// Records how an executor ended: UNASSIGNED when stopped, FAILED with the error.
fn finish(id: &TaskId, state: &SharedState, result: Result<(), ConnectError>) {
    match result {
        Ok(()) => set_state(state, "UNASSIGNED", None),
        Err(e) => {
            tracing::error!(task = %id, error = %e, "task failed");
            set_state(state, "FAILED", Some(e.to_string()));
        }
    }
}
