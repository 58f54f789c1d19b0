//! One change-stream event (the raw server document) to Debezium records.
//!
//! Why this is right: the event is read as a plain BSON document rather than the driver's
//! typed `ChangeStreamEvent`, so nothing the server sent is lost (`lsid`, `txnNumber`,
//! `wallTime`, `fullDocumentBeforeChange`) and unknown operation types pass through
//! harmlessly. The mapping is Debezium's: insert → `c` with `after`; update → `u` with
//! `updateDescription`, plus `after` when the stream looks the document up and `before`
//! when a pre-image exists; replace → `u` with `after` (and `before`); delete → `d` (with
//! `before` when a pre-image exists) followed by a tombstone. Every record carries the
//! event's own resume token in its offset, so a restart resumes right after it.

use mongodb::bson::{Bson, Document};
use sluice_core::SourceRecord;

use super::config::MongoConfig;
use super::envelope::{self, Op, SourceInfo, SourceSchemas, UpdateDescription};
use super::offsets::Offset;
use crate::extjson::{self, Layout, Mode};

/// The `_data` of a resume token document (`{"_data": "<hex>"}`); binary `_data` (MongoDB
/// 3.6) is written as hex.
pub fn token_data(token: &Bson) -> Option<String> {
    let doc = token.as_document()?;
    match doc.get("_data")? {
        Bson::String(s) => Some(s.clone()),
        Bson::Binary(b) => Some(b.bytes.iter().map(|x| format!("{x:02X}")).collect()),
        _ => None,
    }
}

/// What one event became.
#[derive(Debug)]
pub enum Converted {
    /// Records to emit (a change and, after a delete, its tombstone).
    Records(Vec<SourceRecord>, Offset),
    /// Not captured (filtered collection, skipped or non-data operation); its offset.
    Skipped(Offset),
    /// The stream was invalidated (its collection or database was dropped or renamed).
    Invalidate(Offset),
}

/// Converts one raw event.
pub fn convert(cfg: &MongoConfig, s: &SourceSchemas, ev: &Document) -> Result<Converted, String> {
    let token = ev
        .get("_id")
        .and_then(token_data)
        .ok_or_else(|| format!("change event without a resume token: {ev}"))?;
    let (sec, ord) = match ev.get("clusterTime") {
        Some(Bson::Timestamp(ts)) => (ts.time, ts.increment),
        _ => (0, 0),
    };
    let lsid = ev
        .get_document("lsid")
        .ok()
        .map(|d| extjson::document(d, Mode::Strict, Layout::Compact));
    let txn_number = match ev.get("txnNumber") {
        Some(Bson::Int64(n)) => Some(*n),
        Some(Bson::Int32(n)) => Some(i64::from(*n)),
        _ => None,
    };
    let offset = Offset {
        sec,
        ord,
        resume_token: Some(token),
        lsid: lsid.clone(),
        txn_number,
        ..Offset::default()
    };
    let op_type = ev.get_str("operationType").unwrap_or("");
    let op = match op_type {
        "insert" => Op::Create,
        "update" | "replace" => Op::Update,
        "delete" => Op::Delete,
        "invalidate" => return Ok(Converted::Invalidate(offset)),
        _ => return Ok(Converted::Skipped(offset)),
    };
    let skip = match op {
        Op::Create => cfg.skip_create,
        Op::Update => cfg.skip_update,
        Op::Delete => cfg.skip_delete,
        Op::Read => false,
    };
    let ns = ev.get_document("ns").ok();
    let db = ns.and_then(|n| n.get_str("db").ok()).unwrap_or("");
    let coll = ns.and_then(|n| n.get_str("coll").ok()).unwrap_or("");
    if skip || !cfg.filters.collection(db, coll) {
        return Ok(Converted::Skipped(offset));
    }
    let id = ev
        .get_document("documentKey")
        .ok()
        .and_then(|k| k.get("_id"))
        .ok_or_else(|| format!("{op_type} event on {db}.{coll} without documentKey._id"))?;
    let c = s.collection(db, coll);
    let key = envelope::key(&c, extjson::value(id, Mode::Relaxed, Layout::Compact));
    let full = |field: &str| {
        ev.get_document(field)
            .ok()
            .map(|d| extjson::document(d, Mode::Strict, Layout::Compact))
    };
    let after = match op {
        Op::Delete => None,
        _ => full("fullDocument"),
    };
    let before = full("fullDocumentBeforeChange");
    let update = (op_type == "update")
        .then(|| ev.get_document("updateDescription").ok())
        .flatten()
        .map(|u| UpdateDescription {
            removed_fields: u
                .get_array("removedFields")
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            updated_fields: u
                .get_document("updatedFields")
                .ok()
                .map(|d| extjson::document(d, Mode::Relaxed, Layout::Spaced)),
            truncated_arrays: u
                .get_array("truncatedArrays")
                .map(|a| {
                    a.iter()
                        .filter_map(Bson::as_document)
                        .filter_map(|t| {
                            let field = t.get_str("field").ok()?.to_owned();
                            let size = match t.get("newSize")? {
                                Bson::Int32(n) => *n,
                                Bson::Int64(n) => i32::try_from(*n).ok()?,
                                _ => return None,
                            };
                            Some((field, size))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        });
    let info = SourceInfo {
        ts_ms: i64::from(sec) * 1000,
        snapshot: "false",
        ord: ord as i32,
        lsid,
        txn_number,
        wall_time: match ev.get("wallTime") {
            Some(Bson::DateTime(d)) => Some(d.timestamp_millis()),
            _ => None,
        },
    };
    let mut out = Vec::with_capacity(2);
    out.push(envelope::change_record(
        s,
        &c,
        op,
        key.clone(),
        before,
        after,
        update.as_ref(),
        &info,
        offset.clone().into_source_offset(),
    ));
    if op == Op::Delete && cfg.tombstones_on_delete {
        out.push(envelope::tombstone(
            s,
            &c,
            key,
            offset.clone().into_source_offset(),
        ));
    }
    Ok(Converted::Records(out, offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{doc, spec::BinarySubtype, Binary, DateTime, Timestamp};
    use sluice_core::Value;

    fn cfg() -> MongoConfig {
        let m: sluice_core::config::ConfigMap = [
            ("mongodb.connection.string", "mongodb://h/?replicaSet=rs0"),
            ("topic.prefix", "fulfillment"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        super::super::config::parse(&m).expect("config")
    }

    /// An update inside a transaction, as MongoDB sends it (SecantusDB reports pipeline
    /// updates as replaces, so truncatedArrays is covered here).
    #[test]
    fn update_in_a_transaction() {
        let s = SourceSchemas::new("fulfillment", "rs0");
        let ev = doc! {
            "_id": {"_data": "8263"},
            "operationType": "update",
            "clusterTime": Timestamp { time: 1_700_000_000, increment: 3 },
            "wallTime": DateTime::from_millis(1_700_000_000_123),
            "ns": {"db": "inventory", "coll": "customers"},
            "documentKey": {"_id": 1004_i64},
            "updateDescription": {"updatedFields": {"a.0": 5}, "removedFields": ["b"],
                                  "truncatedArrays": [{"field": "arr", "newSize": 2}]},
            "lsid": {"id": Binary { subtype: BinarySubtype::Uuid, bytes: vec![0; 16] }},
            "txnNumber": 7_i64,
        };
        let Ok(Converted::Records(records, offset)) = convert(&cfg(), &s, &ev) else {
            panic!("records");
        };
        assert_eq!(records.len(), 1);
        let lsid = r#"{"id": {"$binary": "AAAAAAAAAAAAAAAAAAAAAA==","$type": "04"}}"#;
        assert_eq!(offset.lsid.as_deref(), Some(lsid));
        assert_eq!(
            serde_json::Value::Object(offset.to_map()),
            serde_json::json!({"sec": 1_700_000_000, "ord": 3, "resume_token": "8263", "lsid": lsid, "txnNumber": 7})
        );
        let Value::Struct(env) = &records[0].record.value.value else {
            panic!("envelope");
        };
        let Some(Value::Struct(u)) = env.get("updateDescription") else {
            panic!("updateDescription");
        };
        assert_eq!(
            u.get("updatedFields"),
            Some(&Value::String(r#"{"a.0": 5}"#.into()))
        );
        assert_eq!(
            u.get("removedFields"),
            Some(&Value::Array(vec![Value::String("b".into())]))
        );
        let Some(Value::Array(t)) = u.get("truncatedArrays") else {
            panic!("truncatedArrays");
        };
        let Value::Struct(t0) = &t[0] else {
            panic!("struct")
        };
        assert_eq!(
            (t0.get("field"), t0.get("size")),
            (Some(&Value::String("arr".into())), Some(&Value::Int32(2)))
        );
        let Some(Value::Struct(src)) = env.get("source") else {
            panic!("source");
        };
        assert_eq!(src.get("lsid"), Some(&Value::String(lsid.into())));
        assert_eq!(src.get("txnNumber"), Some(&Value::Int64(7)));
        assert_eq!(src.get("ts_ms"), Some(&Value::Int64(1_700_000_000_000)));
        assert_eq!(src.get("wallTime"), Some(&Value::Int64(1_700_000_000_123)));
        assert_eq!(src.get("rs"), Some(&Value::String("rs0".into())));
        assert_eq!(env.get("after"), Some(&Value::Null));
        let Value::Struct(key) = &records[0].record.key.value else {
            panic!("key");
        };
        assert_eq!(key.get("id"), Some(&Value::String("1004".into())));
    }

    #[test]
    fn uncaptured_and_non_data_events_are_skipped_with_their_offset() {
        let s = SourceSchemas::new("fulfillment", "rs0");
        let ev = doc! {"_id": {"_data": "82AA"}, "operationType": "insert", "ns": {"db": "admin", "coll": "x"},
        "documentKey": {"_id": 1}, "fullDocument": {"_id": 1}};
        assert!(
            matches!(convert(&cfg(), &s, &ev), Ok(Converted::Skipped(o)) if o.resume_token.as_deref() == Some("82AA"))
        );
        let ev = doc! {"_id": {"_data": "82AB"}, "operationType": "createIndexes", "ns": {"db": "inventory", "coll": "x"}};
        assert!(matches!(
            convert(&cfg(), &s, &ev),
            Ok(Converted::Skipped(_))
        ));
        let ev = doc! {"_id": {"_data": "82AC"}, "operationType": "invalidate"};
        assert!(matches!(
            convert(&cfg(), &s, &ev),
            Ok(Converted::Invalidate(_))
        ));
        assert!(convert(&cfg(), &s, &doc! {"operationType": "insert"}).is_err());
    }
}
