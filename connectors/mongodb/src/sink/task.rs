//! The sink task: each `put` is written before it returns, so `flush` has nothing left to
//! make durable and the runtime's offset commit never runs ahead of the data.
//!
//! Why this is right: writes are idempotent (see [`super::writes`]), so a crash between a
//! put and the offset commit only replays records whose writes already landed, which
//! leaves the same documents. A failed put returns the error; retriable ones (network,
//! elections) make the runtime retry the batch, rejected records are bad records.

use std::collections::BTreeMap;

use async_trait::async_trait;
use mongodb::{Client, Database};
use sluice_core::config::ConfigMap;
use sluice_core::plugin::SinkTask;
use sluice_core::{ConnectError, SinkRecord, TopicPartition};

use super::config::{self, SinkConfig};
use super::writes;
use crate::source::task::connect;

/// The MongoDB sink task.
#[derive(Debug, Default)]
pub struct MongoSinkTask {
    state: Option<(SinkConfig, Client, Database)>,
}

#[async_trait]
impl SinkTask for MongoSinkTask {
    async fn start(&mut self, config: &ConfigMap) -> Result<(), ConnectError> {
        let cfg = config::parse(config)?;
        config::log_not_needed(config);
        let client = connect(&cfg.connection_string, None, None, "admin").await?;
        let db = client.database(&cfg.database);
        tracing::info!(database = %cfg.database, collection = ?cfg.collection, handler = ?cfg.handler, "mongodb sink starting");
        self.state = Some((cfg, client, db));
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), ConnectError> {
        let Some((cfg, _, db)) = &self.state else {
            return Err(ConnectError::Fatal("mongodb sink: put before start".into()));
        };
        if records.is_empty() {
            return Ok(());
        }
        for (coll, ws) in writes::by_collection(cfg, &records)? {
            writes::execute(db, &coll, ws, cfg.batch_size).await?;
        }
        Ok(())
    }

    async fn flush(
        &mut self,
        _offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<(), ConnectError> {
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        self.state = None;
        Ok(())
    }
}
