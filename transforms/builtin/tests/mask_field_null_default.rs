//! MaskField's `replace.null.with.default` (KIP-1040, Kafka 3.8+), with and without
//! schemas, on the documented example `{"integer_field":22, "string_field":"foo"}`.

mod common;

use common::*;
use sluice_core::{SchemaBuilder, SchemaRef, Type, Value};

/// The docs' record, with defaults on both fields so nulls have something to read.
fn schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .field(
            "integer_field",
            SchemaBuilder::new(Type::Int32)
                .optional()
                .default_value(Value::Int32(5))
                .build(),
        )
        .field(
            "string_field",
            SchemaBuilder::new(Type::String)
                .optional()
                .default_value("dflt".into())
                .build(),
        )
        .build()
}

#[test]
fn docs_example_with_and_without_schema() {
    let mut t = transform("MaskField$Value", &[("fields", "string_field")]);
    let s = schema();
    let v = Value::Struct(st(&s, vec![22i32.into(), "foo".into()]));
    let out = apply(&mut t, rec("t", Some(s.clone()), v));
    assert_eq!(out.value.schema, Some(s));
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[22i32.into(), "".into()]
    );
    let out = apply(
        &mut t,
        rec(
            "t",
            None,
            map(&[
                ("integer_field", 22i32.into()),
                ("string_field", "foo".into()),
            ]),
        ),
    );
    assert_eq!(
        out.value.value,
        map(&[("integer_field", 22i32.into()), ("string_field", "".into())])
    );
}

#[test]
fn null_fields_read_their_default_unless_told_not_to() {
    let s = schema();
    let nulls = || Value::Struct(st(&s, vec![Value::Null, Value::Null]));
    // Default (true): Struct.get reads the defaults; the masked one is then masked.
    let mut t = transform("MaskField$Value", &[("fields", "string_field")]);
    let out = apply(&mut t, rec("t", Some(s.clone()), nulls()));
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[5i32.into(), "".into()]
    );
    let mut r = transform(
        "MaskField$Value",
        &[("fields", "integer_field"), ("replacement", "42")],
    );
    let out = apply(&mut r, rec("t", Some(s.clone()), nulls()));
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[42i32.into(), "dflt".into()]
    );
    // false: Struct.getWithoutDefault keeps the nulls, masked or not.
    let mut f = transform(
        "MaskField$Value",
        &[
            ("fields", "string_field"),
            ("replace.null.with.default", "false"),
        ],
    );
    let out = apply(&mut f, rec("t", Some(s.clone()), nulls()));
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[Value::Null, Value::Null]
    );
    // Schemaless: there are no defaults; a null entry stays null either way.
    let out = apply(
        &mut f,
        rec(
            "t",
            None,
            map(&[
                ("integer_field", 22i32.into()),
                ("string_field", Value::Null),
            ]),
        ),
    );
    assert_eq!(
        out.value.value,
        map(&[
            ("integer_field", 22i32.into()),
            ("string_field", Value::Null)
        ])
    );
    // The key side reads the same setting.
    let mut k = transform(
        "MaskField$Key",
        &[
            ("fields", "integer_field"),
            ("replace.null.with.default", "false"),
        ],
    );
    let out = apply(&mut k, key_rec("t", Some(s.clone()), nulls()));
    assert_eq!(
        as_struct(&out.key.value).values(),
        &[Value::Null, Value::Null]
    );
    let e = transform_err(
        "MaskField$Value",
        &[("fields", "x"), ("replace.null.with.default", "maybe")],
    );
    assert!(e.contains("replace.null.with.default"), "{e}");
}
