//! `GET /metrics` of a standalone worker, read as Prometheus reads it: a file source and
//! a file sink through a real broker are counted per connector and task (records
//! polled, acknowledged, read, put; batch sizes; offset commits; lag; task states), a
//! MySQL source against a real MariaDB shows its lag behind the binlog and its
//! streaming progress, and the task's log lines carry its connector and task.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use sluice_testkit::MariaDb;

/// One sample of the page.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The page, parsed: samples, and each family's TYPE.
#[derive(Debug, Default)]
struct Page {
    samples: Vec<Sample>,
    types: BTreeMap<String, String>,
}

impl Page {
    /// Parses the text format; panics on a line it does not understand, on a sample
    /// whose family has no TYPE line before it, and on a family declared twice.
    fn parse(text: &str) -> Page {
        let mut page = Page::default();
        for line in text.lines().filter(|l| !l.is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(
                    page.types.insert(name.into(), kind.into()).is_none(),
                    "family {name} declared twice"
                );
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            let (name, labels, value) = match line.split_once('{') {
                Some((name, rest)) => {
                    let (labels, value) = rest.rsplit_once("} ").unwrap();
                    (name, parse_labels(labels), value)
                }
                None => {
                    let (name, value) = line.split_once(' ').unwrap();
                    (name, BTreeMap::new(), value)
                }
            };
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or_else(|e| panic!("{line}: {e}")),
            };
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|f| page.types.get(*f).map(String::as_str) == Some("histogram"))
                })
                .unwrap_or(name);
            assert!(
                page.types.contains_key(family),
                "sample {name} has no TYPE line before it"
            );
            page.samples.push(Sample {
                name: name.into(),
                labels,
                value,
            });
        }
        page
    }

    /// The value of `name` with exactly these labels.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
    }

    /// The value of `name` for task `task` of `connector`.
    fn task(&self, name: &str, connector: &str, task: &str) -> Option<f64> {
        self.get(name, &[("connector", connector), ("task", task)])
    }
}

/// `k="v",…` with `\\`, `\"` and `\n` escapes.
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            return out;
        }
        assert_eq!(chars.next(), Some('"'), "label {key} in {text}");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => panic!("dangling escape in {text}"),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        out.insert(key.trim_start_matches(',').to_owned(), value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
}

/// `GET /metrics` → (status, content type, parsed page).
fn scrape(port: u16) -> (u16, String, Page) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let text = String::from_utf8(resp).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "the page is sent whole"
    );
    (status, content_type, Page::parse(body))
}

fn page(port: u16) -> Page {
    let (status, content_type, page) = scrape(port);
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    page
}

const LINES: usize = 2_500;

#[test]
fn file_source_and_sink_are_counted_per_connector_and_task() {
    let broker = KafkaBroker::start();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let input: String = (1..=LINES).map(|i| format!("line {i}\n")).collect();
    let input_path = write(dir, "input.txt", &input);
    let output_path = dir.join("output.txt");
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let topic = format!("metrics-lines-{port}");
    let source = write(
        dir,
        "source.properties",
        &format!(
            "name=metrics-source\nconnector.class=FileStreamSource\ntasks.max=1\nfile={}\ntopic={topic}\nbatch.size=100\n",
            input_path.display()
        ),
    );
    let sink = write(
        dir,
        "sink.properties",
        &format!(
            "name=metrics-sink\nconnector.class=FileStreamSink\ntasks.max=1\nfile={}\ntopics={topic}\n",
            output_path.display()
        ),
    );
    let worker = Worker::start(dir, port, &[source, sink]);

    let n = LINES as f64;
    let mut last = Page::default();
    wait_until(
        Duration::from_secs(120),
        "every line acknowledged, put into the sink, and both tasks' offsets committed",
        || {
            last = page(port);
            let src = |m| last.task(m, "metrics-source", "0");
            let snk = |m| last.task(m, "metrics-sink", "0");
            src("source_record_write_total") == Some(n)
                && snk("sink_record_send_total") == Some(n)
                && src("offset_commit_success_total").is_some_and(|c| c >= 1.0)
                && snk("offset_commit_success_total").is_some_and(|c| c >= 1.0)
        },
    );
    let p = page(port);
    let src = |m| p.task(m, "metrics-source", "0");
    let snk = |m| p.task(m, "metrics-sink", "0");
    assert_eq!(src("source_record_poll_total"), Some(n));
    assert_eq!(src("source_record_active_count"), Some(0.0));
    assert_eq!(src("offset_commit_failure_total"), Some(0.0));
    let lag = src("source_record_lag_ms").expect("a lag for the source task");
    assert!((0.0..60_000.0).contains(&lag), "lag {lag}");
    assert!(src("offset_commit_last_success_timestamp_ms").is_some());
    // Batches of at most `batch.size` records: every poll falls in the le=100 bucket.
    let polls = src("poll_batch_size_count").unwrap();
    assert!(polls >= n / 100.0, "{polls} polls");
    assert_eq!(src("poll_batch_size_sum"), Some(n));
    let le100 = p.get(
        "poll_batch_size_bucket",
        &[
            ("connector", "metrics-source"),
            ("task", "0"),
            ("le", "100"),
        ],
    );
    assert_eq!(le100, Some(polls));
    let inf = p.get(
        "poll_batch_size_bucket",
        &[
            ("connector", "metrics-source"),
            ("task", "0"),
            ("le", "+Inf"),
        ],
    );
    assert_eq!(inf, Some(polls));

    assert_eq!(snk("sink_record_read_total"), Some(n));
    assert_eq!(snk("put_batch_size_sum"), Some(n));
    assert!(snk("sink_record_lag_ms").is_some());
    for c in ["metrics-source", "metrics-sink"] {
        assert_eq!(p.task("total_record_failure_total", c, "0"), Some(0.0));
        assert_eq!(
            p.task("deadletterqueue_produce_requests_total", c, "0"),
            Some(0.0)
        );
        let running = p.get(
            "connector_task_status",
            &[("connector", c), ("task", "0"), ("state", "running")],
        );
        assert_eq!(running, Some(1.0), "{c} task running");
        let failed = p.get(
            "connector_task_status",
            &[("connector", c), ("task", "0"), ("state", "failed")],
        );
        assert_eq!(failed, Some(0.0));
        let connector_running = p.get(
            "connector_status",
            &[("connector", c), ("state", "running")],
        );
        assert_eq!(connector_running, Some(1.0));
    }
    assert_eq!(p.get("connector_count", &[]), Some(2.0));
    assert_eq!(p.get("task_count", &[]), Some(2.0));
    assert_eq!(p.get("worker_rebalance_total", &[]), Some(0.0));
    assert!(p.get("process_resident_memory_bytes", &[]).unwrap() > 1e6);
    assert!(p.get("process_cpu_seconds_total", &[]).is_some());
    assert_eq!(p.types["source_record_write_total"], "counter");
    assert_eq!(p.types["source_record_active_count"], "gauge");
    assert_eq!(p.types["poll_batch_size"], "histogram");

    // A restarted task goes on counting; a paused one shows PAUSED.
    let (code, body) = worker.request("POST", "/connectors/metrics-sink/tasks/0/restart", None);
    assert_eq!(code, 204, "{body}");
    let (code, body) = worker.request("PUT", "/connectors/metrics-source/pause", None);
    assert_eq!(code, 202, "{body}");
    wait_until(Duration::from_secs(30), "the paused source task", || {
        let p = page(port);
        p.get(
            "connector_task_status",
            &[
                ("connector", "metrics-source"),
                ("task", "0"),
                ("state", "paused"),
            ],
        ) == Some(1.0)
            && p.task("source_record_write_total", "metrics-source", "0") == Some(n)
            && p.task("sink_record_send_total", "metrics-sink", "0") == Some(n)
    });

    // Deleting a connector drops its series.
    let (code, body) = worker.request("DELETE", "/connectors/metrics-sink", None);
    assert_eq!(code, 204, "{body}");
    let p = page(port);
    assert_eq!(p.task("sink_record_send_total", "metrics-sink", "0"), None);
    assert_eq!(p.get("connector_count", &[]), Some(1.0));

    let log = worker.log_text();
    let started = log
        .lines()
        .find(|l| l.contains("source task started"))
        .unwrap_or_else(|| panic!("no start line in the log:\n{log}"));
    assert!(
        started.contains("connector=metrics-source") && started.contains("task=0"),
        "{started}"
    );
}

#[test]
fn mysql_source_shows_its_lag_behind_the_binlog() {
    let broker = KafkaBroker::start();
    let db = MariaDb::start();
    db.sql(
        "CREATE DATABASE lagdb; CREATE TABLE lagdb.t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO lagdb.t SELECT seq, 'snap' FROM lagdb.seq_1_to_300;",
    );
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let port = free_port();
    schemaless_worker_properties(dir, broker.bootstrap(), port);
    let connector = write(
        dir,
        "mysql.json",
        &format!(
            r#"{{"name": "lag", "config": {{
                "connector.class": "io.debezium.connector.mysql.MySqlConnector",
                "database.hostname": "{}", "database.port": "{}",
                "database.user": "{}", "database.password": "{}",
                "database.server.id": "5601", "topic.prefix": "lag",
                "table.include.list": "lagdb\\.t"}}}}"#,
            db.host(),
            db.port(),
            db.user(),
            db.password()
        ),
    );
    let worker = Worker::start(dir, port, &[connector]);
    wait_until(Duration::from_secs(90), "the snapshot acknowledged", || {
        page(port).task("source_record_write_total", "lag", "0") == Some(300.0)
    });
    db.sql("INSERT INTO lagdb.t SELECT seq, 'streamed' FROM lagdb.seq_301_to_400;");
    let mut last = Page::default();
    wait_until(
        Duration::from_secs(90),
        "the streamed rows acknowledged and counted as streamed",
        || {
            last = page(port);
            last.task("source_record_write_total", "lag", "0") == Some(400.0)
                && last
                    .task("streaming_total_number_of_events_seen", "lag", "0")
                    .is_some_and(|n| n >= 100.0)
        },
    );
    let lag = last.task("source_record_lag_ms", "lag", "0").unwrap();
    // Binlog event times have one-second resolution.
    assert!((0.0..30_000.0).contains(&lag), "lag {lag} ms");
    assert_eq!(last.task("snapshot_running", "lag", "0"), Some(0.0));
    assert_eq!(
        last.task("source_record_poll_total", "lag", "0"),
        Some(400.0)
    );
    drop(worker);
}
