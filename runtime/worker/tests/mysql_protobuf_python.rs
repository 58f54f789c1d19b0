//! Consumers nobody here wrote read Sluice's Protobuf: the Protobuf twin of
//! `mysql_avro_python.rs`. The same MariaDB table with every type of the MySQL type table
//! goes through the `sluice` binary (snapshot, then an insert, an update, a delete and an
//! all-NULL insert streamed: `common/all_types.rs`) with `key.converter` /
//! `value.converter` = `io.confluent.connect.protobuf.ProtobufConverter` and no
//! `schema.registry.url`, so the converters use the worker's built-in registry. Then
//! Python's confluent-kafka `Consumer` + `ProtobufDeserializer`, with its
//! `SchemaRegistryClient` pointed at that registry and the message classes protoc compiled
//! from the registry's schema text (`tests/python/protobuf_consume.py`), decodes the
//! topic, and every decoded record is compared, field order included, with values written
//! by hand in Protobuf's JSON form (`MessageToDict`, `preserving_proto_field_name`) from
//! Debezium's documented MySQL type mapping and Confluent's Protobuf mapping of Connect
//! types (default converter settings):
//! - INT8 / INT16 / INT32 as int32 (JSON numbers), INT64 as int64 (JSON strings);
//! - DECIMAL as `confluent.type.Decimal` {value: unscaled two's complement big-endian
//!   bytes, precision, scale}, also read back with confluent-kafka's own
//!   `protobuf_to_decimal`;
//! - BYTES (BIT(n), BINARY, BLOB) as base64, BIT(1) as bool; Debezium's time types as
//!   their Connect primitives (Date / Year int32, MicroTime / Timestamp / MicroTimestamp
//!   int64, ZonedTimestamp string); ENUM / SET / JSON as strings; GEOMETRY as a
//!   {wkb, srid} message;
//! - optional fields as plain proto3 fields: a null, and a value equal to its type's
//!   default (the geometry's srid 0, `source.row` 0), is not on the wire, so
//!   `MessageToDict` leaves the field out, exactly as for Confluent's own converter.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::all_types::{run_all_types, TOPIC};
use serde_json::{json, Value as Json};

const PROTOBUF: &str = "io.confluent.connect.protobuf.ProtobufConverter";

/// The row inserted by `values(id)`, as `MessageToDict` prints the message the
/// deserializer returns for Debezium's representation of it.
fn row(id: i32) -> Json {
    json!({
        "id": id,
        "c_tinyint": -128, "c_tinyint_u": 255,
        "c_smallint": -32768, "c_smallint_u": 65535,
        "c_mediumint": -8388608, "c_mediumint_u": 16777215,
        "c_int": -2147483648_i64,
        "c_int_u": "4294967295",                  // INT UNSIGNED is INT64: a JSON string
        "c_bigint": i64::MIN.to_string(),
        "c_bigint_u": "-1",                       // bigint.unsigned.handling.mode=long wraps
        // 1234567890 = 0x499602D2, scale 2; precision is the value's digits (BigDecimal's).
        "c_decimal": {"value": "SZYC0g==", "precision": 10, "scale": 2},
        "c_float": 1.5, "c_double": 2.25,
        "c_bit1": true,
        "c_bit12": "AQo=",                        // 0xA01, little-endian: 01 0A
        "c_char": "abc", "c_varchar": "héllo wörld", "c_text": "some text",
        "c_binary": "YWIAAA==",                   // 'ab' padded to BINARY(4)
        "c_varbinary": "AP8=", "c_blob": "3q2+7w==",
        "c_date": 19782,                          // days from 1970-01-01 to 2024-02-29
        "c_time": "-3723456000",                  // -(1 h 2 min 3.456 s) in µs
        "c_datetime": "1704164645000",            // 2024-01-02T03:04:05Z in ms
        "c_datetime6": "1704164645123456",        // in µs
        "c_timestamp": "2024-01-02T03:04:05.123Z",
        "c_year": 2024,
        "c_enum": "medium", "c_set": "a,c",
        "c_json": "{\"k\": [1, 2]}",
        // WKB of POINT(1 2): 01 01000000 000000000000F03F 0000000000000040; SRID 0 is
        // proto3's default, so not on the wire.
        "c_geometry": {"wkb": "AQEAAAAAAAAAAADwPwAAAAAAAABA"}
    })
}

/// `source`, with `*` for the per-event values `normalize` replaces; nulls (`sequence`,
/// `thread`, `query`, a snapshot's `gtid`) and `row` 0 are not on the wire.
fn source(snapshot: &str, streamed: bool) -> Json {
    let mut s = json!({
        "version": sluice_core::VERSION, "connector": "mysql", "name": "dbserver1",
        "ts_ms": "*", "snapshot": snapshot, "db": "inv", "ts_us": "*", "ts_ns": "*",
        "table": "all_types", "server_id": "1"
    });
    let s_obj = s.as_object_mut().unwrap();
    if streamed {
        s_obj.insert("gtid".into(), json!("*"));
    }
    s_obj.insert("file".into(), json!("*"));
    s_obj.insert("pos".into(), json!("*"));
    s
}

/// An envelope; `before` / `after` absent when null, `transaction` (null) never there.
fn event(op: &str, before: Option<Json>, after: Option<Json>, source: Json) -> Json {
    let mut e = serde_json::Map::new();
    if let Some(b) = before {
        e.insert("before".into(), b);
    }
    if let Some(a) = after {
        e.insert("after".into(), a);
    }
    e.insert("source".into(), source);
    e.insert("op".into(), json!(op));
    for k in ["ts_ms", "ts_us", "ts_ns"] {
        e.insert(k.into(), json!("*"));
    }
    Json::Object(e)
}

/// An int64 as Protobuf's JSON form prints it (a string), if it is one.
fn int64(v: &Json) -> Option<i64> {
    v.as_str()?.parse().ok()
}

/// Replaces what differs per run (times, binlog position, GTID) with `*`, checking its
/// form first.
fn normalize(mut value: Json) -> Json {
    let Some(v) = value.as_object_mut() else {
        return value;
    };
    for k in ["ts_ms", "ts_us", "ts_ns"] {
        assert!(
            int64(&v[k]).is_some_and(|t| t > 0),
            "{k} is a time: {}",
            v[k]
        );
        v.insert(k.into(), json!("*"));
    }
    let s = v["source"].as_object_mut().expect("a source block");
    for k in ["ts_ms", "ts_us", "ts_ns"] {
        assert!(
            int64(&s[k]).is_some_and(|t| t > 0),
            "source.{k} is a time: {}",
            s[k]
        );
        s.insert(k.into(), json!("*"));
    }
    assert!(
        s["file"]
            .as_str()
            .is_some_and(|f| f.starts_with("mysql-bin.")),
        "source.file: {}",
        s["file"]
    );
    s.insert("file".into(), "*".into());
    assert!(int64(&s["pos"]).is_some_and(|p| p >= 4), "source.pos");
    s.insert("pos".into(), "*".into());
    if let Some(g) = s.get("gtid").and_then(Json::as_str) {
        assert_eq!(g.split('-').count(), 3, "a MariaDB GTID: {g}");
        s.insert("gtid".into(), "*".into());
    }
    value
}

/// Compares as printed, so field order counts as well as values.
#[track_caller]
fn assert_same(what: &str, actual: &Json, expected: &Json) {
    let (a, e) = (
        serde_json::to_string_pretty(actual).unwrap(),
        serde_json::to_string_pretty(expected).unwrap(),
    );
    assert!(a == e, "{what} differs\nactual:   {a}\nexpected: {e}");
}

/// Runs `protobuf_consume.py`: the decoded records and the schemas by id.
fn consume_with_python(bootstrap: &str, registry_url: &str, count: usize) -> (Vec<Json>, Json) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/protobuf_consume.py");
    let python = sluice_testkit::python_with("grpc_tools");
    let started = Instant::now();
    let output = Command::new(&python)
        .arg(&script)
        .args([bootstrap, TOPIC, registry_url, &count.to_string()])
        .args(["--timeout", "60"])
        .env("PYTHONPATH", sluice_testkit::python_helpers_path())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {python:?} {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{python:?} {} failed ({}) after {:?}:\nstdout:\n{stdout}\nstderr:\n{stderr}",
        script.display(),
        output.status,
        started.elapsed()
    );
    let mut lines: Vec<Json> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let schemas = lines.pop().expect("the schemas line")["schemas"].clone();
    assert_eq!(lines.len(), count, "{stdout}");
    (lines, schemas)
}

#[test]
fn python_protobuf_deserializer_reads_every_mysql_type_through_the_built_in_registry() {
    let t0 = Instant::now();
    // The Protobuf converters are the connector's, with no schema.registry.url.
    let pipeline = run_all_types(PROTOBUF);
    // r 1; c 2, u 2, d 2 and its tombstone; c 3.
    let (records, schemas) =
        consume_with_python(pipeline.broker.bootstrap(), &pipeline.registry_url(), 6);
    let consumed_at = t0.elapsed();

    let key = |id: i32| json!({"id": id});
    let mut changed = row(2);
    changed["c_varchar"] = json!("changed");
    let decimal = |fields: &[&str]| {
        Json::Object(
            fields
                .iter()
                .map(|f| (format!("{f}.c_decimal"), json!("12345678.90")))
                .collect(),
        )
    };
    let streamed = || source("false", true);
    let expected = [
        (
            key(1),
            event("r", None, Some(row(1)), source("last", false)),
            decimal(&["after"]),
        ),
        (
            key(2),
            event("c", None, Some(row(2)), streamed()),
            decimal(&["after"]),
        ),
        (
            key(2),
            event("u", Some(row(2)), Some(changed.clone()), streamed()),
            decimal(&["before", "after"]),
        ),
        (
            key(2),
            event("d", Some(changed), None, streamed()),
            decimal(&["before"]),
        ),
        (key(2), Json::Null, json!({})),
        (
            key(3),
            event("c", None, Some(json!({"id": 3})), streamed()),
            json!({}),
        ),
    ];
    for (i, (record, (key, value, decimals))) in records.iter().zip(&expected).enumerate() {
        assert_eq!(record["offset"], json!(i), "records in offset order");
        assert_same(&format!("key of record {i}"), &record["key"], key);
        let actual = if value.is_null() {
            record["value"].clone()
        } else {
            normalize(record["value"].clone())
        };
        assert_same(&format!("value of record {i}"), &actual, value);
        assert_same(
            &format!("decimals of record {i} (protobuf_to_decimal)"),
            &record["value_decimals"],
            decimals,
        );
        assert_eq!(
            record["descriptors_match"], true,
            "record {i}: the registry's serialized descriptor is what protoc compiled"
        );
        assert_eq!(record["key_message"], "dbserver1.inv.all_types.Key");
        if !value.is_null() {
            assert_eq!(record["value_message"], "dbserver1.inv.all_types.Envelope");
        }
    }

    // One key schema and one value schema, registered as PROTOBUF under TopicNameStrategy
    // subjects and fetched by id by Confluent's client.
    let key_id = records[0]["key_schema_id"].clone();
    let value_id = records[0]["value_schema_id"].clone();
    for r in &records {
        assert_eq!(r["key_schema_id"], key_id);
        if !r["value"].is_null() {
            assert_eq!(r["value_schema_id"], value_id);
        }
    }
    for id in [&key_id, &value_id] {
        let schema = &schemas[id.to_string()];
        assert_eq!(schema["schemaType"], "PROTOBUF", "{schema}");
        let text = schema["schema"].as_str().unwrap();
        assert!(
            text.contains("package dbserver1.inv.all_types;"),
            "the .proto text: {text}"
        );
    }
    let value_text = schemas[value_id.to_string()]["schema"].as_str().unwrap();
    assert!(
        value_text.contains("import \"confluent/type/decimal.proto\";")
            && value_text.contains("confluent.type.Decimal c_decimal = "),
        "DECIMAL is Confluent's Decimal message: {value_text}"
    );
    for (subject, id) in [
        (format!("{TOPIC}-key"), &key_id),
        (format!("{TOPIC}-value"), &value_id),
    ] {
        let (status, body) = common::http(
            pipeline.registry_port,
            "GET",
            &format!("/subjects/{subject}/versions/latest"),
            None,
        )
        .expect("the registry answers");
        assert_eq!(status, 200, "{subject}: {body}");
        let latest: Json = serde_json::from_str(&body).unwrap();
        assert_eq!(&latest["id"], id, "{subject}: {body}");
        assert_eq!(latest["schemaType"], "PROTOBUF", "{subject}: {body}");
    }
    drop(pipeline);
    eprintln!(
        "6 records decoded by confluent-kafka's ProtobufDeserializer {consumed_at:?} after the start"
    );
}
