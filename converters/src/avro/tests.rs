//! AvroConverter tests: exact bytes, the registered schema text, round trips, tombstones
//! and errors, against the in-memory `TestRegistry` over HTTP.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Result;
use proptest::prelude::*;
use sluice_core::plugin::Converter;
use sluice_core::schema::{Schema, SchemaBuilder, SchemaRef, Type};
use sluice_core::value::{Decimal, Struct, Value};
use sluice_core::{ConnectError, SchemaAndValue};
use sluice_schema_registry::TestRegistry;

use super::*;

fn converter(registry: &TestRegistry, extra: &[(&str, &str)]) -> Result<AvroConverter> {
    let mut config = BTreeMap::new();
    config.insert("schema.registry.url".to_owned(), registry.url());
    for (k, v) in extra {
        config.insert((*k).to_owned(), (*v).to_owned());
    }
    Ok(AvroConverter::new(&config)?)
}

fn prim(ty: Type) -> SchemaRef {
    Schema::primitive(ty, false)
}

fn opt(ty: Type) -> SchemaRef {
    Schema::primitive(ty, true)
}

fn data(schema: &SchemaRef, value: Value) -> SchemaAndValue {
    SchemaAndValue {
        schema: Some(schema.clone()),
        value,
    }
}

fn row_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("test.Row")
        .field("id", prim(Type::Int32))
        .field("big", prim(Type::Int64))
        .field("name", prim(Type::String))
        .field("missing", opt(Type::String))
        .field("count", opt(Type::Int64))
        .field("flag", prim(Type::Boolean))
        .field("price", SchemaBuilder::decimal(2).build())
        .field("ratio", prim(Type::Float64))
        .field("small", prim(Type::Int8))
        .field("ts", SchemaBuilder::timestamp().build())
        .build()
}

fn row_value(schema: &SchemaRef) -> Value {
    Value::Struct(
        Struct::new(schema.clone())
            .with("id", 1i32)
            .with("big", -1i64)
            .with("name", "ab")
            .with("count", 300i64)
            .with("flag", true)
            .with("price", Decimal::parse("12.34").expect("decimal"))
            .with("ratio", 1.5f64)
            .with("small", -2i8)
            .with("ts", 1_700_000_000_000i64),
    )
}

/// The Avro binary of `row_value`, worked out by hand from the Avro spec ("Binary
/// Encoding": zig-zag varints, length-prefixed strings/bytes, little-endian doubles,
/// unions as branch index + value).
const ROW_BODY: &[u8] = &[
    0x02, // id 1: zig-zag 2
    0x01, // big -1: zig-zag 1
    0x04, b'a', b'b', // name "ab": length 2, bytes
    0x00, // missing: ["null","string"] branch 0 (null)
    0x02, 0xd8, 0x04, // count: branch 1, then 300 → zig-zag 600 → varint d8 04
    0x01, // flag true
    0x04, 0x04, 0xd2, // price 12.34 at scale 2: unscaled 1234 = 0x04d2, length 2
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f, // ratio 1.5, little-endian IEEE 754
    0x03, // small -2 (int8 widened to int): zig-zag 3
    0x80, 0xa0, 0xab, 0xfe, 0xf9,
    0x62, // ts 1700000000000: zig-zag 3400000000000, 7-bit groups
];

#[test]
fn writes_confluent_framing_and_exact_avro_bytes() -> Result<()> {
    let registry = TestRegistry::start();
    let c = converter(&registry, &[])?;
    let schema = row_schema();
    let bytes = c
        .from_connect("rows", &data(&schema, row_value(&schema)))?
        .expect("a value");
    let id = c.registry().register(
        "rows-value",
        &RegistrySchema::avro(c.avro_schema_json(&schema)?),
    )?;
    let mut expected = vec![0x00];
    expected.extend_from_slice(&id.to_be_bytes());
    expected.extend_from_slice(ROW_BODY);
    assert_eq!(bytes, expected);

    let back = c.to_connect("rows", Some(&bytes))?;
    assert_eq!(back.schema.as_deref(), Some(schema.as_ref()));
    assert_eq!(back.value, row_value(&schema));
    Ok(())
}

#[test]
fn registers_once_and_makes_no_http_call_per_record() -> Result<()> {
    let registry = TestRegistry::start();
    let c = converter(&registry, &[])?;
    let schema = row_schema();
    c.from_connect("rows", &data(&schema, row_value(&schema)))?;
    let after_first = c.registry().http_calls();
    assert_eq!(after_first, 1, "one registration");
    for _ in 0..100 {
        c.from_connect("rows", &data(&schema, row_value(&schema)))?;
    }
    assert_eq!(c.registry().http_calls(), after_first);
    // A second topic is a second subject: one more registration, then none.
    c.from_connect("other", &data(&schema, row_value(&schema)))?;
    c.from_connect("other", &data(&schema, row_value(&schema)))?;
    assert_eq!(c.registry().http_calls(), after_first + 1);
    Ok(())
}

/// A Debezium MySQL change event value schema (the shape of Debezium's `Envelope`,
/// `Source` and transaction block).
fn envelope_schema() -> SchemaRef {
    let row = SchemaBuilder::struct_()
        .name("dbserver1.inventory.customers.Value")
        .optional()
        .field("id", prim(Type::Int32))
        .field("first_name", prim(Type::String))
        .field("email", opt(Type::String))
        .build();
    let source = SchemaBuilder::struct_()
        .name("io.debezium.connector.mysql.Source")
        .field("version", prim(Type::String))
        .field("connector", prim(Type::String))
        .field("name", prim(Type::String))
        .field("ts_ms", prim(Type::Int64))
        .field(
            "snapshot",
            SchemaBuilder::new(Type::String)
                .name("io.debezium.data.Enum")
                .version(1)
                .parameter("allowed", "true,last,false,incremental")
                .default_value(Value::from("false"))
                .optional()
                .build(),
        )
        .field("db", prim(Type::String))
        .field("table", opt(Type::String))
        .field("server_id", prim(Type::Int64))
        .field("file", prim(Type::String))
        .field("pos", prim(Type::Int64))
        .field("row", prim(Type::Int32))
        .build();
    let block = SchemaBuilder::struct_()
        .name("event.block")
        .version(1)
        .optional()
        .field("id", prim(Type::String))
        .field("total_order", prim(Type::Int64))
        .field("data_collection_order", prim(Type::Int64))
        .build();
    SchemaBuilder::struct_()
        .name("dbserver1.inventory.customers.Envelope")
        .version(1)
        .field("before", row.clone())
        .field("after", row)
        .field("source", source)
        .field("op", prim(Type::String))
        .field("ts_ms", opt(Type::Int64))
        .field("transaction", block)
        .build()
}

/// What Confluent's `AvroData.fromConnectSchema` + Avro's `Schema.toString()` give for
/// `envelope_schema()`, written from their rules (confluentinc/schema-registry
/// `avro-data/.../AvroData.java`: `getNameOrDefault`/`splitName`, `maybeMakeOptional`,
/// `addAvroRecordField`, the `connect.*` property order; Apache Avro `Schema.toJson`:
/// namespace only when it changes, a record already written referred to by its short
/// name). It is the same text as the Avro schema of Debezium's MySQL tutorial topics.
const ENVELOPE_AVRO: &str = concat!(
    r#"{"type":"record","name":"Envelope","namespace":"dbserver1.inventory.customers","fields":["#,
    r#"{"name":"before","type":["null",{"type":"record","name":"Value","fields":["#,
    r#"{"name":"id","type":"int"},{"name":"first_name","type":"string"},"#,
    r#"{"name":"email","type":["null","string"],"default":null}],"#,
    r#""connect.name":"dbserver1.inventory.customers.Value"}],"default":null},"#,
    r#"{"name":"after","type":["null","Value"],"default":null},"#,
    r#"{"name":"source","type":{"type":"record","name":"Source","namespace":"io.debezium.connector.mysql","fields":["#,
    r#"{"name":"version","type":"string"},{"name":"connector","type":"string"},"#,
    r#"{"name":"name","type":"string"},{"name":"ts_ms","type":"long"},"#,
    r#"{"name":"snapshot","type":[{"type":"string","connect.version":1,"connect.parameters":{"allowed":"true,last,false,incremental"},"connect.default":"false","connect.name":"io.debezium.data.Enum"},"null"],"default":"false"},"#,
    r#"{"name":"db","type":"string"},{"name":"table","type":["null","string"],"default":null},"#,
    r#"{"name":"server_id","type":"long"},{"name":"file","type":"string"},"#,
    r#"{"name":"pos","type":"long"},{"name":"row","type":"int"}],"#,
    r#""connect.name":"io.debezium.connector.mysql.Source"}},"#,
    r#"{"name":"op","type":"string"},"#,
    r#"{"name":"ts_ms","type":["null","long"],"default":null},"#,
    r#"{"name":"transaction","type":["null",{"type":"record","name":"block","namespace":"event","fields":["#,
    r#"{"name":"id","type":"string"},{"name":"total_order","type":"long"},"#,
    r#"{"name":"data_collection_order","type":"long"}],"#,
    r#""connect.version":1,"connect.name":"event.block"}],"default":null}],"#,
    r#""connect.version":1,"connect.name":"dbserver1.inventory.customers.Envelope"}"#
);

#[test]
fn debezium_envelope_schema_text_matches_avro_data() -> Result<()> {
    let registry = TestRegistry::start();
    let c = converter(&registry, &[])?;
    assert_eq!(c.avro_schema_json(&envelope_schema())?, ENVELOPE_AVRO);
    Ok(())
}

#[test]
fn logical_types_and_small_ints_carry_confluents_properties() -> Result<()> {
    let registry = TestRegistry::start();
    let c = converter(&registry, &[])?;
    let schema = SchemaBuilder::struct_()
        .field("d", SchemaBuilder::decimal(2).build())
        .field(
            "p",
            SchemaBuilder::decimal(2)
                .parameter("connect.decimal.precision", "10")
                .build(),
        )
        .field("day", SchemaBuilder::date().build())
        .field("t", SchemaBuilder::time().build())
        .field("b", prim(Type::Int8))
        .field("s", prim(Type::Int16))
        .field(
            "m",
            SchemaBuilder::map(prim(Type::String), prim(Type::Int32)).build(),
        )
        .field(
            "e",
            SchemaBuilder::map(prim(Type::Int32), prim(Type::String)).build(),
        )
        .build();
    let expected = concat!(
        r#"{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":["#,
        r#"{"name":"d","type":{"type":"bytes","scale":2,"precision":64,"connect.version":1,"connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}},"#,
        r#"{"name":"p","type":{"type":"bytes","scale":2,"precision":10,"connect.version":1,"connect.parameters":{"scale":"2","connect.decimal.precision":"10"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}},"#,
        r#"{"name":"day","type":{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Date","logicalType":"date"}},"#,
        r#"{"name":"t","type":{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Time","logicalType":"time-millis"}},"#,
        r#"{"name":"b","type":{"type":"int","connect.type":"int8"}},"#,
        r#"{"name":"s","type":{"type":"int","connect.type":"int16"}},"#,
        r#"{"name":"m","type":{"type":"map","values":"int"}},"#,
        r#"{"name":"e","type":{"type":"array","items":{"type":"record","name":"MapEntry","fields":[{"name":"key","type":"int"},{"name":"value","type":"string"}]}}}]}"#
    );
    assert_eq!(c.avro_schema_json(&schema)?, expected);
    Ok(())
}

#[test]
fn tombstones_are_kafka_nulls_both_ways() -> Result<()> {
    let registry = TestRegistry::start();
    let c = converter(&registry, &[])?;
    assert_eq!(c.from_connect("t", &SchemaAndValue::NULL)?, None);
    let optional = SchemaBuilder::struct_()
        .optional()
        .field("a", prim(Type::Int32))
        .build();
    assert_eq!(c.from_connect("t", &data(&optional, Value::Null))?, None);
    let back = c.to_connect("t", None)?;
    assert_eq!(back.schema, None);
    assert_eq!(back.value, Value::Null);
    assert_eq!(c.registry().http_calls(), 0);
    Ok(())
}

fn data_error(result: Result<SchemaAndValue, ConnectError>) -> String {
    match result {
        Err(ConnectError::Data(msg)) => msg,
        other => panic!("expected a data error, got {other:?}"),
    }
}

#[test]
fn bad_bytes_give_clear_errors() -> Result<()> {
    let registry = TestRegistry::start();
    let c = converter(&registry, &[])?;
    let msg = data_error(c.to_connect("t", Some(b"{\"a\":1}")));
    assert!(
        msg.contains("Unknown magic byte!") && msg.contains("0x7b"),
        "{msg}"
    );

    let msg = data_error(c.to_connect("t", Some(&[0, 0, 0])));
    assert!(
        msg.contains("truncated") && msg.contains("3 bytes"),
        "{msg}"
    );

    let msg = data_error(c.to_connect("t", Some(&[0, 0, 0, 0x30, 0x39, 2])));
    assert!(
        msg.contains("schema id 12345 is not in this registry"),
        "{msg}"
    );
    assert!(msg.contains("40403"), "{msg}");

    let schema = row_schema();
    let bytes = c
        .from_connect("rows", &data(&schema, row_value(&schema)))?
        .expect("a value");
    let msg = data_error(c.to_connect("rows", Some(&bytes[..bytes.len() - 3])));
    assert!(msg.contains("truncated Avro data"), "{msg}");
    assert!(
        msg.contains(&format!("ends at byte {}", bytes.len() - 3)),
        "{msg}"
    );
    Ok(())
}

#[test]
fn null_for_a_required_schema_is_refused() -> Result<()> {
    let registry = TestRegistry::start();
    let c = converter(&registry, &[])?;
    let schema = row_schema();
    let err = c.from_connect("t", &data(&schema, Value::Null));
    assert!(
        matches!(&err, Err(ConnectError::Data(m)) if m.contains("non-optional")),
        "{err:?}"
    );
    let missing_required = Value::Struct(Struct::new(schema.clone()));
    let err = c.from_connect("t", &data(&schema, missing_required));
    assert!(
        matches!(&err, Err(ConnectError::Data(m)) if m.contains("field id") && m.contains("non-optional")),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn unions_and_fixed_are_refused_for_writing() -> Result<()> {
    let registry = TestRegistry::start();
    let c = converter(&registry, &[])?;
    let union = SchemaBuilder::struct_()
        .name("io.confluent.connect.avro.Union")
        .field("int", opt(Type::Int32))
        .build();
    let fixed = SchemaBuilder::new(Type::Bytes)
        .name("x.F")
        .parameter("connect.fixed.size", "4")
        .build();
    for schema in [union, fixed] {
        let msg = match c.avro_schema_json(&schema) {
            Err(ConnectError::Data(m)) => m,
            other => panic!("expected a data error, got {other:?}"),
        };
        assert!(msg.contains("is not supported"), "{msg}");
    }
    Ok(())
}

#[test]
fn use_latest_version_takes_the_latest_id_when_it_is_the_same_schema() -> Result<()> {
    let registry = TestRegistry::start();
    let writer = converter(&registry, &[])?;
    let schema = row_schema();
    let first = writer
        .from_connect("rows", &data(&schema, row_value(&schema)))?
        .expect("a value");
    let latest = converter(
        &registry,
        &[
            ("use.latest.version", "true"),
            ("auto.register.schemas", "false"),
        ],
    )?;
    let again = latest
        .from_connect("rows", &data(&schema, row_value(&schema)))?
        .expect("a value");
    assert_eq!(again, first);
    assert_eq!(
        latest.registry().http_calls(),
        1,
        "one GET of the latest version"
    );
    Ok(())
}

#[test]
fn key_converter_uses_the_key_subject() -> Result<()> {
    let registry = TestRegistry::start();
    let c = converter(&registry, &[("converter.type", "key")])?;
    let schema = row_schema();
    let bytes = c
        .from_connect("rows", &data(&schema, row_value(&schema)))?
        .expect("a value");
    let reader = converter(&registry, &[])?;
    let (id, _) = reader.registry().latest("rows-key")?;
    assert_eq!(bytes[1..5], id.to_be_bytes());
    Ok(())
}

// ---- round trips ----

#[derive(Debug, Clone, Copy)]
enum Col {
    I8,
    I16,
    I32,
    I64,
    F32,
    F64,
    Bool,
    Str,
    Bytes,
    Dec(i32),
    Date,
    Time,
    Ts,
    ArrI32,
    MapStrI64,
    MapI32Str,
    Nested,
}

fn nested_schema(optional: bool) -> SchemaRef {
    let mut b = SchemaBuilder::struct_()
        .field("a", prim(Type::Int32))
        .field("b", opt(Type::String));
    if optional {
        b = b.optional();
    }
    b.build()
}

fn col_schema(col: Col, optional: bool) -> SchemaRef {
    let b = match col {
        Col::I8 => SchemaBuilder::new(Type::Int8),
        Col::I16 => SchemaBuilder::new(Type::Int16),
        Col::I32 => SchemaBuilder::new(Type::Int32),
        Col::I64 => SchemaBuilder::new(Type::Int64),
        Col::F32 => SchemaBuilder::new(Type::Float32),
        Col::F64 => SchemaBuilder::new(Type::Float64),
        Col::Bool => SchemaBuilder::new(Type::Boolean),
        Col::Str => SchemaBuilder::new(Type::String),
        Col::Bytes => SchemaBuilder::new(Type::Bytes),
        Col::Dec(scale) => SchemaBuilder::decimal(scale),
        Col::Date => SchemaBuilder::date(),
        Col::Time => SchemaBuilder::time(),
        Col::Ts => SchemaBuilder::timestamp(),
        Col::ArrI32 => SchemaBuilder::array(opt(Type::Int32)),
        Col::MapStrI64 => SchemaBuilder::map(prim(Type::String), prim(Type::Int64)),
        Col::MapI32Str => SchemaBuilder::map(prim(Type::Int32), prim(Type::String)),
        Col::Nested => return nested_schema(optional),
    };
    if optional {
        b.optional().build()
    } else {
        b.build()
    }
}

fn col_value(col: Col) -> BoxedStrategy<Value> {
    match col {
        Col::I8 => any::<i8>().prop_map(Value::Int8).boxed(),
        Col::I16 => any::<i16>().prop_map(Value::Int16).boxed(),
        Col::I32 | Col::Date | Col::Time => any::<i32>().prop_map(Value::Int32).boxed(),
        Col::I64 | Col::Ts => any::<i64>().prop_map(Value::Int64).boxed(),
        Col::F32 => any::<f32>()
            .prop_filter("NaN is not equal to itself", |f| !f.is_nan())
            .prop_map(Value::Float32)
            .boxed(),
        Col::F64 => any::<f64>()
            .prop_filter("NaN is not equal to itself", |f| !f.is_nan())
            .prop_map(Value::Float64)
            .boxed(),
        Col::Bool => any::<bool>().prop_map(Value::Boolean).boxed(),
        Col::Str => ".{0,12}".prop_map(Value::String).boxed(),
        Col::Bytes => proptest::collection::vec(any::<u8>(), 0..12)
            .prop_map(Value::Bytes)
            .boxed(),
        Col::Dec(scale) => (any::<i64>(), any::<i64>())
            .prop_map(move |(hi, lo)| {
                let big = num_bigint::BigInt::from(hi) * num_bigint::BigInt::from(u64::MAX)
                    + num_bigint::BigInt::from(lo);
                Value::Decimal(Decimal::new(big, scale))
            })
            .boxed(),
        Col::ArrI32 => proptest::collection::vec(proptest::option::of(any::<i32>()), 0..5)
            .prop_map(|v| Value::Array(v.into_iter().map(Value::from).collect()))
            .boxed(),
        Col::MapStrI64 => proptest::collection::btree_map("[a-z]{1,4}", any::<i64>(), 0..4)
            .prop_map(|m| {
                Value::Map(
                    m.into_iter()
                        .map(|(k, v)| (Value::String(k), Value::Int64(v)))
                        .collect(),
                )
            })
            .boxed(),
        Col::MapI32Str => proptest::collection::btree_map(any::<i32>(), ".{0,4}", 0..4)
            .prop_map(|m| {
                Value::Map(
                    m.into_iter()
                        .map(|(k, v)| (Value::Int32(k), Value::String(v)))
                        .collect(),
                )
            })
            .boxed(),
        Col::Nested => (any::<i32>(), proptest::option::of(".{0,6}"))
            .prop_map(|(a, b)| (a, b))
            .prop_map(|(a, b)| {
                Value::Struct(
                    Struct::from_values(
                        nested_schema(false),
                        vec![Value::Int32(a), Value::from(b)],
                    )
                    .expect("two fields"),
                )
            })
            .boxed(),
    }
}

fn col() -> impl Strategy<Value = Col> {
    prop_oneof![
        Just(Col::I8),
        Just(Col::I16),
        Just(Col::I32),
        Just(Col::I64),
        Just(Col::F32),
        Just(Col::F64),
        Just(Col::Bool),
        Just(Col::Str),
        Just(Col::Bytes),
        (0..6i32).prop_map(Col::Dec),
        Just(Col::Date),
        Just(Col::Time),
        Just(Col::Ts),
        Just(Col::ArrI32),
        Just(Col::MapStrI64),
        Just(Col::MapI32Str),
        Just(Col::Nested),
    ]
}

/// A struct schema of random columns and a matching value.
fn row() -> impl Strategy<Value = (SchemaRef, Value)> {
    proptest::collection::vec((col(), any::<bool>()), 1..8)
        .prop_flat_map(|cols| {
            let mut b = SchemaBuilder::struct_().name("test.Random");
            for (i, (c, optional)) in cols.iter().enumerate() {
                b = b.field(format!("c{i}"), col_schema(*c, *optional));
            }
            let schema = b.build();
            let values: Vec<BoxedStrategy<Value>> = cols
                .iter()
                .map(|(c, optional)| {
                    if *optional {
                        proptest::option::of(col_value(*c))
                            .prop_map(|v| v.unwrap_or(Value::Null))
                            .boxed()
                    } else {
                        col_value(*c)
                    }
                })
                .collect();
            (Just(schema), values)
        })
        .prop_map(|(schema, values)| {
            // Nested struct values carry the non-optional nested schema; re-home them on the
            // field's own schema so the struct equals what decoding builds.
            let values = schema
                .fields
                .iter()
                .zip(values)
                .map(|(f, v)| match v {
                    Value::Struct(s) => Value::Struct(
                        Struct::from_values(f.schema.clone(), s.into_values())
                            .expect("same fields"),
                    ),
                    other => other,
                })
                .collect();
            let value =
                Value::Struct(Struct::from_values(schema.clone(), values).expect("one per field"));
            (schema, value)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trips_schema_and_value((schema, value) in row()) {
        static REGISTRY: std::sync::OnceLock<TestRegistry> = std::sync::OnceLock::new();
        static TOPIC: AtomicUsize = AtomicUsize::new(0);
        let registry = REGISTRY.get_or_init(TestRegistry::start);
        let c = converter(registry, &[]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // One topic per case: random schemas are not compatible with each other.
        let topic = format!("t{}", TOPIC.fetch_add(1, Ordering::Relaxed));
        let bytes = c
            .from_connect(&topic, &data(&schema, value.clone()))
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .expect("a value");
        let back = c.to_connect(&topic, Some(&bytes)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.schema.as_deref(), Some(schema.as_ref()));
        prop_assert_eq!(back.value, value);
    }
}
