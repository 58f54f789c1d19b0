//! `datagen`: synthetic Debezium MySQL-shaped change events (`op` c / u / d with
//! `before`, `after`, `source`), deterministic for a seed, `columns` wide, at a set
//! rate or as fast as possible. Record `n` is a pure function of `(seed, n)`, and the
//! offset is `{"seq": n}`, so a restart regenerates exactly the records after the
//! last acknowledged one.

mod events;
mod task;

pub use events::EventShape;
pub use task::DatagenTask;

use async_trait::async_trait;
use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::{PluginInfo, PluginType, SourceConnector};
use sluice_core::ConnectError;

/// The plugin's identity.
pub const INFO: PluginInfo = PluginInfo {
    class: "sluice.connectors.Datagen",
    aliases: &["datagen", "DatagenConnector"],
    kind: PluginType::Source,
    config: config_def,
};

/// Config keys of `datagen`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("topic.prefix", ConfigType::String)
                .default("datagen")
                .importance(Importance::High)
                .validator(Validator::NonEmpty)
                .doc("Prefix of the topic, as Debezium's topic.prefix: records go to <topic.prefix>.<database.name>.<table.name>."),
        )
        .define(
            ConfigKey::new("database.name", ConfigType::String)
                .default("inventory")
                .importance(Importance::Medium)
                .doc("The database name in the topic and in source.db."),
        )
        .define(
            ConfigKey::new("table.name", ConfigType::String)
                .default("customers")
                .importance(Importance::Medium)
                .doc("The table name in the topic and in source.table."),
        )
        .define(
            ConfigKey::new("columns", ConfigType::Int)
                .default("20")
                .importance(Importance::Medium)
                .validator(Validator::Range { min: Some(1), max: Some(1000) })
                .doc("Number of columns per row, the id included; the rest cycle through string, int, bigint, double, boolean, decimal, datetime and date columns."),
        )
        .define(
            ConfigKey::new("string.length", ConfigType::Int)
                .default("8")
                .importance(Importance::Low)
                .validator(Validator::Range { min: Some(0), max: Some(1 << 20) })
                .doc("Length in characters of each string column."),
        )
        .define(
            ConfigKey::new("max.records", ConfigType::Long)
                .default("-1")
                .importance(Importance::Medium)
                .validator(Validator::Range { min: Some(-1), max: None })
                .doc("Stop producing after this many records; -1 never stops."),
        )
        .define(
            ConfigKey::new("rate", ConfigType::Long)
                .default("0")
                .importance(Importance::Medium)
                .validator(Validator::Range { min: Some(0), max: None })
                .doc("Records per second; 0 produces as fast as the pipeline takes them."),
        )
        .define(
            ConfigKey::new("seed", ConfigType::Long)
                .default("42")
                .importance(Importance::Low)
                .doc("Seed of the generator: the same seed gives the same records."),
        )
        .define(
            ConfigKey::new("batch.size", ConfigType::Int)
                .default("1000")
                .importance(Importance::Low)
                .validator(Validator::Range { min: Some(1), max: Some(1_000_000) })
                .doc("Records returned per poll."),
        )
}

/// The connector: one task.
#[derive(Debug, Default)]
pub struct DatagenConnector {
    config: ConfigMap,
}

#[async_trait]
impl SourceConnector for DatagenConnector {
    async fn start(&mut self, config: &ConfigMap) -> Result<(), ConnectError> {
        crate::parse_config("datagen", &config_def(), config)?;
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<ConfigMap>, ConnectError> {
        Ok(vec![self.config.clone()])
    }
}
