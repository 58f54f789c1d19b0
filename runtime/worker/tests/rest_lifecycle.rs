//! The Kafka Connect REST calls that change a running connector, against one standalone
//! worker and a real broker, with the file source: what each call answers (status code
//! and body, Kafka Connect's messages) and what a user then sees on the topic —
//! nothing while PAUSED, the rest after RESUME, records from an altered or reset offset
//! after STOP → PATCH / DELETE offsets → RESUME.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::rest::*;
use common::*;
use serde_json::{json, Value};

#[test]
fn pause_resume_and_restart_a_file_source() {
    let s = setup();
    let w = &s.worker;
    let input = s.dir.join("input.txt");
    append(&input, lines(1..=5));
    let topic = format!("lines-{}", w.port);

    // PUT /connectors/{n}/config creates: 201, Location, ConnectorInfo.
    let config = file_source(&input, &topic);
    let (code, body) = call(w, "PUT", "/connectors/src/config", Some(&config));
    assert_eq!(code, 201, "{body}");
    let mut with_name = config.clone();
    with_name["name"] = json!("src");
    let info = json!({"name": "src", "config": with_name, "tasks": [{"connector": "src", "task": 0}], "type": "source"});
    assert_eq!(parse(&body), info);
    wait_state(w, "src", "RUNNING", 1);
    let mut reader = TopicReader::open(s.broker.bootstrap(), &topic);
    assert_eq!(reader.until(5), lines(1..=5));

    // Active topics.
    let topics = call_json(w, "GET", "/connectors/src/topics", None, 200);
    assert_eq!(topics, json!({"src": {"topics": [topic]}}));

    // Pause: 202, PAUSED everywhere, nothing produced while paused.
    assert_eq!(
        call(w, "PUT", "/connectors/src/pause", None),
        (202, String::new())
    );
    let status = wait_state(w, "src", "PAUSED", 1);
    assert_eq!(status, status_body(w, "src", "PAUSED", &["PAUSED"]));
    let task = call_json(w, "GET", "/connectors/src/tasks/0/status", None, 200);
    assert_eq!(
        task,
        json!({"id": 0, "state": "PAUSED", "worker_id": worker_id(w)})
    );
    append(&input, lines(6..=8));
    reader.stays_at(5, Duration::from_secs(3));

    // Resume: 202, RUNNING, the lines written while paused follow, none twice.
    assert_eq!(
        call(w, "PUT", "/connectors/src/resume", None),
        (202, String::new())
    );
    wait_state(w, "src", "RUNNING", 1);
    assert_eq!(reader.until(8), lines(1..=8));
    let task = call_json(w, "GET", "/connectors/src/tasks/0/status", None, 200);
    assert_eq!(
        task,
        json!({"id": 0, "state": "RUNNING", "worker_id": worker_id(w)})
    );

    // Restarts: plain → 204; includeTasks → 202 with RESTARTING; onlyFailed with
    // nothing failed → 202 and nothing restarts; a task → 204.
    assert_eq!(
        call(w, "POST", "/connectors/src/restart", None),
        (204, String::new())
    );
    let plan = call_json(
        w,
        "POST",
        "/connectors/src/restart?includeTasks=true",
        None,
        202,
    );
    assert_eq!(plan, status_body(w, "src", "RESTARTING", &["RESTARTING"]));
    wait_state(w, "src", "RUNNING", 1);
    let path = "/connectors/src/restart?includeTasks=true&onlyFailed=true";
    let plan = call_json(w, "POST", path, None, 202);
    assert_eq!(plan, status_body(w, "src", "RUNNING", &["RUNNING"]));
    let restarted = call(w, "POST", "/connectors/src/tasks/0/restart", None);
    assert_eq!(restarted, (204, String::new()));
    wait_state(w, "src", "RUNNING", 1);
    append(&input, lines(9..=10));
    assert_eq!(
        reader.until(10),
        lines(1..=10),
        "no line twice after restarts"
    );

    // Unknown tasks and connectors: Kafka Connect's 404s.
    let e = error(404, "Task src-7 not found");
    assert_eq!(call(w, "POST", "/connectors/src/tasks/7/restart", None), e);
    let e = error(404, "No status found for task src-7");
    assert_eq!(w.get("/connectors/src/tasks/7/status"), e);
    assert_eq!(w.get("/connectors/src/tasks/x/status").0, 404);
    for verb in ["pause", "resume", "stop"] {
        let e = error(404, "Unknown connector nope");
        assert_eq!(call(w, "PUT", &format!("/connectors/nope/{verb}"), None), e);
    }
    let e = error(404, "Connector nope not found");
    assert_eq!(call(w, "POST", "/connectors/nope/restart", None), e);
    assert_eq!(call(w, "POST", "/connectors/nope/tasks/0/restart", None), e);
    let path = "/connectors/nope/restart?includeTasks=true";
    assert_eq!(
        call(w, "POST", path, None),
        error(404, "Unknown connector: nope")
    );

    // Topic reset: 202, then no topics until the connector produces again.
    let reset = call(w, "PUT", "/connectors/src/topics/reset", None);
    assert_eq!(reset, (202, String::new()));
    let topics = call_json(w, "GET", "/connectors/src/topics", None, 200);
    assert_eq!(topics, json!({"src": {"topics": []}}));
    append(&input, lines(11..=11));
    reader.until(11);
    let topics = call_json(w, "GET", "/connectors/src/topics", None, 200);
    assert_eq!(topics, json!({"src": {"topics": [topic]}}));

    // Delete forgets the topics too.
    assert_eq!(
        call(w, "DELETE", "/connectors/src", None),
        (204, String::new())
    );
    let topics = call_json(w, "GET", "/connectors/src/topics", None, 200);
    assert_eq!(topics, json!({"src": {"topics": []}}));
}

#[test]
fn stop_then_alter_and_reset_offsets() {
    let s = setup();
    let w = &s.worker;
    let input = s.dir.join("input.txt");
    append(&input, lines(1..=4));
    let topic = format!("offsets-{}", w.port);
    let create = json!({"name": "src", "config": file_source(&input, &topic)});
    call_json(w, "POST", "/connectors", Some(&create), 201);
    let mut reader = TopicReader::open(s.broker.bootstrap(), &topic);
    assert_eq!(reader.until(4), lines(1..=4));

    // GET offsets works in any state; it shows the committed position.
    let file = input.display().to_string();
    let len = std::fs::metadata(&input).unwrap().len();
    let at_end =
        json!({"offsets": [{"partition": {"filename": file}, "offset": {"position": len}}]});
    wait_until(
        Duration::from_secs(30),
        "the end of the file committed",
        || {
            let (_, body) = w.get("/connectors/src/offsets");
            parse(&body) == at_end
        },
    );

    // Not STOPPED: altering and resetting are refused with Kafka Connect's message.
    let not_stopped = error(400, "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/src/stop' endpoint");
    let to_line_3 =
        json!({"offsets": [{"partition": {"filename": file}, "offset": {"position": 14}}]});
    assert_eq!(
        call(w, "DELETE", "/connectors/src/offsets", None),
        not_stopped
    );
    let patch = call(w, "PATCH", "/connectors/src/offsets", Some(&to_line_3));
    assert_eq!(patch, not_stopped);
    call(w, "PUT", "/connectors/src/pause", None);
    wait_state(w, "src", "PAUSED", 1);
    assert_eq!(
        call(w, "DELETE", "/connectors/src/offsets", None),
        not_stopped,
        "PAUSED is not STOPPED"
    );

    // Stop: 202, STOPPED with no tasks at all.
    assert_eq!(
        call(w, "PUT", "/connectors/src/stop", None),
        (202, String::new())
    );
    let status = call_json(w, "GET", "/connectors/src/status", None, 200);
    assert_eq!(status, status_body(w, "src", "STOPPED", &[]));
    assert_eq!(
        call_json(w, "GET", "/connectors/src", None, 200)["tasks"],
        json!([])
    );
    assert_eq!(
        call_json(w, "GET", "/connectors/src/tasks", None, 200),
        json!([])
    );
    assert_eq!(
        call_json(w, "GET", "/connectors/src/offsets", None, 200),
        at_end
    );

    // PATCH offsets: back to the start of line 3 ("line-1\n" and "line-2\n" are 14 bytes).
    let empty = error(
        400,
        "Partitions / offsets need to be provided for an alter offsets request",
    );
    assert_eq!(
        call(
            w,
            "PATCH",
            "/connectors/src/offsets",
            Some(&json!({"offsets": []}))
        ),
        empty
    );
    assert_eq!(
        call(w, "PATCH", "/connectors/src/offsets", Some(&json!({}))),
        empty
    );
    let altered = call_json(w, "PATCH", "/connectors/src/offsets", Some(&to_line_3), 200);
    let message = "The offsets for this connector have been altered successfully";
    assert_eq!(altered, json!({"message": message}));
    assert_eq!(
        call_json(w, "GET", "/connectors/src/offsets", None, 200),
        to_line_3
    );

    // Resume reads from the altered offset: lines 3 and 4 again, then new ones.
    call(w, "PUT", "/connectors/src/resume", None);
    wait_state(w, "src", "RUNNING", 1);
    append(&input, lines(5..=5));
    let expected: Vec<String> = [lines(1..=4), lines(3..=5)].concat();
    assert_eq!(reader.until(7), expected);

    // Stop; a null offset removes the partition's offset.
    call(w, "PUT", "/connectors/src/stop", None);
    let forget = json!({"offsets": [{"partition": {"filename": file}, "offset": null}]});
    call_json(w, "PATCH", "/connectors/src/offsets", Some(&forget), 200);
    let none = json!({"offsets": []});
    assert_eq!(
        call_json(w, "GET", "/connectors/src/offsets", None, 200),
        none
    );
    let bad = json!({"offsets": [{"offset": {"position": 1}}]});
    let (code, body) = call(w, "PATCH", "/connectors/src/offsets", Some(&bad));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("partition"), "{body}");

    // DELETE offsets, resume: the whole file from the start.
    let reset = call_json(w, "DELETE", "/connectors/src/offsets", None, 200);
    let message = "The offsets for this connector have been reset successfully";
    assert_eq!(reset, json!({"message": message}));
    assert_eq!(
        call_json(w, "GET", "/connectors/src/offsets", None, 200),
        json!({"offsets": []})
    );
    call(w, "PUT", "/connectors/src/resume", None);
    let expected: Vec<String> = [expected, lines(1..=5)].concat();
    assert_eq!(reader.until(12), expected);

    let e = error(404, "Connector nope not found");
    assert_eq!(w.get("/connectors/nope/offsets"), e);
    assert_eq!(call(w, "DELETE", "/connectors/nope/offsets", None), e);
    assert_eq!(
        call(w, "PATCH", "/connectors/nope/offsets", Some(&to_line_3)),
        e
    );
}

#[test]
fn config_updates_initial_states_and_errors() {
    let s = setup();
    let w = &s.worker;
    let input = s.dir.join("input.txt");
    append(&input, lines(1..=3));
    let topic = format!("initial-{}", w.port);
    let config = file_source(&input, &topic);

    // KIP-980 initial states.
    let stopped = json!({"name": "s", "config": config, "initial_state": "STOPPED"});
    let created = call_json(w, "POST", "/connectors", Some(&stopped), 201);
    assert_eq!(created["tasks"], json!([]), "{created}");
    let status = call_json(w, "GET", "/connectors/s/status", None, 200);
    assert_eq!(status, status_body(w, "s", "STOPPED", &[]));
    let paused = json!({"name": "p", "config": config, "initial_state": "PAUSED"});
    let created = call_json(w, "POST", "/connectors", Some(&paused), 201);
    assert_eq!(created["tasks"], json!([{"connector": "p", "task": 0}]));
    let status = call_json(w, "GET", "/connectors/p/status", None, 200);
    assert_eq!(status, status_body(w, "p", "PAUSED", &["PAUSED"]));
    let bogus = json!({"name": "b", "config": config, "initial_state": "SLEEPING"});
    let (code, body) = call(w, "POST", "/connectors", Some(&bogus));
    assert_eq!(code, 400, "{body}");
    assert!(
        parse(&body)["message"]
            .as_str()
            .unwrap()
            .contains("SLEEPING"),
        "{body}"
    );
    // A paused connector produces nothing until resumed; then the file arrives.
    assert_eq!(call(w, "PUT", "/connectors/p/resume", None).0, 202);
    let mut reader = TopicReader::open(s.broker.bootstrap(), &topic);
    assert_eq!(reader.until(3), lines(1..=3));
    reader.stays_at(3, Duration::from_secs(2));

    // PUT on an existing connector updates: 200 with the new config, same target state.
    let mut updated = config.clone();
    updated["batch.size"] = json!("7");
    let info = call_json(w, "PUT", "/connectors/s/config", Some(&updated), 200);
    let mut expected = updated.clone();
    expected["name"] = json!("s");
    assert_eq!(
        info,
        json!({"name": "s", "config": expected, "tasks": [], "type": "source"})
    );
    let status = call_json(w, "GET", "/connectors/s/status", None, 200);
    assert_eq!(status["connector"]["state"], "STOPPED", "{status}");

    // PATCH merges; null removes a key.
    let patch = json!({"batch.size": null, "tasks.max": "2"});
    let info = call_json(w, "PATCH", "/connectors/s/config", Some(&patch), 200);
    let mut expected = config.clone();
    expected["name"] = json!("s");
    expected["tasks.max"] = json!("2");
    assert_eq!(info["config"], expected);
    assert_eq!(
        call_json(w, "GET", "/connectors/s/config", None, 200),
        expected
    );
    let e = error(404, "Connector nope not found");
    assert_eq!(call(w, "PATCH", "/connectors/nope/config", Some(&patch)), e);

    // Errors: a name that differs from the URL, an invalid config, a duplicate POST.
    let mut renamed = config.clone();
    renamed["name"] = json!("other");
    let e = error(
        400,
        "Connector name configuration (other) doesn't match connector name in the URL (s)",
    );
    assert_eq!(call(w, "PUT", "/connectors/s/config", Some(&renamed)), e);
    assert_eq!(
        call(
            w,
            "PATCH",
            "/connectors/s/config",
            Some(&json!({"name": "other"}))
        ),
        e
    );
    let mut broken = config.clone();
    broken["batch.size"] = json!("0");
    let (code, body) = call(w, "PUT", "/connectors/s/config", Some(&broken));
    assert_eq!(code, 400, "{body}");
    let msg = parse(&body)["message"].as_str().unwrap().to_owned();
    assert!(msg.starts_with("Connector configuration is invalid and contains the following 1 error(s):\nInvalid value 0 for configuration batch.size"), "{msg}");
    assert_eq!(
        call_json(w, "GET", "/connectors/s/config", None, 200),
        expected,
        "unchanged"
    );
    assert_eq!(
        call(w, "PUT", "/connectors/new/config", Some(&broken)).0,
        400
    );
    assert_eq!(w.get("/connectors/new").0, 404, "nothing created");
    let again = json!({"name": "p", "config": config});
    assert_eq!(
        call(w, "POST", "/connectors", Some(&again)),
        error(409, "Connector p already exists")
    );
    let e = error(405, "HTTP 405 Method Not Allowed");
    assert_eq!(call(w, "POST", "/connectors/p/pause", None), e);
}

#[test]
fn log_levels_change_at_run_time() {
    let s = setup();
    let w = &s.worker;
    // The worker runs with SLUICE_LOG=info,sluice_worker=debug.
    let all = call_json(w, "GET", "/admin/loggers", None, 200);
    assert_eq!(
        all["root"],
        json!({"level": "INFO", "last_modified": null}),
        "{all}"
    );
    assert_eq!(all["sluice_worker"]["level"], "DEBUG", "{all}");
    let one = call_json(w, "GET", "/admin/loggers/sluice_worker::herder", None, 200);
    assert_eq!(
        one,
        json!({"level": "DEBUG", "last_modified": null}),
        "inherited"
    );
    let one = call_json(w, "GET", "/admin/loggers/sluice_connector_mysql", None, 200);
    assert_eq!(one["level"], "INFO", "root's level: {one}");

    // Quieten the herder: a pause no longer logs.
    let input = s.dir.join("input.txt");
    append(&input, lines(1..=1));
    let create = json!({"name": "src", "config": file_source(&input, &format!("log-{}", w.port))});
    call_json(w, "POST", "/connectors", Some(&create), 201);
    let changed = call_json(
        w,
        "PUT",
        "/admin/loggers/sluice_worker",
        Some(&json!({"level": "warn"})),
        200,
    );
    assert_eq!(changed, json!(["sluice_worker"]));
    let one = call_json(w, "GET", "/admin/loggers/sluice_worker", None, 200);
    assert_eq!(one["level"], "WARN", "{one}");
    assert!(one["last_modified"].as_u64().is_some(), "{one}");
    call(w, "PUT", "/connectors/src/pause", None);
    assert!(
        !w.log_text().contains("connector paused"),
        "WARN hides INFO"
    );

    // Back to INFO at the root: every logger changes, and the resume logs again.
    let changed = call_json(
        w,
        "PUT",
        "/admin/loggers/root",
        Some(&json!({"level": "INFO"})),
        200,
    );
    assert_eq!(changed, json!(["root", "sluice_worker"]));
    call(w, "PUT", "/connectors/src/resume", None);
    wait_until(Duration::from_secs(10), "the resume logged", || {
        w.log_text().contains("connector resumed")
    });
    assert!(!w.log_text().contains("connector paused"));

    // A child logger set alone; cluster scope answers 204.
    let changed = call_json(
        w,
        "PUT",
        "/admin/loggers/sluice_worker::herder",
        Some(&json!({"level": "TRACE"})),
        200,
    );
    assert_eq!(changed, json!(["sluice_worker::herder"]));
    let path = "/admin/loggers/sluice_worker?scope=cluster";
    assert_eq!(
        call(w, "PUT", path, Some(&json!({"level": "DEBUG"}))),
        (204, String::new())
    );
    let one = call_json(w, "GET", "/admin/loggers/sluice_worker::herder", None, 200);
    assert_eq!(
        one["level"], "DEBUG",
        "setting a parent sets its children: {one}"
    );

    // Kafka Connect's errors.
    let e = error(404, "invalid log level 'LOUD'.");
    assert_eq!(
        call(
            w,
            "PUT",
            "/admin/loggers/root",
            Some(&json!({"level": "LOUD"}))
        ),
        e
    );
    let e = error(
        400,
        "Desired 'level' parameter was not specified in request.",
    );
    assert_eq!(call(w, "PUT", "/admin/loggers/root", Some(&json!({}))), e);
}

#[test]
fn sink_offsets_and_restarting_only_failed_tasks() {
    let s = setup();
    let w = &s.worker;
    let input = s.dir.join("input.txt");
    append(&input, lines(1..=3));
    let topic = format!("sink-{}", w.port);
    let create = json!({"name": "src", "config": file_source(&input, &topic)});
    call_json(w, "POST", "/connectors", Some(&create), 201);
    let out = s.dir.join("out.txt");
    let sink = json!({
        "connector.class": "FileStreamSink",
        "topics": topic,
        "file": out.display().to_string(),
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
    });
    call_json(w, "PUT", "/connectors/fs/config", Some(&sink), 201);
    wait_on(w, "3 lines in the sink file", || line_count(&out) == 3);
    let at = |n: u64| json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": n}}]});
    wait_until(Duration::from_secs(30), "the sink's offset 3", || {
        parse(&w.get("/connectors/fs/offsets").1) == at(3)
    });
    let topics = call_json(w, "GET", "/connectors/fs/topics", None, 200);
    assert_eq!(topics, json!({"fs": {"topics": [topic]}}));

    // Stop, move the group back to offset 1, resume: records 2 and 3 again.
    call(w, "PUT", "/connectors/fs/stop", None);
    let altered = call_json(w, "PATCH", "/connectors/fs/offsets", Some(&at(1)), 200);
    let message = "The offsets for this connector have been altered successfully";
    assert_eq!(altered, json!({"message": message}));
    assert_eq!(
        call_json(w, "GET", "/connectors/fs/offsets", None, 200),
        at(1)
    );
    call(w, "PUT", "/connectors/fs/resume", None);
    wait_on(w, "5 lines in the sink file", || line_count(&out) == 5);
    let text = std::fs::read_to_string(&out).unwrap();
    let expected: Vec<String> = [lines(1..=3), lines(2..=3)].concat();
    assert_eq!(text.lines().collect::<Vec<_>>(), expected);

    // Stop, reset (the group is deleted), resume: everything again.
    call(w, "PUT", "/connectors/fs/stop", None);
    let reset = call_json(w, "DELETE", "/connectors/fs/offsets", None, 200);
    let message = "The offsets for this connector have been reset successfully";
    assert_eq!(reset, json!({"message": message}));
    // The group is gone (no offsets), or, on a broker that keeps the stopped task's
    // static member, rewound to where a consumer without offsets starts (the log start).
    let after = call_json(w, "GET", "/connectors/fs/offsets", None, 200);
    assert!(after == json!({"offsets": []}) || after == at(0), "{after}");
    call(w, "PUT", "/connectors/fs/resume", None);
    wait_on(w, "8 lines in the sink file", || line_count(&out) == 8);
    let bad_entry =
        json!({"offsets": [{"partition": {"kafka_topic": topic}, "offset": {"kafka_offset": 0}}]});
    call(w, "PUT", "/connectors/fs/stop", None);
    let (code, body) = call(w, "PATCH", "/connectors/fs/offsets", Some(&bad_entry));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("kafka_partition"), "{body}");

    // A sink whose converter cannot read the records fails; onlyFailed restarts just it.
    let mut failing = sink.clone();
    failing["file"] = json!(s.dir.join("never.txt").display().to_string());
    failing["value.converter"] = json!("org.apache.kafka.connect.json.JsonConverter");
    call_json(w, "PUT", "/connectors/bad/config", Some(&failing), 201);
    let mut status = Value::Null;
    wait_until(
        Duration::from_secs(60),
        "the bad sink's task FAILED",
        || {
            status = parse(&w.get("/connectors/bad/status").1);
            status["tasks"][0]["state"] == "FAILED"
        },
    );
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or("");
    assert!(
        trace.contains("errors.tolerance"),
        "the trace says what to do: {status}"
    );
    let path = "/connectors/bad/restart?includeTasks=true&onlyFailed=true";
    let plan = call_json(w, "POST", path, None, 202);
    let id = worker_id(w);
    let expected = json!({
        "name": "bad",
        "connector": {"state": "RUNNING", "worker_id": id},
        "tasks": [{"id": 0, "state": "RESTARTING", "worker_id": id}],
        "type": "sink",
    });
    assert_eq!(plan, expected);
}

#[test]
fn topic_tracking_settings_are_honoured() {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (extra, get, reset) in [
        (
            "topic.tracking.enable=false\n",
            error(403, "Topic tracking is disabled."),
            error(403, "Topic tracking is disabled."),
        ),
        (
            "topic.tracking.allow.reset=false\n",
            (200, json!({"x": {"topics": []}}).to_string()),
            error(403, "Topic tracking reset is disabled."),
        ),
    ] {
        let port = free_port();
        worker_properties(dir, broker.bootstrap(), port, extra);
        let mut w = Worker::start(dir, port, &[]);
        assert_eq!(w.get("/connectors/x/topics"), get, "{extra}");
        assert_eq!(
            call(&w, "PUT", "/connectors/x/topics/reset", None),
            reset,
            "{extra}"
        );
        assert!(w.terminate().success());
    }
}

#[test]
fn connector_files_carry_initial_state() {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    let worker = worker_properties(dir, broker.bootstrap(), port, "");
    let input = write(dir, "input.txt", "a\n");
    let config = file_source(&input, &format!("files-{port}"));
    let text = json!({"name": "f", "config": config, "initial_state": "STOPPED"}).to_string();
    let stopped = write(dir, "stopped.json", &text);
    let mut w = Worker::start(dir, port, &[stopped]);
    let status = call_json(&w, "GET", "/connectors/f/status", None, 200);
    assert_eq!(status, status_body(&w, "f", "STOPPED", &[]));
    assert!(w.terminate().success());

    let text = json!({"name": "f", "config": config, "initial_state": "ASLEEP"}).to_string();
    let bad = write(dir, "bad.json", &text);
    let (exit, stderr) = run_to_end(&[&worker, &bad]);
    assert!(!exit.success(), "{stderr}");
    assert!(
        stderr.contains("bad.json") && stderr.contains("ASLEEP"),
        "{stderr}"
    );
}
