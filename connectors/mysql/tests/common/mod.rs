//! Helpers for the MySQL source tests: a real MariaDB from the testkit, the task driven
//! directly, records rendered with Kafka Connect's JsonConverter.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use serde_json::Value as Json;
use sluice_connector_mysql::MySqlTask;
use sluice_converters::JsonConverter;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{Converter, SourceTask, SourceTaskContext};
use sluice_core::record::OffsetMap;
use sluice_core::SourceRecord;
use sluice_testkit::MariaDb;

/// Logs to the test output (RUST_LOG to change the level).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "sluice_connector_mysql=info".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A connector config for `db` with extra keys.
pub fn config(db: &MariaDb, extra: &[(&str, &str)]) -> ConfigMap {
    let mut m: ConfigMap = [
        (
            "connector.class",
            "io.debezium.connector.mysql.MySqlConnector",
        ),
        ("database.hostname", db.host()),
        ("database.user", db.user()),
        ("database.password", db.password()),
        ("database.server.id", "5401"),
        ("topic.prefix", "dbserver1"),
        (
            "schema.history.internal.kafka.topic",
            "schema-changes.inventory",
        ),
        (
            "schema.history.internal.kafka.bootstrap.servers",
            "localhost:9092",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    m.insert("database.port".into(), db.port().to_string());
    for (k, v) in extra {
        m.insert((*k).to_owned(), (*v).to_owned());
    }
    m
}

/// The source partition of `dbserver1`.
pub fn partition() -> OffsetMap {
    let mut p = OffsetMap::new();
    p.insert("server".into(), "dbserver1".into());
    p
}

/// Starts a task, resuming from `offset` when given.
pub async fn start(
    config: &ConfigMap,
    offset: Option<OffsetMap>,
) -> Result<MySqlTask, sluice_core::ConnectError> {
    let ctx = SourceTaskContext::new(offset.map(|o| (partition(), o)));
    let mut task = MySqlTask::default();
    task.start(config, ctx).await?;
    Ok(task)
}

/// Polls until `n` records arrived (or panics after `secs`).
pub async fn poll_n(task: &mut MySqlTask, n: usize, secs: u64) -> Vec<SourceRecord> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut out: Vec<SourceRecord> = Vec::new();
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} records after {secs}s: {:#?}",
            out.len(),
            out.iter().map(|r| &r.record.topic).collect::<Vec<_>>()
        );
        out.extend(task.poll().await.expect("poll"));
    }
    out
}

/// Polls for `secs` and returns whatever arrived.
pub async fn poll_for(task: &mut MySqlTask, secs: u64) -> Vec<SourceRecord> {
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

/// Replaces what differs from run to run (times, binlog coordinates, GTIDs) by fixed
/// placeholders, after checking each has the documented type.
pub fn normalize(mut value: Json) -> Json {
    if let Some(p) = value.get_mut("payload").and_then(Json::as_object_mut) {
        for k in ["ts_ms", "ts_us", "ts_ns"] {
            if let Some(v) = p.get_mut(k) {
                assert!(v.is_i64(), "{k} is a number");
                *v = Json::from(0);
            }
        }
        if let Some(s) = p.get_mut("source").and_then(Json::as_object_mut) {
            for k in ["ts_ms", "ts_us", "ts_ns"] {
                assert!(s[k].as_i64().is_some_and(|t| t > 0), "source.{k} is a time");
                s.insert(k.into(), Json::from(0));
            }
            assert!(
                s["file"]
                    .as_str()
                    .is_some_and(|f| f.starts_with("mysql-bin.")),
                "source.file"
            );
            s.insert("file".into(), "*".into());
            assert!(s["pos"].as_i64().is_some_and(|p| p >= 4), "source.pos");
            s.insert("pos".into(), Json::from(0));
            if let Some(g) = s.get("gtid").and_then(Json::as_str) {
                assert_eq!(g.split('-').count(), 3, "a MariaDB GTID: {g}");
                s.insert("gtid".into(), "*".into());
            }
        }
    }
    value
}

/// The `op` of a rendered change event.
pub fn op(value: &Json) -> Option<&str> {
    value.get("payload")?.get("op")?.as_str()
}
