//! The sink's config: the MongoDB Kafka sink connector's main keys, declared once in
//! [`config_def`] and parsed into [`SinkConfig`].
//!
//! Why this is right: a MongoDB sink config that names its target with `connection.uri`,
//! `database`, `collection` and a Debezium `change.data.capture.handler` runs unchanged;
//! keys of that connector whose job is done differently here (write-model strategies,
//! id strategies: CDC events carry their own `_id`) are accepted and logged as not needed,
//! so a config posts as it is. Values are checked before a connection is opened.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};

use crate::error::MongoError;

/// How records are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// Decide per record: a Debezium envelope whose `after` / `before` is a string is a
    /// MongoDB event, one whose `after` / `before` is a struct a relational (MySQL) event,
    /// anything else a plain document.
    Auto,
    /// Debezium MongoDB events (`after` as Extended JSON, `updateDescription`).
    MongoDb,
    /// Debezium relational events (MySQL, MariaDB, Postgres): `after` struct → document,
    /// `_id` = the key struct as a document.
    Rdbms,
}

/// The parsed sink config.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub connection_string: String,
    pub database: String,
    /// The target collection; `None` writes each topic to the collection named after it.
    pub collection: Option<String>,
    pub handler: Handler,
    pub delete_on_null_values: bool,
    /// Write statements per server command.
    pub batch_size: usize,
}

const GROUP: &str = "Sink";

fn key(name: &str, ty: ConfigType, doc: &str) -> ConfigKey {
    ConfigKey::new(name, ty).group(GROUP, -1).doc(doc)
}

const HANDLERS: &[&str] = &[
    "auto",
    "mongodb",
    "mysql",
    "rdbms",
    "com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.ChangeStreamHandler",
    "com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.MongoDbChangeStreamHandler",
    "com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.MongoDbHandler",
    "com.mongodb.kafka.connect.sink.cdc.debezium.rdbms.RdbmsHandler",
    "com.mongodb.kafka.connect.sink.cdc.debezium.rdbms.mysql.MysqlHandler",
    "com.mongodb.kafka.connect.sink.cdc.debezium.rdbms.postgres.PostgresHandler",
];

/// Config keys of the MongoDB sink.
pub fn config_def() -> ConfigDef {
    use ConfigType::{Boolean, Int, String as Str};
    ConfigDef::new()
        .define(key("connection.uri", Str, "Connection string of the target deployment, e.g. mongodb://host:27017/?replicaSet=rs0.").optional().importance(Importance::High))
        .define(key("mongodb.connection.string", Str, "Debezium's name for connection.uri; used when connection.uri is absent.").optional().importance(Importance::Low))
        .define(key("database", Str, "The database written to.").importance(Importance::High).validator(Validator::NonEmpty))
        .define(key("collection", Str, "The collection written to; absent: each topic goes to the collection named after the topic.").optional().importance(Importance::High))
        .define(key("change.data.capture.handler", Str, "How records are read: auto (default: per record, Debezium MongoDB events by their Extended JSON strings, Debezium relational events by their structs, else plain documents), the MongoDB connector's Debezium handler classes (ChangeStreamHandler / MongoDbHandler, RdbmsHandler / MysqlHandler / PostgresHandler), or the short names mongodb and mysql / rdbms.").default("auto").validator(Validator::OneOf(HANDLERS)))
        .define(key("delete.on.null.values", Boolean, "Delete the document whose _id the key names when a record's value is null (a tombstone). On by default here: a tombstone after a Debezium delete deletes again, which is harmless.").default("true"))
        .define(key("max.batch.size", Int, "Write statements per server command (one command per run of writes in a put).").default("1000").validator(Validator::Range { min: Some(1), max: Some(100_000) }))
        .not_needed("writemodel.strategy", "CDC events decide the write: replace with upsert by _id, or delete")
        .not_needed("document.id.strategy", "the _id comes from the event's key (or the document)")
        .not_needed("document.id.strategy.overwrite.existing", "the _id comes from the event's key (or the document)")
        .not_needed("max.num.retries", "failed writes are retried by the runtime (errors.retry.timeout)")
        .not_needed("retries.defer.timeout", "failed writes are retried by the runtime (errors.retry.timeout)")
        .not_needed("bulk.write.ordered", "writes of one put are applied in order per _id")
        .not_needed("mongo.errors.tolerance", "errors.tolerance applies")
}

/// Parses `props` (the whole connector config; framework keys are ignored).
pub fn parse(props: &ConfigMap) -> Result<SinkConfig, MongoError> {
    let def = config_def();
    let own: ConfigMap = props
        .iter()
        .filter(|(k, _)| def.key(k).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let p = def
        .parse(&own)
        .map_err(|e| MongoError::Config(e.to_string()))?;
    let connection_string = p
        .string("connection.uri")
        .or_else(|| p.string("mongodb.connection.string"))
        .unwrap_or_default()
        .to_owned();
    if !(connection_string.starts_with("mongodb://")
        || connection_string.starts_with("mongodb+srv://"))
    {
        return Err(MongoError::Config(format!(
            "connection.uri must be a mongodb:// or mongodb+srv:// connection string, got {connection_string:?}"
        )));
    }
    let h = p.string_or_default("change.data.capture.handler");
    let handler = if h.eq_ignore_ascii_case("auto") {
        Handler::Auto
    } else if h.eq_ignore_ascii_case("mongodb") || h.contains(".debezium.mongodb.") {
        Handler::MongoDb
    } else {
        Handler::Rdbms
    };
    Ok(SinkConfig {
        connection_string,
        database: p.string("database").unwrap_or_default().to_owned(),
        collection: p
            .string("collection")
            .filter(|c| !c.trim().is_empty())
            .map(str::to_owned),
        handler,
        delete_on_null_values: p.bool("delete.on.null.values"),
        batch_size: p.long("max.batch.size") as usize,
    })
}

/// Logs, once per start, the keys that are accepted but have no job here.
pub fn log_not_needed(props: &ConfigMap) {
    for (k, why) in config_def().not_needed_in(props) {
        tracing::info!(key = k, "configuration key not needed: {why}");
    }
}
