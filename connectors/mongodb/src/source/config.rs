//! The source's config: Debezium's MongoDB keys, declared once in [`config_def`] (which
//! drives validation and `/connector-plugins/.../config`) and parsed into [`MongoConfig`].
//!
//! Why this is right: every key a Debezium MongoDB config commonly carries is declared here
//! with Debezium's name, default and meaning, or accepted as "not needed" with the reason
//! logged once (`mongodb.connection.mode`, `mongodb.members.auto.discover`: the driver
//! discovers the deployment from the connection string). Values — including the include /
//! exclude regular expressions — are checked before a connection is opened, so a typo fails
//! at once and names the key.

use regex::Regex;
use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};

use crate::error::MongoError;

/// `snapshot.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    /// Snapshot when there is no offset, then stream.
    Initial,
    /// Snapshot when there is no offset, then stop.
    InitialOnly,
    /// Never read data; stream from now when there is no offset.
    NoData,
    /// Like `initial`, and snapshot again when the stored resume token is gone.
    WhenNeeded,
    /// Snapshot at every start, then stream.
    Always,
}

/// `capture.scope`: what one change stream watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every database (`client.watch()`).
    Deployment,
    /// One database (`capture.target`).
    Database(String),
    /// One collection (`capture.target` = `db.collection`).
    Collection(String, String),
}

/// `capture.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureMode {
    /// `fullDocument: updateLookup` (the `_update_full` modes).
    pub update_full: bool,
    /// `fullDocumentBeforeChange: whenAvailable` (the `_with_pre_image` modes).
    pub pre_image: bool,
}

/// Include / exclude lists over database and `db.collection` names (whole-name matches).
#[derive(Debug, Clone, Default)]
pub struct Filters {
    db_include: Vec<Regex>,
    db_exclude: Vec<Regex>,
    coll_include: Vec<Regex>,
    coll_exclude: Vec<Regex>,
}

fn compile(key: &str, patterns: &[String]) -> Result<Vec<Regex>, MongoError> {
    patterns
        .iter()
        .map(|p| {
            Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                MongoError::Config(format!(
                    "invalid regular expression {p:?} in {key}: {e}; fix the pattern"
                ))
            })
        })
        .collect()
}

impl Filters {
    /// Builds the filters; each list is a list of regular expressions.
    pub fn new(
        db_include: &[String],
        db_exclude: &[String],
        coll_include: &[String],
        coll_exclude: &[String],
    ) -> Result<Filters, MongoError> {
        Ok(Filters {
            db_include: compile("database.include.list", db_include)?,
            db_exclude: compile("database.exclude.list", db_exclude)?,
            coll_include: compile("collection.include.list", coll_include)?,
            coll_exclude: compile("collection.exclude.list", coll_exclude)?,
        })
    }

    /// True when database `db` may hold captured collections (system databases never do).
    pub fn database(&self, db: &str) -> bool {
        if matches!(db, "admin" | "config" | "local") {
            return false;
        }
        if !self.db_include.is_empty() {
            return self.db_include.iter().any(|r| r.is_match(db));
        }
        !self.db_exclude.iter().any(|r| r.is_match(db))
    }

    /// True when collection `db.coll` is captured.
    pub fn collection(&self, db: &str, coll: &str) -> bool {
        if !self.database(db) || coll.starts_with("system.") {
            return false;
        }
        let name = format!("{db}.{coll}");
        if !self.coll_include.is_empty() {
            return self.coll_include.iter().any(|r| r.is_match(&name));
        }
        !self.coll_exclude.iter().any(|r| r.is_match(&name))
    }
}

/// The parsed config of a MongoDB source.
#[derive(Debug, Clone)]
pub struct MongoConfig {
    pub connection_string: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub auth_source: String,
    pub topic_prefix: String,
    pub scope: Scope,
    pub capture: CaptureMode,
    pub filters: Filters,
    pub snapshot_mode: SnapshotMode,
    pub snapshot_fetch_size: u32,
    pub tombstones_on_delete: bool,
    pub skip_create: bool,
    pub skip_update: bool,
    pub skip_delete: bool,
    pub heartbeat_interval_ms: u64,
    pub heartbeat_topic: String,
    pub max_batch_size: usize,
    pub poll_interval_ms: u64,
}

const GROUP_CONN: &str = "Connection";
const GROUP_FILTER: &str = "Filters";
const GROUP_EVENTS: &str = "Events";

fn key(name: &str, ty: ConfigType, group: &str, doc: &str) -> ConfigKey {
    ConfigKey::new(name, ty).group(group, -1).doc(doc)
}

/// Config keys of the MongoDB source.
pub fn config_def() -> ConfigDef {
    use ConfigType::{Boolean, Int, List, Long, Password, String as Str};
    ConfigDef::new()
        .define(key("mongodb.connection.string", Str, GROUP_CONN, "Connection string of the replica set or sharded cluster, e.g. mongodb://host1:27017,host2:27017/?replicaSet=rs0. Change streams need a replica set or sharded cluster.").importance(Importance::High).validator(Validator::Custom(valid_uri)))
        .define(key("mongodb.user", Str, GROUP_CONN, "User name, when not in the connection string.").optional().importance(Importance::High))
        .define(key("mongodb.password", Password, GROUP_CONN, "Password of mongodb.user.").optional().importance(Importance::High))
        .define(key("mongodb.authsource", Str, GROUP_CONN, "Database holding mongodb.user's credentials.").default("admin").importance(Importance::Medium))
        .define(key("topic.prefix", Str, GROUP_CONN, "Logical name of the deployment: prefix of every topic (<topic.prefix>.<db>.<collection>) and the source partition {\"server_id\": topic.prefix}.").importance(Importance::High).validator(Validator::Custom(valid_prefix)))
        .define(key("capture.scope", Str, GROUP_FILTER, "What the change stream watches: deployment (every database), database (capture.target) or collection (capture.target = <db>.<collection>).").default("deployment").validator(Validator::OneOf(&["deployment", "database", "collection"])))
        .define(key("capture.target", Str, GROUP_FILTER, "The database (capture.scope=database) or <db>.<collection> (capture.scope=collection) to watch.").optional())
        .define(key("capture.mode", Str, GROUP_EVENTS, "change_streams (updates carry updateDescription only), change_streams_update_full (and the looked-up full document in after), change_streams_with_pre_image / change_streams_update_full_with_pre_image (and the pre-image in before, for collections with changeStreamPreAndPostImages enabled).").default("change_streams_update_full").importance(Importance::High).validator(Validator::OneOf(&["change_streams", "change_streams_update_full", "change_streams_with_pre_image", "change_streams_update_full_with_pre_image"])))
        .define(key("database.include.list", List, GROUP_FILTER, "Regular expressions of database names to capture (whole-name); empty captures every database but admin, config and local.").optional())
        .define(key("database.exclude.list", List, GROUP_FILTER, "Regular expressions of database names not to capture.").optional())
        .define(key("collection.include.list", List, GROUP_FILTER, "Regular expressions of <db>.<collection> names to capture.").optional())
        .define(key("collection.exclude.list", List, GROUP_FILTER, "Regular expressions of <db>.<collection> names not to capture.").optional())
        .define(key("snapshot.mode", Str, GROUP_EVENTS, "initial (snapshot when there is no offset), initial_only, no_data (never snapshot, stream from now), never (same as no_data), when_needed (also snapshot again when the stored resume token is gone) or always.").default("initial").importance(Importance::High).validator(Validator::OneOf(&["initial", "initial_only", "no_data", "never", "when_needed", "always"])))
        .define(key("snapshot.fetch.size", Int, GROUP_EVENTS, "Documents per batch of the snapshot's collection scans; 0 lets the server choose.").default("0").validator(Validator::Range { min: Some(0), max: Some(1_000_000) }))
        .define(key("tombstones.on.delete", Boolean, GROUP_EVENTS, "Emit a tombstone (null value) after each delete.").default("true"))
        .define(key("skipped.operations", List, GROUP_EVENTS, "Operations not emitted: c, u, d, or none.").default("t"))
        .define(key("heartbeat.interval.ms", Long, GROUP_EVENTS, "Emit a heartbeat to <topic.heartbeat.prefix>.<topic.prefix> this often while streaming, carrying the latest resume token so offsets advance on idle collections; 0 disables.").default("0").validator(Validator::Range { min: Some(0), max: None }))
        .define(key("topic.heartbeat.prefix", Str, GROUP_EVENTS, "Prefix of the heartbeat topic.").default("__debezium-heartbeat"))
        .define(key("max.batch.size", Int, GROUP_EVENTS, "Largest batch returned by one poll.").default("2048").validator(Validator::Range { min: Some(1), max: Some(1_000_000) }))
        .define(key("max.queue.size", Int, GROUP_EVENTS, "Accepted for compatibility; batches are queued two deep.").default("8192").importance(Importance::Low))
        .define(key("poll.interval.ms", Long, GROUP_EVENTS, "Longest wait of one change-stream getMore for new events (maxAwaitTimeMS).").default("500").validator(Validator::Range { min: Some(1), max: Some(60_000) }))
        .not_needed("mongodb.connection.mode", "the driver discovers replica sets and sharded clusters from the connection string")
        .not_needed("mongodb.members.auto.discover", "the driver discovers replica set members from the connection string")
        .not_needed("mongodb.ssl.enabled", "TLS is set in the connection string (tls=true)")
        .not_needed("mongodb.poll.interval.ms", "the driver monitors the deployment itself")
        .not_needed("capture.mode.full.update.type", "full documents come from the change stream's updateLookup")
}

fn valid_uri(s: &str) -> Result<(), String> {
    if s.starts_with("mongodb://") || s.starts_with("mongodb+srv://") {
        Ok(())
    } else {
        Err("must start with mongodb:// or mongodb+srv://".into())
    }
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
pub fn parse(props: &ConfigMap) -> Result<MongoConfig, MongoError> {
    let def = config_def();
    let own: ConfigMap = props
        .iter()
        .filter(|(k, _)| def.key(k).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let p = def
        .parse(&own)
        .map_err(|e| MongoError::Config(e.to_string()))?;
    let text = |k: &str| p.string_or_default(k).to_ascii_lowercase();
    let target = p.string("capture.target").unwrap_or("").trim().to_owned();
    let scope = match text("capture.scope").as_str() {
        "database" if !target.is_empty() => Scope::Database(target),
        "collection" => match target.split_once('.') {
            Some((db, coll)) if !db.is_empty() && !coll.is_empty() => {
                Scope::Collection(db.to_owned(), coll.to_owned())
            }
            _ => {
                return Err(MongoError::Config(format!(
                "capture.scope=collection needs capture.target=<db>.<collection>, got {target:?}"
            )))
            }
        },
        "database" => {
            return Err(MongoError::Config(
                "capture.scope=database needs capture.target=<database>".into(),
            ))
        }
        _ => Scope::Deployment,
    };
    let mode = text("capture.mode");
    let capture = CaptureMode {
        update_full: mode.contains("update_full"),
        pre_image: mode.ends_with("with_pre_image"),
    };
    let snapshot_mode = match text("snapshot.mode").as_str() {
        "initial_only" => SnapshotMode::InitialOnly,
        "no_data" | "never" => SnapshotMode::NoData,
        "when_needed" => SnapshotMode::WhenNeeded,
        "always" => SnapshotMode::Always,
        _ => SnapshotMode::Initial,
    };
    let mut skip = [false; 3];
    for op in p.list("skipped.operations") {
        match op.to_ascii_lowercase().as_str() {
            "c" => skip[0] = true,
            "u" => skip[1] = true,
            "d" => skip[2] = true,
            "t" => {}
            "none" => skip = [false; 3],
            other => {
                return Err(MongoError::Config(format!(
                    "invalid value {other:?} in skipped.operations: allowed are c, u, d, t and none"
                )))
            }
        }
    }
    let filters = Filters::new(
        &p.list("database.include.list"),
        &p.list("database.exclude.list"),
        &p.list("collection.include.list"),
        &p.list("collection.exclude.list"),
    )?;
    let topic_prefix = p.string("topic.prefix").unwrap_or_default().to_owned();
    Ok(MongoConfig {
        connection_string: p
            .string("mongodb.connection.string")
            .unwrap_or_default()
            .to_owned(),
        user: p.string("mongodb.user").map(str::to_owned),
        password: p.string("mongodb.password").map(str::to_owned),
        auth_source: p.string_or_default("mongodb.authsource").to_owned(),
        heartbeat_topic: format!(
            "{}.{topic_prefix}",
            p.string_or_default("topic.heartbeat.prefix")
        ),
        topic_prefix,
        scope,
        capture,
        filters,
        snapshot_mode,
        snapshot_fetch_size: p.long("snapshot.fetch.size") as u32,
        tombstones_on_delete: p.bool("tombstones.on.delete"),
        skip_create: skip[0],
        skip_update: skip[1],
        skip_delete: skip[2],
        heartbeat_interval_ms: p.long("heartbeat.interval.ms") as u64,
        max_batch_size: p.long("max.batch.size") as usize,
        poll_interval_ms: p.long("poll.interval.ms") as u64,
    })
}

/// Logs, once per start, the keys that are accepted but have no job here.
pub fn log_not_needed(props: &ConfigMap) {
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
                "mongodb.connection.string",
                "mongodb://127.0.0.1:27017/?replicaSet=rs0",
            ),
            ("topic.prefix", "fulfillment"),
            ("mongodb.members.auto.discover", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn defaults_follow_debezium() {
        let c = parse(&base()).expect("valid");
        assert_eq!(c.scope, Scope::Deployment);
        assert_eq!(
            c.capture,
            CaptureMode {
                update_full: true,
                pre_image: false
            }
        );
        assert_eq!(c.snapshot_mode, SnapshotMode::Initial);
        assert!(c.tombstones_on_delete);
        assert_eq!(c.heartbeat_topic, "__debezium-heartbeat.fulfillment");
        assert!(c.filters.collection("inventory", "customers"));
        assert!(!c.filters.collection("admin", "x"));
    }

    #[test]
    fn filters_and_bad_values() {
        let mut m = base();
        m.insert(
            "collection.include.list".into(),
            "inventory\\.cust.*".into(),
        );
        m.insert(
            "capture.mode".into(),
            "change_streams_update_full_with_pre_image".into(),
        );
        let c = parse(&m).expect("valid");
        assert!(c.filters.collection("inventory", "customers"));
        assert!(!c.filters.collection("inventory", "orders"));
        assert!(c.capture.pre_image && c.capture.update_full);
        let mut m = base();
        m.insert("collection.include.list".into(), "inv(".into());
        let e = parse(&m).expect_err("bad regex").to_string();
        assert!(e.contains("collection.include.list"), "{e}");
        let mut m = base();
        m.insert("capture.scope".into(), "collection".into());
        m.insert("capture.target".into(), "nodot".into());
        assert!(parse(&m)
            .expect_err("no dot")
            .to_string()
            .contains("capture.target"));
        let mut m = base();
        m.insert("snapshot.mode".into(), "sometimes".into());
        assert!(parse(&m)
            .expect_err("bad")
            .to_string()
            .contains("snapshot.mode"));
    }
}
