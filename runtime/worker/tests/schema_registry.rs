//! The built-in Schema Registry served by a standalone worker (`schema.registry.listener`):
//! serving by the time the worker is up, keeping its schemas in `schema.registry.topic`
//! across a worker restart, and used by the worker's Avro converters when they are given
//! no `schema.registry.url`.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use rdkafka::consumer::Consumer;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{json, Value};
use sluice_schema_registry::{KafkaStoreConfig, TestRegistry};

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[test]
fn standalone_worker_serves_the_registry_from_its_topic() {
    let broker = KafkaBroker::start();
    let dir = tempfile::tempdir().unwrap();
    let (rest_port, registry_port) = (free_port(), free_port());
    worker_properties(
        dir.path(),
        broker.bootstrap(),
        rest_port,
        &format!(
            "schema.registry.listener=http://127.0.0.1:{registry_port}\n\
             schema.registry.topic=_team_schemas\n"
        ),
    );
    let input = write(dir.path(), "input.txt", "");
    let source = write(
        dir.path(),
        "source.properties",
        &format!(
            "name=file-source\nconnector.class=FileStreamSource\ntasks.max=1\nfile={}\ntopic=lines\n",
            input.display()
        ),
    );
    let schema =
        json!({"type": "record", "name": "Line", "fields": [{"name": "text", "type": "string"}]});
    let body = json!({"schema": schema.to_string()}).to_string();

    let mut worker = Worker::start(dir.path(), rest_port, std::slice::from_ref(&source));
    // The registry started before the connectors, so it serves once the worker does.
    let (status, reply) = http(
        registry_port,
        "POST",
        "/subjects/lines-value/versions",
        Some(&body),
    )
    .expect("the registry listens once the worker is up");
    assert_eq!((status, parse(&reply)), (200, json!({"id": 1})));
    let (status, reply) = http(registry_port, "GET", "/config", None).unwrap();
    assert_eq!(
        (status, parse(&reply)),
        (200, json!({"compatibilityLevel": "BACKWARD"}))
    );
    assert!(worker.terminate().success(), "{}", worker.log_text());

    // After a restart the schema is read back from the topic.
    let worker = Worker::start(dir.path(), rest_port, &[source]);
    wait_until(
        Duration::from_secs(30),
        "the restarted registry to listen",
        || http(registry_port, "GET", "/", None).is_some(),
    );
    let (status, reply) = http(registry_port, "GET", "/schemas/ids/1", None).unwrap();
    assert_eq!(
        (status, parse(&reply)),
        (200, json!({"schema": schema.to_string()}))
    );
    drop(worker);

    // The worker wrote to the topic it was given.
    let mut config = KafkaStoreConfig::new(broker.bootstrap());
    config.topic = "_team_schemas".into();
    let reader = TestRegistry::start_kafka(config).unwrap();
    let (status, reply) = http(
        reader.addr().port(),
        "GET",
        "/subjects/lines-value/versions/1",
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(parse(&reply)["id"], 1);
}

#[test]
fn a_bad_registry_listener_is_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let broker = KafkaBroker::start();
    worker_properties(
        dir.path(),
        broker.bootstrap(),
        free_port(),
        "schema.registry.listener=https://127.0.0.1:8081\n",
    );
    let (status, output) = run_to_end(&[&dir.path().join("worker.properties")]);
    assert!(!status.success());
    assert!(
        output.contains(
            "schema.registry.listener=https://127.0.0.1:8081: only http:// listeners are supported"
        ),
        "{output}"
    );
}

#[test]
fn the_worker_s_avro_converter_without_a_url_writes_through_the_built_in_registry() {
    let broker = KafkaBroker::start();
    let dir = tempfile::tempdir().unwrap();
    let (rest_port, registry_port) = (free_port(), free_port());
    let avro = "io.confluent.connect.avro.AvroConverter";
    write(
        dir.path(),
        "worker.properties",
        &format!(
            "bootstrap.servers={}\n\
             key.converter={avro}\n\
             value.converter={avro}\n\
             offset.storage.file.filename={}\n\
             listeners=http://127.0.0.1:{rest_port}\n\
             schema.registry.listener=http://:{registry_port}\n",
            broker.bootstrap(),
            dir.path().join("connect.offsets").display()
        ),
    );
    let input = write(dir.path(), "input.txt", "hello\nworld\n");
    let source = write(
        dir.path(),
        "source.properties",
        &format!(
            "name=file-source\nconnector.class=FileStreamSource\nfile={}\ntopic=avro-lines\n",
            input.display()
        ),
    );
    let worker = Worker::start(dir.path(), rest_port, &[source]);

    let consumer = test_consumer(broker.bootstrap(), "avro-lines");
    wait_until(Duration::from_secs(30), "topic avro-lines", || {
        consumer
            .fetch_metadata(Some("avro-lines"), Duration::from_secs(5))
            .is_ok_and(|m| {
                m.topics()[0].error().is_none() && !m.topics()[0].partitions().is_empty()
            })
    });
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset("avro-lines", 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let mut values = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while values.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "2 records on avro-lines, got {values:?}\n{}",
            worker.log_text()
        );
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            assert_eq!(m.key(), None, "FileStreamSource records have no key");
            values.push(m.payload().unwrap().to_vec());
        }
    }

    // The value schema, Avro "string", registered under TopicNameStrategy's subject.
    let (status, reply) = http(
        registry_port,
        "GET",
        "/subjects/avro-lines-value/versions/latest",
        None,
    )
    .expect("the registry answers");
    assert_eq!(status, 200, "{reply}");
    let latest = parse(&reply);
    assert_eq!(latest["schema"], "\"string\"", "{reply}");
    let id = u32::try_from(latest["id"].as_i64().unwrap()).unwrap();
    // Confluent's framing (magic byte 0, the id big-endian), then the Avro string:
    // its length zig-zag encoded (5 → 0x0a) and its bytes.
    for (value, text) in values.iter().zip(["hello", "world"]) {
        let mut expected = vec![0];
        expected.extend(id.to_be_bytes());
        expected.push(0x0a);
        expected.extend(text.as_bytes());
        assert_eq!(value, &expected, "{text}");
    }
}
