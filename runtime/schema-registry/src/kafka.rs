//! The registry's state kept in a compacted Kafka topic (`_schemas` by default), in
//! Confluent's record format (`records`), so every worker sharing the topic hands out the
//! same ids, and a topic written by Confluent's registry can be served.
//!
//! - The topic has one partition, so all registries see one order of records; it is
//!   created with `cleanup.policy=compact` when missing (replication factor 3, or the
//!   number of brokers if fewer, as Confluent's `kafkastore.topic.replication.factor`
//!   default falls back). Compaction keeps the last record per key, which is the state.
//! - On open, a consumer assigned to the partition (no consumer group: nothing is
//!   committed, every start reads from the beginning) reads the topic up to the high
//!   watermark taken at start before the store serves anything.
//! - A write produces with `acks=all` and waits for the broker's acknowledgement, then
//!   until the consumer has applied the record's offset: the state a write returns on is
//!   the log's state at that offset, including every other registry's earlier writes.
//!   Whether the write won (see `model`) is read from that state.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::sync::watch;

use crate::error::RegistryError;
use crate::model::RegistryState;
use crate::records::LogRecord;

/// Where and how the registry keeps its records.
#[derive(Debug, Clone)]
pub struct KafkaStoreConfig {
    /// `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// The topic (Confluent's `kafkastore.topic`).
    pub topic: String,
    /// Extra librdkafka settings for every client (security, timeouts, …).
    pub client_settings: Vec<(String, String)>,
    /// How long opening (reading the topic to its end) and each write may take.
    pub timeout: Duration,
}

impl KafkaStoreConfig {
    /// Confluent's default topic.
    pub const DEFAULT_TOPIC: &'static str = "_schemas";
    /// Default for [`KafkaStoreConfig::timeout`].
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Settings for `bootstrap_servers` with the default topic and timeout.
    pub fn new(bootstrap_servers: impl Into<String>) -> KafkaStoreConfig {
        KafkaStoreConfig {
            bootstrap_servers: bootstrap_servers.into(),
            topic: Self::DEFAULT_TOPIC.to_string(),
            client_settings: Vec::new(),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        for (key, value) in &self.client_settings {
            config.set(key, value);
        }
        config
    }
}

fn store_error(what: &str, topic: &str, e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Store(format!("{what} (topic '{topic}'): {e}"))
}

/// The producer side of the log and the handle of the task that applies it.
pub(crate) struct KafkaLog {
    producer: FutureProducer,
    topic: String,
    timeout: Duration,
    /// The offset after the last record applied.
    applied: watch::Receiver<i64>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for KafkaLog {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl KafkaLog {
    /// Creates the topic when missing, reads it to its end into `state`, and keeps
    /// applying what is appended.
    pub(crate) async fn open(
        config: KafkaStoreConfig,
        state: Arc<RwLock<RegistryState>>,
    ) -> Result<KafkaLog, RegistryError> {
        let topic = config.topic.clone();
        ensure_topic(&config).await?;
        let consumer: StreamConsumer = config
            .client()
            // librdkafka wants a group id even for assign(); no group is joined and
            // nothing is committed, since partitions are assigned by hand.
            .set("group.id", "sluice-schema-registry")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("receive.message.max.bytes", "1000000000")
            .create()
            .map_err(|e| store_error("creating the consumer", &topic, e))?;
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&topic, 0, Offset::Beginning)
            .map_err(|e| store_error("assigning partition 0", &topic, e))?;
        consumer
            .assign(&assignment)
            .map_err(|e| store_error("assigning partition 0", &topic, e))?;
        let consumer = Arc::new(consumer);
        let end = {
            let consumer = Arc::clone(&consumer);
            let (topic, timeout) = (topic.clone(), config.timeout);
            tokio::task::spawn_blocking(move || high_watermark(&consumer, &topic, timeout))
                .await
                .map_err(|e| store_error("reading the end offset", &config.topic, e))??
        };
        let (applied_tx, applied) = watch::channel(0i64);
        let reader = tokio::spawn(apply_records(consumer, state, applied_tx, topic.clone()));
        let producer: FutureProducer = config
            .client()
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "0")
            .create()
            .map_err(|e| store_error("creating the producer", &topic, e))?;
        let log = KafkaLog {
            producer,
            topic,
            timeout: config.timeout,
            applied,
            reader,
        };
        log.wait_applied(end).await?;
        tracing::info!(topic = %log.topic, records = end, "schema registry read its topic");
        Ok(log)
    }

    /// Produces `records` in order and returns once they are acknowledged and applied.
    pub(crate) async fn append(&self, records: Vec<LogRecord>) -> Result<(), RegistryError> {
        let mut last = None;
        for record in records {
            let key = record.key_json();
            let value = record.value_json();
            let mut message = FutureRecord::<String, String>::to(&self.topic)
                .key(&key)
                .partition(0);
            if let Some(value) = &value {
                message = message.payload(value);
            }
            let delivered = self
                .producer
                .send(message, self.timeout)
                .await
                .map_err(|(e, _)| store_error("writing a record", &self.topic, e))?;
            last = Some(delivered.offset);
        }
        match last {
            Some(offset) => self.wait_applied(offset + 1).await,
            None => Ok(()),
        }
    }

    async fn wait_applied(&self, offset: i64) -> Result<(), RegistryError> {
        let mut applied = self.applied.clone();
        let waited = tokio::time::timeout(self.timeout, applied.wait_for(|&at| at >= offset)).await;
        match waited {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(store_error(
                "the reader of the topic stopped",
                &self.topic,
                "see the log for its error",
            )),
            Err(_) => Err(RegistryError::Timeout(format!(
                "the schemas topic '{}' was not read up to offset {offset} within {:?}; is the broker reachable?",
                self.topic, self.timeout
            ))),
        }
    }
}

/// Creates the topic when missing, compacted, with one partition.
async fn ensure_topic(config: &KafkaStoreConfig) -> Result<(), RegistryError> {
    let topic = &config.topic;
    let admin: AdminClient<DefaultClientContext> = config
        .client()
        .create()
        .map_err(|e| store_error("creating the admin client", topic, e))?;
    let metadata = {
        let (client_config, name, timeout) = (config.client(), topic.clone(), config.timeout);
        tokio::task::spawn_blocking(move || {
            let consumer: rdkafka::consumer::BaseConsumer = client_config.create()?;
            consumer.fetch_metadata(Some(&name), timeout)
        })
        .await
        .map_err(|e| store_error("reading metadata", topic, e))?
        .map_err(|e| store_error("reading metadata", topic, e))?
    };
    let existing = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty());
    if let Some(existing) = existing {
        if existing.partitions().len() != 1 {
            return Err(RegistryError::Store(format!(
                "the schemas topic '{topic}' has {} partitions; the registry needs exactly one (create it with one partition and cleanup.policy=compact, or name another topic)",
                existing.partitions().len()
            )));
        }
        return Ok(());
    }
    let replication = metadata.brokers().len().clamp(1, 3) as i32;
    let new_topic = NewTopic::new(topic, 1, TopicReplication::Fixed(replication))
        .set("cleanup.policy", "compact");
    let results = admin
        .create_topics(&[new_topic], &AdminOptions::new())
        .await
        .map_err(|e| store_error("creating the topic", topic, e))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(store_error("creating the topic", topic, code)),
        }
    }
    tracing::info!(topic = %topic, replication, "created the schemas topic (compacted, one partition)");
    Ok(())
}

/// The partition's high watermark, retried while a just-created topic is not yet known.
fn high_watermark(
    consumer: &StreamConsumer,
    topic: &str,
    timeout: Duration,
) -> Result<i64, RegistryError> {
    let deadline = Instant::now() + timeout;
    loop {
        match consumer.fetch_watermarks(topic, 0, Duration::from_secs(5)) {
            Ok((_, high)) => return Ok(high),
            Err(e) if Instant::now() >= deadline => {
                return Err(store_error("reading the end offset", topic, e))
            }
            Err(e) => {
                tracing::debug!(topic, error = %e, "end offset not available yet; retrying");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Applies every record of the topic to the state, in order, and publishes how far it got.
async fn apply_records(
    consumer: Arc<StreamConsumer>,
    state: Arc<RwLock<RegistryState>>,
    applied: watch::Sender<i64>,
    topic: String,
) {
    loop {
        let message = match consumer.recv().await {
            Ok(message) => message,
            Err(KafkaError::PartitionEOF(_)) => continue,
            Err(e) => {
                tracing::warn!(topic = %topic, error = %e, "reading the schemas topic failed; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let offset = message.offset();
        match message.key() {
            None => {
                tracing::warn!(topic = %topic, offset, "schemas topic record without a key; skipped")
            }
            Some(key) => match LogRecord::decode(key, message.payload()) {
                Ok(record) => {
                    let accepted = state
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .apply(record);
                    if !accepted {
                        tracing::debug!(topic = %topic, offset, "schemas topic record refused (lost a race)");
                    }
                }
                Err(e) => {
                    tracing::warn!(topic = %topic, offset, error = %e, "schemas topic record skipped")
                }
            },
        }
        applied.send_replace(offset + 1);
    }
}
