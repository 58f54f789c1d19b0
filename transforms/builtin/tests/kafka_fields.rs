//! Kafka Connect's field transforms against the documented examples, with and
//! without schemas.

mod common;

use common::*;
use sluice_core::schema::logical;
use sluice_core::{Decimal, SchemaBuilder, Type, Value};

#[test]
fn cast_fields_with_schema() {
    // Docs: spec ID:string,score:float64; {"ID": 46920, "score": 4761} -> {"ID": "46920", "score": 4761.0}
    let schema = SchemaBuilder::struct_()
        .name("rec")
        .version(3)
        .field("ID", prim(Type::Int32))
        .field("score", opt(Type::Int32))
        .field("other", prim(Type::Boolean))
        .build();
    let mut t = transform(
        "org.apache.kafka.connect.transforms.Cast$Value",
        &[("spec", "ID:string,score:float64")],
    );
    let out = apply(
        &mut t,
        rec(
            "t",
            Some(schema.clone()),
            Value::Struct(st(
                &schema,
                vec![46920i32.into(), 4761i32.into(), true.into()],
            )),
        ),
    );
    let s = out.value.schema.clone().unwrap_or_else(|| panic!("schema"));
    assert_eq!(s.name(), Some("rec"));
    assert_eq!(s.version, Some(3));
    assert_eq!(names(&s), ["ID", "score", "other"]);
    assert_eq!(
        (s.fields[0].schema.ty, s.fields[0].schema.optional),
        (Type::String, false)
    );
    assert_eq!(
        (s.fields[1].schema.ty, s.fields[1].schema.optional),
        (Type::Float64, true)
    );
    assert_eq!(
        as_struct(&out.value.value).values(),
        &["46920".into(), Value::Float64(4761.0), true.into()]
    );
    // The updated schema is cached: a second record gets the same Arc.
    let out2 = apply(
        &mut t,
        rec(
            "t",
            Some(schema.clone()),
            Value::Struct(st(&schema, vec![1i32.into(), Value::Null, false.into()])),
        ),
    );
    assert!(std::sync::Arc::ptr_eq(
        &s,
        out2.value.schema.as_ref().unwrap_or_else(|| panic!())
    ));
    assert_eq!(as_struct(&out2.value.value).values()[1], Value::Null);
}

#[test]
fn cast_java_conversions() {
    let mut t = transform(
        "Cast$Value",
        &[(
            "spec",
            "a:int8,b:boolean,c:string,d:string,e:int32,f:string,g:float32",
        )],
    );
    let schema = SchemaBuilder::struct_()
        .field("a", prim(Type::Int64))
        .field("b", prim(Type::String))
        .field("c", prim(Type::Bytes))
        .field("d", SchemaBuilder::timestamp().build())
        .field("e", prim(Type::Float64))
        .field("f", prim(Type::Float64))
        .field("g", prim(Type::Boolean))
        .build();
    let v = st(
        &schema,
        vec![
            Value::Int64(300),
            "TRUE".into(),
            Value::Bytes(b"hi".to_vec()),
            Value::Int64(1_700_000_000_123),
            Value::Float64(-3.9),
            Value::Float64(1e10),
            true.into(),
        ],
    );
    let out = apply(&mut t, rec("t", Some(schema), Value::Struct(v)));
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[
            Value::Int8(44),
            true.into(),
            "aGk=".into(),
            "2023-11-14T22:13:20.123Z".into(),
            Value::Int32(-3),
            "1.0E10".into(),
            Value::Float32(1.0)
        ]
    );
    let mut bad = transform("Cast$Value", &[("spec", "x:int8")]);
    let msg = apply_err(&mut bad, rec("t", None, map(&[("x", "abc".into())])));
    assert!(
        msg.contains("Value (abc) was out of range for requested data type"),
        "{msg}"
    );
}

#[test]
fn cast_whole_key_and_schemaless() {
    let mut t = transform("Cast$Key", &[("spec", "int32")]);
    let out = apply(
        &mut t,
        key_rec("t", Some(opt(Type::Int64)), Value::Int64(42)),
    );
    assert_eq!(out.key.value, Value::Int32(42));
    let ks = out.key.schema.unwrap_or_else(|| panic!());
    assert_eq!((ks.ty, ks.optional), (Type::Int32, true));
    // Schemaless map: a listed field that is missing is put as null.
    let mut t = transform("Cast$Value", &[("spec", "n:string,missing:int8")]);
    let out = apply(&mut t, rec("t", None, map(&[("n", Value::Float32(1.5))])));
    assert_eq!(
        out.value.value,
        map(&[("n", "1.5".into()), ("missing", Value::Null)])
    );
    // Decimals go through BigDecimal.toString / narrowing.
    let mut t = transform("Cast$Value", &[("spec", "string")]);
    let out = apply(&mut t, rec("t", None, Value::Decimal(Decimal::new(-15, 8))));
    assert_eq!(out.value.value, "-1.5E-7".into());
}

#[test]
fn cast_config_errors() {
    let e = transform_err("Cast$Value", &[("spec", "a:bytes")]);
    assert!(
        e.contains("Cast transformation does not support casting to BYTES"),
        "{e}"
    );
    let e = transform_err("Cast$Value", &[("spec", "a:nope")]);
    assert!(
        e.contains("Invalid type found in casting spec: nope"),
        "{e}"
    );
    let e = transform_err("Cast$Value", &[("spec", "int8,a:int16")]);
    assert!(e.contains("may ony specify a single cast"), "{e}");
    let e = transform_err("Cast$Value", &[]);
    assert!(e.contains("Missing required configuration \"spec\""), "{e}");
    let e = transform_err("Cast$Value", &[("spec", "a:int8"), ("spek", "x")]);
    assert!(e.contains("Unknown configuration \"spek\""), "{e}");
}

#[test]
fn extract_field_docs_example() {
    // Docs: field id; {"id": 42, "cost": 4000} -> 42
    let mut t = transform(
        "org.apache.kafka.connect.transforms.ExtractField$Value",
        &[("field", "id")],
    );
    let out = apply(
        &mut t,
        rec(
            "t",
            None,
            map(&[("id", 42i32.into()), ("cost", 4000i32.into())]),
        ),
    );
    assert_eq!(out.value.value, Value::Int32(42));
    assert!(out.value.schema.is_none());
    let schema = SchemaBuilder::struct_()
        .field("id", prim(Type::Int32))
        .field("cost", prim(Type::Int32))
        .build();
    let out = apply(
        &mut t,
        rec(
            "t",
            Some(schema.clone()),
            Value::Struct(st(&schema, vec![42i32.into(), 4000i32.into()])),
        ),
    );
    assert_eq!(
        out.value,
        sluice_core::SchemaAndValue::new(prim(Type::Int32), 42i32)
    );
    let mut unknown = transform("ExtractField$Value", &[("field", "nope")]);
    let msg = apply_err(
        &mut unknown,
        rec(
            "t",
            Some(schema.clone()),
            Value::Struct(st(&schema, vec![1i32.into(), 2i32.into()])),
        ),
    );
    assert!(msg.contains("Unknown field: nope"), "{msg}");
    // Null passes through with the field's schema.
    let out = apply(&mut t, rec("t", Some(schema), Value::Null));
    assert_eq!(
        out.value,
        sluice_core::SchemaAndValue {
            schema: Some(prim(Type::Int32)),
            value: Value::Null
        }
    );
}

#[test]
fn extract_field_nested_v2_and_defaults() {
    let inner = SchemaBuilder::struct_()
        .optional()
        .field("a.b", prim(Type::String))
        .build();
    let schema = SchemaBuilder::struct_()
        .field("outer", inner.clone())
        .field(
            "d",
            SchemaBuilder::new(Type::Int32)
                .optional()
                .default_value(Value::Int32(7))
                .build(),
        )
        .build();
    let v = Value::Struct(st(
        &schema,
        vec![Value::Struct(st(&inner, vec!["x".into()])), Value::Null],
    ));
    let mut t = transform(
        "ExtractField$Value",
        &[("field", "outer.`a.b`"), ("field.syntax.version", "V2")],
    );
    assert_eq!(
        apply(&mut t, rec("t", Some(schema.clone()), v.clone()))
            .value
            .value,
        "x".into()
    );
    let mut d = transform("ExtractField$Value", &[("field", "d")]);
    assert_eq!(
        apply(&mut d, rec("t", Some(schema.clone()), v.clone()))
            .value
            .value,
        Value::Int32(7)
    );
    let mut nd = transform(
        "ExtractField$Value",
        &[("field", "d"), ("replace.null.with.default", "false")],
    );
    assert_eq!(
        apply(&mut nd, rec("t", Some(schema), v)).value.value,
        Value::Null
    );
    let mut m = transform(
        "ExtractField$Key",
        &[("field", "p.q"), ("field.syntax.version", "v2")],
    );
    let out = apply(
        &mut m,
        key_rec("t", None, map(&[("p", map(&[("q", 5i64.into())]))])),
    );
    assert_eq!(out.key.value, Value::Int64(5));
}

#[test]
fn flatten_docs_example() {
    // Docs: {"content": {"id": 42, "name": {"first": "David", "middle": null, "last": "Wong"}}}
    let mut t = transform("Flatten$Value", &[("delimiter", "_")]);
    let v = map(&[(
        "content",
        map(&[
            ("id", 42i32.into()),
            (
                "name",
                map(&[
                    ("first", "David".into()),
                    ("middle", Value::Null),
                    ("last", "Wong".into()),
                ]),
            ),
        ]),
    )]);
    let out = apply(&mut t, rec("t", None, v));
    assert_eq!(
        out.value.value,
        map(&[
            ("content_id", 42i32.into()),
            ("content_name_first", "David".into()),
            ("content_name_middle", Value::Null),
            ("content_name_last", "Wong".into())
        ])
    );
    let name = SchemaBuilder::struct_()
        .optional()
        .field("first", prim(Type::String))
        .field("last", opt(Type::String))
        .build();
    let content = SchemaBuilder::struct_()
        .field("id", prim(Type::Int32))
        .field("name", name.clone())
        .build();
    let schema = SchemaBuilder::struct_()
        .name("n")
        .field("content", content.clone())
        .field("tags", SchemaBuilder::array(prim(Type::String)).build())
        .build();
    let mut t = transform("Flatten$Value", &[]);
    let v = st(
        &schema,
        vec![
            Value::Struct(st(&content, vec![42i32.into(), Value::Null])),
            Value::Array(vec!["a".into()]),
        ],
    );
    let out = apply(&mut t, rec("t", Some(schema), Value::Struct(v)));
    let s = out.value.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!(
        names(&s),
        [
            "content.id",
            "content.name.first",
            "content.name.last",
            "tags"
        ]
    );
    assert_eq!(s.name(), Some("n"));
    assert!(!s.fields[0].schema.optional);
    assert!(
        s.fields[1].schema.optional,
        "optional because its parent struct is"
    );
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[
            42i32.into(),
            Value::Null,
            Value::Null,
            Value::Array(vec!["a".into()])
        ]
    );
}

#[test]
fn hoist_field_docs_example() {
    // Docs: field line; "hello" -> {"line": "hello"}
    let mut t = transform("HoistField$Value", &[("field", "line")]);
    assert_eq!(
        apply(&mut t, rec("t", None, "hello".into())).value.value,
        map(&[("line", "hello".into())])
    );
    let out = apply(&mut t, rec("t", Some(prim(Type::String)), "hello".into()));
    let s = out.value.schema.unwrap_or_else(|| panic!());
    assert_eq!(
        (s.ty, s.name(), names(&s)),
        (Type::Struct, None, vec!["line"])
    );
    assert_eq!(as_struct(&out.value.value).values(), &["hello".into()]);
}

#[test]
fn insert_field_docs_example() {
    // Docs: static.field MessageSource, static.value "Kafka Connect framework".
    let cfg = [
        ("static.field", "MessageSource"),
        ("static.value", "Kafka Connect framework"),
        ("topic.field", "topic!"),
        ("timestamp.field", "ts"),
    ];
    let mut t = transform(
        "org.apache.kafka.connect.transforms.InsertField$Value",
        &cfg,
    );
    let v = map(&[
        ("author", "Philip K. Dick".into()),
        ("character", "Palmer Eldritch".into()),
    ]);
    let mut r = rec("books", None, v);
    r.timestamp = Some(1000);
    let out = apply(&mut t, r);
    assert_eq!(
        out.value.value,
        map(&[
            ("author", "Philip K. Dick".into()),
            ("character", "Palmer Eldritch".into()),
            ("topic", "books".into()),
            ("ts", 1000i64.into()),
            ("MessageSource", "Kafka Connect framework".into())
        ])
    );
    let schema = SchemaBuilder::struct_()
        .name("book")
        .optional()
        .field("author", prim(Type::String))
        .build();
    let out = apply(
        &mut t,
        rec(
            "books",
            Some(schema.clone()),
            Value::Struct(st(&schema, vec!["P".into()])),
        ),
    );
    let s = out.value.schema.unwrap_or_else(|| panic!());
    assert_eq!(names(&s), ["author", "topic", "ts", "MessageSource"]);
    assert_eq!((s.name(), s.optional), (Some("book"), false));
    assert!(!s.fields[1].schema.optional);
    assert_eq!(s.fields[2].schema.name(), Some(logical::TIMESTAMP));
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[
            "P".into(),
            "books".into(),
            Value::Null,
            "Kafka Connect framework".into()
        ]
    );
    // Tombstones pass; offset.field is refused (no sink offsets in transforms).
    assert_eq!(
        apply(&mut t, rec("books", None, Value::Null)).value.value,
        Value::Null
    );
    let e = transform_err("InsertField$Value", &[("offset.field", "off")]);
    assert_eq!(
        e,
        "invalid value \"off\" for configuration offset.field: not supported by Sluice: the Kafka offset exists only for sink records, and Sluice's transforms receive records without it (in Kafka Connect a source connector fails every record with offset.field set); remove offset.field"
    );
}

#[test]
fn mask_field_examples() {
    let schema = SchemaBuilder::struct_()
        .field("id", prim(Type::Int32))
        .field("name", prim(Type::String))
        .field("ok", prim(Type::Boolean))
        .field("amount", SchemaBuilder::decimal(2).build())
        .build();
    let v = Value::Struct(st(
        &schema,
        vec![
            1i32.into(),
            "Ann".into(),
            true.into(),
            Value::Decimal(Decimal::new(1234, 2)),
        ],
    ));
    let mut t = transform("MaskField$Value", &[("fields", "name,ok,amount")]);
    let out = apply(&mut t, rec("t", Some(schema.clone()), v.clone()));
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[
            1i32.into(),
            "".into(),
            false.into(),
            Value::Decimal(Decimal::new(0, 2))
        ]
    );
    let mut r = transform(
        "MaskField$Value",
        &[("fields", "id,name"), ("replacement", "999")],
    );
    let out = apply(&mut r, rec("t", Some(schema.clone()), v.clone()));
    assert_eq!(
        &as_struct(&out.value.value).values()[..2],
        &[999i32.into(), "999".into()]
    );
    let mut bad = transform("MaskField$Value", &[("fields", "ok"), ("replacement", "x")]);
    let msg = apply_err(&mut bad, rec("t", Some(schema), v));
    assert!(
        msg.contains("Cannot mask value of type class java.lang.Boolean with custom replacement."),
        "{msg}"
    );
    let out = apply(
        &mut t,
        rec(
            "t",
            None,
            map(&[("name", "Bob".into()), ("x", 1i32.into())]),
        ),
    );
    assert_eq!(
        out.value.value,
        map(&[
            ("name", "".into()),
            ("x", 1i32.into()),
            ("ok", Value::Null),
            ("amount", Value::Null)
        ])
    );
}

#[test]
fn replace_field_docs_examples() {
    // Docs: exclude c2: {"c1":22,"c2":"foo"} -> {"c1":22}
    let mut t = transform("ReplaceField$Value", &[("exclude", "c2")]);
    assert_eq!(
        apply(
            &mut t,
            rec(
                "t",
                None,
                map(&[("c1", 22i32.into()), ("c2", "foo".into())])
            )
        )
        .value
        .value,
        map(&[("c1", 22i32.into())])
    );
    // Deprecated blacklist behaves the same.
    let mut t = transform("ReplaceField$Value", &[("blacklist", "c2")]);
    assert_eq!(
        apply(
            &mut t,
            rec(
                "t",
                None,
                map(&[("c1", 22i32.into()), ("c2", "foo".into())])
            )
        )
        .value
        .value,
        map(&[("c1", 22i32.into())])
    );
    // Docs: renames foo:c1,bar:c2: {"foo":22,"bar":"baz"} -> {"c1":22,"c2":"baz"}
    let mut t = transform("ReplaceField$Value", &[("renames", "foo:c1,bar:c2")]);
    let schema = SchemaBuilder::struct_()
        .name("r")
        .field("foo", prim(Type::Int32))
        .field("bar", prim(Type::String))
        .field("x", opt(Type::Int8))
        .build();
    let out = apply(
        &mut t,
        rec(
            "t",
            Some(schema.clone()),
            Value::Struct(st(&schema, vec![22i32.into(), "baz".into(), Value::Null])),
        ),
    );
    let s = out.value.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!((s.name(), names(&s)), (Some("r"), vec!["c1", "c2", "x"]));
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[22i32.into(), "baz".into(), Value::Null]
    );
    // include (whitelist) keeps only listed fields; exclude wins.
    let mut t = transform(
        "ReplaceField$Value",
        &[("whitelist", "foo,x"), ("exclude", "x")],
    );
    let out = apply(
        &mut t,
        rec(
            "t",
            Some(schema.clone()),
            Value::Struct(st(&schema, vec![22i32.into(), "baz".into(), Value::Null])),
        ),
    );
    assert_eq!(
        names(out.value.schema.as_ref().unwrap_or_else(|| panic!())),
        ["foo"]
    );
    let e = transform_err("ReplaceField$Value", &[("renames", "a:b:c")]);
    assert!(e.contains("Invalid rename mapping: a:b:c"), "{e}");
}

#[test]
fn value_to_key_docs_example() {
    // Docs: fields userId,city,state
    let schema = SchemaBuilder::struct_()
        .field("userId", prim(Type::Int32))
        .field("city", prim(Type::String))
        .field("state", prim(Type::String))
        .field("x", prim(Type::Int8))
        .build();
    let mut t = transform("ValueToKey", &[("fields", "userId,city,state")]);
    let out = apply(
        &mut t,
        rec(
            "t",
            Some(schema.clone()),
            Value::Struct(st(
                &schema,
                vec![7i32.into(), "Austin".into(), "TX".into(), 1i8.into()],
            )),
        ),
    );
    let ks = out.key.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!(names(&ks), ["userId", "city", "state"]);
    assert_eq!(
        as_struct(&out.key.value).values(),
        &[7i32.into(), "Austin".into(), "TX".into()]
    );
    let out = apply(
        &mut t,
        rec(
            "t",
            None,
            map(&[("userId", 7i32.into()), ("city", "A".into())]),
        ),
    );
    assert_eq!(
        out.key.value,
        map(&[
            ("userId", 7i32.into()),
            ("city", "A".into()),
            ("state", Value::Null)
        ])
    );
    let mut missing = transform("ValueToKey", &[("fields", "nope")]);
    let msg = apply_err(
        &mut missing,
        rec(
            "t",
            Some(schema.clone()),
            Value::Struct(st(
                &schema,
                vec![7i32.into(), "A".into(), "T".into(), 1i8.into()],
            )),
        ),
    );
    assert!(msg.contains("Field does not exist: nope"), "{msg}");
}

#[test]
fn set_schema_metadata_docs_example() {
    // Docs: schema.name order-value, schema.version 2
    let schema = SchemaBuilder::struct_()
        .name("old")
        .doc("d")
        .optional()
        .field("a", prim(Type::Int32))
        .build();
    let mut t = transform(
        "SetSchemaMetadata$Value",
        &[("schema.name", "order-value"), ("schema.version", "2")],
    );
    let out = apply(
        &mut t,
        rec(
            "t",
            Some(schema.clone()),
            Value::Struct(st(&schema, vec![1i32.into()])),
        ),
    );
    let s = out.value.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!(
        (s.name(), s.version, s.doc.as_deref(), s.optional),
        (Some("order-value"), Some(2), Some("d"), true)
    );
    assert!(as_struct(&out.value.value).has_schema(&s));
    let mut k = transform("SetSchemaMetadata$Key", &[("schema.name", "k")]);
    let out = apply(&mut k, key_rec("t", Some(prim(Type::String)), "x".into()));
    assert_eq!(out.key.schema.as_ref().and_then(|s| s.name()), Some("k"));
    let msg = apply_err(&mut k, key_rec("t", None, "x".into()));
    assert!(
        msg.contains("Schema required for [updating schema metadata]"),
        "{msg}"
    );
    let e = transform_err("SetSchemaMetadata$Value", &[]);
    assert!(
        e.contains("Neither schema name nor version configured"),
        "{e}"
    );
}

#[test]
fn key_variants_and_edge_cases() {
    // Flatten$Key and HoistField$Key work on the key, leaving the value alone.
    let mut f = transform("org.apache.kafka.connect.transforms.Flatten$Key", &[]);
    let mut r = key_rec("t", None, map(&[("a", map(&[("b", 1i32.into())]))]));
    r.value = sluice_core::SchemaAndValue::schemaless("v");
    let out = apply(&mut f, r);
    assert_eq!(out.key.value, map(&[("a.b", 1i32.into())]));
    assert_eq!(out.value.value, "v".into());
    let mut h = transform("HoistField$Key", &[("field", "k")]);
    assert_eq!(
        apply(&mut h, key_rec("t", None, 5i64.into())).key.value,
        map(&[("k", 5i64.into())])
    );
    // InsertField partition; ExtractField of a missing schemaless entry is null.
    let mut p = transform("InsertField$Value", &[("partition.field", "p")]);
    let mut r = rec("t", None, map(&[]));
    r.partition = Some(3);
    assert_eq!(apply(&mut p, r).value.value, map(&[("p", 3i32.into())]));
    let mut e = transform("ExtractField$Value", &[("field", "zz")]);
    assert_eq!(
        apply(&mut e, rec("t", None, map(&[("a", 1i32.into())])))
            .value
            .value,
        Value::Null
    );
    // Cast numbers to boolean and floats to ints with Java's rules.
    let mut c = transform(
        "Cast$Value",
        &[("spec", "a:boolean,b:boolean,c:int16,d:int64")],
    );
    let out = apply(
        &mut c,
        rec(
            "t",
            None,
            map(&[
                ("a", 0.5f64.into()),
                ("b", 2i8.into()),
                ("c", Value::Float64(1e12)),
                ("d", "-42".into()),
            ]),
        ),
    );
    assert_eq!(
        out.value.value,
        map(&[
            ("a", false.into()),
            ("b", true.into()),
            ("c", Value::Int16(-1)),
            ("d", Value::Int64(-42))
        ])
    );
    // A struct with a null field that has a default: Java's Struct.get reads the default.
    let schema = SchemaBuilder::struct_()
        .field(
            "x",
            SchemaBuilder::new(Type::Int32)
                .optional()
                .default_value(Value::Int32(9))
                .build(),
        )
        .field("y", prim(Type::Int32))
        .build();
    let v = Value::Struct(st(&schema, vec![Value::Null, 1i32.into()]));
    let mut k = transform("ValueToKey", &[("fields", "x")]);
    assert_eq!(
        as_struct(
            &apply(&mut k, rec("t", Some(schema.clone()), v.clone()))
                .key
                .value
        )
        .values(),
        &[Value::Int32(9)]
    );
    let mut k = transform(
        "ValueToKey",
        &[("fields", "x"), ("replace.null.with.default", "false")],
    );
    assert_eq!(
        as_struct(&apply(&mut k, rec("t", Some(schema), v)).key.value).values(),
        &[Value::Null]
    );
}
