//! `errors.*` end to end through the real `sluice` binary and a real broker: a sink
//! reading malformed JSON with `errors.tolerance=all` writes the good records and puts
//! the bad ones, byte for byte, on the dead-letter topic with Kafka Connect's
//! `__connect.errors.*` headers; with `errors.tolerance=none` the task fails with a trace
//! naming the record; a source whose transformation fails on some records sends them to
//! the dead-letter topic too; `errors.log.enable` logs each failure.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::rest::{append, line_count, parse};
use common::*;
use rdkafka::consumer::Consumer;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};

/// One record read back: key, value and headers (name → UTF-8 value), in order.
#[derive(Debug)]
struct Read {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
}

impl Read {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads `n` records of single-partition `topic` from the start, within 60 s.
fn read_topic(bootstrap: &str, topic: &str, n: usize) -> Vec<Read> {
    let consumer = test_consumer(bootstrap, topic);
    wait_until(Duration::from_secs(60), &format!("topic {topic}"), || {
        consumer
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .ok()
            .and_then(|m| m.topics().first().map(|t| !t.partitions().is_empty()))
            .unwrap_or(false)
    });
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "{} of {n} records on {topic} in 60 s: {out:?}",
            out.len()
        );
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.unwrap();
            let headers = m
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| {
                            (
                                h.key.to_owned(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(Read {
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                headers,
            });
        }
    }
    out
}

/// The records the sink tests produce: (key, value, malformed?). Offsets are positions.
fn records() -> Vec<(String, String, bool)> {
    (0..12)
        .map(|i| {
            let bad = i % 4 == 1;
            let value = if bad {
                format!("{{\"id\": {i}, \"name\": oops")
            } else {
                format!("{{\"id\":{i},\"name\":\"n{i}\"}}")
            };
            (format!("k{i}"), value, bad)
        })
        .collect()
}

/// Produces [`records`] to partition 0 of `topic`, the bad ones with a header `trace: <i>`.
fn produce(bootstrap: &str, topic: &str) {
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    for (i, (key, value, bad)) in records().iter().enumerate() {
        let mut r = BaseRecord::<str, str>::to(topic)
            .partition(0)
            .key(key)
            .payload(value);
        if *bad {
            r = r.headers(OwnedHeaders::new().insert(Header {
                key: "trace",
                value: Some(&i.to_string()),
            }));
        }
        producer.send(r).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

fn sink_config(name: &str, topic: &str, out: &std::path::Path, errors: &str) -> String {
    format!(
        r#"{{"name": "{name}", "config": {{
            "connector.class": "FileStreamSink", "file": "{}", "topics": "{topic}",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
            {errors}
        }}}}"#,
        out.display()
    )
}

#[test]
fn a_sink_sends_malformed_records_to_the_dead_letter_topic() {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let topic = format!("orders-{port}");
    let dlq = format!("orders-dlq-{port}");
    produce(broker.bootstrap(), &topic);
    let out = dir.join("out.txt");
    let sink = write(
        dir,
        "sink.json",
        &sink_config(
            "orders-sink",
            &topic,
            &out,
            &format!(
                r#""errors.tolerance": "all",
                "errors.log.enable": "true", "errors.log.include.messages": "true",
                "errors.deadletterqueue.topic.name": "{dlq}",
                "errors.deadletterqueue.topic.replication.factor": "1",
                "errors.deadletterqueue.context.headers.enable": "true""#
            ),
        ),
    );
    let mut worker = Worker::start(dir, port, &[sink]);
    let all = records();
    let good: Vec<_> = all.iter().filter(|r| !r.2).collect();
    let bad: Vec<(usize, &(String, String, bool))> =
        all.iter().enumerate().filter(|(_, r)| r.2).collect();
    wait_until(
        Duration::from_secs(60),
        "the good records in the sink file",
        || line_count(&out) >= good.len(),
    );

    // The good records are written, in order; the bad ones are not.
    let text = std::fs::read_to_string(&out).unwrap();
    let expected: Vec<usize> = (0..all.len()).filter(|i| !all[*i].2).collect();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{text}");
    for (line, i) in lines.iter().zip(&expected) {
        assert!(
            line.contains(&format!("id={i}")) && line.contains(&format!("name=n{i}")),
            "record {i} in line {line}"
        );
    }

    // The bad ones are on the dead-letter topic: original bytes, original headers first,
    // then the context headers.
    let dead = read_topic(broker.bootstrap(), &dlq, bad.len());
    assert_eq!(dead.len(), bad.len());
    for (read, (offset, (key, value, _))) in dead.iter().zip(&bad) {
        assert_eq!(read.key.as_deref(), Some(key.as_bytes()));
        assert_eq!(read.value.as_deref(), Some(value.as_bytes()));
        assert_eq!(read.headers[0], ("trace".to_owned(), offset.to_string()));
        let expect: BTreeMap<&str, String> = [
            ("__connect.errors.topic", topic.clone()),
            ("__connect.errors.partition", "0".into()),
            ("__connect.errors.offset", offset.to_string()),
            ("__connect.errors.connector.name", "orders-sink".into()),
            ("__connect.errors.task.id", "0".into()),
            ("__connect.errors.stage", "VALUE_CONVERTER".into()),
            (
                "__connect.errors.class.name",
                "org.apache.kafka.connect.json.JsonConverter".into(),
            ),
            (
                "__connect.errors.exception.class.name",
                "org.apache.kafka.connect.errors.DataException".into(),
            ),
        ]
        .into_iter()
        .collect();
        for (name, want) in &expect {
            assert_eq!(read.header(name), Some(want.as_str()), "{name} in {read:?}");
        }
        let message = read.header("__connect.errors.exception.message").unwrap();
        assert!(!message.is_empty(), "{read:?}");
        assert!(read
            .header("__connect.errors.exception.stacktrace")
            .unwrap()
            .starts_with("org.apache.kafka.connect.errors.DataException: "));
        assert_eq!(read.headers.len(), 11, "{read:?}");
    }

    // errors.log.enable with include.messages: one line per failure naming the task,
    // the stage, the class and the record's topic, partition and offset.
    let log = worker.log_text();
    for (offset, _) in &bad {
        let wanted = format!(
            "Error encountered in task orders-sink-0. Executing stage 'VALUE_CONVERTER' with class 'org.apache.kafka.connect.json.JsonConverter', where consumed record is {{topic='{topic}', partition=0, offset={offset},"
        );
        assert!(log.contains(&wanted), "no log line {wanted}\n{log}");
    }
    let (code, body) = worker.get("/connectors/orders-sink/status");
    assert_eq!(code, 200);
    assert_eq!(parse(&body)["tasks"][0]["state"], "RUNNING", "{body}");
    assert!(worker.terminate().success());
}

#[test]
fn with_no_tolerance_a_malformed_record_fails_the_task_naming_it() {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let topic = format!("strict-{port}");
    produce(broker.bootstrap(), &topic);
    let out = dir.join("out.txt");
    let sink = write(
        dir,
        "sink.json",
        &sink_config("strict-sink", &topic, &out, r#""errors.tolerance": "none""#),
    );
    let worker = Worker::start(dir, port, &[sink]);
    let mut trace = String::new();
    wait_until(Duration::from_secs(60), "strict-sink's task FAILED", || {
        let (_, body) = worker.get("/connectors/strict-sink/status");
        let status = parse(&body);
        trace = status["tasks"][0]["trace"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        status["tasks"][0]["state"] == "FAILED"
    });
    assert!(
        trace.contains(&format!(
            "Tolerance exceeded in error handler: stage VALUE_CONVERTER (class org.apache.kafka.connect.json.JsonConverter) failed on the record at topic {topic}, partition 0, offset 1"
        )),
        "{trace}"
    );
    assert!(trace.contains("errors.tolerance=all"), "{trace}");
    // The record before it was consumed; nothing after the bad one was written.
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(text.lines().count() <= 1, "{text}");
}

#[test]
fn a_source_sends_records_its_transformation_fails_on_to_the_dead_letter_topic() {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let topic = format!("numbers-{port}");
    let dlq = format!("numbers-dlq-{port}");
    let input = dir.join("numbers.txt");
    let values = ["1", "2", "three", "4", "five", "6"];
    append(&input, values.iter().map(|v| (*v).to_owned()));
    let source = write(
        dir,
        "source.json",
        &format!(
            r#"{{"name": "numbers", "config": {{
                "connector.class": "FileStreamSource", "file": "{}", "topic": "{topic}",
                "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable": "false",
                "transforms": "toInt",
                "transforms.toInt.type": "org.apache.kafka.connect.transforms.Cast$Value",
                "transforms.toInt.spec": "int32",
                "errors.tolerance": "all",
                "errors.log.enable": "true",
                "errors.deadletterqueue.topic.name": "{dlq}",
                "errors.deadletterqueue.topic.replication.factor": "1",
                "errors.deadletterqueue.context.headers.enable": "true"
            }}}}"#,
            input.display()
        ),
    );
    let mut worker = Worker::start(dir, port, &[source]);
    let good = read_topic(broker.bootstrap(), &topic, 4);
    let good: Vec<String> = good
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect();
    assert_eq!(good, ["1", "2", "4", "6"]);
    let dead = read_topic(broker.bootstrap(), &dlq, 2);
    for (read, original) in dead.iter().zip(["three", "five"]) {
        // The record as the task's converter writes it before the transformation.
        assert_eq!(
            read.value.as_deref(),
            Some(format!("\"{original}\"").as_bytes())
        );
        assert_eq!(read.header("__connect.errors.topic"), Some(topic.as_str()));
        assert_eq!(read.header("__connect.errors.partition"), None);
        assert_eq!(read.header("__connect.errors.offset"), None);
        assert_eq!(
            read.header("__connect.errors.connector.name"),
            Some("numbers")
        );
        assert_eq!(read.header("__connect.errors.task.id"), Some("0"));
        assert_eq!(
            read.header("__connect.errors.stage"),
            Some("TRANSFORMATION")
        );
        assert_eq!(
            read.header("__connect.errors.class.name"),
            Some("org.apache.kafka.connect.transforms.Cast$Value")
        );
        assert_eq!(
            read.header("__connect.errors.exception.class.name"),
            Some("org.apache.kafka.connect.errors.DataException")
        );
        assert!(
            read.header("__connect.errors.exception.message")
                .is_some_and(|m| m.contains(original)),
            "{read:?}"
        );
    }
    let log = worker.log_text();
    assert!(
        log.contains("Error encountered in task numbers-0. Executing stage 'TRANSFORMATION' with class 'org.apache.kafka.connect.transforms.Cast$Value'"),
        "{log}"
    );
    let (_, body) = worker.get("/connectors/numbers/status");
    assert_eq!(parse(&body)["tasks"][0]["state"], "RUNNING", "{body}");
    assert!(worker.terminate().success());
}
