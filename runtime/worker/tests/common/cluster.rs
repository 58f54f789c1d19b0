//! `sluice distributed` worker processes for the distributed-mode tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{free_port, http, wait_until, Worker};

/// Starts distributed worker `n` of group `group` (its files under `root/worker-<n>`),
/// with `extra` appended to its properties, and waits for its REST API.
pub fn start_worker(root: &Path, n: usize, bootstrap: &str, group: &str, extra: &str) -> Worker {
    let dir = root.join(format!("worker-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    super::write(
        &dir,
        "worker.properties",
        &format!(
            "bootstrap.servers={bootstrap}\n\
             group.id={group}\n\
             config.storage.topic={group}-configs\n\
             offset.storage.topic={group}-offsets\n\
             status.storage.topic={group}-status\n\
             config.storage.replication.factor=1\n\
             offset.storage.replication.factor=1\n\
             status.storage.replication.factor=1\n\
             offset.storage.partitions=3\n\
             status.storage.partitions=2\n\
             heartbeat.interval.ms=1000\n\
             offset.flush.interval.ms=500\n\
             key.converter.schemas.enable=false\n\
             value.converter.schemas.enable=false\n\
             listeners=http://127.0.0.1:{port}\n{extra}"
        ),
    );
    let (child, log) = spawn(&dir);
    let mut w = Worker {
        dir,
        port,
        child: Some(child),
        log,
    };
    wait_until(
        Duration::from_secs(60),
        &format!("worker {n}'s REST API"),
        || {
            if let Some(Ok(Some(status))) = w.child.as_mut().map(|c| c.try_wait()) {
                panic!("worker {n} exited with {status}:\n{}", w.log_text());
            }
            http(port, "GET", "/", None).is_some()
        },
    );
    w
}

/// Runs `sluice distributed worker.properties` in `dir`, logging to `dir/sluice.log`.
pub fn spawn(dir: &Path) -> (Child, PathBuf) {
    let log = dir.join("sluice.log");
    let child = Command::new(super::sluice_bin())
        .current_dir(dir)
        .arg("distributed")
        .arg("worker.properties")
        .env("SLUICE_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    (child, log)
}

/// A request that a client retries while the cluster answers 409 (a rebalance or no
/// leader yet), as Kafka Connect clients must; the first other answer, as JSON.
pub fn call(w: &Worker, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let body = body.map(Value::to_string);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = http(w.port, method, path, body.as_deref());
        match reply {
            Some((409, text)) if Instant::now() < deadline && text.contains("rebalance") => {}
            Some((code, text)) => {
                return (
                    code,
                    serde_json::from_str(&text).unwrap_or(Value::String(text)),
                )
            }
            None => panic!("worker on port {} does not answer {method} {path}", w.port),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every record value of partition 0 of `topic`, as text.
pub fn topic_values(bootstrap: &str, topic: &str) -> Vec<String> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    let consumer: BaseConsumer = super::test_consumer(bootstrap, "values");
    let Ok((_, high)) = consumer.fetch_watermarks(topic, 0, Duration::from_secs(5)) else {
        return Vec::new();
    };
    if high == 0 {
        return Vec::new();
    }
    let mut list = rdkafka::TopicPartitionList::new();
    list.add_partition_offset(topic, 0, rdkafka::Offset::Beginning)
        .unwrap();
    consumer.assign(&list).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            out.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
            if m.offset() + 1 >= high {
                break;
            }
        }
    }
    out
}
