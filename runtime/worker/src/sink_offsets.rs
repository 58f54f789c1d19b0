//! Sink connector offsets for `GET|PATCH|DELETE /connectors/{n}/offsets` (KIP-875): a
//! sink's position is its consumer group's committed offsets (`connect-<name>`), shown
//! as `{"partition": {"kafka_topic", "kafka_partition"}, "offset": {"kafka_offset"}}`.
//!
//! Why joining as the task: sink task consumers join with a static `group.instance.id`
//! (`connect-<name>-<task>`), which does not leave the group when the task stops; the
//! broker keeps the member until its session times out (some brokers never time it
//! out), and until then refuses commits from outside the group and deleting the group.
//! When the broker refuses, the offsets are committed by a consumer that joins with
//! task 0's static identity, replacing the stopped task's member, which a broker must
//! accept from the same `group.instance.id`. A reset that cannot delete the group the
//! same way commits, for each partition with a committed offset, the offset a consumer
//! without one would start at (`auto.offset.reset`: the log start for `earliest`, the
//! end for `latest`), so the next start reads what it would after a deletion.

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
/// How long a consumer joining as the stopped task may take to be assigned.
const JOIN_WAIT: Duration = Duration::from_secs(30);

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
        Ok(committed_offsets(&c, &config)?
            .into_iter()
            .map(|(topic, partition, n)| ConnectorOffset {
                partition: as_map(json!({"kafka_topic": topic, "kafka_partition": partition})),
                offset: as_map(json!({ "kafka_offset": n })),
            })
            .collect())
    })
    .await
}

/// (topic, partition) of every committed offset.
fn list_blocking(c: &BaseConsumer, config: &ConnectorConfig) -> HerderResult<Vec<(String, i32)>> {
    Ok(committed_offsets(c, config)?
        .into_iter()
        .map(|(t, p, _)| (t, p))
        .collect())
}

/// (topic, partition, offset) of every committed offset of the sink's group.
fn committed_offsets(
    c: &BaseConsumer,
    config: &ConnectorConfig,
) -> HerderResult<Vec<(String, i32, i64)>> {
    let metadata = c
        .fetch_metadata(None, CALL_TIMEOUT)
        .map_err(|e| HerderError::Internal(format!("reading topic metadata: {e}")))?;
    let mut tpl = TopicPartitionList::new();
    for t in metadata.topics() {
        if subscribed(config, t.name()) {
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
            group(config)
        ))
    })?;
    Ok(committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(n) => Some((e.topic().to_owned(), e.partition(), n)),
            _ => None,
        })
        .collect())
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
        match c.commit(&tpl, CommitMode::Sync) {
            Ok(()) => Ok(()),
            Err(e) if group_busy(&e) => {
                tracing::debug!(group = %group(&config), error = %e, "group still holds the stopped task; committing as its member");
                commit_as_member(&worker, &config, &tpl)
            }
            Err(e) => Err(commit_failed(&config, e)),
        }
    })
    .await
}

fn commit_failed(config: &ConnectorConfig, e: KafkaError) -> HerderError {
    HerderError::Internal(format!(
        "committing offsets for consumer group {}: {e}",
        group(config)
    ))
}

/// Joins the group with task 0's static identity (replacing the stopped task's member),
/// waits for an assignment, and commits `tpl` as a member of the current generation.
fn commit_as_member(
    worker: &WorkerConfig,
    config: &ConnectorConfig,
    tpl: &TopicPartitionList,
) -> HerderResult<()> {
    let settings = kafka::consumer_config(worker, &config.originals, &config.name, 0);
    let c: BaseConsumer = settings.create().map_err(|e| {
        HerderError::Internal(format!(
            "creating a consumer for group {}: {e}",
            group(config)
        ))
    })?;
    let regex;
    let subscription: Vec<&str> = if config.topics_regex.is_empty() {
        config.topics.iter().map(String::as_str).collect()
    } else {
        regex = format!("^{}", config.topics_regex.trim_start_matches('^'));
        vec![regex.as_str()]
    };
    c.subscribe(&subscription)
        .map_err(|e| HerderError::Internal(format!("subscribing to {subscription:?}: {e}")))?;
    let deadline = Instant::now() + JOIN_WAIT;
    while c.assignment().map_or(true, |a| a.count() == 0) {
        if Instant::now() >= deadline {
            return Err(HerderError::Internal(format!(
                "joining consumer group {} as the stopped task took more than {} s; try again, or wait for the broker to expire the task's member",
                group(config),
                JOIN_WAIT.as_secs()
            )));
        }
        // Records polled here are not committed: auto commit and offset store are off.
        let _ = c.poll(Duration::from_millis(100));
    }
    c.commit(tpl, CommitMode::Sync)
        .map_err(|e| commit_failed(config, e))
}

/// Deletes the sink's consumer group, so it starts over from `auto.offset.reset`.
pub async fn reset(worker: &WorkerConfig, config: &ConnectorConfig) -> HerderResult<()> {
    let admin: AdminClient<DefaultClientContext> = kafka::admin_config(worker)
        .create()
        .map_err(|e| HerderError::Internal(format!("creating an admin client: {e}")))?;
    let name = group(config);
    let opts = AdminOptions::new().request_timeout(Some(CALL_TIMEOUT));
    let results = admin
        .delete_groups(&[name.as_str()], &opts)
        .await
        .map_err(|e| HerderError::Internal(format!("deleting consumer group {name}: {e}")))?;
    match results.into_iter().next() {
        None | Some(Ok(_)) | Some(Err((_, RDKafkaErrorCode::GroupIdNotFound))) => Ok(()),
        Some(Err((_, RDKafkaErrorCode::NonEmptyGroup))) => {
            tracing::debug!(group = %name, "group still holds the stopped task; committing starting offsets as its member");
            let (worker, config) = (worker.clone(), config.clone());
            blocking(move || rewind(&worker, &config)).await
        }
        Some(Err((_, code))) => Err(HerderError::Internal(format!(
            "deleting consumer group {name}: {code}"
        ))),
    }
}

/// Commits, for every partition with a committed offset, where a consumer without one
/// would start (`auto.offset.reset`).
fn rewind(worker: &WorkerConfig, config: &ConnectorConfig) -> HerderResult<()> {
    let settings = kafka::consumer_config(worker, &config.originals, &config.name, 0);
    let latest = settings
        .get("auto.offset.reset")
        .is_some_and(|v| matches!(v, "latest" | "largest" | "end"));
    let c = consumer(worker, config)?;
    let committed = list_blocking(&c, config)?;
    let mut tpl = TopicPartitionList::new();
    for (topic, partition) in committed {
        let (low, high) = c
            .fetch_watermarks(&topic, partition, CALL_TIMEOUT)
            .map_err(|e| {
                HerderError::Internal(format!("reading the offsets of {topic}-{partition}: {e}"))
            })?;
        let start = if latest { high } else { low };
        tpl.add_partition_offset(&topic, partition, Offset::Offset(start))
            .map_err(|e| HerderError::Internal(format!("{topic}-{partition}: {e}")))?;
    }
    if tpl.count() == 0 {
        return Ok(());
    }
    commit_as_member(worker, config, &tpl)
}
