//! `InsertHeader`: adds a header with a literal value to every record.
//!
//! As in Kafka Connect the literal is parsed once with `Values.parseString`, so
//! `42` becomes an int8 header, `true` a boolean, `2024-01-31` a Date, and other text
//! a string; the header is appended even when one of the same key exists.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::{PluginInfo, PluginType, Transform, TransformPlugin};
use sluice_core::{Record, SchemaAndValue};

use crate::util::jvalues::parse_string;
use crate::util::{parse_config, Result};

const CLASS: &str = "org.apache.kafka.connect.transforms.InsertHeader";

/// `header`, `value.literal`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("header", ConfigType::String)
                .importance(Importance::Medium)
                .validator(Validator::NonEmpty)
                .doc("The name of the header."),
        )
        .define(
            ConfigKey::new("value.literal", ConfigType::String)
                .importance(Importance::Medium)
                .doc("The literal value that is to be set as the header value on all records."),
        )
}

/// `org.apache.kafka.connect.transforms.InsertHeader`.
pub const PLUGIN: TransformPlugin = TransformPlugin {
    info: PluginInfo {
        class: CLASS,
        aliases: &["InsertHeader"],
        kind: PluginType::Transformation,
        config: config_def,
    },
    build,
};

fn build(config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let cfg = parse_config(CLASS, &config_def(), config)?;
    Ok(Box::new(InsertHeader {
        header: cfg.string("header").unwrap_or_default().to_owned(),
        value: parse_string(cfg.string("value.literal")),
    }))
}

struct InsertHeader {
    header: String,
    value: SchemaAndValue,
}

impl Transform for InsertHeader {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        record.headers.add(self.header.clone(), self.value.clone());
        Ok(Some(record))
    }
}
