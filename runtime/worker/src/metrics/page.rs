//! `GET /metrics`: the page, from the registry, the herder's statuses and `/proc`.
//!
//! Families (labels `connector`, `task` unless said otherwise):
//! - worker: `connector_count`, `task_count` (running on this worker),
//!   `worker_rebalance_total`, `worker_rebalance_epoch` (no labels);
//!   `connector_status{connector,state}`, `connector_task_status{connector,task,state}`
//!   (1 for the current state, 0 for the others);
//! - source tasks: `source_record_poll_total`, `source_record_write_total` (acknowledged
//!   by Kafka), `source_record_active_count` (sent, not yet acknowledged),
//!   `poll_batch_size` (histogram of records per poll), `source_record_lag_ms`
//!   (Debezium's `MilliSecondsBehindSource`: now − `source.ts_ms` of the last polled
//!   record, when it was polled);
//! - snapshot and streaming progress of source tasks: `snapshot_running`,
//!   `snapshot_total_table_count`, `snapshot_remaining_table_count`,
//!   `snapshot_total_number_of_events_seen`, `snapshot_rows_estimated`,
//!   `snapshot_rows_scanned{…,table}` (the table being read),
//!   `streaming_total_number_of_events_seen`;
//! - sink tasks: `sink_record_read_total`, `sink_record_send_total` (handed to `put`),
//!   `sink_record_active_count` (read since the last offset commit), `put_batch_size`,
//!   `sink_record_lag_ms` (now − the Kafka timestamp of the last record put);
//! - both: `offset_commit_success_total`, `offset_commit_failure_total`,
//!   `offset_commit_last_success_timestamp_ms`, `total_record_failure_total`,
//!   `total_records_skipped_total`, `total_errors_logged_total`,
//!   `deadletterqueue_produce_requests_total`, `deadletterqueue_produce_failures_total`;
//! - process: `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
//!   `process_cpu_seconds_total`, `process_open_fds`, `process_start_time_seconds`.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use super::task::{TaskKind, TaskReading, BATCH_BUCKETS};
use super::text::{Kind, Page};
use super::{process, Registry};
use crate::herder::{ConnectorStatus, Herder};
use crate::rest::AppState;
use crate::task::TaskId;

/// The states a connector or task can show.
const STATES: [&str; 6] = [
    "unassigned",
    "running",
    "paused",
    "failed",
    "restarting",
    "stopped",
];

/// The `/metrics` handler.
pub async fn serve(State(herder): State<AppState>) -> Response {
    let body = render(super::global(), herder.as_ref()).await;
    ([(CONTENT_TYPE, super::text::CONTENT_TYPE)], body).into_response()
}

/// The statuses of the connectors this worker runs; `None` when the herder could not
/// list connectors (then nothing is forgotten).
async fn statuses(herder: &dyn Herder) -> Option<Vec<ConnectorStatus>> {
    let names = herder.connectors().await.ok()?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        if let Ok(s) = herder.connector_status(&name).await {
            out.push(s);
        }
    }
    Some(out)
}

/// The whole page.
pub async fn render(registry: &Registry, herder: &dyn Herder) -> String {
    let statuses = statuses(herder).await;
    if let Some(s) = &statuses {
        let known: BTreeSet<&str> = s.iter().map(|c| c.name.as_str()).collect();
        registry.retain_connectors(|c| known.contains(c));
    }
    let here = registry.worker_id();
    let local = |worker: &str| here.as_deref().is_none_or(|h| h == worker);
    let mut page = Page::default();
    worker_families(
        &mut page,
        registry,
        statuses.as_deref().unwrap_or(&[]),
        &local,
    );
    let tasks: Vec<(TaskId, TaskReading)> = registry
        .tasks()
        .into_iter()
        .map(|(id, m)| (id, m.read()))
        .collect();
    task_families(&mut page, &tasks);
    progress_families(&mut page, &tasks);
    process_families(&mut page, &process::read());
    page.finish()
}

fn worker_families(
    page: &mut Page,
    registry: &Registry,
    statuses: &[ConnectorStatus],
    local: &dyn Fn(&str) -> bool,
) {
    let connectors: Vec<&ConnectorStatus> = statuses
        .iter()
        .filter(|s| local(&s.connector.worker_id))
        .collect();
    let tasks: Vec<(&str, usize, &str)> = statuses
        .iter()
        .flat_map(|s| s.tasks.iter().map(move |t| (s, t)))
        .filter(|(_, t)| local(&t.state.worker_id))
        .map(|(s, t)| (s.name.as_str(), t.id, t.state.state))
        .collect();
    page.family(
        "connector_count",
        Kind::Gauge,
        "The number of connectors run in this worker.",
    );
    page.sample("connector_count", &[], connectors.len());
    page.family(
        "task_count",
        Kind::Gauge,
        "The number of tasks run in this worker.",
    );
    page.sample("task_count", &[], tasks.len());
    let (rebalances, epoch, _) = registry.worker().read();
    page.family(
        "worker_rebalance_total",
        Kind::Counter,
        "The number of rebalances completed by this worker.",
    );
    page.sample("worker_rebalance_total", &[], rebalances);
    page.family(
        "worker_rebalance_epoch",
        Kind::Gauge,
        "The group generation of the last rebalance this worker completed.",
    );
    page.sample("worker_rebalance_epoch", &[], epoch);
    page.family(
        "connector_status",
        Kind::Gauge,
        "1 for the connector's current state, 0 for the others.",
    );
    for c in &connectors {
        let current = c.connector.state.to_ascii_lowercase();
        for state in STATES {
            let v = u64::from(current == state);
            page.sample(
                "connector_status",
                &[("connector", &c.name), ("state", state)],
                v,
            );
        }
    }
    page.family(
        "connector_task_status",
        Kind::Gauge,
        "1 for the task's current state, 0 for the others.",
    );
    for (connector, task, current) in &tasks {
        let task = task.to_string();
        let current = current.to_ascii_lowercase();
        for state in STATES {
            let v = u64::from(current == state);
            page.sample(
                "connector_task_status",
                &[("connector", connector), ("task", &task), ("state", state)],
                v,
            );
        }
    }
}

/// A family with one sample per task of `kind` (`None` = both kinds), skipping tasks
/// for which `value` has nothing.
fn per_task(
    page: &mut Page,
    tasks: &[(TaskId, TaskReading)],
    kind: Option<TaskKind>,
    (name, metric, help): (&str, Kind, &str),
    value: impl Fn(&TaskReading) -> Option<i64>,
) {
    page.family(name, metric, help);
    for (id, r) in tasks {
        if kind.is_some_and(|k| k != r.kind) {
            continue;
        }
        if let Some(v) = value(r) {
            let task = id.task.to_string();
            page.sample(name, &[("connector", &id.connector), ("task", &task)], v);
        }
    }
}

fn histogram(page: &mut Page, tasks: &[(TaskId, TaskReading)], kind: TaskKind, name: &str) {
    let help = match kind {
        TaskKind::Source => "The number of records returned by each poll of the task.",
        TaskKind::Sink => "The number of records handed to each put of the task.",
    };
    page.family(name, Kind::Histogram, help);
    let bucket = format!("{name}_bucket");
    for (id, r) in tasks.iter().filter(|(_, r)| r.kind == kind) {
        let task = id.task.to_string();
        let (cumulative, sum, count, _) = &r.batches;
        let bounds = BATCH_BUCKETS
            .iter()
            .map(u64::to_string)
            .chain(std::iter::once("+Inf".to_owned()));
        for (le, n) in bounds.zip(cumulative) {
            page.sample(
                &bucket,
                &[("connector", &id.connector), ("task", &task), ("le", &le)],
                *n,
            );
        }
        let labels = [("connector", id.connector.as_str()), ("task", &task)];
        page.sample(&format!("{name}_sum"), &labels, *sum);
        page.sample(&format!("{name}_count"), &labels, *count);
    }
}

fn int(n: u64) -> Option<i64> {
    Some(i64::try_from(n).unwrap_or(i64::MAX))
}

fn task_families(page: &mut Page, tasks: &[(TaskId, TaskReading)]) {
    use Kind::{Counter, Gauge};
    use TaskKind::{Sink, Source};
    let src = Some(Source);
    let sink = Some(Sink);
    per_task(
        page,
        tasks,
        src,
        (
            "source_record_poll_total",
            Counter,
            "The number of records produced/polled (before transformation) by the task.",
        ),
        |r| int(r.records_in),
    );
    per_task(
        page,
        tasks,
        src,
        (
            "source_record_write_total",
            Counter,
            "The number of records output from the transformations and acknowledged by Kafka.",
        ),
        |r| int(r.records_out),
    );
    per_task(
        page,
        tasks,
        src,
        (
            "source_record_active_count",
            Gauge,
            "The number of records sent to Kafka and not yet acknowledged.",
        ),
        |r| int(r.active),
    );
    histogram(page, tasks, Source, "poll_batch_size");
    per_task(page, tasks, src, ("source_record_lag_ms", Gauge, "Milliseconds between the source event time (source.ts_ms) of the last polled record and when it was polled (Debezium's MilliSecondsBehindSource)."), |r| r.lag_ms);
    per_task(
        page,
        tasks,
        sink,
        (
            "sink_record_read_total",
            Counter,
            "The number of records read from Kafka by the task.",
        ),
        |r| int(r.records_in),
    );
    per_task(
        page,
        tasks,
        sink,
        (
            "sink_record_send_total",
            Counter,
            "The number of records output from the transformations and handed to the task's put.",
        ),
        |r| int(r.records_out),
    );
    per_task(
        page,
        tasks,
        sink,
        (
            "sink_record_active_count",
            Gauge,
            "The number of records read from Kafka and not yet committed.",
        ),
        |r| int(r.active),
    );
    histogram(page, tasks, Sink, "put_batch_size");
    per_task(page, tasks, sink, ("sink_record_lag_ms", Gauge, "Milliseconds between the Kafka timestamp of the last record handed to put and when it was handed."), |r| r.lag_ms);
    per_task(
        page,
        tasks,
        None,
        (
            "offset_commit_success_total",
            Counter,
            "The number of offset commits that succeeded.",
        ),
        |r| int(r.commit_success),
    );
    per_task(
        page,
        tasks,
        None,
        (
            "offset_commit_failure_total",
            Counter,
            "The number of offset commits that failed.",
        ),
        |r| int(r.commit_failure),
    );
    per_task(
        page,
        tasks,
        None,
        (
            "offset_commit_last_success_timestamp_ms",
            Gauge,
            "When the last offset commit succeeded, in milliseconds since the epoch.",
        ),
        |r| r.last_commit_ms,
    );
    per_task(
        page,
        tasks,
        None,
        (
            "total_record_failure_total",
            Counter,
            "The number of record processing failures in the task.",
        ),
        |r| int(r.record_failures),
    );
    per_task(
        page,
        tasks,
        None,
        (
            "total_records_skipped_total",
            Counter,
            "The number of records skipped due to errors (errors.tolerance=all).",
        ),
        |r| int(r.records_skipped),
    );
    per_task(
        page,
        tasks,
        None,
        (
            "total_errors_logged_total",
            Counter,
            "The number of record errors that were logged.",
        ),
        |r| int(r.errors_logged),
    );
    per_task(
        page,
        tasks,
        None,
        (
            "deadletterqueue_produce_requests_total",
            Counter,
            "The number of attempted writes to the dead letter queue.",
        ),
        |r| int(r.dlq_requests),
    );
    per_task(
        page,
        tasks,
        None,
        (
            "deadletterqueue_produce_failures_total",
            Counter,
            "The number of failed writes to the dead letter queue.",
        ),
        |r| int(r.dlq_failures),
    );
}

/// A number field of a progress document, whichever of `keys` it has.
fn field(p: &serde_json::Value, keys: &[&str]) -> Option<i64> {
    keys.iter()
        .find_map(|k| p.get(*k).and_then(serde_json::Value::as_i64))
}

fn progress_families(page: &mut Page, tasks: &[(TaskId, TaskReading)]) {
    use Kind::{Counter, Gauge};
    let src = Some(TaskKind::Source);
    let phase = |r: &TaskReading| {
        r.progress
            .as_ref()
            .and_then(|p| p.get("phase"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let snapshot = |r: &TaskReading| {
        r.progress
            .as_ref()
            .filter(|p| p.get("phase").and_then(serde_json::Value::as_str) == Some("snapshot"))
            .cloned()
    };
    per_task(
        page,
        tasks,
        src,
        (
            "snapshot_running",
            Gauge,
            "1 while the task reads its snapshot.",
        ),
        |r| phase(r).map(|p| i64::from(p == "snapshot")),
    );
    per_task(
        page,
        tasks,
        src,
        (
            "snapshot_total_table_count",
            Gauge,
            "The number of tables (collections) the snapshot reads.",
        ),
        |r| snapshot(r).and_then(|p| field(&p, &["tables_total", "collections_total"])),
    );
    per_task(
        page,
        tasks,
        src,
        (
            "snapshot_remaining_table_count",
            Gauge,
            "The number of tables (collections) the snapshot has yet to read.",
        ),
        |r| {
            let p = snapshot(r)?;
            let total = field(&p, &["tables_total", "collections_total"])?;
            let done = field(&p, &["tables_done", "collections_done"])?;
            Some((total - done).max(0))
        },
    );
    per_task(
        page,
        tasks,
        src,
        (
            "snapshot_total_number_of_events_seen",
            Gauge,
            "The number of rows (documents) the snapshot has read.",
        ),
        |r| snapshot(r).and_then(|p| field(&p, &["rows_done", "documents_done"])),
    );
    per_task(
        page,
        tasks,
        src,
        (
            "snapshot_rows_estimated",
            Gauge,
            "The estimated number of rows of all snapshotted tables.",
        ),
        |r| snapshot(r).and_then(|p| field(&p, &["rows_estimated"])),
    );
    page.family(
        "snapshot_rows_scanned",
        Gauge,
        "The number of rows the snapshot has read from the table it is reading.",
    );
    for (id, r) in tasks {
        let Some(p) = snapshot(r) else { continue };
        let table = p
            .get("table")
            .or_else(|| p.get("collection"))
            .and_then(serde_json::Value::as_str);
        if let (Some(table), Some(rows)) = (table, field(&p, &["table_rows_done"])) {
            let task = id.task.to_string();
            page.sample(
                "snapshot_rows_scanned",
                &[
                    ("connector", &id.connector),
                    ("task", &task),
                    ("table", table),
                ],
                rows,
            );
        }
    }
    per_task(
        page,
        tasks,
        src,
        (
            "streaming_total_number_of_events_seen",
            Counter,
            "The number of row events the task has streamed since it started.",
        ),
        |r| {
            r.progress
                .as_ref()
                .and_then(|p| field(p, &["rows_streamed"]))
        },
    );
}

fn process_families(page: &mut Page, p: &process::ProcessReading) {
    use Kind::{Counter, Gauge};
    if let Some(v) = p.resident_memory_bytes {
        page.family(
            "process_resident_memory_bytes",
            Gauge,
            "Resident memory size in bytes.",
        );
        page.sample("process_resident_memory_bytes", &[], v);
    }
    if let Some(v) = p.virtual_memory_bytes {
        page.family(
            "process_virtual_memory_bytes",
            Gauge,
            "Virtual memory size in bytes.",
        );
        page.sample("process_virtual_memory_bytes", &[], v);
    }
    if let Some(v) = p.cpu_seconds {
        page.family(
            "process_cpu_seconds_total",
            Counter,
            "Total user and system CPU time spent in seconds.",
        );
        page.sample("process_cpu_seconds_total", &[], v);
    }
    if let Some(v) = p.open_fds {
        page.family(
            "process_open_fds",
            Gauge,
            "Number of open file descriptors.",
        );
        page.sample("process_open_fds", &[], v);
    }
    if let Some(v) = p.start_time_seconds {
        page.family(
            "process_start_time_seconds",
            Gauge,
            "Start time of the process since unix epoch in seconds.",
        );
        page.sample("process_start_time_seconds", &[], v);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sluice_core::plugin::Progress;

    use super::*;
    use crate::metrics::TaskMetrics;

    fn reading(kind: TaskKind, progress: serde_json::Value) -> (TaskId, TaskReading) {
        let m = Arc::new(TaskMetrics::new(kind));
        let p = Progress::default();
        p.set(Some(progress));
        let _attached = m.attach(None, Some(p));
        let id = TaskId {
            connector: "inv \"db\"".into(),
            task: 3,
        };
        (id, m.read())
    }

    fn value(text: &str, prefix: &str) -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::to_owned)
    }

    #[test]
    fn snapshot_progress_becomes_debezium_snapshot_metrics() {
        let tasks = vec![reading(
            TaskKind::Source,
            serde_json::json!({
                "phase": "snapshot", "table": "inv.orders", "rows_done": 1500,
                "rows_estimated": 4000, "table_rows_done": 500, "table_rows_estimated": 1000,
                "rows_per_sec": 100, "tables_done": 1, "tables_total": 3,
            }),
        )];
        let mut page = Page::default();
        progress_families(&mut page, &tasks);
        let text = page.finish();
        let l = r#"{connector="inv \"db\"",task="3"} "#;
        assert_eq!(
            value(&text, &format!("snapshot_running{l}")).as_deref(),
            Some("1")
        );
        assert_eq!(
            value(&text, &format!("snapshot_total_table_count{l}")).as_deref(),
            Some("3")
        );
        assert_eq!(
            value(&text, &format!("snapshot_remaining_table_count{l}")).as_deref(),
            Some("2")
        );
        assert_eq!(
            value(&text, &format!("snapshot_total_number_of_events_seen{l}")).as_deref(),
            Some("1500")
        );
        assert_eq!(
            value(&text, &format!("snapshot_rows_estimated{l}")).as_deref(),
            Some("4000")
        );
        assert_eq!(
            value(
                &text,
                r#"snapshot_rows_scanned{connector="inv \"db\"",task="3",table="inv.orders"} "#
            )
            .as_deref(),
            Some("500")
        );
        assert!(text.contains("# TYPE streaming_total_number_of_events_seen counter"));
        assert_eq!(value(&text, "streaming_total_number_of_events_seen{"), None);
    }

    #[test]
    fn streaming_progress_ends_the_snapshot_metrics() {
        let tasks = vec![reading(
            TaskKind::Source,
            serde_json::json!({"phase": "streaming", "file": "bin.000001", "pos": 4, "rows_streamed": 42}),
        )];
        let mut page = Page::default();
        progress_families(&mut page, &tasks);
        let text = page.finish();
        let l = r#"{connector="inv \"db\"",task="3"} "#;
        assert_eq!(
            value(&text, &format!("snapshot_running{l}")).as_deref(),
            Some("0")
        );
        assert_eq!(
            value(&text, &format!("streaming_total_number_of_events_seen{l}")).as_deref(),
            Some("42")
        );
        assert_eq!(value(&text, "snapshot_total_table_count{"), None);
    }

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let m = TaskMetrics::new(TaskKind::Sink);
        let records: Vec<sluice_core::SinkRecord> = Vec::new();
        m.sink_put(&records);
        let id = TaskId {
            connector: "s".into(),
            task: 0,
        };
        let mut page = Page::default();
        task_families(&mut page, &[(id, m.read())]);
        let text = page.finish();
        assert!(text.contains("# TYPE put_batch_size histogram\n"));
        assert!(text.contains("put_batch_size_bucket{connector=\"s\",task=\"0\",le=\"+Inf\"} 0\n"));
        assert!(text.contains("put_batch_size_count{connector=\"s\",task=\"0\"} 0\n"));
        assert!(text.contains("sink_record_send_total{connector=\"s\",task=\"0\"} 0\n"));
        assert!(!text.contains("source_record_poll_total{"));
    }
}
