//! An existing Kafka Connect REST client from PyPI (`kafka-connect-py`, pinned in
//! `scripts/test-env.sh`) drives a standalone worker, and one worker of a 3-worker
//! distributed cluster, unchanged. The checks are in `kafka_connect_py.py`; this starts
//! the broker and the workers and runs it.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// The test venv's Python (`scripts/test-env.sh`), else `python3` on `$PATH`.
fn python() -> PathBuf {
    let env_dir = std::env::var_os("SLUICE_ENV_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-env"));
    let venv = env_dir.join("venv/bin/python3");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Runs the checks against `url`; panics with the output and `log` when one fails.
fn run_checks(url: &str, input: &Path, topic: &str, distributed: bool, log: impl Fn() -> String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kafka_connect_py.py");
    let python = python();
    let mut command = Command::new(&python);
    command.arg(&script).arg(url).arg(input).arg(topic);
    if distributed {
        command.arg("distributed");
    }
    let output = command.output().unwrap_or_else(|e| {
        panic!(
            "running {} (run `eval \"$(scripts/test-env.sh)\"` first): {e}",
            python.display()
        )
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} {} failed ({}):\n{stdout}\n{stderr}\nworker logs:\n{}",
        python.display(),
        script.display(),
        output.status,
        log()
    );
    assert!(stdout.contains("all checks passed"), "{stdout}\n{stderr}");
}

#[test]
fn kafka_connect_py_drives_the_rest_api() {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let input = write(dir, "input.txt", "one\ntwo\nthree\n");
    let mut worker = Worker::start(dir, port, &[]);
    run_checks(
        &format!("http://127.0.0.1:{port}"),
        &input,
        &format!("py-lines-{port}"),
        false,
        || worker.log_text(),
    );
    let exit = worker.terminate();
    assert!(exit.success(), "SIGTERM exits 0: {exit}");
}

#[test]
fn kafka_connect_py_drives_a_distributed_cluster() {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let input = write(tmp.path(), "input.txt", "one\ntwo\nthree\n");
    let workers: Vec<Worker> = (1..=3)
        .map(|n| {
            cluster::start_worker(
                tmp.path(),
                n,
                broker.bootstrap(),
                "py-cluster",
                "rebalance.timeout.ms=5000\n",
            )
        })
        .collect();
    // The last worker to join: most likely a follower, so writes are forwarded.
    let port = workers[2].port;
    run_checks(
        &format!("http://127.0.0.1:{port}"),
        &input,
        &format!("py-lines-{port}"),
        true,
        || {
            workers
                .iter()
                .map(Worker::log_text)
                .collect::<Vec<_>>()
                .join("\n----\n")
        },
    );
}
