//! The datagen task: emits batches, paced to `rate` when set.

use std::time::Duration;

use async_trait::async_trait;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{SourceTask, SourceTaskContext};
use sluice_core::{ConnectError, SourceRecord};
use tokio::time::Instant;

use super::{config_def, EventShape};

/// Generates events.
#[derive(Debug, Default)]
pub struct DatagenTask {
    shape: Option<EventShape>,
    seed: u64,
    next_seq: u64,
    max_records: Option<u64>,
    rate: u64,
    batch_size: u64,
    started: Option<(Instant, u64)>,
}

#[async_trait]
impl SourceTask for DatagenTask {
    async fn start(
        &mut self,
        config: &ConfigMap,
        context: SourceTaskContext,
    ) -> Result<(), ConnectError> {
        let p = crate::parse_config("datagen", &config_def(), config)?;
        let shape = EventShape::new(
            p.string_or_default("topic.prefix"),
            p.string_or_default("database.name"),
            p.string_or_default("table.name"),
            p.long("columns") as usize,
            p.long("string.length") as usize,
        );
        self.seed = p.long("seed") as u64;
        self.max_records = u64::try_from(p.long("max.records")).ok();
        self.rate = p.long("rate") as u64;
        self.batch_size = p.long("batch.size") as u64;
        if let Some(offset) = context.offset(shape.partition()) {
            self.next_seq = offset
                .get("seq")
                .and_then(serde_json::Value::as_u64)
                .map(|s| s + 1)
                .ok_or_else(|| {
                    ConnectError::Fatal(format!("datagen: stored offset {offset:?} has no numeric \"seq\"; reset the connector's offsets"))
                })?;
            tracing::info!(
                next_seq = self.next_seq,
                "datagen resuming after the committed offset"
            );
        }
        self.shape = Some(shape);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        let Some(shape) = &self.shape else {
            return Err(ConnectError::Fatal("datagen polled before start".into()));
        };
        let mut n = self.batch_size;
        if let Some(max) = self.max_records {
            n = n.min(max.saturating_sub(self.next_seq));
            if n == 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                return Ok(Vec::new());
            }
        }
        if self.rate > 0 {
            let (t0, seq0) = *self.started.get_or_insert((Instant::now(), self.next_seq));
            let due =
                t0 + Duration::from_secs_f64((self.next_seq - seq0) as f64 / self.rate as f64);
            tokio::time::sleep_until(due).await;
            n = n.min(self.rate.div_ceil(10).max(1));
        }
        let now = crate::now_ms();
        let out = (self.next_seq..self.next_seq + n)
            .map(|seq| shape.event(self.seed, seq, now))
            .collect();
        self.next_seq += n;
        Ok(out)
    }
}
