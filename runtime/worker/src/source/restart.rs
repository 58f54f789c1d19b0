//! Starting a source task, and restarting it in place after a retriable failure.
//!
//! Why nothing is lost: before a restart the producer is flushed and every acknowledged
//! offset committed; the task then starts again from the committed offsets, exactly as
//! after a worker restart, so records after them are read again (duplicates at worst).
//! Between attempts the task stays RUNNING with a `trace` saying what failed, which
//! attempt this is and when the next one is, for `/status`.

use sluice_core::plugin::SourceTaskContext;
use sluice_core::{ConnectError, ErrorClass};
use tokio::sync::watch;

use super::SourceTaskRunner;
use crate::task::{set_state, SharedState, Stage};

/// How long without an acknowledgement, with records outstanding, before `/status` says
/// the task waits for the brokers.
const SILENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Shows in `/status` (as the RUNNING task's trace) that sent records wait for the
/// brokers' acknowledgement (a broker down: the producer keeps them and retries until
/// `message.timeout.ms`), and clears it once acknowledgements flow; returns whether it
/// is shown.
pub(super) fn report_waiting(
    id: &crate::task::TaskId,
    acks: &super::AckTracker,
    state: &SharedState,
    shown: bool,
) -> bool {
    let (unacked, since) = acks.waiting();
    if unacked > 0 && since >= SILENCE {
        let trace = format!(
            "Waiting for the Kafka brokers: {unacked} records sent and not acknowledged, no acknowledgement for {} s; the producer retries until message.timeout.ms",
            since.as_secs()
        );
        if !shown {
            tracing::warn!(task = %id, unacked, silent_secs = since.as_secs(), "no acknowledgement from the brokers; waiting");
        }
        set_state(state, "RUNNING", Some(trace));
        true
    } else {
        if shown {
            tracing::info!(task = %id, "the brokers acknowledge records again");
            set_state(state, "RUNNING", None);
        }
        false
    }
}

impl SourceTaskRunner {
    /// Starts the task; after `failed` (a retriable failure of the running task), first
    /// stops it and waits its backoff. Retries retriable start failures the same way.
    /// `Ok(false)` when asked to stop meanwhile; `Err` when the retry time
    /// (`errors.retry.timeout`, when positive) is up or the failure is not retriable.
    pub(super) async fn start_task(
        &mut self,
        stop: &mut watch::Receiver<bool>,
        state: &SharedState,
        mut failed: Option<ConnectError>,
    ) -> Result<bool, ConnectError> {
        let mut backoff = self.policy.task_retry().start();
        loop {
            if let Some(error) = failed.take() {
                let Some(wait) = backoff.next_delay() else {
                    return Err(ConnectError::Fatal(format!(
                        "{error}; gave up after {} attempts over errors.retry.timeout",
                        backoff.attempts()
                    )));
                };
                let attempt = backoff.attempts();
                tracing::warn!(task = %self.id, stage = Stage::TaskPoll.name(), attempt, wait_ms = wait.as_millis() as u64, error = %error, "source task failed with a retriable error; restarting it from its committed offsets");
                set_state(
                    state,
                    "RUNNING",
                    Some(format!(
                        "Retrying after a retriable failure in stage {} (attempt {attempt}, next in {} ms): {error}",
                        Stage::TaskPoll,
                        wait.as_millis()
                    )),
                );
                self.settle().await;
                if let Err(e) = self.task.stop().await {
                    tracing::warn!(task = %self.id, error = %e, "source task stop failed");
                }
                tokio::select! {
                    _ = stop.changed() => return Ok(false),
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            let committed = match self.offsets.offsets_for(&self.id.connector).await {
                Ok(c) => c,
                Err(e) => {
                    return Err(ConnectError::Fatal(format!(
                        "reading the offsets of {}: {e}",
                        self.id
                    )))
                }
            };
            let context = SourceTaskContext::new(committed).with_progress(self.progress.clone());
            match self.task.start(&self.config, context).await {
                Ok(()) => {
                    if backoff.attempts() > 0 {
                        tracing::info!(task = %self.id, attempts = backoff.attempts(), "source task resumed from its committed offsets");
                    }
                    set_state(state, "RUNNING", None);
                    return Ok(true);
                }
                Err(e) if e.class() == ErrorClass::Retriable => failed = Some(e),
                Err(e) => return Err(e),
            }
        }
    }

    /// Lets the producer deliver what was sent (up to `offset.flush.timeout.ms`) and
    /// commits what was acknowledged.
    async fn settle(&mut self) {
        let deadline = self.flush_timeout;
        let producer = self.producer.clone();
        let flushed = tokio::task::spawn_blocking(move || {
            use rdkafka::producer::Producer as _;
            producer.flush(deadline)
        })
        .await;
        if let Ok(Err(e)) = flushed {
            tracing::warn!(task = %self.id, error = %e, "producer flush before the restart did not finish; unacknowledged records will be sent again");
        }
        let acks = self.acks.clone();
        let metrics = crate::metrics::global().task(&self.id, crate::metrics::TaskKind::Source);
        if let Err(e) = self.commit(&acks, &metrics).await {
            tracing::warn!(task = %self.id, error = %e, "committing offsets before the restart failed");
        }
    }
}
