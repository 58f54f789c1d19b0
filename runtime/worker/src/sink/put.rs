//! `put` under Kafka Connect's rule for a sink's retriable failures (a database that is
//! restarting, a dropped connection): the same batch is offered again, with backoff,
//! until it is taken; forever unless `errors.retry.timeout` is positive. Offsets are not
//! committed meanwhile, so nothing is skipped; sinks write idempotently, so a batch that
//! was partly written before the failure is written again harmlessly. While it retries
//! the task stays RUNNING with a `trace` saying what failed and when it tries again.

use sluice_core::{ConnectError, ErrorClass, SinkRecord};
use tokio::sync::watch;

use super::SinkTaskRunner;
use crate::task::{set_state, SharedState, Stage};

impl SinkTaskRunner {
    /// Puts `batch`, retrying retriable failures; `Ok(false)` when asked to stop meanwhile.
    pub(super) async fn put(
        &mut self,
        batch: Vec<SinkRecord>,
        stop: &mut watch::Receiver<bool>,
        state: &SharedState,
    ) -> Result<bool, ConnectError> {
        let mut backoff = self.policy.task_retry().start();
        loop {
            let error = match self.task.put(batch.clone()).await {
                Ok(()) => {
                    if backoff.attempts() > 0 {
                        tracing::info!(task = %self.id, attempts = backoff.attempts(), records = batch.len(), "put succeeded after retries");
                        set_state(state, "RUNNING", None);
                    }
                    return Ok(true);
                }
                Err(e) if e.class() == ErrorClass::Retriable => e,
                Err(e) => return Err(e),
            };
            let Some(wait) = backoff.next_delay() else {
                return Err(ConnectError::Fatal(format!(
                    "{error}; gave up after {} attempts over errors.retry.timeout",
                    backoff.attempts()
                )));
            };
            let attempt = backoff.attempts();
            tracing::warn!(task = %self.id, stage = Stage::TaskPut.name(), attempt, wait_ms = wait.as_millis() as u64, records = batch.len(), error = %error, "put failed with a retriable error; retrying the batch");
            set_state(
                state,
                "RUNNING",
                Some(format!(
                    "Retrying after a retriable failure in stage {} (attempt {attempt}, next in {} ms): {error}",
                    Stage::TaskPut,
                    wait.as_millis()
                )),
            );
            tokio::select! {
                _ = stop.changed() => return Ok(false),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}
