//! The binlog reader: opens a replica stream at an [`Offset`], follows files and
//! transactions, decodes rows of captured tables and emits Debezium change events.
//!
//! Why this is right:
//! - Position: every event updates the next position from its header; ROTATE switches
//!   files; a transaction starts at its GTID (or BEGIN) event, and its records carry that
//!   start plus counters (see [`crate::offsets`]), so a restart re-reads the transaction and
//!   skips exactly the rows events and rows already emitted. All records produced from one
//!   row but the last carry the *previous* row count, so a crash between them re-emits the
//!   row rather than losing its tail (at-least-once, never at-most-once).
//! - Transactions end at XID, at a `COMMIT` query, or after the single statement of a
//!   standalone group (DDL); only then does the GTID state advance.
//! - GTIDs: MariaDB's state is the last GTID per domain; MySQL's is the executed GTID set,
//!   kept only when it is known to be complete — from the stored offset, the snapshot's
//!   `Executed_Gtid_Set`, or a file's PREVIOUS_GTIDS event — because a restart by an
//!   incomplete set would make the server resend transactions already emitted. Until then
//!   MySQL offsets carry file and position only.
//! - Schemas: TABLE_MAP events are parsed once per table version; identical TABLE_MAP
//!   bytes reuse the cached [`TableSchema`], so a row never rebuilds a schema.
//! - Liveness: the server is asked for heartbeat events, and silence for three periods is a
//!   retriable error instead of a hang on a dead connection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use mysql_async::binlog::events::Event;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, Conn};
use sluice_core::plugin::Progress;
use sluice_core::record::OffsetMap;

mod emit;

use super::dump::DumpRequest;
use super::events::{self, code, MySqlGtid};
use super::table_map::{self, BinlogColumn};
use crate::checks::{self, ServerInfo};
use crate::config::MySqlConfig;
use crate::decode::{parse_rows, rows_kind};
use crate::envelope::{self, SourceSchemas};
use crate::error::{MySqlError, Result, SqlContext};
use crate::gtid::GtidSet;
use crate::offsets::{GtidState, Offset};
use crate::schema::TableSchema;
use sluice_core::output::Output;

/// A captured table version: how to decode its rows and the schemas of its records.
#[derive(Debug)]
struct Mapped {
    columns: Vec<BinlogColumn>,
    body: Vec<u8>,
    schema: Arc<TableSchema>,
}

#[derive(Debug)]
struct Txn {
    file: Arc<str>,
    pos: u64,
    gtid: Option<String>,
    gtid_parts: Option<(u32, u32, u64)>,
    mysql_gtid: Option<MySqlGtid>,
    gtids_before: Option<Arc<str>>,
    thread: Option<i64>,
    rows_events: u64,
    standalone: bool,
    total: i64,
    collections: Vec<(String, i64)>,
    begun: bool,
}

/// Reads the binlog from one offset on.
pub struct Streamer {
    cfg: Arc<MySqlConfig>,
    source: Arc<SourceSchemas>,
    server: ServerInfo,
    /// A connection for metadata queries, opened when first needed.
    meta: Option<Conn>,
    tables: HashMap<u64, Option<Arc<Mapped>>>,
    cache: HashMap<(String, String), Arc<Mapped>>,
    file: String,
    next_pos: u64,
    ts_sec: i64,
    event_server: u64,
    seen_fde: bool,
    txn: Option<Txn>,
    gtids: GtidState,
    /// MySQL's executed GTID set, when known to be complete.
    mysql_gtids: Option<GtidSet>,
    resume: Option<(u64, u64)>,
    pending_start: Option<u64>,
    last_heartbeat: Instant,
    start: Offset,
    progress: Progress,
    /// Change events emitted (rows), and when / at what count progress was last published.
    rows: u64,
    published: (Instant, u64),
}

fn decode_err(file: &str, pos: u64, message: impl Into<String>) -> MySqlError {
    MySqlError::Decode {
        file: file.to_owned(),
        pos,
        message: message.into(),
    }
}

impl Streamer {
    /// A reader that will start at `start`; `meta` is a separate connection for metadata
    /// (opened on first use when `None`).
    pub fn new(
        cfg: Arc<MySqlConfig>,
        source: Arc<SourceSchemas>,
        server: ServerInfo,
        meta: Option<Conn>,
        start: Offset,
    ) -> Self {
        let resume = (start.event > 0 || start.row > 0).then_some((start.event, start.row));
        let stored = start.gtids.as_deref().filter(|g| !g.is_empty());
        let mysql_gtids = match stored {
            Some(text) if !server.mariadb => match GtidSet::parse(text) {
                Ok(set) => Some(set),
                Err(e) => {
                    tracing::warn!(gtids = text, error = %e, "the stored GTID set cannot be used; streaming by file and position");
                    None
                }
            },
            _ => None,
        };
        Streamer {
            gtids: stored
                .filter(|_| server.mariadb)
                .and_then(GtidState::parse)
                .unwrap_or_default(),
            mysql_gtids,
            file: start.file.clone(),
            next_pos: start.pos.max(4),
            ts_sec: start.ts_sec,
            event_server: start.server_id,
            cfg,
            source,
            server,
            meta,
            tables: HashMap::new(),
            cache: HashMap::new(),
            seen_fde: false,
            txn: None,
            resume,
            pending_start: None,
            last_heartbeat: Instant::now(),
            start,
            progress: Progress::default(),
            rows: 0,
            published: (Instant::now(), 0),
        }
    }

    /// Publishes streaming progress to `progress` (the task's status) about once a second.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// `{"phase": "streaming", file, pos, gtids, rows_streamed, rows_per_sec}`.
    fn publish_progress(&mut self) {
        let (at, rows_then) = self.published;
        let secs = at.elapsed().as_secs_f64().max(0.001);
        let rate = ((self.rows - rows_then) as f64 / secs) as u64;
        self.published = (Instant::now(), self.rows);
        self.progress.set(Some(serde_json::json!({
            "phase": "streaming",
            "file": self.file,
            "pos": self.next_pos,
            "gtids": self.gtid_text(),
            "rows_streamed": self.rows,
            "rows_per_sec": rate,
        })));
    }

    fn heartbeat_period(&self) -> Duration {
        match self.cfg.heartbeat_interval_ms {
            0 => Duration::from_secs(10),
            ms => Duration::from_millis(ms.clamp(100, 10_000)),
        }
    }

    async fn open(&mut self) -> Result<BinlogStream> {
        let mut conn = checks::connect(&self.cfg).await?;
        let period = self.heartbeat_period();
        conn.query_drop(format!(
            "SET @master_heartbeat_period = {}",
            period.as_nanos()
        ))
        .await
        .ctx(|| "asking the server for heartbeats".into())?;
        let mut use_gtid = false;
        if self.server.mariadb {
            conn.query_drop("SET @mariadb_slave_capability = 4")
                .await
                .ctx(|| "announcing MariaDB GTID support (@mariadb_slave_capability)".into())?;
            if self.gtids.is_empty() {
                // Learn the GTID state of the file/position, so offsets carry it.
                let pos: Option<Option<String>> = conn
                    .exec_first(
                        "SELECT BINLOG_GTID_POS(?, ?)",
                        (&self.start.file, self.start.pos),
                    )
                    .await
                    .ctx(|| "reading BINLOG_GTID_POS".into())?;
                if let Some(g) = pos.flatten().as_deref().and_then(GtidState::parse) {
                    self.gtids = g;
                }
            } else {
                use_gtid = true;
                let state = self.gtids.to_string();
                conn.query_drop(format!(
                    "SET @slave_connect_state = '{state}', @slave_gtid_strict_mode = 0, @slave_gtid_ignore_duplicates = 0"
                ))
                .await
                .ctx(|| format!("setting @slave_connect_state='{state}'"))?;
            }
        }
        let request = self.dump_request(use_gtid);
        tracing::info!(
            file = %self.start.file, pos = self.start.pos, gtids = self.gtid_text().unwrap_or_default(),
            by_gtid = use_gtid || request.gtids.is_some(),
            skip_events = self.start.event, skip_rows = self.start.row,
            server_id = self.cfg.server_id, "streaming from the binlog"
        );
        conn.get_binlog_stream(request.stream_request())
            .await
            .map_err(|e| self.stream_error(e))
    }

    /// The dump request: by MySQL GTID set when the server has `gtid_mode=ON` and the set
    /// is known; by position otherwise (also for MariaDB, whose GTID start is
    /// `@slave_connect_state`, `mariadb_by_gtid`).
    fn dump_request(&self, mariadb_by_gtid: bool) -> DumpRequest {
        match &self.mysql_gtids {
            Some(set) if self.server.gtid_mode && !self.server.mariadb && !set.is_empty() => {
                DumpRequest::by_gtid(self.cfg.server_id, set.clone())
            }
            _ if mariadb_by_gtid => DumpRequest::by_position(self.cfg.server_id, "", 4),
            _ => DumpRequest::by_position(self.cfg.server_id, &self.start.file, self.start.pos),
        }
    }

    /// The metadata connection, opened on first use.
    async fn meta(&mut self) -> Result<&mut Conn> {
        if self.meta.is_none() {
            self.meta = Some(checks::connect(&self.cfg).await?);
        }
        self.meta
            .as_mut()
            .ok_or_else(|| MySqlError::Setting("no metadata connection".into()))
    }

    fn stream_error(&self, e: mysql_async::Error) -> MySqlError {
        if let mysql_async::Error::Server(s) = &e {
            if s.code == 1236 {
                return MySqlError::LostPosition(lost_position_message(
                    &self.cfg,
                    &self.start,
                    &s.message,
                    None,
                ));
            }
            if s.code == 1227 || s.code == 1045 {
                return MySqlError::Setting(format!(
                    "the server refused the binlog stream: {}; fix it with: GRANT REPLICATION SLAVE ON *.* TO '{}'@'%';",
                    s.message, self.cfg.user
                ));
            }
        }
        MySqlError::sql("reading the binlog", e)
    }

    /// Streams until the task stops (Ok) or a failure.
    pub async fn run(mut self, out: &mut Output) -> Result<()> {
        let mut stream = self.open().await?;
        self.publish_progress();
        let silence = self.heartbeat_period() * 3 + Duration::from_secs(5);
        loop {
            let next = if out.pending() == 0 {
                match tokio::time::timeout(silence, stream.next()).await {
                    Ok(n) => n,
                    Err(_) => {
                        return Err(MySqlError::sql(
                            "reading the binlog",
                            mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                format!(
                                    "no event or heartbeat from the server for {}s",
                                    silence.as_secs()
                                ),
                            ))),
                        ))
                    }
                }
            } else {
                match stream.next().now_or_never() {
                    Some(n) => n,
                    None => {
                        if !out.flush().await {
                            return Ok(());
                        }
                        continue;
                    }
                }
            };
            let event = match next {
                Some(Ok(e)) => e,
                Some(Err(e)) => return Err(self.stream_error(e)),
                None => {
                    return Err(MySqlError::sql(
                        "reading the binlog",
                        mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "the server ended the binlog stream",
                        ))),
                    ))
                }
            };
            self.handle(&event, out).await?;
            self.maybe_heartbeat(out);
            if self.published.0.elapsed() >= Duration::from_secs(1) {
                self.publish_progress();
            }
            if out.full() && !out.flush().await {
                return Ok(());
            }
        }
    }

    fn maybe_heartbeat(&mut self, out: &mut Output) {
        let ms = self.cfg.heartbeat_interval_ms;
        if ms == 0
            || self.txn.is_some()
            || self.last_heartbeat.elapsed() < Duration::from_millis(ms)
        {
            return;
        }
        self.last_heartbeat = Instant::now();
        let topic = format!(
            "{}.{}",
            self.cfg.heartbeat_topic_prefix, self.cfg.topic_prefix
        );
        out.push(envelope::heartbeat(
            &self.source,
            &topic,
            self.between_offset().into(),
        ));
    }

    fn gtid_text(&self) -> Option<String> {
        if self.server.mariadb {
            (!self.gtids.is_empty()).then(|| self.gtids.to_string())
        } else {
            self.mysql_gtids
                .as_ref()
                .filter(|s| !s.is_empty())
                .map(GtidSet::to_string)
        }
    }

    fn between_offset(&self) -> OffsetMap {
        Offset {
            file: self.file.clone(),
            pos: self.next_pos,
            gtids: self.gtid_text(),
            event: 0,
            row: 0,
            server_id: self.event_server,
            ts_sec: self.ts_sec,
            snapshot: None,
        }
        .to_map()
    }

    fn begin(
        &mut self,
        pos: u64,
        gtid: Option<String>,
        parts: Option<(u32, u32, u64)>,
        standalone: bool,
    ) {
        self.txn = Some(Txn {
            file: Arc::from(self.file.as_str()),
            pos,
            gtid,
            gtid_parts: parts,
            mysql_gtid: None,
            gtids_before: self.gtid_text().map(Arc::from),
            thread: None,
            rows_events: 0,
            standalone,
            total: 0,
            collections: Vec::new(),
            begun: false,
        });
    }

    fn commit(&mut self, next_pos: u64, out: &mut Output) {
        let Some(t) = self.txn.take() else { return };
        if let Some((d, s, q)) = t.gtid_parts {
            self.gtids.update(d, s, q);
        }
        if let (Some(g), Some(set)) = (t.mysql_gtid, &mut self.mysql_gtids) {
            set.add(g.uuid, g.gno);
        }
        if next_pos > 0 {
            self.next_pos = next_pos;
        }
        self.resume = None;
        if t.begun {
            let id = tx_id(&t);
            out.push(envelope::transaction_record(
                &self.source,
                &self.cfg.transaction_topic,
                &id,
                self.ts_sec * 1000,
                Some(&t.collections),
                self.between_offset().into(),
            ));
        }
    }

    async fn handle(&mut self, ev: &Event, out: &mut Output) -> Result<()> {
        let h = ev.header();
        let ty = h.event_type_raw();
        let data = ev.data();
        let log_pos = u64::from(h.log_pos());
        let start = log_pos.saturating_sub(u64::from(h.event_size()));
        if h.timestamp() != 0 {
            self.ts_sec = i64::from(h.timestamp());
        }
        if ty != code::HEARTBEAT && h.server_id() != 0 {
            self.event_server = u64::from(h.server_id());
        }
        let here = |m: String| decode_err(&self.file, start, m);
        match ty {
            code::ROTATE => {
                let (pos, name) = events::rotate(data, !self.seen_fde && self.server.checksum)
                    .map_err(|e| here(e.to_string()))?;
                tracing::debug!(file = %name, pos, "binlog rotate");
                self.file = name;
                self.next_pos = pos;
                return Ok(());
            }
            code::FORMAT_DESCRIPTION => self.seen_fde = true,
            code::HEARTBEAT => return Ok(()),
            code::MARIADB_GTID => {
                let g = events::mariadb_gtid(data).map_err(|e| here(e.to_string()))?;
                let server = h.server_id();
                self.begin(
                    start,
                    Some(format!("{}-{server}-{}", g.domain, g.seq)),
                    Some((g.domain, server, g.seq)),
                    g.standalone,
                );
            }
            code::MARIADB_GTID_LIST => {
                let list = events::mariadb_gtid_list(data).map_err(|e| here(e.to_string()))?;
                tracing::debug!(?list, "binlog GTID list");
            }
            code::MYSQL_GTID => {
                let gtid = events::mysql_gtid(data).map_err(|e| here(e.to_string()))?;
                self.pending_start = Some(start);
                self.begin(start, Some(gtid.text()), None, false);
                if let Some(t) = &mut self.txn {
                    t.mysql_gtid = Some(gtid);
                }
            }
            code::PREVIOUS_GTIDS if !self.server.mariadb => {
                // Every GTID before this file: a complete set from here on.
                match GtidSet::decode(data) {
                    Ok(set) if self.mysql_gtids.is_none() => {
                        tracing::info!(file = %self.file, gtids = %set, "GTID set known from the file's PREVIOUS_GTIDS event");
                        self.mysql_gtids = Some(set);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!(error = %e, "PREVIOUS_GTIDS event not used"),
                }
            }
            code::ANONYMOUS_GTID => self.pending_start = Some(start),
            code::QUERY => {
                let q = events::query(data).map_err(|e| here(e.to_string()))?;
                let sql = q.sql.trim();
                if sql.eq_ignore_ascii_case("BEGIN") {
                    if self.txn.is_none() {
                        let pos = self.pending_start.take().unwrap_or(start);
                        self.begin(pos, None, None, false);
                    }
                    if let Some(t) = &mut self.txn {
                        t.thread = Some(i64::from(q.thread_id));
                    }
                } else if sql.eq_ignore_ascii_case("COMMIT") {
                    self.commit(log_pos, out);
                    return Ok(());
                } else {
                    if let Some((db, table)) = events::truncate_target(sql, &q.db) {
                        self.truncate(&db, &table, start, i64::from(q.thread_id), out)
                            .await?;
                    }
                    if self.txn.as_ref().is_some_and(|t| t.standalone) {
                        self.commit(log_pos, out);
                        return Ok(());
                    }
                }
            }
            code::XID => {
                self.commit(log_pos, out);
                return Ok(());
            }
            code::TABLE_MAP => self.table_map(data, start).await?,
            code::PARTIAL_UPDATE_ROWS => {
                return Err(here(
                    "a PARTIAL_UPDATE_ROWS event: set binlog_row_value_options='' on the server"
                        .into(),
                ))
            }
            code::MARIADB_QUERY_COMPRESSED
            | code::MARIADB_ROWS_COMPRESSED_FIRST..=code::MARIADB_ROWS_COMPRESSED_LAST => {
                return Err(here("a compressed MariaDB event: the server wrote it with log_bin_compress=ON, which this connector cannot decode; set log_bin_compress=OFF and take a new snapshot (snapshot.mode=when_needed or reset the offsets)".into()));
            }
            code::MARIADB_START_ENCRYPTION => return Err(here(
                "an encrypted binlog (START_ENCRYPTION): the server must send the binlog decrypted"
                    .into(),
            )),
            t if rows_kind(t).is_some() => self.rows(data, t, start, out)?,
            _ => {}
        }
        if log_pos > 0 && self.txn.is_none() {
            self.next_pos = log_pos;
        }
        Ok(())
    }

    async fn table_map(&mut self, data: &[u8], start: u64) -> Result<()> {
        let tm =
            table_map::parse(data).map_err(|e| decode_err(&self.file, start, e.to_string()))?;
        if !self.cfg.filters.table(&tm.db, &tm.table) {
            self.tables.insert(tm.table_id, None);
            return Ok(());
        }
        let key = (tm.db.clone(), tm.table.clone());
        if let Some(m) = self.cache.get(&key) {
            if m.body == tm.body {
                self.tables.insert(tm.table_id, Some(m.clone()));
                return Ok(());
            }
        }
        if !tm.has_names {
            return Err(MySqlError::Setting(format!(
                "the TABLE_MAP event of {}.{} at {}:{start} has no column names: it was written while binlog_row_metadata was not FULL; set binlog_row_metadata=FULL and take a new snapshot (snapshot.mode=when_needed, or reset the offsets)",
                tm.db, tm.table, self.file
            )));
        }
        let json = if self.server.mariadb
            && tm
                .columns
                .iter()
                .any(|c| matches!(c.ty, table_map::ty::BLOB))
        {
            let (db, table) = (tm.db.clone(), tm.table.clone());
            crate::snapshot::meta::json_columns(self.meta().await?, &db, &table).await?
        } else {
            Vec::new()
        };
        let meta = tm.to_meta(&json);
        let schema =
            TableSchema::build(meta, &self.cfg, self.source.clone()).map_err(MySqlError::Config)?;
        tracing::info!(table = %schema.collection, table_id = tm.table_id, columns = tm.columns.len(), "new table version from the binlog");
        let mapped = Arc::new(Mapped {
            columns: tm.columns,
            body: tm.body,
            schema: Arc::new(schema),
        });
        self.cache.insert(key, mapped.clone());
        self.tables.insert(tm.table_id, Some(mapped));
        Ok(())
    }

    fn rows(&mut self, data: &[u8], ty: u8, start: u64, out: &mut Output) -> Result<()> {
        let file = self.file.clone();
        let mut ev = parse_rows(data, ty).map_err(|e| decode_err(&file, start, e))?;
        if self.txn.is_none() {
            let pos = self.pending_start.take().unwrap_or(start);
            self.begin(pos, None, None, false);
        }
        let index = self.txn.as_ref().map_or(0, |t| t.rows_events);
        let (skip_all, skip_rows) = match self.resume {
            Some((e, _)) if index < e => (true, 0),
            Some((e, r)) if index == e => (false, r),
            _ => (false, 0),
        };
        let mapped = self.tables.get(&ev.table_id).cloned().flatten();
        if let (false, Some(m)) = (skip_all, mapped) {
            let mut row = 0u64;
            while !ev.is_done() {
                let (before, after) = ev
                    .next_row(&m.columns)
                    .map_err(|e| decode_err(&file, start, e))?;
                row += 1;
                if row <= skip_rows {
                    continue;
                }
                self.emit_row(&m.schema, ev.kind, before, after, index, row, start, out)
                    .map_err(|e| decode_err(&file, start, e))?;
            }
        }
        if let Some(t) = &mut self.txn {
            t.rows_events += 1;
        }
        Ok(())
    }
}

fn tx_id(t: &Txn) -> String {
    t.gtid
        .clone()
        .unwrap_or_else(|| format!("{}:{}", t.file, t.pos))
}

/// The guided error for a position the server no longer has.
pub fn lost_position_message(
    cfg: &MySqlConfig,
    start: &Offset,
    server_said: &str,
    oldest: Option<&str>,
) -> String {
    let gtid = start
        .gtids
        .as_deref()
        .map(|g| format!(" (GTID state {g})"))
        .unwrap_or_default();
    let oldest = oldest.unwrap_or("<the oldest file in SHOW BINARY LOGS>");
    format!(
        "the binlog position {}:{}{gtid} stored in the connector's offsets is no longer on the server ({server_said}); the binlog was purged or the server was replaced. Two ways out: set snapshot.mode=when_needed and the connector takes a new snapshot and streams from there, or move the offset to a position the server still has with PATCH /connectors/<name>/offsets and the body {{\"offsets\":[{{\"partition\":{{\"server\":\"{}\"}},\"offset\":{{\"file\":\"{oldest}\",\"pos\":4}}}}]}} (changes between the two positions are lost)",
        start.file, start.pos, cfg.topic_prefix
    )
}

#[cfg(test)]
mod tests;
