//! A chain of three built-ins on a 20-column Debezium change event:
//! ExtractNewRecordState → ReplaceField$Value (exclude) → InsertField$Value (static),
//! and the same with RegexRouter in the middle. Each iteration moves one record
//! through the chain; cloning the inputs and dropping the outputs happen outside the
//! timed loop (`iter_custom`), so what is timed is the transforms' own work,
//! including dropping the parts of the envelope they discard.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Bencher, Criterion};
use sluice_core::config::ConfigMap;
use sluice_core::plugin::Transform;
use sluice_core::{Decimal, Record, SchemaAndValue, SchemaBuilder, SchemaRef, Struct, Type, Value};

fn schema(ty: Type, optional: bool) -> SchemaRef {
    let b = SchemaBuilder::new(ty);
    if optional {
        b.optional().build()
    } else {
        b.build()
    }
}

/// A MySQL-shaped change event with 20 columns (id + 19 of mixed types).
fn event() -> Record {
    let topic = "dbserver1.inventory.orders";
    let mut row = SchemaBuilder::struct_()
        .name(format!("{topic}.Value"))
        .optional()
        .field("id", schema(Type::Int64, false));
    let mut values = vec![Value::Int64(42)];
    for i in 1..20 {
        let (s, v) = match i % 6 {
            0 => (
                schema(Type::String, true),
                Value::String(format!("text value {i}")),
            ),
            1 => (schema(Type::Int32, true), Value::Int32(i * 1000)),
            2 => (schema(Type::Int64, true), Value::Int64(i64::from(i) << 33)),
            3 => (
                schema(Type::Float64, true),
                Value::Float64(f64::from(i) * 1.5),
            ),
            4 => (
                SchemaBuilder::decimal(2).optional().build(),
                Value::Decimal(Decimal::new(123_456 + i64::from(i), 2)),
            ),
            _ => (schema(Type::Boolean, true), Value::Boolean(i % 2 == 0)),
        };
        row = row.field(format!("col_{i}"), s);
        values.push(v);
    }
    let row = row.build();
    let s = |ty| schema(ty, false);
    let source = SchemaBuilder::struct_()
        .name("io.debezium.connector.mysql.Source")
        .field("version", s(Type::String))
        .field("connector", s(Type::String))
        .field("name", s(Type::String))
        .field("ts_ms", s(Type::Int64))
        .field("db", s(Type::String))
        .field("table", schema(Type::String, true))
        .field("server_id", s(Type::Int64))
        .field("file", s(Type::String))
        .field("pos", s(Type::Int64))
        .field("row", s(Type::Int32))
        .build();
    let env = SchemaBuilder::struct_()
        .name(format!("{topic}.Envelope"))
        .field("before", row.clone())
        .field("after", row.clone())
        .field("source", source.clone())
        .field("op", s(Type::String))
        .field("ts_ms", schema(Type::Int64, true))
        .build();
    let src = Struct::from_values(
        source,
        vec![
            "2.7.0.Final".into(),
            "mysql".into(),
            "dbserver1".into(),
            Value::Int64(1_700_000_000_000),
            "inventory".into(),
            "orders".into(),
            Value::Int64(223_344),
            "mysql-bin.000003".into(),
            Value::Int64(154),
            Value::Int32(0),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let after = Struct::from_values(row, values).unwrap_or_else(|e| panic!("{e}"));
    let value = Struct::from_values(
        env.clone(),
        vec![
            Value::Null,
            Value::Struct(after),
            Value::Struct(src),
            "c".into(),
            Value::Int64(1_700_000_000_123),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let key_schema = SchemaBuilder::struct_()
        .name(format!("{topic}.Key"))
        .field("id", s(Type::Int64))
        .build();
    let mut r = Record::new(topic, SchemaAndValue::new(env, value));
    let key = Struct::from_values(key_schema.clone(), vec![Value::Int64(42)])
        .unwrap_or_else(|e| panic!("{e}"));
    r.key = SchemaAndValue::new(key_schema, key);
    r
}

fn build(name: &str, pairs: &[(&str, &str)]) -> Box<dyn Transform> {
    let cfg: ConfigMap = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let plugin = sluice_transforms::transform(name).unwrap_or_else(|| panic!("{name}"));
    (plugin.build)(&cfg).unwrap_or_else(|e| panic!("{e}"))
}

/// Times `iters` records through `chain`, cloning inputs and dropping outputs untimed.
fn timed(b: &mut Bencher<'_>, input: &Record, chain: &mut [Box<dyn Transform>]) {
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(32) as usize;
            left -= n as u64;
            let mut inputs: Vec<Option<Record>> = (0..n).map(|_| Some(input.clone())).collect();
            let mut outputs = Vec::with_capacity(n);
            let start = Instant::now();
            for slot in inputs.iter_mut() {
                if let Some(r) = slot.take() {
                    outputs.push(run(chain, r));
                }
            }
            total += start.elapsed();
            drop(outputs);
        }
        total
    })
}

fn run(chain: &mut [Box<dyn Transform>], mut r: Record) -> Option<Record> {
    for t in chain.iter_mut() {
        r = t.apply(r).unwrap_or_else(|e| panic!("{e}"))?;
    }
    Some(r)
}

fn bench(c: &mut Criterion) {
    let input = event();
    let mut chain = vec![
        build("io.debezium.transforms.ExtractNewRecordState", &[]),
        build(
            "org.apache.kafka.connect.transforms.ReplaceField$Value",
            &[("exclude", "col_3,col_7,col_11")],
        ),
        build(
            "org.apache.kafka.connect.transforms.InsertField$Value",
            &[("static.field", "origin"), ("static.value", "sluice")],
        ),
    ];
    let out = run(&mut chain, input.clone()).unwrap_or_else(|| panic!("dropped"));
    assert_eq!(out.value.schema.as_ref().map(|s| s.fields.len()), Some(18));
    c.bench_function("unwrap_exclude_insert_20_cols", |b| {
        timed(b, &input, &mut chain)
    });
    let mut routed = vec![
        build("ExtractNewRecordState", &[]),
        build(
            "RegexRouter",
            &[
                ("regex", r"([^.]+)\.([^.]+)\.([^.]+)"),
                ("replacement", "$3"),
            ],
        ),
        build(
            "InsertField$Value",
            &[("static.field", "origin"), ("static.value", "sluice")],
        ),
    ];
    c.bench_function("unwrap_regexroute_insert_20_cols", |b| {
        timed(b, &input, &mut routed)
    });
}

/// Each stage alone, and the floors: an empty chain, and dropping a whole event.
fn stages(c: &mut Criterion) {
    let input = event();
    let mut nothing: Vec<Box<dyn Transform>> = Vec::new();
    c.bench_function("baseline_empty_chain", |b| timed(b, &input, &mut nothing));
    let mut dropper = vec![build("Filter", &[])];
    c.bench_function("baseline_filter_drops_event", |b| {
        timed(b, &input, &mut dropper)
    });
    let mut unwrap = vec![build("ExtractNewRecordState", &[])];
    c.bench_function("stage_extract_new_record_state", |b| {
        timed(b, &input, &mut unwrap)
    });
    let row =
        run(&mut [build("ExtractNewRecordState", &[])], input.clone()).unwrap_or_else(|| panic!());
    let mut exclude = vec![build(
        "ReplaceField$Value",
        &[("exclude", "col_3,col_7,col_11")],
    )];
    c.bench_function("stage_replace_field_exclude", |b| {
        timed(b, &row, &mut exclude)
    });
    let mut insert = vec![build(
        "InsertField$Value",
        &[("static.field", "origin"), ("static.value", "sluice")],
    )];
    c.bench_function("stage_insert_field_static", |b| timed(b, &row, &mut insert));
}

criterion_group!(benches, bench, stages);
criterion_main!(benches);
