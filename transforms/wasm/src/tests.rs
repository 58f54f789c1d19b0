//! Unit tests of path edits and value conversions, on records directly (no guest).

use std::sync::Arc;

use sluice_core::schema::SchemaBuilder;
use sluice_core::{Decimal, Record, SchemaAndValue, SchemaRef, Struct, Type, Value};

use crate::convert::{derive_json_schema, from_json, parse_json, to_json_text};
use crate::host::WitValue as W;
use crate::path::{get, remove, set, SchemaCache};

fn row_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .optional()
        .field("id", SchemaBuilder::new(Type::Int32).build())
        .field("email", SchemaBuilder::new(Type::String).optional().build())
        .field("balance", SchemaBuilder::decimal(2).optional().build())
        .field("day", SchemaBuilder::date().optional().build())
        .field("tags", SchemaBuilder::array(string()).optional().build())
        .build()
}

fn string() -> SchemaRef {
    SchemaBuilder::new(Type::String).build()
}

fn record() -> Record {
    let row_schema = row_schema();
    let env = SchemaBuilder::struct_()
        .field("before", row_schema.clone())
        .field("after", row_schema.clone())
        .field("op", string())
        .build();
    let row = Struct::new(row_schema)
        .with("id", 7)
        .with("email", "a@b.c")
        .with("balance", Decimal::new(150, 2))
        .with("day", 19000)
        .with("tags", Value::Array(vec!["x".into()]));
    let value = Struct::new(env.clone()).with("after", row).with("op", "c");
    Record::new("t", SchemaAndValue::new(env, value))
}

fn after(r: &Record) -> &Struct {
    match &r.value.value {
        Value::Struct(env) => match env.get("after") {
            Some(Value::Struct(s)) => s,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn get_maps_values_as_the_wit_says() {
    let r = record();
    assert_eq!(get(&r, "value.after.id"), Some(W::Int(7)));
    assert_eq!(get(&r, "value.after.balance"), Some(W::Text("1.50".into())));
    assert_eq!(get(&r, "value.after.day"), Some(W::Int(19000)));
    assert_eq!(
        get(&r, "value.after.tags"),
        Some(W::Json(r#"["x"]"#.into()))
    );
    assert_eq!(get(&r, "value.after.tags.0"), Some(W::Text("x".into())));
    assert_eq!(get(&r, "value.before"), Some(W::Null));
    assert_eq!(get(&r, "value.before.id"), None);
    assert_eq!(get(&r, "value.nope"), None);
    assert_eq!(get(&r, "key"), Some(W::Null));
    assert_eq!(get(&r, "nope.x"), None);
}

#[test]
fn set_checks_the_field_schema() {
    let mut r = record();
    let mut cache = SchemaCache::default();
    set(
        &mut r,
        "value.after.balance",
        W::Text("2.5".into()),
        &mut cache,
    )
    .expect("decimal");
    assert_eq!(
        after(&r).get("balance"),
        Some(&Value::Decimal(Decimal::new(250, 2)))
    );
    set(&mut r, "value.after.balance", W::Int(3), &mut cache).expect("int decimal");
    assert_eq!(
        after(&r).get("balance"),
        Some(&Value::Decimal(Decimal::new(300, 2)))
    );
    let before = r.clone();
    for (path, v, msg) in [
        ("value.after.balance", W::Text("1.234".into()), "scale 2"),
        ("value.after.id", W::Int(1 << 40), "out of range"),
        ("value.after.id", W::Null, "required"),
        ("value.after.email", W::Int(1), "does not fit"),
        ("value.before.id", W::Int(1), "parent is null"),
        ("value.op.x", W::Int(1), "not a struct or map"),
        ("other.x", W::Int(1), "must start with"),
        ("value.after.tags", W::Json("[1]".into()), "does not fit"),
    ] {
        let err = set(&mut r, path, v, &mut cache).expect_err(path);
        assert!(err.contains(msg), "{path}: {err}");
    }
    assert_eq!(r, before, "failed sets change nothing");
    set(
        &mut r,
        "value.after.tags",
        W::Json(r#"["y","z"]"#.into()),
        &mut cache,
    )
    .expect("json");
    assert_eq!(
        after(&r).get("tags"),
        Some(&Value::Array(vec!["y".into(), "z".into()]))
    );
}

#[test]
fn set_widens_and_caches_per_input_schema() {
    let mut cache = SchemaCache::default();
    let base = record(); // clones share its schema Arcs, as records of one table do
    let mut a = base.clone();
    let mut b = base.clone();
    set(&mut a, "value.after.score", W::Float(1.5), &mut cache).expect("widen");
    set(&mut b, "value.after.score", W::Float(2.5), &mut cache).expect("widen");
    let (sa, sb) = (
        a.value.schema.clone().expect("s"),
        b.value.schema.clone().expect("s"),
    );
    assert!(Arc::ptr_eq(&sa, &sb));
    assert!(Arc::ptr_eq(
        after(&a).schema(),
        &sa.field("after").expect("after").schema
    ));
    let score = after(&a).schema().field("score").expect("score");
    assert!(score.schema.optional && score.schema.ty == Type::Float64 && score.index == 5);
    a.value.value.validate(&sa).expect("valid");
    assert_eq!(after(&a).get("score"), Some(&Value::Float64(1.5)));
    // Setting it again finds the field: no further widening.
    set(&mut a, "value.after.score", W::Float(3.0), &mut cache).expect("set");
    assert!(Arc::ptr_eq(a.value.schema.as_ref().expect("s"), &sa));
    // A different type for the same new field is a different widening.
    let mut c = record();
    set(
        &mut c,
        "value.after.score",
        W::Text("high".into()),
        &mut cache,
    )
    .expect("widen");
    assert!(!Arc::ptr_eq(c.value.schema.as_ref().expect("s"), &sa));
}

#[test]
fn remove_narrows_structs_and_edits_maps() {
    let mut cache = SchemaCache::default();
    let mut r = record();
    assert!(remove(&mut r, "value.after.email", &mut cache));
    assert!(!remove(&mut r, "value.after.email", &mut cache));
    let schema = r.value.schema.clone().expect("s");
    r.value.value.validate(&schema).expect("valid");
    assert_eq!(
        after(&r).schema().field("balance").map(|f| f.index),
        Some(1)
    );
    assert_eq!(
        after(&r).get("balance"),
        Some(&Value::Decimal(Decimal::new(150, 2)))
    );
    assert!(remove(&mut r, "value.after.tags.0", &mut cache));
    assert_eq!(after(&r).get("tags"), Some(&Value::Array(vec![])));

    let mut m = Record::new(
        "t",
        SchemaAndValue::schemaless(Value::Map(vec![("a".into(), 1i64.into())])),
    );
    assert!(remove(&mut m, "value.a", &mut cache));
    assert!(!remove(&mut m, "value.a", &mut cache));
    assert!(remove(&mut m, "value", &mut cache));
    assert_eq!(m.value, SchemaAndValue::NULL);
}

#[test]
fn schemaless_sets_create_maps() {
    let mut cache = SchemaCache::default();
    let mut r = Record::new("t", SchemaAndValue::NULL);
    set(&mut r, "value.a.b", W::Int(1), &mut cache).expect("set");
    set(&mut r, "key", W::Text("k".into()), &mut cache).expect("key");
    assert_eq!(get(&r, "value"), Some(W::Json(r#"{"a":{"b":1}}"#.into())));
    assert_eq!(r.key, SchemaAndValue::schemaless("k"));
}

#[test]
fn json_round_trips_and_derives_schemas() {
    let r = record();
    let text = to_json_text(&r.value.value);
    assert_eq!(
        text,
        r#"{"before":null,"after":{"id":7,"email":"a@b.c","balance":"1.50","day":19000,"tags":["x"]},"op":"c"}"#
    );
    let schema = r.value.schema.clone().expect("s");
    let back = from_json(&parse_json(&text).expect("json"), Some(&schema)).expect("fits");
    assert_eq!(back, r.value.value);
    let err =
        from_json(&parse_json(r#"{"nope":1}"#).expect("json"), Some(&schema)).expect_err("unknown");
    assert!(err.contains("nope"), "{err}");

    let derived = derive_json_schema(
        &parse_json(r#"{"a":1,"b":"x","c":[1.5],"d":{"e":true}}"#).expect("json"),
    );
    let names: Vec<_> = derived
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.schema.ty))
        .collect();
    assert_eq!(
        names,
        [
            ("a", Type::Int64),
            ("b", Type::String),
            ("c", Type::Array),
            ("d", Type::Struct)
        ]
    );
    assert!(derived.fields.iter().all(|f| f.schema.optional));
}
