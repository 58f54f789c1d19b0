//! `sluice distributed` worker processes on loopback against tansu (which expires killed
//! group members): a connector created through one worker spreads its tasks over all,
//! a `kill -9`ed worker's tasks run elsewhere within 10 s, and a worker joining later
//! takes only its share (the tasks that move are counted in the workers' logs).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[allow(unused_imports)] // common serves every test; this one uses part of it
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{http, wait_until, KafkaBroker, Worker};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use serde_json::Value;

const TASKS: usize = 6;

fn start_worker(root: &Path, n: usize, bootstrap: &str) -> Worker {
    start_worker_with(root, n, bootstrap, "session.timeout.ms=4000\n")
}

/// A worker whose properties end with `extra`.
fn start_worker_with(root: &Path, n: usize, bootstrap: &str, extra: &str) -> Worker {
    common::cluster::start_worker(root, n, bootstrap, "dist-test", extra)
}

/// Task number → worker id, for tasks the status shows RUNNING.
fn running_tasks(w: &Worker) -> BTreeMap<u64, String> {
    let Some((200, body)) = http(w.port, "GET", "/connectors/spread/status", None) else {
        return BTreeMap::new();
    };
    let status: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    status["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["state"] == "RUNNING")
        .filter_map(|t| Some((t["id"].as_u64()?, t["worker_id"].as_str()?.to_owned())))
        .collect()
}

fn loads(tasks: &BTreeMap<u64, String>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for w in tasks.values() {
        *out.entry(w.clone()).or_default() += 1;
    }
    out
}

fn count(w: &Worker, what: &str) -> usize {
    w.log_text().lines().filter(|l| l.contains(what)).count()
}

fn worker_id(w: &Worker) -> String {
    format!("127.0.0.1:{}", w.port)
}

#[test]
fn tasks_spread_fail_over_and_rebalance_incrementally() {
    let broker = KafkaBroker::start_tansu();
    let bootstrap = broker.bootstrap().to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .create()
            .unwrap();
        admin
            .create_topics(
                [&NewTopic::new("spread-in", 1, TopicReplication::Fixed(1))],
                &AdminOptions::new(),
            )
            .await
            .unwrap();
    });
    let root = tempfile::tempdir().unwrap();
    let w1 = start_worker(root.path(), 1, &bootstrap);
    let w2 = start_worker(root.path(), 2, &bootstrap);
    let mut w3 = start_worker(root.path(), 3, &bootstrap);

    let body = serde_json::json!({
        "name": "spread",
        "config": {
            "connector.class": "FileStreamSink",
            "tasks.max": TASKS.to_string(),
            "topics": "spread-in",
            "file": root.path().join("out.txt").display().to_string(),
        }
    })
    .to_string();
    // Through a worker that may not lead: followers forward to the leader.
    let mut created = None;
    wait_until(Duration::from_secs(30), "the connector created", || {
        created = http(w2.port, "POST", "/connectors", Some(&body));
        matches!(created, Some((201, _)))
    });

    let mut tasks = BTreeMap::new();
    wait_until(
        Duration::from_secs(60),
        "6 tasks RUNNING, 2 on each worker",
        || {
            tasks = running_tasks(&w1);
            tasks.len() == TASKS && loads(&tasks).values().all(|n| *n == 2)
        },
    );
    assert_eq!(loads(&tasks).len(), 3, "{tasks:?}");
    // Every worker shows the same status.
    wait_until(
        Duration::from_secs(30),
        "the same status on every worker",
        || running_tasks(&w2) == tasks && running_tasks(&w3) == tasks,
    );

    // kill -9 worker 3: its two tasks must run elsewhere within 10 s.
    let dead = worker_id(&w3);
    w3.kill9();
    let killed_at = Instant::now();
    wait_until(
        Duration::from_secs(30),
        "worker 3's tasks running elsewhere",
        || {
            tasks = running_tasks(&w1);
            tasks.len() == TASKS && !tasks.values().any(|w| *w == dead)
        },
    );
    let failover = killed_at.elapsed();
    println!(
        "failover: worker 3's tasks RUNNING on other workers {:.1} s after kill -9 (session.timeout.ms=4000, tansu)",
        failover.as_secs_f64()
    );
    assert!(
        failover < Duration::from_secs(10),
        "failover took {failover:?}"
    );
    assert_eq!(
        loads(&tasks).values().copied().collect::<Vec<_>>(),
        vec![3, 3]
    );

    // A new worker joins: 3+3 becomes 2+2+2, so exactly two tasks stop and start.
    let before = tasks.clone();
    let stops_before = count(&w1, "assigned task stopped") + count(&w2, "assigned task stopped");
    let starts_before = count(&w1, "assigned task started") + count(&w2, "assigned task started");
    let w4 = start_worker(root.path(), 4, &bootstrap);
    wait_until(
        Duration::from_secs(60),
        "6 tasks over 3 workers again",
        || {
            tasks = running_tasks(&w1);
            tasks.len() == TASKS
                && loads(&tasks).len() == 3
                && loads(&tasks).values().all(|n| *n == 2)
        },
    );
    let moved = tasks
        .iter()
        .filter(|(t, w)| before.get(t) != Some(w))
        .count();
    let stops =
        count(&w1, "assigned task stopped") + count(&w2, "assigned task stopped") - stops_before;
    let restarts =
        count(&w1, "assigned task started") + count(&w2, "assigned task started") - starts_before;
    let started_on_new = count(&w4, "assigned task started");
    for (n, w) in [(1, &w1), (2, &w2), (4, &w4)] {
        for line in w.log_text().lines().filter(|l| {
            l.contains("assigned task") || l.contains("joined the group") || l.contains("WARN")
        }) {
            println!("worker {n}: {line}");
        }
    }
    println!("4th worker joined: {moved} tasks moved, {stops} stops and {restarts} starts on the old workers, {started_on_new} starts on the new one");
    assert_eq!(moved, 2);
    assert_eq!(stops, 2, "only the moved tasks stop");
    assert_eq!(restarts, 0, "nothing else restarts");
    assert_eq!(started_on_new, 2);

    // Deleting through any worker stops every task everywhere.
    let stopped_before: usize = [&w1, &w2, &w4]
        .iter()
        .map(|w| count(w, "assigned task stopped"))
        .sum();
    assert_eq!(
        http(w4.port, "DELETE", "/connectors/spread", None).map(|r| r.0),
        Some(204)
    );
    wait_until(
        Duration::from_secs(30),
        "all 6 tasks stopped after the delete",
        || {
            let stopped: usize = [&w1, &w2, &w4]
                .iter()
                .map(|w| count(w, "assigned task stopped"))
                .sum();
            stopped - stopped_before == TASKS
        },
    );
    for w in [&w1, &w2, &w4] {
        assert_eq!(
            http(w.port, "GET", "/connectors/spread", None).map(|r| r.0),
            Some(404)
        );
    }
    drop(w4);
}

#[test]
fn a_source_task_resumes_on_another_worker_from_the_offset_topic() {
    let broker = KafkaBroker::start();
    let bootstrap = broker.bootstrap().to_owned();
    let root = tempfile::tempdir().unwrap();
    let input = root.path().join("in.txt");
    std::fs::write(&input, "a\nb\nc\n").unwrap();
    // noida-db, like Apache Kafka, refuses session timeouts under 6 s.
    let mut first = start_worker_with(root.path(), 1, &bootstrap, "");
    let body = serde_json::json!({
        "name": "src",
        "config": {
            "connector.class": "FileStreamSource",
            "file": input.display().to_string(),
            "topic": "src-out",
        }
    })
    .to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let created = http(first.port, "POST", "/connectors", Some(&body));
        if matches!(created, Some((201, _))) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the source connector was not created: {created:?}\n{}",
            first.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let expect =
        |lines: &[&str]| -> Vec<String> { lines.iter().map(|l| format!("\"{l}\"")).collect() };
    wait_until(Duration::from_secs(60), "3 lines on src-out", || {
        common::cluster::topic_values(&bootstrap, "src-out") == expect(&["a", "b", "c"])
    });
    // The offset is in the offset topic in Kafka Connect's key format (read back raw).
    let key = serde_json::json!(["src", {"filename": input.display().to_string()}]).to_string();
    wait_until(
        Duration::from_secs(30),
        "the offset committed to dist-test-offsets",
        || {
            use rdkafka::consumer::{BaseConsumer, Consumer};
            use rdkafka::message::Message;
            let consumer: BaseConsumer = common::test_consumer(&bootstrap, "offsets");
            let mut list = rdkafka::TopicPartitionList::new();
            for p in 0..3 {
                list.add_partition_offset("dist-test-offsets", p, rdkafka::Offset::Beginning)
                    .unwrap();
            }
            consumer.assign(&list).unwrap();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                    if m.key() == Some(key.as_bytes())
                        && m.payload() == Some(br#"{"position":6}"#.as_slice())
                    {
                        return true;
                    }
                }
            }
            false
        },
    );
    assert!(first.terminate().success(), "{}", first.log_text());

    // Another worker process (no local state) resumes after what the first committed.
    std::fs::write(&input, "a\nb\nc\nd\ne\n").unwrap();
    let second = start_worker_with(root.path(), 2, &bootstrap, "");
    wait_until(
        Duration::from_secs(60),
        "5 lines on src-out, none twice",
        || {
            let values = common::cluster::topic_values(&bootstrap, "src-out");
            assert!(
                values.len() <= 5,
                "duplicates: {values:?}\n{}",
                second.log_text()
            );
            values == expect(&["a", "b", "c", "d", "e"])
        },
    );
}
