//! The MongoDB sink against SecantusDB, fed without Kafka: the source's own records
//! (through Kafka Connect's JsonConverter, as a broker round trip would) for Debezium
//! MongoDB events, and hand-built Debezium MySQL events. Asserts the exact documents,
//! idempotence under redelivery, deletes on `op=d` and tombstones, and prints the sink's
//! throughput.

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use common::*;
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use sluice_connector_mongodb::MongoSinkTask;
use sluice_converters::JsonConverter;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{Converter, SinkTask, SourceTask};
use sluice_core::{Record, SchemaAndValue, SchemaBuilder, SinkRecord, SourceRecord, Struct, Type};
use sluice_testkit::SecantusDb;

fn sink_config(db: &SecantusDb, extra: &[(&str, &str)]) -> ConfigMap {
    let mut m: ConfigMap = [
        ("connector.class", "mongodb-sink"),
        ("topics", "fulfillment.inventory.customers"),
        ("database", "replica"),
        ("collection", "customers"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    m.insert("connection.uri".into(), db.uri());
    for (k, v) in extra {
        m.insert((*k).to_owned(), (*v).to_owned());
    }
    m
}

/// A source record as a sink reads it back from Kafka (JsonConverter with schemas).
fn through_kafka(records: &[SourceRecord]) -> Vec<SinkRecord> {
    let c = JsonConverter::with_schemas(true);
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let t = &r.record.topic;
            let key = c.from_connect(t, &r.record.key).expect("key");
            let value = c.from_connect(t, &r.record.value).expect("value");
            let mut record = Record::new(
                t.clone(),
                c.to_connect(t, value.as_deref()).expect("value back"),
            );
            record.key = c.to_connect(t, key.as_deref()).expect("key back");
            SinkRecord {
                record,
                kafka_partition: 0,
                kafka_offset: i as i64,
            }
        })
        .collect()
}

async fn docs(coll: &mongodb::Collection<Document>) -> BTreeMap<String, Document> {
    let all: Vec<Document> = coll
        .find(doc! {})
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("docs");
    all.into_iter()
        .map(|d| (format!("{:?}", d.get("_id")), d))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debezium_mongodb_events_copy_documents_exactly_and_idempotently() {
    init_logging();
    let db = SecantusDb::start();
    let c = client(&db).await;
    let source = c.database("inventory").collection::<Document>("customers");
    let copy = c.database("replica").collection::<Document>("customers");
    const N: i64 = 2000;
    let initial: Vec<Document> = (1..=N)
        .map(|i| doc! {"_id": i, "name": format!("n{i}"), "n32": i as i32, "f": i as f64 / 4.0,
                       "when": DateTime::from_millis(1_700_000_000_000 + i), "o": ObjectId::from_bytes([7; 12]),
                       "nested": {"a": [i, "x", null]}})
        .collect();
    source.insert_many(initial).await.expect("insert");
    let mut src = start(&config(&db, &[]), None).await.expect("source");
    let snap = poll_n(&mut src, N as usize, 60).await;

    let mut sink = MongoSinkTask::default();
    sink.start(&sink_config(&db, &[])).await.expect("sink");
    let batch = through_kafka(&snap);
    let t = Instant::now();
    for chunk in batch.chunks(500) {
        sink.put(chunk.to_vec()).await.expect("put");
    }
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "mongodb sink: {N} replace-upserts in {secs:.2}s = {:.0} docs/s (SecantusDB on loopback)",
        N as f64 / secs
    );
    assert_eq!(docs(&copy).await, docs(&source).await);

    // Streamed changes: partial updates (capture.mode=change_streams, so no after), a
    // replace, deletes with tombstones; then the whole stream delivered again.
    src.stop().await.expect("stop");
    let offset = snap.last().expect("records").source_offset.to_map();
    let mut src = start(
        &config(&db, &[("capture.mode", "change_streams")]),
        Some(offset),
    )
    .await
    .expect("source");
    source
        .update_one(
            doc! {"_id": 1_i64},
            doc! {"$set": {"name": "changed", "added": 5.5}, "$unset": {"nested": ""}},
        )
        .await
        .expect("update");
    source
        .replace_one(doc! {"_id": 2_i64}, doc! {"only": true})
        .await
        .expect("replace");
    source
        .delete_one(doc! {"_id": 3_i64})
        .await
        .expect("delete");
    source
        .insert_one(doc! {"_id": "text id", "v": 1})
        .await
        .expect("insert");
    source
        .update_one(doc! {"_id": "text id"}, doc! {"$inc": {"v": 1}})
        .await
        .expect("update");
    let streamed = poll_n(&mut src, 6, 30).await;
    let batch = through_kafka(&streamed);
    sink.put(batch.clone()).await.expect("put");
    let expected = docs(&source).await;
    assert_eq!(docs(&copy).await, expected);
    assert_eq!(
        copy.find_one(doc! {"_id": 1_i64})
            .await
            .expect("find")
            .expect("doc 1"),
        doc! {"_id": 1_i64, "name": "changed", "n32": 1, "f": 0.25, "when": DateTime::from_millis(1_700_000_000_001),
        "o": ObjectId::from_bytes([7; 12]), "added": 5.5}
    );
    // Redelivery (a crash before the offset commit) changes nothing.
    sink.put(batch).await.expect("put again");
    sink.put(through_kafka(&snap[..10]))
        .await
        .expect("old snapshot records again");
    // Replaying old snapshot records rewinds those documents to their snapshot state until
    // the stream's records are replayed after them, as a real redelivery does.
    sink.put(through_kafka(&streamed)).await.expect("put again");
    assert_eq!(docs(&copy).await, expected, "idempotent under redelivery");
    src.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debezium_mysql_events_become_documents_keyed_by_the_key_struct() {
    init_logging();
    let db = SecantusDb::start();
    let c = client(&db).await;
    let copy = c.database("replica").collection::<Document>("customers");
    let key_schema = SchemaBuilder::struct_()
        .name("dbserver1.inventory.customers.Key")
        .field("id", SchemaBuilder::new(Type::Int32).build())
        .build();
    let row = SchemaBuilder::struct_()
        .optional()
        .name("dbserver1.inventory.customers.Value")
        .field("id", SchemaBuilder::new(Type::Int32).build())
        .field("email", SchemaBuilder::new(Type::String).optional().build())
        .field(
            "created",
            SchemaBuilder::new(Type::Int64)
                .name("org.apache.kafka.connect.data.Timestamp")
                .version(1)
                .optional()
                .build(),
        )
        .build();
    let envelope = SchemaBuilder::struct_()
        .name("dbserver1.inventory.customers.Envelope")
        .field("before", row.clone())
        .field("after", row.clone())
        .field("op", SchemaBuilder::new(Type::String).build())
        .build();
    let rec = |offset: i64, id: i32, op: &str, email: Option<&str>| {
        let image = email.map(|e| {
            sluice_core::Value::Struct(
                Struct::new(row.clone())
                    .with("id", id)
                    .with("email", e)
                    .with("created", 1_700_000_000_123_i64),
            )
        });
        let (before, after) = if op == "d" {
            (image, None)
        } else {
            (None, image)
        };
        let value = Struct::new(envelope.clone())
            .with("before", before.unwrap_or(sluice_core::Value::Null))
            .with("after", after.unwrap_or(sluice_core::Value::Null))
            .with("op", op);
        let mut record = Record::new(
            "dbserver1.inventory.customers",
            SchemaAndValue::new(envelope.clone(), value),
        );
        record.key = SchemaAndValue::new(
            key_schema.clone(),
            Struct::new(key_schema.clone()).with("id", id),
        );
        SinkRecord {
            record,
            kafka_partition: 0,
            kafka_offset: offset,
        }
    };
    let tombstone = |offset: i64, id: i32| {
        let mut record = Record::new("dbserver1.inventory.customers", SchemaAndValue::NULL);
        record.key = SchemaAndValue::new(
            key_schema.clone(),
            Struct::new(key_schema.clone()).with("id", id),
        );
        SinkRecord {
            record,
            kafka_partition: 0,
            kafka_offset: offset,
        }
    };
    let mut sink = MongoSinkTask::default();
    sink.start(&sink_config(
        &db,
        &[
            ("topics", "dbserver1.inventory.customers"),
            (
                "change.data.capture.handler",
                "com.mongodb.kafka.connect.sink.cdc.debezium.rdbms.mysql.MysqlHandler",
            ),
        ],
    ))
    .await
    .expect("sink");
    let batch = vec![
        rec(0, 1001, "r", Some("sally@example.com")),
        rec(1, 1002, "c", Some("george@example.com")),
        rec(2, 1001, "u", Some("sally.t@example.com")),
        rec(3, 1002, "d", Some("george@example.com")),
        tombstone(4, 1002),
    ];
    for _ in 0..2 {
        sink.put(batch.clone()).await.expect("put");
        let all: Vec<Document> = copy
            .find(doc! {})
            .await
            .expect("find")
            .try_collect()
            .await
            .expect("docs");
        assert_eq!(
            all,
            vec![
                doc! {"_id": {"id": 1001}, "id": 1001, "email": "sally.t@example.com", "created": DateTime::from_millis(1_700_000_000_123)}
            ]
        );
    }
}
