//! The connector's config: Debezium's MySQL keys, declared once in [`config_def`] (which
//! drives validation and `/connector-plugins/.../config`) and parsed into [`MySqlConfig`].
//!
//! Why this is right: every key a Debezium MySQL config commonly carries is either declared
//! here with Debezium's name, default and meaning, or accepted as "not needed" with the
//! reason logged once (`schema.history.internal.*`, `database.history.*`,
//! `include.schema.changes`: schemas come from the binlog, there is no history to keep).
//! Values are checked before a connection is opened, so a typo fails at once and names the
//! key. Dynamic keys (`column.mask.with.N.chars`, `column.mask.hash.<alg>.with.salt.<salt>`)
//! are parsed here too, so a bad one is a config error rather than a runtime surprise.

use sluice_core::config::{
    ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, ParsedConfig, Validator,
};

use crate::error::MySqlError;
use crate::filters::{Filters, KeyColumns, Masks};

/// `snapshot.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    /// Snapshot when there is no offset, then stream.
    Initial,
    /// Snapshot when there is no offset, then stop.
    InitialOnly,
    /// Never read data; stream from the current position when there is no offset.
    NoData,
    /// Never read data; stream from the oldest binlog when there is no offset.
    Never,
    /// Like `initial`, and snapshot again when the stored position is gone.
    WhenNeeded,
    /// Snapshot at every start, then stream.
    Always,
}

/// `decimal.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalMode {
    Precise,
    Double,
    String,
}

/// `time.precision.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeMode {
    /// TIME as `MicroTime`, DATETIME by precision.
    AdaptiveMicroseconds,
    /// TIME and DATETIME by precision.
    Adaptive,
    /// Kafka Connect's Date / Time / Timestamp (milliseconds).
    Connect,
}

/// `bigint.unsigned.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BigIntUnsignedMode {
    Long,
    Precise,
}

/// `binary.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryMode {
    Bytes,
    Base64,
    Base64UrlSafe,
    Hex,
}

/// The parsed config of a MySQL source.
#[derive(Debug, Clone)]
pub struct MySqlConfig {
    pub hostname: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub server_id: u32,
    pub topic_prefix: String,
    /// `mysql` or `mariadb`: the `source.connector` value and the `Source` schema name.
    pub connector_name: &'static str,
    pub filters: Filters,
    pub key_columns: KeyColumns,
    pub masks: Masks,
    pub snapshot_mode: SnapshotMode,
    pub snapshot_fetch_size: usize,
    pub decimal_mode: DecimalMode,
    pub time_mode: TimeMode,
    pub bigint_unsigned_mode: BigIntUnsignedMode,
    pub binary_mode: BinaryMode,
    pub tombstones_on_delete: bool,
    pub skip_create: bool,
    pub skip_update: bool,
    pub skip_delete: bool,
    pub skip_truncate: bool,
    pub heartbeat_interval_ms: u64,
    pub heartbeat_topic_prefix: String,
    pub transaction_metadata: bool,
    pub transaction_topic: String,
    pub max_batch_size: usize,
    pub connect_timeout_ms: u64,
    /// `database.ssl.*`.
    pub tls: crate::tls::TlsSettings,
}

const GROUP_CONN: &str = "Connection";
const GROUP_FILTER: &str = "Filters";
const GROUP_EVENTS: &str = "Events";

fn key(name: &str, ty: ConfigType, group: &str, doc: &str) -> ConfigKey {
    ConfigKey::new(name, ty).group(group, -1).doc(doc)
}

/// Config keys of the MySQL source.
pub fn config_def() -> ConfigDef {
    use ConfigType::{Boolean, Int, List, Long, Password, String as Str};
    crate::tls::config_keys(GROUP_CONN)
        .into_iter()
        .fold(ConfigDef::new(), ConfigDef::define)
        .define(key("database.hostname", Str, GROUP_CONN, "Host name or address of the MySQL / MariaDB server.").importance(Importance::High).validator(Validator::NonEmpty))
        .define(key("database.port", Int, GROUP_CONN, "Port of the server.").default("3306").importance(Importance::High).validator(Validator::Range { min: Some(1), max: Some(65535) }))
        .define(key("database.user", Str, GROUP_CONN, "User to connect as; needs SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE and REPLICATION CLIENT (BINLOG MONITOR on MariaDB).").importance(Importance::High).validator(Validator::NonEmpty))
        .define(key("database.password", Password, GROUP_CONN, "Password of the user.").optional().importance(Importance::High))
        .define(key("database.server.id", Long, GROUP_CONN, "Server id this connector uses as a replica; must be unique among the server's replicas. Default: derived from topic.prefix (5400-6399).").optional().importance(Importance::Low).validator(Validator::Range { min: Some(1), max: Some(u32::MAX as i64) }))
        .define(key("topic.prefix", Str, GROUP_CONN, "Logical name of the server: prefix of every topic (<topic.prefix>.<db>.<table>) and the source partition {\"server\": topic.prefix}.").importance(Importance::High).validator(Validator::Custom(valid_prefix)))
        .define(key("database.server.name", Str, GROUP_CONN, "Debezium 1.x name of topic.prefix; used when topic.prefix is absent.").optional().importance(Importance::Low))
        .define(key("connect.timeout.ms", Long, GROUP_CONN, "How long to wait for a connection, in ms.").default("30000").importance(Importance::Low).validator(Validator::Range { min: Some(1), max: None }))
        .define(key("database.include.list", List, GROUP_FILTER, "Regular expressions of database names to capture (whole-name, case-insensitive); empty captures every database but the system ones.").optional())
        .define(key("database.exclude.list", List, GROUP_FILTER, "Regular expressions of database names not to capture.").optional())
        .define(key("table.include.list", List, GROUP_FILTER, "Regular expressions of <db>.<table> names to capture.").optional())
        .define(key("table.exclude.list", List, GROUP_FILTER, "Regular expressions of <db>.<table> names not to capture.").optional())
        .define(key("column.include.list", List, GROUP_FILTER, "Regular expressions of <db>.<table>.<column> names to keep in change events.").optional())
        .define(key("column.exclude.list", List, GROUP_FILTER, "Regular expressions of <db>.<table>.<column> names to drop from change events.").optional())
        .define(key("message.key.columns", Str, GROUP_FILTER, "Custom keys: <db>.<table regex>:<col>[,<col>...] separated by ';'; replaces the primary key as the record key.").optional())
        .define(key("snapshot.mode", Str, GROUP_EVENTS, "initial, initial_only, no_data (schema_only), never, when_needed or always.").default("initial").importance(Importance::High).validator(Validator::OneOf(&["initial", "initial_only", "no_data", "schema_only", "never", "when_needed", "always"])))
        .define(key("snapshot.fetch.size", Int, GROUP_EVENTS, "Rows per snapshot chunk (keyset pagination by primary key); progress is stored after each row.").default("10000").validator(Validator::Range { min: Some(1), max: Some(10_000_000) }))
        .define(key("snapshot.locking.mode", Str, GROUP_EVENTS, "Accepted for compatibility; MariaDB snapshots need no lock, MySQL ones hold FLUSH TABLES WITH READ LOCK only while the position is read.").default("minimal").importance(Importance::Low))
        .define(key("decimal.handling.mode", Str, GROUP_EVENTS, "DECIMAL as precise (Kafka Decimal), double or string.").default("precise").validator(Validator::OneOf(&["precise", "double", "string"])))
        .define(key("time.precision.mode", Str, GROUP_EVENTS, "adaptive_time_microseconds, adaptive or connect.").default("adaptive_time_microseconds").validator(Validator::OneOf(&["adaptive_time_microseconds", "adaptive", "connect"])))
        .define(key("bigint.unsigned.handling.mode", Str, GROUP_EVENTS, "BIGINT UNSIGNED as long (int64, wrapping above 2^63-1) or precise (Decimal).").default("long").validator(Validator::OneOf(&["long", "precise"])))
        .define(key("binary.handling.mode", Str, GROUP_EVENTS, "BINARY / VARBINARY / BLOB as bytes, base64, base64-url-safe or hex.").default("bytes").validator(Validator::OneOf(&["bytes", "base64", "base64-url-safe", "hex"])))
        .define(key("tombstones.on.delete", Boolean, GROUP_EVENTS, "Emit a tombstone (null value) after each delete.").default("true"))
        .define(key("skipped.operations", List, GROUP_EVENTS, "Operations not emitted: c, u, d, t, or none.").default("t"))
        .define(key("heartbeat.interval.ms", Long, GROUP_EVENTS, "Emit a heartbeat to __debezium-heartbeat.<topic.prefix> this often while streaming, so offsets advance on idle tables; 0 disables.").default("0").validator(Validator::Range { min: Some(0), max: None }))
        .define(key("topic.heartbeat.prefix", Str, GROUP_EVENTS, "Prefix of the heartbeat topic.").default("__debezium-heartbeat"))
        .define(key("provide.transaction.metadata", Boolean, GROUP_EVENTS, "Emit BEGIN / END records to <topic.prefix>.transaction and a transaction block in each event.").default("false"))
        .define(key("topic.transaction", Str, GROUP_EVENTS, "Suffix of the transaction topic.").default("transaction"))
        .define(key("max.batch.size", Int, GROUP_EVENTS, "Largest batch returned by one poll.").default("2048").validator(Validator::Range { min: Some(1), max: Some(1_000_000) }))
        .define(key("max.queue.size", Int, GROUP_EVENTS, "Accepted for compatibility; batches are queued two deep.").default("8192").importance(Importance::Low))
        .define(key("include.query", Boolean, GROUP_EVENTS, "Accepted for compatibility; source.query is always null.").default("false").importance(Importance::Low))
        .prefix("column.mask.", "column.mask.with.<N>.chars and column.mask.hash.<algorithm>.with.salt.<salt>: lists of <db>.<table>.<column> regular expressions")
        .prefix("schema.history.internal.", "not needed: schemas come from the binlog (binlog_row_metadata=FULL), there is no schema history")
        .prefix("database.history.", "not needed: schemas come from the binlog (binlog_row_metadata=FULL), there is no schema history")
        .not_needed("include.schema.changes", "schema changes are not emitted: schemas come from the binlog with each table version")
        .not_needed("database.allowPublicKeyRetrieval", "the driver negotiates authentication itself")
}

fn valid_prefix(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("String must be non-empty".into());
    }
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        Ok(())
    } else {
        Err("Only letters, digits, '_', '-' and '.' are allowed in a topic name".into())
    }
}

/// Parses `props` (the whole connector config; framework keys are ignored).
pub fn parse(props: &ConfigMap) -> Result<MySqlConfig, MySqlError> {
    let def = config_def();
    let mut own: ConfigMap = props
        .iter()
        .filter(|(k, _)| def.key(k).is_some() || k.starts_with("column.mask."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Debezium 1.x configs name the server `database.server.name`.
    if !own.contains_key("topic.prefix") {
        if let Some(name) = props.get("database.server.name") {
            own.insert("topic.prefix".into(), name.clone());
        }
    }
    let p = def
        .parse(&own)
        .map_err(|e| MySqlError::Config(e.to_string()))?;
    from_parsed(&p, props)
}

fn from_parsed(p: &ParsedConfig, props: &ConfigMap) -> Result<MySqlConfig, MySqlError> {
    let text = |k: &str| p.string_or_default(k).to_ascii_lowercase();
    let topic_prefix = p.string("topic.prefix").unwrap_or_default().to_owned();
    let snapshot_mode = match text("snapshot.mode").as_str() {
        "initial" => SnapshotMode::Initial,
        "initial_only" => SnapshotMode::InitialOnly,
        "no_data" | "schema_only" => SnapshotMode::NoData,
        "never" => SnapshotMode::Never,
        "when_needed" => SnapshotMode::WhenNeeded,
        _ => SnapshotMode::Always,
    };
    let decimal_mode = match text("decimal.handling.mode").as_str() {
        "double" => DecimalMode::Double,
        "string" => DecimalMode::String,
        _ => DecimalMode::Precise,
    };
    let time_mode = match text("time.precision.mode").as_str() {
        "connect" => TimeMode::Connect,
        "adaptive" => TimeMode::Adaptive,
        _ => TimeMode::AdaptiveMicroseconds,
    };
    let bigint_unsigned_mode = match text("bigint.unsigned.handling.mode").as_str() {
        "precise" => BigIntUnsignedMode::Precise,
        _ => BigIntUnsignedMode::Long,
    };
    let binary_mode = match text("binary.handling.mode").as_str() {
        "base64" => BinaryMode::Base64,
        "base64-url-safe" => BinaryMode::Base64UrlSafe,
        "hex" => BinaryMode::Hex,
        _ => BinaryMode::Bytes,
    };
    let mut skip = [false; 4];
    for op in p.list("skipped.operations") {
        match op.to_ascii_lowercase().as_str() {
            "c" => skip[0] = true,
            "u" => skip[1] = true,
            "d" => skip[2] = true,
            "t" => skip[3] = true,
            "none" => skip = [false; 4],
            other => {
                return Err(MySqlError::Config(format!(
                    "invalid value {other:?} in skipped.operations: allowed are c, u, d, t and none"
                )))
            }
        }
    }
    let filters = Filters::new(
        &p.list("database.include.list"),
        &p.list("database.exclude.list"),
        &p.list("table.include.list"),
        &p.list("table.exclude.list"),
        &p.list("column.include.list"),
        &p.list("column.exclude.list"),
    )?;
    let key_columns = KeyColumns::parse(p.string("message.key.columns").unwrap_or(""))?;
    let masks = Masks::parse(props)?;
    let server_id = if props.contains_key("database.server.id") {
        u32::try_from(p.long("database.server.id")).unwrap_or(u32::MAX)
    } else {
        default_server_id(&topic_prefix)
    };
    let class = props
        .get("connector.class")
        .map(String::as_str)
        .unwrap_or("");
    let connector_name = if class.contains("mariadb") || class.contains("MariaDb") {
        "mariadb"
    } else {
        "mysql"
    };
    Ok(MySqlConfig {
        hostname: p.string("database.hostname").unwrap_or_default().to_owned(),
        port: u16::try_from(p.long("database.port")).unwrap_or(3306),
        user: p.string("database.user").unwrap_or_default().to_owned(),
        password: p.string("database.password").unwrap_or_default().to_owned(),
        server_id,
        heartbeat_topic_prefix: p.string_or_default("topic.heartbeat.prefix").to_owned(),
        transaction_topic: format!(
            "{topic_prefix}.{}",
            p.string_or_default("topic.transaction")
        ),
        topic_prefix,
        connector_name,
        filters,
        key_columns,
        masks,
        snapshot_mode,
        snapshot_fetch_size: p.long("snapshot.fetch.size") as usize,
        decimal_mode,
        time_mode,
        bigint_unsigned_mode,
        binary_mode,
        tombstones_on_delete: p.bool("tombstones.on.delete"),
        skip_create: skip[0],
        skip_update: skip[1],
        skip_delete: skip[2],
        skip_truncate: skip[3],
        heartbeat_interval_ms: p.long("heartbeat.interval.ms") as u64,
        transaction_metadata: p.bool("provide.transaction.metadata"),
        max_batch_size: p.long("max.batch.size") as usize,
        connect_timeout_ms: p.long("connect.timeout.ms") as u64,
        tls: crate::tls::TlsSettings::from_config(p),
    })
}

/// A stable server id in Debezium's default range (5400-6399), derived from the prefix so
/// a restarted task keeps its id and two connectors on one server rarely collide.
fn default_server_id(prefix: &str) -> u32 {
    let h = prefix.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    });
    5400 + h % 1000
}

/// Logs, once per start, the keys that are accepted but have no job here.
pub fn log_not_needed(props: &ConfigMap) {
    let mut history = props
        .keys()
        .filter(|k| k.starts_with("schema.history.internal.") || k.starts_with("database.history."))
        .peekable();
    if history.peek().is_some() {
        let keys: Vec<&String> = history.collect();
        tracing::info!(
            keys = ?keys,
            "schema history settings are not needed: table schemas come from the binlog itself (binlog_row_metadata=FULL)"
        );
    }
    for (k, why) in config_def().not_needed_in(props) {
        tracing::info!(key = k, "configuration key not needed: {why}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ConfigMap {
        [
            (
                "connector.class",
                "io.debezium.connector.mysql.MySqlConnector",
            ),
            ("database.hostname", "127.0.0.1"),
            ("database.user", "u"),
            ("database.password", "p"),
            ("topic.prefix", "dbserver1"),
            ("schema.history.internal.kafka.topic", "h"),
            ("include.schema.changes", "false"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn defaults_follow_debezium() {
        let c = parse(&base()).expect("valid");
        assert_eq!(c.port, 3306);
        assert_eq!(c.snapshot_mode, SnapshotMode::Initial);
        assert_eq!(c.decimal_mode, DecimalMode::Precise);
        assert_eq!(c.time_mode, TimeMode::AdaptiveMicroseconds);
        assert!(c.tombstones_on_delete && c.skip_truncate && !c.skip_delete);
        assert!((5400..6400).contains(&c.server_id));
        assert_eq!(c.transaction_topic, "dbserver1.transaction");
        assert_eq!(c.connector_name, "mysql");
    }

    #[test]
    fn bad_values_name_the_key() {
        let mut m = base();
        m.insert("snapshot.mode".into(), "sometimes".into());
        let e = parse(&m).expect_err("invalid").to_string();
        assert!(e.contains("snapshot.mode"), "{e}");
        let mut m = base();
        m.insert("skipped.operations".into(), "x".into());
        assert!(parse(&m)
            .expect_err("invalid")
            .to_string()
            .contains("skipped.operations"));
        let mut m = base();
        m.remove("topic.prefix");
        m.insert("database.server.name".into(), "legacy".into());
        assert_eq!(parse(&m).expect("legacy name").topic_prefix, "legacy");
    }
}
