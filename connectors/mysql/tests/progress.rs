//! Progress in the task status: the snapshot publishes `{"phase":"snapshot", "table",
//! "rows_done", "rows_estimated", "rows_per_sec", ...}` as it goes (continuing from the
//! acknowledged count after a restart), then streaming publishes `{"phase":"streaming"}`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value as Json;
use sluice_connector_mysql::MySqlTask;
use sluice_core::plugin::{Progress, SourceTask, SourceTaskContext};
use sluice_core::record::OffsetMap;
use sluice_core::SourceRecord;
use sluice_testkit::MariaDb;

async fn start_with(
    cfg: &sluice_core::config::ConfigMap,
    offset: Option<OffsetMap>,
    progress: &Progress,
) -> MySqlTask {
    let ctx =
        SourceTaskContext::new(offset.map(|o| (partition(), o))).with_progress(progress.clone());
    let mut task = MySqlTask::default();
    task.start(cfg, ctx).await.expect("start");
    task
}

/// Polls until `n` records arrived, recording the published progress after every poll.
async fn poll_watching(
    task: &mut MySqlTask,
    progress: &Progress,
    n: usize,
    seen: &mut Vec<Json>,
) -> Vec<SourceRecord> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} records",
            out.len()
        );
        if let Some(p) = progress.get() {
            seen.push(p);
        }
        out.extend(task.poll().await.expect("poll"));
    }
    out
}

fn snapshot_phase(seen: &[Json]) -> Vec<&Json> {
    seen.iter().filter(|p| p["phase"] == "snapshot").collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_streaming_publish_progress() {
    init_logging();
    let db = MariaDb::start();
    let mut sql = String::from(
        "CREATE DATABASE inv; CREATE TABLE inv.p (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO inv.p VALUES ",
    );
    sql.push_str(
        &(1..=60)
            .map(|i| format!("({i}, 'row {i}')"))
            .collect::<Vec<_>>()
            .join(","),
    );
    sql.push_str("; ANALYZE TABLE inv.p;");
    db.sql(&sql);
    let cfg = config(
        &db,
        &[
            ("table.include.list", "inv\\.p"),
            ("snapshot.fetch.size", "10"),
            ("max.batch.size", "5"),
        ],
    );

    // First run: 25 rows, then a "crash".
    let progress = Progress::default();
    let mut task = start_with(&cfg, None, &progress).await;
    let mut seen = Vec::new();
    let first = poll_watching(&mut task, &progress, 25, &mut seen).await;
    let offset = first[24].source_offset.to_map();
    drop(task);
    let snap = snapshot_phase(&seen);
    assert!(!snap.is_empty(), "snapshot progress published: {seen:?}");
    for p in &snap {
        assert_eq!(p["table"], "inv.p", "{p}");
        assert_eq!(p["tables_total"], 1, "{p}");
        let done = p["rows_done"].as_u64().expect("rows_done");
        let estimated = p["rows_estimated"].as_u64().expect("rows_estimated");
        assert!(done <= 60 && estimated >= done, "{p}");
        assert!(p["rows_per_sec"].is_u64(), "{p}");
        assert_eq!(p["table_rows_done"], p["rows_done"], "{p}");
    }
    let dones: Vec<u64> = snap
        .iter()
        .filter_map(|p| p["rows_done"].as_u64())
        .collect();
    assert!(
        dones.windows(2).all(|w| w[0] <= w[1]),
        "rows_done never goes back: {dones:?}"
    );
    assert!(
        dones.iter().any(|&d| d >= 10),
        "a whole chunk shows in the status: {dones:?}"
    );
    assert_eq!(
        offset.get("snapshot_rows_done"),
        Some(&Json::from(25)),
        "the offset counts acknowledged rows"
    );

    // Restart: the count continues from the acknowledged 25, ends at 60, then streaming.
    let progress = Progress::default();
    let mut task = start_with(&cfg, Some(offset), &progress).await;
    let mut seen = Vec::new();
    let rest = poll_watching(&mut task, &progress, 35, &mut seen).await;
    assert_eq!(rest.len(), 35);
    let snap = snapshot_phase(&seen);
    assert!(!snap.is_empty(), "snapshot progress after the restart");
    assert!(
        snap.iter().all(|p| p["rows_done"]
            .as_u64()
            .is_some_and(|d| (25..=60).contains(&d))),
        "the resumed count starts from the acknowledged rows: {snap:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let streaming = loop {
        let _ = task.poll().await.expect("poll");
        match progress.get() {
            Some(p) if p["phase"] == "streaming" => break p,
            _ => assert!(Instant::now() < deadline, "no streaming progress"),
        }
    };
    assert!(
        streaming["file"]
            .as_str()
            .is_some_and(|f| f.starts_with("mysql-bin.")),
        "{streaming}"
    );
    assert!(
        streaming["pos"].as_u64().is_some_and(|p| p >= 4),
        "{streaming}"
    );
    assert!(streaming["rows_streamed"].is_u64(), "{streaming}");
    task.stop().await.expect("stop");
}
