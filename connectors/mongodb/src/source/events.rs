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
