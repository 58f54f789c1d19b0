//! `TimestampRouter`: renames the topic to `topic.format` with `${topic}` and
//! `${timestamp}` replaced, the timestamp formatted in UTC with `timestamp.format`
//! (a `SimpleDateFormat` pattern). As in Kafka Connect a record without a timestamp
//! fails ("Timestamp missing on record").

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::{PluginInfo, PluginType, Transform, TransformPlugin};
use sluice_core::{ConnectError, Record};

use crate::util::datefmt::DateFormat;
use crate::util::{parse_config, Result};

const CLASS: &str = "org.apache.kafka.connect.transforms.TimestampRouter";

/// `topic.format`, `timestamp.format`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("topic.format", ConfigType::String)
                .default("${topic}-${timestamp}")
                .importance(Importance::High)
                .doc("Format string which can contain <code>${topic}</code> and <code>${timestamp}</code> as placeholders for the topic and timestamp, respectively."),
        )
        .define(
            ConfigKey::new("timestamp.format", ConfigType::String)
                .default("yyyyMMdd")
                .importance(Importance::High)
                .validator(Validator::Custom(|s| DateFormat::new(s).map(|_| ())))
                .doc("Format string for the timestamp that is compatible with <code>java.text.SimpleDateFormat</code>."),
        )
}

/// `org.apache.kafka.connect.transforms.TimestampRouter`.
pub const PLUGIN: TransformPlugin = TransformPlugin {
    info: PluginInfo {
        class: CLASS,
        aliases: &["TimestampRouter"],
        kind: PluginType::Transformation,
        config: config_def,
    },
    build,
};

fn build(config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let cfg = parse_config(CLASS, &config_def(), config)?;
    let pattern = cfg.string_or_default("timestamp.format");
    let format = DateFormat::new(pattern)
        .map_err(|e| ConnectError::config("timestamp.format", pattern, e))?;
    Ok(Box::new(TimestampRouter {
        topic_format: cfg.string_or_default("topic.format").to_owned(),
        format,
    }))
}

struct TimestampRouter {
    topic_format: String,
    format: DateFormat,
}

impl Transform for TimestampRouter {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let Some(ts) = record.timestamp else {
            return Err(ConnectError::Data(format!(
                "Timestamp missing on record: topic={}, partition={:?}",
                record.topic, record.partition
            )));
        };
        let formatted = self.format.format(ts);
        record.topic = self
            .topic_format
            .replace("${topic}", &record.topic)
            .replace("${timestamp}", &formatted);
        Ok(Some(record))
    }
}
