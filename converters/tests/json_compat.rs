//! Byte-for-byte compatibility of `JsonConverter` with Kafka Connect's own
//! `org.apache.kafka.connect.json.JsonConverter`.
//!
//! Every expected string below is written by hand from Kafka Connect's documented
//! format (`JsonConverter.asJsonSchema` / `convertToJson`, Jackson's compact output)
//! or copied from Kafka's `JsonConverterTest` fixtures and from captured Debezium
//! output; none is produced by running our converter. Key order in schema JSON is
//! `type`, `items` | `keys`,`values` | `fields`, `optional`, `name`, `version`, `doc`,
//! `parameters`, `default`, and a struct field's schema ends with `"field"`.
//!
//! Each fixture is also read back with `to_connect` and must give the original
//! schema and value (with Kafka's null-to-default substitution where it applies).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use sluice_converters::JsonConverter;
use sluice_core::plugin::Converter;
use sluice_core::schema::logical;
use sluice_core::{Decimal, SchemaAndValue, SchemaBuilder, SchemaRef, Struct, Type, Value};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn converter(pairs: &[(&str, &str)]) -> JsonConverter {
    let config: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    JsonConverter::new(&config).unwrap()
}

fn with_schemas() -> JsonConverter {
    JsonConverter::with_schemas(true)
}

fn without_schemas() -> JsonConverter {
    JsonConverter::with_schemas(false)
}

fn numeric(schemas_enable: bool) -> JsonConverter {
    converter(&[
        (
            "schemas.enable",
            if schemas_enable { "true" } else { "false" },
        ),
        ("decimal.format", "NUMERIC"),
    ])
}

/// The converter's output as text; panics on a tombstone.
fn write(c: &JsonConverter, data: &SchemaAndValue) -> String {
    let bytes = c
        .from_connect("topic", data)
        .unwrap()
        .expect("not a tombstone");
    String::from_utf8(bytes).unwrap()
}

fn read(c: &JsonConverter, json: &str) -> SchemaAndValue {
    c.to_connect("topic", Some(json.as_bytes())).unwrap()
}

/// Asserts the exact bytes, that they are valid JSON, and that reading them back gives
/// `expected_back`.
fn check(c: &JsonConverter, data: &SchemaAndValue, expected: &str, expected_back: &SchemaAndValue) {
    let got = write(c, data);
    assert_eq!(got, expected);
    serde_json::from_str::<serde_json::Value>(expected).expect("fixture is valid JSON");
    assert_eq!(&read(c, expected), expected_back, "reading back {expected}");
}

/// [`check`] where reading back must give exactly what was written.
fn check_round_trip(c: &JsonConverter, data: &SchemaAndValue, expected: &str) {
    check(c, data, expected, data);
}

fn sv(schema: &SchemaRef, value: impl Into<Value>) -> SchemaAndValue {
    SchemaAndValue::new(schema.clone(), value)
}

fn prim(ty: Type) -> SchemaRef {
    SchemaBuilder::new(ty).build()
}

fn opt(ty: Type) -> SchemaRef {
    SchemaBuilder::new(ty).optional().build()
}

fn dec(unscaled: i128, scale: i32) -> Value {
    Value::Decimal(Decimal::new(unscaled, scale))
}

fn map(entries: Vec<(Value, Value)>) -> Value {
    Value::Map(entries)
}

fn s(text: &str) -> Value {
    Value::String(text.to_owned())
}

// ---------------------------------------------------------------------------------------
// (a) One struct holding every type and logical type
// ---------------------------------------------------------------------------------------

fn nested_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("com.example.Nested")
        .field("x", prim(Type::Int32))
        .field("y", opt(Type::String))
        .build()
}

fn maybe_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .field("z", prim(Type::Boolean))
        .optional()
        .build()
}

fn everything_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("com.example.Everything")
        .version(2)
        .doc("Every type")
        .parameter("owner", "sluice")
        .parameter("k2", "v2")
        .field("i8", prim(Type::Int8))
        .field("i16", prim(Type::Int16))
        .field("i32", prim(Type::Int32))
        .field("i64", prim(Type::Int64))
        .field("f32", prim(Type::Float32))
        .field("f64", prim(Type::Float64))
        .field("bool", prim(Type::Boolean))
        .field("str", prim(Type::String))
        .field("bytes", prim(Type::Bytes))
        .field("dec", SchemaBuilder::decimal(2).build())
        .field("neg_dec", SchemaBuilder::decimal(2).build())
        .field("date", SchemaBuilder::date().build())
        .field("time", SchemaBuilder::time().build())
        .field("ts", SchemaBuilder::timestamp().build())
        .field("arr", SchemaBuilder::array(prim(Type::Int32)).build())
        .field(
            "smap",
            SchemaBuilder::map(prim(Type::String), prim(Type::Int32)).build(),
        )
        .field(
            "imap",
            SchemaBuilder::map(prim(Type::Int32), prim(Type::String)).build(),
        )
        .field("nested", nested_schema())
        .field("maybe", maybe_schema())
        .field("opt_int", opt(Type::Int32))
        .field(
            "dflt",
            SchemaBuilder::new(Type::Int32)
                .default_value(Value::Int32(42))
                .build(),
        )
        .field(
            "dflt_set",
            SchemaBuilder::new(Type::String)
                .optional()
                .default_value(s("none"))
                .build(),
        )
        .field(
            "meta",
            SchemaBuilder::new(Type::Int64)
                .optional()
                .name("io.example.Micros")
                .version(3)
                .doc("micros since epoch")
                .parameter("unit", "us")
                .parameter("precision", "6")
                .build(),
        )
        .build()
}

/// The struct with `dflt` null (Kafka writes its default) or set.
fn everything_value(schema: &SchemaRef, dflt: Value) -> Struct {
    Struct::new(schema.clone())
        .with("i8", i8::MIN)
        .with("i16", i16::MIN)
        .with("i32", i32::MAX)
        .with("i64", i64::MIN)
        .with("f32", 12.34f32)
        .with("f64", 12_345_678.9f64)
        .with("bool", true)
        .with("str", "say \"hi\"\\\n\u{1}é€😀")
        .with("bytes", b"test-string".to_vec())
        .with("dec", Decimal::new(156, 2))
        .with("neg_dec", Decimal::new(-156, 2))
        .with("date", 10_000i32)
        .with("time", 14_400_000i32)
        .with("ts", 4_000_000_000i64)
        .with(
            "arr",
            Value::Array(vec![Value::Int32(1), Value::Int32(2), Value::Int32(3)]),
        )
        .with(
            "smap",
            map(vec![
                (s("key1"), Value::Int32(12)),
                (s("key2"), Value::Int32(15)),
            ]),
        )
        .with(
            "imap",
            map(vec![
                (Value::Int32(1), s("one")),
                (Value::Int32(2), s("two")),
            ]),
        )
        .with(
            "nested",
            Struct::new(nested_schema())
                .with("x", 7i32)
                .with("y", Value::Null),
        )
        .with("maybe", Value::Null)
        .with("opt_int", Value::Null)
        .with("dflt", dflt)
        .with("dflt_set", "set")
        .with("meta", 1_767_610_078_945_635i64)
}

const EVERYTHING_SCHEMA_JSON: &str = concat!(
    r#"{"type":"struct","fields":["#,
    r#"{"type":"int8","optional":false,"field":"i8"},"#,
    r#"{"type":"int16","optional":false,"field":"i16"},"#,
    r#"{"type":"int32","optional":false,"field":"i32"},"#,
    r#"{"type":"int64","optional":false,"field":"i64"},"#,
    r#"{"type":"float","optional":false,"field":"f32"},"#,
    r#"{"type":"double","optional":false,"field":"f64"},"#,
    r#"{"type":"boolean","optional":false,"field":"bool"},"#,
    r#"{"type":"string","optional":false,"field":"str"},"#,
    r#"{"type":"bytes","optional":false,"field":"bytes"},"#,
    r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"dec"},"#,
    r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"neg_dec"},"#,
    r#"{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"date"},"#,
    r#"{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1,"field":"time"},"#,
    r#"{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"},"#,
    r#"{"type":"array","items":{"type":"int32","optional":false},"optional":false,"field":"arr"},"#,
    r#"{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":false},"optional":false,"field":"smap"},"#,
    r#"{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string","optional":false},"optional":false,"field":"imap"},"#,
    r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"x"},{"type":"string","optional":true,"field":"y"}],"optional":false,"name":"com.example.Nested","field":"nested"},"#,
    r#"{"type":"struct","fields":[{"type":"boolean","optional":false,"field":"z"}],"optional":true,"field":"maybe"},"#,
    r#"{"type":"int32","optional":true,"field":"opt_int"},"#,
    r#"{"type":"int32","optional":false,"default":42,"field":"dflt"},"#,
    r#"{"type":"string","optional":true,"default":"none","field":"dflt_set"},"#,
    r#"{"type":"int64","optional":true,"name":"io.example.Micros","version":3,"doc":"micros since epoch","parameters":{"unit":"us","precision":"6"},"field":"meta"}"#,
    r#"],"optional":false,"name":"com.example.Everything","version":2,"doc":"Every type","parameters":{"owner":"sluice","k2":"v2"}}"#,
);

const EVERYTHING_PAYLOAD_JSON: &str = concat!(
    r#"{"i8":-128,"i16":-32768,"i32":2147483647,"i64":-9223372036854775808,"#,
    r#""f32":12.34,"f64":1.23456789E7,"bool":true,"#,
    r#""str":"say \"hi\"\\\n\u0001é€😀","#,
    r#""bytes":"dGVzdC1zdHJpbmc=","dec":"AJw=","neg_dec":"/2Q=","#,
    r#""date":10000,"time":14400000,"ts":4000000000,"#,
    r#""arr":[1,2,3],"smap":{"key1":12,"key2":15},"imap":[[1,"one"],[2,"two"]],"#,
    r#""nested":{"x":7,"y":null},"maybe":null,"opt_int":null,"dflt":42,"dflt_set":"set","#,
    r#""meta":1767610078945635}"#,
);

#[test]
fn every_type_with_schemas() {
    let schema = everything_schema();
    let written = sv(&schema, everything_value(&schema, Value::Null));
    let expected =
        format!(r#"{{"schema":{EVERYTHING_SCHEMA_JSON},"payload":{EVERYTHING_PAYLOAD_JSON}}}"#);
    // The null `dflt` field comes back as its default, as in Kafka.
    let back = sv(&schema, everything_value(&schema, Value::Int32(42)));
    check(&with_schemas(), &written, &expected, &back);
    // With the default already set, the round trip is exact.
    check_round_trip(&with_schemas(), &back, &expected);
}

#[test]
fn every_type_without_schemas() {
    let schema = everything_schema();
    let c = without_schemas();
    let data = sv(&schema, everything_value(&schema, Value::Null));
    assert_eq!(write(&c, &data), EVERYTHING_PAYLOAD_JSON);

    // Schemaless reading: integers are int64, other numbers float64, objects string maps,
    // bytes and base64 decimals plain strings.
    let i = Value::Int64;
    let expected = map(vec![
        (s("i8"), i(-128)),
        (s("i16"), i(-32768)),
        (s("i32"), i(2_147_483_647)),
        (s("i64"), i(i64::MIN)),
        (s("f32"), Value::Float64(12.34)),
        (s("f64"), Value::Float64(12_345_678.9)),
        (s("bool"), Value::Boolean(true)),
        (s("str"), s("say \"hi\"\\\n\u{1}é€😀")),
        (s("bytes"), s("dGVzdC1zdHJpbmc=")),
        (s("dec"), s("AJw=")),
        (s("neg_dec"), s("/2Q=")),
        (s("date"), i(10_000)),
        (s("time"), i(14_400_000)),
        (s("ts"), i(4_000_000_000)),
        (s("arr"), Value::Array(vec![i(1), i(2), i(3)])),
        (s("smap"), map(vec![(s("key1"), i(12)), (s("key2"), i(15))])),
        (
            s("imap"),
            Value::Array(vec![
                Value::Array(vec![i(1), s("one")]),
                Value::Array(vec![i(2), s("two")]),
            ]),
        ),
        (
            s("nested"),
            map(vec![(s("x"), i(7)), (s("y"), Value::Null)]),
        ),
        (s("maybe"), Value::Null),
        (s("opt_int"), Value::Null),
        (s("dflt"), i(42)),
        (s("dflt_set"), s("set")),
        (s("meta"), i(1_767_610_078_945_635)),
    ]);
    assert_eq!(
        read(&c, EVERYTHING_PAYLOAD_JSON),
        SchemaAndValue::schemaless(expected)
    );
}

#[test]
fn every_type_with_numeric_decimals() {
    let schema = everything_schema();
    let data = sv(&schema, everything_value(&schema, Value::Int32(42)));
    let payload = EVERYTHING_PAYLOAD_JSON
        .replace(r#""dec":"AJw=""#, r#""dec":1.56"#)
        .replace(r#""neg_dec":"/2Q=""#, r#""neg_dec":-1.56"#);
    assert_ne!(payload, EVERYTHING_PAYLOAD_JSON);
    let expected = format!(r#"{{"schema":{EVERYTHING_SCHEMA_JSON},"payload":{payload}}}"#);
    check_round_trip(&numeric(true), &data, &expected);
    assert_eq!(write(&numeric(false), &data), payload);
}

// ---------------------------------------------------------------------------------------
// (b) Debezium 2.5.4 Postgres capture (kafka-console-consumer output)
// ---------------------------------------------------------------------------------------

const DEBEZIUM_ORDERS: &str = r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"default":0,"field":"order_id"},{"type":"string","optional":false,"field":"customer_name"},{"type":"string","optional":false,"field":"product"},{"type":"int32","optional":false,"field":"quantity"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"price"},{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"default":0,"field":"order_date"},{"type":"string","optional":true,"default":"PENDING","field":"status"},{"type":"string","optional":true,"field":"__deleted"}],"optional":false,"name":"postgres.public.orders.Value"},"payload":{"order_id":1,"customer_name":"John Doe","product":"Laptop","quantity":1,"price":"AdTA","order_date":1767610078945635,"status":"COMPLETED","__deleted":"false"}}"#;

fn debezium_orders_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("postgres.public.orders.Value")
        .field(
            "order_id",
            SchemaBuilder::new(Type::Int32)
                .default_value(Value::Int32(0))
                .build(),
        )
        .field("customer_name", prim(Type::String))
        .field("product", prim(Type::String))
        .field("quantity", prim(Type::Int32))
        .field(
            "price",
            SchemaBuilder::decimal(2)
                .parameter("connect.decimal.precision", "10")
                .build(),
        )
        .field(
            "order_date",
            SchemaBuilder::new(Type::Int64)
                .optional()
                .name("io.debezium.time.MicroTimestamp")
                .version(1)
                .default_value(Value::Int64(0))
                .build(),
        )
        .field(
            "status",
            SchemaBuilder::new(Type::String)
                .optional()
                .default_value(s("PENDING"))
                .build(),
        )
        .field("__deleted", opt(Type::String))
        .build()
}

#[test]
fn debezium_postgres_capture() {
    let schema = debezium_orders_schema();
    let value = Struct::new(schema.clone())
        .with("order_id", 1i32)
        .with("customer_name", "John Doe")
        .with("product", "Laptop")
        .with("quantity", 1i32)
        .with("price", Decimal::new(120_000, 2))
        .with("order_date", 1_767_610_078_945_635i64)
        .with("status", "COMPLETED")
        .with("__deleted", "false");
    check_round_trip(&with_schemas(), &sv(&schema, value), DEBEZIUM_ORDERS);
}

#[test]
fn debezium_price_of_next_record() {
    // "CfY=" = 2550 -> 25.50 in the capture's next record.
    let schema = SchemaBuilder::decimal(2)
        .parameter("connect.decimal.precision", "10")
        .build();
    assert_eq!(
        write(&without_schemas(), &sv(&schema, Decimal::new(2550, 2))),
        r#""CfY=""#
    );
    assert_eq!(
        read(&with_schemas(), DEBEZIUM_ORDERS)
            .value
            .as_struct_field("price"),
        Some(dec(120_000, 2))
    );
}

/// Small helper trait so tests can peek into a struct value.
trait StructField {
    fn as_struct_field(&self, name: &str) -> Option<Value>;
}

impl StructField for Value {
    fn as_struct_field(&self, name: &str) -> Option<Value> {
        match self {
            Value::Struct(st) => st.get(name).cloned(),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// (c) Kafka's JsonConverterTest fixtures
// ---------------------------------------------------------------------------------------

#[test]
fn kafka_boolean_to_json() {
    let c = with_schemas();
    check_round_trip(
        &c,
        &sv(&prim(Type::Boolean), true),
        r#"{"schema":{"type":"boolean","optional":false},"payload":true}"#,
    );
}

#[test]
fn kafka_primitives_to_json() {
    let c = with_schemas();
    check_round_trip(
        &c,
        &sv(&prim(Type::Int8), 12i8),
        r#"{"schema":{"type":"int8","optional":false},"payload":12}"#,
    );
    check_round_trip(
        &c,
        &sv(&prim(Type::Int16), 12i16),
        r#"{"schema":{"type":"int16","optional":false},"payload":12}"#,
    );
    check_round_trip(
        &c,
        &sv(&prim(Type::Int32), 12i32),
        r#"{"schema":{"type":"int32","optional":false},"payload":12}"#,
    );
    check_round_trip(
        &c,
        &sv(&prim(Type::Int64), 4_398_046_511_104i64),
        r#"{"schema":{"type":"int64","optional":false},"payload":4398046511104}"#,
    );
    check_round_trip(
        &c,
        &sv(&prim(Type::Float32), 12.34f32),
        r#"{"schema":{"type":"float","optional":false},"payload":12.34}"#,
    );
    check_round_trip(
        &c,
        &sv(&prim(Type::Float64), 12.34f64),
        r#"{"schema":{"type":"double","optional":false},"payload":12.34}"#,
    );
    check_round_trip(
        &c,
        &sv(&prim(Type::String), "test-string"),
        r#"{"schema":{"type":"string","optional":false},"payload":"test-string"}"#,
    );
}

#[test]
fn kafka_bytes_to_json() {
    check_round_trip(
        &with_schemas(),
        &sv(&prim(Type::Bytes), b"test-string".to_vec()),
        r#"{"schema":{"type":"bytes","optional":false},"payload":"dGVzdC1zdHJpbmc="}"#,
    );
}

#[test]
fn kafka_array_to_json() {
    let schema = SchemaBuilder::array(prim(Type::Int32)).build();
    let value = Value::Array(vec![Value::Int32(1), Value::Int32(2), Value::Int32(3)]);
    check_round_trip(
        &with_schemas(),
        &sv(&schema, value),
        r#"{"schema":{"type":"array","items":{"type":"int32","optional":false},"optional":false},"payload":[1,2,3]}"#,
    );
}

#[test]
fn kafka_map_to_json_string_keys() {
    let schema = SchemaBuilder::map(prim(Type::String), prim(Type::Int32)).build();
    let value = map(vec![
        (s("key1"), Value::Int32(12)),
        (s("key2"), Value::Int32(15)),
    ]);
    check_round_trip(
        &with_schemas(),
        &sv(&schema, value),
        r#"{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":false},"optional":false},"payload":{"key1":12,"key2":15}}"#,
    );
}

#[test]
fn kafka_map_to_json_non_string_keys() {
    let schema = SchemaBuilder::map(prim(Type::Int32), prim(Type::Int32)).build();
    let value = map(vec![
        (Value::Int32(1), Value::Int32(12)),
        (Value::Int32(2), Value::Int32(15)),
    ]);
    check_round_trip(
        &with_schemas(),
        &sv(&schema, value),
        r#"{"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"int32","optional":false},"optional":false},"payload":[[1,12],[2,15]]}"#,
    );
}

#[test]
fn kafka_struct_to_json() {
    let schema = SchemaBuilder::struct_()
        .field("field1", prim(Type::Boolean))
        .field("field2", prim(Type::String))
        .field("field3", prim(Type::String))
        .field("field4", prim(Type::Boolean))
        .build();
    let value = Struct::new(schema.clone())
        .with("field1", true)
        .with("field2", "string2")
        .with("field3", "string3")
        .with("field4", false);
    check_round_trip(
        &with_schemas(),
        &sv(&schema, value),
        r#"{"schema":{"type":"struct","fields":[{"type":"boolean","optional":false,"field":"field1"},{"type":"string","optional":false,"field":"field2"},{"type":"string","optional":false,"field":"field3"},{"type":"boolean","optional":false,"field":"field4"}],"optional":false},"payload":{"field1":true,"field2":"string2","field3":"string3","field4":false}}"#,
    );
}

#[test]
fn kafka_json_schema_metadata_translation() {
    let c = with_schemas();
    check_round_trip(
        &c,
        &sv(&prim(Type::Boolean), true),
        r#"{"schema":{"type":"boolean","optional":false},"payload":true}"#,
    );
    check_round_trip(
        &c,
        &SchemaAndValue {
            schema: Some(opt(Type::Boolean)),
            value: Value::Null,
        },
        r#"{"schema":{"type":"boolean","optional":true},"payload":null}"#,
    );
    let with_default = SchemaBuilder::new(Type::Boolean)
        .default_value(Value::Boolean(true))
        .build();
    check_round_trip(
        &c,
        &sv(&with_default, true),
        r#"{"schema":{"type":"boolean","optional":false,"default":true},"payload":true}"#,
    );
    let described = SchemaBuilder::new(Type::Boolean)
        .name("bool")
        .version(3)
        .doc("the documentation")
        .parameter("foo", "bar")
        .build();
    check_round_trip(
        &c,
        &sv(&described, true),
        r#"{"schema":{"type":"boolean","optional":false,"name":"bool","version":3,"doc":"the documentation","parameters":{"foo":"bar"}},"payload":true}"#,
    );
}

const DECIMAL_2: &str = r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}}"#;

#[test]
fn kafka_decimal_to_json() {
    // 1.56 = unscaled 156 = bytes {0, -100} = "AJw=".
    let schema = SchemaBuilder::decimal(2).build();
    check_round_trip(
        &with_schemas(),
        &sv(&schema, Decimal::new(156, 2)),
        &format!(r#"{{"schema":{DECIMAL_2},"payload":"AJw="}}"#),
    );
}

#[test]
fn kafka_decimal_two_complement_edges() {
    // BigInteger.toByteArray: minimal big-endian two's complement.
    let schema = SchemaBuilder::decimal(0).build();
    let c = without_schemas();
    for (unscaled, base64) in [
        (0, "AA=="),
        (127, "fw=="),
        (128, "AIA="),
        (-128, "gA=="),
        (-129, "/38="),
        (-156, "/2Q="),
        (120_000, "AdTA"),
    ] {
        let data = sv(&schema, Decimal::new(unscaled, 0));
        assert_eq!(write(&c, &data), format!("\"{base64}\""), "{unscaled}");
    }
    let schema10 = SchemaBuilder::decimal(10).build();
    let c = with_schemas();
    for (unscaled, base64) in [(0, "AA=="), (-129, "/38=")] {
        let data = sv(&schema10, Decimal::new(unscaled, 10));
        let json = format!(
            r#"{{"schema":{{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{{"scale":"10"}}}},"payload":"{base64}"}}"#
        );
        check_round_trip(&c, &data, &json);
    }
}

#[test]
fn kafka_decimal_to_connect() {
    // Kafka's decimalToConnect fixture, with its spaces and without "optional".
    let json = r#"{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "2" } }, "payload": "AJw=" }"#;
    assert_eq!(
        read(&with_schemas(), json),
        sv(&SchemaBuilder::decimal(2).build(), Decimal::new(156, 2))
    );
    // decimal.format=NUMERIC input is accepted by either converter.
    let json = r#"{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "2" } }, "payload": 1.56 }"#;
    assert_eq!(
        read(&with_schemas(), json),
        sv(&SchemaBuilder::decimal(2).build(), Decimal::new(156, 2))
    );
}

#[test]
fn kafka_date_to_json() {
    check_round_trip(
        &with_schemas(),
        &sv(&SchemaBuilder::date().build(), 10_000i32),
        r#"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":10000}"#,
    );
}

#[test]
fn kafka_time_to_json() {
    check_round_trip(
        &with_schemas(),
        &sv(&SchemaBuilder::time().build(), 14_400_000i32),
        r#"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},"payload":14400000}"#,
    );
}

#[test]
fn kafka_timestamp_to_json() {
    check_round_trip(
        &with_schemas(),
        &sv(&SchemaBuilder::timestamp().build(), 4_000_000_000i64),
        r#"{"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":4000000000}"#,
    );
}

#[test]
fn kafka_logical_schemas_are_the_builders() {
    assert_eq!(
        SchemaBuilder::decimal(2).build().name(),
        Some(logical::DECIMAL)
    );
    assert_eq!(SchemaBuilder::date().build().name(), Some(logical::DATE));
    assert_eq!(SchemaBuilder::time().build().name(), Some(logical::TIME));
    assert_eq!(
        SchemaBuilder::timestamp().build().name(),
        Some(logical::TIMESTAMP)
    );
}

#[test]
fn kafka_null_schema_and_primitive_to_json() {
    check_round_trip(
        &with_schemas(),
        &SchemaAndValue::schemaless(Value::Boolean(true)),
        r#"{"schema":null,"payload":true}"#,
    );
}

#[test]
fn kafka_no_schema_to_json() {
    assert_eq!(
        write(&without_schemas(), &sv(&prim(Type::Boolean), true)),
        "true"
    );
}

#[test]
fn kafka_null_schema_primitive_to_connect() {
    let c = with_schemas();
    let cases = [
        (r#"{ "schema": null, "payload": null }"#, Value::Null),
        (
            r#"{ "schema": null, "payload": true }"#,
            Value::Boolean(true),
        ),
        (r#"{ "schema": null, "payload": 12 }"#, Value::Int64(12)),
        (
            r#"{ "schema": null, "payload": 12.24 }"#,
            Value::Float64(12.24),
        ),
        (
            r#"{ "schema": null, "payload": "a string" }"#,
            s("a string"),
        ),
        (
            r#"{ "schema": null, "payload": [1, "2", 3] }"#,
            Value::Array(vec![Value::Int64(1), s("2"), Value::Int64(3)]),
        ),
        (
            r#"{ "schema": null, "payload": { "field1": 1, "field2": 1 } }"#,
            map(vec![
                (s("field1"), Value::Int64(1)),
                (s("field2"), Value::Int64(1)),
            ]),
        ),
    ];
    for (json, value) in cases {
        assert_eq!(read(&c, json), SchemaAndValue::schemaless(value), "{json}");
    }
}

#[test]
fn kafka_primitive_to_connect_without_optional() {
    // Kafka's toConnect fixtures leave out "optional": the schema is required.
    let c = with_schemas();
    assert_eq!(
        read(
            &c,
            r#"{ "schema": { "type": "boolean" }, "payload": true }"#
        ),
        sv(&prim(Type::Boolean), true)
    );
    assert_eq!(
        read(
            &c,
            r#"{ "schema": { "type": "int64" }, "payload": 4398046511104 }"#
        ),
        sv(&prim(Type::Int64), 4_398_046_511_104i64)
    );
    assert_eq!(
        read(&c, r#"{ "schema": { "type": "float" }, "payload": 12.34 }"#),
        sv(&prim(Type::Float32), 12.34f32)
    );
    assert_eq!(
        read(
            &c,
            r#"{ "schema": { "type": "bytes" }, "payload": "dGVzdC1zdHJpbmc=" }"#
        ),
        sv(&prim(Type::Bytes), b"test-string".to_vec())
    );
}

// ---------------------------------------------------------------------------------------
// Nulls, tombstones, defaults
// ---------------------------------------------------------------------------------------

#[test]
fn tombstones() {
    for c in [with_schemas(), without_schemas()] {
        assert_eq!(
            c.from_connect("topic", &SchemaAndValue::NULL).unwrap(),
            None
        );
        assert_eq!(c.to_connect("topic", None).unwrap(), SchemaAndValue::NULL);
    }
}

#[test]
fn null_with_optional_schema_without_envelope_is_json_null() {
    let c = without_schemas();
    let data = SchemaAndValue {
        schema: Some(opt(Type::Int32)),
        value: Value::Null,
    };
    assert_eq!(write(&c, &data), "null");
    assert_eq!(read(&c, "null"), SchemaAndValue::NULL);
}

#[test]
fn null_with_default_writes_the_default() {
    let schema = SchemaBuilder::new(Type::String)
        .optional()
        .default_value(s("PENDING"))
        .build();
    let null = SchemaAndValue {
        schema: Some(schema.clone()),
        value: Value::Null,
    };
    let json =
        r#"{"schema":{"type":"string","optional":true,"default":"PENDING"},"payload":"PENDING"}"#;
    check(&with_schemas(), &null, json, &sv(&schema, "PENDING"));
    assert_eq!(write(&without_schemas(), &null), r#""PENDING""#);
}

#[test]
fn replace_null_with_default_disabled() {
    let c = converter(&[("replace.null.with.default", "false")]);
    let field = SchemaBuilder::new(Type::Int32)
        .optional()
        .default_value(Value::Int32(42))
        .build();
    let schema = SchemaBuilder::struct_().field("n", field).build();
    let value = Struct::new(schema.clone());
    // Kafka (3.7+) writes and reads the null as null when the option is off.
    check_round_trip(
        &c,
        &sv(&schema, value.clone()),
        r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"default":42,"field":"n"}],"optional":false},"payload":{"n":null}}"#,
    );
    // With the option on (the default), both directions substitute the default.
    let json = r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"default":42,"field":"n"}],"optional":false},"payload":{"n":null}}"#;
    assert_eq!(
        read(&with_schemas(), json),
        sv(&schema, value.clone().with("n", 42i32))
    );
    assert_eq!(
        write(&with_schemas(), &sv(&schema, value)),
        r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"default":42,"field":"n"}],"optional":false},"payload":{"n":42}}"#
    );
}

#[test]
fn missing_struct_field_reads_as_null_or_default() {
    let schema = SchemaBuilder::struct_()
        .field("a", opt(Type::Int32))
        .field(
            "b",
            SchemaBuilder::new(Type::Int32)
                .default_value(Value::Int32(7))
                .build(),
        )
        .build();
    let json = r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"field":"a"},{"type":"int32","optional":false,"default":7,"field":"b"}],"optional":false},"payload":{}}"#;
    assert_eq!(
        read(&with_schemas(), json),
        sv(&schema, Struct::new(schema.clone()).with("b", 7i32))
    );
}

#[test]
fn complex_defaults_in_schema() {
    // A default runs through convertToJson: a Decimal default is base64 (or a number
    // with NUMERIC), an array default a JSON array, a map default an object.
    let schema = SchemaBuilder::struct_()
        .field(
            "d",
            SchemaBuilder::decimal(2)
                .optional()
                .default_value(dec(156, 2))
                .build(),
        )
        .field(
            "a",
            SchemaBuilder::array(prim(Type::String))
                .default_value(Value::Array(vec![s("x"), s("y")]))
                .build(),
        )
        .field(
            "m",
            SchemaBuilder::map(prim(Type::String), prim(Type::Boolean))
                .optional()
                .default_value(map(vec![(s("on"), Value::Boolean(true))]))
                .build(),
        )
        .field(
            "b",
            SchemaBuilder::new(Type::Bytes)
                .default_value(Value::Bytes(vec![0xfb, 0xff]))
                .build(),
        )
        .field(
            "t",
            SchemaBuilder::timestamp()
                .default_value(Value::Int64(0))
                .build(),
        )
        .build();
    let value = Struct::new(schema.clone())
        .with("d", dec(-1, 2))
        .with("a", Value::Array(vec![]))
        .with("m", map(vec![]))
        .with("b", Vec::<u8>::new())
        .with("t", 1i64);
    let base64 = concat!(
        r#"{"schema":{"type":"struct","fields":["#,
        r#"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"default":"AJw=","field":"d"},"#,
        r#"{"type":"array","items":{"type":"string","optional":false},"optional":false,"default":["x","y"],"field":"a"},"#,
        r#"{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"boolean","optional":false},"optional":true,"default":{"on":true},"field":"m"},"#,
        r#"{"type":"bytes","optional":false,"default":"+/8=","field":"b"},"#,
        r#"{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"default":0,"field":"t"}"#,
        r#"],"optional":false},"payload":{"d":"/w==","a":[],"m":{},"b":"","t":1}}"#,
    );
    check_round_trip(&with_schemas(), &sv(&schema, value.clone()), base64);
    let numeric_json = base64
        .replace(r#""default":"AJw=""#, r#""default":1.56"#)
        .replace(r#""d":"/w==""#, r#""d":-0.01"#);
    check_round_trip(&numeric(true), &sv(&schema, value), &numeric_json);
}

// ---------------------------------------------------------------------------------------
// (d) decimal.format=NUMERIC: BigDecimal.toString text
// ---------------------------------------------------------------------------------------

#[test]
fn numeric_decimals() {
    let cases: &[(i128, i32, &str)] = &[
        (156, 2, "1.56"),
        (15600, 4, "1.5600"),
        (-156, 2, "-1.56"),
        (156, 0, "156"),
        (100, 2, "1.00"),
        (0, 0, "0"),
        (0, 3, "0.000"),
        (0, 10, "0E-10"),
        (1, 10, "1E-10"),
        (-1, 10, "-1E-10"),
        (1, 6, "0.000001"),
        (-1, 7, "-1E-7"),
        (-15, 8, "-1.5E-7"),
        (12345, 8, "0.00012345"),
        (12345, 11, "1.2345E-7"),
        (5, -2, "5E+2"),
        (123, -3, "1.23E+5"),
        (0, -2, "0E+2"),
        (102_345, 4, "10.2345"),
        (
            12_345_678_901_234_567_890_123_456_789_012,
            2,
            "123456789012345678901234567890.12",
        ),
        (i128::MIN, 0, "-170141183460469231731687303715884105728"),
    ];
    let with = numeric(true);
    let without = numeric(false);
    for &(unscaled, scale, text) in cases {
        let schema = SchemaBuilder::decimal(scale).build();
        let data = sv(&schema, Decimal::new(unscaled, scale));
        let json = format!(
            r#"{{"schema":{{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{{"scale":"{scale}"}}}},"payload":{text}}}"#
        );
        check_round_trip(&with, &data, &json);
        assert_eq!(write(&without, &data), text);
        // The default converter reads a numeric payload too.
        assert_eq!(read(&with_schemas(), &json), data, "{json}");
    }
}

#[test]
fn numeric_decimal_in_struct_and_array() {
    let schema = SchemaBuilder::struct_()
        .field("amount", SchemaBuilder::decimal(10).build())
        .field(
            "history",
            SchemaBuilder::array(SchemaBuilder::decimal(10).optional().build()).build(),
        )
        .build();
    let value = Struct::new(schema.clone())
        .with("amount", Decimal::new(1, 10))
        .with(
            "history",
            Value::Array(vec![dec(25_000_000_000, 10), Value::Null, dec(-15, 10)]),
        );
    let dec10 =
        r#""name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"10"}"#;
    let json = format!(
        r#"{{"schema":{{"type":"struct","fields":[{{"type":"bytes","optional":false,{dec10},"field":"amount"}},{{"type":"array","items":{{"type":"bytes","optional":true,{dec10}}},"optional":false,"field":"history"}}],"optional":false}},"payload":{{"amount":1E-10,"history":[2.5000000000,null,-1.5E-9]}}}}"#
    );
    check_round_trip(&numeric(true), &sv(&schema, value), &json);
}

// ---------------------------------------------------------------------------------------
// Strings, bytes and floating point text
// ---------------------------------------------------------------------------------------

#[test]
fn string_escaping_as_jackson() {
    // Jackson escapes `"` and `\`, uses \b \t \n \f \r, \u00XX (upper-case hex) for the
    // other control characters, and leaves `/`, DEL and non-ASCII as they are.
    let c = without_schemas();
    let schema = prim(Type::String);
    let cases = [
        ("plain", r#""plain""#),
        ("", r#""""#),
        ("quote\"", r#""quote\"""#),
        ("back\\slash", r#""back\\slash""#),
        ("a/b", r#""a/b""#),
        ("\u{8}\t\n\u{c}\r", r#""\b\t\n\f\r""#),
        ("\u{0}\u{1}\u{1f}", r#""\u0000\u0001\u001F""#),
        ("\u{b}\u{1b}", r#""\u000B\u001B""#),
        ("del\u{7f}", "\"del\u{7f}\""),
        ("é€😀 日本", r#""é€😀 日本""#),
        ("\u{2028}\u{2029}", "\"\u{2028}\u{2029}\""),
    ];
    for (value, json) in cases {
        let data = sv(&schema, value);
        assert_eq!(write(&c, &data), json, "{value:?}");
        assert_eq!(
            read(
                &with_schemas(),
                &format!(r#"{{"schema":{{"type":"string","optional":false}},"payload":{json}}}"#)
            ),
            data
        );
    }
}

#[test]
fn field_names_and_metadata_are_escaped() {
    let schema = SchemaBuilder::struct_()
        .name("na\"me")
        .doc("line1\nline2")
        .parameter("k\\", "v\u{1}")
        .field("a\"b", prim(Type::Int8))
        .build();
    let value = Struct::new(schema.clone()).with("a\"b", 1i8);
    check_round_trip(
        &with_schemas(),
        &sv(&schema, value),
        r#"{"schema":{"type":"struct","fields":[{"type":"int8","optional":false,"field":"a\"b"}],"optional":false,"name":"na\"me","doc":"line1\nline2","parameters":{"k\\":"v\u0001"}},"payload":{"a\"b":1}}"#,
    );
}

#[test]
fn bytes_base64_standard_with_padding() {
    let c = without_schemas();
    let schema = prim(Type::Bytes);
    for (bytes, json) in [
        (&b""[..], r#""""#),
        (b"f", r#""Zg==""#),
        (b"fo", r#""Zm8=""#),
        (b"foo", r#""Zm9v""#),
        (b"test-string", r#""dGVzdC1zdHJpbmc=""#),
        (&[0xfb, 0xff], r#""+/8=""#),
        (&[0, 1, 2, 253, 254, 255], r#""AAEC/f7/""#),
    ] {
        let data = sv(&schema, bytes.to_vec());
        assert_eq!(write(&c, &data), json);
        let back = read(
            &with_schemas(),
            &format!(r#"{{"schema":{{"type":"bytes","optional":false}},"payload":{json}}}"#),
        );
        assert_eq!(back, data);
    }
}

#[test]
fn doubles_as_java_double_to_string() {
    let c = without_schemas();
    let schema = prim(Type::Float64);
    let cases: &[(f64, &str)] = &[
        (12.34, "12.34"),
        (1.0, "1.0"),
        (-2.5, "-2.5"),
        (100.0, "100.0"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (0.00001, "1.0E-5"),
        (1_234_567.0, "1234567.0"),
        (9_999_999.0, "9999999.0"),
        (10_000_000.0, "1.0E7"),
        (12_345_678.9, "1.23456789E7"),
        (1e10, "1.0E10"),
        (1e21, "1.0E21"),
        (0.1 + 0.2, "0.30000000000000004"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (f64::MAX, "1.7976931348623157E308"),
        (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
        // Double.MIN_VALUE: Java prints two digits, not "5.0E-324".
        (f64::from_bits(1), "4.9E-324"),
        (1_767_610_078_945_635.0, "1.767610078945635E15"),
    ];
    for &(x, text) in cases {
        let data = sv(&schema, x);
        assert_eq!(write(&c, &data), text, "{x:e}");
        let json = format!(r#"{{"schema":{{"type":"double","optional":false}},"payload":{text}}}"#);
        assert_eq!(read(&with_schemas(), &json), data, "{json}");
    }
}

#[test]
fn floats_as_java_float_to_string() {
    let c = without_schemas();
    let schema = prim(Type::Float32);
    let cases: &[(f32, &str)] = &[
        (12.34, "12.34"),
        (1.1, "1.1"),
        (0.5, "0.5"),
        (1.0, "1.0"),
        (100.0, "100.0"),
        (0.001, "0.001"),
        (1e-4, "1.0E-4"),
        (1e7, "1.0E7"),
        (1e10, "1.0E10"),
        (16_777_216.0, "1.6777216E7"),
        (0.1, "0.1"),
        (-0.0, "-0.0"),
        (f32::MAX, "3.4028235E38"),
        // Float.MIN_VALUE: Java prints two digits, not "1.0E-45".
        (f32::from_bits(1), "1.4E-45"),
    ];
    for &(x, text) in cases {
        let data = sv(&schema, x);
        assert_eq!(write(&c, &data), text, "{x:e}");
        let json = format!(r#"{{"schema":{{"type":"float","optional":false}},"payload":{text}}}"#);
        assert_eq!(read(&with_schemas(), &json), data, "{json}");
    }
}

#[test]
fn non_finite_numbers_are_strings() {
    // Jackson's QUOTE_NON_NUMERIC_NUMBERS (on by default).
    let c = without_schemas();
    let d = prim(Type::Float64);
    let f = prim(Type::Float32);
    assert_eq!(write(&c, &sv(&d, f64::NAN)), r#""NaN""#);
    assert_eq!(write(&c, &sv(&d, f64::INFINITY)), r#""Infinity""#);
    assert_eq!(write(&c, &sv(&d, f64::NEG_INFINITY)), r#""-Infinity""#);
    assert_eq!(write(&c, &sv(&f, f32::NAN)), r#""NaN""#);
    assert_eq!(write(&c, &sv(&f, f32::INFINITY)), r#""Infinity""#);
    assert_eq!(write(&c, &sv(&f, f32::NEG_INFINITY)), r#""-Infinity""#);
    let back = read(
        &with_schemas(),
        r#"{"schema":{"type":"double","optional":false},"payload":"NaN"}"#,
    );
    assert!(matches!(back.value, Value::Float64(x) if x.is_nan()));
    assert_eq!(
        read(
            &with_schemas(),
            r#"{"schema":{"type":"float","optional":false},"payload":"-Infinity"}"#
        ),
        sv(&f, f32::NEG_INFINITY)
    );
}

#[test]
fn float_payload_rounds_once_like_big_decimal_float_value() {
    // Kafka reads floats with USE_BIG_DECIMAL_FOR_FLOATS and BigDecimal.floatValue(), a
    // single correct rounding. This text lies just above the midpoint between 1.0f and
    // the next float; rounding it to a double first lands exactly on the midpoint, and
    // then ties-to-even would give 1.0f.
    let json = r#"{"schema":{"type":"float","optional":false},"payload":1.00000005960464477539062500000001}"#;
    assert_eq!(
        read(&with_schemas(), json),
        sv(&prim(Type::Float32), f32::from_bits(0x3f80_0001))
    );
}

// ---------------------------------------------------------------------------------------
// Schemaless data
// ---------------------------------------------------------------------------------------

#[test]
fn schemaless_maps_and_arrays() {
    let c = with_schemas();
    // All string keys: an object. Any other key: an array of pairs.
    let v = map(vec![(s("a"), Value::Int64(1)), (s("b"), Value::Null)]);
    check_round_trip(
        &c,
        &SchemaAndValue::schemaless(v),
        r#"{"schema":null,"payload":{"a":1,"b":null}}"#,
    );
    let v = map(vec![
        (Value::Int32(1), Value::Int32(12)),
        (Value::Int32(2), Value::Int32(15)),
    ]);
    assert_eq!(
        write(&c, &SchemaAndValue::schemaless(v)),
        r#"{"schema":null,"payload":[[1,12],[2,15]]}"#
    );
    let v = Value::Array(vec![Value::Int64(1), s("2"), Value::Int64(3)]);
    check_round_trip(
        &without_schemas(),
        &SchemaAndValue::schemaless(v),
        r#"[1,"2",3]"#,
    );
}

#[test]
fn nested_composites_key_order() {
    // map<string, array<struct>> with an optional map value and doc on the array.
    let point = SchemaBuilder::struct_()
        .name("Point")
        .field("x", prim(Type::Float64))
        .field("y", prim(Type::Float64))
        .build();
    let list = SchemaBuilder::array(point.clone())
        .optional()
        .doc("points")
        .build();
    let schema = SchemaBuilder::map(prim(Type::String), list).build();
    let p = |x: f64, y: f64| Value::Struct(Struct::new(point.clone()).with("x", x).with("y", y));
    let value = map(vec![
        (s("line"), Value::Array(vec![p(0.0, 0.0), p(1.5, -2.0)])),
        (s("none"), Value::Null),
    ]);
    check_round_trip(
        &with_schemas(),
        &sv(&schema, value),
        r#"{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"array","items":{"type":"struct","fields":[{"type":"double","optional":false,"field":"x"},{"type":"double","optional":false,"field":"y"}],"optional":false,"name":"Point"},"optional":true,"doc":"points"},"optional":false},"payload":{"line":[{"x":0.0,"y":0.0},{"x":1.5,"y":-2.0}],"none":null}}"#,
    );
}
