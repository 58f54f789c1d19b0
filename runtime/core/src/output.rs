//! The hand-off from a source connector's reader (a snapshot, a binlog or change-stream
//! reader running in its own task) to `poll`: batches through a bounded channel.
//!
//! Why this is right: the channel holds at most two batches, so when Kafka is slow the
//! reader waits on `send` and stops reading from the database (the server's TCP window, or
//! no further `getMore`, holds its position) — memory stays bounded whatever the backlog.
//! A send that finds the receiver gone means the task was stopped; the reader then ends
//! quietly.

use tokio::sync::mpsc;

use crate::{ConnectError, SourceRecord};
/// What the reader hands to `poll`.
pub type Batch = Result<Vec<SourceRecord>, ConnectError>;

/// Collects records into batches and sends them.
#[derive(Debug)]
pub struct Output {
    tx: mpsc::Sender<Batch>,
    batch: Vec<SourceRecord>,
    max: usize,
}

impl Output {
    /// A new output sending batches of at most `max` records.
    pub fn new(tx: mpsc::Sender<Batch>, max: usize) -> Self {
        Output {
            tx,
            batch: Vec::with_capacity(max),
            max,
        }
    }

    /// Adds a record.
    pub fn push(&mut self, r: SourceRecord) {
        self.batch.push(r);
    }

    /// Records waiting to be sent.
    pub fn pending(&self) -> usize {
        self.batch.len()
    }

    /// True when the batch is full.
    pub fn full(&self) -> bool {
        self.batch.len() >= self.max
    }

    /// True when the task is gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Sends what is waiting; false when the task is gone.
    pub async fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return !self.tx.is_closed();
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.max));
        self.tx.send(Ok(batch)).await.is_ok()
    }

    /// Reports a failure to `poll`.
    pub async fn fail(&mut self, e: ConnectError) {
        let _ = self.flush().await;
        let _ = self.tx.send(Err(e)).await;
    }
}
