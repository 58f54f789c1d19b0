//! Error handling of a task's stages, as Kafka Connect's `RetryWithToleranceOperator`,
//! `LogReporter` and `DeadLetterQueueReporter`:
//! - a retriable failure is retried with backoff ([`retry`]) within `errors.retry.timeout`;
//! - then `errors.tolerance` decides: `none` fails the task with a trace naming the stage
//!   and the record, `all` skips the record;
//! - `errors.log.enable` logs each failure (with the record's topic, partition and offset
//!   when `errors.log.include.messages`);
//! - a skipped record goes to the dead-letter topic ([`dead_letter`]) when one is set.

pub mod dead_letter;
pub mod retry;
mod stages;

use std::sync::Arc;

use sluice_core::{ConnectError, ErrorClass};

use crate::config::{ConnectorConfig, ErrorTolerance, WorkerConfig};
use crate::task::TaskId;
pub use dead_letter::{DeadLetterQueue, DeadLetterSettings, FailedRecord, Failure};
pub use retry::{Backoff, RetryPolicy, RetryTimeout};
pub use stages::{apply_chain, convert};

/// Where in the pipeline an operation failed: Kafka Connect's `Stage` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A source task's `poll`.
    TaskPoll,
    /// A sink task's `put`.
    TaskPut,
    /// A transformation.
    Transformation,
    /// The key converter.
    KeyConverter,
    /// The value converter.
    ValueConverter,
    /// The header converter.
    HeaderConverter,
    /// Sending to Kafka.
    KafkaProduce,
    /// Reading from Kafka.
    KafkaConsume,
}

impl Stage {
    /// The name Kafka Connect gives it (`__connect.errors.stage`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::TaskPoll => "TASK_POLL",
            Stage::TaskPut => "TASK_PUT",
            Stage::Transformation => "TRANSFORMATION",
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
            Stage::KafkaConsume => "KAFKA_CONSUME",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `errors.*` of a task: retry, tolerance, log and dead-letter topic.
#[derive(Clone)]
pub struct ErrorPolicy {
    tolerance: ErrorTolerance,
    log: bool,
    include_messages: bool,
    retry: RetryPolicy,
    dead_letter: Option<Arc<DeadLetterQueue>>,
    classes: Arc<Classes>,
}

/// Class names of a connector's stages, for logs and `__connect.errors.class.name`.
#[derive(Debug, Default)]
struct Classes {
    task: String,
    transforms: Vec<String>,
    key_converter: String,
    value_converter: String,
    header_converter: String,
}

/// The canonical class name of a plugin named `name`, else `name`.
fn canonical(name: &str) -> String {
    crate::registry::find(name.trim())
        .map_or_else(|| name.trim().to_owned(), |p| p.info.class.to_owned())
}

impl Classes {
    fn of(config: &ConnectorConfig) -> Self {
        let props = &config.originals;
        let transforms = props
            .get("transforms")
            .map(|v| sluice_core::config::split_list(v))
            .unwrap_or_default()
            .iter()
            .map(|alias| {
                canonical(
                    props
                        .get(&format!("transforms.{alias}.type"))
                        .map_or("", String::as_str),
                )
            })
            .collect();
        Classes {
            task: config.plugin.info.class.to_owned(),
            transforms,
            key_converter: canonical(&config.key_converter.0),
            value_converter: canonical(&config.value_converter.0),
            header_converter: canonical(&config.header_converter.0),
        }
    }
}

impl std::fmt::Debug for ErrorPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrorPolicy")
            .field("tolerance", &self.tolerance)
            .field("log", &self.log)
            .field("include_messages", &self.include_messages)
            .field("retry", &self.retry)
            .field("dead_letter", &self.dead_letter.as_ref().map(|d| d.topic()))
            .finish()
    }
}

impl ErrorPolicy {
    /// The policy of a connector, without its dead-letter topic.
    pub fn of(config: &ConnectorConfig) -> Self {
        ErrorPolicy {
            tolerance: config.errors_tolerance,
            log: config.errors_log_enable,
            include_messages: config.errors_log_include_messages,
            retry: config.errors_retry,
            dead_letter: None,
            classes: Arc::new(Classes::of(config)),
        }
    }

    /// The policy of one task of a connector, writing to its dead-letter topic (when
    /// `errors.deadletterqueue.topic.name` is set and `errors.tolerance=all`) through the
    /// worker's brokers.
    pub fn for_task(
        worker: &WorkerConfig,
        config: &ConnectorConfig,
        task: &TaskId,
    ) -> Result<Self, ConnectError> {
        let mut policy = Self::of(config);
        if let (Some(settings), ErrorTolerance::All) =
            (&config.dead_letter, config.errors_tolerance)
        {
            let mut producer = crate::kafka::producer_config(
                worker,
                &config.originals,
                &format!("connector-dlq-producer-{task}"),
            );
            // One record at a time, awaited: no need to linger.
            producer.set("linger.ms", "0");
            policy.dead_letter = Some(Arc::new(DeadLetterQueue::new(
                settings.clone(),
                producer,
                crate::kafka::admin_config(worker),
            )?));
        }
        Ok(policy)
    }

    /// `errors.retry.timeout` and `errors.retry.delay.max.ms`: how transformations and
    /// converters are retried.
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }

    /// How a retriable failure of the task itself (`poll`, `put`) is retried: forever, as
    /// Kafka Connect does, unless `errors.retry.timeout` is positive.
    pub fn task_retry(&self) -> RetryPolicy {
        match self.retry.timeout {
            RetryTimeout::For(_) => self.retry,
            _ => RetryPolicy {
                timeout: RetryTimeout::Forever,
                max_delay: self.retry.max_delay,
            },
        }
    }

    /// Whether a failed source record is needed as it was before the transforms (for
    /// the dead-letter topic, or to log it).
    pub fn keeps_originals(&self) -> bool {
        self.dead_letter.is_some() || (self.log && self.include_messages)
    }

    /// The class of stage `stage`; for a transformation, of the one at `index` in a
    /// chain of `len` (the runtime's own transforms come first).
    pub fn class_of(&self, stage: Stage, index: usize, len: usize) -> &str {
        let c = &self.classes;
        match stage {
            Stage::Transformation => {
                let own = len.saturating_sub(c.transforms.len());
                index
                    .checked_sub(own)
                    .and_then(|i| c.transforms.get(i))
                    .map_or("sluice.TopicTracking", String::as_str)
            }
            Stage::KeyConverter => &c.key_converter,
            Stage::ValueConverter => &c.value_converter,
            Stage::HeaderConverter => &c.header_converter,
            Stage::TaskPoll | Stage::TaskPut => &c.task,
            Stage::KafkaProduce | Stage::KafkaConsume => "sluice.Kafka",
        }
    }

    /// Handles a record that failed a stage (after its retries): logs it when
    /// `errors.log.enable`, then either fails the task (`errors.tolerance=none`, or an
    /// error that is not the record's fault) or skips the record, writing it to the
    /// dead-letter topic when there is one. `Ok` means skip the record.
    pub async fn report(&self, task: &TaskId, failure: Failure<'_>) -> Result<(), ConnectError> {
        let tolerated =
            self.tolerance == ErrorTolerance::All && failure.error.class() != ErrorClass::Fatal;
        let place = match &failure.record {
            FailedRecord::Consumed {
                topic,
                partition,
                offset,
                ..
            } => format!("the record at topic {topic}, partition {partition}, offset {offset}"),
            FailedRecord::Source { topic, .. } => format!("a source record for topic {topic}"),
        };
        crate::metrics::record_failure(task, tolerated, self.log || !tolerated);
        if self.log || !tolerated {
            self.log_failure(task, &failure);
        }
        if !tolerated {
            return Err(ConnectError::Fatal(format!(
                "Tolerance exceeded in error handler: stage {} (class {}) failed on {place}: {}. Set errors.tolerance=all to skip such records{}",
                failure.stage,
                failure.class_name,
                failure.error,
                if self.dead_letter.is_none() {
                    ", and errors.deadletterqueue.topic.name to keep them"
                } else {
                    ""
                }
            )));
        }
        if let Some(dlq) = &self.dead_letter {
            let written = dlq.write(task, &failure).await;
            crate::metrics::dead_letter_produce(task, written.is_ok());
            written?;
        }
        Ok(())
    }

    /// Kafka Connect's `LogReporter` line.
    fn log_failure(&self, task: &TaskId, failure: &Failure<'_>) {
        let stage = failure.stage.name();
        let class = failure.class_name;
        let error = failure.error;
        let connector = task.connector.as_str();
        let id = task.task;
        match (&failure.record, self.include_messages) {
            (
                FailedRecord::Consumed {
                    topic,
                    partition,
                    offset,
                    timestamp,
                    ..
                },
                true,
            ) => tracing::error!(
                connector, task = id, stage, class, topic, partition, offset, error = %error,
                "Error encountered in task {task}. Executing stage '{stage}' with class '{class}', where consumed record is {{topic='{topic}', partition={partition}, offset={offset}, timestamp={}}}: {error}",
                timestamp.unwrap_or(-1)
            ),
            (
                FailedRecord::Source {
                    topic,
                    record: Some(record),
                    ..
                },
                true,
            ) => tracing::error!(
                connector, task = id, stage, class, topic, error = %error,
                "Error encountered in task {task}. Executing stage '{stage}' with class '{class}', where source record is = {record:?}: {error}"
            ),
            _ => tracing::error!(
                connector, task = id, stage, class, error = %error,
                "Error encountered in task {task}. Executing stage '{stage}' with class '{class}': {error}"
            ),
        }
    }
}
