//! File source → Kafka → file sink through a real broker, across a `kill -9` of the
//! worker: the sink's output, with re-delivered lines removed, equals the input byte
//! for byte.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;

const LINES: usize = 100_000;

fn line_count(path: &std::path::Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

#[test]
fn file_to_kafka_to_file_survives_kill_9() {
    let broker = KafkaBroker::start();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let input: String = (1..=LINES)
        .map(|i| format!("line {i:06} {}\n", "x".repeat(i % 50)))
        .collect();
    let input_path = write(dir, "input.txt", &input);
    let output_path = dir.join("output.txt");
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let topic = format!("file-lines-{port}");
    let source = write(
        dir,
        "source.properties",
        &format!(
            "name=local-file-source\nconnector.class=FileStreamSource\ntasks.max=1\nfile={}\ntopic={topic}\nbatch.size=500\n",
            input_path.display()
        ),
    );
    let sink = write(
        dir,
        "sink.json",
        &format!(
            r#"{{"name": "local-file-sink", "config": {{"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "tasks.max": "1", "file": "{}", "topics": "{topic}"}}}}"#,
            output_path.display()
        ),
    );

    let mut worker = Worker::start(dir, port, &[source.clone(), sink.clone()]);
    wait_until(
        Duration::from_secs(120),
        "a third of the lines in the sink file",
        || line_count(&output_path) >= LINES / 3,
    );
    worker.kill9();
    let at_kill = line_count(&output_path);
    let offsets_at_kill = std::fs::read_to_string(dir.join("connect.offsets")).unwrap_or_default();
    assert!(
        at_kill < LINES,
        "the kill came too late to test anything: {at_kill} lines already out"
    );

    let mut worker = Worker::start(dir, port, &[source, sink]);
    let expected: HashSet<&str> = input.lines().collect();
    wait_until(
        Duration::from_secs(180),
        "every input line in the sink file",
        || {
            let text = std::fs::read_to_string(&output_path).unwrap_or_default();
            let seen: HashSet<&str> = text.lines().collect();
            expected.iter().all(|l| seen.contains(l))
        },
    );
    let (status, body) = worker.get("/connectors/local-file-sink/status");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""state":"RUNNING""#), "{body}");
    let exit = worker.terminate();
    assert!(
        exit.success(),
        "graceful stop exits 0, got {exit}\n{}",
        worker.log_text()
    );
    assert!(
        worker
            .log_text()
            .contains("resuming file source from the committed offset"),
        "the restart resumed from the offset file"
    );

    // Remove re-delivered lines (keep first occurrences) and compare byte for byte.
    let output = std::fs::read_to_string(&output_path).unwrap();
    let mut seen = HashSet::new();
    let mut deduped = String::with_capacity(input.len());
    let mut duplicates = 0usize;
    for line in output.lines() {
        if seen.insert(line) {
            deduped.push_str(line);
            deduped.push('\n');
        } else {
            duplicates += 1;
        }
    }
    assert!(
        output.ends_with('\n'),
        "the sink file ends with a whole line"
    );
    assert_eq!(
        deduped.len(),
        input.len(),
        "same size after removing duplicates"
    );
    assert!(
        deduped == input,
        "the sink file, without duplicates, equals the input byte for byte"
    );
    eprintln!(
        "kill -9 report: {LINES} lines, {at_kill} in the sink file at the kill, offsets then {offsets_at_kill}, \
         {duplicates} duplicate lines delivered again after the restart, 0 lost"
    );
}
