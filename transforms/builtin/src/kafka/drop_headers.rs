//! `DropHeaders`: removes every header whose key is in `headers`.
//!
//! As in Kafka Connect, all headers with a listed key go (keys may repeat), the rest
//! keep their order, and the key and value are untouched.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_core::plugin::{PluginInfo, PluginType, Transform, TransformPlugin};
use sluice_core::{ConnectError, Record};

use crate::util::{parse_config, Result};

const CLASS: &str = "org.apache.kafka.connect.transforms.DropHeaders";

/// `headers`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new("headers", ConfigType::List)
            .importance(Importance::High)
            .doc("The name of the headers to be removed."),
    )
}

/// `org.apache.kafka.connect.transforms.DropHeaders`.
pub const PLUGIN: TransformPlugin = TransformPlugin {
    info: PluginInfo {
        class: CLASS,
        aliases: &["DropHeaders"],
        kind: PluginType::Transformation,
        config: config_def,
    },
    build,
};

fn build(config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let cfg = parse_config(CLASS, &config_def(), config)?;
    let headers = cfg.list("headers");
    if headers.is_empty() {
        return Err(ConnectError::config(
            "headers",
            config.get("headers").cloned().unwrap_or_default(),
            "Empty list (a non-empty list of header names is required)",
        ));
    }
    Ok(Box::new(DropHeaders { headers }))
}

struct DropHeaders {
    headers: Vec<String>,
}

impl Transform for DropHeaders {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        record.headers.0.retain(|h| !self.headers.contains(&h.key));
        Ok(Some(record))
    }
}
