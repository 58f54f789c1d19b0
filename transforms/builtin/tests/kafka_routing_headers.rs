//! Kafka Connect's routing, timestamp and header transforms and its predicates,
//! against the documented examples.

mod common;

use common::*;
use sluice_core::schema::logical;
use sluice_core::{Record, SchemaAndValue, SchemaBuilder, Type, Value};

fn with_headers(mut r: Record, hs: &[(&str, &str)]) -> Record {
    for (k, v) in hs {
        r.headers
            .add(*k, SchemaAndValue::new(prim(Type::String), *v));
    }
    r
}

fn header_keys(r: &Record) -> Vec<&str> {
    r.headers.iter().map(|h| h.key.as_str()).collect()
}

#[test]
fn regex_router_docs_example() {
    // Docs: regex ([^.]+)\.([^.]+)\.([^.]+), replacement $3: db.schema.table -> table
    let mut t = transform(
        "org.apache.kafka.connect.transforms.RegexRouter",
        &[
            ("regex", r"([^.]+)\.([^.]+)\.([^.]+)"),
            ("replacement", "$3"),
        ],
    );
    assert_eq!(
        apply(&mut t, rec("db.schema.table", None, Value::Null)).topic,
        "table"
    );
    // A partial match does not rename (matches(), not find()).
    assert_eq!(apply(&mut t, rec("a.b", None, Value::Null)).topic, "a.b");
    let mut t = transform(
        "RegexRouter",
        &[
            ("regex", "(?<db>[^.]+)\\.(.*)"),
            ("replacement", "${db}_all-$2\\$"),
        ],
    );
    assert_eq!(
        apply(&mut t, rec("shop.orders", None, Value::Null)).topic,
        "shop_all-orders$"
    );
    let e = transform_err("RegexRouter", &[("regex", "(a"), ("replacement", "x")]);
    assert!(
        e.contains("Invalid value (a for configuration regex"),
        "{e}"
    );
    let e = transform_err("RegexRouter", &[("regex", "(a)"), ("replacement", "$2")]);
    assert!(e.contains("No group 2"), "{e}");
}

#[test]
fn timestamp_router_docs_example() {
    // Docs: topic.format foo-${topic}-${timestamp}, timestamp.format YYYYMM
    let mut t = transform(
        "TimestampRouter",
        &[
            ("topic.format", "foo-${topic}-${timestamp}"),
            ("timestamp.format", "YYYYMM"),
        ],
    );
    let mut r = rec("orders", None, Value::Null);
    r.timestamp = Some(1_700_000_000_000); // 2023-11-14
    assert_eq!(apply(&mut t, r).topic, "foo-orders-202311");
    let mut d = transform("org.apache.kafka.connect.transforms.TimestampRouter", &[]);
    let mut r = rec("orders", None, Value::Null);
    r.timestamp = Some(0);
    assert_eq!(apply(&mut d, r).topic, "orders-19700101");
    let msg = apply_err(&mut d, rec("orders", None, Value::Null));
    assert!(msg.contains("Timestamp missing on record"), "{msg}");
    let e = transform_err("TimestampRouter", &[("timestamp.format", "yyyy-ww")]);
    assert!(e.contains("Illegal pattern character 'w'"), "{e}");
}

#[test]
fn timestamp_converter_field_to_date_and_string() {
    // Docs: field event_date, format yyyy-MM-dd, target.type Date
    let schema = SchemaBuilder::struct_()
        .name("e")
        .field("id", prim(Type::Int32))
        .field("event_date", opt(Type::String))
        .build();
    let mut t = transform(
        "TimestampConverter$Value",
        &[
            ("field", "event_date"),
            ("format", "yyyy-MM-dd"),
            ("target.type", "Date"),
        ],
    );
    let out = apply(
        &mut t,
        rec(
            "t",
            Some(schema.clone()),
            Value::Struct(st(&schema, vec![1i32.into(), "2017-10-26".into()])),
        ),
    );
    let s = out.value.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!(
        (s.fields[1].schema.name(), s.fields[1].schema.optional),
        (Some(logical::DATE), true)
    );
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[1i32.into(), Value::Int32(17_465)]
    );
    // Timestamp -> string, unix seconds -> Timestamp, schemaless whole value.
    let mut s2 = transform(
        "TimestampConverter$Value",
        &[
            ("target.type", "string"),
            ("format", "yyyy-MM-dd HH:mm:ss.SSS"),
        ],
    );
    let out = apply(
        &mut s2,
        rec(
            "t",
            Some(SchemaBuilder::timestamp().build()),
            Value::Int64(1_700_000_000_123),
        ),
    );
    assert_eq!(
        out.value,
        SchemaAndValue::new(prim(Type::String), "2023-11-14 22:13:20.123")
    );
    let mut u = transform(
        "TimestampConverter$Value",
        &[("target.type", "Timestamp"), ("unix.precision", "seconds")],
    );
    let out = apply(&mut u, rec("t", None, Value::Int64(1_700_000_000)));
    assert_eq!(out.value.value, Value::Int64(1_700_000_000_000));
    let mut back = transform(
        "TimestampConverter$Key",
        &[
            ("target.type", "unix"),
            ("unix.precision", "microseconds"),
            ("format", "yyyy-MM-dd"),
        ],
    );
    let out = apply(&mut back, key_rec("t", None, "2023-11-14".into()));
    assert_eq!(out.key.value, Value::Int64(1_699_920_000_000_000));
    let mut time = transform(
        "TimestampConverter$Value",
        &[("field", "ts"), ("target.type", "Time")],
    );
    let out = apply(
        &mut time,
        rec("t", None, map(&[("ts", Value::Int64(1_700_000_000_123))])),
    );
    assert_eq!(out.value.value, map(&[("ts", Value::Int32(80_000_123))]));
    let msg = apply_err(
        &mut t,
        rec(
            "t",
            Some(schema.clone()),
            Value::Struct(st(&schema, vec![1i32.into(), "26/10/2017".into()])),
        ),
    );
    assert!(
        msg.contains(
            "Could not parse timestamp: value (26/10/2017) does not match pattern (yyyy-MM-dd)"
        ),
        "{msg}"
    );
    let e = transform_err("TimestampConverter$Value", &[("target.type", "string")]);
    assert!(e.contains("requires format option"), "{e}");
}

#[test]
fn drop_headers_docs_example() {
    let mut t = transform("DropHeaders", &[("headers", "unwanted-1,unwanted-2")]);
    let r = with_headers(
        rec("t", None, Value::Null),
        &[
            ("keep", "a"),
            ("unwanted-1", "b"),
            ("unwanted-2", "c"),
            ("unwanted-1", "d"),
        ],
    );
    assert_eq!(header_keys(&apply(&mut t, r)), ["keep"]);
}

#[test]
fn header_from_copy_and_move() {
    // Docs: fields id,ts headers record_id,ts operation copy
    let schema = SchemaBuilder::struct_()
        .name("v")
        .field("id", prim(Type::Int32))
        .field("ts", opt(Type::Int64))
        .field("x", prim(Type::String))
        .build();
    let value = Value::Struct(st(&schema, vec![5i32.into(), Value::Int64(9), "y".into()]));
    let mut c = transform(
        "HeaderFrom$Value",
        &[
            ("fields", "id,ts"),
            ("headers", "record_id,ts"),
            ("operation", "copy"),
        ],
    );
    let out = apply(
        &mut c,
        with_headers(rec("t", Some(schema.clone()), value.clone()), &[("h", "1")]),
    );
    assert_eq!(header_keys(&out), ["h", "record_id", "ts"]);
    let h = out
        .headers
        .last_with_name("record_id")
        .unwrap_or_else(|| panic!());
    assert_eq!(h.value, SchemaAndValue::new(prim(Type::Int32), 5i32));
    assert!(std::sync::Arc::ptr_eq(
        out.value.schema.as_ref().unwrap_or_else(|| panic!()),
        &schema
    ));
    let mut m = transform(
        "HeaderFrom$Value",
        &[
            ("fields", "id,ts"),
            ("headers", "record_id,ts"),
            ("operation", "move"),
        ],
    );
    let out = apply(&mut m, rec("t", Some(schema.clone()), value));
    let s = out.value.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!((s.name(), names(&s)), (Some("v"), vec!["x"]));
    assert_eq!(as_struct(&out.value.value).values(), &["y".into()]);
    let out = apply(
        &mut m,
        rec("t", None, map(&[("id", 1i32.into()), ("x", "y".into())])),
    );
    assert_eq!(out.value.value, map(&[("x", "y".into())]));
    assert_eq!(
        out.headers.last_with_name("ts").map(|h| h.value.clone()),
        Some(SchemaAndValue::NULL)
    );
    let e = transform_err(
        "HeaderFrom$Value",
        &[("fields", "a,b"), ("headers", "a"), ("operation", "copy")],
    );
    assert!(
        e.contains("'fields' config must have the same number of elements as 'headers' config."),
        "{e}"
    );
    let e = transform_err(
        "HeaderFrom$Key",
        &[("fields", "a"), ("headers", "a"), ("operation", "cut")],
    );
    assert!(e.contains("String must be one of: move, copy"), "{e}");
}

#[test]
fn insert_header_docs_example() {
    // Docs: header app.id, value.literal best-app-ever
    let mut t = transform(
        "InsertHeader",
        &[("header", "app.id"), ("value.literal", "best-app-ever")],
    );
    let out = apply(
        &mut t,
        with_headers(rec("t", None, Value::Null), &[("app.id", "old")]),
    );
    assert_eq!(header_keys(&out), ["app.id", "app.id"]);
    assert_eq!(
        out.headers
            .last_with_name("app.id")
            .map(|h| h.value.clone()),
        Some(SchemaAndValue::new(prim(Type::String), "best-app-ever"))
    );
    let mut n = transform("InsertHeader", &[("header", "n"), ("value.literal", "42")]);
    let out = apply(&mut n, rec("t", None, Value::Null));
    assert_eq!(
        out.headers.last_with_name("n").map(|h| h.value.clone()),
        Some(SchemaAndValue::new(prim(Type::Int8), 42i8))
    );
}

#[test]
fn filter_with_predicates() {
    let mut f = transform("org.apache.kafka.connect.transforms.Filter", &[]);
    assert!(matches!(f.apply(rec("t", None, Value::Null)), Ok(None)));
    let p = predicate(
        "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        &[("pattern", "foo.*")],
    );
    assert!(p.test(&rec("foo-bar", None, Value::Null)));
    assert!(!p.test(&rec("xfoo", None, Value::Null)));
    let h = predicate("HasHeaderKey", &[("name", "my-header")]);
    assert!(h.test(&with_headers(
        rec("t", None, Value::Null),
        &[("my-header", "x")]
    )));
    assert!(!h.test(&rec("t", None, Value::Null)));
    let tomb = predicate("RecordIsTombstone", &[]);
    assert!(tomb.test(&rec("t", None, Value::Null)));
    assert!(!tomb.test(&rec("t", None, "x".into())));
    let plugin = sluice_transforms::predicate("TopicNameMatches").unwrap_or_else(|| panic!());
    let e = match (plugin.build)(&cfg(&[("pattern", "[")])) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("Invalid value [ for configuration pattern: Invalid regex"),
        "{e}"
    );
}
