//! Prometheus metrics of the worker, served as `GET /metrics` by the REST router.
//!
//! Names follow Kafka Connect's JMX attributes in Prometheus spelling
//! (`source-record-poll-total` → `source_record_poll_total`), labelled `connector` and
//! `task`; see [`page`] for the full list.
//!
//! Cost on the hot path: a task executor holds its [`TaskMetrics`] (one `Arc`, looked up
//! once when the task instance starts) and adds to a few relaxed atomics once per batch;
//! nothing is locked, hashed or allocated per record. The records Kafka acknowledged are
//! counted by the acknowledgement tracker under the lock it already takes per delivery,
//! and read only when the page is scraped.
//!
//! One registry per process ([`global`]): a process runs one worker, and both herders,
//! both task executors and the REST router reach the same registry without threading a
//! handle through every constructor. Task metrics are kept per `(connector, task)`, so
//! counters go on across restarts of a task in this process (Kafka Connect re-creates
//! them per task instance; Prometheus' `rate()` reads either alike); they are dropped
//! when the connector is deleted.

pub mod page;
pub mod process;
pub mod task;
pub mod text;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};

pub use page::serve;
pub use task::{DeliveryCounts, TaskKind, TaskMetrics};

use crate::task::TaskId;

/// Worker-wide counters (Kafka Connect's `connect-worker-rebalance-metrics`).
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    rebalances: AtomicU64,
    generation: AtomicI64,
    last_rebalance_ms: AtomicI64,
}

impl WorkerMetrics {
    /// A rebalance completed with `generation`: this worker applied its new assignment.
    pub fn rebalance_completed(&self, generation: i32) {
        self.rebalances.fetch_add(1, Relaxed);
        self.generation.store(i64::from(generation), Relaxed);
        self.last_rebalance_ms.store(task::now_ms(), Relaxed);
    }

    /// Rebalances completed, the last generation, and when the last one completed (ms
    /// since the epoch, 0 = never).
    pub fn read(&self) -> (u64, i64, i64) {
        (
            self.rebalances.load(Relaxed),
            self.generation.load(Relaxed),
            self.last_rebalance_ms.load(Relaxed),
        )
    }
}

/// Every metric of one worker.
#[derive(Debug, Default)]
pub struct Registry {
    tasks: Mutex<BTreeMap<TaskId, Arc<TaskMetrics>>>,
    worker: WorkerMetrics,
    worker_id: Mutex<Option<String>>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<TaskId, Arc<TaskMetrics>>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The metrics of task `id`, created on first use (or when the connector was
    /// replaced by one of the other kind).
    pub fn task(&self, id: &TaskId, kind: TaskKind) -> Arc<TaskMetrics> {
        let mut tasks = self.lock();
        match tasks.get(id) {
            Some(m) if m.kind() == kind => m.clone(),
            _ => {
                let m = Arc::new(TaskMetrics::new(kind));
                tasks.insert(id.clone(), m.clone());
                m
            }
        }
    }

    /// The metrics of task `id` if it ran in this process.
    pub fn existing(&self, id: &TaskId) -> Option<Arc<TaskMetrics>> {
        self.lock().get(id).cloned()
    }

    /// Every task's metrics, by id.
    pub fn tasks(&self) -> Vec<(TaskId, Arc<TaskMetrics>)> {
        self.lock()
            .iter()
            .map(|(id, m)| (id.clone(), m.clone()))
            .collect()
    }

    /// Forgets the tasks of connectors `keep` does not accept (deleted connectors).
    pub fn retain_connectors(&self, keep: impl Fn(&str) -> bool) {
        self.lock().retain(|id, _| keep(&id.connector));
    }

    /// Worker-wide counters.
    pub fn worker(&self) -> &WorkerMetrics {
        &self.worker
    }

    /// Names this worker (`host:port`, as statuses show it), so the page counts only
    /// the connectors and tasks that run here.
    pub fn set_worker_id(&self, id: &str) {
        *self.worker_id.lock().unwrap_or_else(|p| p.into_inner()) = Some(id.to_owned());
    }

    /// This worker's id, once a herder set it.
    pub fn worker_id(&self) -> Option<String> {
        self.worker_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The process's registry.
pub fn global() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

/// Counts a failed record of task `id` (error path only: looks the task up).
pub fn record_failure(id: &TaskId, skipped: bool, logged: bool) {
    if let Some(m) = global().existing(id) {
        m.record_failure(skipped, logged);
    }
}

/// Counts a write of task `id` to the dead letter queue (`ok`) or its failure.
pub fn dead_letter_produce(id: &TaskId, ok: bool) {
    if let Some(m) = global().existing(id) {
        m.dead_letter_produce(ok);
    }
}
