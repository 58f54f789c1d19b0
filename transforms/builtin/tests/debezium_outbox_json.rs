//! The outbox EventRouter's `table.expand.json.payload` (with
//! `table.json.payload.null.behavior` and `field.name.adjustment.mode`) against
//! Debezium's documented example and `JsonSchemaData`'s rules.
//!
//! The router reads Debezium change events, which always carry a schema; a record
//! without one (not an envelope) passes through untouched, expansion or not.

mod common;

use common::*;
use sluice_core::{Record, SchemaAndValue, SchemaBuilder, SchemaRef, Struct, Type, Value};

const OUTBOX: &str = "io.debezium.transforms.outbox.EventRouter";

/// The payload of Debezium's "Expanding escaped JSON String as JSON" example.
const DOCS_PAYLOAD: &str = r#"{"id": 1, "lineItems": [{"id": 1, "item": "Debezium in Action", "status": "ENTERED", "quantity": 2, "totalPrice": 39.98}, {"id": 2, "item": "Debezium for Dummies", "status": "ENTERED", "quantity": 1, "totalPrice": 29.99}], "orderDate": "2019-01-31T12:13:01", "customerId": 123}"#;

fn expanding(extra: &[(&str, &str)]) -> Box<dyn sluice_core::plugin::Transform> {
    let mut cfg = vec![("table.expand.json.payload", "true")];
    cfg.extend_from_slice(extra);
    transform(OUTBOX, &cfg)
}

fn run(extra: &[(&str, &str)], payload: &str) -> Record {
    apply(&mut expanding(extra), outbox_record("c", payload.into()))
}

fn value_schema(r: &Record) -> SchemaRef {
    r.value
        .schema
        .clone()
        .unwrap_or_else(|| panic!("no value schema"))
}

fn line_item_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("payload.lineItems")
        .optional()
        .field("id", opt(Type::Int32))
        .field("item", opt(Type::String))
        .field("status", opt(Type::String))
        .field("quantity", opt(Type::Int32))
        .field("totalPrice", opt(Type::Float64))
        .build()
}

fn docs_payload_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("payload")
        .optional()
        .field("id", opt(Type::Int32))
        .field(
            "lineItems",
            SchemaBuilder::array(line_item_schema()).optional().build(),
        )
        .field("orderDate", opt(Type::String))
        .field("customerId", opt(Type::Int32))
        .build()
}

fn docs_payload_value() -> Value {
    let li = line_item_schema();
    Value::Struct(st(
        &docs_payload_schema(),
        vec![
            1i32.into(),
            Value::Array(vec![
                Value::Struct(st(
                    &li,
                    vec![
                        1i32.into(),
                        "Debezium in Action".into(),
                        "ENTERED".into(),
                        2i32.into(),
                        Value::Float64(39.98),
                    ],
                )),
                Value::Struct(st(
                    &li,
                    vec![
                        2i32.into(),
                        "Debezium for Dummies".into(),
                        "ENTERED".into(),
                        1i32.into(),
                        Value::Float64(29.99),
                    ],
                )),
            ]),
            "2019-01-31T12:13:01".into(),
            123i32.into(),
        ],
    ))
}

#[test]
fn docs_example_expands_into_a_struct() {
    let out = run(&[], DOCS_PAYLOAD);
    assert_eq!(out.topic, "outbox.event.Order");
    assert_eq!(out.key, SchemaAndValue::new(prim(Type::String), "1"));
    assert_eq!(
        out.value,
        SchemaAndValue::new(docs_payload_schema(), docs_payload_value())
    );
    // Off (the default), the same payload stays the escaped string.
    let out = apply(
        &mut transform(OUTBOX, &[]),
        outbox_record("c", DOCS_PAYLOAD.into()),
    );
    assert_eq!(
        out.value,
        SchemaAndValue::new(opt(Type::String), DOCS_PAYLOAD)
    );
}

#[test]
fn expanded_payload_inside_the_envelope() {
    let out = run(
        &[(
            "table.fields.additional.placement",
            "type:envelope:eventType",
        )],
        DOCS_PAYLOAD,
    );
    let s = value_schema(&out);
    let expected = SchemaBuilder::struct_()
        .name("dbserver1.public.outboxevent.Order.Value")
        .field("payload", docs_payload_schema())
        .field("eventType", prim(Type::String))
        .build();
    assert_eq!(s, expected);
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[docs_payload_value(), "OrderCreated".into()]
    );
}

#[test]
fn nulls_and_empty_arrays_by_null_behavior() {
    let payload = r#"{"a": null, "b": [], "c": "x", "d": {"e": null}}"#;
    // ignore (default): null members and empty arrays have no schema and are left out.
    let out = run(&[], payload);
    let d = SchemaBuilder::struct_()
        .name("payload.d")
        .optional()
        .build();
    let s = SchemaBuilder::struct_()
        .name("payload")
        .optional()
        .field("c", opt(Type::String))
        .field("d", d.clone())
        .build();
    assert_eq!(value_schema(&out), s);
    assert_eq!(
        as_struct(&out.value.value).values(),
        &["x".into(), Value::Struct(st(&d, vec![]))]
    );
    // optional_bytes: a null is an optional bytes field holding null.
    let out = run(
        &[("table.json.payload.null.behavior", "optional_bytes")],
        payload,
    );
    let d = SchemaBuilder::struct_()
        .name("payload.d")
        .optional()
        .field("e", opt(Type::Bytes))
        .build();
    let s = SchemaBuilder::struct_()
        .name("payload")
        .optional()
        .field("a", opt(Type::Bytes))
        .field("c", opt(Type::String))
        .field("d", d.clone())
        .build();
    assert_eq!(value_schema(&out), s);
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[
            Value::Null,
            "x".into(),
            Value::Struct(st(&d, vec![Value::Null]))
        ]
    );
    let e = transform_err(OUTBOX, &[("table.json.payload.null.behavior", "keep")]);
    assert!(
        e.contains("table.json.payload.null.behavior") && e.contains("optional_bytes"),
        "{e}"
    );
}

#[test]
fn number_types_follow_jackson() {
    let out = run(&[], r#"{"i": -7, "l": 3000000000, "d": 1.5, "x": 1e2}"#);
    let s = SchemaBuilder::struct_()
        .name("payload")
        .optional()
        .field("i", opt(Type::Int32))
        .field("l", opt(Type::Int64))
        .field("d", opt(Type::Float64))
        .field("x", opt(Type::Float64))
        .build();
    assert_eq!(value_schema(&out), s);
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[
            Value::Int32(-7),
            Value::Int64(3_000_000_000),
            Value::Float64(1.5),
            Value::Float64(100.0)
        ]
    );
    // Beyond int64 Jackson has a BigInteger: a float64 schema no value fits.
    let e = apply_err(
        &mut expanding(&[]),
        outbox_record("c", r#"{"b": 12345678901234567890}"#.into()),
    );
    assert!(
        e.contains("table.expand.json.payload") && e.contains("field b"),
        "{e}"
    );
}

#[test]
fn array_items_merge_in_document_order() {
    // Debezium's JsonSchemaDataTest (DBZ-6910): items with and without "description".
    let out = run(
        &[],
        r#"{"arr": [{"code":"100","description":"some description"},{"code":"200","description":"another description"},{"code":"300"}]}"#,
    );
    // Two distinct item schemas: merged, and (copySchemaBasics) no longer optional.
    let item = SchemaBuilder::struct_()
        .name("payload.arr")
        .field("code", opt(Type::String))
        .field("description", opt(Type::String))
        .build();
    let s = SchemaBuilder::struct_()
        .name("payload")
        .optional()
        .field("arr", SchemaBuilder::array(item.clone()).optional().build())
        .build();
    assert_eq!(value_schema(&out), s);
    let it = |c: &str, d: Option<&str>| {
        Value::Struct(st(
            &item,
            vec![c.into(), d.map_or(Value::Null, Value::from)],
        ))
    };
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[Value::Array(vec![
            it("100", Some("some description")),
            it("200", Some("another description")),
            it("300", None)
        ])]
    );
    // Nulls in a primitive array are skipped when inferring and kept as values.
    let out = run(&[], r#"{"n": [null, 1, 2]}"#);
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[Value::Array(vec![Value::Null, 1i32.into(), 2i32.into()])]
    );
}

#[test]
fn field_names_are_adjusted_as_debezium_does() {
    let out = run(
        &[("field.name.adjustment.mode", "avro")],
        r#"{"my-field": 1, "ok": 2}"#,
    );
    let s = SchemaBuilder::struct_()
        .name("payload")
        .optional()
        .field("my_field", opt(Type::Int32))
        .field("ok", opt(Type::Int32))
        .build();
    assert_eq!(value_schema(&out), s);
    // Debezium reads each member back under its adjusted name, which the document
    // does not have: the renamed field is null.
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[Value::Null, 2i32.into()]
    );
}

#[test]
fn what_is_not_expanded_stays_a_string() {
    for payload in [
        "plain text",
        "{not json",
        r#"{"mixed": [1, "x"]}"#,
        r#"{"nums": [1, 2.5]}"#,
        r#"{"nulls": [null]}"#,
        "",
    ] {
        let out = run(&[], payload);
        assert_eq!(
            out.value,
            SchemaAndValue::new(opt(Type::String), payload),
            "{payload}"
        );
    }
    // Jackson's readTree reads the first value and ignores what follows it.
    let out = run(&[], r#"{"a": true} trailing"#);
    let s = SchemaBuilder::struct_()
        .name("payload")
        .optional()
        .field("a", opt(Type::Boolean))
        .build();
    assert_eq!(
        out.value,
        SchemaAndValue::new(
            s.clone(),
            Value::Struct(
                Struct::from_values(s, vec![true.into()]).unwrap_or_else(|e| panic!("{e}"))
            )
        )
    );
    // A null payload is not a string: left alone (and a tombstone when asked for).
    let out = apply(
        &mut expanding(&[("route.tombstone.on.empty.payload", "true")]),
        outbox_record("c", Value::Null),
    );
    assert_eq!(out.value, SchemaAndValue::NULL);
    // Records without a schema are not Debezium envelopes: passed through.
    let plain = rec("t", None, map(&[("payload", "{}".into())]));
    assert_eq!(apply(&mut expanding(&[]), plain.clone()), plain);
}

#[test]
fn a_top_level_array_fails_the_record() {
    let e = apply_err(
        &mut expanding(&[]),
        outbox_record("c", r#"[{"id": 1}]"#.into()),
    );
    assert!(
        e.contains("table.expand.json.payload") && e.contains("JSON array payload"),
        "{e}"
    );
}

#[test]
fn legacy_and_tracing_keys_are_accepted_and_ignored() {
    // Keys an existing Debezium config may still carry: Debezium ignores them.
    let mut t = transform(
        OUTBOX,
        &[
            ("table.field.payload.id", "aggregateid"),
            ("debezium.op.invalid.behavior", "fatal"),
            ("tracing.span.context.field", "tracingspancontext"),
        ],
    );
    let out = apply(&mut t, outbox_record("c", "x".into()));
    assert_eq!(out.value, SchemaAndValue::new(opt(Type::String), "x"));
    // An update is still skipped (the 1.x "fatal" has no effect, as in Debezium 2+).
    assert!(matches!(t.apply(outbox_record("u", "x".into())), Ok(None)));
}
