//! Built-in transforms in a real pipeline: datagen → ExtractNewRecordState →
//! RegexRouter (only for topics a predicate matches) → Kafka → file sink.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;

#[test]
fn unwrap_and_route_change_events() {
    let broker = KafkaBroker::start();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let prefix = format!("tp{port}");
    let source = write(
        dir,
        "source.json",
        &format!(
            r#"{{"name": "gen", "config": {{
                "connector.class": "datagen", "topic.prefix": "{prefix}", "columns": "4", "max.records": "50",
                "transforms": "unwrap,route",
                "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
                "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
                "transforms.route.regex": "(.*)customers",
                "transforms.route.replacement": "$1clients",
                "transforms.route.predicate": "isCustomers",
                "predicates": "isCustomers",
                "predicates.isCustomers.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
                "predicates.isCustomers.pattern": ".*\\.customers"
            }}}}"#
        ),
    );
    let out = dir.join("out.txt");
    let sink = write(
        dir,
        "sink.json",
        &format!(
            r#"{{"name": "sink", "config": {{"connector.class": "FileStreamSink", "file": "{}", "topics": "{prefix}.inventory.clients",
                "value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "true"}}}}"#,
            out.display()
        ),
    );
    let mut worker = Worker::start(dir, port, &[source, sink]);
    wait_until(
        Duration::from_secs(60),
        "50 records in the sink file",
        || {
            std::fs::read_to_string(&out)
                .map(|t| t.lines().count() >= 50)
                .unwrap_or(false)
        },
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 50, "{text}");
    let rows = lines.iter().filter(|l| l.starts_with("Struct{id=")).count();
    let tombstones = lines.iter().filter(|l| **l == "null").count();
    assert_eq!(
        rows + tombstones,
        50,
        "every line is a flattened row or a delete's tombstone:\n{text}"
    );
    assert!(
        rows > 25 && tombstones > 0,
        "rows {rows}, tombstones {tombstones}"
    );
    assert!(
        !text.contains("before") && !text.contains("source"),
        "the envelope is gone:\n{text}"
    );
    assert!(lines[0].starts_with("Struct{id=1,col_1="), "{}", lines[0]);
    assert!(worker.terminate().success());
}
