//! Per-record cost of a WASM transform that reads one field and sets another on a
//! 20-column row (the `test_touch` plugin), next to the same edit done natively.
//! Target: at most 1 µs per record.

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use sluice_core::schema::SchemaBuilder;
use sluice_core::{Record, SchemaAndValue, Struct, Type, Value};

/// A 20-column row: c0 text, c1 int64, then alternating text and int64 columns.
fn row() -> Record {
    let mut b = SchemaBuilder::struct_().name("bench.Row");
    for i in 0..20 {
        let ty = if i % 2 == 0 {
            Type::String
        } else {
            Type::Int64
        };
        b = b.field(format!("c{i}"), SchemaBuilder::new(ty).optional().build());
    }
    let schema = b.build();
    let mut row = Struct::new(schema.clone());
    for (i, v) in row.values_mut().iter_mut().enumerate() {
        *v = if i % 2 == 0 {
            Value::String(format!("value of column {i}"))
        } else {
            Value::Int64(i as i64 * 1000)
        };
    }
    Record::new("bench", SchemaAndValue::new(schema, row))
}

fn bench(c: &mut Criterion) {
    let mut wasm = common::transform("test_touch", &[]);
    let record = row();
    let out = wasm.apply(record.clone()).expect("apply").expect("kept");
    match &out.value.value {
        Value::Struct(s) => assert_eq!(s.get("c1"), Some(&Value::Int64(17))),
        other => panic!("{other:?}"),
    }

    let mut group = c.benchmark_group("wasm_transform");
    // The edit is idempotent, so one record goes round and round: no clone measured.
    let mut slot = Some(record.clone());
    group.bench_function("read_one_set_one_20_columns", |b| {
        b.iter(|| {
            let r = slot.take().expect("record");
            slot = wasm.apply(r).expect("apply");
        })
    });
    // The same with a fresh record each time (clone and drop not measured).
    group.bench_function("read_one_set_one_20_columns_fresh", |b| {
        b.iter_batched(
            || record.clone(),
            |r| wasm.apply(r).expect("apply"),
            BatchSize::SmallInput,
        )
    });
    for (name, read, write) in [
        ("bare_call", "", ""),
        ("read_only", "value.c0", ""),
        ("write_only", "", "value.c1"),
    ] {
        let mut part = common::transform(
            "test_touch",
            &[("config.read", read), ("config.write", write)],
        );
        let mut slot = Some(record.clone());
        group.bench_function(name, |b| {
            b.iter(|| {
                let r = slot.take().expect("record");
                slot = part.apply(r).expect("apply");
            })
        });
    }
    let mut native = record.clone();
    group.bench_function("native_same_edit", |b| {
        b.iter(|| {
            if let Value::Struct(s) = &mut native.value.value {
                let n = s
                    .get("c0")
                    .and_then(Value::as_str)
                    .map_or(-1, |t| t.len() as i64);
                s.put("c1", n).expect("c1");
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
