//! The dead-letter queue: records that failed a stage, written to
//! `errors.deadletterqueue.topic.name` with Kafka Connect's `__connect.errors.*` context
//! headers (`errors.deadletterqueue.context.headers.enable`).
//!
//! A sink writes the consumed record unchanged (key, value, headers and timestamp bytes);
//! a source record, which has no bytes yet, is written as the task's converters encode it
//! before the failing stage, falling back to schemaless JSON for a part the converter
//! refuses. Every write is awaited: a record counts as handled (its offset committable)
//! only once the dead-letter topic has it, so a crash never loses one.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::{Header, Headers as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::Converter;
use sluice_core::{ConnectError, ErrorClass, Record};
use tokio::sync::OnceCell;

use super::Stage;
use crate::task::{Converters, TaskId};

/// Kafka Connect's prefix of the context headers.
pub const HEADER_PREFIX: &str = "__connect.errors.";

/// How long one dead-letter write may take before the task fails.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// `errors.deadletterqueue.*` of one connector.
#[derive(Debug, Clone)]
pub struct DeadLetterSettings {
    /// `errors.deadletterqueue.topic.name`.
    pub topic: String,
    /// `errors.deadletterqueue.topic.replication.factor` (-1: the broker's default).
    pub replication_factor: i32,
    /// `errors.deadletterqueue.context.headers.enable`.
    pub context_headers: bool,
}

/// What a failed record was, for the dead-letter topic.
pub enum FailedRecord<'a> {
    /// A record a sink consumed: written back byte for byte.
    Consumed {
        /// Topic it was consumed from.
        topic: &'a str,
        /// Its partition.
        partition: i32,
        /// Its offset.
        offset: i64,
        /// Key bytes.
        key: Option<&'a [u8]>,
        /// Value bytes.
        value: Option<&'a [u8]>,
        /// Headers, in order.
        headers: Vec<(&'a str, Option<&'a [u8]>)>,
        /// Timestamp (ms), when it has one.
        timestamp: Option<i64>,
    },
    /// A source record, before the failing stage, with the task's converters.
    Source {
        /// The record's topic (before the failing stage).
        topic: &'a str,
        /// The record, when it was kept (for a dead-letter topic, or to log it).
        record: Option<&'a Record>,
        /// The task's converters.
        converters: &'a Converters,
    },
}

/// One failure to report.
pub struct Failure<'a> {
    /// Where it failed.
    pub stage: Stage,
    /// The class doing the work (a transform's, a converter's, the task's).
    pub class_name: &'a str,
    /// What went wrong.
    pub error: &'a ConnectError,
    /// The record.
    pub record: FailedRecord<'a>,
}

/// Kafka Connect's exception class for an error of this class, for
/// `__connect.errors.exception.class.name`.
pub fn exception_class(error: &ConnectError) -> &'static str {
    match error.class() {
        ErrorClass::BadRecord => "org.apache.kafka.connect.errors.DataException",
        ErrorClass::Retriable => "org.apache.kafka.connect.errors.RetriableException",
        ErrorClass::Fatal => "org.apache.kafka.connect.errors.ConnectException",
    }
}

/// The error and its causes, one per line, as `__connect.errors.exception.stacktrace`.
fn trace_of(error: &ConnectError) -> String {
    let mut text = format!("{}: {error}", exception_class(error));
    let mut cause = std::error::Error::source(error);
    while let Some(c) = cause {
        text.push_str(&format!("\nCaused by: {c}"));
        cause = c.source();
    }
    text
}

/// The context headers Kafka Connect's `DeadLetterQueueReporter` adds: every value a
/// UTF-8 string; topic, partition and offset only for a consumed record.
pub fn context_headers(task: &TaskId, failure: &Failure<'_>) -> Vec<(String, String)> {
    let mut h = Vec::with_capacity(10);
    let mut add = |name: &str, value: String| h.push((format!("{HEADER_PREFIX}{name}"), value));
    match &failure.record {
        FailedRecord::Consumed {
            topic,
            partition,
            offset,
            ..
        } => {
            add("topic", (*topic).to_owned());
            add("partition", partition.to_string());
            add("offset", offset.to_string());
        }
        FailedRecord::Source { topic, .. } => add("topic", (*topic).to_owned()),
    }
    add("connector.name", task.connector.clone());
    add("task.id", task.task.to_string());
    add("stage", failure.stage.name().to_owned());
    add("class.name", failure.class_name.to_owned());
    add(
        "exception.class.name",
        exception_class(failure.error).to_owned(),
    );
    add("exception.message", failure.error.to_string());
    add("exception.stacktrace", trace_of(failure.error));
    h
}

/// A task's writer to its dead-letter topic; the topic is created (one partition) and the
/// producer opened on first use.
pub struct DeadLetterQueue {
    settings: DeadLetterSettings,
    producer_config: ClientConfig,
    admin_config: ClientConfig,
    producer: OnceCell<FutureProducer>,
    /// Schemaless JSON, for a part of a source record its own converter refuses.
    fallback: Box<dyn Converter>,
}

impl DeadLetterQueue {
    /// A writer with these client configs (the worker's, with the connector's overrides).
    pub fn new(
        settings: DeadLetterSettings,
        producer_config: ClientConfig,
        admin_config: ClientConfig,
    ) -> Result<Self, ConnectError> {
        let mut json = ConfigMap::new();
        json.insert("schemas.enable".into(), "false".into());
        let fallback = crate::registry::converter(
            "org.apache.kafka.connect.json.JsonConverter",
            "value",
            &json,
        )?;
        Ok(DeadLetterQueue {
            settings,
            producer_config,
            admin_config,
            producer: OnceCell::new(),
            fallback,
        })
    }

    /// The topic name.
    pub fn topic(&self) -> &str {
        &self.settings.topic
    }

    /// Creates the topic unless it exists, and the producer.
    async fn producer(&self) -> Result<&FutureProducer, ConnectError> {
        self.producer
            .get_or_try_init(|| async {
                self.ensure_topic().await?;
                self.producer_config.create().map_err(|e| {
                    ConnectError::Fatal(format!(
                        "creating the producer of the dead-letter topic {}: {e}",
                        self.settings.topic
                    ))
                })
            })
            .await
    }

    async fn ensure_topic(&self) -> Result<(), ConnectError> {
        let topic = &self.settings.topic;
        let admin: AdminClient<DefaultClientContext> = self.admin_config.create().map_err(|e| {
            ConnectError::Fatal(format!(
                "creating an admin client for the dead-letter topic {topic}: {e}"
            ))
        })?;
        let new = NewTopic::new(
            topic,
            1,
            TopicReplication::Fixed(self.settings.replication_factor),
        );
        let options = AdminOptions::new()
            .operation_timeout(Some(WRITE_TIMEOUT))
            .request_timeout(Some(WRITE_TIMEOUT));
        let results = admin.create_topics([&new], &options).await.map_err(|e| {
            ConnectError::Retriable(format!(
                "cannot create or check the dead-letter topic {topic} ({e}); check that a broker is up"
            ))
        })?;
        for result in results {
            match result {
                Ok(_) => tracing::info!(topic = %topic, replication_factor = self.settings.replication_factor, "created the dead-letter topic"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((_, code)) => {
                    return Err(ConnectError::Fatal(format!(
                        "cannot create the dead-letter topic {topic} ({code}); create it yourself, or set errors.deadletterqueue.topic.replication.factor (now {}) to at most the number of brokers, or -1 for the broker's default",
                        self.settings.replication_factor
                    )))
                }
            }
        }
        Ok(())
    }

    /// Writes a failed record and waits until the broker has it.
    pub async fn write(&self, task: &TaskId, failure: &Failure<'_>) -> Result<(), ConnectError> {
        let (key, value, mut headers, timestamp) = match &failure.record {
            FailedRecord::Consumed {
                key,
                value,
                headers,
                timestamp,
                ..
            } => {
                let mut h = OwnedHeaders::new_with_capacity(headers.len() + 10);
                for (k, v) in headers {
                    h = h.insert(Header { key: k, value: *v });
                }
                (
                    key.map(<[u8]>::to_vec),
                    value.map(<[u8]>::to_vec),
                    h,
                    *timestamp,
                )
            }
            FailedRecord::Source {
                record: None,
                topic,
                ..
            } => {
                return Err(ConnectError::Fatal(format!(
                    "a failed record for topic {topic} was not kept for the dead-letter topic"
                )))
            }
            FailedRecord::Source {
                record: Some(record),
                converters,
                ..
            } => {
                let topic = record.topic.as_str();
                let key = converters
                    .key
                    .from_connect(topic, &record.key)
                    .or_else(|_| self.fallback.from_connect(topic, &record.key))?;
                let value = converters
                    .value
                    .from_connect(topic, &record.value)
                    .or_else(|_| self.fallback.from_connect(topic, &record.value))?;
                let mut h = OwnedHeaders::new_with_capacity(record.headers.len() + 10);
                for header in record.headers.iter() {
                    let bytes = converters
                        .header
                        .from_connect(topic, &header.value)
                        .or_else(|_| self.fallback.from_connect(topic, &header.value))?;
                    h = h.insert(Header {
                        key: &header.key,
                        value: bytes.as_deref(),
                    });
                }
                (key, value, h, record.timestamp)
            }
        };
        if self.settings.context_headers {
            for (k, v) in context_headers(task, failure) {
                headers = headers.insert(Header {
                    key: &k,
                    value: Some(v.as_bytes()),
                });
            }
        }
        let topic = self.settings.topic.as_str();
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(headers);
        if let Some(k) = &key {
            record = record.key(k.as_slice());
        }
        if let Some(v) = &value {
            record = record.payload(v.as_slice());
        }
        if let Some(ts) = timestamp {
            record = record.timestamp(ts);
        }
        let producer = self.producer().await?;
        producer
            .send(record, WRITE_TIMEOUT)
            .await
            .map_err(|(e, _)| {
                ConnectError::Fatal(format!(
                    "writing a failed record to the dead-letter topic {topic} failed: {e}; check that the topic exists and the broker is up"
                ))
            })?;
        tracing::debug!(task = %task, topic, stage = failure.stage.name(), "wrote a failed record to the dead-letter topic");
        Ok(())
    }
}

/// The headers of a consumed message, for [`FailedRecord::Consumed`].
pub fn message_headers(
    headers: Option<&rdkafka::message::BorrowedHeaders>,
) -> Vec<(&str, Option<&[u8]>)> {
    headers
        .map(|hs| hs.iter().map(|h| (h.key, h.value)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_headers_are_kafka_connects() {
        let task = TaskId {
            connector: "orders-sink".into(),
            task: 2,
        };
        let error = ConnectError::BadRecord(
            "Converting byte[] to Kafka Connect data failed due to serialization error".into(),
        );
        let failure = Failure {
            stage: Stage::ValueConverter,
            class_name: "org.apache.kafka.connect.json.JsonConverter",
            error: &error,
            record: FailedRecord::Consumed {
                topic: "orders",
                partition: 3,
                offset: 41,
                key: None,
                value: Some(b"{not json"),
                headers: Vec::new(),
                timestamp: None,
            },
        };
        let h = context_headers(&task, &failure);
        let get = |n: &str| {
            h.iter()
                .find(|(k, _)| k == &format!("__connect.errors.{n}"))
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("topic"), Some("orders"));
        assert_eq!(get("partition"), Some("3"));
        assert_eq!(get("offset"), Some("41"));
        assert_eq!(get("connector.name"), Some("orders-sink"));
        assert_eq!(get("task.id"), Some("2"));
        assert_eq!(get("stage"), Some("VALUE_CONVERTER"));
        assert_eq!(
            get("class.name"),
            Some("org.apache.kafka.connect.json.JsonConverter")
        );
        assert_eq!(
            get("exception.class.name"),
            Some("org.apache.kafka.connect.errors.DataException")
        );
        assert_eq!(
            get("exception.message"),
            Some("Converting byte[] to Kafka Connect data failed due to serialization error")
        );
        assert!(get("exception.stacktrace")
            .is_some_and(|t| t.starts_with("org.apache.kafka.connect.errors.DataException: ")));
        assert_eq!(h.len(), 10);
    }
}
