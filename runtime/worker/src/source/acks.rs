//! In-order acknowledgement tracking for one source task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rdkafka::producer::DeliveryFuture;
use sluice_core::record::OffsetMap;
use sluice_core::ConnectError;
use tokio::sync::mpsc;

/// One record in flight: its source position and its delivery (none when the record
/// was dropped by a transform or skipped under `errors.tolerance=all`).
pub struct InFlight {
    /// Source partition.
    pub partition: Arc<OffsetMap>,
    /// Source offset.
    pub offset: OffsetMap,
    /// Broker acknowledgement.
    pub delivery: Option<DeliveryFuture>,
}

#[derive(Default)]
struct Inner {
    /// Latest acknowledged offset per partition `Arc` (keyed by address; the entry holds
    /// the `Arc`, so the address is not reused), with its sequence number.
    committable: HashMap<usize, (u64, Arc<OffsetMap>, OffsetMap)>,
    seq: u64,
    failure: Option<String>,
}

/// Shared between the task loop and the acknowledgement tracker.
#[derive(Default)]
pub struct AckState {
    inner: Mutex<Inner>,
}

impl AckState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The delivery failure that stopped acknowledgements, if any.
    pub fn failure(&self) -> Option<ConnectError> {
        self.lock().failure.clone().map(ConnectError::Fatal)
    }

    /// Takes the offsets acknowledged since the last call, oldest first.
    pub fn take_committable(&self) -> Vec<(OffsetMap, OffsetMap)> {
        let mut entries: Vec<_> = self.lock().committable.drain().map(|(_, e)| e).collect();
        entries.sort_by_key(|(seq, _, _)| *seq);
        entries
            .into_iter()
            .map(|(_, p, o)| (Arc::unwrap_or_clone(p), o))
            .collect()
    }
}

/// Awaits deliveries in send order, publishing each acknowledged offset.
pub async fn ack_in_order(mut rx: mpsc::Receiver<InFlight>, state: Arc<AckState>) {
    while let Some(item) = rx.recv().await {
        if let Some(delivery) = item.delivery {
            let failure = match delivery.await {
                Ok(Ok(_)) => None,
                Ok(Err((e, _))) => Some(format!("Kafka did not accept a record: {e}")),
                Err(_) => {
                    Some("the producer was closed before the record was acknowledged".to_owned())
                }
            };
            if let Some(f) = failure {
                tracing::error!(error = %f, "delivery failed; offsets stop at the last acknowledged record");
                state.lock().failure = Some(f);
                return;
            }
        }
        let mut inner = state.lock();
        inner.seq += 1;
        let seq = inner.seq;
        let key = Arc::as_ptr(&item.partition) as usize;
        inner
            .committable
            .insert(key, (seq, item.partition, item.offset));
    }
}
