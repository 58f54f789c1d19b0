//! An existing Kafka Connect REST client from PyPI (`kafka-connect-py`, pinned in
//! `scripts/test-env.sh`) drives a standalone worker unchanged. The checks are in
//! `kafka_connect_py.py`; this starts the broker and the worker and runs it.

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

#[test]
fn kafka_connect_py_drives_the_rest_api() {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let input = write(dir, "input.txt", "one\ntwo\nthree\n");
    let mut worker = Worker::start(dir, port, &[]);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kafka_connect_py.py");
    let python = python();
    let output = Command::new(&python)
        .arg(&script)
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(&input)
        .arg(format!("py-lines-{port}"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "running {} (run `eval \"$(scripts/test-env.sh)\"` first): {e}",
                python.display()
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} {} failed ({}):\n{stdout}\n{stderr}\nworker log:\n{}",
        python.display(),
        script.display(),
        output.status,
        worker.log_text()
    );
    assert!(stdout.contains("all checks passed"), "{stdout}\n{stderr}");
    let exit = worker.terminate();
    assert!(exit.success(), "SIGTERM exits 0: {exit}");
}
