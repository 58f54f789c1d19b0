//! Distributed mode's three storage topics against a real broker: what the stores write
//! is Kafka Connect's exact key/value bytes, and what Kafka Connect writes (produced here
//! as raw bytes) reads back through the stores.

#![allow(clippy::unwrap_used)]

#[allow(unused_imports)] // common serves every test; this one uses part of it
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::json;
use sluice_core::config::ConfigMap;
use sluice_worker::distributed::config_store::RestartRequest;
use sluice_worker::distributed::{
    DistributedConfig, KafkaConfigStore, KafkaOffsetStore, KafkaStatusStore, Status, TargetState,
};
use sluice_worker::offsets::OffsetStore;

fn config(bootstrap: &str, group: &str) -> DistributedConfig {
    let props: ConfigMap = [
        ("bootstrap.servers", bootstrap.to_owned()),
        ("group.id", group.to_owned()),
        ("config.storage.topic", format!("{group}-configs")),
        ("offset.storage.topic", format!("{group}-offsets")),
        ("status.storage.topic", format!("{group}-status")),
        ("config.storage.replication.factor", "1".into()),
        ("offset.storage.replication.factor", "1".into()),
        ("status.storage.replication.factor", "1".into()),
        ("offset.storage.partitions", "3".into()),
        ("status.storage.partitions", "2".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    DistributedConfig::parse(&props).unwrap()
}

/// Every (key, value) of `topic`, in offset order per partition.
fn raw_records(bootstrap: &str, topic: &str) -> Vec<(String, Option<String>)> {
    let consumer: BaseConsumer = common::test_consumer(bootstrap, "raw");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let partitions: Vec<i32> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    let mut ends = BTreeMap::new();
    let mut list = TopicPartitionList::new();
    for p in &partitions {
        let (_, high) = consumer
            .fetch_watermarks(topic, *p, Duration::from_secs(10))
            .unwrap();
        if high > 0 {
            ends.insert(*p, high);
            list.add_partition_offset(topic, *p, Offset::Beginning)
                .unwrap();
        }
    }
    consumer.assign(&list).unwrap();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !ends.is_empty() {
        assert!(std::time::Instant::now() < deadline, "reading {topic}");
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            out.push((
                String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                m.payload().map(|v| String::from_utf8_lossy(v).into_owned()),
            ));
            if ends.get(&m.partition()) == Some(&(m.offset() + 1)) {
                ends.remove(&m.partition());
            }
        }
    }
    out
}

async fn produce_raw(bootstrap: &str, topic: &str, key: &str, value: Option<&str>) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("partitioner", "murmur2_random")
        .create()
        .unwrap();
    let mut record: FutureRecord<'_, str, str> = FutureRecord::to(topic).key(key);
    if let Some(v) = value {
        record = record.payload(v);
    }
    producer
        .send(record, Duration::from_secs(10))
        .await
        .unwrap();
}

fn map(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_write_and_read_kafka_connect_records() {
    let broker = common::KafkaBroker::start();
    let bootstrap = broker.bootstrap().to_owned();
    let dc = config(&bootstrap, "kc-format");

    // Config store: a connector, its two tasks and their commit, a STOPPED target state.
    let configs = KafkaConfigStore::start(&dc).await.unwrap();
    let connector: ConfigMap = [("connector.class", "FileStreamSource"), ("tasks.max", "2")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    configs
        .put_connector_config("inv", &connector, Some(TargetState::Started))
        .await
        .unwrap();
    let task = |n: &str| -> ConfigMap { [("task.n".to_owned(), n.to_owned())].into() };
    configs
        .put_task_configs("inv", &[task("0"), task("1")])
        .await
        .unwrap();
    configs
        .put_target_state("inv", TargetState::Stopped)
        .await
        .unwrap();
    configs
        .put_restart_request(
            "inv",
            Some(&RestartRequest {
                include_tasks: true,
                only_failed: true,
            }),
        )
        .await
        .unwrap();
    let snapshot = configs.snapshot();
    assert_eq!(snapshot.connectors["inv"], connector);
    assert_eq!(snapshot.tasks["inv"], vec![task("0"), task("1")]);
    assert_eq!(snapshot.target_state("inv"), TargetState::Stopped);
    let raw = raw_records(&bootstrap, "kc-format-configs");
    let expect = |k: &str, v: &str| (k.to_owned(), Some(v.to_owned()));
    assert_eq!(
        raw,
        vec![
            expect(
                "target-state-inv",
                r#"{"state":"STARTED","state.v2":"STARTED"}"#
            ),
            expect(
                "connector-inv",
                r#"{"properties":{"connector.class":"FileStreamSource","tasks.max":"2"}}"#
            ),
            expect("task-inv-0", r#"{"properties":{"task.n":"0"}}"#),
            expect("task-inv-1", r#"{"properties":{"task.n":"1"}}"#),
            expect("commit-inv", r#"{"tasks":2}"#),
            expect(
                "target-state-inv",
                r#"{"state":"PAUSED","state.v2":"STOPPED"}"#
            ),
            expect(
                "restart-connector-inv",
                r#"{"include-tasks":true,"only-failed":true}"#
            ),
        ]
    );
    // What Kafka Connect writes for a new connector (other key order, no state.v2) reads back,
    // in a second store that starts from the topic.
    produce_raw(
        &bootstrap,
        "kc-format-configs",
        "connector-kc",
        Some(r#"{"properties":{"tasks.max":"1","connector.class":"X"}}"#),
    )
    .await;
    produce_raw(
        &bootstrap,
        "kc-format-configs",
        "task-kc-0",
        Some(r#"{"properties":{"a":"b"}}"#),
    )
    .await;
    produce_raw(
        &bootstrap,
        "kc-format-configs",
        "commit-kc",
        Some(r#"{"tasks":1}"#),
    )
    .await;
    produce_raw(
        &bootstrap,
        "kc-format-configs",
        "target-state-kc",
        Some(r#"{"state":"PAUSED"}"#),
    )
    .await;
    let other = KafkaConfigStore::start(&dc).await.unwrap();
    let snap = other.snapshot();
    assert_eq!(snap.connectors["kc"]["connector.class"], "X");
    assert_eq!(snap.tasks["kc"][0]["a"], "b");
    assert_eq!(snap.target_state("kc"), TargetState::Paused);
    assert_eq!(snap.tasks["inv"].len(), 2);
    assert_eq!(snap.offset, 11);
    configs.remove_connector("kc").await.unwrap();
    assert!(!other.refresh().await.unwrap().connectors.contains_key("kc"));

    // Offset store.
    let offsets = KafkaOffsetStore::start(&dc).await.unwrap();
    let partition = map(json!({"server": "shop"}));
    offsets
        .commit(
            "inv",
            vec![(
                partition.clone(),
                map(json!({"file": "binlog.000001", "pos": 4})),
            )],
        )
        .await
        .unwrap();
    offsets
        .commit(
            "inv",
            vec![(
                partition.clone(),
                map(json!({"file": "binlog.000001", "pos": 99})),
            )],
        )
        .await
        .unwrap();
    let raw = raw_records(&bootstrap, "kc-format-offsets");
    assert_eq!(
        raw,
        vec![
            expect(
                r#"["inv",{"server":"shop"}]"#,
                r#"{"file":"binlog.000001","pos":4}"#
            ),
            expect(
                r#"["inv",{"server":"shop"}]"#,
                r#"{"file":"binlog.000001","pos":99}"#
            ),
        ],
        "both writes of one key land in one partition, in order"
    );
    produce_raw(
        &bootstrap,
        "kc-format-offsets",
        r#"["kc",{"filename":"/tmp/a"}]"#,
        Some(r#"{"position":42}"#),
    )
    .await;
    let again = KafkaOffsetStore::start(&dc).await.unwrap();
    assert_eq!(
        again.offsets_for("inv").await.unwrap(),
        vec![(
            partition.clone(),
            map(json!({"file": "binlog.000001", "pos": 99}))
        )]
    );
    assert_eq!(
        again.offsets_for("kc").await.unwrap(),
        vec![(
            map(json!({"filename": "/tmp/a"})),
            map(json!({"position": 42}))
        )]
    );
    again.reset("kc").await.unwrap();
    assert!(
        offsets.offsets_for("kc").await.unwrap().is_empty(),
        "a tombstone removes it everywhere"
    );

    // Status store.
    let statuses = KafkaStatusStore::start(&dc).await.unwrap();
    let running = Status {
        state: "RUNNING".into(),
        trace: None,
        worker_id: "127.0.0.1:8083".into(),
        generation: 3,
    };
    statuses.put_connector("inv", &running).await.unwrap();
    statuses.put_task("inv", 1, &running).await.unwrap();
    let mut raw = raw_records(&bootstrap, "kc-format-status");
    raw.sort();
    let value = r#"{"state":"RUNNING","trace":null,"worker_id":"127.0.0.1:8083","generation":3}"#;
    assert_eq!(
        raw,
        vec![
            expect("status-connector-inv", value),
            expect("status-task-inv-1", value)
        ]
    );
    produce_raw(
        &bootstrap,
        "kc-format-status",
        "status-task-inv-0",
        Some(r#"{"state":"FAILED","trace":"boom","worker_id":"10.0.0.1:8083","generation":7}"#),
    )
    .await;
    statuses.refresh().await.unwrap();
    assert_eq!(
        statuses.task("inv", 0).unwrap().trace.as_deref(),
        Some("boom")
    );
    assert_eq!(statuses.tasks("inv").len(), 2);
    assert_eq!(statuses.connector("inv"), Some(running));
}
