//! The initial snapshot: every captured collection's documents as `op=r` events, from a
//! resume point taken before the first document is read.
//!
//! Why this is right:
//! - Consistent point. The change stream is opened (and its resume token — the server's
//!   `postBatchResumeToken` — taken) *before* any collection is scanned. Every write that
//!   the scans miss happened after that token, so streaming from it afterwards replays it;
//!   a write the scans already saw is replayed too and converges to the same state
//!   (at-least-once, as Debezium's MongoDB snapshot).
//! - Resume. Each record's offset carries that token, `initsync: true` and the collection
//!   being read, so after a crash the snapshot skips the collections sorted before it and
//!   reads that one again from its start (documents have no order to resume within that
//!   survives mixed `_id` types); streaming still starts at the original token.
//! - Markers. `source.snapshot` is `first` for the first record, `first_in_data_collection`
//!   / `last_in_data_collection` at collection boundaries, `last` for the final record and
//!   `true` otherwise; one record is held back to know which. The final record's offset
//!   has no `initsync`: once it is committed, a restart streams.
//! - Memory. A collection is read through one cursor in server-sized batches; records go
//!   out in bounded batches (see [`Output`]).

use std::sync::Arc;
use std::time::Instant;

use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::Client;
use sluice_core::plugin::Progress;
use sluice_core::SourceRecord;

use super::config::{MongoConfig, Scope};
use super::envelope::{self, Op, SourceInfo, SourceSchemas};
use super::offsets::Offset;
use super::stream::{self, Start};
use crate::error::{Context, Result};
use crate::extjson::{self, Layout, Mode};
use sluice_core::output::Output;

/// The cluster time encoded in a MongoDB resume token (`82` + 4-byte seconds + 4-byte
/// increment, hex), when the token is in that format.
pub fn token_time(data: &str) -> Option<(u32, u32)> {
    if data.len() < 18 || !data[..2].eq_ignore_ascii_case("82") {
        return None;
    }
    let t = u32::from_str_radix(data.get(2..10)?, 16).ok()?;
    let i = u32::from_str_radix(data.get(10..18)?, 16).ok()?;
    Some((t, i))
}

/// Establishes the snapshot's resume point: the change stream's token before any read.
pub async fn begin(client: &Client, cfg: &MongoConfig) -> Result<Offset> {
    let reply = client
        .database("admin")
        .run_command(doc! {"ping": 1})
        .await
        .ctx(|| "pinging the server for its cluster time".into())?;
    let op_time = match reply.get("operationTime") {
        Some(Bson::Timestamp(ts)) => Some((ts.time, ts.increment)),
        _ => reply
            .get_document("$clusterTime")
            .ok()
            .and_then(|c| c.get_timestamp("clusterTime").ok())
            .map(|ts| (ts.time, ts.increment)),
    };
    let stream = stream::open(client, cfg, &Start::Now).await?;
    let token = stream.resume_token().as_ref().and_then(stream::token_data);
    drop(stream);
    let (sec, ord) = token
        .as_deref()
        .and_then(token_time)
        .or(op_time)
        .unwrap_or((0, 0));
    tracing::info!(
        resume_token = token.as_deref().unwrap_or(""),
        sec,
        ord,
        "snapshot resume point"
    );
    Ok(Offset {
        sec,
        ord,
        resume_token: token,
        initsync: true,
        ..Offset::default()
    })
}

/// Captured collections (`(db, collection)`), sorted.
pub async fn collections(client: &Client, cfg: &MongoConfig) -> Result<Vec<(String, String)>> {
    let dbs = match &cfg.scope {
        Scope::Deployment => client
            .list_database_names()
            .await
            .ctx(|| "listing databases (needs the listDatabases privilege)".into())?,
        Scope::Database(db) | Scope::Collection(db, _) => vec![db.clone()],
    };
    let mut out = Vec::new();
    for db in dbs {
        if !cfg.filters.database(&db) {
            continue;
        }
        let names = client
            .database(&db)
            .list_collection_names()
            .filter(doc! {"type": "collection"})
            .await
            .ctx(|| format!("listing the collections of database {db}"))?;
        for coll in names {
            if let Scope::Collection(_, only) = &cfg.scope {
                if *only != coll {
                    continue;
                }
            }
            if cfg.filters.collection(&db, &coll) {
                out.push((db.clone(), coll));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// One record held back until the next one shows whether it ends a collection.
struct Held {
    record: SourceRecord,
    first: bool,
    first_in_collection: bool,
    last_in_collection: bool,
}

fn push_held(mut h: Held, last: bool, out: &mut Output) {
    let marker = if last {
        "last"
    } else if h.first {
        "first"
    } else if h.first_in_collection {
        "first_in_data_collection"
    } else if h.last_in_collection {
        "last_in_data_collection"
    } else {
        "true"
    };
    envelope::set_snapshot_marker(&mut h.record, marker);
    out.push(h.record);
}

/// Reads the snapshot from `point` (which carries progress when resuming). Returns where
/// streaming starts; `None` when the task was stopped meanwhile.
pub async fn run(
    client: &Client,
    cfg: &Arc<MongoConfig>,
    s: &Arc<SourceSchemas>,
    point: Offset,
    out: &mut Output,
    progress: &Progress,
) -> Result<Option<Offset>> {
    let stream_from = Offset {
        initsync: false,
        snapshot_collection: None,
        lsid: None,
        txn_number: None,
        ..point.clone()
    };
    let all = collections(client, cfg).await?;
    tracing::info!(collections = all.len(), resume_from = ?point.snapshot_collection, "snapshot starting");
    let started = Instant::now();
    let mut done = 0u64;
    let mut held: Option<Held> = None;
    let mut first = true;
    let info = SourceInfo {
        ts_ms: i64::from(point.sec) * 1000,
        snapshot: "true",
        ord: point.ord as i32,
        ..SourceInfo::default()
    };
    for (i, (db, coll)) in all.iter().enumerate() {
        let name = format!("{db}.{coll}");
        if let Some(current) = &point.snapshot_collection {
            if name < *current {
                continue;
            }
            if name == *current {
                tracing::info!(collection = %name, "resuming the snapshot: reading {name} again from its start");
            }
        }
        let c = s.collection(db, coll);
        let handle = client.database(db).collection::<Document>(coll);
        let estimate = handle.estimated_document_count().await.unwrap_or(0);
        progress.set(Some(serde_json::json!({
            "phase": "snapshot", "collection": name, "collections_done": i,
            "collections_total": all.len(), "documents_done": done, "collection_documents_estimated": estimate,
        })));
        let mut find = handle.find(doc! {});
        if cfg.snapshot_fetch_size > 0 {
            find = find.batch_size(cfg.snapshot_fetch_size);
        }
        let mut cursor = find.await.ctx(|| format!("scanning {name}"))?;
        let offset = Offset {
            snapshot_collection: Some(name.clone()),
            initsync: true,
            ..stream_from.clone()
        };
        let mut in_collection = 0u64;
        while let Some(d) = cursor.try_next().await.ctx(|| format!("scanning {name}"))? {
            let id = d.get("_id").cloned().unwrap_or(Bson::Null);
            let key = envelope::key(&c, extjson::value(&id, Mode::Relaxed, Layout::Compact));
            let after = extjson::document(&d, Mode::Strict, Layout::Compact);
            let record = envelope::change_record(
                s,
                &c,
                Op::Read,
                key,
                None,
                Some(after),
                None,
                &info,
                offset.clone().into_source_offset(),
            );
            in_collection += 1;
            done += 1;
            if let Some(h) = held.take() {
                push_held(h, false, out);
            }
            held = Some(Held {
                record,
                first,
                first_in_collection: in_collection == 1,
                last_in_collection: false,
            });
            first = false;
            if out.full() && !out.flush().await {
                return Ok(None);
            }
        }
        if in_collection > 0 {
            if let Some(h) = &mut held {
                h.last_in_collection = true;
            }
        }
        tracing::info!(collection = %name, documents = in_collection, "collection snapshot done");
    }
    if let Some(mut h) = held.take() {
        h.record.source_offset = stream_from.clone().into_source_offset();
        push_held(h, true, out);
    }
    if !out.flush().await {
        return Ok(None);
    }
    let secs = started.elapsed().as_secs_f64().max(0.001);
    tracing::info!(
        documents = done,
        seconds = secs,
        documents_per_second = (done as f64 / secs) as u64,
        "snapshot completed"
    );
    Ok(Some(stream_from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mongodb_token_time() {
        assert_eq!(
            token_time("82636D39C8000000012B022C0100296E5A1004"),
            Some((0x636D39C8, 1))
        );
        assert_eq!(token_time("3d00000010730003"), None);
    }
}
