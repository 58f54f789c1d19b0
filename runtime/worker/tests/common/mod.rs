//! Shared by the worker's integration tests: running the `sluice` binary against a
//! real broker, a minimal HTTP client for the REST API, and Kafka reads.

#![allow(dead_code, clippy::unwrap_used)]

pub mod all_types;
pub mod cluster;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

pub use sluice_testkit::{free_port, wait_until, KafkaBroker};

pub mod rest;

/// A `sluice standalone` process with its files in a temp dir.
pub struct Worker {
    pub dir: PathBuf,
    pub port: u16,
    pub child: Option<Child>,
    pub log: PathBuf,
}

/// The `sluice` binary under test: `$SLUICE_TEST_BIN` when set (a copy that a concurrent
/// build of a shared target directory cannot replace mid-test), else Cargo's.
pub fn sluice_bin() -> PathBuf {
    std::env::var_os("SLUICE_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sluice")))
}

/// Writes `name` in `dir` with `text`.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A standalone worker config for `bootstrap` with offsets in `dir`.
pub fn worker_properties(dir: &Path, bootstrap: &str, port: u16, extra: &str) -> PathBuf {
    write(
        dir,
        "worker.properties",
        &format!(
            "bootstrap.servers={bootstrap}\n\
             key.converter=org.apache.kafka.connect.json.JsonConverter\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\n\
             key.converter.schemas.enable=true\n\
             value.converter.schemas.enable=true\n\
             offset.storage.file.filename={}\n\
             offset.flush.interval.ms=200\n\
             listeners=http://127.0.0.1:{port}\n{extra}",
            dir.join("connect.offsets").display()
        ),
    )
}

/// A worker config like [`worker_properties`], writing JSON without schemas (smaller records).
pub fn schemaless_worker_properties(dir: &Path, bootstrap: &str, port: u16) -> PathBuf {
    worker_properties(
        dir,
        bootstrap,
        port,
        "key.converter.schemas.enable=false\nvalue.converter.schemas.enable=false\n",
    )
}

/// The stored offset of the first source partition in the worker's offsets file, if any.
pub fn stored_offset(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("connect.offsets")).ok()?;
    let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
    doc["offsets"].as_array()?.first().map(|e| e[1].clone())
}

/// A consumer for reading a topic back in tests, with fetch limits high enough for
/// brokers that ignore `fetch.max.bytes`; `group` names its (uncommitted) group.
pub fn test_consumer(bootstrap: &str, group: &str) -> rdkafka::consumer::BaseConsumer {
    rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("{group}-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("receive.message.max.bytes", "1000000000")
        .set("fetch.max.bytes", "524288000")
        .set("max.partition.fetch.bytes", "104857600")
        .set("fetch.wait.max.ms", "100")
        .create()
        .unwrap()
}

/// Runs `sluice` with `args` to completion, returning its status and stderr.
pub fn run_to_end(args: &[&Path]) -> (ExitStatus, String) {
    let out = Command::new(sluice_bin())
        .arg("standalone")
        .args(args)
        .env("SLUICE_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Worker {
    /// Starts `sluice standalone worker.properties <connectors>` and waits for the REST API.
    pub fn start(dir: &Path, port: u16, connectors: &[PathBuf]) -> Worker {
        Worker::start_with(dir, port, "worker.properties", connectors)
    }

    /// Starts `sluice standalone <worker_file> <connectors>` with `dir` as its working
    /// directory (relative file names in the configs land there).
    pub fn start_with(dir: &Path, port: u16, worker_file: &str, connectors: &[PathBuf]) -> Worker {
        let log = dir.join(format!(
            "sluice-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let child = Command::new(sluice_bin())
            .current_dir(dir)
            .arg("standalone")
            .arg(worker_file)
            .args(connectors)
            .env("SLUICE_LOG", "info,sluice_worker=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut w = Worker {
            dir: dir.to_owned(),
            port,
            child: Some(child),
            log,
        };
        let log_path = w.log.clone();
        wait_until(
            Duration::from_secs(30),
            &format!(
                "sluice REST API on port {port} (log {})",
                log_path.display()
            ),
            || {
                if let Some(Ok(Some(status))) = w.child.as_mut().map(|c| c.try_wait()) {
                    panic!(
                        "sluice exited early with {status}:\n{}",
                        std::fs::read_to_string(&log_path).unwrap_or_default()
                    );
                }
                http(port, "GET", "/", None).is_some()
            },
        );
        w
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut c = self.child.take().expect("running");
        Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status()
            .unwrap();
        let mut status = None;
        wait_until(
            Duration::from_secs(30),
            "sluice to exit after SIGTERM",
            || {
                status = c.try_wait().unwrap();
                status.is_some()
            },
        );
        status.unwrap()
    }

    /// The worker's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET `path` → (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http(self.port, "GET", path, None).unwrap()
    }

    /// A request with an optional JSON body → (status, body).
    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        http(self.port, method, path, body).unwrap()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A tiny HTTP/1.1 client: `None` when nothing listens.
pub fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status: u16 = text.split_whitespace().nth(1)?.parse().ok()?;
    let (head, rest) = text.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Some((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
