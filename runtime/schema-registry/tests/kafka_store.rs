//! The registry kept in a compacted Kafka topic, against a real broker: state and ids
//! survive a restart, the topic holds Confluent's records (and a topic Confluent wrote is
//! served), and registries sharing a topic agree on every id.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{assert_error, avro, delete, get, post, put};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{json, Value};
use sluice_schema_registry::{KafkaStoreConfig, TestRegistry};
use sluice_testkit::{wait_until, KafkaBroker};

fn config(broker: &KafkaBroker, topic: &str) -> KafkaStoreConfig {
    let mut config = KafkaStoreConfig::new(broker.bootstrap());
    config.topic = topic.to_string();
    config
}

fn start(broker: &KafkaBroker, topic: &str) -> TestRegistry {
    TestRegistry::start_kafka(config(broker, topic)).expect("registry opens its topic")
}

fn user(extra_fields: Value) -> Value {
    let mut fields = vec![json!({"name": "id", "type": "long"})];
    if let Value::Array(extra) = extra_fields {
        fields.extend(extra);
    }
    json!({"type": "record", "name": "User", "fields": fields})
}

/// Every (key, value) of a topic, in order, as text.
fn topic_records(broker: &KafkaBroker, topic: &str) -> Vec<(String, Option<String>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", "kafka-store-test")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let (_, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .expect("watermarks");
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Beginning)
        .expect("partition");
    consumer.assign(&assignment).expect("assign");
    let mut out = Vec::new();
    let mut next = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while next < high {
        assert!(
            std::time::Instant::now() < deadline,
            "reading {topic} timed out at {next}/{high}"
        );
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message.expect("message");
            next = message.offset() + 1;
            out.push((
                String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
                message
                    .payload()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
            ));
        }
    }
    out
}

#[test]
fn schemas_ids_and_config_survive_a_restart() {
    let broker = KafkaBroker::start();
    let first = start(&broker, "_schemas");
    let addr = first.addr();
    let v1 = user(json!([]));
    let v2 = user(json!([{"name": "email", "type": ["null", "string"], "default": null}]));
    assert_eq!(
        post(addr, "/subjects/users-value/versions", &avro(&v1)).json(),
        json!({"id": 1})
    );
    assert_eq!(
        post(addr, "/subjects/users-value/versions", &avro(&v2)).json(),
        json!({"id": 2})
    );
    assert_eq!(
        post(addr, "/subjects/admins-value/versions", &avro(&v1)).json(),
        json!({"id": 1})
    );
    let proto = "syntax = \"proto3\"; message P { int32 x = 1; }";
    assert_eq!(
        post(
            addr,
            "/subjects/p-value/versions",
            &json!({"schema": proto, "schemaType": "PROTOBUF"})
        )
        .json(),
        json!({"id": 3})
    );
    put(addr, "/config", &json!({"compatibility": "FULL"}));
    put(
        addr,
        "/config/users-value",
        &json!({"compatibility": "NONE"}),
    );
    assert_eq!(delete(addr, "/subjects/admins-value").json(), json!([1]));
    let before: Vec<Value> = [
        "/subjects/users-value/versions/1",
        "/subjects/users-value/versions/2",
        "/schemas/ids/3",
        "/subjects/p-value/versions/latest",
    ]
    .iter()
    .map(|path| get(addr, path).json())
    .collect();
    drop(first);

    let second = start(&broker, "_schemas");
    let addr = second.addr();
    let after: Vec<Value> = [
        "/subjects/users-value/versions/1",
        "/subjects/users-value/versions/2",
        "/schemas/ids/3",
        "/subjects/p-value/versions/latest",
    ]
    .iter()
    .map(|path| get(addr, path).json())
    .collect();
    assert_eq!(before, after);
    assert_eq!(after[1]["schema"], v2.to_string());
    assert_eq!(
        get(addr, "/subjects").json(),
        json!(["p-value", "users-value"])
    );
    assert_eq!(
        get(addr, "/subjects?deleted=true").json(),
        json!(["admins-value", "p-value", "users-value"])
    );
    assert_eq!(
        get(addr, "/config").json(),
        json!({"compatibilityLevel": "FULL"})
    );
    assert_eq!(
        get(addr, "/config/users-value").json(),
        json!({"compatibilityLevel": "NONE"})
    );
    // Ids keep counting from the topic, and a known schema keeps its id.
    assert_eq!(
        post(
            addr,
            "/subjects/users-value/versions",
            &avro(&json!("string"))
        )
        .json(),
        json!({"id": 4})
    );
    assert_eq!(
        post(addr, "/subjects/again-value/versions", &avro(&v2)).json(),
        json!({"id": 2})
    );
    // The permanent delete is kept too.
    assert_eq!(
        delete(addr, "/subjects/admins-value?permanent=true").json(),
        json!([1])
    );
    drop(second);
    let third = start(&broker, "_schemas");
    assert_error(
        &get(third.addr(), "/subjects/admins-value/versions?deleted=true"),
        404,
        40401,
    );
    assert_eq!(
        get(third.addr(), "/schemas/ids/4").json(),
        json!({"schema": "\"string\""})
    );
}

#[test]
fn the_topic_holds_confluent_records() {
    let broker = KafkaBroker::start();
    let registry = start(&broker, "_schemas");
    let addr = registry.addr();
    post(addr, "/subjects/s/versions", &avro(&json!("string")));
    put(addr, "/config", &json!({"compatibility": "FORWARD"}));
    put(addr, "/config/s", &json!({"compatibility": "NONE"}));
    delete(addr, "/config/s");
    delete(addr, "/subjects/s");
    let records = topic_records(&broker, "_schemas");
    let expected: Vec<(String, Option<String>)> = vec![
        (
            r#"{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}"#.into(),
            Some(
                r#"{"subject":"s","version":1,"id":1,"schema":"\"string\"","deleted":false}"#
                    .into(),
            ),
        ),
        (
            r#"{"keytype":"CONFIG","magic":0}"#.into(),
            Some(r#"{"compatibilityLevel":"FORWARD"}"#.into()),
        ),
        (
            r#"{"keytype":"CONFIG","subject":"s","magic":0}"#.into(),
            Some(r#"{"compatibilityLevel":"NONE"}"#.into()),
        ),
        (
            r#"{"keytype":"CONFIG","subject":"s","magic":0}"#.into(),
            None,
        ),
        (
            r#"{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}"#.into(),
            Some(
                r#"{"subject":"s","version":1,"id":1,"schema":"\"string\"","deleted":true}"#.into(),
            ),
        ),
    ];
    assert_eq!(records, expected);
}

#[test]
fn a_topic_written_by_confluent_is_served() {
    let broker = KafkaBroker::start();
    let topic = "confluent-schemas";
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .expect("producer");
    let written: [(&str, Option<&str>); 7] = [
        (r#"{"keytype":"NOOP","magic":0}"#, None),
        (
            r#"{"keytype":"SCHEMA","subject":"orders-value","version":1,"magic":1}"#,
            Some(
                r#"{"subject":"orders-value","version":1,"id":42,"schema":"\"long\"","deleted":false}"#,
            ),
        ),
        (
            r#"{"keytype":"SCHEMA","subject":"orders-value","version":2,"magic":1}"#,
            Some(
                r#"{"subject":"orders-value","version":2,"id":43,"schemaType":"JSON","schema":"{\"type\":\"object\"}","deleted":false}"#,
            ),
        ),
        (
            r#"{"keytype":"SCHEMA","subject":"old-value","version":1,"magic":1}"#,
            Some(
                r#"{"subject":"old-value","version":1,"id":42,"schema":"\"long\"","deleted":false}"#,
            ),
        ),
        (
            r#"{"keytype":"DELETE_SUBJECT","subject":"old-value","magic":0}"#,
            Some(r#"{"subject":"old-value","version":1}"#),
        ),
        (
            r#"{"keytype":"CONFIG","magic":0}"#,
            Some(r#"{"compatibilityLevel":"FULL_TRANSITIVE"}"#),
        ),
        (
            r#"{"keytype":"MODE","magic":0}"#,
            Some(r#"{"mode":"READWRITE"}"#),
        ),
    ];
    for (key, value) in written {
        let mut record = BaseRecord::<str, str>::to(topic).key(key).partition(0);
        if let Some(value) = value {
            record = record.payload(value);
        }
        producer
            .send(record)
            .map_err(|(e, _)| e)
            .expect("queue record");
    }
    producer
        .flush(Duration::from_secs(30))
        .expect("records written");

    let registry = start(&broker, topic);
    let addr = registry.addr();
    assert_eq!(
        get(addr, "/schemas/ids/42").json(),
        json!({"schema": "\"long\""})
    );
    assert_eq!(
        get(addr, "/subjects/orders-value/versions/2").json(),
        json!({"subject": "orders-value", "version": 2, "id": 43, "schemaType": "JSON",
               "schema": "{\"type\":\"object\"}"})
    );
    assert_eq!(get(addr, "/subjects").json(), json!(["orders-value"]));
    assert_eq!(
        get(addr, "/config").json(),
        json!({"compatibilityLevel": "FULL_TRANSITIVE"})
    );
    assert_eq!(
        post(
            addr,
            "/subjects/new-value/versions",
            &avro(&json!("string"))
        )
        .json(),
        json!({"id": 44})
    );
}

#[test]
fn registries_sharing_a_topic_agree_on_every_id() {
    let broker = KafkaBroker::start();
    let a = start(&broker, "_schemas");
    let b = start(&broker, "_schemas");
    // Each registry registers its own schemas and a few both register, at the same time.
    let schemas: Vec<Value> = (0..8)
        .map(|i| json!({"type": "record", "name": format!("R{i}"), "fields": [{"name": "f", "type": "int"}]}))
        .collect();
    let register = |addr, subject: &str, schema: &Value| -> i64 {
        let reply = post(
            addr,
            &format!("/subjects/{subject}/versions"),
            &avro(schema),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["id"].as_i64().expect("id")
    };
    let (ids_a, ids_b) = std::thread::scope(|scope| {
        let from_a = scope.spawn(|| {
            (0..6)
                .map(|i| (i, register(a.addr(), &format!("a{i}"), &schemas[i])))
                .collect::<Vec<_>>()
        });
        let from_b = scope.spawn(|| {
            (2..8)
                .rev()
                .map(|i| (i, register(b.addr(), &format!("b{i}"), &schemas[i])))
                .collect::<Vec<_>>()
        });
        (from_a.join().expect("a"), from_b.join().expect("b"))
    });
    // One id per schema, whichever registry handed it out.
    let mut id_of: BTreeMap<usize, i64> = BTreeMap::new();
    for (schema, id) in ids_a.into_iter().chain(ids_b) {
        let known = *id_of.entry(schema).or_insert(id);
        assert_eq!(known, id, "schema R{schema} got ids {known} and {id}");
    }
    let mut distinct: Vec<i64> = id_of.values().copied().collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), schemas.len(), "ids {id_of:?}");
    // Both registries serve every id as the same schema, once they have read the topic.
    for registry in [&a, &b] {
        wait_until(
            Duration::from_secs(30),
            "both registries serve every id",
            || {
                id_of
                    .values()
                    .all(|id| get(registry.addr(), &format!("/schemas/ids/{id}")).status == 200)
            },
        );
        for (schema, id) in &id_of {
            assert_eq!(
                get(registry.addr(), &format!("/schemas/ids/{id}")).json()["schema"],
                schemas[*schema].to_string()
            );
        }
    }
}
