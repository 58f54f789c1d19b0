//! Avro compatibility through the HTTP API: registrations refused with 409 naming the
//! field, and `POST /compatibility/...` answers, for each level and resolution rule.

mod common;

use std::net::SocketAddr;

use common::{assert_error, avro, post, put};
use serde_json::{json, Value};
use sluice_schema_registry::TestRegistry;

fn record(fields: Value) -> Value {
    json!({"type": "record", "name": "User", "namespace": "example", "fields": fields})
}

fn v1() -> Value {
    record(json!([{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]))
}

/// Registers `old` under a fresh subject at `level`, then tests `new` against it.
fn verdict(addr: SocketAddr, subject: &str, level: &str, old: &Value, new: &Value) -> Value {
    let set = put(
        addr,
        &format!("/config/{subject}"),
        &json!({"compatibility": level}),
    );
    assert_eq!(set.status, 200, "{}", set.body);
    let registered = post(addr, &format!("/subjects/{subject}/versions"), &avro(old));
    assert_eq!(registered.status, 200, "{}", registered.body);
    let reply = post(
        addr,
        &format!("/compatibility/subjects/{subject}/versions/latest?verbose=true"),
        &avro(new),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn messages(verdict: &Value) -> String {
    verdict["messages"].to_string()
}

#[test]
fn adding_a_field_without_a_default_is_refused_under_backward_naming_the_field() {
    let registry = TestRegistry::start();
    let addr = registry.addr();
    assert_eq!(
        post(addr, "/subjects/users-value/versions", &avro(&v1())).json(),
        json!({"id": 1})
    );
    let with_email = record(
        json!([{"name": "id", "type": "long"}, {"name": "name", "type": "string"},
                                   {"name": "email", "type": "string"}]),
    );
    let refused = post(addr, "/subjects/users-value/versions", &avro(&with_email));
    assert_error(&refused, 409, 409);
    let message = refused.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("field 'email' was added without a default value"),
        "{message}"
    );
    assert!(
        message.contains("READER_FIELD_MISSING_DEFAULT_VALUE"),
        "{message}"
    );
    assert!(message.contains("{compatibility: 'BACKWARD'}"), "{message}");
    assert!(message.contains("{oldSchemaVersion: 1}"), "{message}");

    // With a default it is accepted as version 2.
    let with_default = record(
        json!([{"name": "id", "type": "long"}, {"name": "name", "type": "string"},
                                     {"name": "email", "type": ["null", "string"], "default": null}]),
    );
    let accepted = post(addr, "/subjects/users-value/versions", &avro(&with_default));
    assert_eq!((accepted.status, accepted.json()), (200, json!({"id": 2})));

    // Under NONE the same change is accepted.
    put(
        addr,
        "/config/users-value",
        &json!({"compatibility": "NONE"}),
    );
    let anything = post(addr, "/subjects/users-value/versions", &avro(&with_email));
    assert_eq!(anything.status, 200, "{}", anything.body);
}

#[test]
fn each_level_checks_its_direction() {
    let registry = TestRegistry::start();
    let addr = registry.addr();
    let added = record(
        json!([{"name": "id", "type": "long"}, {"name": "name", "type": "string"},
                              {"name": "age", "type": "int"}]),
    );
    let removed = record(json!([{"name": "id", "type": "long"}]));

    // Adding a field without default: breaks BACKWARD and FULL, fine for FORWARD.
    assert_eq!(
        verdict(addr, "a1", "BACKWARD", &v1(), &added)["is_compatible"],
        false
    );
    assert_eq!(
        verdict(addr, "a2", "FORWARD", &v1(), &added)["is_compatible"],
        true
    );
    assert_eq!(
        verdict(addr, "a3", "FULL", &v1(), &added)["is_compatible"],
        false
    );
    assert_eq!(
        verdict(addr, "a4", "NONE", &v1(), &added)["is_compatible"],
        true
    );

    // Removing a field without default: fine for BACKWARD, breaks FORWARD and FULL.
    assert_eq!(
        verdict(addr, "r1", "BACKWARD", &v1(), &removed)["is_compatible"],
        true
    );
    let forward = verdict(addr, "r2", "FORWARD", &v1(), &removed);
    assert_eq!(forward["is_compatible"], false);
    assert!(
        messages(&forward).contains("field 'name' was removed"),
        "{forward}"
    );
    assert_eq!(
        verdict(addr, "r3", "FULL", &v1(), &removed)["is_compatible"],
        false
    );
}

#[test]
fn transitive_levels_check_every_version() {
    let registry = TestRegistry::start();
    let addr = registry.addr();
    put(addr, "/config/t", &json!({"compatibility": "BACKWARD"}));
    let with_a =
        record(json!([{"name": "id", "type": "long"}, {"name": "a", "type": "int", "default": 0}]));
    let with_b = record(
        json!([{"name": "id", "type": "long"}, {"name": "a", "type": "int", "default": 0},
                               {"name": "b", "type": "int", "default": 0}]),
    );
    let without_default = record(
        json!([{"name": "id", "type": "long"}, {"name": "a", "type": "int"},
                                        {"name": "b", "type": "int", "default": 0}]),
    );
    post(
        addr,
        "/subjects/t/versions",
        &avro(&record(json!([{"name": "id", "type": "long"}]))),
    );
    post(addr, "/subjects/t/versions", &avro(&with_a));
    post(addr, "/subjects/t/versions", &avro(&with_b));
    // Against the latest only: 'a' exists in version 3, so the missing default is fine.
    let latest = post(
        addr,
        "/compatibility/subjects/t/versions",
        &avro(&without_default),
    );
    assert_eq!(latest.json(), json!({"is_compatible": true}));
    put(
        addr,
        "/config/t",
        &json!({"compatibility": "BACKWARD_TRANSITIVE"}),
    );
    let all = post(
        addr,
        "/compatibility/subjects/t/versions?verbose=true",
        &avro(&without_default),
    );
    assert_eq!(all.json()["is_compatible"], false);
    assert!(
        messages(&all.json()).contains("field 'a' was added"),
        "{}",
        all.body
    );
    assert!(
        messages(&all.json()).contains("{oldSchemaVersion: 1}"),
        "{}",
        all.body
    );
    // Against a named version.
    let v2 = post(
        addr,
        "/compatibility/subjects/t/versions/2",
        &avro(&without_default),
    );
    assert_eq!(v2.json(), json!({"is_compatible": true}));
    assert_error(
        &post(
            addr,
            "/compatibility/subjects/t/versions/9",
            &avro(&without_default),
        ),
        404,
        40402,
    );
    assert_error(
        &post(
            addr,
            "/compatibility/subjects/none/versions/1",
            &avro(&without_default),
        ),
        404,
        40401,
    );
    // A subject without versions accepts anything against latest.
    let fresh = post(
        addr,
        "/compatibility/subjects/none/versions/latest",
        &avro(&v1()),
    );
    assert_eq!(fresh.json(), json!({"is_compatible": true}));
}

fn field(t: Value) -> Value {
    record(json!([{"name": "f", "type": t}]))
}

#[test]
fn avro_resolution_rules() {
    let registry = TestRegistry::start();
    let addr = registry.addr();
    let enum_ab = json!({"type": "enum", "name": "E", "symbols": ["A", "B"]});
    let enum_abc = json!({"type": "enum", "name": "E", "symbols": ["A", "B", "C"]});
    let enum_ab_default =
        json!({"type": "enum", "name": "E", "symbols": ["A", "B"], "default": "A"});
    let fixed4 = json!({"type": "fixed", "name": "F", "size": 4});
    let fixed8 = json!({"type": "fixed", "name": "F", "size": 8});
    // (old, new, compatible under BACKWARD, text in the messages)
    let cases = [
        (field(json!("int")), field(json!("long")), true, ""),
        (field(json!("int")), field(json!("double")), true, ""),
        (field(json!("long")), field(json!("float")), true, ""),
        (field(json!("float")), field(json!("double")), true, ""),
        (
            field(json!("long")),
            field(json!("int")),
            false,
            "is 'int' in the new schema and 'long' in the old",
        ),
        (
            field(json!("double")),
            field(json!("float")),
            false,
            "TYPE_MISMATCH",
        ),
        (field(json!("string")), field(json!("bytes")), true, ""),
        (field(json!("bytes")), field(json!("string")), true, ""),
        (
            field(json!("string")),
            field(json!("int")),
            false,
            "field 'f'",
        ),
        (
            field(json!("string")),
            field(json!(["null", "string"])),
            true,
            "",
        ),
        (
            field(json!(["null", "string"])),
            field(json!("string")),
            false,
            "branch 0 ('null')",
        ),
        (
            field(json!(["null", "int"])),
            field(json!(["null", "long"])),
            true,
            "",
        ),
        (
            field(json!(["null", "string", "int"])),
            field(json!(["null", "string"])),
            false,
            "MISSING_UNION_BRANCH",
        ),
        (
            field(json!({"type": "array", "items": "int"})),
            field(json!({"type": "array", "items": "long"})),
            true,
            "",
        ),
        (
            field(json!({"type": "map", "values": "long"})),
            field(json!({"type": "map", "values": "int"})),
            false,
            "/values",
        ),
        (field(enum_ab.clone()), field(enum_abc.clone()), true, ""),
        (
            field(enum_abc.clone()),
            field(enum_ab.clone()),
            false,
            "missing enum symbols '[C]'",
        ),
        (field(enum_abc), field(enum_ab_default), true, ""),
        (
            field(fixed4.clone()),
            field(fixed8),
            false,
            "FIXED_SIZE_MISMATCH",
        ),
        (
            field(fixed4.clone()),
            field(json!({"type": "fixed", "name": "G", "size": 4})),
            false,
            "NAME_MISMATCH",
        ),
        (
            field(fixed4),
            field(json!({"type": "fixed", "name": "G", "aliases": ["F"], "size": 4})),
            true,
            "",
        ),
        // Namespaces do not matter to name matching, as in Avro.
        (
            v1(),
            json!({"type": "record", "name": "User", "namespace": "other",
                      "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]}),
            true,
            "",
        ),
        // A renamed field is matched through its alias.
        (
            v1(),
            record(
                json!([{"name": "id", "type": "long"}, {"name": "full_name", "aliases": ["name"], "type": "string"}]),
            ),
            true,
            "",
        ),
        (
            field(json!("string")),
            json!("string"),
            false,
            "TYPE_MISMATCH",
        ),
    ];
    for (i, (old, new, compatible, text)) in cases.into_iter().enumerate() {
        let result = verdict(addr, &format!("case{i}"), "BACKWARD", &old, &new);
        assert_eq!(
            result["is_compatible"], compatible,
            "case {i}: {old} -> {new}: {result}"
        );
        assert!(
            messages(&result).contains(text),
            "case {i}: expected '{text}' in {result}"
        );
    }
}

#[test]
fn recursive_records_are_compared_without_looping() {
    let registry = TestRegistry::start();
    let addr = registry.addr();
    let node = |extra: Value| {
        let mut fields = vec![
            json!({"name": "value", "type": "int"}),
            json!({"name": "next", "type": ["null", "Node"], "default": null}),
        ];
        if !extra.is_null() {
            fields.push(extra);
        }
        json!({"type": "record", "name": "Node", "fields": fields})
    };
    let fine = verdict(
        addr,
        "n1",
        "FULL",
        &node(Value::Null),
        &node(json!({"name": "w", "type": "int", "default": 1})),
    );
    assert_eq!(fine["is_compatible"], true, "{fine}");
    let broken = verdict(
        addr,
        "n2",
        "BACKWARD",
        &node(Value::Null),
        &node(json!({"name": "w", "type": "int"})),
    );
    assert_eq!(broken["is_compatible"], false, "{broken}");
    assert!(
        messages(&broken).contains("field 'w' was added"),
        "{broken}"
    );
}

#[test]
fn protobuf_and_json_schemas_are_not_checked() {
    let registry = TestRegistry::start();
    let addr = registry.addr();
    let first = post(
        addr,
        "/subjects/p/versions",
        &json!({"schemaType": "PROTOBUF", "schema": "syntax = \"proto3\"; message A { int32 x = 1; }"}),
    );
    assert_eq!(first.status, 200);
    let second = post(
        addr,
        "/subjects/p/versions",
        &json!({"schemaType": "PROTOBUF", "schema": "syntax = \"proto3\"; message A { string x = 1; }"}),
    );
    assert_eq!((second.status, second.json()), (200, json!({"id": 2})));
}
