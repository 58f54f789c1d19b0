//! The worker's keys, as Kafka Connect's `WorkerConfig` / `StandaloneConfig` name them.

use std::sync::Arc;
use std::time::Duration;

use sluice_core::config::{
    ConfigDef, ConfigErrors, ConfigKey, ConfigMap, ConfigType, Importance, Validator,
};

use super::providers::{ConfigProviders, PROVIDERS_KEY};
use crate::rest::auth::RestAuth;
use crate::rest::tls::RestTls;

/// The worker key limiting connectors' client overrides.
pub const OVERRIDE_POLICY: &str = "connector.client.config.override.policy";

const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";
const HEADER_CONVERTER: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

/// Every key a standalone worker accepts.
pub fn worker_def() -> ConfigDef {
    let not_needed = "plugins are compiled into the sluice binary";
    ConfigDef::new()
        .define(
            ConfigKey::new("bootstrap.servers", ConfigType::List)
                .default("localhost:9092")
                .importance(Importance::High)
                .doc("Kafka brokers to connect to, host:port, comma-separated."),
        )
        .define(
            ConfigKey::new("key.converter", ConfigType::Class)
                .default(JSON_CONVERTER)
                .importance(Importance::High)
                .doc("Converter for record keys, by class name or alias; its settings go under key.converter.*."),
        )
        .define(
            ConfigKey::new("value.converter", ConfigType::Class)
                .default(JSON_CONVERTER)
                .importance(Importance::High)
                .doc("Converter for record values; its settings go under value.converter.*."),
        )
        .define(
            ConfigKey::new("header.converter", ConfigType::Class)
                .default(HEADER_CONVERTER)
                .importance(Importance::Low)
                .doc("Converter for header values; its settings go under header.converter.*."),
        )
        .define(
            ConfigKey::new("offset.storage.file.filename", ConfigType::String)
                .importance(Importance::High)
                .validator(Validator::NonEmpty)
                .doc("File to store source connector offsets in (standalone mode); written atomically."),
        )
        .define(
            ConfigKey::new("offset.flush.interval.ms", ConfigType::Long)
                .default("60000")
                .importance(Importance::Low)
                .validator(Validator::Range { min: Some(1), max: None })
                .doc("Interval at which to commit acknowledged offsets (sources) and flush + commit (sinks)."),
        )
        .define(
            ConfigKey::new("offset.flush.timeout.ms", ConfigType::Long)
                .default("5000")
                .importance(Importance::Low)
                .validator(Validator::Range { min: Some(0), max: None })
                .doc("Longest wait for records to be acknowledged when flushing at shutdown."),
        )
        .define(
            ConfigKey::new("task.shutdown.graceful.timeout.ms", ConfigType::Long)
                .default("5000")
                .importance(Importance::Low)
                .validator(Validator::Range { min: Some(0), max: None })
                .doc("Longest wait for a task to stop gracefully."),
        )
        .define(
            ConfigKey::new("listeners", ConfigType::List)
                .default("http://127.0.0.1:8083")
                .importance(Importance::Low)
                .doc("REST API listener: http://host:port, or https://host:port with the listeners.https.ssl.* keys (one listener). Port 0 picks a free port."),
        )
        .define(
            ConfigKey::new("rest.advertised.host.name", ConfigType::String)
                .optional()
                .importance(Importance::Low)
                .doc("Host name other workers and clients use to reach this worker."),
        )
        .define(
            ConfigKey::new("rest.advertised.port", ConfigType::Int)
                .optional()
                .importance(Importance::Low)
                .doc("Port other workers and clients use to reach this worker."),
        )
        .define(
            ConfigKey::new("rest.advertised.listener", ConfigType::String)
                .optional()
                .importance(Importance::Low)
                .validator(Validator::OneOf(&["http", "https"]))
                .doc("Scheme other workers use to reach this worker's REST API; defaults to the listener's."),
        )
        .define(
            ConfigKey::new("schema.registry.listener", ConfigType::String)
                .optional()
                .importance(Importance::Medium)
                .doc("Serve the built-in, Confluent-compatible Schema Registry on this listener, http://host:port (e.g. http://127.0.0.1:8081). Converters that need a registry (AvroConverter) and have no schema.registry.url use this one. Unset: no registry is served."),
        )
        .define(
            ConfigKey::new("schema.registry.topic", ConfigType::String)
                .default(sluice_schema_registry::KafkaStoreConfig::DEFAULT_TOPIC)
                .importance(Importance::Low)
                .validator(Validator::NonEmpty)
                .doc("Compacted topic the built-in Schema Registry keeps its schemas in (Confluent's kafkastore.topic); workers sharing it hand out the same ids. Created when missing."),
        )
        .define(
            ConfigKey::new("topic.tracking.enable", ConfigType::Boolean)
                .default("true")
                .importance(Importance::Low)
                .doc("Record the topics each connector produces to or consumes from, for GET /connectors/{name}/topics."),
        )
        .define(
            ConfigKey::new("topic.tracking.allow.reset", ConfigType::Boolean)
                .default("true")
                .importance(Importance::Low)
                .doc("Allow PUT /connectors/{name}/topics/reset to clear a connector's recorded topics."),
        )
        .define(
            ConfigKey::new(PROVIDERS_KEY, ConfigType::List)
                .default("")
                .importance(Importance::Low)
                .doc("Config providers, by name, for ${name:[path:]key} variables in worker and connector configs (resolved when a connector or task starts; stored and shown as written). Each needs config.providers.<name>.class: org.apache.kafka.common.config.provider.EnvVarConfigProvider, FileConfigProvider or DirectoryConfigProvider; settings under config.providers.<name>.param.*."),
        )
        .prefix("config.providers.", "config provider classes and their param.* settings")
        .prefix("key.converter.", "settings of the key converter")
        .prefix("value.converter.", "settings of the value converter")
        .prefix("header.converter.", "settings of the header converter")
        .prefix("producer.", "librdkafka producer settings for source tasks")
        .prefix("consumer.", "librdkafka consumer settings for sink tasks")
        .prefix("admin.", "librdkafka admin client settings")
        .not_needed("plugin.path", not_needed)
        .not_needed("plugin.discovery", not_needed)
        .define(
            ConfigKey::new(OVERRIDE_POLICY, ConfigType::String)
                .default("All")
                .importance(Importance::Medium)
                .validator(Validator::OneOf(&[
                    "All",
                    "None",
                    "Principal",
                    "org.apache.kafka.connect.connector.policy.AllConnectorClientConfigOverridePolicy",
                    "org.apache.kafka.connect.connector.policy.NoneConnectorClientConfigOverridePolicy",
                    "org.apache.kafka.connect.connector.policy.PrincipalConnectorClientConfigOverridePolicy",
                ]))
                .doc("Which producer.override.* / consumer.override.* keys connectors may set: All (any), Principal (only security.protocol, sasl.mechanism and sasl.jaas.config) or None; or Kafka Connect's policy class names."),
        )
        .not_needed("metric.reporters", "metrics are served by the REST API")
        .not_needed("metrics.sample.window.ms", "metrics are served by the REST API")
        .not_needed("metrics.num.samples", "metrics are served by the REST API")
        .not_needed("metrics.recording.level", "metrics are served by the REST API")
        .not_needed("internal.key.converter", "internal topics always use JSON")
        .not_needed("internal.value.converter", "internal topics always use JSON")
        .not_needed("internal.key.converter.schemas.enable", "internal topics always use JSON")
        .not_needed("internal.value.converter.schemas.enable", "internal topics always use JSON")
        .not_needed("client.dns.lookup", "librdkafka resolves all addresses")
        .extend_keys(crate::rest::tls::ssl_config_keys())
        .extend_keys(crate::rest::auth::auth_config_keys())
}

trait DefineAll {
    fn extend_keys(self, keys: Vec<ConfigKey>) -> Self;
}

impl DefineAll for ConfigDef {
    fn extend_keys(self, keys: Vec<ConfigKey>) -> Self {
        keys.into_iter().fold(self, ConfigDef::define)
    }
}

/// A validated worker config.
#[derive(Clone)]
pub struct WorkerConfig {
    /// `bootstrap.servers`, comma-joined for librdkafka.
    pub bootstrap_servers: String,
    /// `key.converter` class.
    pub key_converter: String,
    /// `value.converter` class.
    pub value_converter: String,
    /// `header.converter` class.
    pub header_converter: String,
    /// `offset.storage.file.filename`.
    pub offset_file: String,
    /// `offset.flush.interval.ms`.
    pub offset_flush_interval: Duration,
    /// `offset.flush.timeout.ms`.
    pub offset_flush_timeout: Duration,
    /// `task.shutdown.graceful.timeout.ms`.
    pub shutdown_timeout: Duration,
    /// `listeners` (one listener: `parse_with` refuses more).
    pub listener: String,
    /// `schema.registry.listener`: where the built-in Schema Registry listens, if at all.
    pub schema_registry_listener: Option<String>,
    /// `schema.registry.topic`.
    pub schema_registry_topic: String,
    /// Where converters on this worker reach the built-in registry, when it runs: the
    /// `schema.registry.url` a registry converter without one is given.
    pub schema_registry_url: Option<String>,
    /// `topic.tracking.enable`.
    pub topic_tracking: bool,
    /// `topic.tracking.allow.reset`.
    pub topic_tracking_reset: bool,
    /// Every given key, for prefixed settings, with config provider variables resolved.
    pub originals: ConfigMap,
    /// The config providers (`config.providers`), for connector configs.
    pub providers: ConfigProviders,
    /// The REST server's TLS, when the listener is https.
    pub rest_tls: Option<Arc<RestTls>>,
    /// Who may call the REST API.
    pub rest_auth: Arc<RestAuth>,
}

/// Secrets stay out of debug output: the settings show with secret values hidden.
impl std::fmt::Debug for WorkerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerConfig")
            .field("listener", &self.listener)
            .field(
                "originals",
                &super::secrets::redacted(&self.originals, None),
            )
            .field("rest_tls", &self.rest_tls)
            .field("rest_auth", &self.rest_auth)
            .finish_non_exhaustive()
    }
}

impl WorkerConfig {
    /// Validates and reads a worker config.
    pub fn parse(props: &ConfigMap) -> Result<Self, ConfigErrors> {
        Self::parse_with(&worker_def(), props)
    }

    /// Validates `props` against `def` (the standalone keys merged with a mode's own, as
    /// distributed mode does) and reads the keys both modes share.
    pub fn parse_with(def: &ConfigDef, props: &ConfigMap) -> Result<Self, ConfigErrors> {
        let one = |key: String, e: String| ConfigErrors(vec![(key, e)]);
        let providers =
            ConfigProviders::from_worker(props).map_err(|e| one(e.key(), e.to_string()))?;
        let props = &providers.resolve(props).map_err(|errors| {
            ConfigErrors(
                errors
                    .into_iter()
                    .map(|e| (e.key.clone(), e.to_string()))
                    .collect(),
            )
        })?;
        let p = def.parse(props)?;
        let client_errors =
            crate::client_settings::check(props, &["producer.", "consumer.", "admin."]);
        if !client_errors.is_empty() {
            return Err(ConfigErrors(client_errors));
        }
        for (key, why) in def.not_needed_in(props) {
            tracing::info!(key, "worker setting accepted but not needed: {why}");
        }
        let ms = |k: &str| Duration::from_millis(p.long(k).max(0) as u64);
        let schema_registry_listener = p.string("schema.registry.listener").map(str::to_owned);
        let schema_registry_url = schema_registry_listener
            .as_deref()
            .map(crate::schema_registry::client_url)
            .transpose()
            .map_err(|e| {
                ConfigErrors(vec![("schema.registry.listener".to_owned(), e.to_string())])
            })?;
        let listeners = p.list("listeners");
        let listener = listeners.join(",");
        let spec = crate::rest::serve::parse_listeners(&listener).map_err(|e| {
            one(
                "listeners".into(),
                format!("Invalid value {listener} for configuration listeners: {e}"),
            )
        })?;
        let rest_tls = (spec.scheme == "https")
            .then(|| RestTls::from_worker(props))
            .transpose()
            .map_err(|e| one(e.key.clone(), e.to_string()))?
            .map(Arc::new);
        let rest_auth =
            RestAuth::from_worker(props).map_err(|e| one(e.key.clone(), e.to_string()))?;
        Ok(WorkerConfig {
            bootstrap_servers: p.list("bootstrap.servers").join(","),
            key_converter: p.string_or_default("key.converter").to_owned(),
            value_converter: p.string_or_default("value.converter").to_owned(),
            header_converter: p.string_or_default("header.converter").to_owned(),
            offset_file: p
                .string("offset.storage.file.filename")
                .unwrap_or_default()
                .to_owned(),
            offset_flush_interval: ms("offset.flush.interval.ms"),
            offset_flush_timeout: ms("offset.flush.timeout.ms"),
            shutdown_timeout: ms("task.shutdown.graceful.timeout.ms"),
            listener,
            schema_registry_listener,
            schema_registry_topic: p.string_or_default("schema.registry.topic").to_owned(),
            schema_registry_url,
            topic_tracking: p.bool("topic.tracking.enable"),
            topic_tracking_reset: p.bool("topic.tracking.allow.reset"),
            originals: props.clone(),
            providers,
            rest_tls,
            rest_auth: Arc::new(rest_auth),
        })
    }

    /// Keys under `prefix`, with the prefix stripped.
    pub fn with_prefix(&self, prefix: &str) -> ConfigMap {
        self.originals
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
            .collect()
    }
}
