//! The snapshot: every captured table's rows as `op=r` events, from one consistent point,
//! chunked by primary key and resumable.
//!
//! Why this is right:
//! - Consistent point. On MariaDB, `START TRANSACTION WITH CONSISTENT SNAPSHOT` also fixes
//!   `binlog_snapshot_file` / `binlog_snapshot_position` to the binlog position of that
//!   very snapshot (MariaDB's group-commit guarantees this), so no lock is taken at all;
//!   the GTID state of that position comes from `BINLOG_GTID_POS`. On MySQL the position is
//!   read under `FLUSH TABLES WITH READ LOCK`, held only while the transaction starts and
//!   the position is read. Streaming then starts at that point: changes before it are in
//!   the snapshot, changes after it come from the binlog.
//! - Chunks. Rows are read with keyset pagination (`WHERE (pk) > (last) ORDER BY pk LIMIT
//!   n`) inside the one transaction, so memory holds one chunk and every row is read once.
//! - Resume. Each record's offset carries the snapshot point, the table and the key of the
//!   row, so after a crash the snapshot continues after the last acknowledged row. The
//!   remaining chunks are then read at a later point in time than the first ones; streaming
//!   still starts at the original point, so every change in between is replayed from the
//!   binlog on top and each row converges to its latest state (at-least-once).
//! - Markers. `source.snapshot` is `first` for the first record, `first_in_data_collection`
//!   / `last_in_data_collection` at table boundaries, `last` for the final record and
//!   `true` otherwise; one record is held back to know which. The final record's offset
//!   carries no snapshot progress: once it is committed, a restart streams.

pub mod keys;
pub mod meta;

use std::sync::Arc;
use std::time::Instant;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value as My};
use sluice_core::plugin::Progress;
use sluice_core::record::OffsetMap;
use sluice_core::{SourceRecord, Value};

use crate::checks::ServerInfo;
use crate::config::MySqlConfig;
use crate::convert::{key_struct, row_struct, Raw};
use crate::envelope::{self, Op, SourceInfo, SourceSchemas};
use crate::error::{MySqlError, Result, SqlContext};
use crate::offsets::{Offset, SnapshotOffset};
use crate::schema::{ColumnType, TableMeta, TableSchema};
use sluice_core::output::Output;

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Establishes the consistent point on `conn` (left inside the snapshot transaction).
pub async fn begin(conn: &mut Conn, server: &ServerInfo) -> Result<Offset> {
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await
        .ctx(|| "setting REPEATABLE READ for the snapshot".into())?;
    let (file, pos, gtids) = if server.mariadb {
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .await
            .ctx(|| "starting the snapshot transaction".into())?;
        let status: Vec<(String, String)> = conn
            .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
            .await
            .ctx(|| "reading the snapshot's binlog position (binlog_snapshot_file)".into())?;
        let get = |k: &str| {
            status
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        let file = get("binlog_snapshot_file").unwrap_or_default();
        let pos: u64 = get("binlog_snapshot_position")
            .and_then(|p| p.parse().ok())
            .unwrap_or(4);
        let gtids: Option<Option<String>> = conn
            .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (&file, pos))
            .await
            .ctx(|| "reading the snapshot's GTID position".into())?;
        (file, pos, gtids.flatten().filter(|g| !g.is_empty()))
    } else {
        conn.query_drop("FLUSH TABLES WITH READ LOCK")
            .await
            .ctx(|| "FLUSH TABLES WITH READ LOCK (needs the RELOAD privilege)".into())?;
        let started = conn
            .query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .await
            .ctx(|| "starting the snapshot transaction".into());
        let position = match started {
            Ok(()) => crate::checks::current_position(conn, false).await,
            Err(e) => Err(e),
        };
        conn.query_drop("UNLOCK TABLES")
            .await
            .ctx(|| "UNLOCK TABLES".into())?;
        position?
    };
    if file.is_empty() {
        return Err(MySqlError::Setting(
            "the server reported no binlog position for the snapshot: is log_bin on?".into(),
        ));
    }
    tracing::info!(file = %file, pos, gtids = gtids.as_deref().unwrap_or(""), "snapshot consistent point");
    Ok(Offset {
        file,
        pos,
        gtids,
        server_id: server.server_id,
        ..Offset::default()
    })
}

/// Starts a snapshot transaction for a resumed snapshot (the point is already known).
pub async fn resume(conn: &mut Conn) -> Result<()> {
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await
        .ctx(|| "setting REPEATABLE READ for the snapshot".into())?;
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .await
        .ctx(|| "starting the snapshot transaction".into())
}

/// Captured tables with their estimated row counts, sorted by name.
pub async fn tables(conn: &mut Conn, cfg: &MySqlConfig) -> Result<Vec<(String, String, u64)>> {
    let rows: Vec<(String, String, Option<u64>)> = conn
        .query("SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE'")
        .await
        .ctx(|| "listing tables".into())?;
    let mut out: Vec<(String, String, u64)> = rows
        .into_iter()
        .filter(|(d, t, _)| cfg.filters.table(d, t))
        .map(|(d, t, n)| (d, t, n.unwrap_or(0)))
        .collect();
    out.sort();
    Ok(out)
}

/// Converts a binary-protocol value of column type `ty`.
fn raw<'a>(v: &'a My, ty: &ColumnType) -> Raw<'a> {
    match v {
        My::NULL => Raw::Null,
        My::Bytes(b) => Raw::Bytes(b),
        My::Int(i) => Raw::Int(*i),
        My::UInt(u) => Raw::UInt(*u),
        My::Float(f) => Raw::F32(*f),
        My::Double(f) => Raw::F64(*f),
        My::Date(y, m, d, h, mi, s, us) => match ty {
            ColumnType::Date => Raw::Date {
                y: *y,
                m: *m,
                d: *d,
            },
            _ => Raw::DateTime {
                y: *y,
                m: *m,
                d: *d,
                h: *h,
                mi: *mi,
                s: *s,
                us: *us,
            },
        },
        My::Time(neg, days, h, mi, s, us) => {
            let secs = ((i64::from(*days) * 24 + i64::from(*h)) * 60 + i64::from(*mi)) * 60
                + i64::from(*s);
            let total = secs * 1_000_000 + i64::from(*us);
            Raw::Time(if *neg { -total } else { total })
        }
    }
}

/// One record held back until the next one shows whether it ends a table or the snapshot.
struct Held {
    record: SourceRecord,
    first: bool,
    first_in_table: bool,
    last_in_table: bool,
}

fn set_marker(r: &mut SourceRecord, marker: &'static str) {
    if let Value::Struct(env) = &mut r.record.value.value {
        if let Some(Value::Struct(src)) = env.values_mut().get_mut(2) {
            if let Some(slot) = src.values_mut().get_mut(4) {
                *slot = Value::String(marker.into());
            }
        }
    }
}

/// Where the snapshot is: published to the log every 5 s and to the task's status
/// (`progress` in `/connectors/<name>/status`) after every chunk.
struct Meter<'a> {
    progress: &'a Progress,
    started: Instant,
    last_log: Instant,
    /// Rows acknowledged before this run (a resumed snapshot).
    base: u64,
    done: u64,
    estimate: u64,
    tables_total: usize,
    tables_done: usize,
    table: String,
    table_done: u64,
    table_estimate: u64,
    table_started: Instant,
}

impl Meter<'_> {
    fn rate(&self) -> u64 {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        ((self.done - self.base) as f64 / secs) as u64
    }

    /// The status document: `phase`, `table`, `rows_done` / `rows_estimated` (all tables),
    /// the same for the current table, `rows_per_sec` (this run), `tables_done` / `tables_total`.
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "phase": "snapshot",
            "table": self.table,
            "rows_done": self.done,
            "rows_estimated": self.estimate.max(self.done),
            "table_rows_done": self.table_done,
            "table_rows_estimated": self.table_estimate.max(self.table_done),
            "rows_per_sec": self.rate(),
            "tables_done": self.tables_done,
            "tables_total": self.tables_total,
        })
    }

    fn publish(&mut self, force_log: bool) {
        self.progress.set(Some(self.json()));
        if force_log || self.last_log.elapsed().as_secs() >= 5 {
            self.last_log = Instant::now();
            let rate = self.rate();
            let eta = if rate > 0 && self.estimate > self.done {
                (self.estimate - self.done) / rate
            } else {
                0
            };
            tracing::info!(
                table = %self.table,
                rows_done = self.table_done,
                rows_estimated = self.table_estimate.max(self.table_done),
                table_seconds = self.table_started.elapsed().as_secs(),
                total_rows_done = self.done,
                total_rows_estimated = self.estimate.max(self.done),
                rows_per_second = rate,
                eta_seconds = eta,
                "snapshot progress"
            );
        }
    }
}

/// Reads the snapshot; `point` is the consistent point (with progress when resuming).
/// Returns the offset streaming starts from. Progress goes to `progress` (the task status).
pub async fn run(
    conn: &mut Conn,
    cfg: &Arc<MySqlConfig>,
    source: &Arc<SourceSchemas>,
    point: Offset,
    out: &mut Output,
    progress: &Progress,
) -> Result<Offset> {
    let resumed = point.snapshot.clone().unwrap_or_default();
    let stream_from = Offset {
        snapshot: None,
        event: 0,
        row: 0,
        ..point.clone()
    };
    let base = Arc::new(stream_from.clone());
    let all = tables(conn, cfg).await?;
    let total_estimate: u64 = all.iter().map(|t| t.2).sum();
    tracing::info!(
        tables = all.len(),
        rows_estimated = total_estimate,
        "snapshot starting"
    );
    let mut meter = Meter {
        progress,
        started: Instant::now(),
        last_log: Instant::now(),
        base: resumed.rows_done,
        done: resumed.rows_done,
        estimate: total_estimate,
        tables_total: all.len(),
        tables_done: 0,
        table: String::new(),
        table_done: 0,
        table_estimate: 0,
        table_started: Instant::now(),
    };
    let mut held: Option<Held> = None;
    let mut first = resumed.table.is_none();
    for (db, table, estimate) in all {
        let name = format!("{db}.{table}");
        let shared_name: Arc<str> = Arc::from(name.as_str());
        let mut last_key: Option<Vec<serde_json::Value>> = None;
        let mut table_rows = 0u64;
        if let Some(current) = &resumed.table {
            if name < *current {
                meter.tables_done += 1;
                continue;
            }
            if name == *current {
                last_key = resumed.last_key.clone();
                table_rows = resumed.table_rows_done;
                if let Some(k) = &last_key {
                    let k = serde_json::Value::Array(k.clone());
                    tracing::info!(
                        table = %name,
                        key = %k,
                        rows_done = resumed.rows_done,
                        "resuming the snapshot from the last chunk: {name} after key {k} ({} rows of it and {} in all already emitted)",
                        table_rows,
                        resumed.rows_done
                    );
                }
            }
        }
        let Some(meta) = meta::load(conn, &db, &table).await? else {
            meter.tables_done += 1;
            continue;
        };
        let schema =
            Arc::new(TableSchema::build(meta, cfg, source.clone()).map_err(MySqlError::Config)?);
        meter.table.clone_from(&name);
        meter.table_done = table_rows;
        meter.table_estimate = estimate;
        meter.table_started = Instant::now();
        meter.publish(false);
        loop {
            let rows = chunk(
                conn,
                &schema.meta,
                cfg.snapshot_fetch_size,
                last_key.as_deref(),
            )
            .await?;
            let n = rows.len();
            for row in rows {
                let values = row.unwrap();
                let raws: Vec<Raw<'_>> = values
                    .iter()
                    .zip(&schema.meta.columns)
                    .map(|(v, c)| raw(v, &c.ty))
                    .collect();
                let bad = |e: String| MySqlError::Decode {
                    file: "snapshot".into(),
                    pos: 0,
                    message: format!("{name}: {e}"),
                };
                let key = key_struct(&schema, &raws, cfg).map_err(bad)?;
                let after = row_struct(&schema, &raws, cfg).map_err(bad)?;
                let row_key = (!schema.meta.primary_key.is_empty()).then(|| {
                    schema
                        .meta
                        .primary_key
                        .iter()
                        .map(|&i| keys::encode(&values[i]))
                        .collect()
                });
                table_rows += 1;
                meter.done += 1;
                let offset = SnapshotOffset {
                    base: base.clone(),
                    table: shared_name.clone(),
                    last_key: row_key,
                    rows_done: meter.done,
                    table_rows_done: table_rows,
                }
                .into_source_offset();
                let info = SourceInfo {
                    ts_ms: envelope::now_us() / 1000,
                    snapshot: "true",
                    server_id: point.server_id as i64,
                    gtid: None,
                    file: &point.file,
                    pos: point.pos as i64,
                    row: 0,
                    thread: None,
                };
                let record = envelope::change_record(
                    &schema,
                    Op::Read,
                    key,
                    None,
                    Some(after),
                    &info,
                    None,
                    offset,
                );
                if let Some(h) = held.take() {
                    push_held(h, false, out);
                }
                held = Some(Held {
                    record,
                    first,
                    first_in_table: table_rows == 1,
                    last_in_table: false,
                });
                first = false;
                if out.full() && !out.flush().await {
                    return Ok(stream_from);
                }
            }
            // The next chunk starts after the last row's key (kept in its offset).
            if n > 0 {
                if let Some(h) = &held {
                    last_key = h
                        .record
                        .source_offset
                        .to_map()
                        .get("snapshot_last_key")
                        .and_then(serde_json::Value::as_array)
                        .cloned();
                }
            }
            meter.table_done = table_rows;
            meter.publish(false);
            if n < cfg.snapshot_fetch_size || schema.meta.primary_key.is_empty() {
                break;
            }
        }
        if let Some(h) = &mut held {
            h.last_in_table = true;
        }
        meter.tables_done += 1;
        meter.publish(true);
    }
    if let Some(mut h) = held.take() {
        h.record.source_offset = stream_from.to_map().into();
        push_held(h, true, out);
    }
    if !out.flush().await {
        return Ok(stream_from);
    }
    let secs = meter.started.elapsed().as_secs_f64().max(0.001);
    let emitted = meter.done - meter.base;
    tracing::info!(
        rows = emitted,
        rows_in_all = meter.done,
        seconds = secs,
        rows_per_second = (emitted as f64 / secs) as u64,
        "snapshot completed"
    );
    Ok(stream_from)
}

fn push_held(mut h: Held, last: bool, out: &mut Output) {
    let marker = if last {
        "last"
    } else if h.first {
        "first"
    } else if h.first_in_table {
        "first_in_data_collection"
    } else if h.last_in_table {
        "last_in_data_collection"
    } else {
        "true"
    };
    set_marker(&mut h.record, marker);
    out.push(h.record);
}

async fn chunk(
    conn: &mut Conn,
    meta: &TableMeta,
    size: usize,
    after: Option<&[serde_json::Value]>,
) -> Result<Vec<Row>> {
    let cols: Vec<String> = meta.columns.iter().map(|c| quote(&c.name)).collect();
    let from = format!("{}.{}", quote(&meta.db), quote(&meta.table));
    if meta.primary_key.is_empty() {
        return conn
            .exec(format!("SELECT {} FROM {from}", cols.join(", ")), ())
            .await
            .ctx(|| format!("reading {}.{}", meta.db, meta.table));
    }
    let pk: Vec<String> = meta
        .primary_key
        .iter()
        .map(|&i| quote(&meta.columns[i].name))
        .collect();
    let order = pk.join(", ");
    match after {
        None => conn
            .exec(
                format!(
                    "SELECT {} FROM {from} ORDER BY {order} LIMIT {size}",
                    cols.join(", ")
                ),
                (),
            )
            .await
            .ctx(|| format!("reading {}.{}", meta.db, meta.table)),
        Some(key) => {
            let params: Vec<My> = key.iter().filter_map(keys::decode).collect();
            if params.len() != pk.len() {
                return Err(MySqlError::BadOffset {
                    offset: serde_json::Value::Array(key.to_vec()).to_string(),
                    reason: format!(
                        "the snapshot key does not match the primary key of {}.{}",
                        meta.db, meta.table
                    ),
                });
            }
            let marks = vec!["?"; pk.len()].join(", ");
            let sql = if pk.len() == 1 {
                format!(
                    "SELECT {} FROM {from} WHERE {order} > ? ORDER BY {order} LIMIT {size}",
                    cols.join(", ")
                )
            } else {
                format!("SELECT {} FROM {from} WHERE ({order}) > ({marks}) ORDER BY {order} LIMIT {size}", cols.join(", "))
            };
            conn.exec(sql, params)
                .await
                .ctx(|| format!("reading {}.{}", meta.db, meta.table))
        }
    }
}

/// Drops the snapshot connection's transaction.
pub async fn end(conn: &mut Conn) {
    if let Err(e) = conn.query_drop("COMMIT").await {
        tracing::debug!(error = %e, "ending the snapshot transaction");
    }
}

/// The offset a finished snapshot leaves (no progress).
pub fn finished(o: &Offset) -> OffsetMap {
    Offset {
        snapshot: None,
        ..o.clone()
    }
    .to_map()
}
