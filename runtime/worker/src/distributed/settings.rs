//! The keys of a distributed worker, as Kafka Connect's `DistributedConfig` names them,
//! with its defaults and required-ness — except `scheduled.rebalance.max.delay.ms`, which
//! defaults to 0 here so a dead worker's tasks move at once (Kafka Connect waits 5
//! minutes for the worker to come back).
//!
//! A distributed worker accepts every standalone key too ([`worker_def`]);
//! `offset.storage.file.filename` is accepted and unused, since offsets live in
//! `offset.storage.topic`.

use std::time::Duration;

use sluice_core::config::{
    ConfigDef, ConfigErrors, ConfigKey, ConfigMap, ConfigType, Importance, Validator,
};

use crate::config::{worker_def, WorkerConfig};

/// The keys only a distributed worker has, merged over the standalone ones.
pub fn distributed_def() -> ConfigDef {
    let topic = |name: &str, doc: &str| {
        ConfigKey::new(name, ConfigType::String)
            .importance(Importance::High)
            .validator(Validator::NonEmpty)
            .doc(doc)
    };
    let replication = |name: &str, what: &str| {
        ConfigKey::new(name, ConfigType::Short)
            .default("3")
            .importance(Importance::Low)
            .validator(Validator::Custom(replication_factor))
            .doc(format!("Replication factor of the {what} topic when it is created; -1 uses the broker's default."))
    };
    let partitions = |name: &str, default: &str, what: &str| {
        ConfigKey::new(name, ConfigType::Int)
            .default(default)
            .importance(Importance::Low)
            .validator(Validator::Custom(partition_count))
            .doc(format!(
                "Partitions of the {what} topic when it is created; -1 uses the broker's default."
            ))
    };
    let ms = |name: &str, default: &str, min: i64, doc: &str| {
        ConfigKey::new(name, ConfigType::Int)
            .default(default)
            .importance(Importance::Medium)
            .validator(Validator::Range {
                min: Some(min),
                max: Some(i64::from(i32::MAX)),
            })
            .doc(doc)
    };
    let def = ConfigDef::new()
        .define(
            ConfigKey::new("group.id", ConfigType::String)
                .importance(Importance::High)
                .validator(Validator::NonEmpty)
                .doc("The group this worker belongs to: workers sharing it share connectors, tasks and the three storage topics."),
        )
        .define(topic("config.storage.topic", "Compacted topic (one partition) holding connector configs, task configs and target states; created when missing."))
        .define(replication("config.storage.replication.factor", "config"))
        .define(topic("offset.storage.topic", "Compacted topic holding source connector offsets; created when missing."))
        .define(partitions("offset.storage.partitions", "25", "offset"))
        .define(replication("offset.storage.replication.factor", "offset"))
        .define(topic("status.storage.topic", "Compacted topic holding connector and task statuses; created when missing."))
        .define(partitions("status.storage.partitions", "5", "status"))
        .define(replication("status.storage.replication.factor", "status"))
        .define(ms("session.timeout.ms", "10000", 1, "How long the group coordinator waits for a worker's heartbeat before it drops the worker from the group and its connectors and tasks are assigned to the others."))
        .define(ms("heartbeat.interval.ms", "3000", 1, "How often a worker heartbeats to the group coordinator; keep it well below session.timeout.ms (a third or less)."))
        .define(ms("rebalance.timeout.ms", "60000", 1, "How long each worker may take to rejoin the group during a rebalance, including stopping the tasks it must give up."))
        .define(ms("scheduled.rebalance.max.delay.ms", "0", 0, "How long the leader keeps a departed worker's connectors and tasks unassigned, waiting for it to come back, before giving them to the others. 0 (the default here; Kafka Connect's is 300000) moves them at once."))
        .define(
            ConfigKey::new("group.instance.id", ConfigType::String)
                .optional()
                .importance(Importance::Medium)
                .doc("Static membership (KIP-345): a worker restarted with the same id within session.timeout.ms takes back its connectors and tasks without moving anyone else's. Unique per worker."),
        )
        .define(
            ConfigKey::new("connect.protocol", ConfigType::String)
                .default("sessioned")
                .importance(Importance::Low)
                .validator(Validator::OneOf(&["compatible", "sessioned"]))
                .doc("Group sub-protocol: `compatible` (version 1) or `sessioned` (version 2), both incremental cooperative; the eager `default` protocol is not supported."),
        )
        .define(
            ConfigKey::new("exactly.once.source.support", ConfigType::String)
                .default("disabled")
                .importance(Importance::High)
                .validator(Validator::OneOf(&["disabled", "preparing", "enabled"]))
                .doc("KIP-618: enabled writes every source task's records and offsets in one Kafka transaction (transactional.id <group.id>-<connector>-<task>), so a read_committed consumer sees each record once even across crashes. preparing is accepted for rolling upgrades and behaves as disabled."),
        )
        .define(
            ConfigKey::new("task.auto.restart.enable", ConfigType::Boolean)
                .default("true")
                .importance(Importance::Medium)
                .doc("Restart a FAILED task by itself, after task.auto.restart.backoff.initial.ms, doubling the wait after each failure up to task.auto.restart.backoff.max.ms (a task that ran longer than the maximum wait starts again from the initial one). false leaves failed tasks FAILED until restarted through the REST API, as Kafka Connect does."),
        )
        .define(ms("task.auto.restart.backoff.initial.ms", "1000", 0, "Wait before the first automatic restart of a failed task."))
        .define(ms("task.auto.restart.backoff.max.ms", "60000", 0, "Longest wait between automatic restarts of a task that keeps failing."))
        .define(
            ConfigKey::new("offset.storage.file.filename", ConfigType::String)
                .optional()
                .importance(Importance::Low)
                .doc("Not used in distributed mode: offsets live in offset.storage.topic."),
        )
        .prefix("config.storage.", "topic settings of the config topic when it is created")
        .prefix("offset.storage.", "topic settings of the offset topic when it is created")
        .prefix("status.storage.", "topic settings of the status topic when it is created")
        .not_needed("worker.sync.timeout.ms", "a worker that is behind reads the config topic to its end before acting")
        .not_needed("worker.unsync.backoff.ms", "a worker that is behind reads the config topic to its end before acting")
        .not_needed("inter.worker.key.generation.algorithm", "forwarded requests are not signed")
        .not_needed("inter.worker.key.size", "forwarded requests are not signed")
        .not_needed("inter.worker.key.ttl.ms", "forwarded requests are not signed")
        .not_needed("inter.worker.signature.algorithm", "forwarded requests are not signed")
        .not_needed("inter.worker.verification.algorithms", "forwarded requests are not signed");
    def.merge(&worker_def())
}

fn replication_factor(v: &str) -> Result<(), String> {
    match v.trim().parse::<i16>() {
        Ok(n) if n >= 1 || n == -1 => Ok(()),
        _ => Err("a positive number, or -1 for the broker's default".into()),
    }
}

fn partition_count(v: &str) -> Result<(), String> {
    match v.trim().parse::<i32>() {
        Ok(n) if n >= 1 || n == -1 => Ok(()),
        _ => Err("a positive number, or -1 for the broker's default".into()),
    }
}

/// One of the three storage topics: its name and how to create it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Partitions when created (-1: broker default).
    pub partitions: i32,
    /// Replication factor when created (-1: broker default).
    pub replication_factor: i32,
    /// Extra topic configs (`<prefix>.<config>`); `cleanup.policy=compact` always wins.
    pub configs: ConfigMap,
}

/// A validated distributed worker config.
#[derive(Debug, Clone)]
pub struct DistributedConfig {
    /// The keys both modes share.
    pub worker: WorkerConfig,
    /// `group.id`.
    pub group_id: String,
    /// `config.storage.*` (always one partition).
    pub config_topic: TopicSpec,
    /// `offset.storage.*`.
    pub offset_topic: TopicSpec,
    /// `status.storage.*`.
    pub status_topic: TopicSpec,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// `rebalance.timeout.ms`.
    pub rebalance_timeout: Duration,
    /// `scheduled.rebalance.max.delay.ms`.
    pub scheduled_rebalance_max_delay: Duration,
    /// `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// `connect.protocol` as its version: 1 (`compatible`) or 2 (`sessioned`).
    pub protocol_version: i16,
    /// `exactly.once.source.support=enabled`.
    pub exactly_once_source: bool,
    /// `task.auto.restart.*`: `None` when disabled.
    pub auto_restart: Option<RestartBackoff>,
}

/// How failed tasks restart by themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartBackoff {
    /// `task.auto.restart.backoff.initial.ms`.
    pub initial: Duration,
    /// `task.auto.restart.backoff.max.ms`.
    pub max: Duration,
}

impl RestartBackoff {
    /// The wait before restart number `attempt` (0-based): initial × 2^attempt, capped.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

impl DistributedConfig {
    /// Validates a distributed worker's properties.
    pub fn parse(props: &ConfigMap) -> Result<Self, ConfigErrors> {
        if let Some(protocol) = props
            .get("security.protocol")
            .map(|p| p.trim())
            .filter(|p| !p.eq_ignore_ascii_case("PLAINTEXT"))
        {
            return Err(ConfigErrors(vec![(
                "security.protocol".to_owned(),
                format!("Invalid value {protocol} for configuration security.protocol: distributed mode's group membership speaks PLAINTEXT only for now; use a plaintext listener for the workers, or standalone mode (whose clients take TLS and SASL settings)"),
            )]));
        }
        let def = distributed_def();
        let worker = WorkerConfig::parse_with(&def, props)?;
        let p = def.parse(props)?;
        let text = |k: &str| p.string(k).unwrap_or_default().to_owned();
        let ms = |k: &str| Duration::from_millis(p.long(k).max(0) as u64);
        let spec = |prefix: &str, partitions: i32| {
            let known = ["topic", "partitions", "replication.factor"];
            TopicSpec {
                name: text(&format!("{prefix}topic")),
                partitions,
                replication_factor: p.long(&format!("{prefix}replication.factor")) as i32,
                configs: worker
                    .with_prefix(prefix)
                    .into_iter()
                    .filter(|(k, _)| !known.contains(&k.as_str()))
                    .collect(),
            }
        };
        let config = DistributedConfig {
            group_id: text("group.id"),
            config_topic: spec("config.storage.", 1),
            offset_topic: spec(
                "offset.storage.",
                p.long("offset.storage.partitions") as i32,
            ),
            status_topic: spec(
                "status.storage.",
                p.long("status.storage.partitions") as i32,
            ),
            session_timeout: ms("session.timeout.ms"),
            heartbeat_interval: ms("heartbeat.interval.ms"),
            rebalance_timeout: ms("rebalance.timeout.ms"),
            scheduled_rebalance_max_delay: ms("scheduled.rebalance.max.delay.ms"),
            exactly_once_source: p.string_or_default("exactly.once.source.support") == "enabled",
            auto_restart: p.bool("task.auto.restart.enable").then(|| RestartBackoff {
                initial: ms("task.auto.restart.backoff.initial.ms"),
                max: ms("task.auto.restart.backoff.max.ms"),
            }),
            group_instance_id: p
                .string("group.instance.id")
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned),
            protocol_version: if p.string_or_default("connect.protocol") == "compatible" {
                1
            } else {
                2
            },
            worker,
        };
        let mut errors = Vec::new();
        if config.heartbeat_interval >= config.session_timeout {
            errors.push((
                "heartbeat.interval.ms".to_owned(),
                format!(
                    "Invalid value {} for configuration heartbeat.interval.ms: must be below session.timeout.ms ({}); a third of it is usual",
                    config.heartbeat_interval.as_millis(),
                    config.session_timeout.as_millis()
                ),
            ));
        }
        let names = [
            &config.config_topic.name,
            &config.offset_topic.name,
            &config.status_topic.name,
        ];
        if names[0] == names[1] || names[0] == names[2] || names[1] == names[2] {
            errors.push((
                "config.storage.topic".to_owned(),
                format!("config.storage.topic, offset.storage.topic and status.storage.topic must be three different topics, got {}, {} and {}", names[0], names[1], names[2]),
            ));
        }
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(errors))
        }
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
    fn a_secured_kafka_listener_is_refused_with_the_reason() {
        let e = DistributedConfig::parse(&props(&[
            ("group.id", "g"),
            ("config.storage.topic", "c"),
            ("offset.storage.topic", "o"),
            ("status.storage.topic", "s"),
            ("security.protocol", "SASL_SSL"),
        ]))
        .expect_err("refused");
        assert!(
            e.0.iter()
                .any(|(k, m)| k == "security.protocol" && m.contains("PLAINTEXT only")),
            "{e}"
        );
    }

    #[test]
    fn restart_backoff_doubles_up_to_the_maximum() {
        let b = RestartBackoff {
            initial: Duration::from_millis(1000),
            max: Duration::from_millis(60_000),
        };
        let waits: Vec<u128> = (0..8).map(|a| b.delay(a).as_millis()).collect();
        assert_eq!(waits, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
        assert_eq!(b.delay(200).as_millis(), 60000, "no overflow");
    }

    #[test]
    fn group_and_topics_are_required_as_in_kafka_connect() {
        let e = DistributedConfig::parse(&props(&[])).expect_err("missing keys");
        let keys: Vec<&str> = e.0.iter().map(|(k, _)| k.as_str()).collect();
        for k in [
            "group.id",
            "config.storage.topic",
            "offset.storage.topic",
            "status.storage.topic",
        ] {
            assert!(keys.contains(&k), "{k} not reported in {e}");
        }
    }

    #[test]
    fn defaults_follow_kafka_connect_except_the_rebalance_delay() {
        let c = DistributedConfig::parse(&props(&[
            ("group.id", "g"),
            ("config.storage.topic", "c"),
            ("offset.storage.topic", "o"),
            ("status.storage.topic", "s"),
            ("offset.storage.segment.bytes", "1048576"),
        ]))
        .expect("valid");
        assert_eq!(c.config_topic.partitions, 1);
        assert_eq!(c.config_topic.replication_factor, 3);
        assert_eq!(c.offset_topic.partitions, 25);
        assert_eq!(c.status_topic.partitions, 5);
        assert_eq!(
            c.offset_topic
                .configs
                .get("segment.bytes")
                .map(String::as_str),
            Some("1048576")
        );
        assert_eq!(c.session_timeout, Duration::from_secs(10));
        assert_eq!(c.heartbeat_interval, Duration::from_secs(3));
        assert_eq!(c.rebalance_timeout, Duration::from_secs(60));
        assert_eq!(c.scheduled_rebalance_max_delay, Duration::ZERO);
        assert_eq!(c.protocol_version, 2);
        assert!(c.group_instance_id.is_none());
    }

    #[test]
    fn shared_topic_names_are_refused() {
        let e = DistributedConfig::parse(&props(&[
            ("group.id", "g"),
            ("config.storage.topic", "t"),
            ("offset.storage.topic", "t"),
            ("status.storage.topic", "s"),
        ]))
        .expect_err("same topic twice");
        assert!(e.to_string().contains("three different topics"), "{e}");
    }
}
