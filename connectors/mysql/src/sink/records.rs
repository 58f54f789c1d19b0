//! What a record asks of the table: [`Change::Upsert`] of a row, [`Change::Delete`] by key,
//! or [`Change::Truncate`], read from a Debezium envelope or a plain (flat) record.
//!
//! Why this is right: a Debezium event is recognised by its shape (a struct or map with
//! `op`, `before` and `after`), not by a topic or schema name, so it is read directly
//! whether or not `ExtractNewRecordState` ran before. `c`, `r` and `u` carry the whole
//! new row in `after`, so writing `after` is an absolute "the row is now this" and
//! replaying it is harmless; `d` and a tombstone delete by key, which is equally
//! absolute. A primary-key change arrives as a delete of the old key and a create of the
//! new one, so it needs nothing special. Key columns come from where `primary.key.mode`
//! says, and those columns are written from the key, the others from the row.

use std::sync::Arc;

use sluice_core::{ConnectError, SchemaRef, SinkRecord, Value};

use crate::sink::config::{PkMode, SinkConfig};
use crate::sink::table::{self, TableId};

/// One column value.
#[derive(Debug, Clone, PartialEq)]
pub struct Col {
    pub name: String,
    /// `None` for schemaless data.
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

/// A row: its key columns (empty with `primary.key.mode=none`) and the other columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    pub key: Vec<Col>,
    pub rest: Vec<Col>,
}

/// What one record asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Upsert { table: TableId, row: Row },
    Delete { table: TableId, key: Vec<Col> },
    Truncate { table: TableId },
}

/// A struct or a schemaless map, read by field name.
enum Obj {
    Struct(SchemaRef, Vec<Value>),
    Map(Vec<(Value, Value)>),
}

impl Obj {
    fn of(value: Value) -> Option<Obj> {
        match value {
            Value::Struct(s) => {
                let (schema, values) = s.into_parts();
                Some(Obj::Struct(schema, values))
            }
            Value::Map(m) => Some(Obj::Map(m)),
            _ => None,
        }
    }

    fn has(&self, name: &str) -> bool {
        match self {
            Obj::Struct(s, _) => s.field(name).is_some(),
            Obj::Map(m) => m
                .iter()
                .any(|(k, _)| matches!(k, Value::String(s) if s == name)),
        }
    }

    fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Obj::Struct(s, v) => s.field(name).map(|f| &v[f.index]),
            Obj::Map(m) => m
                .iter()
                .find(|(k, _)| matches!(k, Value::String(s) if s == name))
                .map(|(_, v)| v),
        }
    }

    fn take(&mut self, name: &str) -> Value {
        match self {
            Obj::Struct(s, v) => s
                .field(name)
                .map(|f| std::mem::replace(&mut v[f.index], Value::Null))
                .unwrap_or(Value::Null),
            Obj::Map(m) => m
                .iter_mut()
                .find(|(k, _)| matches!(k, Value::String(s) if s == name))
                .map(|(_, v)| std::mem::replace(v, Value::Null))
                .unwrap_or(Value::Null),
        }
    }

    fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// Every column, consuming the object.
    fn into_cols(self) -> Result<Vec<Col>, String> {
        match self {
            Obj::Struct(s, values) => Ok(s
                .fields
                .iter()
                .zip(values)
                .map(|(f, value)| Col {
                    name: f.name.clone(),
                    schema: Some(f.schema.clone()),
                    value,
                })
                .collect()),
            Obj::Map(m) => m
                .into_iter()
                .map(|(k, value)| match k {
                    Value::String(name) => Ok(Col {
                        name,
                        schema: None,
                        value,
                    }),
                    other => Err(format!(
                        "a schemaless row has a {} field name",
                        other.kind()
                    )),
                })
                .collect(),
        }
    }
}

fn bad(record: &SinkRecord, why: impl std::fmt::Display) -> ConnectError {
    ConnectError::BadRecord(format!(
        "mysql-sink: record {}-{}@{}: {why}",
        record.record.topic, record.kafka_partition, record.kafka_offset
    ))
}

/// The key columns of a record (for a tombstone or a delete), from its Kafka key.
fn key_from_record_key(record: &SinkRecord, cfg: &SinkConfig) -> Result<Vec<Col>, ConnectError> {
    let key = &record.record.key;
    if key.value.is_null() {
        return Err(bad(
            record,
            "the record key is null but primary.key.mode=record_key takes the primary key from it",
        ));
    }
    match Obj::of(key.value.clone()) {
        Some(obj) => {
            let cols = obj.into_cols().map_err(|e| bad(record, e))?;
            if cfg.pk_fields.is_empty() {
                return Ok(cols);
            }
            let mut picked = Vec::with_capacity(cfg.pk_fields.len());
            for f in &cfg.pk_fields {
                let c = cols.iter().find(|c| &c.name == f).ok_or_else(|| {
                    bad(
                        record,
                        format!("primary.key.fields names {f}, which the record key does not have"),
                    )
                })?;
                picked.push(c.clone());
            }
            Ok(picked)
        }
        None => {
            let name = cfg.pk_fields.first().ok_or_else(|| {
                bad(
                    record,
                    "the record key is a primitive: set primary.key.fields to the one column it is written to",
                )
            })?;
            Ok(vec![Col {
                name: name.clone(),
                schema: key.schema.clone(),
                value: key.value.clone(),
            }])
        }
    }
}

fn kafka_key(record: &SinkRecord) -> Vec<Col> {
    use sluice_core::{Schema, Type};
    vec![
        Col {
            name: "__connect_topic".into(),
            schema: Some(Schema::primitive(Type::String, false)),
            value: Value::String(record.record.topic.clone()),
        },
        Col {
            name: "__connect_partition".into(),
            schema: Some(Schema::primitive(Type::Int32, false)),
            value: Value::Int32(record.kafka_partition),
        },
        Col {
            name: "__connect_offset".into(),
            schema: Some(Schema::primitive(Type::Int64, false)),
            value: Value::Int64(record.kafka_offset),
        },
    ]
}

/// Splits `cols` into (key, rest) by `primary.key.fields` (all columns when empty).
fn key_from_row(
    record: &SinkRecord,
    cfg: &SinkConfig,
    cols: Vec<Col>,
) -> Result<(Vec<Col>, Vec<Col>), ConnectError> {
    if cfg.pk_fields.is_empty() {
        return Ok((cols, Vec::new()));
    }
    let (mut key, rest): (Vec<Col>, Vec<Col>) = cols
        .into_iter()
        .partition(|c| cfg.pk_fields.contains(&c.name));
    if key.len() != cfg.pk_fields.len() {
        return Err(bad(
            record,
            format!(
                "primary.key.fields is {:?} but the row has only {:?} of them",
                cfg.pk_fields,
                key.iter().map(|c| &c.name).collect::<Vec<_>>()
            ),
        ));
    }
    key.sort_by_key(|c| cfg.pk_fields.iter().position(|f| f == &c.name));
    Ok((key, rest))
}

/// Reads what `record` asks of the table; `None` when it asks nothing (a skipped delete,
/// a tombstone with deletes off, a Debezium message event).
pub fn change_of(mut record: SinkRecord, cfg: &SinkConfig) -> Result<Option<Change>, ConnectError> {
    let table_of = |record: &SinkRecord, source: Option<&Obj>| -> Result<TableId, ConnectError> {
        let get = |k: &str| source.and_then(|s| s.text(k).map(str::to_owned));
        let (db, tb) = (get("db"), get("table"));
        table::resolve(
            &cfg.table_format,
            &record.record.topic,
            db.as_deref(),
            tb.as_deref(),
        )
        .map_err(|e| bad(record, e))
    };
    if record.record.value.value.is_null() {
        // A tombstone: it names no table through a source block, so with a format that
        // needs one it is left to the delete event before it.
        if !cfg.delete_enabled
            || cfg.pk_mode != PkMode::RecordKey
            || table::needs_source(&cfg.table_format)
        {
            return Ok(None);
        }
        let table = table_of(&record, None)?;
        let key = key_from_record_key(&record, cfg)?;
        return Ok(Some(Change::Delete { table, key }));
    }
    // The row is moved out, not copied: the rest of the record is only used in messages.
    let kind = record.record.value.value.kind();
    let value = std::mem::replace(&mut record.record.value.value, Value::Null);
    let Some(mut obj) = Obj::of(value) else {
        return Err(bad(
            &record,
            format!("a {kind} value is not a row: expected a struct or a map"),
        ));
    };
    let envelope = obj.has("op") && obj.has("after") && obj.has("before");
    let (row, source) = if envelope {
        let op = obj.text("op").unwrap_or("").to_owned();
        let source = Obj::of(obj.take("source"));
        match op.as_str() {
            "c" | "r" | "u" => match Obj::of(obj.take("after")) {
                Some(after) => (after, source),
                None => return Ok(None),
            },
            "d" => {
                if !cfg.delete_enabled {
                    return Ok(None);
                }
                let table = table_of(&record, source.as_ref())?;
                let key = match cfg.pk_mode {
                    PkMode::RecordValue => {
                        let before = Obj::of(obj.take("before"))
                            .ok_or_else(|| bad(&record, "a delete event without a before image"))?;
                        key_from_row(
                            &record,
                            cfg,
                            before.into_cols().map_err(|e| bad(&record, e))?,
                        )?
                        .0
                    }
                    _ => key_from_record_key(&record, cfg)?,
                };
                return Ok(Some(Change::Delete { table, key }));
            }
            "t" if cfg.truncate_enabled => {
                let table = table_of(&record, source.as_ref())?;
                return Ok(Some(Change::Truncate { table }));
            }
            _ => return Ok(None),
        }
    } else {
        (obj, None)
    };
    let table = table_of(&record, source.as_ref())?;
    let cols = row.into_cols().map_err(|e| bad(&record, e))?;
    let (key, rest) = match cfg.pk_mode {
        PkMode::None => (Vec::new(), cols),
        PkMode::Kafka => (kafka_key(&record), cols),
        PkMode::RecordValue => key_from_row(&record, cfg, cols)?,
        PkMode::RecordKey => {
            let key = key_from_record_key(&record, cfg)?;
            let rest = cols
                .into_iter()
                .filter(|c| !key.iter().any(|k| k.name == c.name))
                .collect();
            (key, rest)
        }
    };
    Ok(Some(Change::Upsert {
        table,
        row: Row { key, rest },
    }))
}

/// Shares one schema among values (for tests and callers building rows).
pub fn col(name: &str, schema: &SchemaRef, value: Value) -> Col {
    Col {
        name: name.to_owned(),
        schema: Some(Arc::clone(schema)),
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::config::InsertMode;
    use sluice_core::{Record, SchemaAndValue, SchemaBuilder, Struct, Type};

    fn cfg(pk: PkMode) -> SinkConfig {
        SinkConfig {
            hostname: "h".into(),
            port: 3306,
            user: "u".into(),
            password: String::new(),
            tls: crate::tls::TlsSettings::default(),
            database: "b".into(),
            insert_mode: InsertMode::Upsert,
            pk_mode: pk,
            pk_fields: Vec::new(),
            delete_enabled: true,
            truncate_enabled: false,
            auto_create: true,
            auto_evolve: true,
            table_format: "${source.table}".into(),
            batch_size: 500,
            connect_timeout_ms: 1000,
        }
    }

    fn schemas() -> (SchemaRef, SchemaRef, SchemaRef) {
        let key = SchemaBuilder::struct_()
            .name("s.inv.t.Key")
            .field("id", Schema::primitive(Type::Int32, false))
            .build();
        let row = SchemaBuilder::struct_()
            .name("s.inv.t.Value")
            .optional()
            .field("id", Schema::primitive(Type::Int32, false))
            .field("name", Schema::primitive(Type::String, true))
            .build();
        let source = SchemaBuilder::struct_()
            .field("db", Schema::primitive(Type::String, false))
            .field("table", Schema::primitive(Type::String, true))
            .build();
        (key, row, source)
    }

    use sluice_core::Schema;

    fn envelope(op: &str, before: Option<(i32, &str)>, after: Option<(i32, &str)>) -> SinkRecord {
        let (key_s, row_s, source_s) = schemas();
        let env = SchemaBuilder::struct_()
            .name("s.inv.t.Envelope")
            .field("before", row_s.clone())
            .field("after", row_s.clone())
            .field("source", source_s.clone())
            .field("op", Schema::primitive(Type::String, false))
            .build();
        let row = |r: Option<(i32, &str)>| match r {
            None => Value::Null,
            Some((id, name)) => Value::Struct(
                Struct::from_values(
                    row_s.clone(),
                    vec![Value::Int32(id), Value::String(name.into())],
                )
                .expect("row"),
            ),
        };
        let id = after.or(before).map_or(0, |r| r.0);
        let value = Struct::from_values(
            env.clone(),
            vec![
                row(before),
                row(after),
                Value::Struct(
                    Struct::from_values(
                        source_s,
                        vec![Value::String("inv".into()), Value::String("t".into())],
                    )
                    .expect("source"),
                ),
                Value::String(op.into()),
            ],
        )
        .expect("env");
        let mut r = Record::new("s.inv.t", SchemaAndValue::new(env, Value::Struct(value)));
        r.key = SchemaAndValue::new(
            key_s.clone(),
            Value::Struct(Struct::from_values(key_s, vec![Value::Int32(id)]).expect("key")),
        );
        SinkRecord {
            record: r,
            kafka_partition: 0,
            kafka_offset: 7,
        }
    }

    #[test]
    fn envelope_ops_become_changes() {
        let c = cfg(PkMode::RecordKey);
        let Some(Change::Upsert { table, row }) =
            change_of(envelope("u", Some((1, "a")), Some((1, "b"))), &c).expect("ok")
        else {
            panic!("an upsert")
        };
        assert_eq!(table.to_string(), "t");
        assert_eq!(row.key.iter().map(|c| &c.name).collect::<Vec<_>>(), ["id"]);
        assert_eq!(row.rest.len(), 1);
        assert_eq!(row.rest[0].value, Value::String("b".into()));
        let Some(Change::Delete { key, .. }) =
            change_of(envelope("d", Some((1, "b")), None), &c).expect("ok")
        else {
            panic!("a delete")
        };
        assert_eq!(key[0].value, Value::Int32(1));
        let mut off = cfg(PkMode::RecordKey);
        off.delete_enabled = false;
        assert_eq!(
            change_of(envelope("d", Some((1, "b")), None), &off).expect("ok"),
            None
        );
        assert_eq!(change_of(envelope("t", None, None), &c).expect("ok"), None);
        // A tombstone cannot name ${source.table}: the delete before it did the work.
        let mut tomb = envelope("d", Some((1, "b")), None);
        tomb.record.value = SchemaAndValue::NULL;
        assert_eq!(change_of(tomb.clone(), &c).expect("ok"), None);
        let mut by_topic = cfg(PkMode::RecordKey);
        by_topic.table_format = "${topic}".into();
        let Some(Change::Delete { table, .. }) = change_of(tomb, &by_topic).expect("ok") else {
            panic!("a delete")
        };
        assert_eq!(table.table, "s_inv_t");
    }

    #[test]
    fn flat_records_and_key_modes() {
        let (_, row_s, _) = schemas();
        let flat = Struct::from_values(
            row_s.clone(),
            vec![Value::Int32(5), Value::String("x".into())],
        )
        .expect("row");
        let rec = SinkRecord {
            record: Record::new("orders", SchemaAndValue::new(row_s, Value::Struct(flat))),
            kafka_partition: 2,
            kafka_offset: 9,
        };
        let mut c = cfg(PkMode::RecordValue);
        c.table_format = "${topic}".into();
        c.pk_fields = vec!["id".into()];
        let Some(Change::Upsert { row, table }) = change_of(rec.clone(), &c).expect("ok") else {
            panic!()
        };
        assert_eq!(
            (
                table.table.as_str(),
                row.key[0].name.as_str(),
                row.rest.len()
            ),
            ("orders", "id", 1)
        );
        let mut k = c.clone();
        k.pk_mode = PkMode::Kafka;
        let Some(Change::Upsert { row, .. }) = change_of(rec.clone(), &k).expect("ok") else {
            panic!()
        };
        assert_eq!(row.key.len(), 3);
        assert_eq!(row.key[2].value, Value::Int64(9));
        assert_eq!(row.rest.len(), 2);
        let mut rk = c.clone();
        rk.pk_mode = PkMode::RecordKey;
        rk.pk_fields.clear();
        let e = change_of(rec, &rk).expect_err("null key").to_string();
        assert!(
            e.contains("orders-2@9") && e.contains("record key is null"),
            "{e}"
        );
        let schemaless = SinkRecord {
            record: Record::new(
                "m",
                SchemaAndValue::schemaless(Value::Map(vec![
                    (Value::String("id".into()), Value::Int64(1)),
                    (Value::String("v".into()), Value::String("z".into())),
                ])),
            ),
            kafka_partition: 0,
            kafka_offset: 0,
        };
        let Some(Change::Upsert { row, .. }) = change_of(schemaless, &c).expect("ok") else {
            panic!()
        };
        assert_eq!(
            (row.key[0].schema.clone(), row.rest[0].name.as_str()),
            (None, "v")
        );
    }
}
