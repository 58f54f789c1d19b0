//! Property tests of `JsonConverter`: arbitrary schemas (nested structs, arrays and
//! maps, logical types, optional and required, names, versions, docs, parameters,
//! defaults) with matching values survive `to_connect(from_connect(x))`, schemaless
//! reading gives Kafka's schemaless types, and the output is always valid JSON.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use num_bigint::BigInt;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use sluice_converters::JsonConverter;
use sluice_core::plugin::Converter;
use sluice_core::schema::logical;
use sluice_core::{Decimal, Schema, SchemaAndValue, SchemaBuilder, SchemaRef, Struct, Type, Value};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        // Keep failures out of the source tree; proptest prints the minimal case.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn converter(pairs: &[(&str, &str)]) -> JsonConverter {
    let config: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    JsonConverter::new(&config).unwrap()
}

// ---------------------------------------------------------------------------------------
// Value strategies
// ---------------------------------------------------------------------------------------

/// Strings mixing arbitrary code points with the characters JSON must escape.
fn text(max_len: usize) -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        3 => any::<char>(),
        1 => prop::sample::select(vec![
            '"', '\\', '/', '\n', '\r', '\t', '\u{0}', '\u{1}', '\u{1f}', '\u{7f}', 'é', '€',
            '😀', '\u{2028}',
        ]),
    ];
    prop::collection::vec(ch, 0..max_len).prop_map(String::from_iter)
}

fn f32_value() -> impl Strategy<Value = f32> {
    use prop::num::f32 as f;
    prop_oneof![
        f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO | f::INFINITE,
        any::<u32>()
            .prop_map(f32::from_bits)
            .prop_filter("NaN", |x| !x.is_nan()),
        prop::sample::select(vec![0.1f32, 1.0, 1e7, 1e-3, 1e-4, 12.34, f32::from_bits(1)]),
    ]
}

fn f64_value() -> impl Strategy<Value = f64> {
    use prop::num::f64 as f;
    prop_oneof![
        f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO | f::INFINITE,
        any::<u64>()
            .prop_map(f64::from_bits)
            .prop_filter("NaN", |x| !x.is_nan()),
        prop::sample::select(vec![0.1f64, 1.0, 1e7, 1e-3, 1e-4, 1e21, f64::from_bits(1)]),
    ]
}

fn unscaled() -> impl Strategy<Value = BigInt> {
    prop_oneof![
        (-1000i64..1000).prop_map(BigInt::from),
        any::<i64>().prop_map(BigInt::from),
        prop::collection::vec(any::<u8>(), 0..20).prop_map(|b| BigInt::from_signed_bytes_be(&b)),
    ]
}

fn decimal_scale(schema: &Schema) -> i32 {
    schema
        .parameter(logical::DECIMAL_SCALE)
        .unwrap()
        .parse()
        .unwrap()
}

/// Where a generated value may be null.
#[derive(Debug, Clone, Copy)]
enum Nulls {
    /// Optional schemas and schemas with a default (which the converter substitutes).
    FilledByDefaults,
    /// Optional schemas only (for `replace.null.with.default=false`).
    Kept,
    /// Optional schemas without a default (for default values themselves, which Kafka
    /// writes with nested nulls already replaced).
    InsideDefaults,
}

fn value_of(schema: &SchemaRef, nulls: Nulls) -> BoxedStrategy<Value> {
    let nullable = match nulls {
        Nulls::FilledByDefaults => schema.optional || schema.default.is_some(),
        Nulls::Kept => schema.optional,
        Nulls::InsideDefaults => schema.optional && schema.default.is_none(),
    };
    let non_null = non_null_value(schema, nulls);
    if nullable {
        prop_oneof![1 => Just(Value::Null), 3 => non_null].boxed()
    } else {
        non_null
    }
}

fn non_null_value(schema: &SchemaRef, nulls: Nulls) -> BoxedStrategy<Value> {
    match schema.ty {
        Type::Int8 => any::<i8>().prop_map(Value::Int8).boxed(),
        Type::Int16 => any::<i16>().prop_map(Value::Int16).boxed(),
        Type::Int32 if schema.name() == Some(logical::TIME) => {
            (0..86_400_000i32).prop_map(Value::Int32).boxed()
        }
        Type::Int32 => any::<i32>().prop_map(Value::Int32).boxed(),
        Type::Int64 => any::<i64>().prop_map(Value::Int64).boxed(),
        Type::Float32 => f32_value().prop_map(Value::Float32).boxed(),
        Type::Float64 => f64_value().prop_map(Value::Float64).boxed(),
        Type::Boolean => any::<bool>().prop_map(Value::Boolean).boxed(),
        Type::String => text(12).prop_map(Value::String).boxed(),
        Type::Bytes if schema.name() == Some(logical::DECIMAL) => {
            let scale = decimal_scale(schema);
            unscaled()
                .prop_map(move |unscaled| Value::Decimal(Decimal { unscaled, scale }))
                .boxed()
        }
        Type::Bytes => prop::collection::vec(any::<u8>(), 0..24)
            .prop_map(Value::Bytes)
            .boxed(),
        Type::Array => {
            let items = schema.value_schema.as_ref().unwrap();
            prop::collection::vec(value_of(items, nulls), 0..4)
                .prop_map(Value::Array)
                .boxed()
        }
        Type::Map => {
            let keys = schema.key_schema.as_ref().unwrap();
            let values = schema.value_schema.as_ref().unwrap();
            prop::collection::vec((value_of(keys, nulls), value_of(values, nulls)), 0..4)
                .prop_map(|entries| {
                    // A Kafka map has each key once.
                    let mut unique: Vec<(Value, Value)> = Vec::new();
                    for (k, v) in entries {
                        if !unique.iter().any(|(u, _)| *u == k) {
                            unique.push((k, v));
                        }
                    }
                    Value::Map(unique)
                })
                .boxed()
        }
        Type::Struct => {
            let fields: Vec<BoxedStrategy<Value>> = schema
                .fields
                .iter()
                .map(|f| value_of(&f.schema, nulls))
                .collect();
            let schema = schema.clone();
            fields
                .prop_map(move |values| {
                    Value::Struct(Struct::from_values(schema.clone(), values).unwrap())
                })
                .boxed()
        }
    }
}

// ---------------------------------------------------------------------------------------
// Schema strategies
// ---------------------------------------------------------------------------------------

fn leaf_schema() -> impl Strategy<Value = Schema> {
    prop_oneof![
        4 => prop::sample::select(vec![
            Type::Int8,
            Type::Int16,
            Type::Int32,
            Type::Int64,
            Type::Float32,
            Type::Float64,
            Type::Boolean,
            Type::String,
            Type::Bytes,
        ])
        .prop_map(|t| SchemaBuilder::new(t).into_schema()),
        1 => (-6i32..=24).prop_map(|s| SchemaBuilder::decimal(s).into_schema()),
        1 => (-6i32..=24, 1u32..40).prop_map(|(s, p)| {
            SchemaBuilder::decimal(s)
                .parameter("connect.decimal.precision", p.to_string())
                .into_schema()
        }),
        1 => prop::sample::select(vec![
            SchemaBuilder::date().into_schema(),
            SchemaBuilder::time().into_schema(),
            SchemaBuilder::timestamp().into_schema(),
            SchemaBuilder::new(Type::Int64)
                .name("io.debezium.time.MicroTimestamp")
                .version(1)
                .into_schema(),
        ]),
    ]
}

/// Optionality and metadata laid over a schema.
#[derive(Debug, Clone)]
struct Meta {
    optional: bool,
    name: Option<String>,
    version: Option<i32>,
    doc: Option<String>,
    parameters: Vec<(String, String)>,
}

fn meta() -> impl Strategy<Value = Meta> {
    (
        any::<bool>(),
        prop::option::weighted(0.3, text(10)),
        prop::option::weighted(0.3, any::<i32>()),
        prop::option::weighted(0.3, text(10)),
        prop::collection::vec((text(6), text(6)), 0..3),
    )
        .prop_map(|(optional, name, version, doc, parameters)| Meta {
            optional,
            name,
            version,
            doc,
            parameters,
        })
}

fn apply(mut schema: Schema, meta: Meta) -> Schema {
    schema.optional = meta.optional;
    if meta.doc.is_some() {
        schema.doc = meta.doc;
    }
    // Logical types keep their own name, version and parameters.
    if schema.name.is_none() {
        schema.name = meta.name;
        schema.version = meta.version;
        for (k, v) in meta.parameters {
            if schema.parameter(&k).is_none() {
                schema.parameters.push((k, v));
            }
        }
    }
    schema
}

/// Sometimes gives the schema a default value. Not for structs: Kafka compares a struct
/// default's schema (which has no default) with the schema itself and refuses it.
fn with_maybe_default(schema: Schema) -> BoxedStrategy<SchemaRef> {
    let base = Arc::new(schema);
    if base.ty == Type::Struct {
        return Just(base).boxed();
    }
    let plain = base.clone();
    prop_oneof![
        3 => Just(plain),
        1 => non_null_value(&base, Nulls::InsideDefaults).prop_map(move |d| {
            let mut s = (*base).clone();
            s.default = Some(d);
            Arc::new(s)
        }),
    ]
    .boxed()
}

fn key_schema() -> impl Strategy<Value = SchemaRef> {
    prop_oneof![
        2 => Just(SchemaBuilder::new(Type::String).build()),
        1 => leaf_schema().prop_map(Arc::new),
    ]
}

fn schema_strategy() -> BoxedStrategy<SchemaRef> {
    let leaf = (leaf_schema(), meta())
        .prop_flat_map(|(s, m)| with_maybe_default(apply(s, m)))
        .boxed();
    leaf.prop_recursive(3, 24, 4, |inner| {
        let composite = prop_oneof![
            inner
                .clone()
                .prop_map(|items| SchemaBuilder::array(items).into_schema()),
            (key_schema(), inner.clone()).prop_map(|(k, v)| SchemaBuilder::map(k, v).into_schema()),
            prop::collection::vec((text(5), inner), 0..5).prop_map(|fields| {
                let mut b = SchemaBuilder::struct_();
                for (i, (name, schema)) in fields.into_iter().enumerate() {
                    // The leading index (one digit) keeps names unique.
                    b = b.field(format!("{i}{name}"), schema);
                }
                b.into_schema()
            }),
        ];
        (composite, meta()).prop_flat_map(|(s, m)| with_maybe_default(apply(s, m)))
    })
    .boxed()
}

fn schema_and_value(nulls: Nulls) -> impl Strategy<Value = (SchemaRef, Value)> {
    schema_strategy().prop_flat_map(move |s| (Just(s.clone()), value_of(&s, nulls)))
}

/// Primitive and logical schemas only, with metadata and maybe a default.
fn primitive_and_value() -> impl Strategy<Value = (SchemaRef, Value)> {
    (leaf_schema(), meta())
        .prop_flat_map(|(s, m)| with_maybe_default(apply(s, m)))
        .prop_flat_map(|s| (Just(s.clone()), value_of(&s, Nulls::FilledByDefaults)))
}

/// Values schemaless JSON reads back as themselves: null, boolean, int64, float64
/// (finite), string, arrays, and maps with unique string keys.
fn json_native_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Boolean),
        any::<i64>().prop_map(Value::Int64),
        f64_value()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::Float64),
        text(8).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((text(4), inner), 0..4).prop_map(|entries| {
                let mut unique: Vec<(Value, Value)> = Vec::new();
                for (k, v) in entries {
                    let k = Value::String(k);
                    if !unique.iter().any(|(u, _)| *u == k) {
                        unique.push((k, v));
                    }
                }
                Value::Map(unique)
            }),
        ]
    })
}

// ---------------------------------------------------------------------------------------
// Expected results
// ---------------------------------------------------------------------------------------

/// The value after Kafka's null handling with `replace.null.with.default=true`: a null
/// whose schema has a default is written, and so read back, as the default.
fn normalize(schema: &Schema, value: &Value) -> Value {
    match value {
        Value::Null => schema.default.clone().unwrap_or(Value::Null),
        Value::Array(items) => {
            let item_schema = schema.value_schema.as_ref().unwrap();
            Value::Array(items.iter().map(|i| normalize(item_schema, i)).collect())
        }
        Value::Map(entries) => {
            let vs = schema.value_schema.as_ref().unwrap();
            Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), normalize(vs, v)))
                    .collect(),
            )
        }
        Value::Struct(s) => {
            let values = s
                .schema()
                .fields
                .iter()
                .zip(s.values())
                .map(|(f, v)| normalize(&f.schema, v))
                .collect();
            Value::Struct(Struct::from_values(s.schema().clone(), values).unwrap())
        }
        other => other.clone(),
    }
}

fn base64(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn non_finite_text(x: f64) -> Value {
    Value::String(if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned())
}

fn write(c: &JsonConverter, data: &SchemaAndValue) -> Vec<u8> {
    c.from_connect("topic", data).unwrap().unwrap()
}

fn read(c: &JsonConverter, bytes: &[u8]) -> SchemaAndValue {
    c.to_connect("topic", Some(bytes)).unwrap()
}

fn assert_envelope(bytes: &[u8]) -> Result<(), TestCaseError> {
    let json: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| TestCaseError::fail(format!("invalid JSON: {e}")))?;
    let keys: Vec<&str> = json
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    prop_assert_eq!(keys, vec!["schema", "payload"]);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn round_trip_with_schemas((schema, value) in schema_and_value(Nulls::FilledByDefaults)) {
        let c = JsonConverter::with_schemas(true);
        let data = SchemaAndValue::new(schema.clone(), value.clone());
        let bytes = write(&c, &data);
        assert_envelope(&bytes)?;
        let back = read(&c, &bytes);
        let expected = SchemaAndValue::new(schema.clone(), normalize(&schema, &value));
        prop_assert_eq!(&back, &expected, "JSON: {}", String::from_utf8_lossy(&bytes));
        // Writing what was read gives the same bytes, from this converter (cached
        // schema JSON) and from a fresh one.
        prop_assert_eq!(&write(&c, &back), &bytes);
        prop_assert_eq!(&write(&JsonConverter::with_schemas(true), &back), &bytes);
    }

    #[test]
    fn round_trip_with_numeric_decimals((schema, value) in schema_and_value(Nulls::FilledByDefaults)) {
        let c = converter(&[("decimal.format", "NUMERIC")]);
        let data = SchemaAndValue::new(schema.clone(), value.clone());
        let bytes = write(&c, &data);
        assert_envelope(&bytes)?;
        let expected = SchemaAndValue::new(schema.clone(), normalize(&schema, &value));
        prop_assert_eq!(&read(&c, &bytes), &expected, "JSON: {}", String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn round_trip_keeping_nulls((schema, value) in schema_and_value(Nulls::Kept)) {
        let c = converter(&[("replace.null.with.default", "false")]);
        let data = SchemaAndValue::new(schema, value);
        let bytes = write(&c, &data);
        assert_envelope(&bytes)?;
        prop_assert_eq!(&read(&c, &bytes), &data, "JSON: {}", String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn output_is_valid_json((schema, value) in schema_and_value(Nulls::FilledByDefaults)) {
        let configs: [&[(&str, &str)]; 4] = [
            &[("schemas.enable", "true")],
            &[("schemas.enable", "false")],
            &[("schemas.enable", "true"), ("decimal.format", "NUMERIC")],
            &[("schemas.enable", "false"), ("decimal.format", "NUMERIC")],
        ];
        for pairs in configs {
            let c = converter(pairs);
            for data in [
                SchemaAndValue::new(schema.clone(), value.clone()),
                // The same value without its schema (structs carry their own).
                SchemaAndValue::schemaless(value.clone()),
            ] {
                if let Some(bytes) = c.from_connect("topic", &data).unwrap() {
                    let parsed = serde_json::from_slice::<serde_json::Value>(&bytes);
                    prop_assert!(parsed.is_ok(), "{:?}: {}", parsed, String::from_utf8_lossy(&bytes));
                    // Whatever was written reads back without error.
                    c.to_connect("topic", Some(&bytes)).unwrap();
                }
            }
        }
    }

    #[test]
    fn schemaless_read_of_primitives((schema, value) in primitive_and_value()) {
        let c = JsonConverter::with_schemas(false);
        let bytes = write(&c, &SchemaAndValue::new(schema.clone(), value.clone()));
        let back = read(&c, &bytes);
        prop_assert!(back.schema.is_none());
        let json = String::from_utf8_lossy(&bytes).into_owned();
        match normalize(&schema, &value) {
            Value::Float32(x) if x.is_finite() => match back.value {
                // Java's Float.toString text, read as a double, is nearest to the float.
                Value::Float64(y) => prop_assert_eq!(y as f32, x, "JSON: {}", json),
                other => prop_assert!(false, "{:?} read as {:?}", x, other),
            },
            v => {
                let expected = match v {
                    Value::Null => Value::Null,
                    Value::Int8(n) => Value::Int64(n.into()),
                    Value::Int16(n) => Value::Int64(n.into()),
                    Value::Int32(n) => Value::Int64(n.into()),
                    Value::Int64(n) => Value::Int64(n),
                    Value::Float32(x) => non_finite_text(x.into()),
                    Value::Float64(x) if x.is_finite() => Value::Float64(x),
                    Value::Float64(x) => non_finite_text(x),
                    Value::Boolean(b) => Value::Boolean(b),
                    Value::String(s) => Value::String(s),
                    Value::Bytes(b) => base64(&b),
                    Value::Decimal(d) => base64(&d.unscaled.to_signed_bytes_be()),
                    other => unreachable!("not a primitive: {other:?}"),
                };
                prop_assert_eq!(back.value, expected, "JSON: {}", json);
            }
        }
    }

    #[test]
    fn schemaless_json_values_round_trip(value in json_native_value()) {
        for enable in [true, false] {
            let c = JsonConverter::with_schemas(enable);
            let data = SchemaAndValue::schemaless(value.clone());
            match c.from_connect("topic", &data).unwrap() {
                None => prop_assert!(value.is_null()),
                Some(bytes) => {
                    prop_assert_eq!(&read(&c, &bytes), &data, "JSON: {}", String::from_utf8_lossy(&bytes));
                }
            }
        }
    }
}

#[test]
fn nan_round_trips_as_nan() {
    let c = JsonConverter::with_schemas(true);
    for schema in [
        SchemaBuilder::new(Type::Float32).build(),
        SchemaBuilder::new(Type::Float64).build(),
    ] {
        let value = if schema.ty == Type::Float32 {
            Value::Float32(f32::NAN)
        } else {
            Value::Float64(f64::NAN)
        };
        let back = read(&c, &write(&c, &SchemaAndValue::new(schema.clone(), value)));
        assert_eq!(back.schema, Some(schema));
        assert!(
            matches!(back.value, Value::Float32(x) if x.is_nan())
                || matches!(back.value, Value::Float64(x) if x.is_nan())
        );
    }
}
