//! MongoDB connectors, Debezium-compatible: the change-stream source ([`source`]) and the
//! sink (sink: to come).
//!
//! A Debezium MongoDB connector config runs unchanged on the source: the same keys, class
//! name, topics and event shapes (`after` / `before` as Extended JSON strings,
//! `updateDescription`, keys `{"id": …}`), resume tokens in Debezium's offset keys, and a
//! lost resume token fails with the two ways out. [`extjson`] writes BSON the way
//! Debezium's Java driver does.

pub mod error;
pub mod extjson;
pub mod source;

use async_trait::async_trait;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{PluginInfo, PluginType, SourceConnector};
use sluice_core::ConnectError;

pub use source::task::MongoSourceTask;

/// The source plugin's identity: Debezium's class name.
pub const INFO: PluginInfo = PluginInfo {
    class: "io.debezium.connector.mongodb.MongoDbConnector",
    aliases: &["mongodb", "MongoDbConnector"],
    kind: PluginType::Source,
    config: source::config::config_def,
};

/// The source connector: validates the config and runs one task (one change stream).
#[derive(Debug, Default)]
pub struct MongoSourceConnector {
    config: ConfigMap,
}

#[async_trait]
impl SourceConnector for MongoSourceConnector {
    async fn start(&mut self, config: &ConfigMap) -> Result<(), ConnectError> {
        source::config::parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<ConfigMap>, ConnectError> {
        Ok(vec![self.config.clone()])
    }
}
