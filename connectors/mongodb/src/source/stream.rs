//! Opening change streams and streaming from them.
//!
//! Why this is right: the stream is opened with the scope of `capture.scope` and resumed
//! with `resumeAfter` the stored token (exclusive: the stored event is not repeated), or,
//! for a position known only by cluster time, `startAtOperationTime` (inclusive: nothing
//! at that time is missed). Each event's records carry its own token. Records are handed
//! on when a batch is full, when the stream is idle, or at most [`FLUSH_AFTER`] after the
//! first pending one, so latency stays low under a trickle. A server answer that the
//! position is gone (ChangeStreamHistoryLost 286, InvalidResumeToken 260, a token that
//! does not parse) becomes the guided error naming the token and the two ways out; other
//! failures are returned as they are (retriable ones make the runtime restart the task,
//! which resumes from the last committed token). An `invalidate` event (the watched
//! collection or database was dropped or renamed) reopens the stream with `startAfter`.

use std::time::{Duration, Instant};

use mongodb::bson::{self, doc, Bson, Document, Timestamp};
use mongodb::change_stream::event::ResumeToken;
use mongodb::change_stream::ChangeStream;
use mongodb::options::{FullDocumentBeforeChangeType, FullDocumentType};
use mongodb::Client;
use sluice_core::plugin::Progress;

use super::config::{MongoConfig, Scope};
use super::envelope::{self, SourceSchemas};
use super::events::{self, Converted};
use super::offsets::Offset;
use crate::error::{server_code, MongoError, Result};
use sluice_core::output::Output;

/// Longest time a record waits in a partly filled batch.
pub const FLUSH_AFTER: Duration = Duration::from_millis(50);

/// Where a stream starts.
#[derive(Debug, Clone)]
pub enum Start {
    /// After this token (`resumeAfter`).
    After(String),
    /// From this cluster time, inclusive (`startAtOperationTime`).
    At(Timestamp),
    /// After this invalidate event's token (`startAfter`).
    StartAfter(String),
    /// From now.
    Now,
}

impl Start {
    /// The start an offset names.
    pub fn of(o: &Offset) -> Start {
        match &o.resume_token {
            Some(t) => Start::After(t.clone()),
            None => Start::At(Timestamp {
                time: o.sec,
                increment: o.ord,
            }),
        }
    }
}

/// A resume token from its `_data`.
pub fn token(data: &str) -> Result<ResumeToken> {
    bson::from_bson(Bson::Document(doc! {"_data": data})).map_err(|e| MongoError::BadOffset {
        offset: data.to_owned(),
        reason: format!("the resume token does not parse: {e}"),
    })
}

/// The `_data` of a driver resume token.
pub fn token_data(t: &ResumeToken) -> Option<String> {
    bson::to_bson(t).ok().as_ref().and_then(events::token_data)
}

macro_rules! configure {
    ($watch:expr, $cfg:expr, $start:expr) => {{
        let mut w = $watch.max_await_time(Duration::from_millis($cfg.poll_interval_ms));
        if $cfg.capture.update_full {
            w = w.full_document(FullDocumentType::UpdateLookup);
        }
        if $cfg.capture.pre_image {
            w = w.full_document_before_change(FullDocumentBeforeChangeType::WhenAvailable);
        }
        match $start {
            Start::After(t) => w.resume_after(token(t)?),
            Start::StartAfter(t) => w.start_after(token(t)?),
            Start::At(ts) => w.start_at_operation_time(*ts),
            Start::Now => w,
        }
    }};
}

/// True when the server said the start position is gone or unusable.
pub fn is_lost_position(e: &mongodb::error::Error) -> bool {
    // 286 ChangeStreamHistoryLost, 260 InvalidResumeToken, 280 ChangeStreamFatalError,
    // 9 FailedToParse (a token that is not one).
    server_code(e).is_some_and(|c| matches!(c, 286 | 260 | 280 | 9))
}

/// The guided error for a lost position.
pub fn lost_position_message(start: &Start, said: &str) -> String {
    let what = match start {
        Start::After(t) | Start::StartAfter(t) => format!("resume token {t}"),
        Start::At(ts) => format!("cluster time {}.{}", ts.time, ts.increment),
        Start::Now => "the current position".into(),
    };
    format!(
        "the change stream cannot resume from the stored {what}: the server no longer has that history ({said}); \
         the oplog rolled over while the connector was stopped or lagging. Two ways out: set snapshot.mode=when_needed \
         (a new snapshot, then streaming from its resume token), or reset the offsets with DELETE /connectors/<name>/offsets \
         (or PATCH /connectors/<name>/offsets with a newer resume_token) and restart the connector"
    )
}

/// Opens the change stream of `cfg.capture.scope` at `start`.
pub async fn open(
    client: &Client,
    cfg: &MongoConfig,
    start: &Start,
) -> Result<ChangeStream<Document>> {
    let opened = match &cfg.scope {
        Scope::Deployment => configure!(client.watch(), cfg, start).await,
        Scope::Database(db) => {
            let db = client.database(db);
            configure!(db.watch(), cfg, start).await
        }
        Scope::Collection(db, coll) => {
            let coll = client.database(db).collection::<Document>(coll);
            configure!(coll.watch(), cfg, start).await
        }
    };
    match opened {
        Ok(s) => Ok(s.with_type::<Document>()),
        Err(e) if is_lost_position(&e) => Err(MongoError::LostPosition(lost_position_message(
            start,
            &e.to_string(),
        ))),
        Err(e) => Err(MongoError::driver(
            format!("opening the change stream ({:?})", cfg.scope),
            e,
        )),
    }
}

/// Streams from `start` until the task stops or a failure.
pub async fn run(
    client: &Client,
    cfg: &MongoConfig,
    s: &SourceSchemas,
    start: Start,
    out: &mut Output,
    progress: &Progress,
) -> Result<()> {
    let mut start = start;
    let mut stream = open(client, cfg, &start).await?;
    tracing::info!(start = ?start, scope = ?cfg.scope, "streaming from the change stream");
    progress.set(Some(serde_json::json!({"phase": "streaming"})));
    let heartbeat =
        (cfg.heartbeat_interval_ms > 0).then(|| Duration::from_millis(cfg.heartbeat_interval_ms));
    let mut last_heartbeat = Instant::now();
    let mut first_pending: Option<Instant> = None;
    let mut last: Option<Offset> = None;
    loop {
        let next = stream.next_if_any().await;
        match next {
            Ok(Some(ev)) => match events::convert(cfg, s, &ev).map_err(MongoError::BadRecord)? {
                Converted::Records(records, o) => {
                    last = Some(o);
                    for r in records {
                        out.push(r);
                    }
                    first_pending.get_or_insert_with(Instant::now);
                }
                Converted::Skipped(o) => last = Some(o),
                Converted::Invalidate(o) => {
                    tracing::warn!(token = ?o.resume_token, "the change stream was invalidated (collection or database dropped or renamed): reopening after it");
                    if !out.flush().await {
                        return Ok(());
                    }
                    start = Start::StartAfter(o.resume_token.clone().unwrap_or_default());
                    stream = open(client, cfg, &start).await?;
                    continue;
                }
            },
            Ok(None) => {
                if out.pending() > 0 {
                    if !out.flush().await {
                        return Ok(());
                    }
                    first_pending = None;
                }
                if let Some(every) = heartbeat {
                    if last_heartbeat.elapsed() >= every {
                        last_heartbeat = Instant::now();
                        let mut o = last.clone().unwrap_or_default();
                        if let Some(t) = stream.resume_token().as_ref().and_then(token_data) {
                            o.resume_token = Some(t);
                            o.lsid = None;
                            o.txn_number = None;
                        }
                        if o.resume_token.is_some() {
                            out.push(envelope::heartbeat(
                                s,
                                &cfg.heartbeat_topic,
                                o.into_source_offset(),
                            ));
                            if !out.flush().await {
                                return Ok(());
                            }
                        }
                    }
                }
                if out.is_closed() {
                    return Ok(());
                }
            }
            Err(e) if is_lost_position(&e) => {
                return Err(MongoError::LostPosition(lost_position_message(
                    &start,
                    &e.to_string(),
                )))
            }
            Err(e) => return Err(MongoError::driver("reading the change stream", e)),
        }
        if out.full() || first_pending.is_some_and(|t| t.elapsed() >= FLUSH_AFTER) {
            if !out.flush().await {
                return Ok(());
            }
            first_pending = None;
        }
    }
}
