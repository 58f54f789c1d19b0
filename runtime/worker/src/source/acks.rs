//! In-order acknowledgement tracking for one source task.
//!
//! Every record (even one a transform dropped) gets the next sequence number in `poll`
//! order and a slot in one queue; the producer's delivery callback marks its slot, and
//! the acknowledged *prefix* of the queue is popped into the per-partition committable
//! offsets. A commit therefore never covers a record Kafka has not acknowledged, and
//! every record before a committed offset was acknowledged. The sequence number travels
//! with the message as librdkafka's opaque (a plain integer: nothing is allocated per
//! record for the acknowledgement).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::ClientContext;
use sluice_core::record::OffsetMap;
use sluice_core::{ConnectError, SourceOffset};
use tokio::sync::Notify;

/// Records sent but not yet acknowledged, at most (librdkafka bounds bytes too).
pub const MAX_IN_FLIGHT: usize = 100_000;

struct Slot {
    partition: Arc<OffsetMap>,
    offset: SourceOffset,
    acked: bool,
}

#[derive(Default)]
struct Inner {
    /// Sequence number of `pending[0]`.
    base: u64,
    /// Records not yet in the acknowledged prefix, in send order.
    pending: VecDeque<Slot>,
    /// Latest acknowledged offset per partition (few partitions per task: a list), with the
    /// sequence number that orders partitions in a commit.
    committable: Vec<(u64, Arc<OffsetMap>, SourceOffset)>,
    failure: Option<String>,
    /// Records sent to Kafka and acknowledged (not those dropped before sending).
    delivered: u64,
    /// Records sent to Kafka and not yet acknowledged.
    in_flight: u64,
    /// When the last delivery report came (or the first record was registered).
    last_delivery: Option<std::time::Instant>,
}

impl Inner {
    /// Pops the acknowledged prefix into `committable`.
    fn advance(&mut self) {
        while self.pending.front().is_some_and(|s| s.acked) {
            let Some(slot) = self.pending.pop_front() else {
                break;
            };
            let seq = self.base;
            self.base += 1;
            match self
                .committable
                .iter_mut()
                .find(|(_, p, _)| Arc::ptr_eq(p, &slot.partition))
            {
                Some(entry) => {
                    entry.0 = seq;
                    entry.2 = slot.offset;
                }
                None => self.committable.push((seq, slot.partition, slot.offset)),
            }
        }
    }
}

/// Shared by the task loop (which registers records) and the producer's delivery
/// callback (which acknowledges them).
#[derive(Default)]
pub struct AckTracker {
    inner: Mutex<Inner>,
    /// Signalled on every delivery report: the queue or the producer's buffer has room.
    delivered: Notify,
}

impl AckTracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The delivery failure that stopped acknowledgements, if any.
    pub fn failure(&self) -> Option<ConnectError> {
        self.lock().failure.clone().map(ConnectError::Fatal)
    }

    /// Records sent and not yet acknowledged, and how long ago the last acknowledgement
    /// (or the first send after one) was: what the task is waiting for.
    pub fn waiting(&self) -> (usize, std::time::Duration) {
        let inner = self.lock();
        let unacked = inner.pending.iter().filter(|s| !s.acked).count();
        let since = inner.last_delivery.map(|t| t.elapsed()).unwrap_or_default();
        (unacked, since)
    }

    /// Registers the next record; returns its sequence number for the delivery callback.
    /// `acked` is true for a record that is not sent (dropped or skipped).
    pub fn register(&self, partition: Arc<OffsetMap>, offset: SourceOffset, acked: bool) -> u64 {
        let mut inner = self.lock();
        let seq = inner.base + inner.pending.len() as u64;
        if inner.pending.is_empty() {
            inner.last_delivery = Some(std::time::Instant::now());
        }
        inner.pending.push_back(Slot {
            partition,
            offset,
            acked,
        });
        inner.in_flight += u64::from(!acked);
        if acked && inner.pending.len() == 1 {
            inner.advance();
        }
        seq
    }

    /// Waits until fewer than [`MAX_IN_FLIGHT`] records are unacknowledged.
    pub async fn wait_for_room(&self) {
        loop {
            let notified = self.delivered.notified();
            if self.lock().pending.len() < MAX_IN_FLIGHT {
                return;
            }
            notified.await;
        }
    }

    /// Waits for the next delivery report (or failure), at most `max`.
    pub async fn wait_for_delivery(&self, max: std::time::Duration) {
        let _ = tokio::time::timeout(max, self.delivered.notified()).await;
    }

    /// Marks record `seq` delivered (or failed, which stops acknowledgements for good).
    fn delivered(&self, seq: u64, failure: Option<String>) {
        let mut inner = self.lock();
        if inner.failure.is_some() {
            return;
        }
        if let Some(f) = failure {
            tracing::error!(error = %f, "delivery failed; offsets stop at the last acknowledged record");
            inner.failure = Some(f);
            drop(inner);
            self.delivered.notify_one();
            return;
        }
        inner.last_delivery = Some(std::time::Instant::now());
        let Some(i) = seq.checked_sub(inner.base) else {
            return;
        };
        let state = &mut *inner;
        if let Some(slot) = usize::try_from(i)
            .ok()
            .and_then(|i| state.pending.get_mut(i))
        {
            slot.acked = true;
            state.delivered += 1;
            state.in_flight = state.in_flight.saturating_sub(1);
        }
        if i == 0 {
            inner.advance();
        }
        drop(inner);
        self.delivered.notify_one();
    }

    /// Takes the offsets acknowledged since the last call, oldest first.
    pub fn take_committable(&self) -> Vec<(OffsetMap, OffsetMap)> {
        let mut entries = std::mem::take(&mut self.lock().committable);
        entries.sort_by_key(|(seq, _, _)| *seq);
        entries
            .into_iter()
            .map(|(_, p, o)| (Arc::unwrap_or_clone(p), o.into_map()))
            .collect()
    }
}

impl crate::metrics::DeliveryCounts for AckTracker {
    fn acknowledged(&self) -> u64 {
        self.lock().delivered
    }

    fn in_flight(&self) -> u64 {
        self.lock().in_flight
    }
}

/// The source producer's context: delivery reports go to the task's [`AckTracker`].
pub struct SourceDeliveries(pub Arc<AckTracker>);

impl ClientContext for SourceDeliveries {}

impl ProducerContext for SourceDeliveries {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        let failure = result
            .as_ref()
            .err()
            .map(|(e, _)| format!("Kafka did not accept a record: {e}"));
        self.0.delivered(seq as u64, failure);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(name: &str) -> Arc<OffsetMap> {
        let mut m = OffsetMap::new();
        m.insert("p".into(), name.into());
        Arc::new(m)
    }

    fn offset(n: u64) -> SourceOffset {
        let mut m = OffsetMap::new();
        m.insert("n".into(), n.into());
        m.into()
    }

    #[test]
    fn only_the_acknowledged_prefix_is_committable() {
        let t = AckTracker::default();
        let (a, b) = (partition("a"), partition("b"));
        let s0 = t.register(a.clone(), offset(0), false);
        let s1 = t.register(b.clone(), offset(1), false);
        let _dropped = t.register(a.clone(), offset(2), true);
        let s3 = t.register(a.clone(), offset(3), false);
        // Out of order: 1 and 3 first; nothing before 0 is acknowledged.
        t.delivered(s1, None);
        t.delivered(s3, None);
        assert!(t.take_committable().is_empty());
        t.delivered(s0, None);
        let c = t.take_committable();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].0["p"], "b");
        assert_eq!(c[0].1["n"], 1);
        assert_eq!(c[1].0["p"], "a");
        assert_eq!(c[1].1["n"], 3);
        assert!(t.take_committable().is_empty());
    }

    #[test]
    fn acknowledged_and_in_flight_count_sent_records_only() {
        use crate::metrics::DeliveryCounts as _;
        let t = AckTracker::default();
        let p = partition("a");
        let s0 = t.register(p.clone(), offset(0), false);
        let _dropped = t.register(p.clone(), offset(1), true);
        let s2 = t.register(p, offset(2), false);
        assert_eq!((t.acknowledged(), t.in_flight()), (0, 2));
        t.delivered(s2, None);
        assert_eq!((t.acknowledged(), t.in_flight()), (1, 1));
        t.delivered(s0, None);
        assert_eq!((t.acknowledged(), t.in_flight()), (2, 0));
    }

    #[test]
    fn a_failure_stops_the_prefix() {
        let t = AckTracker::default();
        let p = partition("a");
        let s0 = t.register(p.clone(), offset(0), false);
        let s1 = t.register(p.clone(), offset(1), false);
        t.delivered(s0, None);
        t.delivered(s1, Some("broken".into()));
        let c = t.take_committable();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].1["n"], 0);
        assert!(t.failure().is_some());
        let s2 = t.register(p, offset(2), false);
        t.delivered(s2, None);
        assert!(t.take_committable().is_empty());
    }
}
