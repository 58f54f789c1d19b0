//! A MySQL source in a `sluice distributed` cluster under write load, with the worker
//! running its task killed (`kill -9`):
//! - failover (tansu, which expires a killed member after `session.timeout.ms`): the
//!   task runs on another worker within 10 s, and every committed row reaches the topic;
//! - exactly-once (noida-db, whose transactions are right): with
//!   `exactly.once.source.support=enabled` the worker is killed while a transaction is
//!   open and restarted under its `group.instance.id`; its new transactional producer
//!   fences the dead one's, and a `read_committed` consumer sees every row exactly once.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

#[allow(unused_imports)] // common serves every test; this one uses part of it
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::cluster::{call, start_worker};
use common::{wait_until, KafkaBroker, Worker};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use serde_json::{json, Value};
use sluice_testkit::MariaDb;

/// Row id → how many change events (`c` or `r`) carry it, reading `topic` from the
/// start to its end as a consumer with `isolation` (`read_committed` stops at the last
/// stable offset: records of open transactions are not read).
fn row_counts(bootstrap: &str, topic: &str, isolation: &str) -> BTreeMap<u64, usize> {
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("rows-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", isolation)
        .set("fetch.wait.max.ms", "100")
        .create()
        .unwrap();
    let Ok(metadata) = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)) else {
        return BTreeMap::new();
    };
    let partitions: Vec<i32> = metadata
        .topics()
        .first()
        .map(|t| t.partitions().iter().map(|p| p.id()).collect())
        .unwrap_or_default();
    if partitions.is_empty() {
        return BTreeMap::new();
    }
    let mut list = rdkafka::TopicPartitionList::new();
    for p in &partitions {
        list.add_partition_offset(topic, *p, rdkafka::Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&list).unwrap();
    let mut at_end = std::collections::BTreeSet::new();
    let mut counts = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while at_end.len() < partitions.len() && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let Some(v) = m.payload() else { continue };
                let v: Value = serde_json::from_slice(v).unwrap();
                if v["op"] == "c" || v["op"] == "r" {
                    *counts
                        .entry(v["after"]["id"].as_u64().unwrap())
                        .or_default() += 1;
                }
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            None => {}
        }
    }
    counts
}

/// Inserts rows one transaction of 5 at a time until `stop`; counts committed rows.
fn write_rows(db: &MariaDb, stop: &AtomicBool, committed: &AtomicU64) {
    let mut next = committed.load(Ordering::SeqCst) + 1;
    while !stop.load(Ordering::Relaxed) {
        let values: Vec<String> = (next..next + 5).map(|id| format!("({id}, {id})")).collect();
        db.sql(&format!(
            "BEGIN; INSERT INTO inv.t VALUES {}; COMMIT;",
            values.join(",")
        ));
        next += 5;
        committed.store(next - 1, Ordering::SeqCst);
    }
}

fn mysql_connector(db: &MariaDb, prefix: &str, extra: Value) -> Value {
    let mut config = json!({
        "connector.class": "mariadb",
        "database.hostname": db.host(),
        "database.port": db.port().to_string(),
        "database.user": db.user(),
        "database.password": db.password(),
        "database.server.id": "5601",
        "topic.prefix": prefix,
        "table.include.list": "inv\\.t",
        "tasks.max": "1",
        "max.batch.size": "50",
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    config
}

/// The worker id running task 0 of `name`, once RUNNING.
fn task_owner(w: &Worker, name: &str) -> Option<String> {
    let (code, status) = call(w, "GET", &format!("/connectors/{name}/status"), None);
    let task = &status["tasks"][0];
    (code == 200 && task["state"] == "RUNNING")
        .then(|| task["worker_id"].as_str().map(str::to_owned))
        .flatten()
}

fn setup_table(db: &MariaDb, rows: u64) {
    db.sql(&format!(
        "CREATE DATABASE inv; CREATE TABLE inv.t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL);
         INSERT INTO inv.t SELECT seq, seq FROM inv.seq_1_to_{rows};"
    ));
}

fn logs(workers: &[Worker]) -> String {
    workers
        .iter()
        .map(|w| format!("--- {}\n{}", w.port, w.log_text()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_killed_workers_mysql_task_runs_elsewhere_within_10_s_and_loses_no_row() {
    let broker = KafkaBroker::start_tansu();
    let bootstrap = broker.bootstrap().to_owned();
    let db = MariaDb::start();
    setup_table(&db, 100);
    let root = tempfile::tempdir().unwrap();
    let extra = "session.timeout.ms=4000\n";
    let mut workers: Vec<Worker> = (1..=3)
        .map(|n| start_worker(root.path(), n, &bootstrap, "fo", extra))
        .collect();
    let (code, body) = call(
        &workers[0],
        "POST",
        "/connectors",
        Some(&json!({"name": "fo", "config": mysql_connector(&db, "fo", json!({}))})),
    );
    assert_eq!(code, 201, "{body}");
    let topic = "fo.inv.t";
    wait_until(Duration::from_secs(90), "the snapshot's 100 rows", || {
        row_counts(&bootstrap, topic, "read_uncommitted").len() == 100
    });

    let stop = AtomicBool::new(false);
    let committed = AtomicU64::new(100);
    let (failover, owner) = std::thread::scope(|s| {
        s.spawn(|| write_rows(&db, &stop, &committed));
        wait_until(Duration::from_secs(30), "rows streaming", || {
            committed.load(Ordering::SeqCst) > 300
                && row_counts(&bootstrap, topic, "read_uncommitted").len() > 200
        });
        let owner = task_owner(&workers[0], "fo").unwrap();
        let victim = workers
            .iter()
            .position(|w| owner.ends_with(&format!(":{}", w.port)))
            .unwrap();
        let mut dead = workers.remove(victim);
        dead.kill9();
        let killed = Instant::now();
        let mut new_owner = None;
        wait_until(
            Duration::from_secs(60),
            "the task RUNNING on another worker",
            || {
                new_owner = task_owner(&workers[0], "fo").filter(|o| *o != owner);
                new_owner.is_some()
            },
        );
        let failover = killed.elapsed();
        // Rows committed after the failover reach the topic too.
        let after = committed.load(Ordering::SeqCst) + 50;
        wait_until(Duration::from_secs(60), "rows after the failover", || {
            committed.load(Ordering::SeqCst) > after
        });
        stop.store(true, Ordering::SeqCst);
        (failover, new_owner.unwrap())
    });
    let total = committed.load(Ordering::SeqCst);
    let mut counts = BTreeMap::new();
    wait_until(
        Duration::from_secs(90),
        "every committed row on the topic",
        || {
            counts = row_counts(&bootstrap, topic, "read_uncommitted");
            counts.len() as u64 == total
        },
    );
    assert!(
        (1..=total).all(|id| counts.contains_key(&id)),
        "missing rows"
    );
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    println!(
        "failover: task moved to {owner} {:.2} s after kill -9; {total} rows committed, all on the topic, {duplicates} delivered twice (at-least-once)",
        failover.as_secs_f64()
    );
    assert!(
        failover <= Duration::from_secs(10),
        "the task took {failover:?} to run elsewhere\n{}",
        logs(&workers)
    );
}

/// A worker of the exactly-once cluster, restartable under the same identity.
fn eos_worker(root: &Path, bootstrap: &str) -> Worker {
    start_worker(
        root,
        1,
        bootstrap,
        "eos",
        "exactly.once.source.support=enabled\ngroup.instance.id=eos-worker-1\nrebalance.timeout.ms=5000\n",
    )
}

#[test]
fn exactly_once_across_a_kill_9_in_the_middle_of_a_transaction() {
    let broker = KafkaBroker::start();
    let bootstrap = broker.bootstrap().to_owned();
    let db = MariaDb::start();
    setup_table(&db, 100);
    let root = tempfile::tempdir().unwrap();
    let mut worker = eos_worker(root.path(), &bootstrap);
    // Long transactions (3 s), so the kill lands inside one.
    let config = mysql_connector(
        &db,
        "eos",
        json!({
            "exactly.once.support": "required",
            "transaction.boundary": "interval",
            "transaction.boundary.interval.ms": "3000",
        }),
    );
    let (code, body) = call(
        &worker,
        "POST",
        "/connectors",
        Some(&json!({"name": "eos", "config": config})),
    );
    assert_eq!(code, 201, "{body}\n{}", worker.log_text());
    let topic = "eos.inv.t";
    wait_until(
        Duration::from_secs(90),
        "the snapshot's 100 rows committed",
        || row_counts(&bootstrap, topic, "read_committed").len() == 100,
    );

    let stop = AtomicBool::new(false);
    let committed = AtomicU64::new(100);
    let (open_rows, restart) = std::thread::scope(|s| {
        s.spawn(|| write_rows(&db, &stop, &committed));
        // Kill while records are written but their transaction is not committed: a
        // read_uncommitted consumer sees rows a read_committed one does not yet.
        let mut open_rows = 0;
        wait_until(
            Duration::from_secs(60),
            "an open transaction with rows in it",
            || {
                let seen = row_counts(&bootstrap, topic, "read_uncommitted").len();
                let visible = row_counts(&bootstrap, topic, "read_committed").len();
                open_rows = seen.saturating_sub(visible);
                visible > 150 && open_rows > 0
            },
        );
        worker.kill9();
        let killed = Instant::now();
        worker = eos_worker(root.path(), &bootstrap);
        let restart = killed.elapsed();
        let after = committed.load(Ordering::SeqCst) + 100;
        wait_until(
            Duration::from_secs(60),
            "rows written after the restart",
            || committed.load(Ordering::SeqCst) > after,
        );
        stop.store(true, Ordering::SeqCst);
        (open_rows, restart)
    });
    let total = committed.load(Ordering::SeqCst);
    let mut counts = BTreeMap::new();
    wait_until(
        Duration::from_secs(90),
        "every committed row visible to read_committed",
        || {
            counts = row_counts(&bootstrap, topic, "read_committed");
            counts.len() as u64 == total
        },
    );
    let twice: Vec<(&u64, &usize)> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "rows not seen exactly once by read_committed: {twice:?}\n{}",
        worker.log_text()
    );
    let uncommitted = row_counts(&bootstrap, topic, "read_uncommitted");
    let aborted: usize = uncommitted.values().sum::<usize>() - total as usize;
    println!(
        "exactly-once: killed with {open_rows} rows in an open transaction, restarted in {:.2} s; {total} rows, each once under read_committed; {aborted} records of aborted transactions in the log",
        restart.as_secs_f64()
    );
    assert!(
        worker.log_text().contains("source task started"),
        "{}",
        worker.log_text()
    );
}
