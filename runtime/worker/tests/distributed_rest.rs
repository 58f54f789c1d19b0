//! The Kafka Connect REST API of a 3-worker cluster (`sluice distributed` processes on
//! loopback, a real broker): every call goes to a different worker than the one before,
//! followers forward writes to the leader, and every worker shows the result — create,
//! update, pause, resume, restart, stop, offsets, topics and delete.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[allow(unused_imports)] // common serves every test; this one uses part of it
mod common;

use std::time::Duration;

use common::cluster::{call, start_worker, topic_values};
use common::{wait_until, KafkaBroker, Worker};
use serde_json::{json, Value};

fn status(w: &Worker) -> Value {
    call(w, "GET", "/connectors/lines/status", None).1
}

/// Waits until every worker shows the connector and its tasks in `state`.
fn wait_state(workers: &[&Worker], state: &str, tasks: usize) {
    wait_until(
        Duration::from_secs(60),
        &format!("every worker to show lines {state} with {tasks} task(s)"),
        || {
            workers.iter().all(|w| {
                let s = status(w);
                s["connector"]["state"] == state
                    && s["tasks"]
                        .as_array()
                        .is_some_and(|t| t.len() == tasks && t.iter().all(|t| t["state"] == state))
            })
        },
    );
}

fn lines(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|v| serde_json::from_str::<String>(v).unwrap_or_default())
        .collect()
}

#[test]
fn every_call_works_through_any_worker_and_shows_on_all() {
    let broker = KafkaBroker::start();
    let bootstrap = broker.bootstrap().to_owned();
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let input = root.join("in.txt");
    std::fs::write(&input, "a\nb\n").unwrap();
    // noida-db now and then completes a rebalance only after rebalance.timeout.ms when
    // a worker joins while another rebalance completes; 5 s keeps such a round short.
    let w: Vec<Worker> = (1..=3)
        .map(|n| {
            start_worker(
                root,
                n,
                &bootstrap,
                "rest-test",
                "rebalance.timeout.ms=5000\n",
            )
        })
        .collect();
    let all: Vec<&Worker> = w.iter().collect();
    let config = json!({
        "connector.class": "FileStreamSource",
        "file": input.display().to_string(),
        "topic": "lines-a",
        "tasks.max": "1",
    });

    // Create through worker 1: 201 with Location, then 409 for the same name elsewhere.
    let (code, body) = call(
        &w[0],
        "POST",
        "/connectors",
        Some(&json!({"name": "lines", "config": config})),
    );
    assert_eq!(code, 201, "{body}\n{}", w[0].log_text());
    assert_eq!(body["name"], "lines");
    let (code, body) = call(
        &w[1],
        "POST",
        "/connectors",
        Some(&json!({"name": "lines", "config": config})),
    );
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["message"], "Connector lines already exists");
    // An invalid config: 400 naming the key, from a follower too.
    let (code, body) = call(
        &w[2],
        "PUT",
        "/connectors/bad/config",
        Some(&json!({"connector.class": "FileStreamSource", "tasks.max": "zero"})),
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("tasks.max"),
        "{body}"
    );
    wait_state(&all, "RUNNING", 1);
    wait_until(Duration::from_secs(60), "a, b on lines-a", || {
        lines(&topic_values(&bootstrap, "lines-a")) == ["a", "b"]
    });
    for x in &all {
        assert_eq!(call(x, "GET", "/connectors", None).1, json!(["lines"]));
        let info = call(x, "GET", "/connectors/lines", None).1;
        assert_eq!(info["tasks"], json!([{"connector": "lines", "task": 0}]));
        assert_eq!(info["type"], "source");
    }
    wait_until(
        Duration::from_secs(30),
        "lines-a among the active topics",
        || {
            all.iter().all(|x| {
                call(x, "GET", "/connectors/lines/topics", None).1
                    == json!({"lines": {"topics": ["lines-a"]}})
            })
        },
    );

    // Update through worker 3: every worker shows the new config; the task writes to
    // the new topic.
    let mut updated = config.clone();
    updated["topic"] = json!("lines-b");
    let (code, body) = call(&w[2], "PUT", "/connectors/lines/config", Some(&updated));
    assert_eq!(code, 200, "{body}");
    wait_until(
        Duration::from_secs(30),
        "the new config on every worker",
        || {
            all.iter()
                .all(|x| call(x, "GET", "/connectors/lines/config", None).1["topic"] == "lines-b")
        },
    );
    // PATCH through worker 2: null removes a key.
    let (code, body) = call(
        &w[1],
        "PATCH",
        "/connectors/lines/config",
        Some(&json!({"batch.size": "100", "tasks.max": null})),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["config"]["batch.size"], "100");
    assert!(body["config"].get("tasks.max").is_none(), "{body}");
    std::fs::write(&input, "a\nb\nc\n").unwrap();
    wait_until(Duration::from_secs(60), "c on lines-b", || {
        lines(&topic_values(&bootstrap, "lines-b")).contains(&"c".to_owned())
    });

    // Pause through worker 2, resume through worker 3.
    let (code, _) = call(&w[1], "PUT", "/connectors/lines/pause", None);
    assert_eq!(code, 202);
    wait_state(&all, "PAUSED", 1);
    let (code, _) = call(&w[2], "PUT", "/connectors/lines/resume", None);
    assert_eq!(code, 202);
    wait_state(&all, "RUNNING", 1);

    // Restarts: connector + tasks (KIP-745) through worker 1, one task through worker 2.
    let (code, body) = call(
        &w[0],
        "POST",
        "/connectors/lines/restart?includeTasks=true&onlyFailed=false",
        None,
    );
    assert_eq!(code, 202, "{body}");
    assert_eq!(body["connector"]["state"], "RESTARTING", "{body}");
    assert_eq!(body["tasks"][0]["state"], "RESTARTING", "{body}");
    wait_until(Duration::from_secs(30), "the task restart in a log", || {
        all.iter().any(|x| x.log_text().contains("task restarting"))
    });
    wait_state(&all, "RUNNING", 1);
    let (code, body) = call(&w[1], "POST", "/connectors/lines/tasks/0/restart", None);
    assert_eq!(code, 204, "{body}");
    let (code, _) = call(&w[2], "POST", "/connectors/lines/tasks/7/restart", None);
    assert_eq!(code, 404);
    let (code, _) = call(&w[2], "POST", "/connectors/lines/restart", None);
    assert_eq!(code, 204);
    wait_state(&all, "RUNNING", 1);

    // Offsets need STOPPED (KIP-875).
    let (code, body) = call(&w[0], "DELETE", "/connectors/lines/offsets", None);
    assert_eq!(code, 400, "{body}");
    let (code, _) = call(&w[0], "PUT", "/connectors/lines/stop", None);
    assert_eq!(code, 202);
    wait_until(
        Duration::from_secs(60),
        "STOPPED with no tasks everywhere",
        || {
            all.iter().all(|x| {
                let s = status(x);
                s["connector"]["state"] == "STOPPED" && s["tasks"] == json!([])
            })
        },
    );
    let partition = json!({"filename": input.display().to_string()});
    wait_until(Duration::from_secs(30), "the committed offset", || {
        call(&w[1], "GET", "/connectors/lines/offsets", None).1
            == json!({"offsets": [{"partition": partition, "offset": {"position": 6}}]})
    });
    let (code, body) = call(
        &w[2],
        "PATCH",
        "/connectors/lines/offsets",
        Some(&json!({"offsets": [{"partition": partition, "offset": {"position": 2}}]})),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["message"],
        "The offsets for this connector have been altered successfully"
    );
    let (code, _) = call(&w[0], "PUT", "/connectors/lines/resume", None);
    assert_eq!(code, 202);
    wait_state(&all, "RUNNING", 1);
    // Resumed from position 2: b and c again on lines-b.
    wait_until(
        Duration::from_secs(60),
        "b, c re-read after the offset change",
        || {
            let got = lines(&topic_values(&bootstrap, "lines-b"));
            got.iter().filter(|l| *l == "c").count() == 2
        },
    );

    // Delete through worker 3: gone everywhere, statuses too.
    let (code, _) = call(&w[2], "DELETE", "/connectors/lines", None);
    assert_eq!(code, 204);
    wait_until(
        Duration::from_secs(30),
        "lines gone on every worker",
        || {
            all.iter().all(|x| {
                call(x, "GET", "/connectors/lines", None).0 == 404
                    && call(x, "GET", "/connectors/lines/status", None).0 == 404
                    && call(x, "GET", "/connectors", None).1 == json!([])
            })
        },
    );
    let (code, _) = call(&w[0], "DELETE", "/connectors/lines", None);
    assert_eq!(code, 404);
}

#[test]
fn a_failed_task_restarts_by_itself_with_backoff() {
    let broker = KafkaBroker::start();
    let bootstrap = broker.bootstrap().to_owned();
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let w = start_worker(
        root,
        1,
        &bootstrap,
        "auto-restart",
        "task.auto.restart.backoff.initial.ms=200\ntask.auto.restart.backoff.max.ms=1000\n",
    );
    // A directory where the file should be: opening works, reading fails.
    let input = root.join("input");
    std::fs::create_dir(&input).unwrap();
    let config = json!({
        "connector.class": "FileStreamSource",
        "file": input.display().to_string(),
        "topic": "healed",
    });
    let (code, body) = call(
        &w,
        "POST",
        "/connectors",
        Some(&json!({"name": "healing", "config": config})),
    );
    assert_eq!(code, 201, "{body}");
    wait_until(Duration::from_secs(60), "the task FAILED", || {
        let s = call(&w, "GET", "/connectors/healing/status", None).1;
        s["tasks"][0]["state"] == "FAILED"
            && s["tasks"][0]["trace"]
                .as_str()
                .is_some_and(|t| t.contains("reading"))
    });
    wait_until(Duration::from_secs(30), "three automatic restarts", || {
        w.log_text()
            .matches("restarting the failed task after a backoff")
            .count()
            >= 3
    });
    let log = w.log_text();
    for wait in ["wait_ms=200", "wait_ms=400", "wait_ms=800"] {
        assert!(log.contains(wait), "no restart after {wait}:\n{log}");
    }
    // Fixed underneath: the next automatic restart runs, with no call to the API.
    std::fs::remove_dir(&input).unwrap();
    std::fs::write(&input, "healed\n").unwrap();
    wait_until(Duration::from_secs(30), "the task RUNNING again", || {
        call(&w, "GET", "/connectors/healing/status", None).1["tasks"][0]["state"] == "RUNNING"
    });
    wait_until(Duration::from_secs(30), "the line on the topic", || {
        lines(&topic_values(&bootstrap, "healed")) == ["healed"]
    });
}
