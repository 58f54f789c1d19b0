//! Config definitions (Kafka Connect's `ConfigDef`): every plugin declares its keys
//! once — type, default, importance, doc, validator — and that one definition parses
//! user input, produces errors that name the key, the value and what is allowed, and
//! renders `/connector-plugins/{type}/config` and `/config/validate` responses.

mod def;
mod infos;
pub mod props;

pub use def::{
    split_list, ConfigDef, ConfigErrors, ConfigKey, ConfigType, ConfigValue, Importance,
    ParsedConfig, Validator,
};
pub use infos::{ConfigInfos, ConfigKeyInfo};

/// A flat string map, the form every Kafka Connect config takes.
pub type ConfigMap = std::collections::BTreeMap<String, String>;
