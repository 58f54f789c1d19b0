//! Transformations and converters run under the retry policy: a retriable failure is
//! tried again with backoff until `errors.retry.timeout`; the caller reports what is
//! left.

use sluice_core::plugin::{Converter, Transform};
use sluice_core::{ConnectError, ErrorClass, Record, SchemaAndValue};

use super::{RetryPolicy, Stage};
use crate::task::{apply_transforms, TaskId};

/// Runs `record` through `chain`, retrying the whole chain on a retriable failure (from a
/// copy of the record: transformations take records by value). `Err` carries the failing
/// transformation's index.
pub async fn apply_chain(
    task: &TaskId,
    retry: &RetryPolicy,
    chain: &mut [Box<dyn Transform>],
    record: Record,
) -> Result<Option<Record>, (usize, ConnectError)> {
    if chain.is_empty() {
        return Ok(Some(record));
    }
    if !retry.retries() {
        return apply_transforms(chain, record);
    }
    let mut backoff = retry.start();
    loop {
        match apply_transforms(chain, record.clone()) {
            Err((i, e)) if e.class() == ErrorClass::Retriable => match backoff.next_delay() {
                Some(wait) => {
                    tracing::warn!(task = %task, stage = Stage::Transformation.name(), index = i, attempt = backoff.attempts(), wait_ms = wait.as_millis() as u64, error = %e, "retriable failure; retrying");
                    tokio::time::sleep(wait).await;
                }
                None => return Err((i, e)),
            },
            other => return other,
        }
    }
}

/// `converter.from_connect` under the retry policy.
pub async fn convert(
    task: &TaskId,
    retry: &RetryPolicy,
    stage: Stage,
    converter: &dyn Converter,
    topic: &str,
    data: &SchemaAndValue,
) -> Result<Option<Vec<u8>>, ConnectError> {
    retry
        .run(
            || converter.from_connect(topic, data),
            |attempt, wait, e| tracing::warn!(task = %task, stage = stage.name(), attempt, wait_ms = wait.as_millis() as u64, error = %e, "retriable failure; retrying"),
        )
        .await
}
