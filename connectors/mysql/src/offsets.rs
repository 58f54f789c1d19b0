//! Source offsets, in Debezium's MySQL keys: `file`, `pos`, `gtids`, `event`, `row`,
//! `server_id`, `ts_sec`, plus `snapshot`, `snapshot_table`, `snapshot_last_key` and the
//! row counts `snapshot_rows_done` / `snapshot_table_rows_done` while a snapshot runs. The source partition is `{"server": <topic.prefix>}`.
//!
//! Why this is right: an offset names a point from which a restart reproduces exactly the
//! records after it. While streaming, `file` / `pos` is the start of the transaction the
//! record belongs to and `gtids` the GTID state *before* it (MariaDB: the last completed
//! GTID per domain), so a restart re-reads that transaction from its beginning; `event`
//! counts the rows events of it already fully emitted and `row` the rows emitted from the
//! next one, so those are skipped and nothing is emitted twice or lost. Between
//! transactions (heartbeats, transaction END) `event` and `row` are 0 and `pos` / `gtids`
//! point after the last commit. During a snapshot the position is the snapshot's
//! consistent point, and `snapshot_table` / `snapshot_last_key` record the last row
//! emitted, so a restart resumes that table after that key (and its progress counts
//! continue from the acknowledged rows, not from zero).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value as Json;
use sluice_core::record::OffsetMap;
use sluice_core::{CompactOffset, SourceOffset};

use crate::error::MySqlError;

/// Where a snapshot got to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SnapshotProgress {
    /// The table being read (`db.table`); tables sorted before it are done.
    pub table: Option<String>,
    /// Primary-key values of the last row emitted from `table`.
    pub last_key: Option<Vec<Json>>,
    /// Rows emitted by the snapshot so far, over all tables (this one included).
    pub rows_done: u64,
    /// Rows emitted from `table` so far.
    pub table_rows_done: u64,
}

/// A position in the binlog, plus snapshot progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Offset {
    pub file: String,
    pub pos: u64,
    /// MariaDB GTID state (`0-1-100,1-2-5`), when known.
    pub gtids: Option<String>,
    pub event: u64,
    pub row: u64,
    pub server_id: u64,
    pub ts_sec: i64,
    pub snapshot: Option<SnapshotProgress>,
}

/// A streaming record's offset in compact form: the transaction's file and GTID state are
/// shared by all its records, so one record's offset is one small allocation; the map
/// ([`stream_map`]) is built only for the offset that gets committed.
#[derive(Debug)]
pub struct StreamOffset {
    pub file: Arc<str>,
    pub pos: u64,
    pub gtids: Option<Arc<str>>,
    pub event: u64,
    pub row: u64,
    pub server_id: u64,
    pub ts_sec: i64,
}

impl StreamOffset {
    /// As a record's offset.
    pub fn into_source_offset(self) -> SourceOffset {
        SourceOffset::Compact(Arc::new(self))
    }
}

impl CompactOffset for StreamOffset {
    fn to_map(&self) -> OffsetMap {
        stream_map(
            &self.file,
            self.pos,
            self.gtids.as_deref(),
            self.event,
            self.row,
            self.server_id,
            self.ts_sec,
        )
    }
}

/// A snapshot record's offset in compact form: the consistent point and the table name
/// are shared by every row; the map ([`snapshot_map`]) is built only when committed.
#[derive(Debug)]
pub struct SnapshotOffset {
    pub base: Arc<Offset>,
    pub table: Arc<str>,
    pub last_key: Option<Vec<Json>>,
    pub rows_done: u64,
    pub table_rows_done: u64,
}

impl SnapshotOffset {
    /// As a record's offset.
    pub fn into_source_offset(self) -> SourceOffset {
        SourceOffset::Compact(Arc::new(self))
    }
}

impl CompactOffset for SnapshotOffset {
    fn to_map(&self) -> OffsetMap {
        snapshot_map(
            &self.base,
            Some(&self.table),
            self.last_key.clone(),
            self.rows_done,
            self.table_rows_done,
        )
    }
}

/// A streaming offset from borrowed parts: what [`Offset::to_map`] stores for an offset
/// without snapshot progress, built with one allocation per key and value and no rehash
/// (it is built for every record).
pub fn stream_map(
    file: &str,
    pos: u64,
    gtids: Option<&str>,
    event: u64,
    row: u64,
    server_id: u64,
    ts_sec: i64,
) -> OffsetMap {
    position_map(7, file, pos, gtids, event, row, server_id, ts_sec)
}

/// A snapshot record's offset: the consistent point `base` (without progress) plus the
/// progress after this row — what [`Offset::to_map`] stores, without cloning `base`.
pub fn snapshot_map(
    base: &Offset,
    table: Option<&str>,
    last_key: Option<Vec<Json>>,
    rows_done: u64,
    table_rows_done: u64,
) -> OffsetMap {
    let mut m = position_map(
        11,
        &base.file,
        base.pos,
        base.gtids.as_deref(),
        base.event,
        base.row,
        base.server_id,
        base.ts_sec,
    );
    m.insert("snapshot".into(), true.into());
    if let Some(t) = table {
        m.insert("snapshot_table".into(), t.into());
    }
    if let Some(k) = last_key {
        m.insert("snapshot_last_key".into(), Json::Array(k));
    }
    m.insert("snapshot_rows_done".into(), rows_done.into());
    m.insert("snapshot_table_rows_done".into(), table_rows_done.into());
    m
}

#[allow(clippy::too_many_arguments)]
fn position_map(
    capacity: usize,
    file: &str,
    pos: u64,
    gtids: Option<&str>,
    event: u64,
    row: u64,
    server_id: u64,
    ts_sec: i64,
) -> OffsetMap {
    let mut m = OffsetMap::with_capacity(capacity);
    m.insert("file".into(), file.into());
    m.insert("pos".into(), pos.into());
    if let Some(g) = gtids {
        m.insert("gtids".into(), g.into());
    }
    if event > 0 {
        m.insert("event".into(), event.into());
    }
    if row > 0 {
        m.insert("row".into(), row.into());
    }
    m.insert("server_id".into(), server_id.into());
    m.insert("ts_sec".into(), ts_sec.into());
    m
}

impl Offset {
    /// The offset as stored.
    pub fn to_map(&self) -> OffsetMap {
        match &self.snapshot {
            None => stream_map(
                &self.file,
                self.pos,
                self.gtids.as_deref(),
                self.event,
                self.row,
                self.server_id,
                self.ts_sec,
            ),
            Some(s) => snapshot_map(
                self,
                s.table.as_deref(),
                s.last_key.clone(),
                s.rows_done,
                s.table_rows_done,
            ),
        }
    }

    /// Reads a stored offset (ours or Debezium's).
    pub fn from_map(m: &OffsetMap) -> Result<Offset, MySqlError> {
        let bad = |reason: &str| MySqlError::BadOffset {
            offset: Json::Object(m.clone()).to_string(),
            reason: reason.to_owned(),
        };
        let num = |k: &str| -> Result<u64, MySqlError> {
            match m.get(k) {
                None | Some(Json::Null) => Ok(0),
                Some(v) => v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .ok_or_else(|| bad(&format!("\"{k}\" is not a number"))),
            }
        };
        let file = m
            .get("file")
            .and_then(Json::as_str)
            .ok_or_else(|| bad("it has no \"file\""))?
            .to_owned();
        let snapshot_flag = match m.get("snapshot") {
            Some(Json::Bool(b)) => *b,
            Some(Json::String(s)) => s == "true",
            _ => false,
        };
        let snapshot = if snapshot_flag {
            Some(SnapshotProgress {
                table: m
                    .get("snapshot_table")
                    .and_then(Json::as_str)
                    .map(str::to_owned),
                last_key: m.get("snapshot_last_key").and_then(Json::as_array).cloned(),
                rows_done: num("snapshot_rows_done")?,
                table_rows_done: num("snapshot_table_rows_done")?,
            })
        } else {
            None
        };
        Ok(Offset {
            file,
            pos: num("pos")?,
            gtids: m
                .get("gtids")
                .and_then(Json::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            event: num("event")?,
            row: num("row")?,
            server_id: num("server_id")?,
            ts_sec: num("ts_sec")? as i64,
            snapshot,
        })
    }
}

/// MariaDB's GTID state: the last GTID per replication domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidState(BTreeMap<u32, (u32, u64)>);

impl GtidState {
    /// Parses `domain-server-seq[,...]`.
    pub fn parse(text: &str) -> Option<GtidState> {
        let mut m = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let mut it = part.split('-');
            let d = it.next()?.parse().ok()?;
            let s = it.next()?.parse().ok()?;
            let q = it.next()?.parse().ok()?;
            if it.next().is_some() {
                return None;
            }
            m.insert(d, (s, q));
        }
        Some(GtidState(m))
    }

    /// Records a completed transaction.
    pub fn update(&mut self, domain: u32, server: u32, seq: u64) {
        self.0.insert(domain, (server, seq));
    }

    /// True when nothing is known.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for GtidState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (d, (s, q)) in &self.0 {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{d}-{s}-{q}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip() {
        let o = Offset {
            file: "mysql-bin.000003".into(),
            pos: 154,
            gtids: Some("0-1-7".into()),
            event: 2,
            row: 1,
            server_id: 1,
            ts_sec: 1_700_000_000,
            snapshot: Some(SnapshotProgress {
                table: Some("inv.customers".into()),
                last_key: Some(vec![Json::from(1004)]),
                rows_done: 12,
                table_rows_done: 4,
            }),
        };
        assert_eq!(Offset::from_map(&o.to_map()).expect("valid"), o);
        let debezium: OffsetMap =
            serde_json::from_str(r#"{"file":"mysql-bin.000003","pos":"4","ts_sec":1,"server_id":223344,"row":"1","event":2}"#)
                .expect("json");
        let d = Offset::from_map(&debezium).expect("Debezium's offsets read");
        assert_eq!((d.pos, d.row, d.event, d.snapshot), (4, 1, 2, None));
        assert!(Offset::from_map(&OffsetMap::new()).is_err());
    }

    #[test]
    fn gtid_state() {
        let mut s = GtidState::parse("1-2-5,0-1-100").expect("valid");
        s.update(0, 1, 101);
        s.update(3, 1, 1);
        assert_eq!(s.to_string(), "0-1-101,1-2-5,3-1-1");
        assert!(GtidState::parse("0-1").is_none());
        assert!(GtidState::parse("").expect("empty").is_empty());
    }
}
