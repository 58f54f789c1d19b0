//! Kafka Connect's predicates: `TopicNameMatches` (the whole topic name matches a
//! Java regex), `HasHeaderKey` (at least one header has the key) and
//! `RecordIsTombstone` (the value is null). `negate` is applied by the runtime.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::{PluginInfo, PluginType, Predicate, PredicatePlugin};
use sluice_core::{ConnectError, Record};

use crate::util::javare::FullMatch;
use crate::util::{parse_config, Result};

const TOPIC_NAME_MATCHES_CLASS: &str =
    "org.apache.kafka.connect.transforms.predicates.TopicNameMatches";
const HAS_HEADER_KEY_CLASS: &str = "org.apache.kafka.connect.transforms.predicates.HasHeaderKey";
const RECORD_IS_TOMBSTONE_CLASS: &str =
    "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone";

/// `pattern`.
pub fn topic_name_matches_config() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new("pattern", ConfigType::String)
            .importance(Importance::Medium)
            .validator(Validator::Custom(|s| {
                if s.is_empty() {
                    return Err("String must be non-empty".into());
                }
                FullMatch::new(s).map(|_| ())
            }))
            .doc("A Java regular expression for matching against the name of a record's topic."),
    )
}

/// `name`.
pub fn has_header_key_config() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new("name", ConfigType::String)
            .importance(Importance::Medium)
            .validator(Validator::NonEmpty)
            .doc("The header name."),
    )
}

/// No keys.
pub fn record_is_tombstone_config() -> ConfigDef {
    ConfigDef::new()
}

/// `org.apache.kafka.connect.transforms.predicates.TopicNameMatches`.
pub const TOPIC_NAME_MATCHES: PredicatePlugin = PredicatePlugin {
    info: PluginInfo {
        class: TOPIC_NAME_MATCHES_CLASS,
        aliases: &["TopicNameMatches"],
        kind: PluginType::Predicate,
        config: topic_name_matches_config,
    },
    build: build_topic_name_matches,
};

/// `org.apache.kafka.connect.transforms.predicates.HasHeaderKey`.
pub const HAS_HEADER_KEY: PredicatePlugin = PredicatePlugin {
    info: PluginInfo {
        class: HAS_HEADER_KEY_CLASS,
        aliases: &["HasHeaderKey"],
        kind: PluginType::Predicate,
        config: has_header_key_config,
    },
    build: build_has_header_key,
};

/// `org.apache.kafka.connect.transforms.predicates.RecordIsTombstone`.
pub const RECORD_IS_TOMBSTONE: PredicatePlugin = PredicatePlugin {
    info: PluginInfo {
        class: RECORD_IS_TOMBSTONE_CLASS,
        aliases: &["RecordIsTombstone"],
        kind: PluginType::Predicate,
        config: record_is_tombstone_config,
    },
    build: build_record_is_tombstone,
};

fn build_topic_name_matches(config: &ConfigMap) -> Result<Box<dyn Predicate>> {
    let cfg = parse_config(
        TOPIC_NAME_MATCHES_CLASS,
        &topic_name_matches_config(),
        config,
    )?;
    let text = cfg.string("pattern").unwrap_or_default();
    let pattern = FullMatch::new(text).map_err(|e| ConnectError::config("pattern", text, e))?;
    Ok(Box::new(TopicNameMatches { pattern }))
}

fn build_has_header_key(config: &ConfigMap) -> Result<Box<dyn Predicate>> {
    let cfg = parse_config(HAS_HEADER_KEY_CLASS, &has_header_key_config(), config)?;
    Ok(Box::new(HasHeaderKey {
        name: cfg.string("name").unwrap_or_default().to_owned(),
    }))
}

fn build_record_is_tombstone(config: &ConfigMap) -> Result<Box<dyn Predicate>> {
    parse_config(
        RECORD_IS_TOMBSTONE_CLASS,
        &record_is_tombstone_config(),
        config,
    )?;
    Ok(Box::new(RecordIsTombstone))
}

struct TopicNameMatches {
    pattern: FullMatch,
}

impl Predicate for TopicNameMatches {
    fn test(&self, record: &Record) -> bool {
        self.pattern.matches(&record.topic)
    }
}

struct HasHeaderKey {
    name: String,
}

impl Predicate for HasHeaderKey {
    fn test(&self, record: &Record) -> bool {
        record.headers.iter().any(|h| h.key == self.name)
    }
}

struct RecordIsTombstone;

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &Record) -> bool {
        record.value.value.is_null()
    }
}
