//! Local connectors: Kafka Connect's `FileStreamSource` / `FileStreamSink` (files, or
//! stdin / stdout when `file` is absent), and `datagen`, a synthetic source of
//! Debezium-shaped change events for demos, tests and benchmarks.

pub mod datagen;
pub mod sink;
pub mod source;

use sluice_core::config::{ConfigDef, ConfigMap};
use sluice_core::ConnectError;

/// Parses a plugin config against its definition, as a fatal error naming the plugin.
pub(crate) fn parse_config(
    plugin: &str,
    def: &ConfigDef,
    config: &ConfigMap,
) -> Result<sluice_core::config::ParsedConfig, ConnectError> {
    // Tasks receive the whole connector config (framework keys included); check only ours.
    let own: ConfigMap = config
        .iter()
        .filter(|(k, _)| def.key(k).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    def.parse(&own)
        .map_err(|e| ConnectError::Fatal(format!("{plugin}: {e}")))
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
