//! Debezium's MongoDB flattening, topic routers and outbox router against their
//! documented examples.

mod common;

use common::*;
use sluice_core::schema::logical;
use sluice_core::{Record, SchemaAndValue, SchemaBuilder, SchemaRef, Type, Value};

// ---- ExtractNewDocumentState ----

const MONGO_TOPIC: &str = "dbserver1.inventory.customers";

fn mongo_event(
    id: &str,
    after: Option<&str>,
    update: Option<(&str, Vec<&str>)>,
    op: &str,
) -> Record {
    let json = SchemaBuilder::new(Type::String)
        .optional()
        .name("io.debezium.data.Json")
        .version(1)
        .build();
    let upd = SchemaBuilder::struct_()
        .name("io.debezium.connector.mongodb.changestream.updatedescription")
        .optional()
        .field(
            "removedFields",
            SchemaBuilder::array(prim(Type::String)).optional().build(),
        )
        .field("updatedFields", json.clone())
        .build();
    let source = SchemaBuilder::struct_()
        .name("io.debezium.connector.mongo.Source")
        .field("db", prim(Type::String))
        .field("collection", prim(Type::String))
        .build();
    let env = SchemaBuilder::struct_()
        .name(format!("{MONGO_TOPIC}.Envelope"))
        .field("before", json.clone())
        .field("after", json)
        .field("updateDescription", upd.clone())
        .field("source", source.clone())
        .field("op", opt(Type::String))
        .field("ts_ms", opt(Type::Int64))
        .build();
    let update = update.map(|(fields, removed)| {
        Value::Struct(st(
            &upd,
            vec![
                Value::Array(removed.into_iter().map(Value::from).collect()),
                fields.into(),
            ],
        ))
    });
    let v = st(
        &env,
        vec![
            Value::Null,
            after.map_or(Value::Null, Value::from),
            update.unwrap_or(Value::Null),
            Value::Struct(st(&source, vec!["inventory".into(), "customers".into()])),
            op.into(),
            Value::Int64(1_559_033_904_863),
        ],
    );
    let key = SchemaBuilder::struct_()
        .name(format!("{MONGO_TOPIC}.Key"))
        .field("id", prim(Type::String))
        .build();
    let mut r = rec(MONGO_TOPIC, Some(env), Value::Struct(v));
    r.key = SchemaAndValue::new(key.clone(), st(&key, vec![id.into()]));
    r
}

const MONGO: &str = "io.debezium.connector.mongodb.transforms.ExtractNewDocumentState";

#[test]
fn mongo_insert_becomes_a_struct() {
    let after = r#"{"_id": {"$numberLong": "1004"}, "first_name": "Anne", "email": "annek@noanswer.org", "address": {"city": "Springfield", "zip": 12345}, "tags": ["a", "b"], "created": {"$date": 1559033904863}, "oid": {"$oid": "596e275826f08b2730779e1f"}}"#;
    let mut t = transform(MONGO, &[("add.fields", "op,collection")]);
    let out = apply(&mut t, mongo_event("1004", Some(after), None, "c"));
    let ks = out.key.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!((ks.name(), names(&ks)), (None, vec!["id"]));
    assert_eq!(as_struct(&out.key.value).values(), &[Value::Int32(1004)]);
    let s = out.value.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!(s.name(), Some(MONGO_TOPIC));
    assert_eq!(
        names(&s),
        [
            "_id",
            "first_name",
            "email",
            "address",
            "tags",
            "created",
            "oid",
            "__op",
            "__collection"
        ]
    );
    assert_eq!(s.fields[0].schema.ty, Type::Int64);
    assert_eq!(
        s.fields[3].schema.name(),
        Some("dbserver1.inventory.customers.address")
    );
    assert_eq!(
        s.fields[4].schema.value_schema.as_ref().map(|i| i.ty),
        Some(Type::String)
    );
    assert_eq!(s.fields[5].schema.name(), Some(logical::TIMESTAMP));
    assert!(s.fields.iter().all(|f| f.schema.optional));
    let v = as_struct(&out.value.value);
    assert_eq!(v.get("first_name"), Some(&"Anne".into()));
    assert_eq!(v.get("created"), Some(&Value::Int64(1_559_033_904_863)));
    assert_eq!(v.get("oid"), Some(&"596e275826f08b2730779e1f".into()));
    assert_eq!(
        v.get("tags"),
        Some(&Value::Array(vec!["a".into(), "b".into()]))
    );
    assert_eq!(
        as_struct(v.get("address").unwrap_or_else(|| panic!())).values(),
        &["Springfield".into(), Value::Int32(12345)]
    );
    assert_eq!(v.get("__op"), Some(&"c".into()));
    assert_eq!(v.get("__collection"), Some(&"customers".into()));
    // Same document shape: the same schema Arc.
    let again = apply(&mut t, mongo_event("1004", Some(after), None, "c"));
    assert!(std::sync::Arc::ptr_eq(
        &s,
        again.value.schema.as_ref().unwrap_or_else(|| panic!())
    ));
}

#[test]
fn mongo_update_delete_and_flatten() {
    let mut t = transform(
        "ExtractNewDocumentState",
        &[
            ("delete.tombstone.handling.mode", "rewrite"),
            ("flatten.struct", "true"),
        ],
    );
    let out = apply(
        &mut t,
        mongo_event(
            r#"{"$oid": "596e275826f08b2730779e1f"}"#,
            None,
            Some((
                r#"{"first_name": "Anne Marie", "address": {"city": "X"}}"#,
                vec!["email"],
            )),
            "u",
        ),
    );
    assert_eq!(
        as_struct(&out.key.value).values(),
        &["596e275826f08b2730779e1f".into()]
    );
    let s = out.value.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!(
        names(&s),
        ["first_name", "address_city", "_id", "__deleted"]
    );
    assert_eq!(
        as_struct(&out.value.value).values(),
        &[
            "Anne Marie".into(),
            "X".into(),
            "596e275826f08b2730779e1f".into(),
            false.into()
        ]
    );
    let out = apply(&mut t, mongo_event("7", None, None, "d"));
    assert_eq!(
        names(out.value.schema.as_ref().unwrap_or_else(|| panic!())),
        ["__deleted"]
    );
    assert_eq!(as_struct(&out.value.value).values(), &[true.into()]);
    let mut tomb = mongo_event("7", None, None, "d");
    tomb.value = SchemaAndValue::NULL;
    assert!(matches!(t.apply(tomb.clone()), Ok(None)));
    let mut keep = transform(
        MONGO,
        &[("delete.tombstone.handling.mode", "rewrite-with-tombstone")],
    );
    let out = apply(&mut keep, tomb);
    assert_eq!(
        (out.key.value.clone(), out.value.clone()),
        (
            Value::Struct(st(
                out.key.schema.as_ref().unwrap_or_else(|| panic!()),
                vec![Value::Int32(7)]
            )),
            SchemaAndValue::NULL
        )
    );
    let mut arr = transform(MONGO, &[("array.encoding", "document")]);
    let out = apply(
        &mut arr,
        mongo_event("1", Some(r#"{"_id": 1, "mix": [1, "a"]}"#), None, "c"),
    );
    let mix = as_struct(
        as_struct(&out.value.value)
            .get("mix")
            .unwrap_or_else(|| panic!()),
    );
    assert_eq!(mix.values(), &[Value::Int32(1), "a".into()]);
    let mut strict = transform(MONGO, &[]);
    let msg = apply_err(
        &mut strict,
        mongo_event("1", Some(r#"{"_id": 1, "mix": [1, "a"]}"#), None, "c"),
    );
    assert!(msg.contains("is not a homogenous array"), "{msg}");
}

// ---- ByLogicalTableRouter / ToLogicalTopicRouter ----

fn shard_record(topic: &str) -> (Record, SchemaRef) {
    let row = SchemaBuilder::struct_()
        .name(format!("{topic}.Value"))
        .optional()
        .field("id", prim(Type::Int32))
        .field("name", opt(Type::String))
        .build();
    let env = envelope_schema(topic, &row);
    let key = SchemaBuilder::struct_()
        .name(format!("{topic}.Key"))
        .field("id", prim(Type::Int32))
        .build();
    let mut r = rec(
        topic,
        Some(env.clone()),
        envelope(
            &env,
            None,
            Some(st(&row, vec![1i32.into(), "x".into()])),
            "c",
        ),
    );
    r.key = SchemaAndValue::new(key.clone(), st(&key, vec![1i32.into()]));
    (r, env)
}

#[test]
fn by_logical_table_router_docs_example() {
    // Docs: topic.regex (.*)customers_shard(.*), topic.replacement $1customers_all_shards
    let cfg = [
        ("topic.regex", "(.*)customers_shard(.*)"),
        ("topic.replacement", "$1customers_all_shards"),
    ];
    let mut t = transform("io.debezium.transforms.ByLogicalTableRouter", &cfg);
    let (r, _) = shard_record("myserver.mydb.customers_shard1");
    let out = apply(&mut t, r);
    assert_eq!(out.topic, "myserver.mydb.customers_all_shards");
    let ks = out.key.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!(
        (ks.name(), names(&ks)),
        (
            Some("myserver.mydb.customers_all_shards.Key"),
            vec!["id", "__dbz__physicalTableIdentifier"]
        )
    );
    assert_eq!(
        as_struct(&out.key.value).values(),
        &[1i32.into(), "myserver.mydb.customers_shard1".into()]
    );
    let vs = out.value.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!(
        vs.name(),
        Some("myserver.mydb.customers_all_shards.Envelope")
    );
    assert_eq!(
        vs.field("after").and_then(|f| f.schema.name()),
        Some("myserver.mydb.customers_all_shards.Value")
    );
    let after = as_struct(
        as_struct(&out.value.value)
            .get("after")
            .unwrap_or_else(|| panic!()),
    );
    assert_eq!(
        after.schema().name(),
        Some("myserver.mydb.customers_all_shards.Value")
    );
    assert_eq!(as_struct(&out.value.value).get("op"), Some(&"c".into()));
    // Tombstones: new topic and key, value untouched; no match: untouched.
    let (mut tomb, _) = shard_record("myserver.mydb.customers_shard2");
    tomb.value = SchemaAndValue::NULL;
    let out = apply(&mut t, tomb);
    assert_eq!(
        (out.topic.as_str(), out.value.clone()),
        ("myserver.mydb.customers_all_shards", SchemaAndValue::NULL)
    );
    assert_eq!(
        as_struct(&out.key.value).values()[1],
        "myserver.mydb.customers_shard2".into()
    );
    let (other, _) = shard_record("myserver.mydb.orders");
    assert_eq!(apply(&mut t, other.clone()), other);
}

#[test]
fn to_logical_topic_router_key_field_options() {
    let cfg = [
        ("topic.regex", "(.*)customers_shard(.*)"),
        ("topic.replacement", "$1customers_all_shards"),
        ("key.field.regex", "(.*)customers_shard(.*)"),
        ("key.field.replacement", "shard$2"),
        ("schema.name.adjustment.mode", "avro"),
    ];
    let mut t = transform("io.debezium.transforms.ToLogicalTopicRouter", &cfg);
    let (r, _) = shard_record("my-server.db.customers_shard7");
    let out = apply(&mut t, r);
    let ks = out.key.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!(
        (ks.name(), names(&ks)),
        (
            Some("my_server.db.customers_all_shards.Key"),
            vec!["id", "__dbz__sourceIdentifier"]
        )
    );
    assert_eq!(as_struct(&out.key.value).values()[1], "shard7".into());
    let mut no_key = transform(
        "ByLogicalTableRouter",
        &[cfg[0], cfg[1], ("key.enforce.uniqueness", "false")],
    );
    let (r, _) = shard_record("a.customers_shard1");
    assert_eq!(
        names(
            apply(&mut no_key, r)
                .key
                .schema
                .as_ref()
                .unwrap_or_else(|| panic!())
        ),
        ["id"]
    );
    let e = transform_err(
        "ByLogicalTableRouter",
        &[cfg[0], cfg[1], ("key.field.regex", "(.*)")],
    );
    assert!(
        e.contains("key.field.replacement must be non-empty if key.field.regex is set."),
        "{e}"
    );
    let e = transform_err("ToLogicalTopicRouter", &[("topic.regex", "x")]);
    assert!(
        e.contains("Missing required configuration \"topic.replacement\""),
        "{e}"
    );
}

// ---- outbox EventRouter ----

const OUTBOX: &str = "io.debezium.transforms.outbox.EventRouter";

#[test]
fn outbox_docs_example() {
    let payload = r#"{"id": 1, "customerId": 123}"#;
    let mut t = transform(OUTBOX, &[]);
    let out = apply(&mut t, outbox_record("c", payload.into()));
    assert_eq!(out.topic, "outbox.event.Order");
    assert_eq!(out.key, SchemaAndValue::new(prim(Type::String), "1"));
    assert_eq!(out.value, SchemaAndValue::new(opt(Type::String), payload));
    assert_eq!(out.timestamp, Some(1_559_033_904_863));
    let id = out
        .headers
        .last_with_name("id")
        .unwrap_or_else(|| panic!("id header"));
    assert_eq!(
        id.value,
        SchemaAndValue::new(prim(Type::String), "406c07f3-26f0-4eea-a50c-109940064b8f")
    );
    for op in ["d", "u"] {
        assert!(
            matches!(t.apply(outbox_record(op, payload.into())), Ok(None)),
            "{op}"
        );
    }
    assert!(matches!(t.apply(rec("x", None, Value::Null)), Ok(None)));
    let mut fatal = transform(OUTBOX, &[("table.op.invalid.behavior", "fatal")]);
    assert!(apply_err(&mut fatal, outbox_record("u", payload.into()))
        .contains("Unexpected update message received"));
}

#[test]
fn outbox_additional_fields_timestamp_and_tombstones() {
    let cfg = [
        (
            "table.fields.additional.placement",
            "type:header:eventType,type:envelope:eventType,shard:partition",
        ),
        ("table.field.event.timestamp", "created"),
        ("route.topic.replacement", "${routedByValue}.events"),
        ("route.tombstone.on.empty.payload", "true"),
    ];
    let mut t = transform("EventRouter", &cfg);
    let out = apply(&mut t, outbox_record("c", "{}".into()));
    assert_eq!(
        (out.topic.as_str(), out.partition, out.timestamp),
        ("Order.events", Some(3), Some(1_556_890_294_484))
    );
    assert_eq!(
        out.headers
            .last_with_name("eventType")
            .map(|h| h.value.value.clone()),
        Some("OrderCreated".into())
    );
    let s = out.value.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!(
        (s.name(), names(&s)),
        (
            Some("dbserver1.public.outboxevent.Order.Value"),
            vec!["payload", "eventType"]
        )
    );
    assert_eq!(
        as_struct(&out.value.value).values(),
        &["{}".into(), "OrderCreated".into()]
    );
    let out = apply(&mut t, outbox_record("c", Value::Null));
    assert_eq!(out.value, SchemaAndValue::NULL);
    assert_eq!(out.key.value, "1".into());
    let e = transform_err(
        OUTBOX,
        &[("table.fields.additional.placement", "type:nowhere")],
    );
    assert!(e.contains("placement header, envelope or partition"), "{e}");
}

#[test]
fn by_logical_table_router_takes_both_cache_size_keys() {
    // ByLogicalTableRouter extends ToLogicalTopicRouter in Debezium: both keys work.
    for extra in [
        [
            ("logical.table.cache.size", "4"),
            ("logical.table.cache.size", "4"),
        ],
        [
            ("logical.destination.cache.size", "8"),
            ("logical.destination.cache.size", "8"),
        ],
        [
            ("logical.table.cache.size", "4"),
            ("logical.destination.cache.size", "8"),
        ],
    ] {
        let mut cfg = vec![
            ("topic.regex", "(.*)customers_shard(.*)"),
            ("topic.replacement", "$1customers_all_shards"),
        ];
        cfg.extend_from_slice(&extra);
        let mut t = transform("ByLogicalTableRouter", &cfg);
        let (r, _) = shard_record("myserver.mydb.customers_shard1");
        assert_eq!(apply(&mut t, r).topic, "myserver.mydb.customers_all_shards");
    }
    let e = transform_err(
        "ByLogicalTableRouter",
        &[
            ("topic.regex", "a"),
            ("topic.replacement", "b"),
            ("logical.destination.cache.size", "0"),
        ],
    );
    assert!(e.contains("logical.destination.cache.size"), "{e}");
    // The successor ignores the deprecated key, as Debezium's does.
    let mut t = transform(
        "ToLogicalTopicRouter",
        &[
            ("topic.regex", "(.*)customers_shard(.*)"),
            ("topic.replacement", "$1customers_all_shards"),
            ("logical.table.cache.size", "4"),
        ],
    );
    let (r, _) = shard_record("myserver.mydb.customers_shard1");
    let out = apply(&mut t, r);
    let ks = out.key.schema.clone().unwrap_or_else(|| panic!());
    assert_eq!(names(&ks), vec!["id", "__dbz__sourceIdentifier"]);
}
