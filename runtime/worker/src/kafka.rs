//! librdkafka client settings: our defaults, then the worker's `producer.*` /
//! `consumer.*`, then the connector's `producer.override.*` / `consumer.override.*`.

use rdkafka::ClientConfig;
use sluice_core::config::ConfigMap;

use crate::config::WorkerConfig;

/// Settings for a source task's producer: idempotent, `acks=all`, bounded buffers.
pub fn producer_config(
    worker: &WorkerConfig,
    connector: &ConfigMap,
    client_id: &str,
) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &worker.bootstrap_servers)
        .set("client.id", client_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        // Every Kafka client decompresses lz4 transparently; JSON change events shrink
        // several times, which is most of the end-to-end throughput. `producer.compression.type`
        // overrides it.
        .set("compression.type", "lz4")
        .set("batch.num.messages", "10000")
        .set("batch.size", "1000000")
        // Bounded in-flight data: a slow broker slows the source instead of growing memory.
        .set("queue.buffering.max.messages", "200000")
        .set("queue.buffering.max.kbytes", "32768")
        .set("message.max.bytes", "10000000")
        .set("receive.message.max.bytes", "1000000000");
    apply(&mut c, &worker.with_prefix("producer."));
    apply(&mut c, &prefixed(connector, "producer.override."));
    c
}

/// Settings for a sink task's consumer: group `connect-<name>`, static membership per
/// task (a restarted task takes its partitions back at once), manual commits.
pub fn consumer_config(
    worker: &WorkerConfig,
    connector: &ConfigMap,
    name: &str,
    task: usize,
) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &worker.bootstrap_servers)
        .set("client.id", format!("connector-consumer-{name}-{task}"))
        .set("group.id", format!("connect-{name}"))
        .set("group.instance.id", format!("connect-{name}-{task}"))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .set("fetch.max.bytes", "52428800")
        // Some Kafka-protocol brokers ignore fetch.max.bytes; accept any response size.
        .set("receive.message.max.bytes", "1000000000")
        .set("queued.max.messages.kbytes", "32768");
    apply(&mut c, &worker.with_prefix("consumer."));
    apply(&mut c, &prefixed(connector, "consumer.override."));
    c
}

/// Settings for admin and metadata calls.
pub fn admin_config(worker: &WorkerConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &worker.bootstrap_servers)
        .set("receive.message.max.bytes", "1000000000");
    apply(&mut c, &worker.with_prefix("admin."));
    c
}

fn prefixed(map: &ConfigMap, prefix: &str) -> ConfigMap {
    map.iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
        .collect()
}

fn apply(c: &mut ClientConfig, settings: &ConfigMap) {
    for (k, v) in settings {
        c.set(k, v);
    }
}
