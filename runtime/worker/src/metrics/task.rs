//! The metrics of one task (Kafka Connect's `source-task-metrics` / `sink-task-metrics`
//! / `task-error-metrics` groups): plain atomics, updated once per batch by the task's
//! executor; error counters once per failed record.
//!
//! Values that already live elsewhere are read when scraped instead of being copied per
//! record: the records Kafka acknowledged and those still in flight come from the
//! source task's acknowledgement tracker ([`DeliveryCounts`]), the snapshot progress
//! from the task's [`Progress`].

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use sluice_core::plugin::Progress;
use sluice_core::{Record, Value};

/// Upper bounds of the batch-size histogram buckets (records); `+Inf` follows.
pub const BATCH_BUCKETS: [u64; 10] = [1, 10, 50, 100, 500, 1000, 2000, 5000, 10_000, 50_000];

/// Source or sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// A source task.
    Source,
    /// A sink task.
    Sink,
}

/// What a source task's acknowledgement tracker counts.
pub trait DeliveryCounts: Send + Sync {
    /// Records Kafka acknowledged so far.
    fn acknowledged(&self) -> u64;
    /// Records handed to the producer and not yet acknowledged.
    fn in_flight(&self) -> u64;
}

/// Batch sizes: a histogram (bucket counts not cumulative here; the page cumulates).
#[derive(Debug, Default)]
pub struct BatchSizes {
    buckets: [AtomicU64; BATCH_BUCKETS.len() + 1],
    sum: AtomicU64,
    count: AtomicU64,
    max: AtomicU64,
}

impl BatchSizes {
    /// Records one batch of `n` records.
    #[inline]
    pub fn observe(&self, n: u64) {
        let i = BATCH_BUCKETS.partition_point(|b| *b < n);
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum.fetch_add(n, Relaxed);
        self.count.fetch_add(1, Relaxed);
        if n > self.max.load(Relaxed) {
            self.max.fetch_max(n, Relaxed);
        }
    }

    /// Cumulative counts per bucket (the last is `+Inf`), the sum, the count and the max.
    pub fn snapshot(&self) -> ([u64; BATCH_BUCKETS.len() + 1], u64, u64, u64) {
        let mut cumulative = [0u64; BATCH_BUCKETS.len() + 1];
        let mut acc = 0;
        for (c, b) in cumulative.iter_mut().zip(&self.buckets) {
            acc += b.load(Relaxed);
            *c = acc;
        }
        (
            cumulative,
            self.sum.load(Relaxed),
            self.count.load(Relaxed),
            self.max.load(Relaxed),
        )
    }
}

/// What a running task instance lends to its metrics while it runs.
#[derive(Default)]
struct Live {
    /// Bumped by each attach, so a late detach of an old instance changes nothing.
    generation: u64,
    deliveries: Option<Arc<dyn DeliveryCounts>>,
    progress: Option<Progress>,
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The source event time of a record: the Debezium envelope's `source.ts_ms` (a MySQL
/// binlog event's time, a MongoDB operation's cluster time).
pub fn envelope_timestamp_ms(record: &Record) -> Option<i64> {
    let Value::Struct(envelope) = &record.value.value else {
        return None;
    };
    match envelope.get("source") {
        Some(Value::Struct(source)) => match source.get("ts_ms") {
            Some(Value::Int64(ts)) => Some(*ts),
            _ => None,
        },
        _ => None,
    }
}

/// The source event time of the end of a batch: `source.ts_ms` of one of its last few
/// records (a tombstone or a transaction marker may close it), else the last record's
/// timestamp.
pub fn batch_timestamp_ms(batch: &[sluice_core::SourceRecord]) -> Option<i64> {
    batch
        .iter()
        .rev()
        .take(4)
        .find_map(|r| envelope_timestamp_ms(&r.record))
        .or_else(|| batch.last().and_then(|r| r.record.timestamp))
}

/// One task's metrics. Kept per `(connector, task)` in the registry, so counters go on
/// counting across restarts of the task in this process (they reset when the process
/// restarts or the connector is deleted).
pub struct TaskMetrics {
    kind: TaskKind,
    /// Source: records returned by `poll`. Sink: records read from Kafka.
    records_in: AtomicU64,
    /// Sink: records handed to `put` (after transforms).
    records_put: AtomicU64,
    /// Sink: `records_in` at the last successful offset commit.
    records_in_at_commit: AtomicU64,
    /// Source: records acknowledged by past instances of the task.
    delivered_before: AtomicU64,
    batches: BatchSizes,
    /// Now minus the event time of the last record of the last batch; `i64::MIN` = none yet.
    lag_ms: AtomicI64,
    commit_success: AtomicU64,
    commit_failure: AtomicU64,
    /// When the last offset commit succeeded (ms since the epoch); 0 = never.
    last_commit_ms: AtomicI64,
    record_failures: AtomicU64,
    records_skipped: AtomicU64,
    errors_logged: AtomicU64,
    dlq_requests: AtomicU64,
    dlq_failures: AtomicU64,
    live: Mutex<Live>,
}

impl std::fmt::Debug for TaskMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskMetrics")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Detaches what a task instance lent to its metrics when the instance ends.
#[must_use = "dropping it detaches the task's live counts at once"]
pub struct Attached {
    metrics: Arc<TaskMetrics>,
    generation: u64,
}

impl Drop for Attached {
    fn drop(&mut self) {
        let mut live = self.metrics.lock_live();
        if live.generation == self.generation {
            if let Some(d) = live.deliveries.take() {
                self.metrics
                    .delivered_before
                    .fetch_add(d.acknowledged(), Relaxed);
            }
            live.progress = None;
        }
    }
}

impl TaskMetrics {
    pub(super) fn new(kind: TaskKind) -> Self {
        TaskMetrics {
            kind,
            records_in: AtomicU64::new(0),
            records_put: AtomicU64::new(0),
            records_in_at_commit: AtomicU64::new(0),
            delivered_before: AtomicU64::new(0),
            batches: BatchSizes::default(),
            lag_ms: AtomicI64::new(i64::MIN),
            commit_success: AtomicU64::new(0),
            commit_failure: AtomicU64::new(0),
            last_commit_ms: AtomicI64::new(0),
            record_failures: AtomicU64::new(0),
            records_skipped: AtomicU64::new(0),
            errors_logged: AtomicU64::new(0),
            dlq_requests: AtomicU64::new(0),
            dlq_failures: AtomicU64::new(0),
            live: Mutex::new(Live::default()),
        }
    }

    fn lock_live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Source or sink.
    pub fn kind(&self) -> TaskKind {
        self.kind
    }

    /// A task instance starts: its delivery counts (source) and progress are read from
    /// here on, until the returned guard drops.
    pub fn attach(
        self: &Arc<Self>,
        deliveries: Option<Arc<dyn DeliveryCounts>>,
        progress: Option<Progress>,
    ) -> Attached {
        let mut live = self.lock_live();
        if let Some(old) = live.deliveries.take() {
            // An old instance that outlived its stop: keep what it delivered so far.
            self.delivered_before.fetch_add(old.acknowledged(), Relaxed);
        }
        live.generation += 1;
        live.deliveries = deliveries;
        live.progress = progress;
        Attached {
            metrics: self.clone(),
            generation: live.generation,
        }
    }

    /// A source `poll` returned `batch`: counts it, and the lag of its last record.
    #[inline]
    pub fn source_batch(&self, batch: &[sluice_core::SourceRecord]) {
        if batch.is_empty() {
            return;
        }
        let n = batch.len() as u64;
        self.records_in.fetch_add(n, Relaxed);
        self.batches.observe(n);
        if let Some(ts) = batch_timestamp_ms(batch) {
            self.lag_ms
                .store(now_ms().saturating_sub(ts).max(0), Relaxed);
        }
    }

    /// A sink read `n` records from Kafka.
    #[inline]
    pub fn sink_read(&self, n: usize) {
        self.records_in.fetch_add(n as u64, Relaxed);
    }

    /// A sink hands `batch` to `put`: counts it, and the lag of its last record (its
    /// Kafka timestamp).
    #[inline]
    pub fn sink_put(&self, batch: &[sluice_core::SinkRecord]) {
        if batch.is_empty() {
            return;
        }
        let n = batch.len() as u64;
        self.records_put.fetch_add(n, Relaxed);
        self.batches.observe(n);
        if let Some(ts) = batch.last().and_then(|r| r.record.timestamp) {
            self.lag_ms
                .store(now_ms().saturating_sub(ts).max(0), Relaxed);
        }
    }

    /// An offset commit finished (`ok`) or failed.
    pub fn offset_commit(&self, ok: bool) {
        if ok {
            self.commit_success.fetch_add(1, Relaxed);
            self.last_commit_ms.store(now_ms(), Relaxed);
            self.records_in_at_commit
                .store(self.records_in.load(Relaxed), Relaxed);
        } else {
            self.commit_failure.fetch_add(1, Relaxed);
        }
    }

    /// A record failed in a transform or converter (or was refused by the target);
    /// `skipped` when `errors.tolerance=all` let the task go on without it, `logged`
    /// when the failure was logged.
    pub fn record_failure(&self, skipped: bool, logged: bool) {
        self.record_failures.fetch_add(1, Relaxed);
        if skipped {
            self.records_skipped.fetch_add(1, Relaxed);
        }
        if logged {
            self.errors_logged.fetch_add(1, Relaxed);
        }
    }

    /// A record was written to the dead letter queue (`ok`) or that write failed.
    pub fn dead_letter_produce(&self, ok: bool) {
        self.dlq_requests.fetch_add(1, Relaxed);
        if !ok {
            self.dlq_failures.fetch_add(1, Relaxed);
        }
    }

    /// What the page shows, read now.
    pub fn read(&self) -> TaskReading {
        let (deliveries, progress) = {
            let live = self.lock_live();
            (live.deliveries.clone(), live.progress.clone())
        };
        let records_in = self.records_in.load(Relaxed);
        let (written, active) = match (self.kind, &deliveries) {
            (TaskKind::Source, Some(d)) => (
                self.delivered_before.load(Relaxed) + d.acknowledged(),
                d.in_flight(),
            ),
            (TaskKind::Source, None) => (self.delivered_before.load(Relaxed), 0),
            (TaskKind::Sink, _) => (
                self.records_put.load(Relaxed),
                records_in.saturating_sub(self.records_in_at_commit.load(Relaxed)),
            ),
        };
        let lag = self.lag_ms.load(Relaxed);
        let last_commit = self.last_commit_ms.load(Relaxed);
        TaskReading {
            kind: self.kind,
            records_in,
            records_out: written,
            active,
            batches: self.batches.snapshot(),
            lag_ms: (lag != i64::MIN).then_some(lag),
            commit_success: self.commit_success.load(Relaxed),
            commit_failure: self.commit_failure.load(Relaxed),
            last_commit_ms: (last_commit != 0).then_some(last_commit),
            record_failures: self.record_failures.load(Relaxed),
            records_skipped: self.records_skipped.load(Relaxed),
            errors_logged: self.errors_logged.load(Relaxed),
            dlq_requests: self.dlq_requests.load(Relaxed),
            dlq_failures: self.dlq_failures.load(Relaxed),
            progress: progress.and_then(|p| p.get()),
        }
    }
}

/// A task's metrics as read for one page.
#[derive(Debug, Clone)]
pub struct TaskReading {
    /// Source or sink.
    pub kind: TaskKind,
    /// Source: polled. Sink: read from Kafka.
    pub records_in: u64,
    /// Source: acknowledged by Kafka. Sink: handed to `put`.
    pub records_out: u64,
    /// Source: sent, not yet acknowledged. Sink: read since the last offset commit.
    pub active: u64,
    /// Batch-size histogram: cumulative buckets, sum, count, max.
    pub batches: ([u64; BATCH_BUCKETS.len() + 1], u64, u64, u64),
    /// Lag behind the source, ms.
    pub lag_ms: Option<i64>,
    /// Offset commits that succeeded.
    pub commit_success: u64,
    /// Offset commits that failed.
    pub commit_failure: u64,
    /// When the last commit succeeded, ms since the epoch.
    pub last_commit_ms: Option<i64>,
    /// Records that failed.
    pub record_failures: u64,
    /// Records skipped after a failure.
    pub records_skipped: u64,
    /// Failures logged.
    pub errors_logged: u64,
    /// Dead letter queue writes.
    pub dlq_requests: u64,
    /// Dead letter queue writes that failed.
    pub dlq_failures: u64,
    /// The task's published progress.
    pub progress: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u64, u64);

    impl DeliveryCounts for Fixed {
        fn acknowledged(&self) -> u64 {
            self.0
        }
        fn in_flight(&self) -> u64 {
            self.1
        }
    }

    #[test]
    fn the_lag_comes_from_the_last_debezium_source_timestamp() {
        let shape = sluice_connector_file::datagen::EventShape::new("p", "db", "t", 3, 4);
        let mut batch = vec![shape.event(1, 1, 1_000), shape.event(1, 2, 2_000)];
        assert_eq!(batch_timestamp_ms(&batch), Some(2_000));
        // A tombstone closes the batch: the event before it tells the time.
        let mut tombstone = batch[1].clone();
        tombstone.record.value = sluice_core::SchemaAndValue::NULL;
        tombstone.record.timestamp = Some(9_999);
        batch.push(tombstone.clone());
        assert_eq!(batch_timestamp_ms(&batch), Some(2_000));
        // No envelope at all (a file source): the record's own timestamp.
        assert_eq!(batch_timestamp_ms(&[tombstone]), Some(9_999));
        assert_eq!(batch_timestamp_ms(&[]), None);
        let m = TaskMetrics::new(TaskKind::Source);
        m.source_batch(&batch);
        let lag = m.read().lag_ms.unwrap_or(-1);
        assert!((now_ms() - 2_000 - lag).abs() < 60_000, "lag {lag}");
    }

    #[test]
    fn batch_sizes_fall_in_cumulative_buckets() {
        let b = BatchSizes::default();
        for n in [1, 1, 7, 100, 101, 60_000] {
            b.observe(n);
        }
        let (buckets, sum, count, max) = b.snapshot();
        assert_eq!(buckets[0], 2, "le=1");
        assert_eq!(buckets[1], 3, "le=10");
        assert_eq!(buckets[3], 4, "le=100");
        assert_eq!(buckets[4], 5, "le=500");
        assert_eq!(buckets[BATCH_BUCKETS.len() - 1], 5, "le=50000");
        assert_eq!(buckets[BATCH_BUCKETS.len()], 6, "+Inf");
        assert_eq!((sum, count, max), (60_210, 6, 60_000));
    }

    #[test]
    fn deliveries_of_ended_instances_keep_counting() {
        let m = Arc::new(TaskMetrics::new(TaskKind::Source));
        let first = m.attach(Some(Arc::new(Fixed(10, 2))), None);
        assert_eq!((m.read().records_out, m.read().active), (10, 2));
        drop(first);
        assert_eq!((m.read().records_out, m.read().active), (10, 0));
        let second = m.attach(Some(Arc::new(Fixed(5, 1))), None);
        assert_eq!(m.read().records_out, 15);
        // A third instance attaches while the second has not detached yet.
        let third = m.attach(Some(Arc::new(Fixed(1, 0))), None);
        drop(second);
        assert_eq!(m.read().records_out, 16);
        drop(third);
        assert_eq!(m.read().records_out, 16);
    }

    #[test]
    fn sink_active_records_are_those_read_since_the_last_commit() {
        let m = TaskMetrics::new(TaskKind::Sink);
        m.sink_read(30);
        m.offset_commit(true);
        m.sink_read(5);
        let r = m.read();
        assert_eq!((r.records_in, r.active, r.commit_success), (35, 5, 1));
        assert!(r.last_commit_ms.is_some());
        assert_eq!(r.lag_ms, None);
    }
}
