//! MongoDB collection → the `mongodb` source → Kafka → the `mongodb-sink` → another
//! collection, through the real `sluice` binary and a real broker, with a mixed workload
//! (inserts, `$set` / `$unset` / `$inc` updates, replaces, deletes) running while the
//! worker is killed (`kill -9`) and restarted. At the end the copy equals the source,
//! document by document and field by field (types included: int32 stays int32, int64
//! int64, ObjectId, dates, nested documents and arrays). Prints the snapshot's and the
//! streamed workload's end-to-end throughput (docs/s).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use sluice_testkit::SecantusDb;

const INITIAL: i64 = 3000;
const OPS_PER_ROUND: usize = 600;

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn document(id: i64, v: u64) -> Document {
    doc! {
        "_id": id,
        "name": format!("customer {id} \"v{v}\" é"),
        "v": v as i64,
        "small": (v % 1000) as i32,
        "score": v as f64 / 8.0,
        "active": v.is_multiple_of(2),
        "when": DateTime::from_millis(1_700_000_000_000 + v as i64),
        "ref": ObjectId::from_bytes([(v % 251) as u8; 12]),
        "address": {"city": format!("c{}", v % 17), "zip": null, "lines": [v as i64, "x"]},
        "tags": (0..(v % 4)).map(|i| Bson::String(format!("t{i}"))).collect::<Vec<_>>(),
    }
}

/// One round of the mixed workload on the source; returns the ops done.
async fn workload(
    coll: &mongodb::Collection<Document>,
    rng: &mut Rng,
    next_id: &mut i64,
    counter: &mut u64,
    ops: usize,
) -> usize {
    for _ in 0..ops {
        *counter += 1;
        let v = *counter;
        let id = 1 + rng.below(*next_id as u64) as i64;
        match rng.below(10) {
            0..=2 => {
                *next_id += 1;
                coll.insert_one(document(*next_id, v)).await.unwrap();
            }
            3..=4 => {
                coll.update_one(doc! {"_id": id}, doc! {"$set": {"v": v as i64, "address.city": format!("u{v}")}, "$unset": {"tags": ""}})
                    .await
                    .unwrap();
            }
            5 => {
                coll.update_one(doc! {"_id": id}, doc! {"$inc": {"small": 1}})
                    .await
                    .unwrap();
            }
            6..=7 => {
                coll.replace_one(doc! {"_id": id}, document(id, v))
                    .await
                    .unwrap();
            }
            _ => {
                coll.delete_one(doc! {"_id": id}).await.unwrap();
            }
        }
    }
    ops
}

async fn all(coll: &mongodb::Collection<Document>) -> BTreeMap<String, Document> {
    use futures::TryStreamExt;
    let docs: Vec<Document> = coll
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    docs.into_iter()
        .map(|d| (format!("{:?}", d.get("_id")), d))
        .collect()
}

/// Field-by-field differences (names sorted), at most `limit`.
fn differences(
    source: &BTreeMap<String, Document>,
    copy: &BTreeMap<String, Document>,
    limit: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    for (id, s) in source {
        match copy.get(id) {
            None => out.push(format!("{id}: missing in the copy")),
            Some(c) => {
                let names: std::collections::BTreeSet<&String> = s.keys().chain(c.keys()).collect();
                for n in names {
                    if s.get(n) != c.get(n) {
                        out.push(format!(
                            "{id}.{n}: source {:?}, copy {:?}",
                            s.get(n),
                            c.get(n)
                        ));
                    }
                }
            }
        }
    }
    for id in copy.keys().filter(|id| !source.contains_key(*id)) {
        out.push(format!("{id}: in the copy only"));
    }
    out.truncate(limit);
    out
}

#[test]
fn collection_copies_through_kafka_across_kill_9() {
    let broker = KafkaBroker::start();
    let db = SecantusDb::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = rt
        .block_on(async { mongodb::Client::with_uri_str(db.uri()).await })
        .unwrap();
    let source = client
        .database("inventory")
        .collection::<Document>("customers");
    let copy = client
        .database("replica")
        .collection::<Document>("customers");
    rt.block_on(async {
        let docs: Vec<Document> = (1..=INITIAL).map(|id| document(id, id as u64)).collect();
        for chunk in docs.chunks(500) {
            source.insert_many(chunk.to_vec()).await.unwrap();
        }
    });

    // The topic exists before the sink subscribes: the worker's sink consumer does not
    // pick up a topic created after it started (UnknownTopicOrPartition, then nothing).
    rt.block_on(async {
        use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
        let admin: AdminClient<rdkafka::client::DefaultClientContext> =
            rdkafka::ClientConfig::new()
                .set("bootstrap.servers", broker.bootstrap())
                .create()
                .unwrap();
        let topic = NewTopic::new("copy.inventory.customers", 1, TopicReplication::Fixed(1));
        let r = admin
            .create_topics([&topic], &AdminOptions::new())
            .await
            .unwrap();
        assert!(r.iter().all(Result::is_ok), "{r:?}");
    });
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let src = write(
        dir,
        "mongodb-source.json",
        &format!(
            r#"{{"name": "mongo-src", "config": {{
                "connector.class": "io.debezium.connector.mongodb.MongoDbConnector",
                "mongodb.connection.string": "{}",
                "topic.prefix": "copy",
                "collection.include.list": "inventory\\.customers",
                "capture.mode": "change_streams_update_full",
                "poll.interval.ms": "100"}}}}"#,
            db.uri()
        ),
    );
    let sink = write(
        dir,
        "mongodb-sink.json",
        &format!(
            r#"{{"name": "mongo-sink", "config": {{
                "connector.class": "mongodb-sink",
                "topics": "copy.inventory.customers",
                "connection.uri": "{}",
                "database": "replica",
                "collection": "customers",
                "change.data.capture.handler": "com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.ChangeStreamHandler"}}}}"#,
            db.uri()
        ),
    );

    let equal = |deadline: Duration, what: &str, worker: &Worker| {
        let start = Instant::now();
        loop {
            let (s, c) = rt.block_on(async { (all(&source).await, all(&copy).await) });
            let diff = differences(&s, &c, 5);
            if diff.is_empty() {
                return (start.elapsed(), s.len());
            }
            if start.elapsed() > deadline {
                let log = worker.log_text();
                let tail: String = log
                    .lines()
                    .rev()
                    .take(60)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                panic!(
                    "{what}: the copy differs after {deadline:?}:\n{}\nworker log (end):\n{tail}",
                    diff.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };

    // Snapshot → Kafka → sink.
    let t0 = Instant::now();
    let mut worker = Worker::start(dir, port, &[src.clone(), sink.clone()]);
    wait_until(
        Duration::from_secs(120),
        "the snapshot's documents in the copy",
        || {
            rt.block_on(async { copy.count_documents(doc! {}).await })
                .unwrap()
                >= INITIAL as u64
        },
    );
    let snapshot_secs = t0.elapsed().as_secs_f64();
    let (_, n) = equal(Duration::from_secs(60), "after the snapshot", &worker);
    assert_eq!(n, INITIAL as usize);

    // The mixed workload, with a kill -9 in the middle of it.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut next_id = INITIAL;
    let mut counter = 1_000_000u64;
    let t1 = Instant::now();
    let mut ops = rt.block_on(workload(
        &source,
        &mut rng,
        &mut next_id,
        &mut counter,
        OPS_PER_ROUND,
    ));
    wait_until(
        Duration::from_secs(60),
        "some streamed changes in the copy",
        || {
            rt.block_on(async {
                copy.count_documents(doc! {"v": {"$gte": 1_000_000_i64}})
                    .await
            })
            .unwrap()
                > 0
        },
    );
    ops += rt.block_on(workload(
        &source,
        &mut rng,
        &mut next_id,
        &mut counter,
        OPS_PER_ROUND / 2,
    ));
    worker.kill9();
    // Written while the worker is down.
    ops += rt.block_on(workload(
        &source,
        &mut rng,
        &mut next_id,
        &mut counter,
        OPS_PER_ROUND,
    ));
    let mut worker = Worker::start(dir, port, &[src, sink]);
    ops += rt.block_on(workload(
        &source,
        &mut rng,
        &mut next_id,
        &mut counter,
        OPS_PER_ROUND,
    ));
    let (_, docs) = equal(
        Duration::from_secs(180),
        "after the workload and a kill -9",
        &worker,
    );
    let stream_secs = t1.elapsed().as_secs_f64();
    let (status, body) = worker.get("/connectors/mongo-sink/status");
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("FAILED"), "{body}");
    let (_, body) = worker.get("/connectors/mongo-src/status");
    assert!(!body.contains("FAILED"), "{body}");
    worker.terminate();
    eprintln!(
        "mongodb copy: snapshot {INITIAL} docs source→Kafka→sink in {snapshot_secs:.2}s = {:.0} docs/s; \
         workload {ops} changes (kill -9 included) copied in {stream_secs:.2}s = {:.0} changes/s; {docs} documents equal field by field",
        INITIAL as f64 / snapshot_secs,
        ops as f64 / stream_secs,
    );
}
