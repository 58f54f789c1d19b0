//! What a user sees when a config file is wrong: `sluice standalone` refuses to start,
//! exits non-zero and names the file, key, value and what is allowed; Kafka Connect's
//! own quickstart files run unchanged; and a refused start changes nothing on disk.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

/// No broker listens here: these workers must fail before connecting anywhere.
const NO_BROKER: &str = "127.0.0.1:1";

/// Runs the worker to the end, expecting a refusal whose stderr holds every `expected`.
fn refused(args: &[&Path], expected: &[&str]) -> String {
    let (status, stderr) = run_to_end(args);
    assert!(!status.success(), "expected a refusal: {status}\n{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "stderr lacks {e:?}:\n{stderr}");
    }
    stderr
}

#[test]
fn worker_value_of_the_wrong_type_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let extra = "offset.flush.interval.ms=abc\n";
    let worker = worker_properties(tmp.path(), NO_BROKER, free_port(), extra);
    let name = worker.display().to_string();
    let what = "Invalid value abc for configuration offset.flush.interval.ms";
    refused(&[&worker], &[&name, what, "Not a number of type LONG"]);
    assert!(!tmp.path().join("connect.offsets").exists());
}

#[test]
fn worker_key_typo_is_refused_with_a_suggestion() {
    let tmp = tempfile::tempdir().unwrap();
    let worker = worker_properties(tmp.path(), NO_BROKER, free_port(), "bootstrap.server=x\n");
    refused(
        &[&worker],
        &[
            "Unknown configuration \"bootstrap.server\" (value \"x\")",
            "did you mean \"bootstrap.servers\"?",
        ],
    );
}

#[test]
fn worker_without_offset_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!("bootstrap.servers={NO_BROKER}\nlisteners=http://127.0.0.1:0\n");
    let worker = write(tmp.path(), "worker.properties", &text);
    refused(
        &[&worker],
        &["Missing required configuration \"offset.storage.file.filename\""],
    );
}

#[test]
fn bad_connector_configs_are_refused_naming_key_value_and_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let worker = worker_properties(dir, NO_BROKER, free_port(), "");
    let source = format!(
        "name=bad\nconnector.class=FileStreamSource\nfile={}\ntopic=t\n",
        dir.join("in.txt").display()
    );
    let no_topics = format!(
        "name=bad\nconnector.class=FileStreamSink\nfile={}\n",
        dir.join("out.txt").display()
    );
    let sink = format!("{no_topics}topics=t\n");
    // (config, the bad line, what stderr must say, separated by `|`).
    let cases = [
        (&source, "tasks.max=0", "Invalid value 0 for configuration tasks.max|at least 1"),
        (&source, "batch.size=-5", "Invalid value -5 for configuration batch.size|at least 1"),
        (&source, "topik=t", "Unknown configuration \"topik\" (value \"t\")|\"topic\"?"),
        (
            &sink,
            "connector.class=Nope",
            "Invalid value Nope for configuration connector.class: not a known connector|\
             available: org.apache.kafka.connect.file.FileStreamSourceConnector, \
             org.apache.kafka.connect.file.FileStreamSinkConnector",
        ),
        (&sink, "errors.tolerance=some", "Invalid value some for configuration errors.tolerance|none, all"),
        (
            &sink,
            "transforms=foo\ntransforms.foo.type=org.example.Nope",
            "Invalid value org.example.Nope for configuration transforms.foo.type|not a known transformation",
        ),
        (&sink, "transforms=foo", "Missing required configuration \"transforms.foo.type\""),
        (&no_topics, "", "Must configure one of topics or topics.regex"),
        (&sink, "topics.regex=t.*", "topics and topics.regex are mutually exclusive"),
        // No registry URL, and the worker serves no built-in registry.
        (
            &source,
            "value.converter=io.confluent.connect.avro.AvroConverter",
            "value.converter.schema.registry.url is not set|schema.registry.listener",
        ),
    ];
    for (i, (base, line, expected)) in cases.into_iter().enumerate() {
        let file = write(
            dir,
            &format!("bad-{i}.properties"),
            &format!("{base}{line}\n"),
        );
        let path = file.display().to_string();
        let mut expected: Vec<&str> = expected.split('|').collect();
        expected.push(&path);
        let stderr = refused(&[&worker, &file], &expected);
        let started = stderr.contains("REST API listening");
        assert!(
            !started,
            "{line}: refused before starting anything:\n{stderr}"
        );
    }
    assert!(!dir.join("connect.offsets").exists());
    assert!(!dir.join("out.txt").exists());
}

#[test]
fn connector_file_with_invalid_json_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let worker = worker_properties(tmp.path(), NO_BROKER, free_port(), "");
    let bad = write(
        tmp.path(),
        "sink.json",
        r#"{"name": "s", "config": {"connector.class": "FileStreamSink",}}"#,
    );
    refused(
        &[&worker, &bad],
        &[&bad.display().to_string(), "invalid JSON", "line 1"],
    );
}

#[test]
fn missing_files_and_duplicate_names_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let worker = worker_properties(dir, NO_BROKER, free_port(), "");
    let missing = dir.join("missing.properties");
    let name = missing.display().to_string();
    refused(&[&worker, &missing], &[&name, "cannot read the file"]);
    refused(&[&missing], &[&name, "cannot read the file"]);
    let text = format!("name=twice\nconnector.class=FileStreamSink\ntopics=t\nfile={name}\n");
    let a = write(dir, "a.properties", &text);
    let b = write(
        dir,
        "b.json",
        r#"{"name": "twice", "config": {"connector.class": "FileStreamSource", "topic": "t"}}"#,
    );
    refused(
        &[&worker, &a, &b],
        &["connector name twice is used by more than one connector file"],
    );
}

const LICENSE: &str = "# Licensed to the Apache Software Foundation (ASF) under one or more\n\
# contributor license agreements.  See the NOTICE file distributed with\n\
# this work for additional information regarding copyright ownership.\n";

#[test]
fn kafka_quickstart_files_run_unchanged() {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    // connect-standalone.properties as shipped, with the plugin.path the quickstart
    // asks for; then only what this machine needs: the broker, the offsets file, a port.
    let worker_text = format!(
        "{LICENSE}\n\
# These are defaults. This file just demonstrates how to override some settings.\n\
bootstrap.servers=localhost:9092\n\
\n\
# The converters specify the format of data in Kafka and how to translate it into Connect data. Every Connect user will\n\
# need to configure these based on the format they want their data in when loaded from or stored into Kafka\n\
key.converter=org.apache.kafka.connect.json.JsonConverter\n\
value.converter=org.apache.kafka.connect.json.JsonConverter\n\
# Converter-specific settings can be passed in by prefixing the Converter's setting with the converter we want to apply\n\
# it to\n\
key.converter.schemas.enable=true\n\
value.converter.schemas.enable=true\n\
\n\
offset.storage.file.filename=/tmp/connect.offsets\n\
# Flush much faster than normal, which is useful for testing/debugging\n\
offset.flush.interval.ms=10000\n\
\n\
# Set to a list of filesystem paths separated by commas (,) to enable class loading isolation for plugins\n\
# (connectors, converters, transformations). The list should consist of top level directories that include \n\
# any combination of: \n\
# a) directories immediately containing jars with plugins and their dependencies\n\
# b) uber-jars with plugins and their dependencies\n\
# c) directories immediately containing the package directory structure of classes of plugins and their dependencies\n\
# Note: symlinks will be followed to discover dependencies or plugins.\n\
# Examples: \n\
# plugin.path=/usr/local/share/java,/usr/local/share/kafka/plugins,/opt/connectors,\n\
#plugin.path=\n\
plugin.path=libs/connect-file-3.7.0.jar\n\
bootstrap.servers={}\n\
offset.storage.file.filename=connect.offsets\n\
listeners=http://127.0.0.1:{port}\n",
        broker.bootstrap()
    );
    write(dir, "connect-standalone.properties", &worker_text);
    let source = write(
        dir,
        "connect-file-source.properties",
        &format!("{LICENSE}\nname=local-file-source\nconnector.class=org.apache.kafka.connect.file.FileStreamSourceConnector\ntasks.max=1\nfile=test.txt\ntopic=test"),
    );
    let sink = write(
        dir,
        "connect-file-sink.properties",
        &format!("{LICENSE}\nname=local-file-sink\nconnector.class=org.apache.kafka.connect.file.FileStreamSinkConnector\ntasks.max=1\nfile=test.sink.txt\ntopics=test"),
    );
    let input = "foo\nbar\nhello, world\n";
    write(dir, "test.txt", input);

    let mut w = Worker::start_with(dir, port, "connect-standalone.properties", &[source, sink]);
    for name in ["local-file-source", "local-file-sink"] {
        wait_until(Duration::from_secs(60), &format!("{name} RUNNING"), || {
            let (code, body) = w.get(&format!("/connectors/{name}/status"));
            code == 200 && body.contains(r#""tasks":[{"id":0,"state":"RUNNING""#)
        });
    }
    let log = w.log_text();
    let logged = |l: &str| l.contains("plugin.path") && l.contains("not needed");
    assert!(
        log.lines().any(logged),
        "plugin.path logged as not needed:\n{log}"
    );
    let sink_file = dir.join("test.sink.txt");
    wait_until(
        Duration::from_secs(60),
        "the lines in test.sink.txt",
        || std::fs::read_to_string(&sink_file).is_ok_and(|t| t == input),
    );
    let exit = w.terminate();
    assert!(exit.success(), "SIGTERM exits 0: {exit}\n{}", w.log_text());
    let offsets = std::fs::read_to_string(dir.join("connect.offsets")).unwrap();
    assert!(
        offsets.contains("local-file-source")
            && offsets.contains(&format!("\"position\":{}", input.len())),
        "{offsets}"
    );
    assert_eq!(std::fs::read_to_string(&sink_file).unwrap(), input);
}

#[test]
fn refused_start_leaves_offsets_untouched() {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    let worker = worker_properties(dir, broker.bootstrap(), port, "");
    let input: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    let input_path = write(dir, "in.txt", &input);
    let source = write(
        dir,
        "source.properties",
        &format!(
            "name=src\nconnector.class=FileStreamSource\nfile={}\ntopic=lines-{port}\n",
            input_path.display()
        ),
    );
    let offsets_path = dir.join("connect.offsets");
    let done = format!("\"position\":{}", input.len());

    // A previous run that read the whole file.
    let mut w = Worker::start(dir, port, std::slice::from_ref(&source));
    wait_until(Duration::from_secs(60), "every line committed", || {
        std::fs::read_to_string(&offsets_path).is_ok_and(|t| t.contains(&done))
    });
    assert!(w.terminate().success(), "{}", w.log_text());
    let before = std::fs::read(&offsets_path).unwrap();

    // A bad connector file next to the good one: refused while loading.
    let bad = write(
        dir,
        "bad.properties",
        "name=bad\nconnector.class=FileStreamSink\n",
    );
    let what = "Must configure one of topics or topics.regex";
    refused(&[&worker, &source, &bad], &[what]);
    let unchanged = || std::fs::read(&offsets_path).unwrap() == before;
    assert!(unchanged(), "offsets byte-identical after a refused config");

    // The REST port taken: refused after the offsets file was opened.
    let holder = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    refused(&[&worker, &source], &["REST listener", &port.to_string()]);
    drop(holder);
    assert!(
        unchanged(),
        "offsets byte-identical after a refused listener"
    );

    // A corrupt offsets file is refused, not replaced.
    let corrupt = dir.join("corrupt.offsets");
    std::fs::write(&corrupt, b"{\"offsets\": [oops").unwrap();
    let other = worker_properties(
        dir,
        broker.bootstrap(),
        port,
        &format!("offset.storage.file.filename={}\n", corrupt.display()),
    );
    let name = corrupt.display().to_string();
    refused(&[&other, &source], &["offset file", &name, "not JSON"]);
    assert_eq!(std::fs::read(&corrupt).unwrap(), b"{\"offsets\": [oops");

    // The next good start resumes where the previous run stopped.
    worker_properties(dir, broker.bootstrap(), port, "");
    let mut w = Worker::start(dir, port, &[source]);
    wait_until(Duration::from_secs(30), "the source to resume", || {
        w.log_text()
            .contains("resuming file source from the committed offset")
    });
    assert!(w.terminate().success(), "{}", w.log_text());
    let after = std::fs::read_to_string(&offsets_path).unwrap();
    assert!(after.contains(&done), "{after}");
}
