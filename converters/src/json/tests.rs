use super::*;
use sluice_core::{SchemaBuilder, Struct, Type, Value};

fn text(c: &JsonConverter, data: &SchemaAndValue) -> String {
    String::from_utf8(
        c.from_connect("t", data)
            .expect("convert")
            .expect("not null"),
    )
    .expect("utf8")
}

#[test]
fn tombstone_is_null() {
    let c = JsonConverter::with_schemas(true);
    assert_eq!(
        c.from_connect("t", &SchemaAndValue::NULL).expect("ok"),
        None
    );
    assert_eq!(c.to_connect("t", None).expect("ok"), SchemaAndValue::NULL);
}

#[test]
fn null_with_optional_schema_keeps_envelope() {
    let c = JsonConverter::with_schemas(true);
    let s = SchemaBuilder::new(Type::String).optional().build();
    assert_eq!(
        text(
            &c,
            &SchemaAndValue {
                schema: Some(s),
                value: Value::Null
            }
        ),
        r#"{"schema":{"type":"string","optional":true},"payload":null}"#
    );
}

#[test]
fn schemaless_map_and_numbers() {
    let c = JsonConverter::with_schemas(false);
    let v = Value::Map(vec![
        ("a".into(), Value::Int64(1)),
        (
            "b".into(),
            Value::Array(vec![Value::Float64(1.5), Value::Null]),
        ),
    ]);
    assert_eq!(
        text(&c, &SchemaAndValue::schemaless(v.clone())),
        r#"{"a":1,"b":[1.5,null]}"#
    );
    let back = c
        .to_connect("t", Some(br#"{"a":1,"b":[1.5,null]}"#))
        .expect("read");
    assert_eq!(back.value, v);
    assert!(back.schema.is_none());
}

#[test]
fn missing_envelope_is_explained() {
    let c = JsonConverter::with_schemas(true);
    let e = c
        .to_connect("t", Some(br#"{"a":1}"#))
        .expect_err("no envelope");
    assert!(e.to_string().contains("set schemas.enable=false"), "{e}");
}

#[test]
fn required_null_is_refused() {
    let c = JsonConverter::with_schemas(true);
    let s = SchemaBuilder::struct_()
        .field("id", SchemaBuilder::new(Type::Int32).build())
        .build();
    let e = c
        .from_connect("t", &SchemaAndValue::new(s.clone(), Struct::new(s)))
        .expect_err("null id");
    assert!(e.to_string().contains("field id"), "{e}");
}

#[test]
fn bad_config_names_key_and_allowed() {
    let mut cfg = ConfigMap::new();
    cfg.insert("decimal.format".into(), "HEX".into());
    let e = JsonConverter::new(&cfg).expect_err("bad");
    let msg = e.to_string();
    assert!(
        msg.contains("decimal.format") && msg.contains("HEX") && msg.contains("BASE64, NUMERIC"),
        "{msg}"
    );
}

#[test]
fn decimals_far_from_their_schema_scale_are_refused_not_rescaled() {
    // Found reading the path json_decode fuzzes, reproduced with its binary (the fuzzer did
    // not reach it in its first minutes): rescaling `1` to scale 2147483647 computed
    // 10^2147483647 and never returned; so did `1E-2000000000` at scale 2.
    let c = JsonConverter::with_schemas(true);
    let message = |scale: &str, payload: &str| {
        format!(
            r#"{{"schema":{{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{{"scale":"{scale}"}}}},"payload":{payload}}}"#
        )
    };
    for (scale, payload) in [
        ("2147483647", "1"),
        ("2", "1E-2000000000"),
        ("-2147483648", "1"),
    ] {
        let err = c
            .to_connect("t", Some(message(scale, payload).as_bytes()))
            .expect_err("refused");
        assert!(err.to_string().contains("digits away"), "{err}");
    }
    // Near the schema's scale, numbers still read.
    let read = c
        .to_connect("t", Some(message("3", "1.5E-2").as_bytes()))
        .expect("read");
    assert_eq!(read.value, Value::Decimal(sluice_core::Decimal::new(15, 3)));
}
