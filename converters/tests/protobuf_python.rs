//! A consumer nobody here wrote reads our bytes: Python confluent-kafka's
//! `ProtobufDeserializer`, with its `SchemaRegistryClient` pointed at the test registry,
//! decodes what `ProtobufConverter` wrote, for every Connect type the Debezium MySQL
//! connector emits (integers, floats, boolean, strings, bytes, Decimal, the Connect and the
//! Debezium time types, Enum / EnumSet / Json / Bits, geometry structs, arrays, maps,
//! optional fields null and set, the change-event envelope and its key), under the default
//! settings, `optional.for.nullables=true` and `wrapper.for.nullables=true`.
//!
//! The Python side (`protobuf_python.py`, with the compiling shared with the worker's
//! tests in `runtime/testkit/python/sluice_protobuf.py`) does what a real consumer does:
//! compiles the registry's `.proto` text with protoc (grpcio-tools) into the message class, and hands
//! the framed bytes to the deserializer, which fetches the writer schema by id in
//! Confluent's `format=serialized` form and picks the message by the message indexes.
//! The expected values are written out by hand in the JSON protobuf's own `MessageToDict`
//! prints (int64 as strings, bytes as base64, Timestamp as RFC 3339, fields at their proto3
//! default omitted), plus each `confluent.type.Decimal` read back with confluent-kafka's
//! `protobuf_to_decimal`.
//!
//! Needs `python3` with confluent-kafka, protobuf, googleapis-common-protos and
//! grpcio-tools on PATH (`eval "$(bash scripts/test-env.sh)"`); without them the test
//! fails with a message saying so, it never skips.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value as Json};
use sluice_converters::protobuf::ProtobufConverter;
use sluice_core::plugin::Converter;
use sluice_core::schema::{SchemaBuilder, SchemaRef, Type};
use sluice_core::value::{Decimal, Struct, Value};
use sluice_core::SchemaAndValue;
use sluice_schema_registry::TestRegistry;

const DECODE: &str = include_str!("protobuf_python.py");

/// How optional Connect fields are declared (`ProtobufDataConfig`'s two switches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nullables {
    /// Neither: plain proto3 fields, where null and the zero value read alike.
    Plain,
    /// `optional.for.nullables=true`: the `optional` label.
    Optional,
    /// `wrapper.for.nullables=true`: `google.protobuf.*Value` wrappers.
    Wrapper,
}

impl Nullables {
    const ALL: [Nullables; 3] = [Nullables::Plain, Nullables::Optional, Nullables::Wrapper];

    /// A topic of its own, so each mode registers under its own subject.
    fn topic(self, base: &str) -> String {
        match self {
            Nullables::Plain => base.to_owned(),
            Nullables::Optional => format!("{base}_optional"),
            Nullables::Wrapper => format!("{base}_wrapper"),
        }
    }

    /// Whether an optional field set to its zero value is still seen as set.
    fn has_presence(self) -> bool {
        self != Nullables::Plain
    }

    /// How the generated schema declares a nullable field of this wrapper type.
    fn form(self, wrapper: &str) -> &str {
        match self {
            Nullables::Plain => "plain",
            Nullables::Optional => "optional",
            Nullables::Wrapper => wrapper,
        }
    }
}

fn converter(
    registry: &TestRegistry,
    nullables: Nullables,
    role: &str,
) -> Result<ProtobufConverter> {
    let mut config = BTreeMap::new();
    config.insert("schema.registry.url".to_owned(), registry.url());
    config.insert("converter.type".to_owned(), role.to_owned());
    config.insert(
        "optional.for.nullables".to_owned(),
        (nullables == Nullables::Optional).to_string(),
    );
    config.insert(
        "wrapper.for.nullables".to_owned(),
        (nullables == Nullables::Wrapper).to_string(),
    );
    Ok(ProtobufConverter::new(&config)?)
}

fn named(ty: Type, name: &str) -> SchemaBuilder {
    SchemaBuilder::new(ty).name(name).version(1)
}

/// A row of the MySQL type table as Debezium's MySQL connector types it (both
/// `time.precision.mode`s: Connect's Date/Time/Timestamp and Debezium's own).
fn row_schema() -> SchemaRef {
    let req = |t| SchemaBuilder::new(t).build();
    let opt = |t| SchemaBuilder::new(t).optional().build();
    let geometry = SchemaBuilder::struct_()
        .name("io.debezium.data.geometry.Geometry")
        .version(1)
        .field("wkb", req(Type::Bytes))
        .field("srid", opt(Type::Int32))
        .optional()
        .build();
    SchemaBuilder::struct_()
        .name("inventory.Row")
        .field("id", req(Type::Int32))
        .field("tiny", req(Type::Int8))
        .field("small", req(Type::Int16))
        .field("big", req(Type::Int64))
        .field("f32", req(Type::Float32))
        .field("f64", req(Type::Float64))
        .field("flag", req(Type::Boolean))
        .field("name", req(Type::String))
        .field("blob", req(Type::Bytes))
        .field(
            "price",
            SchemaBuilder::decimal(2)
                .parameter("connect.decimal.precision", "10")
                .build(),
        )
        .field(
            "wide",
            SchemaBuilder::decimal(6)
                .parameter("connect.decimal.precision", "65")
                .build(),
        )
        .field("day", SchemaBuilder::date().build())
        .field("at", SchemaBuilder::time().build())
        .field("ts", SchemaBuilder::timestamp().build())
        .field("old_ts", SchemaBuilder::timestamp().build())
        .field(
            "micro_ts",
            named(Type::Int64, "io.debezium.time.MicroTimestamp").build(),
        )
        .field(
            "zoned",
            named(Type::String, "io.debezium.time.ZonedTimestamp").build(),
        )
        .field(
            "dbz_date",
            named(Type::Int32, "io.debezium.time.Date").build(),
        )
        .field(
            "micro_time",
            named(Type::Int64, "io.debezium.time.MicroTime").build(),
        )
        .field("year", named(Type::Int32, "io.debezium.time.Year").build())
        .field(
            "status",
            named(Type::String, "io.debezium.data.Enum")
                .parameter("allowed", "new,paid")
                .build(),
        )
        .field(
            "flags",
            named(Type::String, "io.debezium.data.EnumSet")
                .parameter("allowed", "a,b,c")
                .build(),
        )
        .field("doc", named(Type::String, "io.debezium.data.Json").build())
        .field(
            "bits",
            named(Type::Bytes, "io.debezium.data.Bits")
                .parameter("length", "12")
                .build(),
        )
        .field("geo", geometry)
        .field("tags", SchemaBuilder::array(req(Type::String)).build())
        .field("nums", SchemaBuilder::array(req(Type::Int64)).build())
        .field(
            "attrs",
            SchemaBuilder::map(req(Type::String), req(Type::Int32)).build(),
        )
        .field("opt_int", opt(Type::Int32))
        .field("opt_text", opt(Type::String))
        .field("opt_long", opt(Type::Int64))
        .field(
            "opt_price",
            SchemaBuilder::decimal(2)
                .parameter("connect.decimal.precision", "10")
                .optional()
                .build(),
        )
        .field("opt_day", SchemaBuilder::date().optional().build())
        .build()
}

/// The row with every optional field set (to its zero value where it has one), or null.
fn row(schema: &SchemaRef, optionals_set: bool) -> Result<Struct> {
    let mut row = Struct::new(schema.clone())
        .with("id", 1i32)
        .with("tiny", -2i8)
        .with("small", 300i16)
        .with("big", -9_007_199_254_740_993i64)
        .with("f32", 1.5f32)
        .with("f64", std::f64::consts::PI)
        .with("flag", true)
        .with("name", "Zoë 😀")
        .with("blob", vec![0u8, 255, 16])
        .with("price", Decimal::parse("-12.34").context("decimal")?)
        .with(
            "wide",
            Decimal::parse("123456789012345678901234.567890").context("decimal")?,
        )
        .with("day", 19_675i32)
        .with("at", 3_723_004i32)
        .with("ts", 1_700_000_000_123i64)
        .with("old_ts", -1i64)
        .with("micro_ts", 1_700_000_000_123_456i64)
        .with("zoned", "2023-11-14T22:13:20.123456Z")
        .with("dbz_date", 19_675i32)
        .with("micro_time", 3_723_004_005i64)
        .with("year", 2024i32)
        .with("status", "paid")
        .with("flags", "a,c")
        .with("doc", r#"{"k":[1,2]}"#)
        .with("bits", vec![0x0fu8, 0x05])
        .with("tags", Value::Array(vec!["a".into(), "b".into()]))
        .with(
            "nums",
            Value::Array(vec![Value::Int64(1), Value::Int64(-1), Value::Int64(0)]),
        )
        .with(
            "attrs",
            Value::Map(vec![
                ("k".into(), Value::Int32(5)),
                ("z".into(), Value::Int32(0)),
            ]),
        );
    if optionals_set {
        let geo_schema = schema.field("geo").context("geo field")?.schema.clone();
        row = row
            .with(
                "geo",
                Struct::new(geo_schema)
                    .with("wkb", vec![1u8, 1, 0, 0, 0])
                    .with("srid", 4326i32),
            )
            .with("opt_int", 0i32)
            .with("opt_text", "")
            .with("opt_long", 7i64)
            .with("opt_price", Decimal::parse("0.00").context("decimal")?)
            .with("opt_day", 0i32);
    }
    Ok(row)
}

/// What `MessageToDict` prints for [`row`]. Under proto3's implicit presence (default
/// settings) an optional field set to its zero value is not on the wire and reads as
/// absent, exactly like null: that is what Confluent's serializer writes too. Under
/// `optional.for.nullables=true` the `optional` label, and under
/// `wrapper.for.nullables=true` the wrapper message, give the field presence, and the zero
/// values are there (`MessageToDict` prints a wrapper as its value).
fn expected_row(optionals_set: bool, has_presence: bool) -> Json {
    let mut v = json!({
        "id": 1, "tiny": -2, "small": 300, "big": "-9007199254740993",
        "f32": 1.5, "f64": std::f64::consts::PI, "flag": true, "name": "Zoë 😀",
        "blob": "AP8Q",
        "price": {"value": "+y4=", "precision": 4, "scale": 2},
        "wide": {"value": "AY7pD/bDc+DuTj8K0g==", "precision": 30, "scale": 6},
        "day": {"year": 2023, "month": 11, "day": 14},
        "at": {"hours": 1, "minutes": 2, "seconds": 3, "nanos": 4_000_000},
        "ts": "2023-11-14T22:13:20.123Z",
        "old_ts": "1969-12-31T23:59:59.999Z",
        "micro_ts": "1700000000123456",
        "zoned": "2023-11-14T22:13:20.123456Z",
        "dbz_date": 19_675,
        "micro_time": "3723004005",
        "year": 2024,
        "status": "paid", "flags": "a,c", "doc": r#"{"k":[1,2]}"#,
        "bits": "DwU=",
        "tags": ["a", "b"],
        "nums": ["1", "-1", "0"],
        "attrs": [{"key": "k", "value": 5}, {"key": "z"}],
    });
    if optionals_set {
        let obj = v.as_object_mut().expect("object");
        obj.insert("geo".into(), json!({"wkb": "AQEAAAA=", "srid": 4326}));
        obj.insert("opt_long".into(), json!("7"));
        obj.insert(
            "opt_price".into(),
            json!({"value": "AA==", "precision": 1, "scale": 2}),
        );
        obj.insert(
            "opt_day".into(),
            json!({"year": 1970, "month": 1, "day": 1}),
        );
        if has_presence {
            obj.insert("opt_int".into(), json!(0));
            obj.insert("opt_text".into(), json!(""));
        }
    }
    v
}

fn expected_row_decimals(optionals_set: bool) -> Json {
    let mut v = json!({"price": "-12.34", "wide": "123456789012345678901234.567890"});
    if optionals_set {
        v["opt_price"] = json!("0.00");
    }
    v
}

/// A Debezium MySQL change event: envelope, row struct, source block.
fn envelope_schema() -> SchemaRef {
    let value = SchemaBuilder::struct_()
        .name("dbserver1.inventory.customers.Value")
        .field("id", SchemaBuilder::new(Type::Int32).build())
        .field("email", SchemaBuilder::new(Type::String).build())
        .field(
            "balance",
            SchemaBuilder::decimal(2)
                .parameter("connect.decimal.precision", "10")
                .optional()
                .build(),
        )
        .field(
            "updated",
            named(Type::String, "io.debezium.time.ZonedTimestamp")
                .optional()
                .build(),
        )
        .optional()
        .build();
    let source = SchemaBuilder::struct_()
        .name("io.debezium.connector.mysql.Source")
        .field("version", SchemaBuilder::new(Type::String).build())
        .field("connector", SchemaBuilder::new(Type::String).build())
        .field("name", SchemaBuilder::new(Type::String).build())
        .field("ts_ms", SchemaBuilder::new(Type::Int64).build())
        .field(
            "snapshot",
            named(Type::String, "io.debezium.data.Enum")
                .parameter("allowed", "true,last,false,incremental")
                .optional()
                .build(),
        )
        .field("db", SchemaBuilder::new(Type::String).build())
        .field("table", SchemaBuilder::new(Type::String).optional().build())
        .field("server_id", SchemaBuilder::new(Type::Int64).build())
        .field("file", SchemaBuilder::new(Type::String).build())
        .field("pos", SchemaBuilder::new(Type::Int64).build())
        .field("row", SchemaBuilder::new(Type::Int32).build())
        .build();
    SchemaBuilder::struct_()
        .name("dbserver1.inventory.customers.Envelope")
        .version(1)
        .field("before", value.clone())
        .field("after", value)
        .field("source", source)
        .field("op", SchemaBuilder::new(Type::String).build())
        .field("ts_ms", SchemaBuilder::new(Type::Int64).optional().build())
        .build()
}

fn change_event(schema: &SchemaRef, op: &str) -> Result<Struct> {
    let field = |name: &str| -> Result<SchemaRef> {
        Ok(schema.field(name).context("field")?.schema.clone())
    };
    let value = |email: &str, balance: &str| -> Result<Struct> {
        Ok(Struct::new(field("after")?)
            .with("id", 1001i32)
            .with("email", email)
            .with("balance", Decimal::parse(balance).context("decimal")?)
            .with("updated", "2023-11-14T22:13:20Z"))
    };
    let source = Struct::new(field("source")?)
        .with("version", "2.7.0.Final")
        .with("connector", "mysql")
        .with("name", "dbserver1")
        .with("ts_ms", 1_700_000_000_000i64)
        .with("snapshot", "false")
        .with("db", "inventory")
        .with("table", "customers")
        .with("server_id", 223_344i64)
        .with("file", "mysql-bin.000003")
        .with("pos", 154i64)
        .with("row", 0i32);
    let mut event = Struct::new(schema.clone())
        .with("after", value("sally@example.com", "10.50")?)
        .with("source", source)
        .with("op", op)
        .with("ts_ms", 1_700_000_000_456i64);
    if op == "u" {
        event = event.with("before", value("sally@old.example.com", "-0.01")?);
    }
    Ok(event)
}

fn expected_event(op: &str) -> Json {
    let value = |email: &str, decimal: Json| json!({"id": 1001, "email": email, "balance": decimal, "updated": "2023-11-14T22:13:20Z"});
    let mut v = json!({
        "after": value("sally@example.com", json!({"value": "BBo=", "precision": 4, "scale": 2})),
        "source": {
            "version": "2.7.0.Final", "connector": "mysql", "name": "dbserver1",
            "ts_ms": "1700000000000", "snapshot": "false", "db": "inventory",
            "table": "customers", "server_id": "223344", "file": "mysql-bin.000003",
            "pos": "154"
        },
        "op": op,
        "ts_ms": "1700000000456",
    });
    if op == "u" {
        v["before"] = value(
            "sally@old.example.com",
            json!({"value": "/w==", "precision": 1, "scale": 2}),
        );
    }
    v
}

fn expected_event_decimals(op: &str) -> Json {
    let mut v = json!({"after.balance": "10.50"});
    if op == "u" {
        v["before.balance"] = json!("-0.01");
    }
    v
}

/// One framed record and where it was written.
struct Record {
    topic: String,
    /// `key` or `value`: which subject (`<topic>-key` / `<topic>-value`) the reader uses.
    field: &'static str,
    bytes: Vec<u8>,
}

/// Runs the Python consumer over the records; one decoded object per record.
fn python_decode(registry: &TestRegistry, records: &[Record]) -> Result<Vec<Json>> {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let request = json!({
        "url": registry.url(),
        "records": records
            .iter()
            .map(|r| json!({"topic": r.topic, "field": r.field, "hex": hex(&r.bytes)}))
            .collect::<Vec<_>>(),
    });
    let mut child = Command::new("python3")
        .args(["-c", DECODE])
        .env("PYTHONPATH", sluice_testkit::python_helpers_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running python3 (eval \"$(bash scripts/test-env.sh)\" puts it on PATH)")?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(request.to_string().as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "python ProtobufDeserializer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).context("python output")
}

fn encode(converter: &ProtobufConverter, topic: &str, value: Struct) -> Result<Vec<u8>> {
    let schema = value.schema().clone();
    converter
        .from_connect(
            topic,
            &SchemaAndValue {
                schema: Some(schema),
                value: Value::Struct(value),
            },
        )?
        .context("a value")
}

#[test]
fn python_confluent_protobuf_deserializer_reads_our_bytes() -> Result<()> {
    let registry = TestRegistry::start();
    let rows = row_schema();
    let events = envelope_schema();
    let key_schema = SchemaBuilder::struct_()
        .name("dbserver1.inventory.customers.Key")
        .field("id", SchemaBuilder::new(Type::Int32).build())
        .build();

    let mut records = Vec::new();
    let mut expected = Vec::new();
    for nullables in Nullables::ALL {
        let values = converter(&registry, nullables, "value")?;
        let topic = nullables.topic("inventory.rows");
        for set in [true, false] {
            records.push(Record {
                topic: topic.clone(),
                field: "value",
                bytes: encode(&values, &topic, row(&rows, set)?)?,
            });
            expected.push(json!({
                "message": "inventory.Row",
                "value": expected_row(set, nullables.has_presence()),
                "decimals": expected_row_decimals(set),
                "field_meta": {
                    "tiny": {"connect.type": "int8"},
                    "small": {"connect.type": "int16"},
                    "price": {"precision": "10", "scale": "2"},
                    "wide": {"precision": "65", "scale": "6"},
                    "opt_price": {"precision": "10", "scale": "2"},
                },
                "nullable_forms": {
                    "opt_int": nullables.form("google.protobuf.Int32Value"),
                    "opt_text": nullables.form("google.protobuf.StringValue"),
                },
                "descriptor_matches": true,
            }));
        }
        let topic = nullables.topic("dbserver1.inventory.customers");
        let keys = converter(&registry, nullables, "key")?;
        records.push(Record {
            topic: topic.clone(),
            field: "key",
            bytes: encode(
                &keys,
                &topic,
                Struct::new(key_schema.clone()).with("id", 1001i32),
            )?,
        });
        expected.push(json!({
            "message": "dbserver1.inventory.customers.Key",
            "value": {"id": 1001},
            "decimals": {},
            "field_meta": {},
            "nullable_forms": {},
            "descriptor_matches": true,
        }));
        for op in ["c", "u"] {
            records.push(Record {
                topic: topic.clone(),
                field: "value",
                bytes: encode(&values, &topic, change_event(&events, op)?)?,
            });
            expected.push(json!({
                "message": "dbserver1.inventory.customers.Envelope",
                "value": expected_event(op),
                "decimals": expected_event_decimals(op),
                "field_meta": {
                    "before.balance": {"precision": "10", "scale": "2"},
                    "after.balance": {"precision": "10", "scale": "2"},
                },
                "nullable_forms": {"ts_ms": nullables.form("google.protobuf.Int64Value")},
                "descriptor_matches": true,
            }));
        }
    }

    let decoded = python_decode(&registry, &records)?;
    assert_eq!(decoded.len(), expected.len());
    for (i, (got, want)) in decoded.iter().zip(&expected).enumerate() {
        assert_eq!(
            got, want,
            "record {i} ({} of topic {}) as Python decoded it",
            records[i].field, records[i].topic
        );
    }
    Ok(())
}
