//! The sink task executor: consumer → converters → transforms → `put`, and commits.
//!
//! Kafka offsets are committed only after `flush` returned for everything `put` so far,
//! so a crash re-delivers what was not yet durable in the target (at-least-once). The
//! consumer joins group `connect-<name>` with a static `group.instance.id` per task,
//! so a restarted task gets its partitions back without waiting for the old member to
//! expire.

mod put;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers as _, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{SinkTask, Transform};
use sluice_core::{ConnectError, Headers, Record, SinkRecord, TopicPartition};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::errors::dead_letter::message_headers;
use crate::errors::{apply_chain, FailedRecord, Failure};
use crate::metrics::TaskMetrics;
use crate::task::{Converters, ErrorPolicy, SharedState, Stage, TaskId};

/// Most records handed to one `put`.
const MAX_BATCH: usize = 2000;

/// Everything a sink task needs to run.
pub struct SinkTaskRunner {
    /// Which task.
    pub id: TaskId,
    /// The task.
    pub task: Box<dyn SinkTask>,
    /// Its config.
    pub config: ConfigMap,
    /// Its converters.
    pub converters: Converters,
    /// Its transform chain.
    pub transforms: Vec<Box<dyn Transform>>,
    /// `errors.*`.
    pub policy: ErrorPolicy,
    /// Consumer settings.
    pub consumer: ClientConfig,
    /// `topics`.
    pub topics: Vec<String>,
    /// `topics.regex` (empty when unset).
    pub topics_regex: String,
    /// `offset.flush.interval.ms`.
    pub flush_interval: Duration,
}

impl SinkTaskRunner {
    /// Runs until `stop` turns true or the task fails; flushes and commits at the end.
    pub async fn run(
        mut self,
        mut stop: watch::Receiver<bool>,
        state: SharedState,
    ) -> Result<(), ConnectError> {
        // librdkafka looks for a subscribed topic that does not exist yet only at each
        // metadata refresh (5 minutes by default); a sink started next to the source
        // that creates its topic would wait that long. Unless the user set it.
        if self
            .consumer
            .get("topic.metadata.refresh.interval.ms")
            .is_none()
        {
            self.consumer
                .set("topic.metadata.refresh.interval.ms", "2000");
        }
        let consumer: StreamConsumer = self.consumer.create().map_err(|e| {
            ConnectError::Fatal(format!("creating the consumer of {}: {e}", self.id))
        })?;
        let regex = (!self.topics_regex.is_empty()).then(|| {
            if self.topics_regex.starts_with('^') {
                self.topics_regex.clone()
            } else {
                format!("^{}", self.topics_regex)
            }
        });
        let subscription: Vec<&str> = match &regex {
            Some(r) => vec![r.as_str()],
            None => self.topics.iter().map(String::as_str).collect(),
        };
        consumer
            .subscribe(&subscription)
            .map_err(|e| ConnectError::Fatal(format!("subscribing to {subscription:?}: {e}")))?;
        self.task.start(&self.config).await?;
        crate::task::set_state(&state, "RUNNING", None);
        tracing::info!(task = %self.id, topics = ?subscription, "sink task started");
        let metrics = crate::metrics::global().task(&self.id, crate::metrics::TaskKind::Sink);
        let _attached = metrics.attach(None, None);

        let mut positions: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        let mut dirty = false;
        let mut next_flush = Instant::now() + self.flush_interval;
        let mut stream = consumer.stream().ready_chunks(MAX_BATCH);
        let result: Result<(), ConnectError> = async {
            loop {
                let chunk = tokio::select! {
                    biased;
                    _ = stop.changed() => return Ok(()),
                    _ = tokio::time::sleep_until(next_flush) => {
                        if dirty {
                            self.flush_and_commit(&consumer, &positions, &metrics).await?;
                            dirty = false;
                        }
                        next_flush = Instant::now() + self.flush_interval;
                        continue;
                    }
                    chunk = stream.next() => match chunk {
                        Some(c) => c,
                        None => return Err(ConnectError::Fatal("the consumer stream ended".into())),
                    },
                };
                metrics.sink_read(chunk.iter().filter(|m| m.is_ok()).count());
                let mut batch = Vec::with_capacity(chunk.len());
                for msg in chunk {
                    let msg = match msg {
                        Ok(m) => m,
                        Err(e) => {
                            tracing::warn!(task = %self.id, error = %e, "consumer error; retrying");
                            continue;
                        }
                    };
                    positions.insert(
                        TopicPartition {
                            topic: msg.topic().to_owned(),
                            partition: msg.partition(),
                        },
                        msg.offset() + 1,
                    );
                    dirty = true;
                    if let Some(r) = self.convert_message(&msg).await? {
                        batch.push(r);
                    }
                }
                if !batch.is_empty() {
                    metrics.sink_put(&batch);
                }
                if !batch.is_empty() && !self.put(batch, &mut stop, &state).await? {
                    // Stopped before the batch was taken: commit nothing, it is
                    // delivered again.
                    dirty = false;
                    return Ok(());
                }
            }
        }
        .await;
        drop(stream);
        let committed = if result.is_ok() && dirty {
            self.flush_and_commit(&consumer, &positions, &metrics).await
        } else {
            Ok(())
        };
        if let Err(e) = self.task.stop().await {
            tracing::warn!(task = %self.id, error = %e, "sink task stop failed");
        }
        tracing::info!(task = %self.id, "sink task stopped");
        result.and(committed)
    }

    async fn flush_and_commit(
        &mut self,
        consumer: &StreamConsumer,
        positions: &BTreeMap<TopicPartition, i64>,
        metrics: &TaskMetrics,
    ) -> Result<(), ConnectError> {
        let committed = self.flush_and_commit_offsets(consumer, positions).await;
        metrics.offset_commit(committed.is_ok());
        committed
    }

    async fn flush_and_commit_offsets(
        &mut self,
        consumer: &StreamConsumer,
        positions: &BTreeMap<TopicPartition, i64>,
    ) -> Result<(), ConnectError> {
        self.task.flush(positions).await?;
        let mut tpl = TopicPartitionList::with_capacity(positions.len());
        for (tp, offset) in positions {
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
                .map_err(|e| ConnectError::Fatal(format!("offset list: {e}")))?;
        }
        consumer.commit(&tpl, CommitMode::Sync).map_err(|e| {
            ConnectError::Retriable(format!("committing offsets of {}: {e}", self.id))
        })?;
        tracing::debug!(task = %self.id, partitions = positions.len(), "committed sink offsets");
        Ok(())
    }

    /// The record a message makes, after the converters and transforms; `None` when a
    /// transform dropped it or it failed and is skipped (`errors.tolerance=all`, written
    /// to the dead-letter topic when there is one).
    async fn convert_message(
        &mut self,
        msg: &BorrowedMessage<'_>,
    ) -> Result<Option<SinkRecord>, ConnectError> {
        match self.try_convert(msg).await {
            Ok(record) => Ok(record),
            Err((stage, index, error)) => {
                let failure = Failure {
                    stage,
                    class_name: self.policy.class_of(stage, index, self.transforms.len()),
                    error: &error,
                    record: FailedRecord::Consumed {
                        topic: msg.topic(),
                        partition: msg.partition(),
                        offset: msg.offset(),
                        key: msg.key(),
                        value: msg.payload(),
                        headers: message_headers(msg.headers()),
                        timestamp: msg.timestamp().to_millis(),
                    },
                };
                self.policy.report(&self.id, failure).await?;
                Ok(None)
            }
        }
    }

    /// Converters then transforms, each under the retry policy; the failing stage (and
    /// transform index) on error.
    async fn try_convert(
        &mut self,
        msg: &BorrowedMessage<'_>,
    ) -> Result<Option<SinkRecord>, (Stage, usize, ConnectError)> {
        let topic = msg.topic();
        let retry = self.policy.retry();
        let on_retry = |stage: Stage| {
            let id = &self.id;
            move |attempt: u32, wait: Duration, e: &ConnectError| tracing::warn!(task = %id, stage = stage.name(), attempt, wait_ms = wait.as_millis() as u64, error = %e, "retriable failure; retrying")
        };
        let c = &self.converters;
        let key = retry
            .run(
                || c.key.to_connect(topic, msg.key()),
                on_retry(Stage::KeyConverter),
            )
            .await
            .map_err(|e| (Stage::KeyConverter, 0, e))?;
        let value = retry
            .run(
                || c.value.to_connect(topic, msg.payload()),
                on_retry(Stage::ValueConverter),
            )
            .await
            .map_err(|e| (Stage::ValueConverter, 0, e))?;
        let mut headers = Headers::default();
        if let Some(hs) = msg.headers() {
            for h in hs.iter() {
                let v = retry
                    .run(
                        || c.header.to_connect(topic, h.value),
                        on_retry(Stage::HeaderConverter),
                    )
                    .await
                    .map_err(|e| (Stage::HeaderConverter, 0, e))?;
                headers.add(h.key, v);
            }
        }
        let record = Record {
            topic: topic.to_owned(),
            partition: Some(msg.partition()),
            key,
            value,
            timestamp: msg.timestamp().to_millis(),
            headers,
        };
        let record = apply_chain(&self.id, &retry, &mut self.transforms, record)
            .await
            .map_err(|(i, e)| (Stage::Transformation, i, e))?;
        Ok(record.map(|record| SinkRecord {
            record,
            kafka_partition: msg.partition(),
            kafka_offset: msg.offset(),
        }))
    }
}
