//! The per-record fast paths: ReplaceField and InsertField reuse the input's values
//! vector (trimmed / extended in place), RegexRouter and `route.by.field` reuse the
//! topic buffer, and the per-schema caches answer repeated and equal-but-distinct
//! schemas alike. The outcomes must be those of rebuilding everything.

mod common;

use common::*;
use sluice_core::{Record, SchemaBuilder, SchemaRef, Type, Value};

/// A row of `n` fields `c0..c{n-1}`: even ones required int32, odd ones optional
/// strings; `c1` has a default.
fn row_schema(n: usize) -> SchemaRef {
    let mut b = SchemaBuilder::struct_().name("t.Value").version(3);
    for i in 0..n {
        let s = match i {
            1 => SchemaBuilder::new(Type::String)
                .optional()
                .default_value("dflt".into())
                .build(),
            _ if i % 2 == 0 => prim(Type::Int32),
            _ => opt(Type::String),
        };
        b = b.field(format!("c{i}"), s);
    }
    b.build()
}

fn row_values(n: usize, seed: i32) -> Vec<Value> {
    (0..n)
        .map(|i| match i {
            1 => Value::Null,
            _ if i % 2 == 0 => Value::Int32(seed * 100 + i as i32),
            _ => Value::String(format!("s{seed}-{i}")),
        })
        .collect()
}

fn row_record(schema: &SchemaRef, seed: i32) -> Record {
    let n = schema.fields.len();
    rec(
        "db.inv.t",
        Some(schema.clone()),
        Value::Struct(st(schema, row_values(n, seed))),
    )
}

#[test]
fn replace_field_exclude_is_in_place_and_reads_defaults() {
    let schema = row_schema(8);
    let mut t = transform("ReplaceField$Value", &[("exclude", "c0,c3,c4,c7")]);
    for seed in 0..3 {
        let out = apply(&mut t, row_record(&schema, seed));
        let s = out.value.schema.clone().unwrap_or_else(|| panic!());
        assert_eq!(names(&s), ["c1", "c2", "c5", "c6"]);
        assert_eq!((s.name(), s.version), (Some("t.Value"), Some(3)));
        let v = as_struct(&out.value.value);
        assert!(std::sync::Arc::ptr_eq(v.schema(), &s));
        assert_eq!(
            v.values(),
            &[
                "dflt".into(),
                Value::Int32(seed * 100 + 2),
                Value::String(format!("s{seed}-5")),
                Value::Int32(seed * 100 + 6),
            ]
        );
    }
    // Without replace.null.with.default the null stays.
    let mut t = transform(
        "ReplaceField$Value",
        &[("exclude", "c0"), ("replace.null.with.default", "false")],
    );
    let out = apply(&mut t, row_record(&schema, 1));
    assert_eq!(as_struct(&out.value.value).values()[0], Value::Null);
}

#[test]
fn replace_field_include_rename_and_identity() {
    let schema = row_schema(6);
    // include + renames: order follows the input, names are the new ones.
    let mut t = transform(
        "ReplaceField$Value",
        &[("include", "c5,c2,c1"), ("renames", "c5:five,c2:two")],
    );
    let out = apply(&mut t, row_record(&schema, 4));
    let s = out.value.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!(names(&s), ["c1", "two", "five"]);
    assert_eq!(
        as_struct(&out.value.value).values(),
        &["dflt".into(), Value::Int32(402), "s4-5".into()]
    );
    // Nothing excluded: every value stays, the schema still loses optionality.
    let mut t = transform("ReplaceField$Value", &[("exclude", "nope")]);
    let out = apply(&mut t, row_record(&schema, 2));
    let mut expected = row_values(6, 2);
    expected[1] = "dflt".into();
    assert_eq!(as_struct(&out.value.value).values(), expected.as_slice());
    // Excluding everything leaves an empty struct.
    let mut t = transform("ReplaceField$Value", &[("exclude", "c0,c1,c2,c3,c4,c5")]);
    let out = apply(&mut t, row_record(&schema, 2));
    assert!(as_struct(&out.value.value).values().is_empty());
}

#[test]
fn replace_field_cache_handles_equal_and_changing_schemas() {
    let mut t = transform("ReplaceField$Value", &[("exclude", "c1")]);
    // An equal schema built separately (same content, another allocation).
    let (a, b) = (row_schema(4), row_schema(4));
    let c = row_schema(5);
    for schema in [&a, &b, &c, &a, &c, &b] {
        let out = apply(&mut t, row_record(schema, 7));
        let n = schema.fields.len();
        let mut expected = row_values(n, 7);
        expected.remove(1);
        assert_eq!(as_struct(&out.value.value).values(), expected.as_slice());
        assert_eq!(
            out.value.schema.as_ref().map(|s| s.fields.len()),
            Some(n - 1)
        );
    }
}

#[test]
fn insert_field_appends_in_place() {
    let schema = row_schema(3);
    let mut t = transform(
        "InsertField$Value",
        &[
            ("topic.field", "topic!"),
            ("partition.field", "part"),
            ("timestamp.field", "ts"),
            ("static.field", "origin"),
            ("static.value", "sluice"),
        ],
    );
    for seed in 0..2 {
        let mut r = row_record(&schema, seed);
        r.timestamp = Some(1_700_000_000_000);
        let out = apply(&mut t, r);
        let s = out.value.schema.clone().unwrap_or_else(|| panic!());
        assert_eq!(
            names(&s),
            ["c0", "c1", "c2", "topic", "part", "ts", "origin"]
        );
        assert!(!s.fields[3].schema.optional && s.fields[4].schema.optional);
        assert_eq!(
            as_struct(&out.value.value).values(),
            &[
                Value::Int32(seed * 100),
                "dflt".into(),
                Value::Int32(seed * 100 + 2),
                "db.inv.t".into(),
                Value::Null,
                Value::Int64(1_700_000_000_000),
                "sluice".into(),
            ]
        );
    }
    // A key-side insert reads the topic too; a null key passes through.
    let mut k = transform("InsertField$Key", &[("topic.field", "t")]);
    let key_schema = SchemaBuilder::struct_()
        .field("id", prim(Type::Int64))
        .build();
    let mut r = key_rec(
        "orders",
        Some(key_schema.clone()),
        Value::Struct(st(&key_schema, vec![Value::Int64(1)])),
    );
    r = apply(&mut k, r);
    assert_eq!(
        as_struct(&r.key.value).values(),
        &[Value::Int64(1), "orders".into()]
    );
    let r = apply(&mut k, key_rec("orders", None, Value::Null));
    assert!(r.key.value.is_null());
}

#[test]
fn regex_router_memo_across_topics() {
    let mut t = transform(
        "RegexRouter",
        &[
            ("regex", r"([^.]+)\.([^.]+)\.([^.]+)"),
            ("replacement", "$3"),
        ],
    );
    let topics = [
        ("db.inv.orders", "orders"),
        ("db.inv.orders", "orders"),
        ("nomatch", "nomatch"),
        ("db.inv.orders", "orders"),
        ("a.b.a-much-longer-table-name", "a-much-longer-table-name"),
        ("nomatch", "nomatch"),
        ("x.y.z", "z"),
    ];
    for (input, expected) in topics {
        let out = apply(&mut t, rec(input, None, Value::Null));
        assert_eq!(out.topic, expected, "{input}");
    }
}

#[test]
fn unwrap_exclude_insert_chain() {
    let row = row_schema(6);
    let env = envelope_schema("db.inv.t", &row);
    let mut chain = [
        transform("ExtractNewRecordState", &[("route.by.field", "c3")]),
        transform("ReplaceField$Value", &[("exclude", "c3")]),
        transform(
            "InsertField$Value",
            &[("static.field", "origin"), ("static.value", "sluice")],
        ),
    ];
    for seed in 0..3 {
        let after = st(&row, row_values(6, seed));
        let mut r = rec(
            "db.inv.t",
            Some(env.clone()),
            envelope(&env, None, Some(after), "c"),
        );
        for t in chain.iter_mut() {
            r = apply(t, r);
        }
        assert_eq!(r.topic, format!("s{seed}-3"));
        let s = r.value.schema.clone().unwrap_or_else(|| panic!());
        assert_eq!(names(&s), ["c0", "c1", "c2", "c4", "c5", "origin"]);
        assert_eq!(
            as_struct(&r.value.value).values(),
            &[
                Value::Int32(seed * 100),
                "dflt".into(),
                Value::Int32(seed * 100 + 2),
                Value::Int32(seed * 100 + 4),
                Value::String(format!("s{seed}-5")),
                "sluice".into(),
            ]
        );
    }
}
