//! Tests of the Protobuf converter: schema text, exact bytes, round trips, errors.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use prost::Message as _;
use prost_reflect::DynamicMessage;
use sluice_core::plugin::Converter;
use sluice_core::value::{Decimal, Struct};
use sluice_core::{SchemaAndValue, SchemaBuilder, SchemaRef, Type, Value};

use super::schema::TAG_PARAM;
use super::*;

/// Encodes with id 1, compiles our own text, decodes: (bytes, schema, value).
fn round_trip(
    schema: &SchemaRef,
    value: &Value,
    settings: Settings,
    read: ReadSettings,
) -> (Vec<u8>, SchemaRef, Value) {
    let generated = generate(schema, settings).expect("generate");
    let mut bytes = Vec::new();
    encode_record(&generated, 1, value, &mut bytes).expect("encode");
    let pool = descriptor::compile(&generated.text(), HashMap::new()).expect("compile");
    let header = wire::read_header(&bytes).expect("header");
    assert_eq!(header.indexes, [0]);
    let message = descriptor::message_at(&pool, &header.indexes).expect("message");
    assert_eq!(message.full_name(), generated.full_name);
    let body = &bytes[header.body_start..];
    // A standard protobuf implementation re-encodes our body to the same bytes (except
    // -0.0, which Java writes and prost-reflect drops as a default; see negative_zero_is_written).
    let dynamic = DynamicMessage::decode(message.clone(), body).expect("prost-reflect decode");
    if !has_negative_zero(value) {
        assert_eq!(dynamic.encode_to_vec(), body, "canonical encoding");
    }
    let read_schema = decode::connect_schema(&message, read).expect("connect schema");
    let read_value = decode::decode_value(&message, &read_schema, body).expect("decode");
    (bytes, read_schema, read_value)
}

fn has_negative_zero(v: &Value) -> bool {
    match v {
        Value::Float32(x) => x.to_bits() == (-0.0f32).to_bits(),
        Value::Float64(x) => x.to_bits() == (-0.0f64).to_bits(),
        Value::Struct(s) => s.values().iter().any(has_negative_zero),
        Value::Array(items) => items.iter().any(has_negative_zero),
        Value::Map(entries) => entries
            .iter()
            .any(|(k, v)| has_negative_zero(k) || has_negative_zero(v)),
        _ => false,
    }
}

fn debezium_value_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("dbserver1.inventory.customers.Value")
        .field("id", SchemaBuilder::new(Type::Int32).build())
        .field("first_name", SchemaBuilder::new(Type::String).build())
        .field(
            "price",
            SchemaBuilder::decimal(2)
                .parameter("connect.decimal.precision", "10")
                .optional()
                .build(),
        )
        .field("birth", SchemaBuilder::date().optional().build())
        .field("small", SchemaBuilder::new(Type::Int16).optional().build())
        .field(
            "updated",
            SchemaBuilder::new(Type::String)
                .name("io.debezium.time.ZonedTimestamp")
                .version(1)
                .optional()
                .build(),
        )
        .optional()
        .build()
}

fn debezium_envelope() -> SchemaRef {
    let value = debezium_value_schema();
    let source = SchemaBuilder::struct_()
        .name("io.debezium.connector.mysql.Source")
        .field("version", SchemaBuilder::new(Type::String).build())
        .field("connector", SchemaBuilder::new(Type::String).build())
        .field("ts_ms", SchemaBuilder::new(Type::Int64).build())
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
        .field("db", SchemaBuilder::new(Type::String).build())
        .field("table", SchemaBuilder::new(Type::String).optional().build())
        .build();
    let block = SchemaBuilder::struct_()
        .name("event.block")
        .version(1)
        .field("id", SchemaBuilder::new(Type::String).build())
        .field("total_order", SchemaBuilder::new(Type::Int64).build())
        .optional()
        .build();
    SchemaBuilder::struct_()
        .name("dbserver1.inventory.customers.Envelope")
        .version(1)
        .field("before", value.clone())
        .field("after", value)
        .field("source", source)
        .field("op", SchemaBuilder::new(Type::String).build())
        .field("ts_ms", SchemaBuilder::new(Type::Int64).optional().build())
        .field("transaction", block)
        .build()
}

const ENVELOPE_PROTO: &str = r#"syntax = "proto3";
package dbserver1.inventory.customers;

import "confluent/type/decimal.proto";
import "confluent/meta.proto";
import "google/type/date.proto";

message Envelope {
  Value before = 1;
  Value after = 2;
  Source source = 3;
  string op = 4;
  int64 ts_ms = 5;
  block transaction = 6;

  message Value {
    int32 id = 1;
    string first_name = 2;
    confluent.type.Decimal price = 3 [(confluent.field_meta) = {
      params: [
        {
          key: "precision",
          value: "10"
        },
        {
          key: "scale",
          value: "2"
        }
      ]
    }];
    google.type.Date birth = 4;
    int32 small = 5 [(confluent.field_meta) = {
      params: [
        {
          key: "connect.type",
          value: "int16"
        }
      ]
    }];
    string updated = 6;
  }
  message Source {
    string version = 1;
    string connector = 2;
    int64 ts_ms = 3;
    string snapshot = 4;
    string db = 5;
    string table = 6;
  }
  message block {
    string id = 1;
    int64 total_order = 2;
  }
}
"#;

#[test]
fn debezium_envelope_proto_text() {
    let generated = generate(&debezium_envelope(), Settings::default()).expect("generate");
    assert_eq!(generated.text(), ENVELOPE_PROTO);
    assert_eq!(
        generated.full_name,
        "dbserver1.inventory.customers.Envelope"
    );
}

#[test]
fn nullable_settings_change_labels_and_types() {
    let schema = SchemaBuilder::struct_()
        .name("T")
        .field("a", SchemaBuilder::new(Type::Int64).optional().build())
        .field("b", SchemaBuilder::new(Type::Int8).optional().build())
        .field("c", SchemaBuilder::new(Type::String).build())
        .build();
    let optional = Settings {
        optional_for_nullables: true,
        ..Settings::default()
    };
    let text = generate(&schema, optional).expect("generate").text();
    assert!(text.contains("  optional int64 a = 1;\n"), "{text}");
    assert!(
        text.contains("  optional int32 b = 2 [(confluent.field_meta)"),
        "{text}"
    );
    assert!(text.contains("  string c = 3;\n"), "{text}");
    let wrapped = Settings {
        wrapper_for_nullables: true,
        ..Settings::default()
    };
    let text = generate(&schema, wrapped).expect("generate").text();
    assert!(
        text.contains("import \"google/protobuf/wrappers.proto\";"),
        "{text}"
    );
    assert!(
        text.contains("  google.protobuf.Int64Value a = 1;\n"),
        "{text}"
    );
    assert!(
        text.contains("  google.protobuf.Int32Value b = 2 [("),
        "{text}"
    );
    assert!(text.starts_with("syntax = \"proto3\";\n\nimport"), "{text}");
    assert!(text.contains("\nmessage T {\n"), "{text}");
}

#[test]
fn unnamed_structs_and_maps_get_connect_default_names() {
    let inner = SchemaBuilder::struct_()
        .field("x", SchemaBuilder::new(Type::Int32).build())
        .build();
    let map = SchemaBuilder::map(
        SchemaBuilder::new(Type::String).build(),
        SchemaBuilder::new(Type::Int32).build(),
    )
    .build();
    let schema = SchemaBuilder::struct_()
        .field("inner", inner)
        .field("counts", map)
        .field(
            "tags",
            SchemaBuilder::array(SchemaBuilder::new(Type::String).build()).build(),
        )
        .build();
    let text = generate(&schema, Settings::default())
        .expect("generate")
        .text();
    let expected = "syntax = \"proto3\";\n\nmessage ConnectDefault1 {\n  ConnectDefault2 inner = 1;\n  repeated ConnectDefault3Entry counts = 2;\n  repeated string tags = 3;\n\n  message ConnectDefault2 {\n    int32 x = 1;\n  }\n  message ConnectDefault3Entry {\n    string key = 1;\n    int32 value = 2;\n  }\n}\n";
    assert_eq!(text, expected);
}

#[test]
fn exact_bytes_of_a_small_record() {
    let schema = SchemaBuilder::struct_()
        .name("t.Row")
        .field("id", SchemaBuilder::new(Type::Int32).build())
        .field("name", SchemaBuilder::new(Type::String).optional().build())
        .field("neg", SchemaBuilder::new(Type::Int8).build())
        .field("zero", SchemaBuilder::new(Type::Int64).build())
        .field(
            "nums",
            SchemaBuilder::array(SchemaBuilder::new(Type::Int32).build()).build(),
        )
        .build();
    let value = Value::Struct(
        Struct::new(schema.clone())
            .with("id", 150)
            .with("name", "hi")
            .with("neg", -1i8)
            .with("zero", 0i64)
            .with(
                "nums",
                Value::Array(vec![Value::Int32(1), Value::Int32(300)]),
            ),
    );
    let generated = generate(&schema, Settings::default()).expect("generate");
    let mut out = Vec::new();
    encode_record(&generated, 0x0102_0304, &value, &mut out).expect("encode");
    assert_eq!(
        out,
        [
            0x00, 0x01, 0x02, 0x03, 0x04, // magic, id
            0x00, // message indexes [0]
            0x08, 0x96, 0x01, // id = 150
            0x12, 0x02, b'h', b'i', // name
            0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0x01, // neg = -1 (10 bytes)
            // zero = 0 is not written (proto3 implicit presence)
            0x2a, 0x03, 0x01, 0xac, 0x02, // nums packed [1, 300]
        ]
    );
}

#[test]
fn nested_messages_of_128_bytes_and_more_get_long_length_prefixes() {
    let inner = SchemaBuilder::struct_()
        .name("Inner")
        .field("s", SchemaBuilder::new(Type::String).build())
        .build();
    let schema = SchemaBuilder::struct_()
        .name("Outer")
        .field("inner", inner.clone())
        .build();
    let text = "x".repeat(200);
    let value = Value::Struct(
        Struct::new(schema.clone()).with("inner", Struct::new(inner).with("s", text.as_str())),
    );
    let (bytes, _, read) = round_trip(
        &schema,
        &value,
        Settings::default(),
        ReadSettings::default(),
    );
    // key 0x0a, length 203 = 0xcb 0x01, then key 0x0a, length 200 = 0xc8 0x01
    assert_eq!(&bytes[6..11], [0x0a, 0xcb, 0x01, 0x0a, 0xc8]);
    let Value::Struct(s) = read else {
        panic!("struct")
    };
    let Some(Value::Struct(i)) = s.get("inner") else {
        panic!("inner")
    };
    assert_eq!(i.get("s"), Some(&Value::String(text)));
}

#[test]
fn debezium_envelope_round_trips_as_confluent_reads_it() {
    let envelope = debezium_envelope();
    let value_schema = debezium_value_schema();
    let after = Struct::new(value_schema)
        .with("id", 1001)
        .with("first_name", "Sally")
        .with("price", Decimal::new(-12345, 2))
        .with("birth", 19_723)
        .with("small", -7i16)
        .with("updated", "2024-01-01T00:00:00Z");
    let source = Struct::new(envelope.field("source").expect("source").schema.clone())
        .with("version", "2.7.0")
        .with("connector", "mysql")
        .with("ts_ms", 1_700_000_000_000i64)
        .with("db", "inventory");
    let record = Value::Struct(
        Struct::new(envelope.clone())
            .with("after", after)
            .with("source", source)
            .with("op", "c")
            .with("ts_ms", 1_700_000_000_123i64),
    );
    let (_, schema, value) = round_trip(
        &envelope,
        &record,
        Settings::default(),
        ReadSettings::default(),
    );
    assert_eq!(schema.name(), Some("Envelope"));
    let Value::Struct(s) = value else {
        panic!("struct")
    };
    assert_eq!(s.get("before"), Some(&Value::Null));
    assert_eq!(s.get("op"), Some(&Value::from("c")));
    assert_eq!(s.get("transaction"), Some(&Value::Null));
    let Some(Value::Struct(after)) = s.get("after") else {
        panic!("after")
    };
    assert_eq!(
        after.get("price"),
        Some(&Value::Decimal(Decimal::new(-12345, 2)))
    );
    assert_eq!(after.get("birth"), Some(&Value::Int32(19_723)));
    assert_eq!(after.get("small"), Some(&Value::Int16(-7)));
    let price = &after.schema().field("price").expect("price").schema;
    assert_eq!(price.name(), Some("org.apache.kafka.connect.data.Decimal"));
    assert_eq!(price.parameter("scale"), Some("2"));
    assert_eq!(price.parameter("connect.decimal.precision"), Some("10"));
    assert_eq!(price.parameter(TAG_PARAM), Some("3"));
    let Some(Value::Struct(source)) = s.get("source") else {
        panic!("source")
    };
    // The Debezium default "false" is written for the null snapshot, as Struct.get returns it.
    assert_eq!(source.get("snapshot"), Some(&Value::from("false")));
    // A null optional string without optional.for.nullables reads back as "" (Confluent's behaviour).
    assert_eq!(source.get("table"), Some(&Value::from("")));
}

#[test]
fn bad_bytes_fail_with_clear_messages() {
    let short = wire::read_header(&[0, 0, 1]).expect_err("short");
    assert!(short.to_string().contains("at least 6 bytes"), "{short}");
    let magic = wire::read_header(&[1, 0, 0, 0, 1, 0]).expect_err("magic");
    assert!(
        magic.to_string().contains("unknown magic byte 0x01"),
        "{magic}"
    );
    let schema = SchemaBuilder::struct_()
        .name("R")
        .field("s", SchemaBuilder::new(Type::String).build())
        .build();
    let generated = generate(&schema, Settings::default()).expect("generate");
    let pool = descriptor::compile(&generated.text(), HashMap::new()).expect("compile");
    let no_message = descriptor::message_at(&pool, &[3]).expect_err("index");
    assert!(no_message.to_string().contains("[3]"), "{no_message}");
    let message = descriptor::message_at(&pool, &[0]).expect("message");
    let connect = decode::connect_schema(&message, ReadSettings::default()).expect("schema");
    // field 1, length 5, but only 2 bytes follow
    let truncated =
        decode::decode_value(&message, &connect, &[0x0a, 0x05, b'a', b'b']).expect_err("truncated");
    assert!(
        truncated.to_string().contains("not a valid R message"),
        "{truncated}"
    );
}

#[test]
fn values_that_do_not_fit_name_the_field() {
    let schema = SchemaBuilder::struct_()
        .name("R")
        .field("n", SchemaBuilder::new(Type::Int32).build())
        .build();
    let generated = generate(&schema, Settings::default()).expect("generate");
    let bad = Value::Struct(Struct::new(schema).with("n", "text"));
    let err = encode_record(&generated, 1, &bad, &mut Vec::new()).expect_err("mismatch");
    assert_eq!(
        err.to_string(),
        "at n: a string value does not fit the schema, which expects int32"
    );
    let nested_array = SchemaBuilder::struct_()
        .name("A")
        .field(
            "m",
            SchemaBuilder::array(
                SchemaBuilder::array(SchemaBuilder::new(Type::Int32).build()).build(),
            )
            .build(),
        )
        .build();
    let err = generate(&nested_array, Settings::default()).expect_err("array of arrays");
    assert!(
        err.to_string().starts_with("at m: an array of arrays"),
        "{err}"
    );
}

fn converter(extra: &[(&str, &str)]) -> ProtobufConverter {
    let mut config: BTreeMap<String, String> = BTreeMap::new();
    config.insert("schema.registry.url".into(), "http://127.0.0.1:9".into());
    for (k, v) in extra {
        config.insert((*k).into(), (*v).into());
    }
    ProtobufConverter::new(&config).expect("converter")
}

#[test]
fn tombstones_and_bad_magic_need_no_registry() {
    let c = converter(&[]);
    let schema = SchemaBuilder::struct_().name("R").optional().build();
    let tombstone = SchemaAndValue {
        schema: Some(schema),
        value: Value::Null,
    };
    assert_eq!(c.from_connect("t", &tombstone).expect("null"), None);
    assert_eq!(
        c.from_connect("t", &SchemaAndValue::NULL).expect("null"),
        None
    );
    assert_eq!(c.to_connect("t", None).expect("null"), SchemaAndValue::NULL);
    let err = c
        .to_connect("t", Some(&[7, 0, 0, 0, 1, 0]))
        .expect_err("magic");
    assert!(
        err.to_string().contains("topic t: unknown magic byte 0x07"),
        "{err}"
    );
    assert_eq!(c.registry().http_calls(), 0);
}

#[test]
fn unsupported_settings_are_refused() {
    let mut config: BTreeMap<String, String> = BTreeMap::new();
    config.insert("schema.registry.url".into(), "http://127.0.0.1:9".into());
    config.insert("skip.known.types".into(), "false".into());
    let err = ProtobufConverter::new(&config).expect_err("skip.known.types=false");
    assert!(err.to_string().contains("skip.known.types"), "{err}");
}

// ---- property: Connect schema + value → bytes → back, as Confluent reads it ----

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
    Dec,
    Date,
    Time,
    Ts,
    Json,
}

fn col_schema(c: Col, optional: bool) -> SchemaRef {
    let b = match c {
        Col::I8 => SchemaBuilder::new(Type::Int8),
        Col::I16 => SchemaBuilder::new(Type::Int16),
        Col::I32 => SchemaBuilder::new(Type::Int32),
        Col::I64 => SchemaBuilder::new(Type::Int64),
        Col::F32 => SchemaBuilder::new(Type::Float32),
        Col::F64 => SchemaBuilder::new(Type::Float64),
        Col::Bool => SchemaBuilder::new(Type::Boolean),
        Col::Str => SchemaBuilder::new(Type::String),
        Col::Bytes => SchemaBuilder::new(Type::Bytes),
        Col::Dec => SchemaBuilder::decimal(3).parameter("connect.decimal.precision", "20"),
        Col::Date => SchemaBuilder::date(),
        Col::Time => SchemaBuilder::time(),
        Col::Ts => SchemaBuilder::timestamp(),
        Col::Json => SchemaBuilder::new(Type::String)
            .name("io.debezium.data.Json")
            .version(1),
    };
    if optional { b.optional() } else { b }.build()
}

/// What Confluent's reader gives back for a column schema: physical type, the logical
/// types it knows, optional unless `optional.for.nullables` keeps it required, and the tag.
fn read_back_schema(c: Col, optional: bool, tag: usize, opt_for_nullables: bool) -> SchemaRef {
    let b = match c {
        Col::Json => SchemaBuilder::new(Type::String),
        Col::Dec => SchemaBuilder::decimal(3).parameter("connect.decimal.precision", "20"),
        Col::Date => SchemaBuilder::date(),
        Col::Time => SchemaBuilder::time(),
        Col::Ts => SchemaBuilder::timestamp(),
        other => SchemaBuilder::new(col_schema(other, false).ty),
    };
    let is_message = matches!(c, Col::Dec | Col::Date | Col::Time | Col::Ts);
    let b = if is_message || !opt_for_nullables || optional {
        b.optional()
    } else {
        b
    };
    b.parameter(TAG_PARAM, tag.to_string()).build()
}

fn col_value(c: Col) -> BoxedStrategy<Value> {
    match c {
        Col::I8 => any::<i8>().prop_map(Value::Int8).boxed(),
        Col::I16 => any::<i16>().prop_map(Value::Int16).boxed(),
        Col::I32 => any::<i32>().prop_map(Value::Int32).boxed(),
        Col::I64 => any::<i64>().prop_map(Value::Int64).boxed(),
        Col::F32 => any::<f32>()
            .prop_filter("not NaN", |f| !f.is_nan())
            .prop_map(Value::Float32)
            .boxed(),
        Col::F64 => any::<f64>()
            .prop_filter("not NaN", |f| !f.is_nan())
            .prop_map(Value::Float64)
            .boxed(),
        Col::Bool => any::<bool>().prop_map(Value::Boolean).boxed(),
        Col::Str | Col::Json => ".{0,40}".prop_map(Value::String).boxed(),
        Col::Bytes => proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(Value::Bytes)
            .boxed(),
        Col::Dec => any::<i64>()
            .prop_map(|u| Value::Decimal(Decimal::new(u, 3)))
            .boxed(),
        Col::Date => (-800_000i32..3_000_000).prop_map(Value::Int32).boxed(),
        Col::Time => (0i32..86_400_000).prop_map(Value::Int32).boxed(),
        Col::Ts => (-62_135_596_800_000i64..253_402_300_799_999)
            .prop_map(Value::Int64)
            .boxed(),
    }
}

/// A null read back without presence: the protobuf default.
fn default_of(c: Col) -> Value {
    match c {
        Col::I8 => Value::Int8(0),
        Col::I16 => Value::Int16(0),
        Col::I32 => Value::Int32(0),
        Col::I64 => Value::Int64(0),
        Col::F32 => Value::Float32(0.0),
        Col::F64 => Value::Float64(0.0),
        Col::Bool => Value::Boolean(false),
        Col::Str | Col::Json => Value::String(String::new()),
        Col::Bytes => Value::Bytes(Vec::new()),
        Col::Dec | Col::Date | Col::Time | Col::Ts => Value::Null,
    }
}

fn col() -> impl Strategy<Value = (Col, bool)> {
    let kinds = prop_oneof![
        Just(Col::I8),
        Just(Col::I16),
        Just(Col::I32),
        Just(Col::I64),
        Just(Col::F32),
        Just(Col::F64),
        Just(Col::Bool),
        Just(Col::Str),
        Just(Col::Bytes),
        Just(Col::Dec),
        Just(Col::Date),
        Just(Col::Time),
        Just(Col::Ts),
        Just(Col::Json),
    ];
    (kinds, any::<bool>())
}

fn row() -> impl Strategy<Value = Vec<(Col, bool, Option<Value>)>> {
    proptest::collection::vec(col(), 1..24).prop_flat_map(|cols| {
        cols.into_iter()
            .map(|(c, optional)| {
                let v = col_value(c);
                let v = if optional {
                    proptest::option::of(v).boxed()
                } else {
                    v.prop_map(Some).boxed()
                };
                v.prop_map(move |v| (c, optional, v))
            })
            .collect::<Vec<_>>()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn rows_round_trip(row in row(), opt_for_nullables in any::<bool>()) {
        let mut b = SchemaBuilder::struct_().name("prop.test.Row");
        for (i, (c, optional, _)) in row.iter().enumerate() {
            b = b.field(format!("c{i}"), col_schema(*c, *optional));
        }
        let schema = b.build();
        let value = Value::Struct(
            Struct::from_values(schema.clone(), row.iter().map(|(_, _, v)| v.clone().unwrap_or(Value::Null)).collect())
                .expect("struct"),
        );
        let settings = Settings { optional_for_nullables: opt_for_nullables, ..Settings::default() };
        let read = ReadSettings { optional_for_nullables: opt_for_nullables, ..ReadSettings::default() };
        let (_, read_schema, read_value) = round_trip(&schema, &value, settings, read);

        let mut expected = SchemaBuilder::struct_().name("Row");
        for (i, (c, optional, _)) in row.iter().enumerate() {
            expected = expected.field(format!("c{i}"), read_back_schema(*c, *optional, i + 1, opt_for_nullables));
        }
        let expected = expected.build();
        prop_assert_eq!(&read_schema, &expected);
        let expected_values = row.iter().map(|(c, _, v)| match v {
            Some(v) => v.clone(),
            None if opt_for_nullables => Value::Null,
            None => default_of(*c),
        }).collect();
        let expected_value = Value::Struct(Struct::from_values(expected, expected_values).expect("struct"));
        prop_assert_eq!(read_value, expected_value);
    }

    #[test]
    fn arrays_maps_and_nested_structs_round_trip(
        nums in proptest::collection::vec(any::<i64>(), 0..8),
        words in proptest::collection::vec(".{0,8}", 0..8),
        counts in proptest::collection::vec((".{0,8}", any::<i32>()), 0..6),
        x in any::<i32>(),
    ) {
        let inner = SchemaBuilder::struct_().name("a.Inner").field("x", SchemaBuilder::new(Type::Int32).build()).optional().build();
        let map = SchemaBuilder::map(SchemaBuilder::new(Type::String).build(), SchemaBuilder::new(Type::Int32).build()).name("counts").build();
        let schema = SchemaBuilder::struct_()
            .name("a.Outer")
            .field("nums", SchemaBuilder::array(SchemaBuilder::new(Type::Int64).build()).build())
            .field("words", SchemaBuilder::array(SchemaBuilder::new(Type::String).build()).build())
            .field("counts", map)
            .field("inner", inner.clone())
            .field("inners", SchemaBuilder::array(inner.clone()).build())
            .build();
        let inner_value = Struct::new(inner).with("x", x);
        let value = Value::Struct(
            Struct::new(schema.clone())
                .with("nums", Value::Array(nums.iter().copied().map(Value::Int64).collect()))
                .with("words", Value::Array(words.iter().cloned().map(Value::String).collect()))
                .with("counts", Value::Map(counts.iter().map(|(k, v)| (Value::from(k.as_str()), Value::Int32(*v))).collect()))
                .with("inner", inner_value.clone())
                .with("inners", Value::Array(vec![Value::Struct(inner_value)])),
        );
        let (_, _, read) = round_trip(&schema, &value, Settings::default(), ReadSettings::default());
        let Value::Struct(read) = read else { panic!("struct") };
        prop_assert_eq!(read.get("nums"), Some(&Value::Array(nums.into_iter().map(Value::Int64).collect())));
        prop_assert_eq!(read.get("words"), Some(&Value::Array(words.into_iter().map(Value::String).collect())));
        prop_assert_eq!(read.get("counts"), Some(&Value::Map(counts.into_iter().map(|(k, v)| (Value::String(k), Value::Int32(v))).collect())));
        let Some(Value::Struct(inner)) = read.get("inner") else { panic!("inner") };
        prop_assert_eq!(inner.get("x"), Some(&Value::Int32(x)));
        let map_schema = &read.schema().field("counts").expect("counts").schema;
        prop_assert_eq!(map_schema.name(), Some("counts"));
        prop_assert_eq!(map_schema.ty, Type::Map);
    }
}

#[test]
fn negative_zero_is_written() {
    let schema = SchemaBuilder::struct_()
        .name("Z")
        .field("d", SchemaBuilder::new(Type::Float64).build())
        .field("f", SchemaBuilder::new(Type::Float32).optional().build())
        .build();
    let value = Value::Struct(
        Struct::new(schema.clone())
            .with("d", -0.0f64)
            .with("f", Value::Null),
    );
    let (bytes, _, read) = round_trip(
        &schema,
        &value,
        Settings::default(),
        ReadSettings::default(),
    );
    assert_eq!(&bytes[6..], [0x09, 0, 0, 0, 0, 0, 0, 0, 0x80]);
    let Value::Struct(s) = read else {
        panic!("struct")
    };
    assert_eq!(
        s.get("d")
            .map(|v| matches!(v, Value::Float64(x) if x.to_bits() == (-0.0f64).to_bits())),
        Some(true)
    );
}

#[test]
fn converter_registers_once_and_reads_back_over_http() {
    let registry = sluice_schema_registry::TestRegistry::start();
    let url = registry.url();
    let writer = converter(&[("schema.registry.url", url.as_str())]);
    let envelope = debezium_envelope();
    let value_schema = debezium_value_schema();
    let record = |id: i32| {
        let after = Struct::new(value_schema.clone())
            .with("id", id)
            .with("first_name", "Anne")
            .with("price", Decimal::new(199, 2));
        SchemaAndValue::new(
            envelope.clone(),
            Struct::new(envelope.clone())
                .with("after", after)
                .with("op", "r"),
        )
    };
    let first = writer
        .from_connect("dbserver1.inventory.customers", &record(1))
        .expect("write")
        .expect("bytes");
    let calls = writer.registry().http_calls();
    assert_eq!(calls, 1, "one registration");
    for id in 2..50 {
        writer
            .from_connect("dbserver1.inventory.customers", &record(id))
            .expect("write");
    }
    assert_eq!(
        writer.registry().http_calls(),
        calls,
        "no HTTP after warm-up"
    );
    // Framing: magic, the registered id, message indexes [0] as one 0x00 byte.
    let (id, schema) = writer
        .registry()
        .latest("dbserver1.inventory.customers-value")
        .expect("latest");
    assert_eq!(
        first[..6],
        [
            0,
            (id >> 24) as u8,
            (id >> 16) as u8,
            (id >> 8) as u8,
            id as u8,
            0
        ]
    );
    assert_eq!(schema.schema_type, SchemaType::Protobuf);
    // The built-in registry stores the text without its final newline.
    assert_eq!(schema.schema.trim_end(), ENVELOPE_PROTO.trim_end());

    let reader = converter(&[("schema.registry.url", url.as_str())]);
    let read = reader
        .to_connect("dbserver1.inventory.customers", Some(&first))
        .expect("read");
    let Value::Struct(s) = read.value else {
        panic!("struct")
    };
    assert_eq!(s.get("op"), Some(&Value::from("r")));
    let Some(Value::Struct(after)) = s.get("after") else {
        panic!("after")
    };
    assert_eq!(
        after.get("price"),
        Some(&Value::Decimal(Decimal::new(199, 2)))
    );
    let reads = reader.registry().http_calls();
    reader
        .to_connect("dbserver1.inventory.customers", Some(&first))
        .expect("read again");
    assert_eq!(
        reader.registry().http_calls(),
        reads,
        "schema by id is cached"
    );
}

#[test]
fn decimal_precision_counts_digits_as_java() {
    let schema = SchemaBuilder::struct_()
        .name("D")
        .field("d", SchemaBuilder::decimal(1).build())
        .build();
    for (unscaled, digits) in [(0i64, 1u8), (9, 1), (10, 2), (-999, 3), (i64::MIN, 19)] {
        let value = Value::Struct(Struct::new(schema.clone()).with("d", Decimal::new(unscaled, 1)));
        let (bytes, _, _) = round_trip(
            &schema,
            &value,
            Settings::default(),
            ReadSettings::default(),
        );
        let body = &bytes[6..];
        let unscaled_len = usize::from(body[3]);
        // key 0x0a, length, then 0x0a len value, 0x10 precision, 0x18 scale
        assert_eq!(
            &body[4 + unscaled_len..],
            [0x10, digits, 0x18, 1],
            "{unscaled}"
        );
    }
}
