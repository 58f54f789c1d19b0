//! Config keys of the file source (Kafka Connect's `FileStreamSourceConnector` keys).

use sluice_core::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};

/// `file`, `topic`, `batch.size`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("file", ConfigType::String)
                .optional()
                .importance(Importance::High)
                .doc("Source filename. If not specified, the standard input will be used"),
        )
        .define(
            ConfigKey::new("topic", ConfigType::String)
                .importance(Importance::High)
                .validator(Validator::NonEmpty)
                .doc("The topic to publish data to"),
        )
        .define(
            ConfigKey::new("batch.size", ConfigType::Int)
                .default("2000")
                .importance(Importance::Low)
                .validator(Validator::Range { min: Some(1), max: None })
                .doc("The maximum number of records the source task can read from the file each time it is polled"),
        )
}
