//! The MySQL sink's config: the keys of Debezium's JDBC sink (`connection.url`,
//! `connection.username`, `insert.mode`, `primary.key.mode`, `schema.evolution`, …) and
//! of Confluent's (`connection.user`, `pk.mode`, `pk.fields`, `auto.create`,
//! `auto.evolve`), declared once in [`config_def`] and parsed into [`SinkConfig`].
//!
//! Why this is right: an existing JDBC sink config posts unchanged. Each key has the
//! default of the connector it comes from where both agree; where they differ (Debezium
//! `batch.size` 500, Confluent 3000) Debezium's wins, since Debezium is what writes the
//! envelope this sink reads. Keys that only tune a Java connection pool or Hibernate are
//! accepted and logged once as not needed. Combinations that cannot work
//! (`delete.enabled` without a key, `insert.mode=upsert` with `primary.key.mode=none`)
//! are refused at start with the key, the value and the fix, before any row is read.

use sluice_core::config::{
    ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, ParsedConfig, Validator,
};
use sluice_core::ConnectError;

/// `insert.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertMode {
    /// Plain `INSERT`: a row already there is an error.
    Insert,
    /// `INSERT … ON DUPLICATE KEY UPDATE`: idempotent by primary key.
    Upsert,
    /// `UPDATE … WHERE <key>`: rows that are not there are not created.
    Update,
}

/// `primary.key.mode` (Confluent: `pk.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkMode {
    /// No key: every record is an insert, deletes are impossible.
    None,
    /// `__connect_topic`, `__connect_partition`, `__connect_offset`.
    Kafka,
    /// Fields of the record key (all, or `primary.key.fields`).
    RecordKey,
    /// Fields of the record value named by `primary.key.fields` (all when empty).
    RecordValue,
}

/// The parsed config of a MySQL sink task.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub hostname: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The database unqualified table names are created and written in.
    pub database: String,
    pub insert_mode: InsertMode,
    pub pk_mode: PkMode,
    pub pk_fields: Vec<String>,
    pub delete_enabled: bool,
    pub truncate_enabled: bool,
    pub auto_create: bool,
    pub auto_evolve: bool,
    pub table_format: String,
    pub batch_size: usize,
    pub connect_timeout_ms: u64,
    /// `database.ssl.*`.
    pub tls: crate::tls::TlsSettings,
}

const GROUP_CONN: &str = "Connection";
const GROUP_WRITES: &str = "Writes";
const GROUP_MAPPING: &str = "Data mapping";

fn key(name: &str, ty: ConfigType, group: &str, doc: &str) -> ConfigKey {
    ConfigKey::new(name, ty).group(group, -1).doc(doc)
}

fn pk_modes() -> Validator {
    Validator::OneOf(&["none", "kafka", "record_key", "record_value"])
}

/// Config keys of the MySQL sink.
pub fn config_def() -> ConfigDef {
    use ConfigType::{Boolean, Int, List, Long, Password, String as Str};
    crate::tls::config_keys(GROUP_CONN)
        .into_iter()
        .fold(ConfigDef::new(), ConfigDef::define)
        .define(key("connection.url", Str, GROUP_CONN, "Where to write: jdbc:mysql://host[:port]/database, jdbc:mariadb://…, or mysql://[user[:password]@]host[:port]/database; user= and password= query parameters are read too. Without it, database.hostname / database.port / database.name are used.").optional().importance(Importance::High))
        .define(key("connection.username", Str, GROUP_CONN, "User to write as (Debezium's name); needs SELECT, INSERT, UPDATE, DELETE, and CREATE / ALTER for auto.create / auto.evolve, on the target database.").optional().importance(Importance::High))
        .define(key("connection.user", Str, GROUP_CONN, "Confluent's name of connection.username.").optional().importance(Importance::Low))
        .define(key("connection.password", Password, GROUP_CONN, "Password of the user.").optional().importance(Importance::High))
        .define(key("database.hostname", Str, GROUP_CONN, "Host of the target server when connection.url is not set.").optional())
        .define(key("database.port", Int, GROUP_CONN, "Port of the target server when connection.url is not set.").default("3306").validator(Validator::Range { min: Some(1), max: Some(65535) }))
        .define(key("database.user", Str, GROUP_CONN, "User when neither connection.username nor connection.user is set.").optional())
        .define(key("database.password", Password, GROUP_CONN, "Password when connection.password is not set.").optional())
        .define(key("database.name", Str, GROUP_CONN, "Target database when connection.url names none; tables without a database in table.name.format are written there.").optional())
        .define(key("connect.timeout.ms", Long, GROUP_CONN, "How long to wait for a connection, in ms.").default("30000").importance(Importance::Low).validator(Validator::Range { min: Some(1), max: None }))
        .define(key("database.time_zone", Str, GROUP_CONN, "Time zone of temporal values written; only UTC (the session runs with time_zone='+00:00', so TIMESTAMP columns get the instant the event carries).").default("UTC").importance(Importance::Low).validator(Validator::OneOf(&["UTC", "Z", "+00:00", "GMT"])))
        .define(key("db.timezone", Str, GROUP_CONN, "Confluent's name of database.time_zone; only UTC.").default("UTC").importance(Importance::Low).validator(Validator::OneOf(&["UTC", "Z", "+00:00", "GMT"])))
        .define(key("insert.mode", Str, GROUP_WRITES, "insert: plain INSERT (a row already there fails the task); upsert: INSERT … ON DUPLICATE KEY UPDATE, idempotent under redelivery; update: UPDATE … WHERE <key>, rows not there are skipped.").default("insert").importance(Importance::High).validator(Validator::OneOf(&["insert", "upsert", "update"])))
        .define(key("delete.enabled", Boolean, GROUP_WRITES, "Delete the row of a Debezium delete event (op=d) or a tombstone (null value); needs primary.key.mode=record_key (or record_value for op=d). Off: deletes and tombstones are skipped.").default("false").importance(Importance::Medium))
        .define(key("truncate.enabled", Boolean, GROUP_WRITES, "Truncate the table on a Debezium truncate event (op=t). Off: such events are skipped.").default("false").importance(Importance::Low))
        .define(key("batch.size", Int, GROUP_WRITES, "Most rows in one INSERT / DELETE statement; every put is still one transaction.").default("500").validator(Validator::Range { min: Some(1), max: Some(100_000) }))
        .define(key("primary.key.mode", Str, GROUP_MAPPING, "Where the primary key comes from: none, kafka (__connect_topic, __connect_partition, __connect_offset), record_key (the record key's fields) or record_value (value fields named by primary.key.fields).").default("none").importance(Importance::High).validator(pk_modes()))
        .define(key("primary.key.fields", List, GROUP_MAPPING, "Key columns: a subset of the key's or value's fields; for a primitive record key, the one column name it is written to.").optional())
        .define(key("pk.mode", Str, GROUP_MAPPING, "Confluent's name of primary.key.mode (used when primary.key.mode is not set).").optional().importance(Importance::Low).validator(pk_modes()))
        .define(key("pk.fields", List, GROUP_MAPPING, "Confluent's name of primary.key.fields.").optional().importance(Importance::Low))
        .define(key("table.name.format", Str, GROUP_MAPPING, "Target table of each record. ${topic} is the topic with each '.' replaced by '_' (Debezium's default naming: dbserver1.inventory.customers → dbserver1_inventory_customers); ${source.db} and ${source.table} are the database and table of a Debezium event's source block. A '.' written in the format itself separates database and table (archive.${source.table}).").default("${topic}").importance(Importance::Medium))
        .define(key("collection.name.format", Str, GROUP_MAPPING, "Debezium 3's name of table.name.format (used when table.name.format is not set).").optional().importance(Importance::Low))
        .define(key("auto.create", Boolean, GROUP_MAPPING, "Create a missing table from the record schema (primary key from primary.key.mode).").default("false").importance(Importance::Medium))
        .define(key("auto.evolve", Boolean, GROUP_MAPPING, "Add columns the table lacks (as NULL-able columns) when a record has new fields.").default("false").importance(Importance::Medium))
        .define(key("schema.evolution", Str, GROUP_MAPPING, "Debezium's switch: basic is auto.create=true and auto.evolve=true; none leaves both to their keys.").default("none").validator(Validator::OneOf(&["none", "basic"])))
        .define(key("quote.identifiers", Boolean, GROUP_MAPPING, "Accepted for compatibility: identifiers are always quoted with backticks.").default("true").importance(Importance::Low))
        .define(key("quote.sql.identifiers", Str, GROUP_MAPPING, "Confluent's name of quote.identifiers; identifiers are always quoted.").default("always").importance(Importance::Low))
        .define(key("use.reduction.buffer", Boolean, GROUP_WRITES, "Accepted for compatibility: each put always keeps only the last change of each key.").default("true").importance(Importance::Low))
        .prefix("connection.pool.", "not needed: a task writes over one connection")
        .prefix("hibernate.", "not needed: there is no Hibernate")
        .not_needed("dialect.name", "the dialect is always MySQL / MariaDB")
        .not_needed("max.retries", "a failed task restarts itself with backoff and its records are delivered again")
        .not_needed("retry.backoff.ms", "a failed task restarts itself with backoff")
        .not_needed("flush.max.retries", "a failed task restarts itself with backoff")
        .not_needed("flush.retry.delay.ms", "a failed task restarts itself with backoff")
        .not_needed("connection.attempts", "a failed task restarts itself with backoff")
        .not_needed("connection.backoff.ms", "a failed task restarts itself with backoff")
        .not_needed("table.types", "only tables are written")
        .not_needed("connection.provider", "the driver is built in")
}

fn own_keys(props: &ConfigMap) -> ConfigMap {
    let def = config_def();
    props
        .iter()
        .filter(|(k, _)| def.key(k).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn config_err(key: &str, value: &str, reason: impl Into<String>) -> ConnectError {
    ConnectError::config(key, value, reason)
}

/// Parses `props` (the whole connector config; framework keys are ignored).
pub fn parse(props: &ConfigMap) -> Result<SinkConfig, ConnectError> {
    let p = config_def()
        .parse(&own_keys(props))
        .map_err(|e| ConnectError::Fatal(format!("mysql-sink: {e}")))?;
    from_parsed(&p)
}

/// Where `connection.url` points.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UrlParts {
    pub host: String,
    pub port: Option<u16>,
    pub database: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
}

/// Parses `jdbc:mysql://h:p/db?user=u`, `jdbc:mariadb://…` and `mysql://u:pw@h:p/db`.
pub fn parse_url(url: &str) -> Result<UrlParts, String> {
    let url = url.trim();
    let rest = url.strip_prefix("jdbc:").unwrap_or(url);
    let rest = ["mysql://", "mariadb://"]
        .iter()
        .find_map(|s| rest.strip_prefix(s))
        .ok_or("expected jdbc:mysql://host[:port]/database, jdbc:mariadb://… or mysql://…")?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut parts = UrlParts::default();
    let host_port = match authority.rsplit_once('@') {
        Some((creds, hp)) => {
            let (u, pw) = creds.split_once(':').unwrap_or((creds, ""));
            parts.user = Some(u.to_owned()).filter(|u| !u.is_empty());
            parts.password = Some(pw.to_owned()).filter(|_| creds.contains(':'));
            hp
        }
        None => authority,
    };
    // The first host of a failover list is the one written to.
    let host_port = host_port.split(',').next().unwrap_or("");
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or("unclosed [ in the host")?;
        (h, after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err("the URL names no host".into());
    }
    parts.host = host.to_owned();
    parts.port = match port {
        Some(p) => Some(
            p.parse()
                .map_err(|_| format!("port {p:?} is not a number"))?,
        ),
        None => None,
    };
    parts.database = Some(path.trim_end_matches('/').to_owned()).filter(|d| !d.is_empty());
    for pair in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "user" => parts.user = Some(v.to_owned()),
            "password" => parts.password = Some(v.to_owned()),
            _ => {}
        }
    }
    Ok(parts)
}

fn from_parsed(p: &ParsedConfig) -> Result<SinkConfig, ConnectError> {
    let text = |k: &str| p.string(k).map(str::trim).filter(|s| !s.is_empty());
    let url = match text("connection.url") {
        Some(u) => parse_url(u).map_err(|why| config_err("connection.url", u, why))?,
        None => UrlParts {
            host: text("database.hostname")
                .ok_or_else(|| {
                    config_err(
                        "connection.url",
                        "",
                        "set connection.url (jdbc:mysql://host:3306/database) or database.hostname",
                    )
                })?
                .to_owned(),
            ..UrlParts::default()
        },
    };
    let user = text("connection.username")
        .or(text("connection.user"))
        .or(text("database.user"))
        .map(str::to_owned)
        .or(url.user.clone())
        .ok_or_else(|| {
            config_err(
                "connection.username",
                "",
                "set connection.username (or connection.user / database.user)",
            )
        })?;
    let password = p
        .string("connection.password")
        .or(p.string("database.password"))
        .map(str::to_owned)
        .or(url.password.clone())
        .unwrap_or_default();
    let database = url
        .database
        .clone()
        .or(text("database.name").map(str::to_owned))
        .unwrap_or_default();
    let insert_mode = match p
        .string_or_default("insert.mode")
        .to_ascii_lowercase()
        .as_str()
    {
        "upsert" => InsertMode::Upsert,
        "update" => InsertMode::Update,
        _ => InsertMode::Insert,
    };
    let (mode_key, mode) =
        match text("primary.key.mode").filter(|_| p.originals().contains_key("primary.key.mode")) {
            Some(m) => ("primary.key.mode", m.to_owned()),
            None => match text("pk.mode") {
                Some(m) => ("pk.mode", m.to_owned()),
                None => (
                    "primary.key.mode",
                    p.string_or_default("primary.key.mode").to_owned(),
                ),
            },
        };
    let pk_mode = match mode.to_ascii_lowercase().as_str() {
        "kafka" => PkMode::Kafka,
        "record_key" => PkMode::RecordKey,
        "record_value" => PkMode::RecordValue,
        _ => PkMode::None,
    };
    let pk_fields = if p.originals().contains_key("primary.key.fields") {
        p.list("primary.key.fields")
    } else {
        p.list("pk.fields")
    };
    let delete_enabled = p.bool("delete.enabled");
    if delete_enabled && matches!(pk_mode, PkMode::None | PkMode::Kafka) {
        return Err(config_err(
            mode_key,
            &mode,
            "delete.enabled=true needs the row's key: set primary.key.mode=record_key (or record_value), or delete.enabled=false",
        ));
    }
    if pk_mode == PkMode::None && insert_mode != InsertMode::Insert {
        return Err(config_err(
            "insert.mode",
            p.string_or_default("insert.mode"),
            format!("{mode_key}=none gives no key to upsert or update by: set {mode_key}=record_key (or record_value, kafka), or insert.mode=insert"),
        ));
    }
    let evolution = p
        .string_or_default("schema.evolution")
        .eq_ignore_ascii_case("basic");
    let table_format = if p.originals().contains_key("table.name.format") {
        p.string_or_default("table.name.format").to_owned()
    } else {
        text("collection.name.format")
            .unwrap_or(p.string_or_default("table.name.format"))
            .to_owned()
    };
    crate::sink::table::check_format(&table_format)
        .map_err(|why| config_err("table.name.format", &table_format, why))?;
    Ok(SinkConfig {
        hostname: url.host,
        port: url
            .port
            .unwrap_or_else(|| u16::try_from(p.long("database.port")).unwrap_or(3306)),
        user,
        password,
        database,
        insert_mode,
        pk_mode,
        pk_fields,
        delete_enabled,
        truncate_enabled: p.bool("truncate.enabled"),
        auto_create: p.bool("auto.create") || evolution,
        auto_evolve: p.bool("auto.evolve") || evolution,
        table_format,
        batch_size: p.long("batch.size") as usize,
        connect_timeout_ms: p.long("connect.timeout.ms") as u64,
        tls: crate::tls::TlsSettings::from_config(p),
    })
}

/// Logs, once per start, the keys that are accepted but have no job here.
pub fn log_not_needed(props: &ConfigMap) {
    let def = config_def();
    for (k, why) in def.not_needed_in(props) {
        tracing::info!(key = k, "configuration key not needed: {why}");
    }
    let pooled: Vec<&String> = props
        .keys()
        .filter(|k| k.starts_with("connection.pool.") || k.starts_with("hibernate."))
        .collect();
    if !pooled.is_empty() {
        tracing::info!(keys = ?pooled, "connection pool / Hibernate settings are not needed: a task writes over one connection");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn urls_of_every_shape() {
        let u = parse_url("jdbc:mysql://db.local:3307/inventory?useSSL=false&user=a").expect("ok");
        assert_eq!(u.host, "db.local");
        assert_eq!(u.port, Some(3307));
        assert_eq!(u.database.as_deref(), Some("inventory"));
        assert_eq!(u.user.as_deref(), Some("a"));
        let u = parse_url("mysql://me:secret@127.0.0.1/x").expect("ok");
        assert_eq!(
            (u.user.as_deref(), u.password.as_deref()),
            (Some("me"), Some("secret"))
        );
        assert_eq!(u.port, None);
        let u = parse_url("jdbc:mariadb://[::1]:3306").expect("ok");
        assert_eq!(
            (u.host.as_str(), u.port, u.database),
            ("::1", Some(3306), None)
        );
        assert!(parse_url("jdbc:postgresql://h/db").is_err());
        assert!(parse_url("jdbc:mysql://h:port/db").is_err());
    }

    #[test]
    fn debezium_and_confluent_keys() {
        let c = parse(&props(&[
            ("connection.url", "jdbc:mysql://h:3306/b"),
            ("connection.username", "u"),
            ("connection.password", "p"),
            ("insert.mode", "upsert"),
            ("primary.key.mode", "record_key"),
            ("delete.enabled", "true"),
            ("schema.evolution", "basic"),
            ("connection.pool.max_size", "32"),
        ]))
        .expect("valid");
        assert_eq!(
            (c.insert_mode, c.pk_mode),
            (InsertMode::Upsert, PkMode::RecordKey)
        );
        assert!(c.auto_create && c.auto_evolve && c.delete_enabled);
        assert_eq!((c.database.as_str(), c.batch_size), ("b", 500));
        assert_eq!(c.table_format, "${topic}");
        let c = parse(&props(&[
            ("connection.url", "jdbc:mysql://h/b"),
            ("connection.user", "u"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id,region"),
            ("auto.create", "true"),
        ]))
        .expect("valid");
        assert_eq!(c.pk_mode, PkMode::RecordValue);
        assert_eq!(c.pk_fields, ["id", "region"]);
        assert!(c.auto_create && !c.auto_evolve);
        assert_eq!(c.port, 3306);
        let c = parse(&props(&[
            ("database.hostname", "h"),
            ("database.port", "3310"),
            ("database.user", "u"),
            ("database.name", "d"),
        ]))
        .expect("valid");
        assert_eq!(
            (c.hostname.as_str(), c.port, c.database.as_str()),
            ("h", 3310, "d")
        );
    }

    #[test]
    fn the_example_config_parses_and_declares_every_key() {
        let doc: serde_json::Value = serde_json::from_str(include_str!(
            "../../../../examples/mysql-to-kafka/mysql-sink.json"
        ))
        .expect("json");
        let props: ConfigMap = doc["config"]
            .as_object()
            .expect("config")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        let c = parse(&props).expect("valid");
        assert_eq!(c.database, "inventory_copy");
        let def = config_def();
        for k in props.keys() {
            let framework = ["connector.class", "tasks.max", "topics.regex"].contains(&k.as_str());
            assert!(framework || def.key(k).is_some(), "{k} is declared");
        }
    }

    #[test]
    fn impossible_combinations_name_the_key() {
        let e = parse(&props(&[
            ("connection.url", "jdbc:mysql://h/b"),
            ("connection.username", "u"),
            ("delete.enabled", "true"),
        ]))
        .expect_err("no key")
        .to_string();
        assert!(
            e.contains("primary.key.mode") && e.contains("record_key"),
            "{e}"
        );
        let e = parse(&props(&[
            ("connection.url", "jdbc:mysql://h/b"),
            ("connection.username", "u"),
            ("insert.mode", "upsert"),
        ]))
        .expect_err("no key")
        .to_string();
        assert!(e.contains("insert.mode"), "{e}");
        let e = parse(&props(&[("connection.username", "u")]))
            .expect_err("no host")
            .to_string();
        assert!(e.contains("connection.url"), "{e}");
        let e = parse(&props(&[
            ("connection.url", "jdbc:mysql://h/b"),
            ("connection.username", "u"),
            ("insert.mode", "merge"),
        ]))
        .expect_err("bad mode")
        .to_string();
        assert!(e.contains("insert.mode"), "{e}");
    }
}
