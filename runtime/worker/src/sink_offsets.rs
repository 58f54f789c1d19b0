//! Sink connector offsets for `GET|PATCH|DELETE /connectors/{n}/offsets` (KIP-875): a
//! sink's position is its consumer group's committed offsets (`connect-<name>`), shown
//! as `{"partition": {"kafka_topic", "kafka_partition"}, "offset": {"kafka_offset"}}`.
//!
//! Why retries: sink task consumers join with a static `group.instance.id`, which does
//! not leave the group when the task stops; the broker keeps the member until its
//! session times out, and until then refuses commits from outside the group and group
//! deletion. Altering and resetting therefore retry those refusals for the session
//! timeout plus a margin, then report the broker's answer.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value as Json};

use crate::config::{ConnectorConfig, WorkerConfig};
use crate::herder::{ConnectorOffset, HerderError, HerderResult};
use crate::kafka;

const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Longer than the sink consumers' `session.timeout.ms` (10 s).
const GROUP_RELEASE_WAIT: Duration = Duration::from_secs(20);

fn group(config: &ConnectorConfig) -> String {
    format!("connect-{}", config.name)
}

fn consumer(worker: &WorkerConfig, config: &ConnectorConfig) -> HerderResult<BaseConsumer> {
    let mut c = kafka::admin_config(worker);
    c.set("group.id", group(config))
        .set("enable.auto.commit", "false");
    c.create().map_err(|e| {
        HerderError::Internal(format!(
            "creating a client for consumer group {}: {e}",
            group(config)
        ))
    })
}

/// Whether `topic` is one the sink reads.
fn subscribed(config: &ConnectorConfig, topic: &str) -> bool {
    if config.topics_regex.is_empty() {
        return config.topics.iter().any(|t| t == topic);
    }
    let pattern = format!("^(?:{})$", config.topics_regex.trim_start_matches('^'));
    regex::Regex::new(&pattern).is_ok_and(|r| r.is_match(topic))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> HerderResult<T> + Send + 'static,
) -> HerderResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| HerderError::Internal(format!("offset call panicked: {e}")))?
}

/// The committed offsets of the sink's consumer group.
pub async fn list(
    worker: &WorkerConfig,
    config: &ConnectorConfig,
) -> HerderResult<Vec<ConnectorOffset>> {
    let (worker, config) = (worker.clone(), config.clone());
    blocking(move || {
        let c = consumer(&worker, &config)?;
        let metadata = c
            .fetch_metadata(None, CALL_TIMEOUT)
            .map_err(|e| HerderError::Internal(format!("reading topic metadata: {e}")))?;
        let mut tpl = TopicPartitionList::new();
        for t in metadata.topics() {
            if subscribed(&config, t.name()) {
                for p in t.partitions() {
                    tpl.add_partition(t.name(), p.id());
                }
            }
        }
        if tpl.count() == 0 {
            return Ok(Vec::new());
        }
        let committed = c.committed_offsets(tpl, CALL_TIMEOUT).map_err(|e| {
            HerderError::Internal(format!(
                "reading the committed offsets of consumer group {}: {e}",
                group(&config)
            ))
        })?;
        Ok(committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(n) => Some(ConnectorOffset {
                    partition: as_map(
                        json!({"kafka_topic": e.topic(), "kafka_partition": e.partition()}),
                    ),
                    offset: as_map(json!({ "kafka_offset": n })),
                }),
                _ => None,
            })
            .collect())
    })
    .await
}

fn as_map(v: Json) -> Option<serde_json::Map<String, Json>> {
    match v {
        Json::Object(m) => Some(m),
        _ => None,
    }
}

/// Reads one PATCH entry of a sink: (topic, partition, offset).
fn sink_entry(i: usize, o: &ConnectorOffset) -> HerderResult<(String, i32, i64)> {
    let bad = |what: &str| {
        HerderError::BadRequest(format!(
            "offsets[{i}]: {what}; a sink offset is {{\"partition\": {{\"kafka_topic\": \"<topic>\", \"kafka_partition\": <n>}}, \"offset\": {{\"kafka_offset\": <n>}}}}"
        ))
    };
    let p = o
        .partition
        .as_ref()
        .ok_or_else(|| bad("the partition is null"))?;
    let topic = p
        .get("kafka_topic")
        .and_then(Json::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("\"kafka_topic\" must be a non-empty string"))?;
    let partition = p
        .get("kafka_partition")
        .and_then(Json::as_i64)
        .and_then(|n| i32::try_from(n).ok())
        .filter(|n| *n >= 0)
        .ok_or_else(|| bad("\"kafka_partition\" must be a non-negative integer"))?;
    let offset = o.offset.as_ref().ok_or_else(|| {
        bad("removing one partition's offset (a null offset) is not supported for sink connectors by this worker; use DELETE /connectors/{name}/offsets to reset them all")
    })?;
    let offset = offset
        .get("kafka_offset")
        .and_then(Json::as_i64)
        .filter(|n| *n >= 0)
        .ok_or_else(|| bad("\"kafka_offset\" must be a non-negative integer"))?;
    Ok((topic.to_owned(), partition, offset))
}

fn group_busy(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::UnknownMemberId
                | RDKafkaErrorCode::IllegalGeneration
                | RDKafkaErrorCode::RebalanceInProgress
                | RDKafkaErrorCode::NonEmptyGroup
        )
    )
}

/// Commits the given offsets for the sink's consumer group.
pub async fn alter(
    worker: &WorkerConfig,
    config: &ConnectorConfig,
    offsets: Vec<ConnectorOffset>,
) -> HerderResult<()> {
    let entries = offsets
        .iter()
        .enumerate()
        .map(|(i, o)| sink_entry(i, o))
        .collect::<HerderResult<Vec<_>>>()?;
    let (worker, config) = (worker.clone(), config.clone());
    blocking(move || {
        let c = consumer(&worker, &config)?;
        let mut tpl = TopicPartitionList::new();
        for (topic, partition, offset) in &entries {
            tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))
                .map_err(|e| HerderError::BadRequest(format!("{topic}-{partition}: {e}")))?;
        }
        let deadline = Instant::now() + GROUP_RELEASE_WAIT;
        loop {
            match c.commit(&tpl, CommitMode::Sync) {
                Ok(()) => return Ok(()),
                Err(e) if group_busy(&e) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => {
                    return Err(HerderError::Internal(format!(
                        "committing offsets for consumer group {}: {e}",
                        group(&config)
                    )))
                }
            }
        }
    })
    .await
}

/// Deletes the sink's consumer group, so it starts over from `auto.offset.reset`.
pub async fn reset(worker: &WorkerConfig, config: &ConnectorConfig) -> HerderResult<()> {
    let admin: AdminClient<DefaultClientContext> = kafka::admin_config(worker)
        .create()
        .map_err(|e| HerderError::Internal(format!("creating an admin client: {e}")))?;
    let name = group(config);
    let opts = AdminOptions::new().request_timeout(Some(CALL_TIMEOUT));
    let deadline = Instant::now() + GROUP_RELEASE_WAIT;
    loop {
        let results = admin
            .delete_groups(&[name.as_str()], &opts)
            .await
            .map_err(|e| HerderError::Internal(format!("deleting consumer group {name}: {e}")))?;
        match results.into_iter().next() {
            None | Some(Ok(_)) | Some(Err((_, RDKafkaErrorCode::GroupIdNotFound))) => return Ok(()),
            Some(Err((_, RDKafkaErrorCode::NonEmptyGroup))) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Some(Err((_, code))) => {
                return Err(HerderError::Internal(format!(
                    "deleting consumer group {name}: {code}"
                )))
            }
        }
    }
}
