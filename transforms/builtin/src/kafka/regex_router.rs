//! `RegexRouter`: renames the topic when the whole topic name matches `regex`.
//!
//! As in Kafka Connect (`matcher.matches()` then `replaceFirst`), a topic that does
//! not match as a whole is left alone, and the replacement uses Java's syntax: `$1`,
//! `${name}`, `\$` for a literal dollar. A replacement naming a group the regex does
//! not have is refused at configure time. Topics repeat, so the outcome per topic is
//! memoised (up to 256 topics; the memo is cleared when full).

use std::collections::HashMap;

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::{PluginInfo, PluginType, Transform, TransformPlugin};
use sluice_core::{ConnectError, Record};

use crate::util::javare::{FullMatch, Replacement};
use crate::util::{parse_config, set_topic, Result};

const CLASS: &str = "org.apache.kafka.connect.transforms.RegexRouter";

/// `regex`, `replacement`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("regex", ConfigType::String)
                .importance(Importance::High)
                .validator(Validator::Custom(|s| FullMatch::new(s).map(|_| ())))
                .doc("Regular expression to use for matching."),
        )
        .define(
            ConfigKey::new("replacement", ConfigType::String)
                .importance(Importance::High)
                .doc("Replacement string."),
        )
}

/// `org.apache.kafka.connect.transforms.RegexRouter`.
pub const PLUGIN: TransformPlugin = TransformPlugin {
    info: PluginInfo {
        class: CLASS,
        aliases: &["RegexRouter"],
        kind: PluginType::Transformation,
        config: config_def,
    },
    build,
};

fn build(config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let cfg = parse_config(CLASS, &config_def(), config)?;
    let regex_text = cfg.string("regex").unwrap_or_default();
    let regex =
        FullMatch::new(regex_text).map_err(|e| ConnectError::config("regex", regex_text, e))?;
    let repl_text = cfg.string("replacement").unwrap_or_default();
    let replacement = Replacement::new(repl_text, &regex)
        .map_err(|e| ConnectError::config("replacement", repl_text, e))?;
    Ok(Box::new(RegexRouter {
        regex,
        replacement,
        memo: HashMap::new(),
        last: Last::default(),
    }))
}

const MEMO_SIZE: usize = 256;

struct RegexRouter {
    regex: FullMatch,
    replacement: Replacement,
    /// Topic → renamed topic (`None`: no match).
    memo: HashMap<String, Option<String>>,
    /// The last topic seen and its outcome: records of one topic come in runs, so
    /// this answers most lookups with a string comparison instead of a hash.
    last: Last,
}

/// A copy of one memo entry, its buffers reused from one topic to the next.
#[derive(Default)]
struct Last {
    valid: bool,
    topic: String,
    matched: bool,
    renamed: String,
}

impl RegexRouter {
    /// The renamed topic (`None`: no match), memoised.
    fn renamed(&mut self, topic: &str) -> Option<&str> {
        if !(self.last.valid && self.last.topic == topic) {
            if !self.memo.contains_key(topic) {
                let r = self.regex.replace(topic, &self.replacement);
                if self.memo.len() >= MEMO_SIZE {
                    self.memo.clear();
                }
                self.memo.insert(topic.to_owned(), r);
            }
            let outcome = self.memo.get(topic).and_then(Option::as_deref);
            let last = &mut self.last;
            last.valid = true;
            set_topic(&mut last.topic, topic);
            last.matched = outcome.is_some();
            set_topic(&mut last.renamed, outcome.unwrap_or_default());
        }
        self.last.matched.then_some(self.last.renamed.as_str())
    }
}

impl Transform for RegexRouter {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        if let Some(topic) = self.renamed(&record.topic) {
            // Reuses the record's buffer rather than allocating a new topic string.
            set_topic(&mut record.topic, topic);
        }
        Ok(Some(record))
    }
}
