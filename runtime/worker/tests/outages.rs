//! Outages through the real `sluice` binary, a real broker and a real MariaDB, each while
//! rows are being written: the broker stopped for a while and restarted on the same port;
//! MariaDB restarted under a streaming source and a writing sink; the binlog connection
//! killed with `KILL`. In each, the tasks wait, retry and resume by themselves, `/status`
//! says what is going on meanwhile, and every row committed in MariaDB reaches the topic
//! (and the sink's table): distinct primary keys are counted, duplicates are allowed,
//! losses are not.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::rest::{parse, wait_on};
use common::*;
use rdkafka::consumer::Consumer;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::Value as Json;
use sluice_testkit::MariaDb;

/// The broker outage, in seconds: `$SLUICE_TEST_BROKER_OUTAGE_SECS`, default 60.
fn broker_outage() -> Duration {
    Duration::from_secs(
        std::env::var("SLUICE_TEST_BROKER_OUTAGE_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60),
    )
}

/// A database `inv` with table `o` holding ids 1 to 10 (so a snapshot has rows, and the
/// writers start at 11), and an empty `dst.o` with a `sink` user for the sink.
fn database() -> MariaDb {
    let db = MariaDb::start();
    db.sql(
        "CREATE DATABASE inv; CREATE TABLE inv.o (id INT PRIMARY KEY, v INT NOT NULL);
         INSERT INTO inv.o SELECT seq, seq FROM inv.seq_1_to_10;
         CREATE DATABASE dst; CREATE TABLE dst.o LIKE inv.o;
         CREATE USER 'sink'@'127.0.0.1' IDENTIFIED BY 'sinkpw';
         GRANT ALL ON dst.* TO 'sink'@'127.0.0.1';",
    );
    db
}

/// A MariaDB source of `inv.o` to topic `<prefix>.inv.o`, with small batches.
fn source_config(dir: &Path, db: &MariaDb, name: &str, server_id: u32) -> std::path::PathBuf {
    write(
        dir,
        &format!("{name}.json"),
        &format!(
            r#"{{"name": "{name}", "config": {{
                "connector.class": "mariadb",
                "database.hostname": "{}", "database.port": "{}",
                "database.user": "{}", "database.password": "{}",
                "database.server.id": "{server_id}", "topic.prefix": "{name}",
                "table.include.list": "inv\\.o", "max.batch.size": "50"}}}}"#,
            db.host(),
            db.port(),
            db.user(),
            db.password()
        ),
    )
}

/// Sets the flag false when dropped: a writer thread stops when the test panics.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// Writes one row per statement (autocommit) with ids from `next` on, until `running`
/// turns false; a statement that fails (the server is down) is not counted and retried.
fn writer(db: &MariaDb, next: &AtomicU64, running: &AtomicBool) {
    while running.load(Ordering::Relaxed) {
        let id = next.load(Ordering::Relaxed);
        db.sql(&format!("INSERT INTO inv.o VALUES ({id}, {id})"));
        next.store(id + 1, Ordering::Relaxed);
    }
}

/// The distinct `id`s of the change events on `topic` so far, and the record count.
fn ids_on_topic(bootstrap: &str, topic: &str) -> (BTreeSet<u64>, usize) {
    let consumer = test_consumer(bootstrap, "outages-check");
    let Ok(metadata) = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)) else {
        return (BTreeSet::new(), 0);
    };
    let Some(partitions) = metadata.topics().first().map(|t| t.partitions().len()) else {
        return (BTreeSet::new(), 0);
    };
    let mut ids = BTreeSet::new();
    let mut records = 0;
    for p in 0..partitions as i32 {
        let Ok((_, high)) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10)) else {
            continue;
        };
        if high == 0 {
            continue;
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
        consumer.assign(&tpl).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut next = 0;
        while next < high && Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                next = m.offset() + 1;
                records += 1;
                let value: Json = m.payload().map_or(Json::Null, |b| {
                    serde_json::from_slice(b).unwrap_or(Json::Null)
                });
                if let Some(id) = value["payload"]["after"]["id"].as_u64() {
                    ids.insert(id);
                }
            }
        }
    }
    (ids, records)
}

/// The task's state and trace from `/connectors/<name>/status`.
fn task_status(worker: &Worker, name: &str) -> (String, String) {
    let (_, body) = worker.get(&format!("/connectors/{name}/status"));
    let s = parse(&body);
    (
        s["tasks"][0]["state"].as_str().unwrap_or("").to_owned(),
        s["tasks"][0]["trace"].as_str().unwrap_or("").to_owned(),
    )
}

/// Waits (up to `within`) until every id below `next` is on the topic; returns when.
fn wait_for_all_rows(bootstrap: &str, topic: &str, rows: u64, within: Duration) -> Duration {
    let started = Instant::now();
    let mut seen = (BTreeSet::new(), 0);
    let done = |ids: &BTreeSet<u64>| (1..=rows).all(|id| ids.contains(&id));
    while started.elapsed() < within {
        seen = ids_on_topic(bootstrap, topic);
        if done(&seen.0) {
            return started.elapsed();
        }
    }
    let missing: Vec<u64> = (1..=rows)
        .filter(|id| !seen.0.contains(id))
        .take(20)
        .collect();
    panic!(
        "after {within:?}, {} of {rows} rows on {topic}; first missing ids {missing:?}",
        seen.0.len()
    );
}

/// Outages take servers down and time recoveries: one at a time, so one test's outage
/// does not slow another's recovery.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn a_source_survives_the_broker_stopped_and_restarted() {
    let _one_at_a_time = one_at_a_time();
    let outage = broker_outage();
    let mut broker = KafkaBroker::start();
    let db = database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let name = "brk";
    let topic = format!("{name}.inv.o");
    let worker = Worker::start(dir, port, &[source_config(dir, &db, name, 6101)]);
    wait_until(Duration::from_secs(60), "the snapshot to complete", || {
        stored_offset(dir).is_some_and(|o| o.get("snapshot").is_none())
    });

    let next = AtomicU64::new(11);
    let running = AtomicBool::new(true);
    let mut states = BTreeSet::new();
    let mut waiting = None;
    let (at_stop, at_restart) = std::thread::scope(|scope| {
        let w = scope.spawn(|| writer(&db, &next, &running));
        let _stop = StopOnDrop(&running);
        wait_until(Duration::from_secs(60), "rows on the topic", || {
            !ids_on_topic(broker.bootstrap(), &topic).0.is_empty()
        });
        broker.stop();
        let at_stop = next.load(Ordering::Relaxed);
        // The outage: the writer keeps writing; the task must not fail meanwhile.
        let down = Instant::now();
        while down.elapsed() < outage {
            let (state, trace) = task_status(&worker, name);
            assert_ne!(
                state,
                "FAILED",
                "the task failed during the broker outage:\n{}",
                worker.log_text()
            );
            if trace.starts_with("Waiting for the Kafka brokers") && waiting.is_none() {
                waiting = Some((down.elapsed(), trace));
            }
            states.insert(state);
            std::thread::sleep(Duration::from_millis(500));
        }
        broker.restart();
        let at_restart = next.load(Ordering::Relaxed);
        // Some more rows after the restart, then stop writing.
        let target = at_restart + 200;
        wait_until(
            Duration::from_secs(60),
            "200 rows written after the restart",
            || next.load(Ordering::Relaxed) >= target,
        );
        running.store(false, Ordering::Relaxed);
        w.join().unwrap();
        (at_stop, at_restart)
    });
    let rows = next.load(Ordering::Relaxed) - 1;
    assert_eq!(
        db.sql("SELECT COUNT(*) FROM inv.o").trim(),
        rows.to_string()
    );
    let recovered = wait_for_all_rows(broker.bootstrap(), &topic, rows, Duration::from_secs(180));
    let (ids, records) = ids_on_topic(broker.bootstrap(), &topic);
    let (state, trace) = task_status(&worker, name);
    assert_eq!(state, "RUNNING");
    assert_eq!(
        trace, "",
        "the waiting trace is cleared once the broker is back"
    );
    let (shown_after, waiting) = waiting.expect("/status said the task waits for the brokers");
    eprintln!("broker outage report: /status showed {waiting:?} {shown_after:?} into the outage");
    eprintln!(
        "broker outage report: broker down {outage:?} (rows {at_stop}..{at_restart} written meanwhile), \
         {rows} rows committed, {} distinct on the topic in {records} records ({} duplicates), 0 lost; \
         all on the topic {recovered:?} after the writer stopped; task states seen during the outage: {states:?}",
        ids.len(),
        records - ids.len()
    );
}

#[test]
fn a_source_survives_mariadb_restarted() {
    let _one_at_a_time = one_at_a_time();
    let broker = KafkaBroker::start();
    let mut db = database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let name = "rst";
    let topic = format!("{name}.inv.o");
    let worker = Worker::start(dir, port, &[source_config(dir, &db, name, 6102)]);
    wait_until(Duration::from_secs(60), "the snapshot to complete", || {
        stored_offset(dir).is_some_and(|o| o.get("snapshot").is_none())
    });

    let next = AtomicU64::new(11);
    let running = AtomicBool::new(true);
    // Rows written while the source streams; the server stops right after the last one,
    // before the source has read them all.
    std::thread::scope(|scope| {
        let w = scope.spawn(|| writer(&db, &next, &running));
        let _stop = StopOnDrop(&running);
        wait_until(Duration::from_secs(60), "300 rows written", || {
            next.load(Ordering::Relaxed) > 300
        });
        running.store(false, Ordering::Relaxed);
        w.join().unwrap();
    });
    // Then one big transaction, and the server stops at once: the source is still
    // reading it.
    let first = next.load(Ordering::Relaxed);
    db.sql(&format!(
        "INSERT INTO inv.o SELECT seq, seq FROM inv.seq_{first}_to_{}",
        first + 19_999
    ));
    next.store(first + 20_000, Ordering::Relaxed);
    let before = next.load(Ordering::Relaxed) - 1;
    let (on_topic_at_stop, _) = ids_on_topic(broker.bootstrap(), &topic);
    db.stop();
    let down = Instant::now();
    // While the server is down the task stays RUNNING and says it is retrying.
    let mut trace = String::new();
    wait_until(
        Duration::from_secs(60),
        "the task to report the retry",
        || {
            let (state, t) = task_status(&worker, name);
            assert_ne!(state, "FAILED", "{t}");
            trace = t;
            state == "RUNNING"
                && trace
                    .contains("Retrying after a retriable failure in stage TASK_POLL (attempt 3,")
        },
    );
    db.restart();
    let outage = down.elapsed();
    running.store(true, Ordering::Relaxed);
    std::thread::scope(|scope| {
        let w = scope.spawn(|| writer(&db, &next, &running));
        let _stop = StopOnDrop(&running);
        wait_until(Duration::from_secs(60), "300 more rows written", || {
            next.load(Ordering::Relaxed) > before + 300
        });
        running.store(false, Ordering::Relaxed);
        w.join().unwrap();
    });
    let rows = next.load(Ordering::Relaxed) - 1;
    let recovered = wait_for_all_rows(broker.bootstrap(), &topic, rows, Duration::from_secs(180));
    let (ids, records) = ids_on_topic(broker.bootstrap(), &topic);
    let (state, trace_after) = task_status(&worker, name);
    assert_eq!(state, "RUNNING");
    assert_eq!(
        trace_after, "",
        "the trace is cleared once the task runs again"
    );
    let log = worker.log_text();
    assert!(
        log.contains("source task resumed from its committed offsets"),
        "{log}"
    );
    eprintln!(
        "MariaDB restart report: {before} rows before the stop ({} of them on the topic at the stop), \
         server down {outage:?}, {rows} rows in all; {} distinct on the topic in {records} records, 0 lost, \
         all there {recovered:?} after the writer stopped; trace during the outage: {trace}",
        on_topic_at_stop.len(),
        ids.len()
    );
}

/// A flat record with a JSON schema, as Kafka Connect's JsonConverter writes it.
fn flat(id: u64) -> (String, String) {
    (
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"field":"id","type":"int32"}}]}},"payload":{{"id":{id}}}}}"#
        ),
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"field":"id","type":"int32"}},{{"field":"v","type":"int32"}}]}},"payload":{{"id":{id},"v":{id}}}}}"#
        ),
    )
}

fn produce_rows(bootstrap: &str, topic: &str, ids: std::ops::RangeInclusive<u64>) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    for id in ids {
        let (k, v) = flat(id);
        producer
            .send(BaseRecord::to(topic).partition(0).key(&k).payload(&v))
            .map_err(|(e, _)| e)
            .unwrap();
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

#[test]
fn a_sink_survives_mariadb_restarted() {
    let _one_at_a_time = one_at_a_time();
    let broker = KafkaBroker::start();
    let mut db = database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let topic = format!("rows-{port}");
    produce_rows(broker.bootstrap(), &topic, 1..=500);
    let sink = write(
        dir,
        "sink.json",
        &format!(
            r#"{{"name": "rows-sink", "config": {{
                "connector.class": "mysql-sink", "topics": "{topic}",
                "database.hostname": "{}", "database.port": "{}", "database.name": "dst",
                "connection.username": "sink", "connection.password": "sinkpw",
                "insert.mode": "upsert", "primary.key.mode": "record_key",
                "table.name.format": "o"}}}}"#,
            db.host(),
            db.port()
        ),
    );
    let worker = Worker::start(dir, port, &[sink]);
    let count = |db: &MariaDb| {
        db.sql("SELECT COUNT(*) FROM dst.o")
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    wait_until(Duration::from_secs(60), "500 rows in dst.o", || {
        count(&db) == 500
    });
    db.stop();
    let down = Instant::now();
    // Records arrive while the server is down: the sink retries them.
    produce_rows(broker.bootstrap(), &topic, 501..=1500);
    let mut trace = String::new();
    wait_until(
        Duration::from_secs(60),
        "the sink to report the retry",
        || {
            let (state, t) = task_status(&worker, "rows-sink");
            assert_ne!(state, "FAILED", "{t}");
            trace = t;
            state == "RUNNING"
                && trace
                    .contains("Retrying after a retriable failure in stage TASK_PUT (attempt 3,")
        },
    );
    db.restart();
    let outage = down.elapsed();
    let restarted = Instant::now();
    produce_rows(broker.bootstrap(), &topic, 1501..=2000);
    wait_until(Duration::from_secs(120), "2000 rows in dst.o", || {
        count(&db) == 2000
    });
    let recovered = restarted.elapsed();
    assert_eq!(
        db.sql("SELECT COUNT(*), MIN(id), MAX(id), SUM(v) FROM dst.o")
            .trim(),
        "2000\t1\t2000\t2001000"
    );
    let (state, trace_after) = task_status(&worker, "rows-sink");
    assert_eq!(state, "RUNNING");
    assert_eq!(trace_after, "");
    eprintln!(
        "MySQL sink restart report: server down {outage:?} while 1000 records arrived; all 2000 rows in dst.o \
         {recovered:?} after the restart; trace during the outage: {trace}"
    );
}

#[test]
fn a_source_survives_its_binlog_connection_killed() {
    let _one_at_a_time = one_at_a_time();
    let broker = KafkaBroker::start();
    let db = database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let name = "kil";
    let topic = format!("{name}.inv.o");
    let worker = Worker::start(dir, port, &[source_config(dir, &db, name, 6103)]);
    wait_until(Duration::from_secs(60), "the snapshot to complete", || {
        stored_offset(dir).is_some_and(|o| o.get("snapshot").is_none())
    });
    // The binlog dump threads, as (id, command): a killed one may linger as `Killed`.
    let dump_threads = || -> Vec<(String, String)> {
        db.sql("SELECT ID, COMMAND FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%' OR (COMMAND = 'Killed' AND USER = 'sluice') ORDER BY ID")
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(id, c)| (id.to_owned(), c.to_owned()))
            .collect()
    };
    let live = |threads: &[(String, String)]| -> Option<String> {
        threads
            .iter()
            .find(|(_, c)| c.starts_with("Binlog Dump"))
            .map(|(id, _)| id.clone())
    };
    let next = AtomicU64::new(11);
    let running = AtomicBool::new(true);
    let mut kills = Vec::new();
    std::thread::scope(|scope| {
        let w = scope.spawn(|| writer(&db, &next, &running));
        let _stop = StopOnDrop(&running);
        for _ in 0..3 {
            let mut id = None;
            wait_on(&worker, "a binlog dump thread", || {
                id = live(&dump_threads());
                id.is_some()
            });
            let id = id.unwrap();
            let at = next.load(Ordering::Relaxed);
            db.sql(&format!("KILL {id}"));
            let killed = Instant::now();
            // A new dump thread, and rows flowing again.
            let mut threads = Vec::new();
            wait_on(&worker, "a new binlog dump thread", || {
                threads = dump_threads();
                threads
                    .iter()
                    .any(|(n, c)| *n != id && c.starts_with("Binlog Dump"))
            });
            let reconnected = killed.elapsed();
            wait_until(
                Duration::from_secs(60),
                "rows written after the kill on the topic",
                || {
                    ids_on_topic(broker.bootstrap(), &topic)
                        .0
                        .contains(&(at + 10))
                },
            );
            kills.push(format!(
                "KILL {id} at row {at}: reconnected in {reconnected:?}"
            ));
        }
        running.store(false, Ordering::Relaxed);
        w.join().unwrap();
    });
    let rows = next.load(Ordering::Relaxed) - 1;
    let recovered = wait_for_all_rows(broker.bootstrap(), &topic, rows, Duration::from_secs(120));
    let (ids, records) = ids_on_topic(broker.bootstrap(), &topic);
    let (state, _) = task_status(&worker, name);
    assert_eq!(state, "RUNNING");
    let log = worker.log_text();
    assert!(
        log.contains("source task resumed from its committed offsets"),
        "{log}"
    );
    eprintln!(
        "connection kill report: {kills:?}; {rows} rows, {} distinct on the topic in {records} records, 0 lost, \
         all there {recovered:?} after the writer stopped",
        ids.len()
    );
}
