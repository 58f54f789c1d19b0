//! WASM transform plugins in a real pipeline (datagen → WASM → Kafka → file sink), and
//! plugins that loop forever, allocate without bound or trap: each fails only its
//! records (or its task, under `errors.tolerance=none`) and the worker keeps running.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::*;

/// Builds the example and test plugins once (examples/wasm-transform/build.sh).
fn plugin(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasm-plugins");
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/wasm-transform/build.sh");
        let status = Command::new("bash")
            .arg(&script)
            .env("CARGO_TARGET_DIR", &target)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{} failed", script.display());
        target.join("wasm32-wasip2/release")
    });
    let p = dir.join(format!("{name}.wasm"));
    assert!(p.exists(), "{} was not built", p.display());
    p
}

fn datagen(name: &str, prefix: &str, records: u32, transform: &str) -> String {
    format!(
        r#"{{"name": "{name}", "config": {{"connector.class": "datagen", "topic.prefix": "{prefix}", "columns": "4",
            "max.records": "{records}", "transforms": "w", "transforms.w.type": "wasm", {transform}}}}}"#
    )
}

/// Like [`datagen`], with a boolean field `flag` = true added to every value first
/// (InsertField$Value then Cast$Value), which the test plugins react to.
fn flagged(name: &str, prefix: &str, flag: &str, transform: &str) -> String {
    format!(
        r#"{{"name": "{name}", "config": {{"connector.class": "datagen", "topic.prefix": "{prefix}", "columns": "4",
            "max.records": "3", "transforms": "ins,cast,w",
            "transforms.ins.type": "org.apache.kafka.connect.transforms.InsertField$Value",
            "transforms.ins.static.field": "{flag}", "transforms.ins.static.value": "true",
            "transforms.cast.type": "org.apache.kafka.connect.transforms.Cast$Value",
            "transforms.cast.spec": "{flag}:boolean",
            "transforms.w.type": "wasm", {transform}}}}}"#
    )
}

fn status(worker: &Worker, name: &str) -> String {
    worker.get(&format!("/connectors/{name}/status")).1
}

#[test]
fn wasm_plugins_transform_and_fail_only_what_they_must() {
    let broker = KafkaBroker::start();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let p = format!("w{port}");
    let mask = write(
        dir,
        "mask.json",
        &datagen(
            "mask",
            &format!("{p}m"),
            40,
            &format!(
                r#""transforms.w.module": "{}", "transforms.w.config.field": "value.after.col_1", "transforms.w.config.mask": "XXXX""#,
                plugin("mask_field").display()
            ),
        ),
    );
    let tolerant = write(
        dir,
        "tolerant.json",
        &flagged(
            "tolerant",
            &format!("{p}t"),
            "spin",
            &format!(
                r#""transforms.w.module": "{}", "transforms.w.timeout.ms": "50", "errors.tolerance": "all", "errors.log.enable": "true""#,
                plugin("test_spin").display()
            ),
        ),
    );
    let strict_hog = write(
        dir,
        "hog.json",
        &flagged(
            "hog",
            &format!("{p}h"),
            "hog",
            &format!(
                r#""transforms.w.module": "{}", "transforms.w.memory.max.bytes": "8388608""#,
                plugin("test_hog").display()
            ),
        ),
    );
    let strict_trap = write(
        dir,
        "trap.json",
        &flagged(
            "trap",
            &format!("{p}x"),
            "trap",
            &format!(
                r#""transforms.w.module": "{}""#,
                plugin("test_trap").display()
            ),
        ),
    );
    let routed = write(
        dir,
        "route.json",
        &datagen(
            "route",
            &format!("{p}r"),
            40,
            &format!(
                r#""transforms.w.module": "{}", "transforms.w.config.field": "value.op", "transforms.w.config.value": "d", "transforms.w.config.prefix": "{p}.routed.""#,
                plugin("filter_route").display()
            ),
        ),
    );
    let routed_out = dir.join("routed.txt");
    let routed_sink = write(
        dir,
        "routed-sink.json",
        &format!(
            r#"{{"name": "routed-sink", "config": {{"connector.class": "FileStreamSink", "file": "{}", "topics": "{p}.routed.customers"}}}}"#,
            routed_out.display()
        ),
    );
    let out = dir.join("masked.txt");
    let sink = write(
        dir,
        "sink.json",
        &format!(
            r#"{{"name": "sink", "config": {{"connector.class": "FileStreamSink", "file": "{}", "topics": "{p}m.inventory.customers"}}}}"#,
            out.display()
        ),
    );
    let mut worker = Worker::start(
        dir,
        port,
        &[
            mask,
            tolerant,
            strict_hog,
            strict_trap,
            sink,
            routed,
            routed_sink,
        ],
    );

    wait_until(
        Duration::from_secs(60),
        "40 masked records in the sink file",
        || {
            std::fs::read_to_string(&out)
                .map(|t| t.lines().count() >= 40)
                .unwrap_or(false)
        },
    );
    let text = std::fs::read_to_string(&out).unwrap();
    for line in text.lines() {
        // The file sink prints the envelope struct; col_1 of every after-image is masked
        // and the other columns are untouched.
        if let Some(after) = line.split("after=Struct{").nth(1) {
            let after = after.split('}').next().unwrap();
            assert!(after.contains("col_1=XXXX"), "col_1 masked in {after}");
            assert!(
                after.contains("col_2=") && !after.contains("col_2=XXXX"),
                "col_2 untouched in {after}"
            );
        }
        if let Some(before) = line.split("before=Struct{").nth(1) {
            let before = before.split('}').next().unwrap();
            assert!(
                !before.contains("XXXX"),
                "only value.after.col_1 is masked: {before}"
            );
        }
    }

    // filter-route: deletes dropped, the rest routed to <prefix>.routed.<table>; the
    // datagen stream of 40 events holds creates, updates and deletes.
    wait_until(
        Duration::from_secs(60),
        "the routed connector to finish its 40 events",
        || {
            worker.get("/connectors/route/status").1.contains("RUNNING")
                && std::fs::read_to_string(dir.join("connect.offsets"))
                    .map(|t| {
                        t.contains(r#"{"server":"PFXr"}],{"seq":39}"#.replace("PFX", &p).as_str())
                    })
                    .unwrap_or(false)
        },
    );
    wait_until(
        Duration::from_secs(30),
        "routed records in the sink file",
        || {
            std::fs::read_to_string(&routed_out)
                .map(|t| !t.is_empty())
                .unwrap_or(false)
        },
    );
    let routed_text = std::fs::read_to_string(&routed_out).unwrap();
    let n = routed_text.lines().count();
    assert!(
        n > 20 && n < 40,
        "some events dropped, the rest routed: {n} lines\n{routed_text}"
    );
    assert!(
        routed_text
            .lines()
            .all(|l| l.contains("op=c") || l.contains("op=u")),
        "{routed_text}"
    );

    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !(status(&worker, "hog").contains("FAILED") && status(&worker, "trap").contains("FAILED"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the hog and trap tasks did not fail:\n{}\n{}\n{}",
            status(&worker, "hog"),
            status(&worker, "trap"),
            worker.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let hog = status(&worker, "hog");
    assert!(hog.contains("memory.max.bytes"), "{hog}");
    let trap = status(&worker, "trap");
    assert!(trap.contains(r#""trace":"#), "{trap}");
    wait_until(
        Duration::from_secs(30),
        "three timed-out records skipped and logged",
        || worker.log_text().matches("timeout.ms").count() >= 3,
    );
    let tolerant = status(&worker, "tolerant");
    assert!(
        tolerant.contains(r#""state":"RUNNING""#),
        "errors.tolerance=all keeps the task running: {tolerant}"
    );
    assert!(status(&worker, "mask").contains(r#""state":"RUNNING""#));
    assert!(worker.terminate().success(), "{}", worker.log_text());
}
