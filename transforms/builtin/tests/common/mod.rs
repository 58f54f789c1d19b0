//! Helpers shared by the integration tests: building plugins through the registry
//! (so every test also exercises the plugin's ConfigDef), and building records.
#![allow(dead_code)]

use sluice_core::config::ConfigMap;
use sluice_core::plugin::{Predicate, Transform};
use sluice_core::{Record, SchemaAndValue, SchemaBuilder, SchemaRef, Struct, Type, Value};

/// A config map from pairs.
pub fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Builds the transform registered under `name` (class or alias).
pub fn transform(name: &str, pairs: &[(&str, &str)]) -> Box<dyn Transform> {
    let plugin =
        sluice_transforms::transform(name).unwrap_or_else(|| panic!("no transform {name}"));
    match (plugin.build)(&cfg(pairs)) {
        Ok(t) => t,
        Err(e) => panic!("{name}: {e}"),
    }
}

/// The error building the transform fails with.
pub fn transform_err(name: &str, pairs: &[(&str, &str)]) -> String {
    let plugin =
        sluice_transforms::transform(name).unwrap_or_else(|| panic!("no transform {name}"));
    match (plugin.build)(&cfg(pairs)) {
        Ok(_) => panic!("{name} accepted {pairs:?}"),
        Err(e) => e.to_string(),
    }
}

/// Builds the predicate registered under `name`.
pub fn predicate(name: &str, pairs: &[(&str, &str)]) -> Box<dyn Predicate> {
    let plugin =
        sluice_transforms::predicate(name).unwrap_or_else(|| panic!("no predicate {name}"));
    match (plugin.build)(&cfg(pairs)) {
        Ok(p) => p,
        Err(e) => panic!("{name}: {e}"),
    }
}

/// Applies a transform that must keep the record.
pub fn apply(t: &mut Box<dyn Transform>, r: Record) -> Record {
    match t.apply(r) {
        Ok(Some(r)) => r,
        Ok(None) => panic!("record was dropped"),
        Err(e) => panic!("transform failed: {e}"),
    }
}

/// Applies a transform that must fail, returning the message.
pub fn apply_err(t: &mut Box<dyn Transform>, r: Record) -> String {
    match t.apply(r) {
        Ok(r) => panic!("expected an error, got {r:?}"),
        Err(e) => e.to_string(),
    }
}

/// A schemaless map with string keys.
pub fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (Value::from(*k), v.clone()))
            .collect(),
    )
}

/// A primitive schema.
pub fn prim(ty: Type) -> SchemaRef {
    SchemaBuilder::new(ty).build()
}

/// An optional primitive schema.
pub fn opt(ty: Type) -> SchemaRef {
    SchemaBuilder::new(ty).optional().build()
}

/// A struct from a schema and values in field order.
pub fn st(schema: &SchemaRef, values: Vec<Value>) -> Struct {
    Struct::from_values(schema.clone(), values).unwrap_or_else(|e| panic!("{e}"))
}

/// A record with a value and schema.
pub fn rec(topic: &str, schema: Option<SchemaRef>, value: Value) -> Record {
    Record::new(topic, SchemaAndValue { schema, value })
}

/// A record with a key (and no value).
pub fn key_rec(topic: &str, schema: Option<SchemaRef>, key: Value) -> Record {
    let mut r = Record::new(topic, SchemaAndValue::NULL);
    r.key = SchemaAndValue { schema, value: key };
    r
}

/// The struct in a value, or a panic.
pub fn as_struct(v: &Value) -> &Struct {
    match v {
        Value::Struct(s) => s,
        other => panic!("not a struct: {other:?}"),
    }
}

/// Field names of a struct schema, in order.
pub fn names(schema: &SchemaRef) -> Vec<&str> {
    schema.fields.iter().map(|f| f.name.as_str()).collect()
}

/// Builds a Debezium envelope schema around a row schema (MySQL-like source).
pub fn envelope_schema(topic: &str, row: &SchemaRef) -> SchemaRef {
    let source = SchemaBuilder::struct_()
        .name("io.debezium.connector.mysql.Source")
        .field("version", prim(Type::String))
        .field("connector", prim(Type::String))
        .field("name", prim(Type::String))
        .field("ts_ms", prim(Type::Int64))
        .field("db", prim(Type::String))
        .field("table", opt(Type::String))
        .field("lsn", opt(Type::Int64))
        .build();
    let tx = SchemaBuilder::struct_()
        .name("event.block")
        .optional()
        .field("id", prim(Type::String))
        .field("total_order", prim(Type::Int64))
        .field("data_collection_order", prim(Type::Int64))
        .build();
    SchemaBuilder::struct_()
        .name(format!("{topic}.Envelope"))
        .version(1)
        .field("before", row.clone())
        .field("after", row.clone())
        .field("source", source)
        .field("transaction", tx)
        .field("op", prim(Type::String))
        .field("ts_ms", opt(Type::Int64))
        .build()
}

/// A change event value for `envelope_schema`.
pub fn envelope(
    schema: &SchemaRef,
    before: Option<Struct>,
    after: Option<Struct>,
    op: &str,
) -> Value {
    let source_schema = schema
        .field("source")
        .map(|f| f.schema.clone())
        .unwrap_or_else(|| panic!("no source"));
    let source = st(
        &source_schema,
        vec![
            "2.7.0.Final".into(),
            "mysql".into(),
            "dbserver1".into(),
            Value::Int64(1_559_033_904_000),
            "inventory".into(),
            "customers".into(),
            Value::Int64(123_456_789),
        ],
    );
    Value::Struct(st(
        schema,
        vec![
            before.map_or(Value::Null, Value::Struct),
            after.map_or(Value::Null, Value::Struct),
            Value::Struct(source),
            Value::Null,
            op.into(),
            Value::Int64(1_559_033_904_863),
        ],
    ))
}

/// An outbox-table change event (Debezium's docs example row) with this payload.
pub fn outbox_record(op: &str, payload: Value) -> Record {
    let ts = SchemaBuilder::new(Type::Int64)
        .name("io.debezium.time.Timestamp")
        .version(1)
        .optional()
        .build();
    let row = SchemaBuilder::struct_()
        .name("dbserver1.public.outboxevent.Value")
        .optional()
        .field("id", prim(Type::String))
        .field("aggregatetype", prim(Type::String))
        .field("aggregateid", prim(Type::String))
        .field("type", prim(Type::String))
        .field("payload", opt(Type::String))
        .field("created", ts)
        .field("shard", opt(Type::Int32))
        .build();
    let env = envelope_schema("dbserver1.public.outboxevent", &row);
    let after = st(
        &row,
        vec![
            "406c07f3-26f0-4eea-a50c-109940064b8f".into(),
            "Order".into(),
            "1".into(),
            "OrderCreated".into(),
            payload,
            Value::Int64(1_556_890_294_484),
            3i32.into(),
        ],
    );
    let (before, after) = if op == "d" {
        (Some(after), None)
    } else {
        (None, Some(after))
    };
    rec(
        "dbserver1.public.outboxevent",
        Some(env.clone()),
        envelope(&env, before, after, op),
    )
}
