//! Helpers for the MongoDB tests: a real SecantusDB from the testkit, the task driven
//! directly, records rendered with Kafka Connect's JsonConverter.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use serde_json::Value as Json;
use sluice_connector_mongodb::MongoSourceTask;
use sluice_converters::JsonConverter;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{Converter, SourceTask, SourceTaskContext};
use sluice_core::record::OffsetMap;
use sluice_core::SourceRecord;
use sluice_testkit::SecantusDb;

/// Logs to the test output (RUST_LOG to change the level).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "sluice_connector_mongodb=info".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A driver client for setting up data.
pub async fn client(db: &SecantusDb) -> mongodb::Client {
    mongodb::Client::with_uri_str(db.uri())
        .await
        .expect("client")
}

/// A connector config for `db` with extra keys.
pub fn config(db: &SecantusDb, extra: &[(&str, &str)]) -> ConfigMap {
    let mut m: ConfigMap = [
        (
            "connector.class",
            "io.debezium.connector.mongodb.MongoDbConnector",
        ),
        ("topic.prefix", "fulfillment"),
        ("database.include.list", "inventory"),
        ("poll.interval.ms", "200"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    m.insert("mongodb.connection.string".into(), db.uri());
    for (k, v) in extra {
        m.insert((*k).to_owned(), (*v).to_owned());
    }
    m
}

/// The source partition of `fulfillment`.
pub fn partition() -> OffsetMap {
    let mut p = OffsetMap::new();
    p.insert("server_id".into(), "fulfillment".into());
    p
}

/// Starts a task, resuming from `offset` when given.
pub async fn start(
    config: &ConfigMap,
    offset: Option<OffsetMap>,
) -> Result<MongoSourceTask, sluice_core::ConnectError> {
    let ctx = SourceTaskContext::new(offset.map(|o| (partition(), o)));
    let mut task = MongoSourceTask::default();
    task.start(config, ctx).await?;
    Ok(task)
}

/// Polls until `n` records arrived (or panics after `secs`).
pub async fn poll_n(task: &mut MongoSourceTask, n: usize, secs: u64) -> Vec<SourceRecord> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut out: Vec<SourceRecord> = Vec::new();
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} records after {secs}s: {:#?}",
            out.len(),
            out.iter().map(|r| render(r).1).collect::<Vec<_>>()
        );
        out.extend(task.poll().await.expect("poll"));
    }
    out
}

/// Polls for `secs` and returns whatever arrived.
pub async fn poll_for(task: &mut MongoSourceTask, secs: u64) -> Vec<SourceRecord> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut out = Vec::new();
    while Instant::now() < deadline {
        out.extend(task.poll().await.expect("poll"));
    }
    out
}

/// The key and value as Kafka Connect's JsonConverter (schemas enabled) writes them.
pub fn render(r: &SourceRecord) -> (Json, Json) {
    let c = JsonConverter::with_schemas(true);
    let to_json = |b: Option<Vec<u8>>| match b {
        Some(b) => serde_json::from_slice(&b).expect("converter wrote JSON"),
        None => Json::Null,
    };
    let key = to_json(
        c.from_connect(&r.record.topic, &r.record.key)
            .expect("key converts"),
    );
    let value = to_json(
        c.from_connect(&r.record.topic, &r.record.value)
            .expect("value converts"),
    );
    (key, value)
}

/// The payload with what differs from run to run (times, cluster times, lsid) replaced by
/// fixed placeholders, after checking each has the documented type.
pub fn payload(value: &Json) -> Json {
    let mut p = value["payload"].clone();
    if let Some(o) = p.as_object_mut() {
        for k in ["ts_ms", "ts_us", "ts_ns"] {
            if let Some(v) = o.get_mut(k) {
                assert!(v.is_i64(), "{k} is a number");
                *v = Json::from(0);
            }
        }
        if let Some(s) = o.get_mut("source").and_then(Json::as_object_mut) {
            for k in ["ts_ms", "ts_us", "ts_ns"] {
                assert!(s[k].as_i64().is_some_and(|t| t > 0), "source.{k} is a time");
                s.insert(k.into(), Json::from(0));
            }
            assert!(s["ord"].is_i64(), "source.ord");
            s.insert("ord".into(), Json::from(0));
            if !s["wallTime"].is_null() {
                assert!(s["wallTime"].as_i64().is_some_and(|t| t > 0), "wallTime");
                s.insert("wallTime".into(), Json::from(0));
            }
            if !s["lsid"].is_null() {
                assert!(
                    s["lsid"]
                        .as_str()
                        .is_some_and(|l| l.starts_with("{\"id\": {\"$binary\": ")),
                    "lsid: {}",
                    s["lsid"]
                );
                s.insert("lsid".into(), "*".into());
            }
        }
    }
    p
}
