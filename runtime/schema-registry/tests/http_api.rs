//! The registry's HTTP API against an in-memory store: each endpoint's status, content
//! type and body, as Confluent's Schema Registry answers them.

mod common;

use common::{assert_error, avro, delete, get, post, put, request};
use serde_json::{json, Value};
use sluice_schema_registry::TestRegistry;

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

fn user_v1() -> Value {
    json!({"type": "record", "name": "User", "namespace": "example",
           "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]})
}

fn user_v2() -> Value {
    json!({"type": "record", "name": "User", "namespace": "example",
           "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"},
                      {"name": "email", "type": ["null", "string"], "default": null}]})
}

#[test]
fn root_and_schema_types() {
    let registry = TestRegistry::start();
    let root = get(registry.addr(), "/");
    assert_eq!(root.status, 200);
    assert_eq!(root.content_type, CONTENT_TYPE);
    assert_eq!(root.json(), json!({}));
    let types = get(registry.addr(), "/schemas/types");
    assert_eq!(types.status, 200);
    assert_eq!(types.json(), json!(["JSON", "PROTOBUF", "AVRO"]));
    let unknown = get(registry.addr(), "/no/such/path");
    assert_error(&unknown, 404, 404);
}

#[test]
fn registering_hands_out_ids_and_versions_like_confluent() {
    let registry = TestRegistry::start();
    let addr = registry.addr();
    let first = post(addr, "/subjects/users-value/versions", &avro(&user_v1()));
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.content_type, CONTENT_TYPE);
    assert_eq!(first.json(), json!({"id": 1}));

    // The same schema again, even formatted differently: the same id, no new version.
    let pretty = serde_json::to_string_pretty(&user_v1()).expect("json");
    let again = post(
        addr,
        "/subjects/users-value/versions",
        &json!({"schema": pretty}),
    );
    assert_eq!(again.json(), json!({"id": 1}));
    assert_eq!(
        get(addr, "/subjects/users-value/versions").json(),
        json!([1])
    );

    // The same schema under another subject shares the global id.
    let other = post(addr, "/subjects/admins-value/versions", &avro(&user_v1()));
    assert_eq!(other.json(), json!({"id": 1}));

    // A new schema: a new id and version 2.
    let second = post(addr, "/subjects/users-value/versions", &avro(&user_v2()));
    assert_eq!(second.json(), json!({"id": 2}));
    assert_eq!(
        get(addr, "/subjects/users-value/versions").json(),
        json!([1, 2])
    );
    assert_eq!(
        get(addr, "/subjects").json(),
        json!(["admins-value", "users-value"])
    );

    let v1_text = serde_json::to_string(&user_v1()).expect("json");
    let latest = get(addr, "/subjects/users-value/versions/latest");
    assert_eq!(latest.status, 200);
    assert_eq!(
        latest.json(),
        json!({"subject": "users-value", "version": 2, "id": 2,
               "schema": serde_json::to_string(&user_v2()).expect("json")})
    );
    assert_eq!(
        get(addr, "/subjects/users-value/versions/1").json(),
        json!({"subject": "users-value", "version": 1, "id": 1, "schema": v1_text})
    );
    assert_eq!(
        get(addr, "/subjects/users-value/versions/-1").json()["version"],
        2
    );
    let raw = get(addr, "/subjects/users-value/versions/1/schema");
    assert_eq!(raw.status, 200);
    assert_eq!(raw.json(), user_v1());

    assert_eq!(
        get(addr, "/schemas/ids/1").json(),
        json!({"schema": v1_text})
    );
    assert_eq!(get(addr, "/schemas/ids/1/schema").json(), user_v1());
    assert_eq!(
        get(addr, "/schemas/ids/1/versions").json(),
        json!([{"subject": "admins-value", "version": 1},
               {"subject": "users-value", "version": 1}])
    );
    assert_eq!(
        get(addr, "/schemas/ids/1/subjects").json(),
        json!(["admins-value", "users-value"])
    );
    assert_eq!(
        get(addr, "/subjects?subjectPrefix=users").json(),
        json!(["users-value"])
    );
    assert_eq!(
        get(addr, "/subjects?offset=1&limit=1").json(),
        json!(["users-value"])
    );
    assert_eq!(
        get(addr, "/subjects/users-value/versions?offset=0&limit=-1").json(),
        json!([1, 2])
    );
    assert_eq!(
        get(addr, "/subjects?offset=1&limit=1").json(),
        json!(["users-value"])
    );
    assert_eq!(
        get(addr, "/subjects/users-value/versions?offset=0&limit=-1").json(),
        json!([1, 2])
    );
}

#[test]
fn lookups_find_the_version_holding_a_schema() {
    let registry = TestRegistry::start();
    let addr = registry.addr();
    post(addr, "/subjects/users-value/versions", &avro(&user_v1()));
    post(addr, "/subjects/users-value/versions", &avro(&user_v2()));
    let found = post(addr, "/subjects/users-value", &avro(&user_v1()));
    assert_eq!(found.status, 200);
    assert_eq!(
        found.json(),
        json!({"subject": "users-value", "version": 1, "id": 1,
               "schema": serde_json::to_string(&user_v1()).expect("json")})
    );
    let missing = post(addr, "/subjects/users-value", &avro(&json!("string")));
    assert_error(&missing, 404, 40403);
    let no_subject = post(addr, "/subjects/nobody", &avro(&user_v1()));
    assert_error(&no_subject, 404, 40401);
}

#[test]
fn errors_carry_confluent_codes() {
    let registry = TestRegistry::start();
    let addr = registry.addr();
    post(addr, "/subjects/s/versions", &avro(&json!("string")));
    assert_error(&get(addr, "/subjects/nobody/versions"), 404, 40401);
    assert_error(&get(addr, "/subjects/nobody/versions/1"), 404, 40401);
    assert_error(&get(addr, "/subjects/s/versions/7"), 404, 40402);
    assert_error(&get(addr, "/schemas/ids/99"), 404, 40403);
    assert_error(&get(addr, "/schemas/ids/99/schema"), 404, 40403);
    assert_error(&get(addr, "/subjects/s/versions/0"), 422, 42202);
    assert_error(&get(addr, "/subjects/s/versions/one"), 422, 42202);

    let invalid = post(
        addr,
        "/subjects/s/versions",
        &json!({"schema": r#"{"type": "record", "name": "R", "fields": [{"name": "a", "type": "Nope"}]}"#}),
    );
    assert_error(&invalid, 422, 42201);
    assert!(
        invalid.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown type 'Nope'")),
        "{}",
        invalid.body
    );
    assert_error(
        &post(
            addr,
            "/subjects/s/versions",
            &json!({"schema": "{not json"}),
        ),
        422,
        42201,
    );
    assert_error(
        &post(
            addr,
            "/subjects/s/versions",
            &json!({"schema": "\"string\"", "schemaType": "XML"}),
        ),
        422,
        42201,
    );
    let no_body = request(addr, "POST", "/subjects/s/versions", Some("[]"));
    assert_error(&no_body, 422, 422);
    assert_error(
        &put(addr, "/config", &json!({"compatibility": "SIDEWAYS"})),
        422,
        42203,
    );
    let dangling = post(
        addr,
        "/subjects/t/versions",
        &json!({"schema": "\"string\"", "references": [{"name": "x", "subject": "gone", "version": 1}]}),
    );
    assert_error(&dangling, 422, 42201);
}

#[test]
fn deletes_are_soft_first_then_permanent() {
    let registry = TestRegistry::start();
    let addr = registry.addr();
    put(addr, "/config/s", &json!({"compatibility": "NONE"}));
    post(addr, "/subjects/s/versions", &avro(&json!("string")));
    post(addr, "/subjects/s/versions", &avro(&json!("int")));
    post(addr, "/subjects/s/versions", &avro(&json!("long")));

    assert_error(
        &delete(addr, "/subjects/s/versions/1?permanent=true"),
        404,
        40407,
    );
    let soft = delete(addr, "/subjects/s/versions/1");
    assert_eq!((soft.status, soft.json()), (200, json!(1)));
    assert_eq!(get(addr, "/subjects/s/versions").json(), json!([2, 3]));
    assert_eq!(
        get(addr, "/subjects/s/versions?deleted=true").json(),
        json!([1, 2, 3])
    );
    assert_error(&get(addr, "/subjects/s/versions/1"), 404, 40402);
    assert_eq!(
        get(addr, "/subjects/s/versions/1?deleted=true").json()["id"],
        1
    );
    // The id still resolves: readers of old records need it.
    assert_eq!(get(addr, "/schemas/ids/1").status, 200);
    assert_error(&delete(addr, "/subjects/s/versions/1"), 404, 40406);
    let permanent = delete(addr, "/subjects/s/versions/1?permanent=true");
    assert_eq!((permanent.status, permanent.json()), (200, json!(1)));
    assert_eq!(
        get(addr, "/subjects/s/versions?deleted=true").json(),
        json!([2, 3])
    );

    assert_error(&delete(addr, "/subjects/s?permanent=true"), 404, 40405);
    let subject = delete(addr, "/subjects/s");
    assert_eq!((subject.status, subject.json()), (200, json!([2, 3])));
    assert_error(&get(addr, "/subjects/s/versions"), 404, 40401);
    assert_eq!(get(addr, "/subjects").json(), json!([]));
    assert_eq!(get(addr, "/subjects?deleted=true").json(), json!(["s"]));
    assert_eq!(
        get(addr, "/subjects?deleted_only=true").json(),
        json!(["s"])
    );
    assert_eq!(
        get(addr, "/subjects?deleted_only=true").json(),
        json!(["s"])
    );
    assert_error(&delete(addr, "/subjects/s"), 404, 40404);
    let gone = delete(addr, "/subjects/s?permanent=true");
    assert_eq!((gone.status, gone.json()), (200, json!([2, 3])));
    assert_eq!(get(addr, "/subjects?deleted=true").json(), json!([]));
    assert_error(&delete(addr, "/subjects/s"), 404, 40401);

    // Re-registering after a soft delete makes a new version; numbers are not reused.
    post(addr, "/subjects/u/versions", &avro(&json!("string")));
    delete(addr, "/subjects/u");
    let again = post(addr, "/subjects/u/versions", &avro(&json!("string")));
    assert_eq!(again.json(), json!({"id": 1}));
    assert_eq!(get(addr, "/subjects/u/versions").json(), json!([2]));
}

#[test]
fn config_global_and_per_subject() {
    let registry = TestRegistry::start();
    let addr = registry.addr();
    assert_eq!(
        get(addr, "/config").json(),
        json!({"compatibilityLevel": "BACKWARD"})
    );
    let set = put(addr, "/config", &json!({"compatibility": "full"}));
    assert_eq!(
        (set.status, set.json()),
        (200, json!({"compatibility": "FULL"}))
    );
    assert_eq!(
        get(addr, "/config").json(),
        json!({"compatibilityLevel": "FULL"})
    );

    assert_error(&get(addr, "/config/orders-value"), 404, 40408);
    assert_eq!(
        get(addr, "/config/orders-value?defaultToGlobal=true").json(),
        json!({"compatibilityLevel": "FULL"})
    );
    let subject = put(
        addr,
        "/config/orders-value",
        &json!({"compatibility": "FORWARD_TRANSITIVE"}),
    );
    assert_eq!(
        subject.json(),
        json!({"compatibility": "FORWARD_TRANSITIVE"})
    );
    assert_eq!(
        get(addr, "/config/orders-value").json(),
        json!({"compatibilityLevel": "FORWARD_TRANSITIVE"})
    );
    let removed = delete(addr, "/config/orders-value");
    assert_eq!(
        (removed.status, removed.json()),
        (200, json!({"compatibilityLevel": "FORWARD_TRANSITIVE"}))
    );
    assert_error(&delete(addr, "/config/orders-value"), 404, 40408);
    assert_error(
        &put(addr, "/config/orders-value", &json!({"compatibility": 3})),
        422,
        42203,
    );
}

#[test]
fn protobuf_and_json_schemas_keep_their_type_and_references() {
    let registry = TestRegistry::start();
    let addr = registry.addr();
    let proto = "syntax = \"proto3\";\npackage example;\nmessage Address { string city = 1; }\n";
    let base = post(
        addr,
        "/subjects/address.proto/versions",
        &json!({"schema": proto, "schemaType": "PROTOBUF"}),
    );
    assert_eq!(base.json(), json!({"id": 1}));
    let user = "syntax = \"proto3\";\nimport \"address.proto\";\nmessage User { example.Address home = 1; }";
    let refs = json!([{"name": "address.proto", "subject": "address.proto", "version": 1}]);
    let with_ref = post(
        addr,
        "/subjects/users-value/versions",
        &json!({"schema": user, "schemaType": "PROTOBUF", "references": refs}),
    );
    assert_eq!(with_ref.json(), json!({"id": 2}));
    assert_eq!(
        get(addr, "/schemas/ids/2").json(),
        json!({"schemaType": "PROTOBUF", "references": refs, "schema": user})
    );
    assert_eq!(
        get(addr, "/subjects/users-value/versions/1").json(),
        json!({"subject": "users-value", "version": 1, "id": 2, "schemaType": "PROTOBUF",
               "references": refs, "schema": user})
    );
    assert_eq!(
        get(addr, "/subjects/address.proto/versions/1/referencedby").json(),
        json!([2])
    );
    // Raw Protobuf text comes back as sent.
    assert_eq!(get(addr, "/schemas/ids/2/schema").body, user);

    // `format=serialized` (what Confluent's Python, Go and .NET deserializers ask for):
    // the compiled FileDescriptorProto, base64, its import resolved through the reference.
    let serialized = get(addr, "/schemas/ids/2?format=serialized").json();
    assert_eq!(serialized["schemaType"], json!("PROTOBUF"));
    assert_eq!(serialized["references"], refs);
    let fd = file_descriptor(&serialized["schema"]);
    assert_eq!(fd.dependency, ["address.proto"]);
    let field = &fd.message_type[0].field[0];
    assert_eq!(
        (fd.message_type[0].name(), field.name(), field.type_name()),
        ("User", "home", ".example.Address")
    );
    let version = get(
        addr,
        "/subjects/users-value/versions/latest?format=serialized",
    )
    .json();
    assert_eq!(version["schema"], serialized["schema"]);
    assert_eq!(
        get(addr, "/schemas/ids/1/schema?format=serialized").body,
        serialized_text(&get(addr, "/schemas/ids/1?format=serialized").json())
    );

    let json_schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
    let registered = post(
        addr,
        "/subjects/j/versions",
        &json!({"schema": json_schema.to_string(), "schemaType": "JSON"}),
    );
    assert_eq!(registered.json(), json!({"id": 3}));
    assert_eq!(
        get(addr, "/schemas/ids/3").json(),
        json!({"schemaType": "JSON", "schema": json_schema.to_string()})
    );
    // Other types have no serialized form: served as stored.
    assert_eq!(
        get(addr, "/schemas/ids/3?format=serialized").json(),
        json!({"schemaType": "JSON", "schema": json_schema.to_string()})
    );
}

fn serialized_text(body: &Value) -> String {
    body["schema"].as_str().expect("schema text").to_owned()
}

fn file_descriptor(schema: &Value) -> prost_reflect::prost_types::FileDescriptorProto {
    use base64::Engine as _;
    use prost_reflect::prost::Message as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(schema.as_str().expect("schema text"))
        .expect("base64");
    prost_reflect::prost_types::FileDescriptorProto::decode(bytes.as_slice()).expect("descriptor")
}

#[test]
fn a_protobuf_schema_that_does_not_compile_is_refused_when_served_serialized() {
    let registry = TestRegistry::start();
    let addr = registry.addr();
    let broken = "syntax = \"proto3\";\nmessage A { Missing m = 1; }";
    post(
        addr,
        "/subjects/broken/versions",
        &json!({"schema": broken, "schemaType": "PROTOBUF"}),
    );
    assert_eq!(get(addr, "/schemas/ids/1").json()["schema"], json!(broken));
    assert_error(&get(addr, "/schemas/ids/1?format=serialized"), 422, 42201);
}
