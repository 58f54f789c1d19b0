//! Records to MongoDB writes, and writing one put's worth of them.
//!
//! Why this is right:
//! - Each record becomes one write on one `_id`: a replace with upsert (Debezium `c`, `r`,
//!   `u` with a full `after`, or a plain document), a partial update (`u` with only an
//!   `updateDescription`: `$set` of `updatedFields`, `$unset` of `removedFields`, `$push`
//!   with `$slice` for `truncatedArrays`), or a delete (`d`, or a tombstone). Replaces,
//!   deletes and these updates are idempotent, so a redelivered record (after a crash,
//!   before the offset commit) leaves the same document.
//! - Order. Only writes on the same `_id` need their order kept. Within one put, a replace
//!   or delete supersedes every earlier write on its `_id` (it sets the whole state), so
//!   those are dropped; what is left per `_id` is a delete alone, or an optional replace
//!   followed by partial updates. All deletes go in one `delete` command, then everything
//!   else in one ordered `update` command (chunked at `max.batch.size`), so a put costs two
//!   round trips whatever its mix, and each `_id` still sees its writes in order.
//! - A write the server rejects fails the put with the server's message; nothing is
//!   committed for it, so the records are delivered again.

use std::collections::{BTreeMap, HashSet};

use mongodb::bson::{doc, Bson, Document};
use mongodb::Database;
use sluice_core::{Schema, SinkRecord, Value};

use super::config::{Handler, SinkConfig};
use super::extjson_in;
use crate::error::{Context, MongoError, Result};
use crate::extjson::{self, Layout, Mode};

/// One write on one document.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Replace the whole document (upsert).
    Replace { id: Bson, doc: Document },
    /// Apply update operators (no upsert).
    Update { id: Bson, update: Document },
    /// Delete the document.
    Delete { id: Bson },
}

impl Write {
    fn id(&self) -> &Bson {
        match self {
            Write::Replace { id, .. } | Write::Update { id, .. } | Write::Delete { id } => id,
        }
    }

    fn sets_whole_state(&self) -> bool {
        !matches!(self, Write::Update { .. })
    }
}

/// A field of a struct or a string-keyed map.
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    match v {
        Value::Struct(s) => s.get(name),
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(name))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn field_schema<'a>(schema: Option<&'a Schema>, name: &str) -> Option<&'a Schema> {
    schema?.field(name).map(|f| f.schema.as_ref())
}

/// A Connect value as BSON, reading Kafka Connect's logical types from `schema`.
pub fn to_bson(v: &Value, schema: Option<&Schema>) -> Bson {
    let logical = schema.and_then(Schema::name);
    match v {
        Value::Null => Bson::Null,
        Value::Int8(i) => Bson::Int32(i32::from(*i)),
        Value::Int16(i) => Bson::Int32(i32::from(*i)),
        Value::Int32(i) => match logical {
            Some("org.apache.kafka.connect.data.Date") => Bson::DateTime(
                mongodb::bson::DateTime::from_millis(i64::from(*i) * 86_400_000),
            ),
            _ => Bson::Int32(*i),
        },
        Value::Int64(i) => match logical {
            Some("org.apache.kafka.connect.data.Timestamp") => {
                Bson::DateTime(mongodb::bson::DateTime::from_millis(*i))
            }
            _ => Bson::Int64(*i),
        },
        Value::Float32(f) => Bson::Double(f64::from(*f)),
        Value::Float64(f) => Bson::Double(*f),
        Value::Boolean(b) => Bson::Boolean(*b),
        Value::String(s) => Bson::String(s.clone()),
        Value::Bytes(b) => Bson::Binary(mongodb::bson::Binary {
            subtype: mongodb::bson::spec::BinarySubtype::Generic,
            bytes: b.clone(),
        }),
        Value::Decimal(d) => {
            let text = d.to_java_string();
            Bson::try_from(serde_json::json!({"$numberDecimal": text}))
                .unwrap_or(Bson::String(text))
        }
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_deref());
            Bson::Array(items.iter().map(|i| to_bson(i, item_schema)).collect())
        }
        Value::Map(entries) => {
            let value_schema = schema.and_then(|s| s.value_schema.as_deref());
            Bson::Document(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let key = match k {
                            Value::String(s) => s.clone(),
                            other => format!("{other:?}"),
                        };
                        (key, to_bson(v, value_schema))
                    })
                    .collect(),
            )
        }
        Value::Struct(s) => {
            let schema = s.schema();
            Bson::Document(
                schema
                    .fields
                    .iter()
                    .zip(s.values())
                    .map(|(f, v)| (f.name.clone(), to_bson(v, Some(&f.schema))))
                    .collect(),
            )
        }
    }
}

/// The `_id` a record's key names: Debezium MongoDB's `{"id": "<Extended JSON>"}`, a
/// relational key struct (as a document), or a primitive.
fn key_id(key: &Value, key_schema: Option<&Schema>, mongo: bool) -> Option<Bson> {
    match key {
        Value::Null => None,
        Value::Struct(_) | Value::Map(_) if mongo => match field(key, "id") {
            Some(Value::String(s)) => extjson_in::parse_value(s).ok(),
            _ => None,
        },
        Value::Struct(_) | Value::Map(_) => Some(to_bson(key, key_schema)),
        Value::String(s) => Some(extjson_in::parse_value(s).unwrap_or(Bson::String(s.clone()))),
        other => Some(to_bson(other, key_schema)),
    }
}

/// A Debezium MongoDB key: a struct named `….Key` whose only field is a string `id`.
fn is_mongo_key(key: &Value) -> bool {
    match key {
        Value::Struct(s) => {
            s.schema().fields.len() == 1
                && s.schema().fields[0].name == "id"
                && s.schema().fields[0].schema.ty == sluice_core::Type::String
        }
        Value::Map(entries) => {
            entries.len() == 1
                && matches!(&entries[0], (Value::String(k), Value::String(_)) if k == "id")
        }
        _ => false,
    }
}

fn text(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

fn mongo_update(u: &Value) -> Result<Option<Document>, String> {
    let mut update = Document::new();
    if let Some(set) = text(field(u, "updatedFields")) {
        let d = extjson_in::parse_document(set)?;
        if !d.is_empty() {
            update.insert("$set", d);
        }
    }
    if let Some(Value::Array(removed)) = field(u, "removedFields") {
        let unset: Document = removed
            .iter()
            .filter_map(|f| {
                f.as_str()
                    .map(|f| (f.to_owned(), Bson::String(String::new())))
            })
            .collect();
        if !unset.is_empty() {
            update.insert("$unset", unset);
        }
    }
    if let Some(Value::Array(arrays)) = field(u, "truncatedArrays") {
        let mut push = Document::new();
        for a in arrays {
            if let (Some(name), Some(Value::Int32(size))) =
                (text(field(a, "field")), field(a, "size"))
            {
                push.insert(name, doc! {"$each": [], "$slice": *size});
            }
        }
        if !push.is_empty() {
            update.insert("$push", push);
        }
    }
    Ok((!update.is_empty()).then_some(update))
}

/// The write one record asks for (`None`: nothing to do).
pub fn write_for(cfg: &SinkConfig, r: &SinkRecord) -> Result<Option<Write>, String> {
    let rec = &r.record;
    let value = &rec.value.value;
    let value_schema = rec.value.schema.as_deref();
    let key_schema = rec.key.schema.as_deref();
    let op = text(field(value, "op"));
    let after = field(value, "after");
    let before = field(value, "before");
    let envelope = op.is_some() && (after.is_some() || before.is_some());
    let mongo = match cfg.handler {
        Handler::MongoDb => true,
        Handler::Rdbms => false,
        // Debezium's MongoDB envelope always has `updateDescription` (a relational one
        // never does); schemaless, its images are strings. A tombstone has only its key:
        // a single string `id` is read as a MongoDB key (set the handler explicitly for a
        // relational table whose only key column is a string named `id`).
        Handler::Auto => match value {
            Value::Struct(st) => st.schema().field("updateDescription").is_some(),
            Value::Null => is_mongo_key(&rec.key.value),
            _ => {
                field(value, "updateDescription").is_some()
                    || matches!(after, Some(Value::String(_)))
                    || matches!(before, Some(Value::String(_)))
            }
        },
    };
    if value.is_null() {
        if !cfg.delete_on_null_values {
            return Ok(None);
        }
        return Ok(key_id(&rec.key.value, key_schema, mongo).map(|id| Write::Delete { id }));
    }
    if !envelope {
        // A plain document: replace by its _id, else by the key.
        let Bson::Document(mut doc) = to_bson(value, value_schema) else {
            return Err(format!("the value is a {}, not a document", value.kind()));
        };
        let id = match doc.get("_id") {
            Some(id) => id.clone(),
            None => key_id(&rec.key.value, key_schema, false)
                .ok_or("the document has no _id and the record no key")?,
        };
        doc.insert("_id", id.clone());
        return Ok(Some(Write::Replace { id, doc }));
    }
    let op = op.unwrap_or("");
    if mongo {
        let after_doc = text(after).map(extjson_in::parse_document).transpose()?;
        // `after._id` is strict Extended JSON and keeps its type (an int64 stays one); the
        // key's `id` is relaxed (a small int64 reads back as an int32), which still finds
        // the document: MongoDB compares numbers by value.
        let id = after_doc
            .as_ref()
            .and_then(|d| d.get("_id").cloned())
            .or_else(|| key_id(&rec.key.value, key_schema, true))
            .ok_or("the event has no key and no after._id")?;
        return Ok(match (op, after_doc) {
            ("d", _) => Some(Write::Delete { id }),
            ("c" | "r" | "u", Some(mut doc)) => {
                if !doc.contains_key("_id") {
                    doc.insert("_id", id.clone());
                }
                Some(Write::Replace { id, doc })
            }
            ("u", None) => match field(value, "updateDescription") {
                Some(u) if !u.is_null() => {
                    mongo_update(u)?.map(|update| Write::Update { id, update })
                }
                _ => None,
            },
            (other, None) => return Err(format!("op {other:?} without after")),
            (other, _) => return Err(format!("unknown op {other:?}")),
        });
    }
    // A relational event: the key struct is the _id, `after` the document.
    let id = key_id(&rec.key.value, key_schema, false).ok_or(
        "the relational event has no key: set message.key.columns on the source or use a table with a primary key",
    )?;
    match op {
        "d" => Ok(Some(Write::Delete { id })),
        "c" | "r" | "u" => {
            let after = after.filter(|a| !a.is_null()).ok_or("op without after")?;
            let Bson::Document(fields) = to_bson(after, field_schema(value_schema, "after")) else {
                return Err("after is not a struct".into());
            };
            let mut doc = Document::new();
            doc.insert("_id", id.clone());
            doc.extend(fields);
            Ok(Some(Write::Replace { id, doc }))
        }
        "t" => Ok(None),
        other => Err(format!("unknown op {other:?}")),
    }
}

/// Drops writes superseded within the batch (see the module note).
pub fn plan(writes: Vec<Write>) -> (Vec<Bson>, Vec<Write>) {
    let mut superseded: HashSet<String> = HashSet::new();
    let mut deleted: HashSet<String> = HashSet::new();
    let mut kept: Vec<Write> = Vec::with_capacity(writes.len());
    for w in writes.into_iter().rev() {
        let key = extjson::value(w.id(), Mode::Relaxed, Layout::Compact);
        if superseded.contains(&key) {
            continue;
        }
        if deleted.contains(&key) {
            continue;
        }
        if w.sets_whole_state() {
            superseded.insert(key.clone());
        }
        if matches!(w, Write::Delete { .. }) {
            deleted.insert(key);
        }
        kept.push(w);
    }
    kept.reverse();
    // Partial updates after a delete of the same _id found nothing to update: drop them.
    let mut deletes = Vec::new();
    let mut rest = Vec::new();
    let mut gone: HashSet<String> = HashSet::new();
    for w in kept {
        let key = extjson::value(w.id(), Mode::Relaxed, Layout::Compact);
        match w {
            Write::Delete { id } => {
                gone.insert(key);
                deletes.push(id);
            }
            w if gone.contains(&key) => drop(w),
            w => rest.push(w),
        }
    }
    (deletes, rest)
}

fn check(reply: &Document, what: &str) -> Result<u64> {
    if let Ok(errors) = reply.get_array("writeErrors") {
        if let Some(Bson::Document(first)) = errors.first() {
            return Err(MongoError::BadRecord(format!(
                "{what}: the server rejected {} write(s), the first: {}",
                errors.len(),
                first
            )));
        }
    }
    Ok(match reply.get("n") {
        Some(Bson::Int32(n)) => *n as u64,
        Some(Bson::Int64(n)) => *n as u64,
        _ => 0,
    })
}

/// Writes one collection's share of a put.
pub async fn execute(db: &Database, coll: &str, writes: Vec<Write>, chunk: usize) -> Result<()> {
    let (deletes, rest) = plan(writes);
    for ids in deletes.chunks(chunk) {
        let statements: Vec<Document> = ids
            .iter()
            .map(|id| doc! {"q": {"_id": id.clone()}, "limit": 1})
            .collect();
        let reply = db
            .run_command(doc! {"delete": coll, "deletes": statements, "ordered": true})
            .await
            .ctx(|| format!("deleting {} documents from {}.{coll}", ids.len(), db.name()))?;
        check(&reply, &format!("delete from {}.{coll}", db.name()))?;
    }
    for ws in rest.chunks(chunk) {
        let statements: Vec<Document> = ws
            .iter()
            .map(|w| match w {
                Write::Replace { id, doc } => {
                    doc! {"q": {"_id": id.clone()}, "u": doc.clone(), "upsert": true}
                }
                Write::Update { id, update } => {
                    doc! {"q": {"_id": id.clone()}, "u": update.clone(), "upsert": false}
                }
                Write::Delete { id } => doc! {"q": {"_id": id.clone()}, "u": {}, "upsert": false},
            })
            .collect();
        let reply = db
            .run_command(doc! {"update": coll, "updates": statements, "ordered": true})
            .await
            .ctx(|| format!("writing {} documents to {}.{coll}", ws.len(), db.name()))?;
        check(&reply, &format!("update of {}.{coll}", db.name()))?;
    }
    Ok(())
}

/// Groups a put's records by target collection, in order.
pub fn by_collection(
    cfg: &SinkConfig,
    records: &[SinkRecord],
) -> Result<BTreeMap<String, Vec<Write>>> {
    let mut out: BTreeMap<String, Vec<Write>> = BTreeMap::new();
    for r in records {
        let write = write_for(cfg, r).map_err(|e| {
            MongoError::BadRecord(format!(
                "record {}-{}@{}: {e}",
                r.record.topic, r.kafka_partition, r.kafka_offset
            ))
        })?;
        if let Some(w) = write {
            let coll = cfg
                .collection
                .clone()
                .unwrap_or_else(|| r.record.topic.clone());
            out.entry(coll).or_default().push(w);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_whole_state_writes_supersede_earlier_ones() {
        let r = |i: i32, v: i32| Write::Replace {
            id: Bson::Int32(i),
            doc: doc! {"_id": i, "v": v},
        };
        let u = |i: i32| Write::Update {
            id: Bson::Int32(i),
            update: doc! {"$set": {"x": 1}},
        };
        let d = |i: i32| Write::Delete { id: Bson::Int32(i) };
        let (deletes, rest) = plan(vec![
            r(1, 1),
            u(1),
            r(2, 1),
            d(1),
            r(3, 1),
            u(3),
            d(2),
            r(2, 2),
            u(4),
            d(5),
            u(5),
        ]);
        assert_eq!(deletes, vec![Bson::Int32(1), Bson::Int32(5)]);
        assert_eq!(rest, vec![r(3, 1), u(3), r(2, 2), u(4)]);
    }
}
