//! A 1,000,000-row MariaDB snapshot through the real `sluice` binary into a real broker,
//! with the worker killed (`kill -9`) half way: the restart resumes from the last chunk
//! (its log says so), and the topic ends with every row — the count of distinct ids and
//! their sum are checked; rows delivered twice are counted and reported.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use rdkafka::consumer::Consumer;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::Value as Json;
use sluice_testkit::MariaDb;

const ROWS: u64 = 1_000_000;
const TOPIC: &str = "kill.inv.big";

/// Rows the committed offset says the snapshot has emitted (`None` once it is complete).
fn snapshot_rows_done(dir: &Path) -> Option<u64> {
    let o = stored_offset(dir)?;
    o.get("snapshot")?;
    o["snapshot_rows_done"].as_u64()
}

fn snapshot_complete(dir: &Path) -> bool {
    stored_offset(dir).is_some_and(|o| o.get("snapshot").is_none())
}

/// Reads every record of `topic` up to its current end, calling `each` with the key.
fn read_keys(bootstrap: &str, topic: &str, mut each: impl FnMut(Option<&[u8]>)) -> u64 {
    let consumer = test_consumer(bootstrap, "mysql-kill-check");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let partitions: Vec<i32> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    let mut assignment = TopicPartitionList::new();
    let mut ends = Vec::new();
    for &p in &partitions {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
        let (_, high) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .unwrap();
        ends.push((p, high));
    }
    consumer.assign(&assignment).unwrap();
    let total: i64 = ends.iter().map(|(_, h)| h).sum();
    let mut next: Vec<i64> = vec![0; partitions.len()];
    let mut read = 0u64;
    let deadline = Instant::now() + Duration::from_secs(180);
    while ends
        .iter()
        .enumerate()
        .any(|(i, (_, high))| next[i] < *high)
    {
        assert!(
            Instant::now() < deadline,
            "read {read} of {total} records of {topic} in 180 s"
        );
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(m)) => {
                let i = partitions.iter().position(|&p| p == m.partition()).unwrap();
                next[i] = m.offset() + 1;
                read += 1;
                each(m.key());
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    read
}

/// The `id` of a key `{"id": n}` (schemas disabled).
fn key_id(key: &[u8]) -> u64 {
    let k: Json = serde_json::from_slice(key).unwrap();
    k["id"].as_u64().unwrap_or_else(|| panic!("key {k}"))
}

#[test]
fn million_row_snapshot_survives_kill_9_and_resumes_from_the_last_chunk() {
    let t0 = Instant::now();
    let broker = KafkaBroker::start();
    let db = MariaDb::start();
    db.sql(&format!(
        "CREATE DATABASE inv; CREATE TABLE inv.big (id INT PRIMARY KEY, v INT NOT NULL);
         INSERT INTO inv.big SELECT seq, seq % 1000 FROM inv.seq_1_to_{ROWS};
         ANALYZE TABLE inv.big;"
    ));
    eprintln!("loaded {ROWS} rows in {:?}", t0.elapsed());

    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let port = free_port();
    schemaless_worker_properties(dir, broker.bootstrap(), port);
    let connector = write(
        dir,
        "mysql.json",
        &format!(
            r#"{{"name": "kill", "config": {{
                "connector.class": "io.debezium.connector.mysql.MySqlConnector",
                "database.hostname": "{}", "database.port": "{}",
                "database.user": "{}", "database.password": "{}",
                "database.server.id": "5501", "topic.prefix": "kill",
                "table.include.list": "inv\\.big",
                "snapshot.fetch.size": "10000", "max.batch.size": "4096"}}}}"#,
            db.host(),
            db.port(),
            db.user(),
            db.password()
        ),
    );

    let mut worker = Worker::start(dir, port, std::slice::from_ref(&connector));
    let mut status_progress = None;
    wait_until(
        Duration::from_secs(150),
        "40% of the snapshot in the committed offsets",
        || {
            if status_progress.is_none() {
                let (code, body) = worker.get("/connectors/kill/status");
                let status: Json = serde_json::from_str(&body).unwrap_or_default();
                let p = &status["tasks"][0]["progress"];
                if code == 200 && p["phase"] == "snapshot" && p["rows_done"].as_u64() > Some(0) {
                    status_progress = Some(p.clone());
                }
            }
            snapshot_rows_done(dir).is_some_and(|n| n >= ROWS * 4 / 10)
        },
    );
    worker.kill9();
    let at_kill = stored_offset(dir).unwrap();
    let done_at_kill = snapshot_rows_done(dir).unwrap();
    eprintln!(
        "kill -9 after {:?}: committed offset {at_kill}; status progress seen before: {}",
        t0.elapsed(),
        status_progress
            .as_ref()
            .map_or_else(|| "none".to_owned(), Json::to_string)
    );
    let p = status_progress.expect("the status showed the snapshot's progress");
    assert_eq!(p["table"], "inv.big", "{p}");
    assert!(p["rows_estimated"].as_u64().unwrap() >= ROWS / 2, "{p}");
    assert!(p["rows_per_sec"].is_u64(), "{p}");
    assert!(
        done_at_kill < ROWS,
        "the kill came after the snapshot ended"
    );

    let mut worker = Worker::start(dir, port, &[connector]);
    wait_until(
        Duration::from_secs(150),
        "the snapshot to complete after the restart",
        || snapshot_complete(dir),
    );
    let log = worker.log_text();
    let resumed = log
        .lines()
        .find(|l| l.contains("resuming the snapshot from the last chunk"))
        .unwrap_or_else(|| panic!("the restart did not resume the snapshot:\n{log}"));
    eprintln!("restart log: {}", resumed.trim());
    let last_key = at_kill["snapshot_last_key"][0].as_u64().unwrap();
    assert!(
        resumed.contains(&format!("after key [{last_key}]")),
        "resumed after the committed key {last_key}: {resumed}"
    );
    let exit = worker.terminate();
    assert!(exit.success(), "graceful stop: {exit}");

    let mut seen = vec![0u8; ROWS as usize + 1];
    let mut duplicates = 0u64;
    let mut duplicate_ids = Vec::new();
    let records = read_keys(broker.bootstrap(), TOPIC, |key| {
        let id = key_id(key.expect("every snapshot record has a key"));
        assert!((1..=ROWS).contains(&id), "id {id} out of range");
        let slot = &mut seen[id as usize];
        if *slot > 0 {
            duplicates += 1;
            if duplicate_ids.len() < 5 {
                duplicate_ids.push(id);
            }
        }
        *slot = slot.saturating_add(1);
    });
    let distinct = seen.iter().filter(|&&n| n > 0).count() as u64;
    let sum: u64 = (1..=ROWS).filter(|&i| seen[i as usize] > 0).sum();
    let missing: Vec<u64> = (1..=ROWS)
        .filter(|&i| seen[i as usize] == 0)
        .take(10)
        .collect();
    eprintln!(
        "kill -9 report: {ROWS} rows, {done_at_kill} acknowledged at the kill (last key {last_key}); \
         {records} records on {TOPIC}, {distinct} distinct ids, sum of ids {sum}, \
         {duplicates} duplicates (e.g. {duplicate_ids:?}), missing {missing:?}; total {:?}",
        t0.elapsed()
    );
    assert_eq!(
        distinct, ROWS,
        "every row is on the topic; missing {missing:?}"
    );
    assert_eq!(sum, ROWS * (ROWS + 1) / 2, "checksum of ids");
    assert!(
        duplicates < ROWS / 10,
        "the restart resumed near the kill, not from the start: {duplicates} duplicates"
    );
}
