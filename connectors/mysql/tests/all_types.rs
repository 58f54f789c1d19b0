//! A table with every type, snapshotted and streamed, each event compared with JSON written
//! by hand from Debezium's documentation of its MySQL connector: schema names, logical
//! types, parameters, field order of the envelope and the `source` block, and the
//! documented value representations (days since the epoch, micro/milliseconds since the
//! epoch read as UTC, ISO-8601 UTC strings, little-endian BIT bytes, base64 bytes, ...).

mod common;

use common::*;
use serde_json::{json, Value as Json};
use sluice_testkit::MariaDb;

const TABLE: &str = "CREATE DATABASE inv;
CREATE TABLE inv.all_types (
  id INT NOT NULL PRIMARY KEY,
  c_tinyint TINYINT, c_tinyint_u TINYINT UNSIGNED,
  c_smallint SMALLINT, c_smallint_u SMALLINT UNSIGNED,
  c_mediumint MEDIUMINT, c_mediumint_u MEDIUMINT UNSIGNED,
  c_int INT, c_int_u INT UNSIGNED,
  c_bigint BIGINT, c_bigint_u BIGINT UNSIGNED,
  c_decimal DECIMAL(10,2), c_float FLOAT, c_double DOUBLE,
  c_bit1 BIT(1), c_bit12 BIT(12),
  c_char CHAR(5), c_varchar VARCHAR(50), c_text TEXT,
  c_binary BINARY(4), c_varbinary VARBINARY(10), c_blob BLOB,
  c_date DATE, c_time TIME(3), c_datetime DATETIME, c_datetime6 DATETIME(6),
  c_timestamp TIMESTAMP(3) NULL, c_year YEAR,
  c_enum ENUM('small','medium','large'), c_set SET('a','b','c'),
  c_json JSON, c_geometry GEOMETRY
);";

fn values(id: i32) -> String {
    format!(
        "({id}, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
          -9223372036854775808, 18446744073709551615, 12345678.90, 1.5, 2.25, b'1', b'101000000001',
          'abc', 'héllo wörld', 'some text', 'ab', x'00ff', x'deadbeef',
          '2024-02-29', '-01:02:03.456', '2024-01-02 03:04:05', '2024-01-02 03:04:05.123456',
          '2024-01-02 03:04:05.123', 2024, 'medium', 'a,c', '{{\"k\": [1, 2]}}', ST_GeomFromText('POINT(1 2)'))"
    )
}

fn field(ty: &str, name: &str, optional: bool) -> Json {
    json!({"type": ty, "optional": optional, "field": name})
}

fn logical(ty: &str, logical: &str, field: &str) -> Json {
    json!({"type": ty, "optional": true, "name": logical, "version": 1, "field": field})
}

/// `dbserver1.inv.all_types.Value`, as Debezium maps each column type.
fn row_schema(field_name: &str) -> Json {
    json!({
        "type": "struct",
        "optional": true,
        "name": "dbserver1.inv.all_types.Value",
        "field": field_name,
        "fields": [
            field("int32", "id", false),
            field("int16", "c_tinyint", true),
            field("int16", "c_tinyint_u", true),
            field("int16", "c_smallint", true),
            field("int32", "c_smallint_u", true),
            field("int32", "c_mediumint", true),
            field("int32", "c_mediumint_u", true),
            field("int32", "c_int", true),
            field("int64", "c_int_u", true),
            field("int64", "c_bigint", true),
            field("int64", "c_bigint_u", true),
            {"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
             "parameters": {"scale": "2", "connect.decimal.precision": "10"}, "field": "c_decimal"},
            field("float", "c_float", true),
            field("double", "c_double", true),
            field("boolean", "c_bit1", true),
            {"type": "bytes", "optional": true, "name": "io.debezium.data.Bits", "version": 1,
             "parameters": {"length": "12"}, "field": "c_bit12"},
            field("string", "c_char", true),
            field("string", "c_varchar", true),
            field("string", "c_text", true),
            field("bytes", "c_binary", true),
            field("bytes", "c_varbinary", true),
            field("bytes", "c_blob", true),
            logical("int32", "io.debezium.time.Date", "c_date"),
            logical("int64", "io.debezium.time.MicroTime", "c_time"),
            logical("int64", "io.debezium.time.Timestamp", "c_datetime"),
            logical("int64", "io.debezium.time.MicroTimestamp", "c_datetime6"),
            logical("string", "io.debezium.time.ZonedTimestamp", "c_timestamp"),
            logical("int32", "io.debezium.time.Year", "c_year"),
            {"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1,
             "parameters": {"allowed": "small,medium,large"}, "field": "c_enum"},
            {"type": "string", "optional": true, "name": "io.debezium.data.EnumSet", "version": 1,
             "parameters": {"allowed": "a,b,c"}, "field": "c_set"},
            logical("string", "io.debezium.data.Json", "c_json"),
            {"type": "struct", "optional": true, "name": "io.debezium.data.geometry.Geometry", "version": 1,
             "doc": "Geometry", "field": "c_geometry",
             "fields": [field("bytes", "wkb", false), field("int32", "srid", true)]},
        ]
    })
}

/// `io.debezium.connector.mysql.Source`.
fn source_schema() -> Json {
    json!({
        "type": "struct", "optional": false, "name": "io.debezium.connector.mysql.Source", "version": 1,
        "field": "source",
        "fields": [
            field("string", "version", false),
            field("string", "connector", false),
            field("string", "name", false),
            field("int64", "ts_ms", false),
            {"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1,
             "parameters": {"allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},
             "default": "false", "field": "snapshot"},
            field("string", "db", false),
            field("string", "sequence", true),
            field("int64", "ts_us", true),
            field("int64", "ts_ns", true),
            field("string", "table", true),
            field("int64", "server_id", false),
            field("string", "gtid", true),
            field("string", "file", false),
            field("int64", "pos", false),
            field("int32", "row", false),
            field("int64", "thread", true),
            field("string", "query", true),
        ]
    })
}

fn envelope_schema() -> Json {
    json!({
        "type": "struct", "optional": false, "name": "dbserver1.inv.all_types.Envelope", "version": 2,
        "fields": [
            row_schema("before"),
            row_schema("after"),
            source_schema(),
            field("string", "op", false),
            field("int64", "ts_ms", true),
            field("int64", "ts_us", true),
            field("int64", "ts_ns", true),
            {"type": "struct", "optional": true, "name": "event.block", "version": 1, "field": "transaction",
             "fields": [field("string", "id", false), field("int64", "total_order", false),
                        field("int64", "data_collection_order", false)]},
        ]
    })
}

fn key(id: i32) -> Json {
    json!({
        "schema": {"type": "struct", "optional": false, "name": "dbserver1.inv.all_types.Key",
                   "fields": [field("int32", "id", false)]},
        "payload": {"id": id}
    })
}

/// The row inserted by `values(id)`, as Debezium represents each value.
fn row(id: i32) -> Json {
    json!({
        "id": id,
        "c_tinyint": -128, "c_tinyint_u": 255,
        "c_smallint": -32768, "c_smallint_u": 65535,
        "c_mediumint": -8388608, "c_mediumint_u": 16777215,
        "c_int": -2147483648_i64, "c_int_u": 4294967295_i64,
        "c_bigint": i64::MIN, "c_bigint_u": -1,
        "c_decimal": "SZYC0g==",          // unscaled 1234567890 = 0x499602D2, scale 2
        "c_float": 1.5, "c_double": 2.25,
        "c_bit1": true,
        "c_bit12": "AQo=",                // 0xA01, little-endian: 01 0A
        "c_char": "abc", "c_varchar": "héllo wörld", "c_text": "some text",
        "c_binary": "YWIAAA==",           // 'ab' padded to BINARY(4)
        "c_varbinary": "AP8=", "c_blob": "3q2+7w==",
        "c_date": 19782,                  // days from 1970-01-01 to 2024-02-29
        "c_time": -3723456000_i64,        // -(1 h 2 min 3.456 s) in µs
        "c_datetime": 1704164645000_i64,  // 2024-01-02T03:04:05Z in ms
        "c_datetime6": 1704164645123456_i64,
        "c_timestamp": "2024-01-02T03:04:05.123Z",
        "c_year": 2024,
        "c_enum": "medium", "c_set": "a,c",
        "c_json": "{\"k\": [1, 2]}",
        // SRID 0 and WKB of POINT(1 2): 01 01000000 000000000000F03F 0000000000000040
        "c_geometry": {"wkb": "AQEAAAAAAAAAAADwPwAAAAAAAABA", "srid": 0}
    })
}

fn source(snapshot: &str, gtid: Option<&str>) -> Json {
    json!({
        "version": sluice_core::VERSION, "connector": "mysql", "name": "dbserver1",
        "ts_ms": 0, "snapshot": snapshot, "db": "inv", "sequence": null, "ts_us": 0, "ts_ns": 0,
        "table": "all_types", "server_id": 1, "gtid": gtid, "file": "*", "pos": 0, "row": 0,
        "thread": null, "query": null
    })
}

fn event(op: &str, before: Json, after: Json, source: Json) -> Json {
    json!({
        "schema": envelope_schema(),
        "payload": {"before": before, "after": after, "source": source, "op": op,
                    "ts_ms": 0, "ts_us": 0, "ts_ns": 0, "transaction": null}
    })
}

#[track_caller]
fn assert_json(what: &str, actual: &Json, expected: &Json) {
    if actual != expected {
        panic!(
            "{what} differs\nactual:   {}\nexpected: {}",
            serde_json::to_string_pretty(actual).unwrap_or_default(),
            serde_json::to_string_pretty(expected).unwrap_or_default()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_snapshot_and_stream_match_debezium() {
    init_logging();
    let db = MariaDb::start();
    db.sql(TABLE);
    db.sql(&format!(
        "SET time_zone = '+00:00'; INSERT INTO inv.all_types VALUES {};",
        values(1)
    ));
    let cfg = config(
        &db,
        &[
            ("table.include.list", "inv\\.all_types"),
            ("skipped.operations", "none"),
        ],
    );
    let mut task = start(&cfg, None).await.expect("start");

    // Snapshot: one row, so its marker is `last`.
    let snap = poll_n(&mut task, 1, 30).await;
    let (k, v) = render(&snap[0]);
    assert_json("snapshot key", &k, &key(1));
    assert_json(
        "snapshot event",
        &normalize(v),
        &event("r", Json::Null, row(1), {
            let mut s = source("last", None);
            s["gtid"] = Json::Null;
            s
        }),
    );

    db.sql(&format!(
        "SET time_zone = '+00:00';
         INSERT INTO inv.all_types VALUES {};
         UPDATE inv.all_types SET c_varchar = 'changed' WHERE id = 2;
         DELETE FROM inv.all_types WHERE id = 2;
         UPDATE inv.all_types SET id = 10 WHERE id = 1;
         INSERT INTO inv.all_types (id) VALUES (3);
         TRUNCATE TABLE inv.all_types;",
        values(2)
    ));
    let recs = poll_n(&mut task, 9, 30).await;
    let rendered: Vec<(Json, Json)> = recs.iter().map(render).collect();
    let streamed = source("false", Some("*"));

    // Insert.
    assert_json("insert key", &rendered[0].0, &key(2));
    assert_json(
        "insert",
        &normalize(rendered[0].1.clone()),
        &event("c", Json::Null, row(2), streamed.clone()),
    );
    // Update.
    let mut changed = row(2);
    changed["c_varchar"] = json!("changed");
    assert_json("update key", &rendered[1].0, &key(2));
    assert_json(
        "update",
        &normalize(rendered[1].1.clone()),
        &event("u", row(2), changed.clone(), streamed.clone()),
    );
    // Delete and its tombstone.
    assert_json("delete key", &rendered[2].0, &key(2));
    assert_json(
        "delete",
        &normalize(rendered[2].1.clone()),
        &event("d", changed, Json::Null, streamed.clone()),
    );
    assert_json("tombstone key", &rendered[3].0, &key(2));
    assert_eq!(rendered[3].1, Json::Null, "a tombstone has a null value");
    // Primary-key change: delete + tombstone of the old key, create of the new one.
    let mut moved = row(1);
    moved["id"] = json!(10);
    assert_json("pk change delete key", &rendered[4].0, &key(1));
    assert_json(
        "pk change delete",
        &normalize(rendered[4].1.clone()),
        &event("d", row(1), Json::Null, streamed.clone()),
    );
    let newkey = recs[4]
        .record
        .headers
        .last_with_name("__debezium.newkey")
        .expect("newkey header");
    assert_eq!(
        newkey.value.value, recs[6].record.key.value,
        "__debezium.newkey is the new key"
    );
    assert_json("pk change tombstone key", &rendered[5].0, &key(1));
    assert_eq!(rendered[5].1, Json::Null);
    assert_json("pk change create key", &rendered[6].0, &key(10));
    assert_json(
        "pk change create",
        &normalize(rendered[6].1.clone()),
        &event("c", Json::Null, moved, streamed.clone()),
    );
    let oldkey = recs[6]
        .record
        .headers
        .last_with_name("__debezium.oldkey")
        .expect("oldkey header");
    assert_eq!(
        oldkey.value.value, recs[4].record.key.value,
        "__debezium.oldkey is the old key"
    );
    // An all-NULL row.
    let mut nulls = serde_json::Map::new();
    for f in row_schema("after")["fields"].as_array().expect("fields") {
        let name = f["field"].as_str().expect("name").to_owned();
        nulls.insert(
            name.clone(),
            if name == "id" { json!(3) } else { Json::Null },
        );
    }
    assert_json(
        "null insert",
        &normalize(rendered[7].1.clone()),
        &event("c", Json::Null, Json::Object(nulls), streamed.clone()),
    );
    // Truncate: no key, op t, no row images.
    let truncate = recs
        .iter()
        .zip(&rendered)
        .skip(8)
        .find(|(_, (_, v))| op(v) == Some("t"))
        .expect("a truncate event");
    assert_eq!(truncate.1 .0, Json::Null, "a truncate event has no key");
    let mut tsource = streamed.clone();
    let thread = truncate.1 .1["payload"]["source"]["thread"].clone();
    assert!(
        thread.is_i64(),
        "the truncate's thread comes from its QUERY event"
    );
    tsource["thread"] = thread;
    assert_json(
        "truncate",
        &normalize(truncate.1 .1.clone()),
        &event("t", Json::Null, Json::Null, tsource),
    );

    // Offsets: every streamed record is resumable and in the partition {"server": topic.prefix}.
    for r in &recs {
        assert_eq!(*r.source_partition, partition());
        assert!(
            r.source_offset.to_map().contains_key("file")
                && r.source_offset.to_map().contains_key("pos")
                && r.source_offset.to_map().contains_key("gtids")
        );
    }
    sluice_core::plugin::SourceTask::stop(&mut task)
        .await
        .expect("stop");
}
