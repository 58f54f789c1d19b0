//! Per-record cost of `AvroConverter::from_connect` on a 20-column row (ints, longs,
//! strings, a decimal, a timestamp, optional fields), against an in-memory registry over
//! HTTP; after the warm-up record the registry must see no call, and the bench says how
//! many it counted.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use sluice_converters::AvroConverter;
use sluice_core::plugin::Converter;
use sluice_core::schema::{Schema, SchemaBuilder, SchemaRef, Type};
use sluice_core::value::{Decimal, Struct, Value};
use sluice_core::SchemaAndValue;
use sluice_schema_registry::TestRegistry;

fn row() -> (SchemaRef, Value) {
    let req = |t| Schema::primitive(t, false);
    let opt = |t| Schema::primitive(t, true);
    let schema = SchemaBuilder::struct_()
        .name("bench.inventory.orders.Value")
        .field("id", req(Type::Int64))
        .field("customer_id", req(Type::Int32))
        .field("quantity", req(Type::Int32))
        .field("status_code", req(Type::Int16))
        .field("priority", opt(Type::Int8))
        .field("created_ms", req(Type::Int64))
        .field("updated_ms", opt(Type::Int64))
        .field("sku", req(Type::String))
        .field("name", req(Type::String))
        .field("description", opt(Type::String))
        .field("email", opt(Type::String))
        .field("country", req(Type::String))
        .field("price", SchemaBuilder::decimal(2).build())
        .field("created_at", SchemaBuilder::timestamp().build())
        .field("ship_date", SchemaBuilder::date().optional().build())
        .field("weight", req(Type::Float64))
        .field("discount", opt(Type::Float32))
        .field("paid", req(Type::Boolean))
        .field("notes", opt(Type::String))
        .field("version", req(Type::Int32))
        .build();
    let value = Struct::new(schema.clone())
        .with("id", 1_234_567_890_123i64)
        .with("customer_id", 42_001i32)
        .with("quantity", 3i32)
        .with("status_code", 2i16)
        .with("created_ms", 1_700_000_000_000i64)
        .with("updated_ms", 1_700_000_123_456i64)
        .with("sku", "SKU-000123-XL")
        .with("name", "Widget, large, blue")
        .with("email", "someone@example.com")
        .with("country", "NL")
        .with("price", Decimal::parse("1234.56").expect("decimal"))
        .with("created_at", 1_700_000_000_000i64)
        .with("ship_date", 19_700i32)
        .with("weight", 1.25f64)
        .with("paid", true)
        .with("version", 7i32);
    (schema, Value::Struct(value))
}

fn bench(c: &mut Criterion) {
    let registry = TestRegistry::start();
    let converter = AvroConverter::for_registry(&registry.url()).expect("converter");
    let (schema, value) = row();
    let data = SchemaAndValue {
        schema: Some(schema),
        value,
    };
    let first = converter
        .from_connect("bench.inventory.orders", &data)
        .expect("warm-up")
        .expect("bytes");
    let warm = converter.registry().http_calls();
    c.bench_function("avro from_connect, 20-column row", |b| {
        b.iter(|| {
            black_box(
                converter
                    .from_connect(black_box("bench.inventory.orders"), black_box(&data))
                    .expect("encode"),
            )
        })
    });
    let after = converter.registry().http_calls() - warm;
    eprintln!(
        "avro: {} bytes per record; registry HTTP calls: {warm} during warm-up, {after} after warm-up",
        first.len()
    );
    assert_eq!(after, 0, "no registry call on the per-record path");
}

criterion_group!(benches, bench);
criterion_main!(benches);
