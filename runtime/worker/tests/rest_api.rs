//! The Kafka Connect REST API of one standalone worker running a datagen source and a
//! file sink against a real broker: the same paths, JSON shapes, status codes and error
//! bodies a Kafka Connect user (or tool) relies on.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const SOURCE_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
const SINK_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSinkConnector";

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// GET `path`, expecting 200 and JSON.
fn get_json(w: &Worker, path: &str) -> Value {
    let (status, body) = w.get(path);
    assert_eq!(status, 200, "GET {path}: {body}");
    parse(&body)
}

/// Kafka Connect's error body.
fn error(code: u16, message: &str) -> (u16, String) {
    let body = json!({"error_code": code, "message": message});
    (code, body.to_string())
}

/// The element of a JSON array with `value` at `pointer` (e.g. `/value/name`).
fn find<'a>(array: &'a Value, pointer: &str, value: &str) -> &'a Value {
    let items = array.as_array().unwrap();
    let mut found = items
        .iter()
        .filter(|v| v.pointer(pointer) == Some(&json!(value)));
    found
        .next()
        .unwrap_or_else(|| panic!("no {pointer}={value} in {array}"))
}

/// The strings of a JSON array, or the `field` of each of its objects.
fn strings<'a>(array: &'a Value, field: Option<&str>) -> Vec<&'a str> {
    let text = |v: &'a Value| field.map_or(v, |f| &v[f]).as_str().unwrap();
    array.as_array().unwrap().iter().map(text).collect()
}

/// Asserts every `"<key>":` is in `object`, in this order (checked on the raw text,
/// since clients and docs show Kafka Connect's order).
fn in_order(object: &str, keys: &[&str]) {
    let at = |k: &&str| object.find(&format!("\"{k}\":")).unwrap_or(usize::MAX);
    let pos: Vec<usize> = keys.iter().map(at).collect();
    let ok = pos.windows(2).all(|p| p[0] < p[1]) && !pos.contains(&usize::MAX);
    assert!(ok, "{keys:?} in this order: {object}");
}

fn contains_all(text: &str, parts: &[&str]) {
    for p in parts {
        assert!(text.contains(p), "{p:?} missing from: {text}");
    }
}

/// The whole raw response (status line and headers included) of a POST.
fn post_raw(port: u16, path: &str, body: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let len = body.len();
    write!(s, "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n{body}").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Waits until the connector's task 0 runs, then checks the whole status body.
fn assert_running(w: &Worker, name: &str, kind: &str) {
    let id = format!("127.0.0.1:{}", w.port);
    let mut last = String::new();
    wait_until(Duration::from_secs(60), &format!("{name} RUNNING"), || {
        let (status, body) = w.get(&format!("/connectors/{name}/status"));
        last = body;
        status == 200 && parse(&last)["tasks"][0]["state"] == "RUNNING"
    });
    let expected = json!({
        "name": name,
        "connector": {"state": "RUNNING", "worker_id": id},
        "tasks": [{"id": 0, "state": "RUNNING", "worker_id": id}],
        "type": kind,
    });
    assert_eq!(parse(&last), expected, "{last}");
    in_order(&last, &["name", "connector", "tasks", "type"]);
}

#[test]
fn rest_api_matches_kafka_connect() {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let topic = format!("dg{port}.inventory.customers");
    let out = dir.join("customers.txt");
    let source_text =
        format!("name=gen\nconnector.class=datagen\ntopic.prefix=dg{port}\nrate=100\n");
    let source = write(dir, "datagen.properties", &source_text);
    let sink_config = json!({
        "connector.class": "FileStreamSink",
        "tasks.max": "1",
        "file": out.display().to_string(),
        "topics": topic,
    });
    let sink_text = json!({"name": "customers-file", "config": sink_config}).to_string();
    let sink = write(dir, "sink.json", &sink_text);
    let mut w = Worker::start(dir, port, &[source, sink]);

    // GET /: version, commit and the Kafka cluster id.
    let (status, root) = w.get("/");
    assert_eq!(status, 200, "{root}");
    let v = parse(&root);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"), "{root}");
    assert!(v["commit"].is_string(), "{root}");
    let cluster = v["kafka_cluster_id"].as_str().unwrap_or("");
    assert!(!cluster.is_empty(), "the cluster id: {root}");
    in_order(&root, &["version", "commit", "kafka_cluster_id"]);

    assert_running(&w, "gen", "source");
    assert_running(&w, "customers-file", "sink");
    wait_until(Duration::from_secs(60), "records in the sink file", || {
        std::fs::metadata(&out).is_ok_and(|m| m.len() > 0)
    });

    // GET /connectors and its expansions.
    let names = json!(["customers-file", "gen"]);
    assert_eq!(get_json(&w, "/connectors"), names);
    let status = get_json(&w, "/connectors?expand=status");
    let info = get_json(&w, "/connectors?expand=info");
    let both = get_json(&w, "/connectors?expand=status&expand=info");
    for name in ["gen", "customers-file"] {
        let (s, i) = (&status[name]["status"], &info[name]["info"]);
        assert_eq!(s, &get_json(&w, &format!("/connectors/{name}/status")));
        assert_eq!(i, &get_json(&w, &format!("/connectors/{name}")));
        assert_eq!(both[name], json!({"status": s, "info": i}));
        assert_eq!(status[name].as_object().unwrap().len(), 1, "{status}");
        assert_eq!(info[name].as_object().unwrap().len(), 1, "{info}");
    }

    // GET /connectors/{n}: name, config (with the name), tasks, type.
    let mut expected_sink = sink_config.clone();
    expected_sink["name"] = json!("customers-file");
    let (code, body) = w.get("/connectors/customers-file");
    assert_eq!(code, 200, "{body}");
    let expected = json!({
        "name": "customers-file",
        "config": expected_sink,
        "tasks": [{"connector": "customers-file", "task": 0}],
        "type": "sink",
    });
    assert_eq!(parse(&body), expected);
    in_order(&body, &["name", "config", "tasks", "type"]);
    assert_eq!(info["customers-file"]["info"], expected);

    // GET /connectors/{n}/config: the file's config plus the name; /tasks.
    let config = get_json(&w, "/connectors/customers-file/config");
    assert_eq!(config, expected_sink);
    let prefix = format!("dg{port}");
    let gen_config =
        json!({"name": "gen", "connector.class": "datagen", "topic.prefix": prefix, "rate": "100"});
    assert_eq!(get_json(&w, "/connectors/gen/config"), gen_config);
    let tasks = get_json(&w, "/connectors/gen/tasks");
    let expected = json!([{"id": {"connector": "gen", "task": 0}, "config": gen_config}]);
    assert_eq!(tasks, expected);

    // Unknown connectors.
    let not_found = error(404, "Connector nope not found");
    for path in [
        "/connectors/nope",
        "/connectors/nope/config",
        "/connectors/nope/tasks",
    ] {
        assert_eq!(w.get(path), not_found, "GET {path}");
    }
    assert_eq!(w.request("DELETE", "/connectors/nope", None), not_found);
    let no_status = error(404, "No status found for connector nope");
    assert_eq!(w.get("/connectors/nope/status"), no_status);
    assert_eq!(w.get("/no/such/path"), error(404, "HTTP 404 Not Found"));

    plugins(&w);
    validate(&w);
    create_and_delete(&w, &topic, dir);

    let exit = w.terminate();
    assert!(exit.success(), "SIGTERM exits 0: {exit}\n{}", w.log_text());
}

fn plugins(w: &Worker) {
    let list = get_json(w, "/connector-plugins");
    assert_eq!(find(&list, "/class", SOURCE_CLASS)["type"], "source");
    assert_eq!(find(&list, "/class", SINK_CLASS)["type"], "sink");
    for kind in strings(&list, Some("type")) {
        assert!(kind == "source" || kind == "sink", "connectors: {list}");
    }
    for version in strings(&list, Some("version")) {
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
    }
    let (_, raw) = w.get("/connector-plugins");
    in_order(&raw, &["class", "type", "version"]);

    let all = get_json(w, "/connector-plugins?connectorsOnly=false");
    for (class, kind) in [
        ("json.JsonConverter", "converter"),
        ("storage.StringConverter", "converter"),
        ("converters.ByteArrayConverter", "converter"),
        ("storage.SimpleHeaderConverter", "header_converter"),
        ("file.FileStreamSinkConnector", "sink"),
    ] {
        let class = format!("org.apache.kafka.connect.{class}");
        assert_eq!(find(&all, "/class", &class)["type"], kind, "{all}");
    }

    // GET /connector-plugins/{p}/config: a bare array of ConfigKeyInfo, plugin keys first.
    let (code, raw) = w.get("/connector-plugins/FileStreamSource/config");
    assert_eq!(code, 200, "{raw}");
    let keys = parse(&raw);
    let names = strings(&keys, Some("name"));
    assert_eq!(names[..3], ["file", "topic", "batch.size"], "{raw}");
    for framework in ["name", "connector.class", "tasks.max", "errors.tolerance"] {
        assert!(names.contains(&framework), "{framework} in {names:?}");
    }
    let topic = find(&keys, "/name", "topic");
    let expected = json!({
        "name": "topic", "type": "STRING", "required": true, "default_value": null,
        "importance": "HIGH", "documentation": "The topic to publish data to", "group": null,
        "width": "NONE", "display_name": "topic", "dependents": [], "order": -1,
    });
    assert_eq!(topic, &expected);
    let tm = find(&keys, "/name", "tasks.max");
    let summary = json!([tm["type"], tm["default_value"], tm["group"]]);
    assert_eq!(summary, json!(["INT", "1", "Common"]));
    let order = "name,type,required,default_value,importance,documentation,group,width,display_name,dependents,order";
    let order: Vec<&str> = order.split(',').collect();
    let objects: Vec<&str> = raw.trim_matches(['[', ']']).split("},{").collect();
    assert_eq!(objects.len(), names.len(), "{raw}");
    for object in objects {
        let object = object.trim_matches(['{', '}']);
        in_order(object, &order);
        let last = object.rsplit(',').next().unwrap();
        assert!(last.starts_with(r#""order":"#), "order is last: {object}");
    }
    let json_keys = get_json(w, "/connector-plugins/JsonConverter/config");
    let mut names = strings(&json_keys, Some("name"));
    names.sort_unstable();
    let own =
        "converter.type,decimal.format,replace.null.with.default,schemas.cache.size,schemas.enable";
    assert_eq!(names.join(","), own, "a converter lists only its own keys");
    let unknown = error(404, "Unknown plugin Nope.");
    assert_eq!(w.get("/connector-plugins/Nope/config"), unknown);
}

fn validate(w: &Worker) {
    let path = "/connector-plugins/FileStreamSource/config/validate";
    let bad = r#"{"connector.class":"FileStreamSource","name":"v","file":"/tmp/in.txt","batch.size":"0","topc":"t"}"#;
    let (code, body) = w.request("PUT", path, Some(bad));
    assert_eq!(code, 200, "{body}");
    let head = r#"{"name":"FileStreamSourceConnector","error_count":3,"groups":["Common","#;
    assert!(body.starts_with(head), "{body}");
    let infos = parse(&body);
    let errors_of = |key| {
        let config = find(&infos["configs"], "/value/name", key);
        strings(&config["value"]["errors"], None).join(" | ")
    };
    // Each message names the key, the value and what is allowed.
    for (key, part) in [
        ("batch.size", "Invalid value 0 for configuration batch.size"),
        ("batch.size", "at least 1"),
        ("topic", "Missing required configuration \"topic\""),
        ("topic", "non-empty"),
        ("topc", "Unknown configuration \"topc\" (value \"t\")"),
        ("topc", "did you mean \"topic\"?"),
    ] {
        contains_all(&errors_of(key), &[part]);
    }
    assert_eq!(errors_of("file"), "", "{body}");
    assert_eq!(infos["configs"][0]["definition"]["name"], "file", "{body}");
    in_order(&body, &["definition", "value"]);
    let value = &body[body.find(r#""value":{"name":"file""#).unwrap() + 8..];
    let value = &value[..value.find('}').unwrap()];
    let fields = ["name", "value", "recommended_values", "errors", "visible"];
    in_order(value, &fields);

    let good = format!(
        r#"{{"connector.class":"{SOURCE_CLASS}","name":"v","file":"/tmp/in.txt","topic":"t","batch.size":10}}"#
    );
    let (code, body) = w.request("PUT", path, Some(&good));
    assert_eq!(code, 200, "{body}");
    assert_eq!(parse(&body)["error_count"], 0, "{body}");
    assert_eq!(parse(&body)["configs"][2]["value"]["value"], "10", "{body}");

    let sink = r#"{"connector.class":"FileStreamSink","topics":"t"}"#;
    let (code, body) = w.request("PUT", path, Some(sink));
    assert_eq!(code, 400, "a sink config validated as a source: {body}");
}

fn create_and_delete(w: &Worker, topic: &str, dir: &std::path::Path) {
    let file = dir.join("created.txt").display().to_string();
    let config = json!({"connector.class": SINK_CLASS, "file": file, "topics": topic});
    let body = json!({"name": "created", "config": config}).to_string();
    let raw = post_raw(w.port, "/connectors", &body);
    let (head, created) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 201 "), "{raw}");
    let head = head.to_ascii_lowercase();
    let location = "\r\nlocation: /connectors/created\r\n";
    assert!(head.contains(location), "{head}");
    let mut with_name = config.clone();
    with_name["name"] = json!("created");
    let expected = json!({
        "name": "created",
        "config": with_name,
        "tasks": [{"connector": "created", "task": 0}],
        "type": "sink",
    });
    assert_eq!(parse(created), expected);
    assert_running(w, "created", "sink");
    let all = json!(["created", "customers-file", "gen"]);
    assert_eq!(get_json(w, "/connectors"), all);

    let again = w.request("POST", "/connectors", Some(&body));
    assert_eq!(again, error(409, "Connector created already exists"));

    let invalid = r#"{"name":"broken","config":{"connector.class":"FileStreamSink","topics":"t","tasks.max":"0"}}"#;
    let (code, msg) = w.request("POST", "/connectors", Some(invalid));
    assert_eq!(code, 400, "{msg}");
    let msg = parse(&msg);
    assert_eq!(msg["error_code"], 400);
    let text = msg["message"].as_str().unwrap();
    let head = "Connector configuration is invalid and contains the following 1 error(s):\n";
    assert!(text.starts_with(head), "{text}");
    contains_all(text, &["Invalid value 0 for configuration tasks.max"]);
    assert!(text.ends_with("`/connector-plugins/{connectorType}/config/validate`"));
    assert_eq!(w.get("/connectors/broken").0, 404, "nothing was created");
    let no_name = w.request("POST", "/connectors", Some(r#"{"config":{}}"#));
    assert_eq!(no_name.0, 400, "{no_name:?}");

    let deleted = w.request("DELETE", "/connectors/created", None);
    assert_eq!(deleted, (204, String::new()));
    let gone = error(404, "Connector created not found");
    assert_eq!(w.get("/connectors/created"), gone);
    assert_eq!(w.get("/connectors/created/status").0, 404);
    assert_eq!(get_json(w, "/connectors"), json!(["customers-file", "gen"]));
}
