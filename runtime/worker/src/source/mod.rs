//! The source task executor: `poll` → transforms → converters → producer, and the
//! offset commits that make delivery at-least-once.
//!
//! Why no acknowledged-but-uncommitted gap and no committed-but-unacknowledged record:
//! every record (even one a transform dropped) is registered with the [`acks`] tracker in
//! `poll` order; a record's offset becomes committable only when it and every record
//! before it were acknowledged. A commit therefore writes, per source partition, the
//! offset of the last record of an acknowledged *prefix* of the stream. After a crash the
//! task resumes after that offset; records after it may be sent again (duplicates), none
//! before it can be missing. A delivery failure stops the prefix for good and fails the
//! task.

mod acks;
mod restart;
mod transactions;

use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{Progress, SourceTask, Transform};
use sluice_core::{ConnectError, ErrorClass, SourceRecord};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::errors::{apply_chain, convert, FailedRecord, Failure};
use crate::metrics::TaskMetrics;
use crate::offsets::OffsetStore;
use crate::task::{Converters, ErrorPolicy, SharedState, Stage, TaskId};
use acks::{AckTracker, SourceDeliveries};
pub use transactions::TransactionSettings;

/// A source task's producer: delivery reports go to its [`AckTracker`].
pub type SourceProducer = ThreadedProducer<SourceDeliveries>;

/// Creates a source task's producer and the tracker its deliveries report to.
pub fn create_producer(
    config: &ClientConfig,
) -> Result<(Arc<SourceProducer>, Arc<AckTracker>), KafkaError> {
    let acks = Arc::new(AckTracker::default());
    let producer = config.create_with_context(SourceDeliveries(acks.clone()))?;
    Ok((Arc::new(producer), acks))
}

/// Everything a source task needs to run.
pub struct SourceTaskRunner {
    /// Which task.
    pub id: TaskId,
    /// The task.
    pub task: Box<dyn SourceTask>,
    /// Its config.
    pub config: ConfigMap,
    /// Its converters.
    pub converters: Converters,
    /// Its transform chain.
    pub transforms: Vec<Box<dyn Transform>>,
    /// `errors.*`.
    pub policy: ErrorPolicy,
    /// Its producer.
    pub producer: Arc<SourceProducer>,
    /// Where the producer reports deliveries.
    pub acks: Arc<AckTracker>,
    /// Records the topics the task produces to (`topic.tracking.enable`).
    pub topics: Option<crate::herder::topics::TopicRecorder>,
    /// Where offsets go.
    pub offsets: Arc<dyn OffsetStore>,
    /// Where the task publishes progress for `/status`.
    pub progress: Progress,
    /// `offset.flush.interval.ms`.
    pub flush_interval: Duration,
    /// `offset.flush.timeout.ms`.
    pub flush_timeout: Duration,
    /// Exactly-once delivery: records and offsets in one transaction per boundary
    /// (the producer has a `transactional.id`); `None` for at-least-once.
    pub transactions: Option<TransactionSettings>,
}

impl SourceTaskRunner {
    /// Runs until `stop` turns true or the task fails; commits what Kafka acknowledged.
    pub async fn run(
        mut self,
        mut stop: watch::Receiver<bool>,
        state: SharedState,
    ) -> Result<(), ConnectError> {
        if let Some(t) = &self.transactions {
            // Fence earlier instances (aborting what they left open) before reading
            // the offsets their committed transactions wrote.
            transactions::init(&self.producer, t.timeout).await?;
        }
        if !self.start_task(&mut stop, &state, None).await? {
            if let Err(e) = self.task.stop().await {
                tracing::warn!(task = %self.id, error = %e, "source task stop failed");
            }
            return Ok(());
        }
        tracing::info!(task = %self.id, "source task started");
        let acks = self.acks.clone();
        let metrics = crate::metrics::global().task(&self.id, crate::metrics::TaskKind::Source);
        let _attached = metrics.attach(Some(acks.clone()), Some(self.progress.clone()));
        let flush_interval = match &self.transactions {
            Some(t) => t.interval.unwrap_or(self.flush_interval),
            None => self.flush_interval,
        };
        let per_poll = self
            .transactions
            .as_ref()
            .is_some_and(|t| t.interval.is_none());
        let mut next_flush = Instant::now() + flush_interval;
        let mut open = false;
        let mut waiting = false;
        let result: Result<(), ConnectError> = async {
            loop {
                if let Some(e) = acks.failure() {
                    return Err(e);
                }
                let batch = tokio::select! {
                    biased;
                    _ = stop.changed() => return Ok(()),
                    _ = tokio::time::sleep_until(next_flush) => {
                        if self.transactions.is_none() {
                            self.commit(&acks, &metrics).await?;
                        } else if std::mem::take(&mut open) {
                            self.commit_transaction(&acks, &metrics).await?;
                        }
                        waiting = restart::report_waiting(&self.id, &acks, &state, waiting);
                        next_flush = Instant::now() + flush_interval;
                        continue;
                    }
                    batch = self.task.poll() => batch,
                };
                let batch = match batch {
                    Err(e) if e.class() == ErrorClass::Retriable && self.transactions.is_none() => {
                        // Kafka Connect retries a poll that failed this way; a source
                        // whose reader died (database restarted, connection killed) is
                        // restarted in place from its committed offsets. (An exactly-once
                        // task fails instead: its open transaction must be aborted, and
                        // its next instance fences this one and reads the offsets.)
                        if !self.start_task(&mut stop, &state, Some(e)).await? {
                            return Ok(());
                        }
                        continue;
                    }
                    other => other?,
                };
                metrics.source_batch(&batch);
                if self.transactions.is_some() && !batch.is_empty() && !open {
                    transactions::begin(&self.producer)?;
                    open = true;
                }
                for record in batch {
                    acks.wait_for_room().await;
                    self.send(record).await?;
                }
                if per_poll && std::mem::take(&mut open) {
                    self.commit_transaction(&acks, &metrics).await?;
                }
            }
        }
        .await;
        if self.transactions.is_some() {
            // A failed task leaves its transaction to be aborted (by the broker or the
            // task's next instance); a stopped one commits what it sent.
            let committed = match (&result, open) {
                (Ok(()), true) => self.commit_transaction(&acks, &metrics).await,
                _ => Ok(()),
            };
            if let Err(e) = self.task.stop().await {
                tracing::warn!(task = %self.id, error = %e, "source task stop failed");
            }
            tracing::info!(task = %self.id, "source task stopped");
            return result.and(committed);
        }
        // Shutdown: everything sent gets its chance to be acknowledged, then commit.
        let deadline = self.flush_timeout;
        let producer = self.producer.clone();
        let flushed = tokio::task::spawn_blocking(move || producer.flush(deadline)).await;
        if let Ok(Err(e)) = flushed {
            tracing::warn!(task = %self.id, error = %e, "producer flush at shutdown did not finish; unacknowledged records will be sent again after restart");
        }
        let committed = self.commit(&acks, &metrics).await;
        if let Err(e) = self.task.stop().await {
            tracing::warn!(task = %self.id, error = %e, "source task stop failed");
        }
        tracing::info!(task = %self.id, "source task stopped");
        result
            .and(committed)
            .and(acks.failure().map_or(Ok(()), Err))
    }

    async fn commit(
        &mut self,
        acks: &AckTracker,
        metrics: &TaskMetrics,
    ) -> Result<(), ConnectError> {
        let offsets = acks.take_committable();
        if offsets.is_empty() {
            return Ok(());
        }
        let n = offsets.len();
        let committed = self.offsets.commit(&self.id.connector, offsets).await;
        metrics.offset_commit(committed.is_ok());
        committed.map_err(|e| ConnectError::Fatal(e.to_string()))?;
        tracing::debug!(task = %self.id, partitions = n, "committed source offsets");
        self.task.commit().await
    }

    /// Commits the open transaction with the offsets of every record in it.
    async fn commit_transaction(
        &mut self,
        acks: &AckTracker,
        metrics: &TaskMetrics,
    ) -> Result<(), ConnectError> {
        let Some(settings) = self.transactions.clone() else {
            return Ok(());
        };
        transactions::flush(&self.producer, settings.timeout).await?;
        if let Some(e) = acks.failure() {
            transactions::abort(&self.producer, settings.timeout).await;
            return Err(e);
        }
        let offsets = acks.take_committable();
        let committed =
            transactions::commit(&self.producer, &settings, &self.id.connector, &offsets).await;
        metrics.offset_commit(committed.is_ok());
        committed?;
        tracing::debug!(task = %self.id, partitions = offsets.len(), "committed a transaction");
        self.task.commit().await
    }

    async fn send(&mut self, record: SourceRecord) -> Result<(), ConnectError> {
        let SourceRecord {
            source_partition,
            source_offset,
            record,
        } = record;
        let retry = self.policy.retry();
        let (original, topic) = if self.transforms.is_empty() {
            (None, None)
        } else if self.policy.keeps_originals() {
            (Some(record.clone()), None)
        } else {
            (None, Some(record.topic.clone()))
        };
        let record = match apply_chain(&self.id, &retry, &mut self.transforms, record).await {
            Ok(r) => r,
            Err((index, e)) => {
                let failure = Failure {
                    stage: Stage::Transformation,
                    class_name: self.policy.class_of(
                        Stage::Transformation,
                        index,
                        self.transforms.len(),
                    ),
                    error: &e,
                    record: FailedRecord::Source {
                        topic: original
                            .as_ref()
                            .map(|r| r.topic.as_str())
                            .or(topic.as_deref())
                            .unwrap_or_default(),
                        record: original.as_ref(),
                        converters: &self.converters,
                    },
                };
                self.policy.report(&self.id, failure).await?;
                None
            }
        };
        let Some(record) = record else {
            self.acks.register(source_partition, source_offset, true);
            return Ok(());
        };
        let encoded = match self.convert(&record).await {
            Ok(encoded) => encoded,
            Err((stage, e)) => {
                let failure = Failure {
                    stage,
                    class_name: self.policy.class_of(stage, 0, 0),
                    error: &e,
                    record: FailedRecord::Source {
                        topic: &record.topic,
                        record: Some(&record),
                        converters: &self.converters,
                    },
                };
                self.policy.report(&self.id, failure).await?;
                self.acks.register(source_partition, source_offset, true);
                return Ok(());
            }
        };
        let seq = self.acks.register(source_partition, source_offset, false);
        self.produce(&record, encoded, seq).await
    }

    /// Key, value and headers in Kafka bytes.
    async fn convert(
        &mut self,
        record: &sluice_core::Record,
    ) -> Result<Encoded, (Stage, ConnectError)> {
        let topic = record.topic.as_str();
        let retry = self.policy.retry();
        let c = &self.converters;
        let key = convert(
            &self.id,
            &retry,
            Stage::KeyConverter,
            &*c.key,
            topic,
            &record.key,
        )
        .await
        .map_err(|e| (Stage::KeyConverter, e))?;
        let value = convert(
            &self.id,
            &retry,
            Stage::ValueConverter,
            &*c.value,
            topic,
            &record.value,
        )
        .await
        .map_err(|e| (Stage::ValueConverter, e))?;
        let mut headers = None;
        if !record.headers.is_empty() {
            let mut h = OwnedHeaders::new_with_capacity(record.headers.len());
            for header in record.headers.iter() {
                let bytes = convert(
                    &self.id,
                    &retry,
                    Stage::HeaderConverter,
                    &*c.header,
                    topic,
                    &header.value,
                )
                .await
                .map_err(|e| (Stage::HeaderConverter, e))?;
                h = h.insert(Header {
                    key: &header.key,
                    value: bytes.as_deref(),
                });
            }
            headers = Some(h);
        }
        Ok(Encoded {
            key,
            value,
            headers,
        })
    }

    /// Hands the record to the producer, waiting while its buffer is full; its delivery
    /// report acknowledges sequence number `seq`.
    async fn produce(
        &mut self,
        record: &sluice_core::Record,
        encoded: Encoded,
        seq: u64,
    ) -> Result<(), ConnectError> {
        let topic = record.topic.as_str();
        if let Some(t) = &mut self.topics {
            t.observe(topic);
        }
        let opaque = usize::try_from(seq)
            .map_err(|_| ConnectError::Fatal(format!("record sequence {seq} overflows")))?;
        loop {
            let mut br: BaseRecord<'_, [u8], [u8], usize> =
                BaseRecord::with_opaque_to(topic, opaque);
            if let Some(k) = &encoded.key {
                br = br.key(k.as_slice());
            }
            if let Some(v) = &encoded.value {
                br = br.payload(v.as_slice());
            }
            if let Some(p) = record.partition {
                br = br.partition(p);
            }
            if let Some(ts) = record.timestamp {
                br = br.timestamp(ts);
            }
            if let Some(h) = &encoded.headers {
                br = br.headers(h.clone());
            }
            match self.producer.send(br) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // librdkafka's buffer is full: wait for a delivery to free some of it
                    // (backpressure).
                    self.acks.wait_for_delivery(Duration::from_millis(10)).await;
                }
                Err((e, _)) => {
                    return Err(ConnectError::Fatal(format!(
                        "producing to topic {topic} failed: {e}"
                    )))
                }
            }
        }
    }
}

/// A record in Kafka bytes.
struct Encoded {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Option<OwnedHeaders>,
}
