//! The in-process source pipeline without a broker: datagen `poll` → (empty) transform
//! chain → JsonConverter for key and value, per record, for a 20-column row.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sluice_connector_file::datagen::{DatagenTask, EventShape};
use sluice_converters::JsonConverter;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{Converter, SourceTask, SourceTaskContext};

fn pipeline(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let key = JsonConverter::with_schemas(true);
    let value = JsonConverter::with_schemas(true);
    let schemaless = JsonConverter::with_schemas(false);
    let shape = EventShape::new("bench", "inventory", "customers", 20, 8);

    let mut g = c.benchmark_group("datagen_to_json");
    g.throughput(Throughput::Elements(1));
    g.bench_function("generate_only", |b| {
        let mut seq = 0u64;
        b.iter(|| {
            seq += 1;
            shape.event(42, seq, 1_700_000_000_000)
        })
    });
    g.bench_function("json_with_schemas", |b| {
        let mut seq = 0u64;
        b.iter(|| {
            seq += 1;
            let r = shape.event(42, seq, 1_700_000_000_000);
            let k = key
                .from_connect(&r.record.topic, &r.record.key)
                .expect("key");
            let v = value
                .from_connect(&r.record.topic, &r.record.value)
                .expect("value");
            (k, v)
        })
    });
    g.bench_function("json_without_schemas", |b| {
        let mut seq = 0u64;
        b.iter(|| {
            seq += 1;
            let r = shape.event(42, seq, 1_700_000_000_000);
            schemaless
                .from_connect(&r.record.topic, &r.record.value)
                .expect("value")
        })
    });
    g.finish();

    let mut g = c.benchmark_group("datagen_task_poll_to_json");
    const BATCH: u64 = 1000;
    g.throughput(Throughput::Elements(BATCH));
    let mut config = ConfigMap::new();
    config.insert("batch.size".into(), BATCH.to_string());
    config.insert("columns".into(), "20".into());
    let mut task = DatagenTask::default();
    rt.block_on(task.start(&config, SourceTaskContext::default()))
        .expect("start");
    g.bench_function("batch_of_1000", |b| {
        b.iter_batched(
            || (),
            |_| {
                let batch = rt.block_on(task.poll()).expect("poll");
                let mut bytes = 0usize;
                for r in &batch {
                    bytes += key
                        .from_connect(&r.record.topic, &r.record.key)
                        .expect("key")
                        .map_or(0, |b| b.len());
                    bytes += value
                        .from_connect(&r.record.topic, &r.record.value)
                        .expect("value")
                        .map_or(0, |b| b.len());
                }
                bytes
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
