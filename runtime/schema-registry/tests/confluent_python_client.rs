//! Confluent's own Python client (`confluent_kafka.schema_registry.SchemaRegistryClient`)
//! against the built-in registry, kept in a real broker's topic: register_schema,
//! get_schema, get_latest_version, lookup_schema, set_compatibility, test_compatibility,
//! deletes, errors. The checks are in `confluent_client.py`.

use std::path::{Path, PathBuf};
use std::process::Command;

use sluice_schema_registry::{KafkaStoreConfig, TestRegistry};
use sluice_testkit::KafkaBroker;

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
fn confluent_python_client_works_against_the_registry() {
    let broker = KafkaBroker::start();
    let registry = TestRegistry::start_kafka(KafkaStoreConfig::new(broker.bootstrap()))
        .expect("registry opens its topic");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/confluent_client.py");
    let python = python();
    let output = Command::new(&python)
        .arg(&script)
        .arg(registry.url())
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
        "{} {} failed ({}):\n{stdout}\n{stderr}",
        python.display(),
        script.display(),
        output.status
    );
    assert!(stdout.contains("all checks passed"), "{stdout}\n{stderr}");
}
