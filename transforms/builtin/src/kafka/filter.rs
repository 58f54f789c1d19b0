//! `Filter`: drops every record it is applied to. On its own it drops everything;
//! with a predicate (`transforms.x.predicate`, `negate`) it drops the records the
//! predicate selects. It has no settings.

use sluice_core::config::{ConfigDef, ConfigMap};
use sluice_core::plugin::{PluginInfo, PluginType, Transform, TransformPlugin};
use sluice_core::Record;

use crate::util::{parse_config, Result};

const CLASS: &str = "org.apache.kafka.connect.transforms.Filter";

/// No keys.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
}

/// `org.apache.kafka.connect.transforms.Filter`.
pub const PLUGIN: TransformPlugin = TransformPlugin {
    info: PluginInfo {
        class: CLASS,
        aliases: &["Filter"],
        kind: PluginType::Transformation,
        config: config_def,
    },
    build,
};

fn build(config: &ConfigMap) -> Result<Box<dyn Transform>> {
    parse_config(CLASS, &config_def(), config)?;
    Ok(Box::new(Filter))
}

struct Filter;

impl Transform for Filter {
    fn apply(&mut self, _record: Record) -> Result<Option<Record>> {
        Ok(None)
    }
}
