//! Exactly-once source delivery (KIP-618): a task's records and the offsets that say
//! how far it got are written in one Kafka transaction, by one transactional producer
//! whose `transactional.id` is `<group>-<connector>-<task>`.
//!
//! Why every record is seen exactly once by a `read_committed` consumer:
//! - A transaction holds the records of one poll (or one `transaction.boundary.interval.ms`)
//!   and, last, the offset records of exactly those records (every record of the
//!   transaction is delivered to it before the offsets are taken). Records and offsets
//!   become visible together or not at all.
//! - A restarted task (on any worker) first calls `initTransactions` with the same
//!   `transactional.id`: the broker bumps the producer epoch, aborts whatever the
//!   previous incarnation (a killed worker, a zombie still running) left open, and
//!   refuses that incarnation's later writes and commits (fencing). Only then does the
//!   task read its offsets, which are read `read_committed`, so it resumes right after
//!   the last committed transaction: what was aborted is read from the source again,
//!   what was committed is not.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer};
use sluice_core::record::OffsetMap;
use sluice_core::ConnectError;

use super::SourceProducer;

/// The opaque of offset records: the ack tracker counts only the task's own records.
pub(super) const OFFSET_RECORD: usize = usize::MAX;

/// How a source task writes transactionally.
#[derive(Debug, Clone)]
pub struct TransactionSettings {
    /// `offset.storage.topic`, which receives the offsets inside each transaction.
    pub offset_topic: String,
    /// `transaction.boundary=interval`: commit this often; `None` commits every poll.
    pub interval: Option<Duration>,
    /// How long initialising or committing a transaction may take.
    pub timeout: Duration,
}

fn fatal(what: &str, e: &KafkaError) -> ConnectError {
    let fenced = matches!(
        e.rdkafka_error_code(),
        Some(RDKafkaErrorCode::Fenced | RDKafkaErrorCode::ProducerFenced)
    );
    if fenced {
        ConnectError::Fatal(format!(
            "{what}: this task's producer was fenced by a newer instance of the same task (transactional.id); this instance stops"
        ))
    } else {
        ConnectError::Fatal(format!("{what}: {e}"))
    }
}

/// Registers the transactional id with the broker, fencing earlier instances and
/// aborting what they left open.
pub(super) async fn init(
    producer: &std::sync::Arc<SourceProducer>,
    timeout: Duration,
) -> Result<(), ConnectError> {
    let p = producer.clone();
    tokio::task::spawn_blocking(move || p.init_transactions(timeout))
        .await
        .map_err(|e| ConnectError::Fatal(format!("initialising transactions panicked: {e}")))?
        .map_err(|e| fatal("initialising the task's transactions", &e))
}

/// Opens a transaction.
pub(super) fn begin(producer: &SourceProducer) -> Result<(), ConnectError> {
    producer
        .begin_transaction()
        .map_err(|e| fatal("beginning a transaction", &e))
}

/// Waits until every record sent in the open transaction is delivered to it.
pub(super) async fn flush(
    producer: &std::sync::Arc<SourceProducer>,
    timeout: Duration,
) -> Result<(), ConnectError> {
    let p = producer.clone();
    tokio::task::spawn_blocking(move || p.flush(timeout))
        .await
        .map_err(|e| ConnectError::Fatal(format!("flushing panicked: {e}")))?
        .map_err(|e| fatal("delivering the transaction's records", &e))
}

/// Adds the offset records to the open transaction and commits it; on failure aborts
/// it (best effort) and fails the task, which restarts from the last committed offsets.
pub(super) async fn commit(
    producer: &std::sync::Arc<SourceProducer>,
    settings: &TransactionSettings,
    connector: &str,
    offsets: &[(OffsetMap, OffsetMap)],
) -> Result<(), ConnectError> {
    for (partition, offset) in offsets {
        let key = crate::distributed::offset_store::offset_key(connector, partition);
        let value = crate::distributed::offset_store::offset_value(offset);
        loop {
            let record: BaseRecord<'_, [u8], [u8], usize> =
                BaseRecord::with_opaque_to(&settings.offset_topic, OFFSET_RECORD)
                    .key(key.as_slice())
                    .payload(value.as_slice());
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((e, _)) => {
                    abort(producer, settings.timeout).await;
                    return Err(fatal("writing offsets into the transaction", &e));
                }
            }
        }
    }
    let p = producer.clone();
    let timeout = settings.timeout;
    let committed = tokio::task::spawn_blocking(move || p.commit_transaction(timeout))
        .await
        .map_err(|e| ConnectError::Fatal(format!("committing panicked: {e}")))?;
    if let Err(e) = committed {
        abort(producer, settings.timeout).await;
        return Err(fatal("committing the transaction", &e));
    }
    Ok(())
}

/// Aborts the open transaction, if the producer still can.
pub(super) async fn abort(producer: &std::sync::Arc<SourceProducer>, timeout: Duration) {
    let p = producer.clone();
    let aborted = tokio::task::spawn_blocking(move || p.abort_transaction(timeout)).await;
    if let Ok(Err(e)) = aborted {
        tracing::warn!(error = %e, "aborting the transaction failed; the broker aborts it when it times out or the task's next instance starts");
    }
}
