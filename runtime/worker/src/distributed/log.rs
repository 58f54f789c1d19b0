//! A compacted topic read as a log of key/value updates: Kafka Connect's `KafkaBasedLog`.
//!
//! Why a store built on it sees a consistent picture: one consumer thread reads every
//! partition of the topic from the beginning and hands each record to the store's apply
//! function in offset order, so the store's in-memory state is always the fold of a
//! prefix of each partition. [`KafkaLog::read_to_end`] takes the high watermarks *after*
//! it is called and waits until the thread has passed them, so it returns only once
//! every record acknowledged before the call has been applied. [`KafkaLog::send`] returns
//! only after the broker acknowledged the record (`acks=all`) *and* the consumer applied
//! it, so a writer reads its own writes and every worker applies all writes in the same
//! (log) order — the state never depends on who wrote first locally.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::settings::TopicSpec;
use crate::config::WorkerConfig;
use crate::kafka;

/// How long a store waits for the broker before giving up on a read or write
/// (Kafka Connect's `READ_WRITE_TOTAL_TIMEOUT_MS`).
pub const READ_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// A failure of a storage topic; each names the topic.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The topic could not be created or described.
    #[error("storage topic {topic}: {reason}")]
    Topic {
        /// The topic.
        topic: String,
        /// What went wrong and what to do.
        reason: String,
    },
    /// A Kafka client failed.
    #[error("storage topic {topic}: {source}")]
    Kafka {
        /// The topic.
        topic: String,
        /// The client error.
        #[source]
        source: KafkaError,
    },
    /// The broker did not answer in time.
    #[error("storage topic {topic}: {what} did not finish within {timeout:?}; is the broker at bootstrap.servers reachable?")]
    Timeout {
        /// The topic.
        topic: String,
        /// What was waited for.
        what: &'static str,
        /// How long.
        timeout: Duration,
    },
}

/// Applies one record of the topic to a store: `(key, value, partition, offset)`; a
/// `None` value is a tombstone.
pub type Apply = Box<dyn FnMut(&[u8], Option<&[u8]>, i32, i64) + Send>;

#[derive(Default)]
struct Positions {
    /// Next offset to read, per partition.
    next: HashMap<i32, i64>,
}

/// One storage topic: a writer and a reader thread that applies what it reads.
pub struct KafkaLog {
    topic: String,
    partitions: Vec<i32>,
    producer: FutureProducer,
    consumer: Arc<BaseConsumer>,
    positions: Arc<Mutex<Positions>>,
    advanced: Arc<Notify>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaLog")
            .field("topic", &self.topic)
            .finish()
    }
}

/// Creates `spec`'s topic, compacted, unless it exists.
pub async fn ensure_topic(worker: &WorkerConfig, spec: &TopicSpec) -> Result<(), LogError> {
    let admin: AdminClient<DefaultClientContext> =
        kafka::admin_config(worker)
            .create()
            .map_err(|source| LogError::Kafka {
                topic: spec.name.clone(),
                source,
            })?;
    let replication = TopicReplication::Fixed(spec.replication_factor);
    let mut topic = NewTopic::new(&spec.name, spec.partitions, replication);
    for (k, v) in &spec.configs {
        if k != "cleanup.policy" {
            topic = topic.set(k, v);
        }
    }
    topic = topic.set("cleanup.policy", "compact");
    let options = AdminOptions::new()
        .operation_timeout(Some(READ_WRITE_TIMEOUT))
        .request_timeout(Some(READ_WRITE_TIMEOUT));
    let results = admin
        .create_topics([&topic], &options)
        .await
        .map_err(|e| LogError::Topic {
            topic: spec.name.clone(),
            reason: format!(
                "cannot create or check it through the brokers at {} ({e}); check bootstrap.servers and that a broker is up",
                worker.bootstrap_servers
            ),
        })?;
    for result in results {
        match result {
            Ok(_) => tracing::info!(topic = %spec.name, partitions = spec.partitions, replication_factor = spec.replication_factor, "created storage topic (cleanup.policy=compact)"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => {
                return Err(LogError::Topic {
                    topic: spec.name.clone(),
                    reason: format!("cannot create it ({code}); create it yourself with cleanup.policy=compact, or lower its *.replication.factor to what the cluster has"),
                })
            }
        }
    }
    Ok(())
}

fn client_error(topic: &str) -> impl Fn(KafkaError) -> LogError + '_ {
    move |source| LogError::Kafka {
        topic: topic.to_owned(),
        source,
    }
}

impl KafkaLog {
    /// Creates the topic when missing, starts reading it from the beginning and returns
    /// once everything in it has been applied.
    pub async fn start(
        worker: &WorkerConfig,
        spec: &TopicSpec,
        client_id: &str,
        apply: Apply,
    ) -> Result<Self, LogError> {
        ensure_topic(worker, spec).await?;
        let topic = spec.name.clone();
        let mut producer_config = kafka::admin_config(worker);
        producer_config
            .set("client.id", format!("{client_id}-producer"))
            .set("acks", "all")
            // One in flight: records of one writer land in the order sent.
            .set("max.in.flight.requests.per.connection", "1")
            // The Java client's key hashing, so every writer puts a key in one partition.
            .set("partitioner", "murmur2_random")
            .set("linger.ms", "0");
        let producer: FutureProducer = producer_config.create().map_err(client_error(&topic))?;
        let mut consumer_config: ClientConfig = kafka::admin_config(worker);
        consumer_config
            .set("client.id", format!("{client_id}-consumer"))
            .set("group.id", format!("{client_id}-unused"))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "50");
        let consumer: BaseConsumer = consumer_config.create().map_err(client_error(&topic))?;
        let consumer = Arc::new(consumer);
        let partitions = Self::partitions_of(&consumer, &topic).await?;
        let mut assignment = TopicPartitionList::new();
        for p in &partitions {
            assignment
                .add_partition_offset(&topic, *p, Offset::Beginning)
                .map_err(client_error(&topic))?;
        }
        consumer.assign(&assignment).map_err(client_error(&topic))?;
        let positions = Arc::new(Mutex::new(Positions::default()));
        let advanced = Arc::new(Notify::new());
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (consumer, positions, advanced, stop) = (
                consumer.clone(),
                positions.clone(),
                advanced.clone(),
                stop.clone(),
            );
            let topic = topic.clone();
            std::thread::Builder::new()
                .name(format!("log-{topic}"))
                .spawn(move || read_loop(&topic, &consumer, &positions, &advanced, &stop, apply))
                .map_err(|e| LogError::Topic {
                    topic: spec.name.clone(),
                    reason: format!("cannot start its reader thread: {e}"),
                })?
        };
        let log = KafkaLog {
            topic,
            partitions,
            producer,
            consumer,
            positions,
            advanced,
            stop,
            reader: Some(reader),
        };
        log.read_to_end().await?;
        tracing::info!(topic = %log.topic, partitions = log.partitions.len(), "storage topic read to its end");
        Ok(log)
    }

    async fn partitions_of(
        consumer: &Arc<BaseConsumer>,
        topic: &str,
    ) -> Result<Vec<i32>, LogError> {
        let deadline = Instant::now() + READ_WRITE_TIMEOUT;
        loop {
            let c = consumer.clone();
            let t = topic.to_owned();
            let metadata = tokio::task::spawn_blocking(move || {
                c.fetch_metadata(Some(&t), Duration::from_secs(5)).map(|m| {
                    m.topics()
                        .iter()
                        .find(|x| x.name() == t && x.error().is_none())
                        .map(|x| x.partitions().iter().map(|p| p.id()).collect::<Vec<_>>())
                })
            })
            .await
            .ok();
            if let Some(Ok(Some(mut ids))) = metadata {
                if !ids.is_empty() {
                    ids.sort_unstable();
                    return Ok(ids);
                }
            }
            if Instant::now() >= deadline {
                return Err(LogError::Timeout {
                    topic: topic.to_owned(),
                    what: "reading the topic's partitions",
                    timeout: READ_WRITE_TIMEOUT,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Its partitions.
    pub fn partition_count(&self) -> usize {
        self.partitions.len()
    }

    /// The next offset the reader will apply in `partition`.
    pub fn position(&self, partition: i32) -> i64 {
        let positions = self.positions.lock().unwrap_or_else(|p| p.into_inner());
        positions.next.get(&partition).copied().unwrap_or(0)
    }

    /// Waits until every record written before this call has been applied.
    pub async fn read_to_end(&self) -> Result<(), LogError> {
        let deadline = Instant::now() + READ_WRITE_TIMEOUT;
        let mut ends = Vec::with_capacity(self.partitions.len());
        for p in &self.partitions {
            let c = self.consumer.clone();
            let (topic, p) = (self.topic.clone(), *p);
            let (_, high) = tokio::task::spawn_blocking(move || {
                c.fetch_watermarks(&topic, p, Duration::from_secs(10))
            })
            .await
            .map_err(|e| LogError::Topic {
                topic: self.topic.clone(),
                reason: format!("watermark lookup panicked: {e}"),
            })?
            .map_err(client_error(&self.topic))?;
            ends.push((p, high));
        }
        for (p, high) in ends {
            self.wait_applied(p, high, deadline).await?;
        }
        Ok(())
    }

    /// Waits until the reader's position in `partition` reaches `offset`.
    async fn wait_applied(
        &self,
        partition: i32,
        offset: i64,
        deadline: Instant,
    ) -> Result<(), LogError> {
        loop {
            let notified = self.advanced.notified();
            if self.reached(partition, offset) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(LogError::Timeout {
                    topic: self.topic.clone(),
                    what: "reading the topic to its end",
                    timeout: READ_WRITE_TIMEOUT,
                });
            }
            // The reader also advances past records it never hands out (transaction
            // markers, compacted gaps): re-check its position now and then.
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }

    fn reached(&self, partition: i32, offset: i64) -> bool {
        if offset <= 0 || self.position(partition) >= offset {
            return true;
        }
        let Ok(list) = self.consumer.position() else {
            return false;
        };
        let reached = list
            .find_partition(&self.topic, partition)
            .and_then(|e| match e.offset() {
                Offset::Offset(o) => Some(o >= offset),
                _ => None,
            })
            .unwrap_or(false);
        reached
    }

    /// Writes `key` = `value` (`None`: a tombstone) and returns once the broker acknowledged
    /// it and the reader applied it.
    pub async fn send(&self, key: &[u8], value: Option<&[u8]>) -> Result<(i32, i64), LogError> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(v) = value {
            record = record.payload(v);
        }
        let delivery = self
            .producer
            .send(record, READ_WRITE_TIMEOUT)
            .await
            .map_err(|(source, _)| LogError::Kafka {
                topic: self.topic.clone(),
                source,
            })?;
        let (partition, offset) = (delivery.partition, delivery.offset);
        self.wait_applied(partition, offset + 1, Instant::now() + READ_WRITE_TIMEOUT)
            .await?;
        Ok((partition, offset))
    }
}

impl Drop for KafkaLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

fn read_loop(
    topic: &str,
    consumer: &BaseConsumer,
    positions: &Mutex<Positions>,
    advanced: &Notify,
    stop: &AtomicBool,
    mut apply: Apply,
) {
    while !stop.load(Ordering::SeqCst) {
        match consumer.poll(Duration::from_millis(100)) {
            None => advanced.notify_waiters(),
            Some(Ok(m)) => {
                let key = m.key().unwrap_or_default();
                apply(key, m.payload(), m.partition(), m.offset());
                positions
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .next
                    .insert(m.partition(), m.offset() + 1);
                advanced.notify_waiters();
            }
            Some(Err(e)) => {
                tracing::warn!(topic, error = %e, "reading storage topic failed; retrying");
            }
        }
    }
}
