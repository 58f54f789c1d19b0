//! The example plugins and the host API, through real components.

mod common;

use std::sync::Arc;

use common::*;
use sluice_core::{ErrorClass, SchemaAndValue, Type, Value};

#[test]
fn mask_field_changes_exactly_one_field() {
    let envelope = envelope_schema(&row_schema());
    let mut mask = transform("mask_field", &[("config.field", "value.after.email")]);
    let input = cdc_record(&envelope, 1, "c");
    let out = mask.apply(input.clone()).expect("apply").expect("kept");

    let mut expected = input.clone();
    if let Value::Struct(env) = &mut expected.value.value {
        if let Some(Value::Struct(after)) = env.values_mut().get_mut(1) {
            after.put("email", "****").expect("email");
        }
    }
    assert_eq!(out, expected);
    let (in_schema, out_schema) = (
        input.value.schema.clone().expect("schema"),
        out.value.schema.clone().expect("schema"),
    );
    assert!(
        Arc::ptr_eq(&in_schema, &out_schema),
        "the schema is the same Arc"
    );
    assert!(Arc::ptr_eq(
        struct_at(&out, &["after"]).schema(),
        struct_at(&input, &["after"]).schema()
    ));

    // A record without the field (a delete: after is null) passes unchanged.
    let mut delete = cdc_record(&envelope, 2, "d");
    if let Value::Struct(env) = &mut delete.value.value {
        env.put("after", Value::Null).expect("after");
    }
    assert_eq!(mask.apply(delete.clone()).expect("apply"), Some(delete));
}

#[test]
fn mask_field_uses_the_configured_mask_on_schemaless_records() {
    let mut mask = transform(
        "mask_field",
        &[("config.field", "value.ssn"), ("config.mask", "XXX")],
    );
    let out = mask
        .apply(flag_record(&[
            ("ssn", Value::String("123".into())),
            ("n", Value::Int64(1)),
        ]))
        .expect("apply")
        .expect("kept");
    assert_eq!(
        out,
        flag_record(&[("ssn", Value::String("XXX".into())), ("n", Value::Int64(1))])
    );
}

#[test]
fn filter_route_drops_matches_and_routes_the_rest() {
    let envelope = envelope_schema(&row_schema());
    let mut filter = transform(
        "filter_route",
        &[
            ("config.field", "value.op"),
            ("config.value", "d"),
            ("config.prefix", "cdc."),
        ],
    );
    assert_eq!(
        filter.apply(cdc_record(&envelope, 1, "d")).expect("apply"),
        None
    );
    let input = cdc_record(&envelope, 2, "u");
    let out = filter.apply(input.clone()).expect("apply").expect("kept");
    assert_eq!(out.topic, "cdc.users");
    assert_eq!(out.value, input.value);
    assert_eq!(out.key, input.key);

    let mut by_id = transform(
        "filter_route",
        &[("config.field", "key.id"), ("config.value", "3")],
    );
    assert_eq!(
        by_id.apply(cdc_record(&envelope, 3, "c")).expect("apply"),
        None
    );
    assert_eq!(
        by_id
            .apply(cdc_record(&envelope, 4, "c"))
            .expect("apply")
            .expect("kept")
            .topic,
        "users"
    );
}

#[test]
fn init_errors_fail_the_build() {
    let build = sluice_wasm::WASM_TRANSFORM.build;
    let err = build(&settings(&plugin("mask_field"), &[]))
        .err()
        .expect("no field");
    assert_eq!(err.class(), ErrorClass::Fatal);
    assert!(
        err.to_string()
            .contains("missing required setting config.field"),
        "{err}"
    );

    let err = build(&settings(
        std::path::Path::new("/nonexistent/plugin.wasm"),
        &[],
    ))
    .err()
    .expect("no file");
    assert!(
        err.to_string().contains("/nonexistent/plugin.wasm"),
        "{err}"
    );

    let err = build(&Default::default()).err().expect("no module");
    assert!(err.to_string().contains("module"), "{err}");
}

#[test]
fn probe_reads_headers_key_topic_and_timestamp() {
    let envelope = envelope_schema(&row_schema());
    let mut probe = transform("test_probe", &[]);
    let mut input = cdc_record(&envelope, 5, "echo");
    input.headers.add("in", SchemaAndValue::schemaless("hello"));
    input
        .headers
        .add("drop-me", SchemaAndValue::schemaless("x"));
    let out = probe.apply(input).expect("apply").expect("kept");
    let header = |name: &str| {
        out.headers
            .last_with_name(name)
            .map(|h| h.value.value.clone())
    };
    assert_eq!(
        header("topic"),
        Some(Value::String("dbserver.inventory.users".into()))
    );
    assert_eq!(header("ts"), Some(Value::String("1700000000123".into())));
    assert_eq!(header("key"), Some(Value::String(r#"{"id":5}"#.into())));
    assert_eq!(header("drop-me"), None);
    assert_eq!(out.topic, "dbserver.inventory.users.probed");
    // echo: the header's text lands in a new optional field.
    let after = struct_at(&out, &["after"]);
    assert_eq!(
        after.get("from_header"),
        Some(&Value::String("hello".into()))
    );
    let field = after.schema().field("from_header").expect("added");
    assert!(field.schema.optional && field.schema.ty == Type::String);
}

#[test]
fn set_widens_the_schema_once_per_input_schema() {
    let envelope = envelope_schema(&row_schema());
    let mut probe = transform("test_probe", &[]);
    let a = probe
        .apply(cdc_record(&envelope, 1, "widen"))
        .expect("apply")
        .expect("kept");
    let b = probe
        .apply(cdc_record(&envelope, 2, "widen"))
        .expect("apply")
        .expect("kept");
    let (sa, sb) = (
        a.value.schema.clone().expect("schema"),
        b.value.schema.clone().expect("schema"),
    );
    assert!(Arc::ptr_eq(&sa, &sb), "the widened schema is cached");
    assert!(!Arc::ptr_eq(&sa, &envelope));
    let after = struct_at(&a, &["after"]);
    assert_eq!(after.get("added"), Some(&Value::Int64(7)));
    let doc = match after.get("doc") {
        Some(Value::Struct(doc)) => doc,
        other => panic!("doc: {other:?}"),
    };
    assert_eq!(doc.get("a"), Some(&Value::Int64(1)));
    assert_eq!(
        doc.get("b"),
        Some(&Value::Array(vec![Value::Boolean(true)]))
    );
    // The envelope's after field points at the widened row; before keeps the old one,
    // and every value still validates against its schema.
    assert_eq!(sa.field("after").expect("after").schema.fields.len(), 7);
    assert_eq!(sa.field("before").expect("before").schema.fields.len(), 5);
    a.value.value.validate(&sa).expect("valid");
    assert_eq!(
        after.get("email"),
        Some(&Value::String("user1@example.com".into()))
    );
}

#[test]
fn remove_narrows_and_set_value_json_replaces() {
    let envelope = envelope_schema(&row_schema());
    let mut probe = transform("test_probe", &[]);
    let out = probe
        .apply(cdc_record(&envelope, 1, "narrow"))
        .expect("apply")
        .expect("kept");
    let after = struct_at(&out, &["after"]);
    assert_eq!(after.get("email"), None);
    assert_eq!(after.schema().fields.len(), 4);
    let schema = out.value.schema.clone().expect("schema");
    out.value.value.validate(&schema).expect("valid");
    assert_eq!(
        out.headers
            .last_with_name("removed")
            .map(|h| h.value.value.clone()),
        Some(Value::String("true".into()))
    );

    let out = probe
        .apply(cdc_record(&envelope, 1, "replace"))
        .expect("apply")
        .expect("kept");
    let schema = out.value.schema.clone().expect("a derived schema");
    assert_eq!(
        schema
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>(),
        ["replaced", "old_len"]
    );
    out.value.value.validate(&schema).expect("valid");

    let out = probe
        .apply(cdc_record(&envelope, 1, "tombstone"))
        .expect("apply")
        .expect("kept");
    assert_eq!(out.value, SchemaAndValue::NULL);
    assert!(!out.key.is_null(), "the key stays");
}

#[test]
fn a_value_the_schema_cannot_hold_fails_the_record() {
    let envelope = envelope_schema(&row_schema());
    let mut probe = transform("test_probe", &[]);
    let err = probe
        .apply(cdc_record(&envelope, 1, "bad"))
        .expect_err("text into int32");
    assert_eq!(err.class(), ErrorClass::BadRecord);
    assert!(
        err.to_string().contains("cannot set value.after.id"),
        "{err}"
    );
    assert!(probe
        .apply(cdc_record(&envelope, 2, "echo"))
        .expect("apply")
        .is_some());
}
