//! MySQL / MariaDB binlog source, Debezium-compatible.
//!
//! A Debezium MySQL connector config runs unchanged: the same keys, the same class names,
//! the same topics and the same event shapes. What differs is underneath: table schemas
//! come from the binlog itself (`binlog_row_metadata=FULL`), so there is no DDL parser and
//! no schema history topic; snapshots are chunked by primary key and resume after a crash;
//! a lost binlog position fails with the two ways out.
//!
//! Layout: [`config`] (keys), [`checks`] (start-up checks, connections), [`snapshot`]
//! (consistent, chunked, resumable), [`replication`] (binlog reader), [`decode`] (row
//! images), [`convert`] (values as Debezium represents them), [`schema`] (Connect schemas per
//! table version), [`envelope`] (record shapes), [`offsets`], [`gtid`] (MySQL GTID sets),
//! [`task`]. The MySQL sink lives in [`sink`].

pub mod checks;
pub mod config;
pub mod convert;
pub mod decode;
pub mod envelope;
pub mod error;
pub mod filters;
pub mod gtid;
pub mod offsets;
pub mod replication;
pub mod schema;
pub mod sink;
pub mod snapshot;
pub mod task;
pub mod tls;

use async_trait::async_trait;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{PluginInfo, PluginType, SourceConnector};
use sluice_core::ConnectError;

pub use task::MySqlTask;

/// The plugin's identity: Debezium's class names, MySQL's and MariaDB's.
pub const INFO: PluginInfo = PluginInfo {
    class: "io.debezium.connector.mysql.MySqlConnector",
    aliases: &[
        "mysql",
        "mariadb",
        "io.debezium.connector.mariadb.MariaDbConnector",
        "MySqlConnector",
        "MariaDbConnector",
    ],
    kind: PluginType::Source,
    config: config::config_def,
};

/// The connector: validates the config and runs one task (a binlog has one reader).
#[derive(Debug, Default)]
pub struct MySqlConnector {
    config: ConfigMap,
}

#[async_trait]
impl SourceConnector for MySqlConnector {
    async fn start(&mut self, config: &ConfigMap) -> Result<(), ConnectError> {
        config::parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<ConfigMap>, ConnectError> {
        Ok(vec![self.config.clone()])
    }
}
