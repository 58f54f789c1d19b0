//! librdkafka client settings: our defaults, then the worker's `producer.*` /
//! `consumer.*`, then the connector's `producer.override.*` / `consumer.override.*`,
//! each turned from the Java client's names into librdkafka's
//! ([`crate::client_settings`]: TLS and SASL keys).

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
        // The Java producer's partitioner: a key lands in the partition Kafka Connect
        // would have chosen (librdkafka's default hashes keys with CRC32 instead).
        .set("partitioner", "murmur2_random")
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
    apply(&mut c, &worker.with_prefix("producer."), "producer.");
    apply(
        &mut c,
        &prefixed(connector, "producer.override."),
        "producer.override.",
    );
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
    apply(&mut c, &worker.with_prefix("consumer."), "consumer.");
    apply(
        &mut c,
        &prefixed(connector, "consumer.override."),
        "consumer.override.",
    );
    c
}

/// Settings for admin and metadata calls.
pub fn admin_config(worker: &WorkerConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &worker.bootstrap_servers)
        .set("receive.message.max.bytes", "1000000000");
    apply(&mut c, &worker.with_prefix("admin."), "admin.");
    c
}

fn prefixed(map: &ConfigMap, prefix: &str) -> ConfigMap {
    map.iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
        .collect()
}

fn apply(c: &mut ClientConfig, settings: &ConfigMap, prefix: &str) {
    // Settings that cannot be mapped were refused when the config was loaded.
    let (mapped, _) = crate::client_settings::to_librdkafka(settings, prefix);
    for (k, v) in mapped {
        c.set(k, v);
    }
}

/// The Kafka cluster id, for `GET /`; `None` when the broker does not answer in 5 s.
pub fn cluster_id(worker: &WorkerConfig) -> Option<String> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = admin_config(worker).create().ok()?;
    consumer
        .client()
        .fetch_cluster_id(std::time::Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

    use super::*;

    /// Keys land where the Java producer (and so Kafka Connect) puts them:
    /// `toPositive(murmur2(key)) % partitions`, with murmur2 values from Kafka's
    /// `UtilsTest.testMurmur2`.
    #[test]
    fn keys_are_partitioned_as_the_java_producer_does() {
        let cluster = MockCluster::new(1).expect("mock cluster");
        cluster
            .create_topic("t", 16, 1)
            .expect("topic with 16 partitions");
        let mut props = ConfigMap::new();
        props.insert("bootstrap.servers".into(), cluster.bootstrap_servers());
        props.insert("offset.storage.file.filename".into(), "unused".into());
        let worker = WorkerConfig::parse(&props).expect("worker config");
        let producer: BaseProducer = producer_config(&worker, &ConfigMap::new(), "test")
            .create()
            .expect("producer");
        let java_murmur2: [(&str, i32); 6] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            ("abc", 479_470_107),
        ];
        for (key, _) in java_murmur2 {
            producer
                .send(BaseRecord::<str, str>::to("t").key(key).payload("v"))
                .map_err(|(e, _)| e)
                .expect("send");
        }
        producer.flush(Duration::from_secs(10)).expect("flush");
        // The partition each record went to, read back from the mock broker.
        let consumer: rdkafka::consumer::BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", "check")
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("consumer");
        rdkafka::consumer::Consumer::subscribe(&consumer, &["t"]).expect("subscribe");
        let mut seen = std::collections::BTreeMap::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while seen.len() < java_murmur2.len() && std::time::Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                use rdkafka::Message;
                let key = String::from_utf8(m.key().unwrap_or_default().to_vec()).expect("key");
                seen.insert(key, m.partition());
            }
        }
        for (key, hash) in java_murmur2 {
            assert_eq!(
                seen.get(key),
                Some(&((hash & 0x7fff_ffff) % 16)),
                "partition of key {key}"
            );
        }
    }
}
