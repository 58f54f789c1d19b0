//! The MySQL sink task driven directly against a real MariaDB: flat and Debezium records,
//! upsert / update modes, auto.create and auto.evolve, deletes, truncates, order inside
//! one put, redelivery, and an all-or-nothing put.

#![allow(clippy::unwrap_used)]

use sluice_connector_mysql::sink::MySqlSinkTask;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::SinkTask;
use sluice_core::{
    ErrorClass, Record, Schema, SchemaAndValue, SchemaBuilder, SchemaRef, SinkRecord, Struct, Type,
    Value,
};
use sluice_testkit::MariaDb;

fn server() -> MariaDb {
    let db = MariaDb::start();
    db.sql(
        "CREATE DATABASE d;
         CREATE USER 'w'@'127.0.0.1' IDENTIFIED BY 'wpw';
         CREATE USER 'w'@'localhost' IDENTIFIED BY 'wpw';
         GRANT ALL ON d.* TO 'w'@'127.0.0.1', 'w'@'localhost';",
    );
    db
}

fn config(db: &MariaDb, extra: &[(&str, &str)]) -> ConfigMap {
    let mut m: ConfigMap = [
        ("connector.class", "mysql-sink".to_owned()),
        (
            "connection.url",
            format!("jdbc:mysql://{}:{}/d", db.host(), db.port()),
        ),
        ("connection.username", "w".to_owned()),
        ("connection.password", "wpw".to_owned()),
        ("topics", "people".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in extra {
        m.insert((*k).to_owned(), (*v).to_owned());
    }
    m
}

fn person_schema(with_age: bool) -> SchemaRef {
    let mut b = SchemaBuilder::struct_()
        .name("people.Value")
        .optional()
        .field("id", Schema::primitive(Type::Int32, false))
        .field("name", Schema::primitive(Type::String, true));
    if with_age {
        b = b.field("age", Schema::primitive(Type::Int16, true));
    }
    b.build()
}

fn person(id: i32, name: &str, age: Option<i16>) -> Value {
    let schema = person_schema(age.is_some());
    let mut values = vec![Value::Int32(id), Value::String(name.into())];
    if let Some(a) = age {
        values.push(Value::Int16(a));
    }
    Value::Struct(Struct::from_values(schema, values).unwrap())
}

fn flat(topic: &str, value: Value, offset: i64) -> SinkRecord {
    let schema = match &value {
        Value::Struct(s) => Some(s.schema().clone()),
        _ => None,
    };
    SinkRecord {
        record: Record::new(topic, SchemaAndValue { schema, value }),
        kafka_partition: 0,
        kafka_offset: offset,
    }
}

/// A Debezium event of table `d.people` (`op`, before, after), keyed by id.
fn event(op: &str, id: i32, before: Option<&str>, after: Option<&str>) -> SinkRecord {
    let row_s = person_schema(false);
    let key_s = SchemaBuilder::struct_()
        .name("srv.d.people.Key")
        .field("id", Schema::primitive(Type::Int32, false))
        .build();
    let source_s = SchemaBuilder::struct_()
        .name("io.debezium.connector.mysql.Source")
        .field("db", Schema::primitive(Type::String, false))
        .field("table", Schema::primitive(Type::String, true))
        .build();
    let env = SchemaBuilder::struct_()
        .name("srv.d.people.Envelope")
        .field("before", row_s.clone())
        .field("after", row_s.clone())
        .field("source", source_s.clone())
        .field("op", Schema::primitive(Type::String, false))
        .build();
    let image = |n: Option<&str>| n.map_or(Value::Null, |n| person(id, n, None));
    let source = Struct::from_values(
        source_s,
        vec![Value::String("d".into()), Value::String("people".into())],
    )
    .unwrap();
    let value = Struct::from_values(
        env.clone(),
        vec![
            image(before),
            image(after),
            Value::Struct(source),
            Value::String(op.into()),
        ],
    )
    .unwrap();
    let mut r = Record::new(
        "srv.d.people",
        SchemaAndValue::new(env, Value::Struct(value)),
    );
    r.key = SchemaAndValue::new(
        key_s.clone(),
        Value::Struct(Struct::from_values(key_s, vec![Value::Int32(id)]).unwrap()),
    );
    SinkRecord {
        record: r,
        kafka_partition: 0,
        kafka_offset: 0,
    }
}

fn rows(db: &MariaDb, sql: &str) -> Vec<String> {
    db.sql(sql).lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn flat_records_upsert_create_evolve_and_redeliver() {
    let db = server();
    let mut task = MySqlSinkTask::default();
    task.start(&config(
        &db,
        &[
            ("insert.mode", "upsert"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
            ("auto.create", "true"),
            ("auto.evolve", "true"),
        ],
    ))
    .await
    .unwrap();
    let batch = vec![
        flat("people", person(1, "ann", None), 0),
        flat("people", person(2, "bob", None), 1),
        flat("people", person(1, "ann b", None), 2),
    ];
    task.put(batch.clone()).await.unwrap();
    // Redelivery of the same records changes nothing.
    task.put(batch).await.unwrap();
    assert_eq!(
        rows(&db, "SELECT id, name FROM d.people ORDER BY id"),
        ["1\tann b", "2\tbob"]
    );
    // A new field adds a NULL-able column.
    task.put(vec![flat("people", person(3, "cy", Some(41)), 3)])
        .await
        .unwrap();
    assert_eq!(
        rows(
            &db,
            "SELECT id, name, IFNULL(age, 'null') FROM d.people ORDER BY id"
        ),
        ["1\tann b\tnull", "2\tbob\tnull", "3\tcy\t41"]
    );
    assert!(db
        .sql("SHOW CREATE TABLE d.people")
        .contains("PRIMARY KEY (`id`)"));
    // Schemaless maps write into the existing table.
    let map = Value::Map(vec![
        (Value::String("id".into()), Value::Int64(2)),
        (Value::String("name".into()), Value::String("bob m".into())),
    ]);
    task.put(vec![flat("people", map, 4)]).await.unwrap();
    assert_eq!(
        rows(&db, "SELECT name FROM d.people WHERE id = 2"),
        ["bob m"]
    );
    task.stop().await.unwrap();
}

#[tokio::test]
async fn envelopes_delete_truncate_and_keep_order_within_a_put() {
    let db = server();
    let mut task = MySqlSinkTask::default();
    task.start(&config(
        &db,
        &[
            (
                "connector.class",
                "io.debezium.connector.jdbc.JdbcSinkConnector",
            ),
            ("insert.mode", "upsert"),
            ("primary.key.mode", "record_key"),
            ("delete.enabled", "true"),
            ("truncate.enabled", "true"),
            ("schema.evolution", "basic"),
            ("table.name.format", "${source.table}"),
        ],
    ))
    .await
    .unwrap();
    task.put(vec![
        event("r", 1, None, Some("a")),
        event("c", 2, None, Some("b")),
        event("u", 1, Some("a"), Some("a2")),
        event("d", 2, Some("b"), None),
        event("c", 3, None, Some("c")),
    ])
    .await
    .unwrap();
    assert_eq!(
        rows(&db, "SELECT id, name FROM d.people ORDER BY id"),
        ["1\ta2", "3\tc"]
    );
    // A delete then a create of the same key in one put: the create wins.
    task.put(vec![
        event("d", 1, Some("a2"), None),
        event("c", 1, None, Some("again")),
        event("d", 3, Some("c"), None),
    ])
    .await
    .unwrap();
    assert_eq!(
        rows(&db, "SELECT id, name FROM d.people ORDER BY id"),
        ["1\tagain"]
    );
    // A truncate empties the table; what follows it in the put stays.
    task.put(vec![
        event("c", 5, None, Some("five")),
        event("t", 0, None, None),
        event("c", 6, None, Some("six")),
    ])
    .await
    .unwrap();
    assert_eq!(
        rows(&db, "SELECT id, name FROM d.people ORDER BY id"),
        ["6\tsix"]
    );
    task.stop().await.unwrap();
}

#[tokio::test]
async fn update_mode_missing_tables_and_atomic_puts() {
    let db = server();
    db.sql("CREATE TABLE d.people (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL); INSERT INTO d.people VALUES (1, 'one');");
    let mut task = MySqlSinkTask::default();
    task.start(&config(
        &db,
        &[
            ("insert.mode", "update"),
            ("primary.key.mode", "record_value"),
            ("primary.key.fields", "id"),
        ],
    ))
    .await
    .unwrap();
    // update changes rows that are there and creates none.
    task.put(vec![
        flat("people", person(1, "uno", None), 0),
        flat("people", person(2, "dos", None), 1),
    ])
    .await
    .unwrap();
    assert_eq!(
        rows(&db, "SELECT id, name FROM d.people ORDER BY id"),
        ["1\tuno"]
    );
    task.stop().await.unwrap();

    // Without auto.create a missing table is a fatal error that says what to set.
    let mut task = MySqlSinkTask::default();
    task.start(&config(
        &db,
        &[
            ("insert.mode", "upsert"),
            ("primary.key.mode", "record_value"),
            ("primary.key.fields", "id"),
        ],
    ))
    .await
    .unwrap();
    let e = task
        .put(vec![flat("nobody", person(1, "x", None), 0)])
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Fatal, "{e}");
    assert!(e.to_string().contains("auto.create"), "{e}");

    // A put is all or nothing: a value the column refuses rolls back the whole put.
    let mut task = MySqlSinkTask::default();
    task.start(&config(
        &db,
        &[
            ("insert.mode", "upsert"),
            ("primary.key.mode", "record_value"),
            ("primary.key.fields", "id"),
        ],
    ))
    .await
    .unwrap();
    let e = task
        .put(vec![
            flat("people", person(7, "seven", None), 0),
            flat("people", person(8, "far too long for ten", None), 1),
        ])
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::BadRecord, "{e}");
    assert!(e.to_string().contains("d.people"), "{e}");
    assert_eq!(
        rows(&db, "SELECT id FROM d.people ORDER BY id"),
        ["1"],
        "nothing of the failed put was written"
    );
    // The task reconnects on the next put.
    task.put(vec![flat("people", person(7, "seven", None), 0)])
        .await
        .unwrap();
    assert_eq!(rows(&db, "SELECT id FROM d.people ORDER BY id"), ["1", "7"]);
}
