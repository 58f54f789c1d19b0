//! Helpers of the REST lifecycle tests: calls with Kafka Connect's error bodies, a
//! topic reader, a broker + worker without connectors, file source configs, and waits
//! on connector states.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{json, Value};

use super::*;

pub fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Kafka Connect's error body.
pub fn error(code: u16, message: &str) -> (u16, String) {
    (
        code,
        json!({"error_code": code, "message": message}).to_string(),
    )
}

pub fn call(w: &Worker, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let text = body.map(Value::to_string);
    w.request(method, path, text.as_deref())
}

/// A call expected to answer `code` with a JSON body.
pub fn call_json(w: &Worker, method: &str, path: &str, body: Option<&Value>, code: u16) -> Value {
    let (status, text) = call(w, method, path, body);
    assert_eq!(status, code, "{method} {path}: {text}");
    parse(&text)
}

/// Reads a topic's record values from the beginning, in order.
pub struct TopicReader {
    consumer: BaseConsumer,
    values: Vec<String>,
}

impl TopicReader {
    /// Waits until `topic` exists, then reads it from the start.
    pub fn open(bootstrap: &str, topic: &str) -> TopicReader {
        let consumer = test_consumer(bootstrap, topic);
        let mut partitions = Vec::new();
        wait_until(Duration::from_secs(60), &format!("topic {topic}"), || {
            partitions = consumer
                .fetch_metadata(Some(topic), Duration::from_secs(5))
                .ok()
                .and_then(|m| {
                    m.topics()
                        .first()
                        .map(|t| t.partitions().iter().map(|p| p.id()).collect())
                })
                .unwrap_or_default();
            !partitions.is_empty()
        });
        let mut tpl = TopicPartitionList::new();
        for p in partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&tpl).unwrap();
        TopicReader {
            consumer,
            values: Vec::new(),
        }
    }

    fn poll_once(&mut self) {
        if let Some(m) = self.consumer.poll(Duration::from_millis(100)) {
            let m = m.unwrap();
            let v = m.payload().map(|p| String::from_utf8_lossy(p).into_owned());
            self.values.push(v.unwrap_or_default());
        }
    }

    /// Reads until `n` values in total were seen.
    pub fn until(&mut self, n: usize) -> &[String] {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.values.len() < n {
            assert!(
                Instant::now() < deadline,
                "{} of {n} records in 60 s: {:?}",
                self.values.len(),
                self.values
            );
            self.poll_once();
        }
        &self.values
    }

    /// Reads for `window`; the count must not grow past `n` (a connector that may not
    /// produce can only be shown not producing over a window of time).
    pub fn stays_at(&mut self, n: usize, window: Duration) {
        let end = Instant::now() + window;
        while Instant::now() < end {
            self.poll_once();
            assert!(
                self.values.len() <= n,
                "records arrived while they must not: {:?}",
                &self.values[n.min(self.values.len())..]
            );
        }
        assert_eq!(self.values.len(), n, "{:?}", self.values);
    }
}

pub fn append(path: &Path, lines: impl IntoIterator<Item = String>) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

pub fn lines(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|i| format!("line-{i}")).collect()
}

pub struct Setup {
    pub broker: KafkaBroker,
    pub _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub worker: Worker,
}

/// A broker and a worker started without connectors.
pub fn setup() -> Setup {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    let port = free_port();
    worker_properties(&dir, broker.bootstrap(), port, "");
    let worker = Worker::start(&dir, port, &[]);
    Setup {
        broker,
        _tmp: tmp,
        dir,
        worker,
    }
}

/// A file source config writing the file's lines as plain strings to `topic`.
pub fn file_source(file: &Path, topic: &str) -> Value {
    json!({
        "connector.class": "FileStreamSource",
        "tasks.max": "1",
        "file": file.display().to_string(),
        "topic": topic,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
    })
}

pub fn worker_id(w: &Worker) -> String {
    format!("127.0.0.1:{}", w.port)
}

/// Waits until the connector and each of its `tasks` tasks show `state`, and returns
/// the status body.
pub fn wait_state(w: &Worker, name: &str, state: &str, tasks: usize) -> Value {
    let mut last = Value::Null;
    wait_until(
        Duration::from_secs(60),
        &format!("{name} {state} with {tasks} task(s)"),
        || {
            let (code, body) = w.get(&format!("/connectors/{name}/status"));
            last = if code == 200 {
                parse(&body)
            } else {
                Value::Null
            };
            let t = last["tasks"].as_array().map_or(usize::MAX, Vec::len);
            last["connector"]["state"] == state
                && t == tasks
                && last["tasks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|t| t["state"] == state)
        },
    );
    last
}

pub fn status_body(w: &Worker, name: &str, state: &str, tasks: &[&str]) -> Value {
    let id = worker_id(w);
    let tasks: Vec<Value> = tasks
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"id": i, "state": s, "worker_id": id}))
        .collect();
    json!({
        "name": name,
        "connector": {"state": state, "worker_id": id},
        "tasks": tasks,
        "type": "source",
    })
}

/// [`wait_until`], but a timeout shows every connector's status and the worker's log.
pub fn wait_on(w: &Worker, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        if Instant::now() >= deadline {
            let status = w.get("/connectors?expand=status").1;
            let log = w.log_text();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "timed out after 60 s waiting for {what}\nstatus: {status}\nlog:\n{}",
                tail.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn line_count(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}
