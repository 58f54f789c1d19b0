//! The one explicit list of plugins this binary carries. A config names a plugin by
//! its class (Kafka Connect's / Debezium's / Confluent's Java name) or an alias.

use sluice_connector_file::{datagen, sink as file_sink, source as file_source};
use sluice_converters::{
    AvroConverter, ByteArrayConverter, JsonConverter, SimpleHeaderConverter, StringConverter,
};
use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::{
    Converter, PluginInfo, PluginType, PredicatePlugin, SinkConnector, SinkTask, SourceConnector,
    SourceTask, TransformPlugin,
};
use sluice_core::ConnectError;

/// How to build a plugin.
#[derive(Clone, Copy)]
pub enum Factory {
    /// A source connector and its task.
    Source {
        connector: fn() -> Box<dyn SourceConnector>,
        task: fn() -> Box<dyn SourceTask>,
    },
    /// A sink connector and its task.
    Sink {
        connector: fn() -> Box<dyn SinkConnector>,
        task: fn() -> Box<dyn SinkTask>,
    },
    /// A converter from its settings (prefix stripped).
    Converter(fn(&ConfigMap) -> Result<Box<dyn Converter>, ConnectError>),
}

/// One registered plugin.
#[derive(Clone, Copy)]
pub struct Plugin {
    /// Its identity and config keys.
    pub info: PluginInfo,
    /// How to build it.
    pub factory: Factory,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.info.class)
    }
}

fn converter_type_key() -> ConfigKey {
    ConfigKey::new("converter.type", ConfigType::String)
        .optional()
        .importance(Importance::Low)
        .doc("How this converter will be used: key, value or header.")
        .validator(Validator::OneOf(&["key", "value", "header"]))
}

fn string_converter_def() -> ConfigDef {
    ConfigDef::new().define(converter_type_key()).define(
        ConfigKey::new("converter.encoding", ConfigType::String)
            .default("UTF-8")
            .importance(Importance::High)
            .validator(Validator::OneOf(&["UTF-8", "UTF8"]))
            .doc("The name of the character encoding; only UTF-8 is supported."),
    )
}

fn plain_converter_def() -> ConfigDef {
    ConfigDef::new().define(converter_type_key())
}

fn checked<C: Converter + 'static>(
    def: fn() -> ConfigDef,
    config: &ConfigMap,
    build: impl FnOnce() -> C,
) -> Result<Box<dyn Converter>, ConnectError> {
    def()
        .parse(config)
        .map_err(|e| ConnectError::Fatal(e.to_string()))?;
    Ok(Box::new(build()))
}

/// Every plugin, in the order `/connector-plugins` lists them.
pub static PLUGINS: &[Plugin] = &[
    Plugin {
        info: file_source::INFO,
        factory: Factory::Source {
            connector: || Box::<file_source::FileStreamSourceConnector>::default(),
            task: || Box::<file_source::FileStreamSourceTask>::default(),
        },
    },
    Plugin {
        info: file_sink::INFO,
        factory: Factory::Sink {
            connector: || Box::<file_sink::FileStreamSinkConnector>::default(),
            task: || Box::<file_sink::FileStreamSinkTask>::default(),
        },
    },
    Plugin {
        info: sluice_connector_mysql::INFO,
        factory: Factory::Source {
            connector: || Box::<sluice_connector_mysql::MySqlConnector>::default(),
            task: || Box::<sluice_connector_mysql::MySqlTask>::default(),
        },
    },
    Plugin {
        info: sluice_connector_mysql::sink::INFO,
        factory: Factory::Sink {
            connector: || Box::<sluice_connector_mysql::sink::MySqlSinkConnector>::default(),
            task: || Box::<sluice_connector_mysql::sink::MySqlSinkTask>::default(),
        },
    },
    Plugin {
        info: sluice_connector_mongodb::INFO,
        factory: Factory::Source {
            connector: || Box::<sluice_connector_mongodb::MongoSourceConnector>::default(),
            task: || Box::<sluice_connector_mongodb::MongoSourceTask>::default(),
        },
    },
    Plugin {
        info: sluice_connector_mongodb::SINK_INFO,
        factory: Factory::Sink {
            connector: || Box::<sluice_connector_mongodb::MongoSinkConnector>::default(),
            task: || Box::<sluice_connector_mongodb::MongoSinkTask>::default(),
        },
    },
    Plugin {
        info: datagen::INFO,
        factory: Factory::Source {
            connector: || Box::<datagen::DatagenConnector>::default(),
            task: || Box::<datagen::DatagenTask>::default(),
        },
    },
    Plugin {
        info: PluginInfo {
            class: "org.apache.kafka.connect.json.JsonConverter",
            aliases: &["JsonConverter", "json"],
            kind: PluginType::Converter,
            config: sluice_converters::json::config_def,
        },
        factory: Factory::Converter(|c| Ok(Box::new(JsonConverter::new(c)?))),
    },
    Plugin {
        info: PluginInfo {
            class: "io.confluent.connect.avro.AvroConverter",
            aliases: &["AvroConverter", "avro"],
            kind: PluginType::Converter,
            config: sluice_converters::avro::config_def,
        },
        factory: Factory::Converter(|c| Ok(Box::new(AvroConverter::new(c)?))),
    },
    Plugin {
        info: PluginInfo {
            class: "io.confluent.connect.protobuf.ProtobufConverter",
            aliases: &["ProtobufConverter", "protobuf"],
            kind: PluginType::Converter,
            config: sluice_converters::protobuf::config_def,
        },
        factory: Factory::Converter(|c| {
            Ok(Box::new(
                sluice_converters::protobuf::ProtobufConverter::new(c)?,
            ))
        }),
    },
    Plugin {
        info: PluginInfo {
            class: "org.apache.kafka.connect.storage.StringConverter",
            aliases: &["StringConverter", "string"],
            kind: PluginType::Converter,
            config: string_converter_def,
        },
        factory: Factory::Converter(|c| checked(string_converter_def, c, StringConverter::default)),
    },
    Plugin {
        info: PluginInfo {
            class: "org.apache.kafka.connect.converters.ByteArrayConverter",
            aliases: &["ByteArrayConverter", "bytes"],
            kind: PluginType::Converter,
            config: plain_converter_def,
        },
        factory: Factory::Converter(|c| {
            checked(plain_converter_def, c, ByteArrayConverter::default)
        }),
    },
    Plugin {
        info: PluginInfo {
            class: "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            aliases: &["SimpleHeaderConverter"],
            kind: PluginType::HeaderConverter,
            config: plain_converter_def,
        },
        factory: Factory::Converter(|c| {
            checked(plain_converter_def, c, SimpleHeaderConverter::default)
        }),
    },
];

/// Transformation plugins: built-ins, then WASM.
static TRANSFORM_SETS: &[&[TransformPlugin]] = &[
    sluice_transforms::TRANSFORMS,
    std::slice::from_ref(&sluice_wasm::WASM_TRANSFORM),
];

/// Predicate plugins.
static PREDICATE_SETS: &[&[PredicatePlugin]] = &[sluice_transforms::PREDICATES];

/// The transformation answering to `name`.
pub fn transform(name: &str) -> Option<&'static TransformPlugin> {
    let name = name.trim();
    TRANSFORM_SETS
        .iter()
        .flat_map(|s| s.iter())
        .find(|t| t.info.answers_to(name))
}

/// The predicate answering to `name`.
pub fn predicate(name: &str) -> Option<&'static PredicatePlugin> {
    let name = name.trim();
    PREDICATE_SETS
        .iter()
        .flat_map(|s| s.iter())
        .find(|p| p.info.answers_to(name))
}

fn or_none(names: Vec<&str>) -> String {
    if names.is_empty() {
        "none in this build".into()
    } else {
        names.join(", ")
    }
}

/// Every transformation class, for error messages.
pub fn transform_names() -> String {
    or_none(
        TRANSFORM_SETS
            .iter()
            .flat_map(|s| s.iter())
            .map(|t| t.info.class)
            .collect(),
    )
}

/// Every predicate class, for error messages.
pub fn predicate_names() -> String {
    or_none(
        PREDICATE_SETS
            .iter()
            .flat_map(|s| s.iter())
            .map(|p| p.info.class)
            .collect(),
    )
}

/// Every plugin's description, connectors and converters first.
pub fn all_infos() -> impl Iterator<Item = &'static PluginInfo> {
    PLUGINS
        .iter()
        .map(|p| &p.info)
        .chain(
            TRANSFORM_SETS
                .iter()
                .flat_map(|s| s.iter())
                .map(|t| &t.info),
        )
        .chain(
            PREDICATE_SETS
                .iter()
                .flat_map(|s| s.iter())
                .map(|p| &p.info),
        )
}

/// The description of the plugin answering to `name`, of any kind.
pub fn find_info(name: &str) -> Option<&'static PluginInfo> {
    let name = name.trim();
    all_infos().find(|i| i.answers_to(name))
}

/// The plugin answering to `name` (class or alias).
pub fn find(name: &str) -> Option<&'static Plugin> {
    let name = name.trim();
    PLUGINS.iter().find(|p| p.info.answers_to(name))
}

/// Names of every plugin of the given kinds, for error messages.
pub fn names_of(kinds: &[PluginType]) -> String {
    PLUGINS
        .iter()
        .filter(|p| kinds.contains(&p.info.kind))
        .map(|p| p.info.class)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds a converter named `class` with `settings`, for use as `role` (key, value, header).
pub fn converter(
    class: &str,
    role: &str,
    settings: &ConfigMap,
) -> Result<Box<dyn Converter>, ConnectError> {
    let kinds: &[PluginType] = if role == "header" {
        &[PluginType::HeaderConverter, PluginType::Converter]
    } else {
        &[PluginType::Converter]
    };
    match find(class) {
        Some(Plugin {
            factory: Factory::Converter(build),
            info,
        }) if kinds.contains(&info.kind) => {
            let mut settings = settings.clone();
            settings.insert("converter.type".into(), role.into());
            build(&settings)
        }
        _ => Err(ConnectError::config(
            format!("{role}.converter"),
            class,
            format!("not a known converter; available: {}", names_of(kinds)),
        )),
    }
}
