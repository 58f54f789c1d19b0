//! Keys every connector has (Kafka Connect's `ConnectorConfig`, `SourceConnectorConfig`,
//! `SinkConnectorConfig`), and validation of a whole connector config: framework keys,
//! the connector's own keys, its converters and its transforms, in one `ConfigInfos`.

use sluice_core::config::{
    ConfigDef, ConfigInfos, ConfigKey, ConfigMap, ConfigType, Importance, Validator,
};
use sluice_core::plugin::PluginType;

use super::WorkerConfig;
use crate::registry::{self, Factory, Plugin};

fn common(group: &str, order: &mut i32, key: ConfigKey) -> ConfigKey {
    *order += 1;
    key.group(group, *order)
}

/// The framework keys of a connector of `kind` (source or sink).
pub fn framework_def(kind: PluginType) -> ConfigDef {
    let mut o = 0;
    let mut def = ConfigDef::new()
        .define(common("Common", &mut o, ConfigKey::new("name", ConfigType::String)
            .importance(Importance::High)
            .validator(Validator::NonEmpty)
            .doc("Globally unique name to use for this connector.")
            .display("Connector name")))
        .define(common("Common", &mut o, ConfigKey::new("connector.class", ConfigType::String)
            .importance(Importance::High)
            .doc("Name or alias of the class for this connector, e.g. org.apache.kafka.connect.file.FileStreamSinkConnector or FileStreamSink.")
            .display("Connector class")))
        .define(common("Common", &mut o, ConfigKey::new("tasks.max", ConfigType::Int)
            .default("1")
            .importance(Importance::High)
            .validator(Validator::Range { min: Some(1), max: None })
            .doc("Maximum number of tasks to use for this connector.")
            .display("Tasks max")))
        .define(common("Common", &mut o, ConfigKey::new("tasks.max.enforce", ConfigType::Boolean)
            .default("true")
            .importance(Importance::Low)
            .doc("Whether to fail a connector that generates more tasks than tasks.max.")))
        .define(common("Common", &mut o, ConfigKey::new("key.converter", ConfigType::Class)
            .optional()
            .importance(Importance::Low)
            .doc("Converter for keys, overriding the worker's; its settings go under key.converter.*.")
            .display("Key converter class")))
        .define(common("Common", &mut o, ConfigKey::new("value.converter", ConfigType::Class)
            .optional()
            .importance(Importance::Low)
            .doc("Converter for values, overriding the worker's; its settings go under value.converter.*.")
            .display("Value converter class")))
        .define(common("Common", &mut o, ConfigKey::new("header.converter", ConfigType::Class)
            .optional()
            .importance(Importance::Low)
            .doc("Converter for header values, overriding the worker's.")
            .display("Header converter class")))
        .define(common("Common", &mut o, ConfigKey::new("config.action.reload", ConfigType::String)
            .default("restart")
            .importance(Importance::Low)
            .validator(Validator::OneOf(&["none", "restart"]))
            .doc("What to do when external config providers change a value: none or restart.")))
        .define(ConfigKey::new("transforms", ConfigType::List)
            .default("")
            .importance(Importance::Low)
            .group("Transforms", 0)
            .doc("Aliases for the transformations to apply to records, in order.")
            .display("Transforms"))
        .define(ConfigKey::new("predicates", ConfigType::List)
            .default("")
            .importance(Importance::Low)
            .group("Predicates", 0)
            .doc("Aliases for the predicates used by transformations.")
            .display("Predicates"));
    let mut e = 0;
    def = def
        .define(common("Error Handling", &mut e, ConfigKey::new("errors.retry.timeout", ConfigType::Long)
            .default("0")
            .importance(Importance::Medium)
            .validator(Validator::Range { min: Some(-1), max: None })
            .doc("Maximum duration in milliseconds that a failed operation (a transformation, a converter) will be reattempted when it fails with a retriable error, with exponential backoff from 300 ms; 0 for no retries, -1 for infinite. A retriable failure of the task itself (a source's poll, a sink's put: database or broker unreachable) is always retried, as Kafka Connect does, and restarts a source task in place from its committed offsets; a positive value bounds that too, failing the task after this long.")))
        .define(common("Error Handling", &mut e, ConfigKey::new("errors.retry.delay.max.ms", ConfigType::Long)
            .default("60000")
            .importance(Importance::Medium)
            .validator(Validator::Range { min: Some(1), max: None })
            .doc("Maximum duration in milliseconds between consecutive retry attempts: the backoff doubles from 300 ms up to this.")))
        .define(common("Error Handling", &mut e, ConfigKey::new("errors.tolerance", ConfigType::String)
            .default("none")
            .importance(Importance::Medium)
            .validator(Validator::OneOf(&["none", "all"]))
            .doc("Behavior for tolerating errors during connector operation: 'none' fails the task at the first error, 'all' skips problematic records.")))
        .define(common("Error Handling", &mut e, ConfigKey::new("errors.log.enable", ConfigType::Boolean)
            .default("false")
            .importance(Importance::Medium)
            .doc("If true, write each error and the details of the failed operation and problematic record to the log.")))
        .define(common("Error Handling", &mut e, ConfigKey::new("errors.log.include.messages", ConfigType::Boolean)
            .default("false")
            .importance(Importance::Medium)
            .doc("Whether to include in the log the record that caused a failure: for a consumed record its topic, partition, offset and timestamp; for a source record the record.")))
        .define(common("Error Handling", &mut e, ConfigKey::new("errors.deadletterqueue.topic.name", ConfigType::String)
            .default("")
            .importance(Importance::Medium)
            .doc("The name of the topic to be used as the dead letter queue (DLQ) for records that error, with errors.tolerance=all. A sink writes the consumed record's key, value and headers unchanged. Unlike Kafka Connect, a source connector may set it too: a record whose transformation or converter fails is written there as its converters encode it before the failing stage (schemaless JSON for a part its converter refuses), the context headers naming the stage and the record's topic.")))
        .define(common("Error Handling", &mut e, ConfigKey::new("errors.deadletterqueue.topic.replication.factor", ConfigType::Short)
            .default("3")
            .importance(Importance::Medium)
            .validator(Validator::Range { min: Some(-1), max: None })
            .doc("Replication factor used to create the dead letter queue topic (one partition) when it doesn't already exist; -1 for the broker's default.")))
        .define(common("Error Handling", &mut e, ConfigKey::new("errors.deadletterqueue.context.headers.enable", ConfigType::Boolean)
            .default("false")
            .importance(Importance::Medium)
            .doc("If true, add headers containing error context to the messages written to the dead letter queue: __connect.errors.topic, .partition, .offset (consumed records), .connector.name, .task.id, .stage, .class.name, .exception.class.name, .exception.message, .exception.stacktrace, each a UTF-8 string.")))
        .prefix("key.converter.", "key converter settings")
        .prefix("value.converter.", "value converter settings")
        .prefix("header.converter.", "header converter settings")
        .prefix("transforms.", "transformation settings")
        .prefix("predicates.", "predicate settings");
    match kind {
        PluginType::Sink => def
            .define(ConfigKey::new("topics", ConfigType::List)
                .default("")
                .importance(Importance::High)
                .group("Common", 100)
                .doc("List of topics to consume, separated by commas."))
            .define(ConfigKey::new("topics.regex", ConfigType::String)
                .default("")
                .importance(Importance::High)
                .group("Common", 101)
                .doc("Regular expression giving topics to consume."))
            .prefix("consumer.override.", "consumer settings for this connector's tasks"),
        _ => def
            .define(ConfigKey::new("exactly.once.support", ConfigType::String)
                .default("requested")
                .importance(Importance::Medium)
                .group("Exactly Once Support", 1)
                .validator(Validator::OneOf(&["requested", "required"]))
                .doc("Whether exactly-once delivery is required (distributed mode with exactly.once.source.support=enabled) or merely requested."))
            .define(ConfigKey::new("transaction.boundary", ConfigType::String)
                .default("poll")
                .importance(Importance::Medium)
                .group("Exactly Once Support", 2)
                .validator(Validator::OneOf(&["poll", "interval", "connector"]))
                .doc("Transaction boundaries for exactly-once source connectors."))
            .define(ConfigKey::new("transaction.boundary.interval.ms", ConfigType::Long)
                .optional()
                .importance(Importance::Low)
                .group("Exactly Once Support", 3)
                .doc("Transaction interval when transaction.boundary=interval."))
            .define(ConfigKey::new("offsets.storage.topic", ConfigType::String)
                .optional()
                .importance(Importance::Low)
                .group("offsets.topic", 1)
                .doc("A separate offsets topic for this connector (distributed mode)."))
            .define(ConfigKey::new("topic.creation.groups", ConfigType::List)
                .default("")
                .importance(Importance::Low)
                .group("Topic Creation", 1)
                .doc("Groups of configurations for topics created by source connectors."))
            .prefix("topic.creation.", "topic creation settings")
            .prefix("producer.override.", "producer settings for this connector's tasks"),
    }
}

/// `errors.tolerance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorTolerance {
    /// Fail the task at the first bad record.
    None,
    /// Skip bad records.
    All,
}

/// A validated connector config.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    /// `name`.
    pub name: String,
    /// The plugin `connector.class` named.
    pub plugin: &'static Plugin,
    /// `tasks.max`.
    pub tasks_max: usize,
    /// Key converter class and settings (connector's, else the worker's).
    pub key_converter: (String, ConfigMap),
    /// Value converter class and settings.
    pub value_converter: (String, ConfigMap),
    /// Header converter class and settings.
    pub header_converter: (String, ConfigMap),
    /// `errors.tolerance`.
    pub errors_tolerance: ErrorTolerance,
    /// `errors.log.enable`.
    pub errors_log_enable: bool,
    /// `errors.log.include.messages`.
    pub errors_log_include_messages: bool,
    /// `errors.retry.timeout`, `errors.retry.delay.max.ms`.
    pub errors_retry: crate::errors::RetryPolicy,
    /// `errors.deadletterqueue.*`, when a topic is named.
    pub dead_letter: Option<crate::errors::DeadLetterSettings>,
    /// `topics` (sinks).
    pub topics: Vec<String>,
    /// `topics.regex` (sinks), empty when unset.
    pub topics_regex: String,
    /// The config with config provider variables resolved: what the connector and its
    /// tasks run with. Never shown or stored.
    pub originals: ConfigMap,
    /// The config as given, variables unresolved: what is stored and shown.
    pub raw: ConfigMap,
}

/// The setting naming the schema registry of a registry converter (Avro, Protobuf, ...).
const REGISTRY_URL: &str = "schema.registry.url";

/// The class and settings of the `role` converter: the connector's `<role>.converter` and
/// its `<role>.converter.*` keys, else the worker's. Where converters are configured, so
/// the one place a registry converter (one whose config defines `schema.registry.url`)
/// given no `schema.registry.url` is pointed at the worker's built-in registry, when the
/// worker runs one (`schema.registry.listener`). Without one, the converter refuses to
/// start, naming `schema.registry.url`.
fn converter_for(
    role: &str,
    props: &ConfigMap,
    worker: &WorkerConfig,
    worker_class: &str,
) -> (String, ConfigMap) {
    let key = format!("{role}.converter");
    let prefix = format!("{key}.");
    let (class, mut settings) = match props.get(&key) {
        Some(class) => (
            class.trim().to_owned(),
            props
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_owned(), v.clone())))
                .collect(),
        ),
        None => (worker_class.to_owned(), worker.with_prefix(&prefix)),
    };
    if let Some(url) = &worker.schema_registry_url {
        if lacks_registry_url(&class, &settings) {
            tracing::debug!(role, class = %class, url = %url, "no {key}.{REGISTRY_URL}: using the built-in schema registry");
            settings.insert(REGISTRY_URL.to_owned(), url.clone());
        }
    }
    (class, settings)
}

/// Whether `class` is a registry converter and `settings` give it no registry URL.
fn lacks_registry_url(class: &str, settings: &ConfigMap) -> bool {
    settings
        .get(REGISTRY_URL)
        .is_none_or(|u| u.trim().is_empty())
        && registry::find(class).is_some_and(|p| {
            matches!(p.factory, Factory::Converter(_))
                && (p.info.config)().key(REGISTRY_URL).is_some()
        })
}

/// Validates a whole connector config: the `ConfigInfos` for REST, and the parsed
/// config when there is no error.
///
/// Variables (`${file:…}`, `${env:…}`) are resolved first, with the worker's config
/// providers, so values are checked as the connector will see them; one that cannot be
/// resolved is an error on its key. The result keeps both the resolved and the raw
/// config.
pub fn validate_connector(
    raw: &ConfigMap,
    worker: &WorkerConfig,
) -> (ConfigInfos, Option<ConnectorConfig>) {
    let (resolved, unresolved) = match worker.providers.resolve(raw) {
        Ok(r) => (r, Vec::new()),
        Err(errors) => (raw.clone(), errors),
    };
    let props = &resolved;
    let class = props.get("connector.class").map(|c| c.trim()).unwrap_or("");
    let plugin = registry::find(class)
        .filter(|p| matches!(p.factory, Factory::Source { .. } | Factory::Sink { .. }));
    let kind = plugin.map_or(PluginType::Source, |p| p.info.kind);
    let mut def = framework_def(kind);
    if let Some(p) = plugin {
        def = (p.info.config)().merge(&def);
    }
    let name = plugin.map_or("Connector", |p| p.info.simple_name());
    let mut infos = ConfigInfos::validate(name, &def, props);
    if plugin.is_none() && !class.is_empty() {
        infos.add_error(
            "connector.class",
            Some(class),
            format!(
                "Invalid value {class} for configuration connector.class: not a known connector; available: {}",
                registry::names_of(&[PluginType::Source, PluginType::Sink])
            ),
        );
    }
    for (key, why) in def.not_needed_in(props) {
        tracing::info!(key, "connector setting accepted but not needed: {why}");
    }
    let converters = [
        (
            "key",
            converter_for("key", props, worker, &worker.key_converter),
        ),
        (
            "value",
            converter_for("value", props, worker, &worker.value_converter),
        ),
        (
            "header",
            converter_for("header", props, worker, &worker.header_converter),
        ),
    ];
    for (role, (class, settings)) in &converters {
        if lacks_registry_url(class, settings) {
            infos.add_error(
                &format!("{role}.converter"),
                Some(class),
                format!("{class} needs a schema registry and {role}.converter.{REGISTRY_URL} is not set: set it to the registry's URL (e.g. http://localhost:8081), or set the worker's schema.registry.listener (e.g. http://127.0.0.1:8081) to run the built-in registry, which converters without a URL then use"),
            );
            continue;
        }
        if let Err(e) = registry::converter(class, role, settings) {
            infos.add_error(&format!("{role}.converter"), Some(class), e.to_string());
        }
    }
    crate::chain::validate(props, &mut infos);
    let get = |k: &str| props.get(k).map(|s| s.trim()).unwrap_or("");
    if kind == PluginType::Sink {
        let (topics, regex) = (get("topics"), get("topics.regex"));
        if !topics.is_empty() && !regex.is_empty() {
            infos.add_error(
                "topics",
                Some(topics),
                "topics and topics.regex are mutually exclusive options, but both are set.".into(),
            );
        } else if topics.is_empty() && regex.is_empty() {
            infos.add_error(
                "topics",
                None,
                "Must configure one of topics or topics.regex".into(),
            );
        }
        let dlq = get("errors.deadletterqueue.topic.name");
        if !dlq.is_empty()
            && sluice_core::config::split_list(topics)
                .iter()
                .any(|t| t == dlq)
        {
            infos.add_error(
                "errors.deadletterqueue.topic.name",
                Some(dlq),
                format!("The DLQ topic '{dlq}' may not be included in the list of topics ('topics={topics}') consumed by the connector: name another topic"),
            );
        }
    } else {
        let enabled = worker
            .originals
            .get("exactly.once.source.support")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("enabled"));
        if get("exactly.once.support").eq_ignore_ascii_case("required") && !enabled {
            infos.add_error(
                "exactly.once.support",
                Some("required"),
                "Invalid value required for configuration exactly.once.support: exactly-once source delivery needs distributed mode with exactly.once.source.support=enabled on every worker; enable it there, or use requested".into(),
            );
        }
        if get("transaction.boundary").eq_ignore_ascii_case("connector") {
            infos.add_error(
                "transaction.boundary",
                Some("connector"),
                "Invalid value connector for configuration transaction.boundary: no connector of this worker defines its own transaction boundaries; use poll or interval".into(),
            );
        }
    }
    refuse_unsupported(props, &mut infos);
    check_client_overrides(props, worker, &mut infos);
    for e in unresolved {
        infos.add_error(&e.key, raw.get(&e.key).map(String::as_str), e.to_string());
    }
    if props != raw {
        hide_resolved(raw, props, &mut infos);
    }
    if infos.error_count > 0 {
        return (infos, None);
    }
    let Some(plugin) = plugin else {
        return (infos, None);
    };
    let parsed = match def.parse(props) {
        Ok(p) => p,
        Err(e) => {
            for (k, msg) in e.0 {
                infos.add_error(&k, props.get(&k).map(String::as_str), msg);
            }
            return (infos, None);
        }
    };
    let [(_, key), (_, value), (_, header)] = converters;
    let config = ConnectorConfig {
        name: parsed.string("name").unwrap_or_default().trim().to_owned(),
        plugin,
        tasks_max: parsed.long("tasks.max").max(1) as usize,
        key_converter: key,
        value_converter: value,
        header_converter: header,
        errors_tolerance: if parsed
            .string_or_default("errors.tolerance")
            .eq_ignore_ascii_case("all")
        {
            ErrorTolerance::All
        } else {
            ErrorTolerance::None
        },
        errors_log_enable: parsed.bool("errors.log.enable"),
        errors_log_include_messages: parsed.bool("errors.log.include.messages"),
        errors_retry: crate::errors::RetryPolicy {
            timeout: crate::errors::RetryTimeout::from_ms(parsed.long("errors.retry.timeout")),
            max_delay: std::time::Duration::from_millis(
                parsed
                    .long("errors.retry.delay.max.ms")
                    .max(1)
                    .unsigned_abs(),
            ),
        },
        dead_letter: {
            let topic = parsed
                .string_or_default("errors.deadletterqueue.topic.name")
                .trim()
                .to_owned();
            (!topic.is_empty()).then(|| crate::errors::DeadLetterSettings {
                topic,
                replication_factor: i32::try_from(
                    parsed.long("errors.deadletterqueue.topic.replication.factor"),
                )
                .unwrap_or(-1),
                context_headers: parsed.bool("errors.deadletterqueue.context.headers.enable"),
            })
        },
        topics: if kind == PluginType::Sink {
            parsed.list("topics")
        } else {
            Vec::new()
        },
        topics_regex: if kind == PluginType::Sink {
            parsed.string_or_default("topics.regex").trim().to_owned()
        } else {
            String::new()
        },
        originals: props.clone(),
        raw: raw.clone(),
    };
    (infos, Some(config))
}

/// Validation answers and messages show a variable as written, never what it resolved
/// to: each resolved value of a key that held a variable is put back as the variable.
fn hide_resolved(raw: &ConfigMap, resolved: &ConfigMap, infos: &mut ConfigInfos) {
    let swaps: Vec<(&str, &str)> = raw
        .iter()
        .filter(|(_, v)| super::providers::has_variable(v))
        .filter_map(|(k, v)| Some((resolved.get(k)?.as_str(), v.as_str())))
        .filter(|(secret, _)| !secret.is_empty())
        .collect();
    let scrub = |text: &mut String| {
        for (secret, variable) in &swaps {
            if text.contains(secret) {
                *text = text.replace(secret, variable);
            }
        }
    };
    for c in &mut infos.configs {
        if let Some(v) = c.value.value.as_mut() {
            scrub(v);
        }
        for e in &mut c.value.errors {
            scrub(e);
        }
    }
}

/// `producer.override.*` / `consumer.override.*` keys: allowed by the worker's
/// `connector.client.config.override.policy`, and usable by librdkafka.
fn check_client_overrides(props: &ConfigMap, worker: &WorkerConfig, infos: &mut ConfigInfos) {
    const PREFIXES: [&str; 2] = ["producer.override.", "consumer.override."];
    const PRINCIPAL: [&str; 3] = ["security.protocol", "sasl.mechanism", "sasl.jaas.config"];
    let policy = worker
        .originals
        .get(super::worker::OVERRIDE_POLICY)
        .map_or("All", |p| p.trim());
    let policy = policy
        .rsplit('.')
        .next()
        .unwrap_or(policy)
        .trim_end_matches("ConnectorClientConfigOverridePolicy");
    for (key, value) in props {
        let Some(setting) = PREFIXES.iter().find_map(|p| key.strip_prefix(p)) else {
            continue;
        };
        let allowed = match policy {
            "None" => false,
            "Principal" => PRINCIPAL.contains(&setting),
            _ => true,
        };
        if !allowed {
            let shown = if super::secrets::is_secret_key(key) {
                super::secrets::HIDDEN
            } else {
                value
            };
            infos.add_error(
                key,
                Some(shown),
                format!("The '{policy}' policy does not allow '{key}' to be overridden in the connector configuration (the worker's {}); remove the key or change the policy", super::worker::OVERRIDE_POLICY),
            );
        }
    }
    for (key, message) in crate::client_settings::check(props, &PREFIXES) {
        infos.add_error(&key, None, message);
    }
}

/// Keys Kafka Connect acts on that this build does not act on yet: refused when set to
/// anything but their no-op value, never silently ignored.
fn refuse_unsupported(props: &ConfigMap, infos: &mut ConfigInfos) {
    for (k, v) in props.range("topic.creation.".to_owned()..) {
        if !k.starts_with("topic.creation.") {
            break;
        }
        if k == "topic.creation.groups" && v.trim().is_empty() {
            continue;
        }
        infos.add_error(
            k,
            Some(v),
            format!("Invalid value {v} for configuration {k}: topic creation by connectors is not supported yet; create the topics beforehand and remove the key"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_shows_variables_not_the_secrets_they_resolve_to() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("s.properties");
        std::fs::write(&file, "pw=Hush-0451\n").expect("write");
        let w = worker_with(&[
            ("config.providers", "file"),
            (
                "config.providers.file.class",
                "org.apache.kafka.common.config.provider.FileConfigProvider",
            ),
        ]);
        let variable = format!("${{file:{}:pw}}", file.display());
        let props: ConfigMap = [
            ("name", "c"),
            ("connector.class", "FileStreamSource"),
            ("topic", "t"),
            ("unknown.secret.setting", variable.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let (infos, parsed) = validate_connector(&props, &w);
        assert!(parsed.is_none());
        let text = serde_json::to_string(&infos).expect("json");
        assert!(!text.contains("Hush-0451"), "{text}");
        assert!(text.contains(&variable), "{text}");
    }

    fn worker() -> WorkerConfig {
        let mut w = ConfigMap::new();
        w.insert("offset.storage.file.filename".into(), "/tmp/x".into());
        WorkerConfig::parse(&w).expect("worker config")
    }

    fn errors_of(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut c: ConfigMap = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        c.insert("name".into(), "n".into());
        let (infos, parsed) = validate_connector(&c, &worker());
        assert_eq!(parsed.is_none(), !infos.errors().is_empty());
        infos.errors()
    }

    #[test]
    fn a_valid_source_parses() {
        assert!(errors_of(&[("connector.class", "datagen")]).is_empty());
    }

    #[test]
    fn unsupported_keys_are_refused_not_ignored() {
        let e = errors_of(&[
            ("connector.class", "datagen"),
            ("topic.creation.default.partitions", "3"),
            ("exactly.once.support", "required"),
        ]);
        let keys: Vec<&str> = e.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys.len(), 2, "{e:?}");
        assert!(keys.contains(&"topic.creation.default.partitions"));
        assert!(keys.contains(&"exactly.once.support"));
    }

    #[test]
    fn error_handling_keys_parse_for_sources_and_sinks() {
        let mut c = connector(&[
            ("errors.retry.timeout", "30000"),
            ("errors.retry.delay.max.ms", "5000"),
            ("errors.tolerance", "all"),
            ("errors.deadletterqueue.topic.name", "dlq"),
            ("errors.deadletterqueue.topic.replication.factor", "1"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ]);
        let (infos, parsed) = validate_connector(&c, &worker());
        let parsed = parsed.unwrap_or_else(|| panic!("{:?}", infos.errors()));
        assert_eq!(
            parsed.errors_retry.timeout,
            crate::errors::RetryTimeout::For(std::time::Duration::from_secs(30))
        );
        assert_eq!(
            parsed.errors_retry.max_delay,
            std::time::Duration::from_secs(5)
        );
        let dlq = parsed.dead_letter.expect("a dead-letter topic");
        assert_eq!(
            (
                dlq.topic.as_str(),
                dlq.replication_factor,
                dlq.context_headers
            ),
            ("dlq", 1, true)
        );
        // A sink may not use one of its own topics as the dead-letter topic.
        c.insert("connector.class".into(), "FileStreamSink".into());
        c.insert("topics".into(), "a,dlq".into());
        let e = validate_connector(&c, &worker()).0.errors();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, "errors.deadletterqueue.topic.name");
        // Defaults: no retry, 60 s cap, no dead-letter topic.
        let (_, parsed) = validate_connector(&connector(&[]), &worker());
        let parsed = parsed.expect("valid");
        assert!(!parsed.errors_retry.retries());
        assert_eq!(
            parsed.errors_retry.max_delay,
            std::time::Duration::from_secs(60)
        );
        assert!(parsed.dead_letter.is_none());
    }

    #[test]
    fn converter_settings_are_validated_by_the_converter() {
        let e = errors_of(&[
            ("connector.class", "datagen"),
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter.decimal.format", "HEX"),
        ]);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].1.contains("decimal.format") && e[0].1.contains("BASE64, NUMERIC"),
            "{e:?}"
        );
    }

    fn worker_with(pairs: &[(&str, &str)]) -> WorkerConfig {
        let mut w: ConfigMap = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        w.insert("offset.storage.file.filename".into(), "/tmp/x".into());
        WorkerConfig::parse(&w).expect("worker config")
    }

    fn connector(pairs: &[(&str, &str)]) -> ConfigMap {
        let mut c: ConfigMap = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        c.insert("name".into(), "n".into());
        c.insert("connector.class".into(), "datagen".into());
        c
    }

    const AVRO: &str = "io.confluent.connect.avro.AvroConverter";

    #[test]
    fn registry_converters_without_a_url_use_the_built_in_registry() {
        let worker = worker_with(&[
            ("schema.registry.listener", "http://:18081"),
            ("key.converter", AVRO),
            ("key.converter.auto.register.schemas", "true"),
        ]);
        let c = connector(&[
            ("value.converter", "AvroConverter"),
            (
                "header.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
        ]);
        let (infos, parsed) = validate_connector(&c, &worker);
        let parsed = parsed.unwrap_or_else(|| panic!("{:?}", infos.errors()));
        let url = |s: &ConfigMap| s.get(REGISTRY_URL).cloned();
        // The worker's converter and the connector's own both get the registry's URL.
        assert_eq!(
            url(&parsed.key_converter.1).as_deref(),
            Some("http://127.0.0.1:18081")
        );
        assert_eq!(
            parsed
                .key_converter
                .1
                .get("auto.register.schemas")
                .map(String::as_str),
            Some("true")
        );
        assert_eq!(
            url(&parsed.value_converter.1).as_deref(),
            Some("http://127.0.0.1:18081")
        );
        // Converters that talk to no registry are left alone.
        assert_eq!(url(&parsed.header_converter.1), None);

        // A URL given is kept.
        let c = connector(&[
            ("value.converter", AVRO),
            (
                "value.converter.schema.registry.url",
                "http://registry:8081",
            ),
        ]);
        let (_, parsed) = validate_connector(&c, &worker);
        let parsed = parsed.expect("valid");
        assert_eq!(
            url(&parsed.value_converter.1).as_deref(),
            Some("http://registry:8081")
        );
    }

    #[test]
    fn a_registry_converter_without_a_url_or_a_built_in_registry_is_refused() {
        let c = connector(&[("value.converter", AVRO)]);
        let (infos, parsed) = validate_connector(&c, &worker());
        assert!(parsed.is_none());
        let e = infos.errors();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, "value.converter");
        assert!(
            e[0].1.contains("schema.registry.url") && e[0].1.contains("schema.registry.listener"),
            "{e:?}"
        );
    }
}
