//! The MySQL / MariaDB sink (`mysql-sink`): writes Kafka records into tables, reading
//! Debezium change events directly (no `ExtractNewRecordState` needed) as well as flat
//! records, with the keys of Debezium's and Confluent's JDBC sinks.
//!
//! Why delivery is right: `put` turns its records into changes ([`records`]), keeps the
//! last change of each key and writes them all in one transaction ([`writer`]); it
//! returns only after `COMMIT`. So when the worker calls `flush` and then commits the
//! Kafka offsets, every record up to them is durable in the table, and `flush` has
//! nothing left to do. A crash anywhere before that commit re-delivers the records, which
//! the upsert by primary key applies again with the same result (see [`writer`]).
//!
//! Layout: [`config`] (keys), [`records`] (record → change), [`table`] (table names),
//! [`types`] (Connect → MySQL types and values), [`sql`] (statements), [`writer`]
//! (reduction, DDL, the transaction), [`error`].

pub mod config;
pub mod error;
pub mod records;
pub mod sql;
pub mod table;
pub mod types;
pub mod writer;

use std::collections::BTreeMap;
use std::time::Instant;

use async_trait::async_trait;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{PluginInfo, PluginType, SinkConnector, SinkTask};
use sluice_core::{ConnectError, SinkRecord, TopicPartition};

use writer::Writer;

/// The plugin's identity: Sluice's name and the JDBC sinks' class names, whose keys it reads.
pub const INFO: PluginInfo = PluginInfo {
    class: "mysql-sink",
    aliases: &[
        "io.debezium.connector.jdbc.JdbcSinkConnector",
        "io.confluent.connect.jdbc.JdbcSinkConnector",
        "JdbcSinkConnector",
        "mariadb-sink",
        "MySqlSinkConnector",
    ],
    kind: PluginType::Sink,
    config: config::config_def,
};

/// The connector: validates the config and runs `tasks.max` identical tasks (Kafka's
/// consumer group spreads the partitions; keys stay in one partition, so per-key order
/// holds across tasks).
#[derive(Debug, Default)]
pub struct MySqlSinkConnector {
    config: ConfigMap,
}

#[async_trait]
impl SinkConnector for MySqlSinkConnector {
    async fn start(&mut self, config: &ConfigMap) -> Result<(), ConnectError> {
        config::parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<ConfigMap>, ConnectError> {
        Ok(vec![self.config.clone(); max_tasks.max(1)])
    }
}

/// Writes records into MySQL / MariaDB tables.
#[derive(Debug, Default)]
pub struct MySqlSinkTask {
    writer: Option<Writer>,
    config: Option<config::SinkConfig>,
    rows: u64,
    records: u64,
    /// Time spent in the database (statements and commits).
    db_time: std::time::Duration,
    since: Option<Instant>,
    last_report: Option<Instant>,
}

impl MySqlSinkTask {
    async fn writer(&mut self) -> Result<&mut Writer, ConnectError> {
        if self.writer.is_none() {
            let cfg = self
                .config
                .clone()
                .ok_or_else(|| ConnectError::Fatal("mysql-sink written before start".into()))?;
            self.writer = Some(Writer::connect(cfg).await?);
        }
        self.writer
            .as_mut()
            .ok_or_else(|| ConnectError::Fatal("mysql-sink has no connection".into()))
    }
}

#[async_trait]
impl SinkTask for MySqlSinkTask {
    async fn start(&mut self, config: &ConfigMap) -> Result<(), ConnectError> {
        let cfg = config::parse(config)?;
        config::log_not_needed(config);
        tracing::info!(
            host = %cfg.hostname,
            port = cfg.port,
            database = %cfg.database,
            insert_mode = ?cfg.insert_mode,
            pk_mode = ?cfg.pk_mode,
            table_format = %cfg.table_format,
            "mysql sink task starting"
        );
        self.config = Some(cfg);
        self.writer().await?;
        let now = Instant::now();
        self.since = Some(now);
        self.last_report = Some(now);
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), ConnectError> {
        let cfg = self
            .config
            .clone()
            .ok_or_else(|| ConnectError::Fatal("mysql-sink written before start".into()))?;
        let n = records.len();
        let mut changes = Vec::with_capacity(n);
        for r in records {
            if let Some(c) = records::change_of(r, &cfg)? {
                changes.push(c);
            }
        }
        if changes.is_empty() {
            self.records += n as u64;
            return Ok(());
        }
        let writer = self.writer().await?;
        let began = Instant::now();
        let result = writer.write(changes).await;
        self.db_time += began.elapsed();
        if result.is_err() {
            // The writer dropped a broken connection; the next put reconnects.
            if let Some(mut w) = self.writer.take() {
                w.close().await;
            }
        }
        let rows = result?;
        self.rows += rows as u64;
        self.records += n as u64;
        let now = Instant::now();
        if let (Some(since), Some(last)) = (self.since, self.last_report) {
            if now.duration_since(last).as_secs() >= 10 {
                let secs = now.duration_since(since).as_secs_f64().max(1e-3);
                tracing::info!(
                    records = self.records,
                    rows = self.rows,
                    rows_per_sec = (self.rows as f64 / secs) as u64,
                    db_ms = self.db_time.as_millis() as u64,
                    "mysql sink progress"
                );
                self.last_report = Some(now);
            }
        }
        tracing::debug!(records = n, rows, "mysql sink put committed");
        Ok(())
    }

    async fn flush(
        &mut self,
        _offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<(), ConnectError> {
        // Every put committed its transaction before returning.
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        tracing::info!(
            records = self.records,
            rows = self.rows,
            db_ms = self.db_time.as_millis() as u64,
            "mysql sink task stopping"
        );
        if let Some(mut w) = self.writer.take() {
            w.close().await;
        }
        Ok(())
    }
}
