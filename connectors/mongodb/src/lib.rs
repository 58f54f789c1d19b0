//! MongoDB connectors, Debezium-compatible: the change-stream source ([`source`]) and the
//! sink ([`sink`]).
//!
//! A Debezium MongoDB connector config runs unchanged on the source: the same keys, class
//! name, topics and event shapes (`after` / `before` as Extended JSON strings,
//! `updateDescription`, keys `{"id": …}`), resume tokens in Debezium's offset keys, and a
//! lost resume token fails with the two ways out. [`extjson`] writes BSON the way
//! Debezium's Java driver does.

pub mod error;
pub mod extjson;
pub mod sink;
pub mod source;

use async_trait::async_trait;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{PluginInfo, PluginType, SinkConnector, SourceConnector};
use sluice_core::ConnectError;

pub use sink::task::MongoSinkTask;
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

/// The sink plugin's identity: the MongoDB Kafka sink connector's class name, whose main
/// keys (`connection.uri`, `database`, `collection`, `change.data.capture.handler`,
/// `delete.on.null.values`) it accepts.
pub const SINK_INFO: PluginInfo = PluginInfo {
    class: "com.mongodb.kafka.connect.MongoSinkConnector",
    aliases: &["mongodb-sink", "MongoSinkConnector"],
    kind: PluginType::Sink,
    config: sink::config::config_def,
};

/// The sink connector: validates the config; any number of tasks (writes are per `_id`).
#[derive(Debug, Default)]
pub struct MongoSinkConnector {
    config: ConfigMap,
}

#[async_trait]
impl SinkConnector for MongoSinkConnector {
    async fn start(&mut self, config: &ConfigMap) -> Result<(), ConnectError> {
        sink::config::parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<ConfigMap>, ConnectError> {
        Ok(vec![self.config.clone(); max_tasks.max(1)])
    }
}
