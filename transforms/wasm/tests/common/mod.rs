//! Shared by the integration tests: builds the example and test plugins for
//! wasm32-wasip2 (once per test binary), and sample CDC records.

#![allow(dead_code)] // each test binary uses part of this

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sluice_core::config::ConfigMap;
use sluice_core::plugin::Transform;
use sluice_core::schema::SchemaBuilder;
use sluice_core::{Decimal, Record, SchemaAndValue, SchemaRef, Struct, Type, Value};

const TARGET: &str = "wasm32-wasip2";

/// The path of a built plugin (`mask_field`, `test_spin`, …).
pub fn plugin(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(build);
    let path = dir.join(format!("{name}.wasm"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

fn build() -> PathBuf {
    ensure_target();
    let manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/wasm-transform/Cargo.toml");
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasm-plugins");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--workspace",
            "--target",
            TARGET,
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .expect("run cargo to build the WASM plugins");
    assert!(
        status.success(),
        "building the WASM plugins ({}) failed",
        manifest.display()
    );
    target_dir.join(TARGET).join("release")
}

/// Panics with what to do when the wasm32-wasip2 target is missing (after trying to
/// add it with rustup once).
fn ensure_target() {
    let installed = || {
        let out = Command::new("rustc").args(["--print", "sysroot"]).output();
        out.ok()
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .is_some_and(|sysroot| sysroot.join("lib/rustlib").join(TARGET).exists())
    };
    if installed() {
        return;
    }
    let _ = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status();
    assert!(
        installed(),
        "the Rust target {TARGET} is not installed and `rustup target add {TARGET}` did not add it: \
         install it (examples/wasm-transform/build.sh does) to run the WASM transform tests"
    );
}

/// Settings for the wasm transform: the module plus `extra` pairs.
pub fn settings(module: &Path, extra: &[(&str, &str)]) -> ConfigMap {
    let mut map = ConfigMap::new();
    map.insert("module".into(), module.display().to_string());
    for (k, v) in extra {
        map.insert((*k).into(), (*v).into());
    }
    map
}

/// A transform built through the plugin descriptor, as the runtime builds it.
pub fn transform(module: &str, extra: &[(&str, &str)]) -> Box<dyn Transform> {
    (sluice_wasm::WASM_TRANSFORM.build)(&settings(&plugin(module), extra)).expect("build transform")
}

/// The row schema of a `users` table.
pub fn row_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("db.inventory.users.Value")
        .optional()
        .field("id", SchemaBuilder::new(Type::Int32).build())
        .field("name", SchemaBuilder::new(Type::String).build())
        .field("email", SchemaBuilder::new(Type::String).optional().build())
        .field("balance", SchemaBuilder::decimal(2).optional().build())
        .field("created", SchemaBuilder::date().optional().build())
        .build()
}

/// A Debezium-style envelope schema around `row`.
pub fn envelope_schema(row: &SchemaRef) -> SchemaRef {
    let source = SchemaBuilder::struct_()
        .name("io.debezium.connector.mysql.Source")
        .field("db", SchemaBuilder::new(Type::String).build())
        .field("table", SchemaBuilder::new(Type::String).optional().build())
        .build();
    SchemaBuilder::struct_()
        .name("db.inventory.users.Envelope")
        .field("before", row.clone())
        .field("after", row.clone())
        .field("source", source)
        .field("op", SchemaBuilder::new(Type::String).build())
        .field("ts_ms", SchemaBuilder::new(Type::Int64).optional().build())
        .build()
}

/// A CDC record for user `id`, with operation `op`.
pub fn cdc_record(envelope: &SchemaRef, id: i32, op: &str) -> Record {
    let row_schema = envelope.field("after").expect("after").schema.clone();
    let row = Struct::new(row_schema)
        .with("id", id)
        .with("name", format!("user{id}"))
        .with("email", format!("user{id}@example.com"))
        .with("balance", Decimal::new(12345, 2))
        .with("created", 19000i32);
    let source_schema = envelope.field("source").expect("source").schema.clone();
    let source = Struct::new(source_schema)
        .with("db", "inventory")
        .with("table", "users");
    let value = Struct::new(envelope.clone())
        .with("after", Value::Struct(row))
        .with("source", Value::Struct(source))
        .with("op", op)
        .with("ts_ms", 1_700_000_000_000i64);
    let key_schema = SchemaBuilder::struct_()
        .field("id", SchemaBuilder::new(Type::Int32).build())
        .build();
    let mut record = Record::new(
        "dbserver.inventory.users",
        SchemaAndValue::new(envelope.clone(), value),
    );
    record.key = SchemaAndValue::new(key_schema.clone(), Struct::new(key_schema).with("id", id));
    record.timestamp = Some(1_700_000_000_123);
    record
}

/// A schemaless record whose value is a map of `pairs`.
pub fn flag_record(pairs: &[(&str, Value)]) -> Record {
    let entries = pairs
        .iter()
        .map(|(k, v)| (Value::String((*k).into()), v.clone()))
        .collect();
    Record::new("flags", SchemaAndValue::schemaless(Value::Map(entries)))
}

/// The struct at `path` (`["after"]`) of a record's value.
pub fn struct_at<'a>(record: &'a Record, path: &[&str]) -> &'a Struct {
    let mut value = &record.value.value;
    for seg in path {
        value = match value {
            Value::Struct(s) => s.get(seg).expect("field"),
            other => panic!("not a struct: {other:?}"),
        };
    }
    match value {
        Value::Struct(s) => s,
        other => panic!("not a struct: {other:?}"),
    }
}
