//! Connector configs from arbitrary text: a `.properties` file (Kafka Connect's
//! quickstart form) or a JSON object (`{"name", "config": {…}}` or flat), as the worker
//! reads its files and the REST API's bodies, then validated and parsed the way a
//! connector is configured: every plugin's `ConfigDef` (validation for
//! `/config/validate`, parsing), the MySQL source's and sink's own config parsers, the
//! key / value / header converters built from their prefixed settings, and the
//! transforms and predicates built from `transforms.<alias>.*` / `predicates.<alias>.*`.
//!
//! Settings naming a file to read (`*.location`) are dropped: reading whatever path the
//! input names (a FIFO, a device) is not what is being fuzzed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_converters::{AvroConverter, JsonConverter};
use sluice_core::config::{props, split_list, ConfigInfos, ConfigMap};
use sluice_core::plugin::PluginInfo;

/// A JSON config object as the worker's config files read it: strings, numbers and
/// booleans as text, nulls dropped; anything else is not a config.
fn json_config(text: &str) -> Option<ConfigMap> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    let obj = json.as_object()?;
    let obj = match obj.get("config") {
        Some(serde_json::Value::Object(inner)) => inner,
        Some(_) => return None,
        None => obj,
    };
    let mut out = ConfigMap::new();
    for (k, v) in obj {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            _ => return None,
        };
        out.insert(k.clone(), text);
    }
    Some(out)
}

/// The keys under `prefix`, with the prefix removed.
fn with_prefix(config: &ConfigMap, prefix: &str) -> ConfigMap {
    config
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_owned(), v.clone())))
        .collect()
}

const PLUGINS: [PluginInfo; 2] = [
    sluice_connector_mysql::INFO,
    sluice_connector_mysql::sink::INFO,
];

fn converters(config: &ConfigMap) {
    for role in ["key", "value", "header"] {
        let Some(class) = config.get(&format!("{role}.converter")) else {
            continue;
        };
        let settings = with_prefix(config, &format!("{role}.converter."));
        if class.contains("Avro") {
            let _ = AvroConverter::new(&settings);
        } else if class.contains("Protobuf") {
            let _ = sluice_converters::protobuf::ProtobufConverter::new(&settings);
        } else {
            let _ = JsonConverter::new(&settings);
        }
    }
}

fn transforms(config: &ConfigMap) {
    for alias in split_list(config.get("transforms").map_or("", String::as_str)) {
        let mut settings = with_prefix(config, &format!("transforms.{alias}."));
        let Some(ty) = settings.remove("type") else {
            continue;
        };
        if let Some(plugin) = sluice_transforms::transform(&ty) {
            let _ = (plugin.info.config)().parse(&settings);
            let _ = (plugin.build)(&settings);
        }
    }
    for alias in split_list(config.get("predicates").map_or("", String::as_str)) {
        let mut settings = with_prefix(config, &format!("predicates.{alias}."));
        let Some(ty) = settings.remove("type") else {
            continue;
        };
        if let Some(plugin) = sluice_transforms::predicate(&ty) {
            let _ = (plugin.build)(&settings);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = if text.trim_start().starts_with('{') {
        json_config(text)
    } else {
        props::parse(text).ok()
    };
    let Some(mut config) = config else {
        return;
    };
    config.retain(|k, _| !k.ends_with(".location"));
    for plugin in &PLUGINS {
        let def = (plugin.config)();
        let _ = ConfigInfos::validate(plugin.simple_name(), &def, &config);
        let _ = def.parse(&config);
        let _ = def.not_needed_in(&config).count();
    }
    let _ = sluice_connector_mysql::config::parse(&config);
    let _ = sluice_connector_mysql::sink::config::parse(&config);
    converters(&config);
    transforms(&config);
});
