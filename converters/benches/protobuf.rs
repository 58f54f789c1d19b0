//! ProtobufConverter cost per record: a 20-column row (Debezium-style `after` struct with
//! ints, strings, a decimal, a date, a timestamp, a double, a boolean, bytes) encoded and
//! framed through the converter, against the built-in registry over HTTP. After warm-up
//! the registry client's HTTP counter must not move: the bench fails if it does.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use sluice_converters::protobuf::ProtobufConverter;
use sluice_core::plugin::Converter;
use sluice_core::value::{Decimal, Struct};
use sluice_core::{SchemaAndValue, SchemaBuilder, SchemaRef, Type, Value};

fn row_schema() -> SchemaRef {
    let mut b = SchemaBuilder::struct_().name("bench.inventory.orders.Value");
    for i in 0..6 {
        b = b.field(format!("int_{i}"), SchemaBuilder::new(Type::Int64).build());
    }
    for i in 0..6 {
        b = b.field(
            format!("text_{i}"),
            SchemaBuilder::new(Type::String).optional().build(),
        );
    }
    b.field("small", SchemaBuilder::new(Type::Int16).build())
        .field("qty", SchemaBuilder::new(Type::Int32).build())
        .field(
            "price",
            SchemaBuilder::decimal(2)
                .parameter("connect.decimal.precision", "10")
                .build(),
        )
        .field("day", SchemaBuilder::date().optional().build())
        .field("at", SchemaBuilder::timestamp().build())
        .field("ratio", SchemaBuilder::new(Type::Float64).build())
        .field("flag", SchemaBuilder::new(Type::Boolean).build())
        .field("blob", SchemaBuilder::new(Type::Bytes).optional().build())
        .build()
}

fn row(schema: &SchemaRef, n: i64) -> SchemaAndValue {
    let mut s = Struct::new(schema.clone());
    for i in 0..6 {
        s = s.with(&format!("int_{i}"), n * 1000 + i);
        s = s.with(&format!("text_{i}"), format!("value {n} of column {i}"));
    }
    let s = s
        .with("small", 7i16)
        .with("qty", 42)
        .with("price", Decimal::new(12_345 + n, 2))
        .with("day", 19_723)
        .with("at", 1_700_000_000_000i64 + n)
        .with("ratio", 0.25f64)
        .with("flag", true)
        .with("blob", vec![1u8, 2, 3, 4]);
    SchemaAndValue::new(schema.clone(), Value::Struct(s))
}

fn bench(c: &mut Criterion) {
    let registry = sluice_schema_registry::TestRegistry::start();
    let mut config = BTreeMap::new();
    config.insert("schema.registry.url".to_owned(), registry.url());
    let converter = match ProtobufConverter::new(&config) {
        Ok(c) => c,
        Err(e) => panic!("converter: {e}"),
    };
    let schema = row_schema();
    let record = row(&schema, 1);
    let topic = "bench.inventory.orders";
    if let Err(e) = converter.from_connect(topic, &record) {
        panic!("warm-up: {e}");
    }
    let warm = converter.registry().http_calls();
    c.bench_function("protobuf/encode_20_column_row", |b| {
        b.iter(|| match converter.from_connect(topic, black_box(&record)) {
            Ok(bytes) => black_box(bytes),
            Err(e) => panic!("encode: {e}"),
        })
    });
    let bytes = match converter.from_connect(topic, &record) {
        Ok(Some(b)) => b,
        other => panic!("encode: {other:?}"),
    };
    c.bench_function("protobuf/decode_20_column_row", |b| {
        b.iter(
            || match converter.to_connect(topic, Some(black_box(&bytes))) {
                Ok(v) => black_box(v),
                Err(e) => panic!("decode: {e}"),
            },
        )
    });
    let after = converter.registry().http_calls();
    assert_eq!(
        after,
        warm,
        "registry HTTP calls after warm-up: {} (must be 0)",
        after - warm
    );
    eprintln!(
        "registry HTTP calls: {warm} during warm-up, {} after warm-up",
        after - warm
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
