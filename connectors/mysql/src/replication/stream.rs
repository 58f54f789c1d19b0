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
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn};
use sluice_core::record::OffsetMap;

mod emit;

use super::events::{self, code};
use super::table_map::{self, BinlogColumn};
use crate::checks::{self, ServerInfo};
use crate::config::MySqlConfig;
use crate::decode::{parse_rows, rows_kind};
use crate::envelope::{self, SourceSchemas};
use crate::error::{MySqlError, Result, SqlContext};
use crate::offsets::{GtidState, Offset};
use crate::output::Output;
use crate::schema::TableSchema;

/// A captured table version: how to decode its rows and the schemas of its records.
#[derive(Debug)]
struct Mapped {
    columns: Vec<BinlogColumn>,
    body: Vec<u8>,
    schema: Arc<TableSchema>,
}

#[derive(Debug)]
struct Txn {
    file: String,
    pos: u64,
    gtid: Option<String>,
    gtid_parts: Option<(u32, u32, u64)>,
    gtids_before: Option<String>,
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
    meta: Conn,
    tables: HashMap<u64, Option<Arc<Mapped>>>,
    cache: HashMap<(String, String), Arc<Mapped>>,
    file: String,
    next_pos: u64,
    ts_sec: i64,
    event_server: u64,
    seen_fde: bool,
    txn: Option<Txn>,
    gtids: GtidState,
    resume: Option<(u64, u64)>,
    pending_start: Option<u64>,
    last_heartbeat: Instant,
    start: Offset,
}

fn decode_err(file: &str, pos: u64, message: impl Into<String>) -> MySqlError {
    MySqlError::Decode {
        file: file.to_owned(),
        pos,
        message: message.into(),
    }
}

impl Streamer {
    /// A reader that will start at `start`; `meta` is a separate connection for metadata.
    pub fn new(
        cfg: Arc<MySqlConfig>,
        source: Arc<SourceSchemas>,
        server: ServerInfo,
        meta: Conn,
        start: Offset,
    ) -> Self {
        let resume = (start.event > 0 || start.row > 0).then_some((start.event, start.row));
        Streamer {
            gtids: start
                .gtids
                .as_deref()
                .and_then(GtidState::parse)
                .unwrap_or_default(),
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
        }
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
        let (file, pos) = if use_gtid {
            (String::new(), 4)
        } else {
            (self.start.file.clone(), self.start.pos.max(4))
        };
        tracing::info!(
            file = %self.start.file, pos = self.start.pos, gtids = %self.gtids, by_gtid = use_gtid,
            skip_events = self.start.event, skip_rows = self.start.row,
            server_id = self.cfg.server_id, "streaming from the binlog"
        );
        let req = BinlogStreamRequest::new(self.cfg.server_id)
            .with_filename(file.as_bytes())
            .with_pos(pos);
        conn.get_binlog_stream(req)
            .await
            .map_err(|e| self.stream_error(e))
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
            self.between_offset(),
        ));
    }

    fn gtid_text(&self) -> Option<String> {
        (!self.gtids.is_empty()).then(|| self.gtids.to_string())
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
            file: self.file.clone(),
            pos,
            gtid,
            gtid_parts: parts,
            gtids_before: self.gtid_text(),
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
                self.between_offset(),
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
                self.begin(start, Some(gtid), None, false);
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
            crate::snapshot::meta::json_columns(&mut self.meta, &tm.db, &tm.table).await?
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
