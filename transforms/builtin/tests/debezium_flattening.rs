//! Debezium's ExtractNewRecordState against the before/after examples of its docs,
//! every delete/tombstone mode, metadata fields and headers, routing and field drops.

mod common;

use std::sync::Arc;

use common::*;
use sluice_core::{Record, SchemaAndValue, SchemaBuilder, SchemaRef, Struct, Type, Value};

const TOPIC: &str = "dbserver1.inventory.customers";

fn row_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name(format!("{TOPIC}.Value"))
        .optional()
        .field("id", prim(Type::Int32))
        .field("first_name", prim(Type::String))
        .field("email", opt(Type::String))
        .field("destination", opt(Type::String))
        .build()
}

fn row(schema: &SchemaRef, id: i32, name: &str) -> Struct {
    st(
        schema,
        vec![
            id.into(),
            name.into(),
            "annek@noanswer.org".into(),
            Value::Null,
        ],
    )
}

struct Fixture {
    row: SchemaRef,
    env: SchemaRef,
    key: SchemaRef,
}

impl Fixture {
    fn new() -> Self {
        let row = row_schema();
        let env = envelope_schema(TOPIC, &row);
        let key = SchemaBuilder::struct_()
            .name(format!("{TOPIC}.Key"))
            .field("id", prim(Type::Int32))
            .build();
        Fixture { row, env, key }
    }

    fn event(&self, before: Option<Struct>, after: Option<Struct>, op: &str) -> Record {
        let mut r = rec(
            TOPIC,
            Some(self.env.clone()),
            envelope(&self.env, before, after, op),
        );
        r.key = SchemaAndValue::new(self.key.clone(), st(&self.key, vec![1004i32.into()]));
        r
    }

    fn update(&self) -> Record {
        self.event(
            Some(row(&self.row, 1004, "Anne")),
            Some(row(&self.row, 1004, "Anne Marie")),
            "u",
        )
    }

    fn delete(&self) -> Record {
        self.event(Some(row(&self.row, 1004, "Anne Marie")), None, "d")
    }

    fn tombstone(&self) -> Record {
        let mut r = rec(TOPIC, None, Value::Null);
        r.key = SchemaAndValue::new(self.key.clone(), st(&self.key, vec![1004i32.into()]));
        r
    }
}

const CLASS: &str = "io.debezium.transforms.ExtractNewRecordState";

#[test]
fn update_is_replaced_by_its_after_state() {
    // Docs: {"op": "u", "before": {...}, "after": {"field1": "newvalue1", ...}} -> the after row.
    let f = Fixture::new();
    let mut t = transform(CLASS, &[]);
    let out = apply(&mut t, f.update());
    assert_eq!(out.topic, TOPIC);
    assert!(
        Arc::ptr_eq(
            out.value.schema.as_ref().unwrap_or_else(|| panic!()),
            &f.row
        ),
        "the row schema is reused"
    );
    assert_eq!(
        out.value.value,
        Value::Struct(row(&f.row, 1004, "Anne Marie"))
    );
    assert_eq!(
        out.key.value,
        Value::Struct(st(&f.key, vec![1004i32.into()]))
    );
    assert!(out.headers.is_empty());
}

#[test]
fn default_mode_keeps_tombstones_and_turns_deletes_into_null_values() {
    let f = Fixture::new();
    let mut t = transform("ExtractNewRecordState", &[]);
    let out = apply(&mut t, f.delete());
    assert_eq!(
        out.value,
        SchemaAndValue {
            schema: Some(f.row.clone()),
            value: Value::Null
        }
    );
    assert_eq!(apply(&mut t, f.tombstone()).value, SchemaAndValue::NULL);
    // Truncate events (no before, no after) are dropped.
    assert!(matches!(t.apply(f.event(None, None, "t")), Ok(None)));
    // Records that are not change events pass unchanged.
    let other = rec(TOPIC, Some(prim(Type::String)), "heartbeat".into());
    assert_eq!(apply(&mut t, other.clone()), other);
}

#[test]
fn delete_tombstone_handling_modes() {
    let f = Fixture::new();
    let run = |mode: &str| {
        let mut t = transform(CLASS, &[("delete.tombstone.handling.mode", mode)]);
        let d = t.apply(f.delete()).unwrap_or_else(|e| panic!("{e}"));
        let ts = t.apply(f.tombstone()).unwrap_or_else(|e| panic!("{e}"));
        (d, ts)
    };
    let (d, ts) = run("drop");
    assert!(d.is_none() && ts.is_none());
    let (d, ts) = run("delete-to-tombstone");
    assert_eq!(d.map(|r| r.value), Some(SchemaAndValue::NULL));
    assert!(ts.is_none());
    let (d, _) = run("delete");
    assert_eq!(d.map(|r| r.value), Some(SchemaAndValue::NULL));
    let (d, ts) = run("rewrite");
    assert!(ts.is_none());
    let d = d.unwrap_or_else(|| panic!("kept"));
    let s = d.value.schema.clone().unwrap_or_else(|| panic!());
    // Docs: "value": {"pk": 2, "cola": null, "__deleted": "true"}
    assert_eq!(
        names(&s),
        ["id", "first_name", "email", "destination", "__deleted"]
    );
    assert_eq!(
        (s.name(), s.optional),
        (Some("dbserver1.inventory.customers.Value"), false)
    );
    assert_eq!(
        (s.fields[4].schema.ty, s.fields[4].schema.optional),
        (Type::String, true)
    );
    assert_eq!(as_struct(&d.value.value).values()[4], "true".into());
    assert_eq!(as_struct(&d.value.value).values()[1], "Anne Marie".into());
    let (_, ts) = run("rewrite-with-tombstone");
    assert_eq!(ts.map(|r| r.value), Some(SchemaAndValue::NULL));
    let mut t = transform(CLASS, &[("delete.tombstone.handling.mode", "rewrite")]);
    let out = apply(&mut t, f.update());
    assert_eq!(as_struct(&out.value.value).values()[4], "false".into());
}

#[test]
fn deprecated_delete_keys_still_work() {
    let f = Fixture::new();
    let mut t = transform(
        CLASS,
        &[
            ("drop.tombstones", "false"),
            ("delete.handling.mode", "none"),
        ],
    );
    assert_eq!(apply(&mut t, f.tombstone()).value, SchemaAndValue::NULL);
    assert_eq!(apply(&mut t, f.delete()).value.value, Value::Null);
    let mut t = transform(CLASS, &[("delete.handling.mode", "rewrite")]);
    assert!(matches!(t.apply(f.tombstone()), Ok(None)));
    assert_eq!(
        as_struct(&apply(&mut t, f.delete()).value.value).get("__deleted"),
        Some(&"true".into())
    );
    let mut t = transform(CLASS, &[("drop.tombstones", "true")]);
    assert!(
        matches!(t.apply(f.delete()), Ok(None)),
        "legacy delete.handling.mode defaults to drop"
    );
}

#[test]
fn add_fields_and_headers_docs_example() {
    // Docs: add.fields=op,table,lsn,source.ts_ms, add.headers=db, delete.tombstone.handling.mode=rewrite
    let f = Fixture::new();
    let cfg = [
        ("add.fields", "op,table,lsn,source.ts_ms"),
        ("add.headers", "db"),
        ("delete.tombstone.handling.mode", "rewrite"),
    ];
    let mut t = transform(CLASS, &cfg);
    let out = apply(&mut t, f.update());
    let s = out.value.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!(
        names(&s),
        [
            "id",
            "first_name",
            "email",
            "destination",
            "__op",
            "__table",
            "__lsn",
            "__source_ts_ms",
            "__deleted"
        ]
    );
    assert!(s.fields[4..8].iter().all(|f| f.schema.optional));
    assert_eq!(
        &as_struct(&out.value.value).values()[4..],
        &[
            "u".into(),
            "customers".into(),
            Value::Int64(123_456_789),
            Value::Int64(1_559_033_904_000),
            "false".into()
        ]
    );
    let h = out
        .headers
        .last_with_name("__db")
        .unwrap_or_else(|| panic!("__db header"));
    assert_eq!(h.value, SchemaAndValue::new(opt(Type::String), "inventory"));
    // Deletes get the metadata too (rewrite mode).
    let out = apply(&mut t, f.delete());
    assert_eq!(
        &as_struct(&out.value.value).values()[4..],
        &[
            "d".into(),
            "customers".into(),
            Value::Int64(123_456_789),
            Value::Int64(1_559_033_904_000),
            "true".into()
        ]
    );
    // Renames with a prefix, and the op header of a tombstone.
    let mut t = transform(
        CLASS,
        &[
            ("add.fields", "source.ts_ms:EVENT_TIMESTAMP,ts_ms"),
            ("add.fields.prefix", "meta_"),
            ("add.headers", "op"),
            ("delete.tombstone.handling.mode", "tombstone"),
        ],
    );
    let out = apply(&mut t, f.update());
    assert_eq!(
        &names(out.value.schema.as_ref().unwrap_or_else(|| panic!()))[4..],
        ["meta_EVENT_TIMESTAMP", "meta_ts_ms"]
    );
    assert_eq!(
        out.headers
            .last_with_name("__op")
            .map(|h| h.value.value.clone()),
        Some("u".into())
    );
    let out = apply(&mut t, f.tombstone());
    assert_eq!(
        out.headers.last_with_name("__op").map(|h| h.value.clone()),
        Some(SchemaAndValue::new(prim(Type::String), "d"))
    );
}

#[test]
fn route_by_field() {
    let f = Fixture::new();
    let mut t = transform(CLASS, &[("route.by.field", "destination")]);
    let mut after = row(&f.row, 1, "A");
    after.values_mut()[3] = "customers_eu".into();
    assert_eq!(
        apply(&mut t, f.event(None, Some(after), "c")).topic,
        "customers_eu"
    );
    // A null routing value keeps the topic; deletes route by `before`.
    assert_eq!(apply(&mut t, f.update()).topic, TOPIC);
    let mut before = row(&f.row, 1, "A");
    before.values_mut()[3] = "gone".into();
    assert_eq!(
        apply(&mut t, f.event(Some(before), None, "d")).topic,
        "gone"
    );
    let mut bad = transform(CLASS, &[("route.by.field", "id")]);
    let msg = apply_err(&mut bad, f.update());
    assert!(msg.contains("Field 'id' is not of type STRING"), "{msg}");
}

#[test]
fn drop_fields_listed_in_a_header() {
    let f = Fixture::new();
    let with_header = |mut r: Record| {
        let list = SchemaBuilder::array(prim(Type::String)).build();
        r.headers.add(
            "dropped",
            SchemaAndValue::new(list, Value::Array(vec!["email".into(), "id".into()])),
        );
        r
    };
    let mut t = transform(CLASS, &[("drop.fields.header.name", "dropped")]);
    let out = apply(&mut t, with_header(f.update()));
    // Only optional fields are dropped while keeping schemas compatible.
    assert_eq!(
        names(out.value.schema.as_ref().unwrap_or_else(|| panic!())),
        ["id", "first_name", "destination"]
    );
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[1004i32.into(), "Anne Marie".into(), Value::Null]
    );
    let mut t = transform(
        CLASS,
        &[
            ("drop.fields.header.name", "dropped"),
            ("drop.fields.keep.schema.compatible", "false"),
            ("drop.fields.from.key", "true"),
        ],
    );
    let out = apply(&mut t, with_header(f.update()));
    assert_eq!(
        names(out.value.schema.as_ref().unwrap_or_else(|| panic!())),
        ["first_name", "destination"]
    );
    assert_eq!(
        names(out.key.schema.as_ref().unwrap_or_else(|| panic!())),
        Vec::<&str>::new()
    );
}
