//! Consumers nobody here wrote read Sluice's Avro: a MariaDB table with every type of the
//! MySQL type table goes through the `sluice` binary (snapshot, then an insert, an update,
//! a delete and an all-NULL insert streamed: `common/all_types.rs`, shared with the
//! Protobuf twin `mysql_protobuf_python.rs`) with `key.converter` / `value.converter` =
//! `io.confluent.connect.avro.AvroConverter` and no `schema.registry.url`, so the
//! converters use the worker's built-in registry (`schema.registry.listener`). Then
//! Python's confluent-kafka `Consumer` + `AvroDeserializer`, with its
//! `SchemaRegistryClient` pointed at that registry, decodes the topic
//! (`tests/python/avro_consume.py`), and every decoded record is compared, field order
//! included, with values written by hand from Debezium's documented MySQL type mapping
//! and Confluent's Avro mapping of Connect types: DECIMAL as bytes with
//! `logicalType: decimal` (a Python `Decimal`), BIT(1) as boolean, BIT(n) as bytes,
//! DATE as int days, TIME(3) as MicroTime long, DATETIME as Timestamp long (ms),
//! DATETIME(6) as MicroTimestamp long (µs), TIMESTAMP as a ZonedTimestamp string,
//! YEAR as int, ENUM / SET / JSON as strings, GEOMETRY as a {wkb, srid} record.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::all_types::{run_all_types, TOPIC};
use serde_json::{json, Value as Json};

const AVRO: &str = "io.confluent.connect.avro.AvroConverter";

/// Bytes as `avro_consume.py` prints them: fastavro decoded a Python `bytes`.
fn bytes(base64: &str) -> Json {
    json!({"$bytes": base64})
}

/// The row inserted by `values(id)`, as fastavro decodes Debezium's representation of it.
fn row(id: i32) -> Json {
    json!({
        "id": id,
        "c_tinyint": -128, "c_tinyint_u": 255,
        "c_smallint": -32768, "c_smallint_u": 65535,
        "c_mediumint": -8388608, "c_mediumint_u": 16777215,
        "c_int": -2147483648_i64, "c_int_u": 4294967295_i64,
        "c_bigint": i64::MIN,
        "c_bigint_u": -1,                        // bigint.unsigned.handling.mode=long wraps
        "c_decimal": {"$decimal": "12345678.90"}, // bytes + logicalType decimal(10,2)
        "c_float": 1.5, "c_double": 2.25,
        "c_bit1": true,
        "c_bit12": bytes("AQo="),                 // 0xA01, little-endian: 01 0A
        "c_char": "abc", "c_varchar": "héllo wörld", "c_text": "some text",
        "c_binary": bytes("YWIAAA=="),            // 'ab' padded to BINARY(4)
        "c_varbinary": bytes("AP8="), "c_blob": bytes("3q2+7w=="),
        "c_date": 19782,                          // days from 1970-01-01 to 2024-02-29
        "c_time": -3723456000_i64,                // -(1 h 2 min 3.456 s) in µs
        "c_datetime": 1704164645000_i64,          // 2024-01-02T03:04:05Z in ms
        "c_datetime6": 1704164645123456_i64,      // in µs
        "c_timestamp": "2024-01-02T03:04:05.123Z",
        "c_year": 2024,
        "c_enum": "medium", "c_set": "a,c",
        "c_json": "{\"k\": [1, 2]}",
        // SRID 0 and WKB of POINT(1 2): 01 01000000 000000000000F03F 0000000000000040
        "c_geometry": {"wkb": bytes("AQEAAAAAAAAAAADwPwAAAAAAAABA"), "srid": 0}
    })
}

/// A row with only its id set.
fn null_row(id: i32) -> Json {
    let mut r = row(id);
    for (k, v) in r.as_object_mut().unwrap() {
        if k != "id" {
            *v = Json::Null;
        }
    }
    r
}

/// `source`, with the per-event values `normalize` replaces.
fn source(snapshot: &str, gtid: Option<&str>) -> Json {
    json!({
        "version": sluice_core::VERSION, "connector": "mysql", "name": "dbserver1",
        "ts_ms": 0, "snapshot": snapshot, "db": "inv", "sequence": null, "ts_us": 0, "ts_ns": 0,
        "table": "all_types", "server_id": 1, "gtid": gtid, "file": "*", "pos": 0, "row": 0,
        "thread": null, "query": null
    })
}

fn event(op: &str, before: Json, after: Json, source: Json) -> Json {
    json!({"before": before, "after": after, "source": source, "op": op,
           "ts_ms": 0, "ts_us": 0, "ts_ns": 0, "transaction": null})
}

/// Replaces what differs per run (times, binlog position, GTID), checking its form first.
fn normalize(mut value: Json) -> Json {
    let Some(v) = value.as_object_mut() else {
        return value;
    };
    for k in ["ts_ms", "ts_us", "ts_ns"] {
        assert!(
            v[k].as_i64().is_some_and(|t| t > 0),
            "{k} is a time: {}",
            v[k]
        );
        v.insert(k.into(), json!(0));
    }
    let s = v["source"].as_object_mut().expect("a source block");
    for k in ["ts_ms", "ts_us", "ts_ns"] {
        assert!(s[k].as_i64().is_some_and(|t| t > 0), "source.{k} is a time");
        s.insert(k.into(), json!(0));
    }
    assert!(
        s["file"]
            .as_str()
            .is_some_and(|f| f.starts_with("mysql-bin.")),
        "source.file: {}",
        s["file"]
    );
    s.insert("file".into(), "*".into());
    assert!(s["pos"].as_i64().is_some_and(|p| p >= 4), "source.pos");
    s.insert("pos".into(), json!(0));
    if let Some(g) = s["gtid"].as_str() {
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

/// Runs `avro_consume.py`: the decoded records and the schemas by id.
fn consume_with_python(bootstrap: &str, registry_url: &str, count: usize) -> (Vec<Json>, Json) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/avro_consume.py");
    let python = sluice_testkit::python_with("confluent_kafka");
    let started = Instant::now();
    let output = Command::new(&python)
        .arg(&script)
        .args([bootstrap, TOPIC, registry_url, &count.to_string()])
        .args(["--timeout", "60"])
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
fn python_avro_deserializer_reads_every_mysql_type_through_the_built_in_registry() {
    let t0 = Instant::now();
    // The Avro converters are the connector's, with no schema.registry.url.
    let pipeline = run_all_types(AVRO);
    // r 1; c 2, u 2, d 2 and its tombstone; c 3.
    let (records, schemas) =
        consume_with_python(pipeline.broker.bootstrap(), &pipeline.registry_url(), 6);
    let consumed_at = t0.elapsed();

    let key = |id: i32| json!({"id": id});
    let streamed = source("false", Some("*"));
    let mut changed = row(2);
    changed["c_varchar"] = json!("changed");
    let expected = [
        (key(1), event("r", Json::Null, row(1), source("last", None))),
        (key(2), event("c", Json::Null, row(2), streamed.clone())),
        (
            key(2),
            event("u", row(2), changed.clone(), streamed.clone()),
        ),
        (key(2), event("d", changed, Json::Null, streamed.clone())),
        (key(2), Json::Null),
        (key(3), event("c", Json::Null, null_row(3), streamed)),
    ];
    for (i, (record, (key, value))) in records.iter().zip(&expected).enumerate() {
        assert_eq!(record["offset"], json!(i), "records in offset order");
        assert_same(&format!("key of record {i}"), &record["key"], key);
        let actual = if value.is_null() {
            record["value"].clone()
        } else {
            normalize(record["value"].clone())
        };
        assert_same(&format!("value of record {i}"), &actual, value);
    }

    // One key schema and one value schema, registered under TopicNameStrategy subjects
    // and fetched by id by Confluent's client, named as Debezium names them.
    let key_id = records[0]["key_schema_id"].clone();
    let value_id = records[0]["value_schema_id"].clone();
    for r in &records {
        assert_eq!(r["key_schema_id"], key_id);
        if !r["value"].is_null() {
            assert_eq!(r["value_schema_id"], value_id);
        }
    }
    let key_schema = &schemas[key_id.to_string()];
    assert_eq!(key_schema["type"], "record");
    assert_eq!(key_schema["name"], "Key");
    assert_eq!(key_schema["namespace"], "dbserver1.inv.all_types");
    let value_schema = &schemas[value_id.to_string()];
    assert_eq!(value_schema["name"], "Envelope");
    assert_eq!(value_schema["namespace"], "dbserver1.inv.all_types");
    assert_eq!(
        value_schema["connect.name"],
        "dbserver1.inv.all_types.Envelope"
    );
    // `before` defines the row record, `after` names it.
    let (before, after) = (&value_schema["fields"][0], &value_schema["fields"][1]);
    assert_eq!(before["name"], "before");
    assert_eq!(before["type"][1]["name"], "Value");
    assert_eq!(after["name"], "after");
    // Named relative to the envelope's namespace, as Avro's Java Schema.toString does.
    assert_eq!(after["type"], json!(["null", "Value"]));
    let decimal = before["type"][1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "c_decimal")
        .expect("c_decimal");
    assert_eq!(
        decimal["type"][1],
        json!({"type": "bytes", "scale": 2, "precision": 10, "connect.version": 1,
               "connect.parameters": {"scale": "2", "connect.decimal.precision": "10"},
               "connect.name": "org.apache.kafka.connect.data.Decimal",
               "logicalType": "decimal"}),
        "{decimal}"
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
    }
    drop(pipeline);
    eprintln!(
        "6 records decoded by confluent-kafka's AvroDeserializer {consumed_at:?} after the start"
    );
}
