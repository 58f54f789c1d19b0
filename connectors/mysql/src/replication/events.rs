//! The non-row events the reader needs, parsed by hand from their documented layouts:
//! ROTATE, QUERY, MySQL's GTID and MariaDB's GTID (0xa2) and GTID_LIST (0xa3).
//!
//! Why this is right: MariaDB's GTID events are not understood by general-purpose binlog
//! libraries, and the first (fake) ROTATE of a dump arrives before the FORMAT_DESCRIPTION
//! that announces checksums, so a parser that trusts the description would read the 4-byte
//! CRC as part of the file name. Each parser here follows the server's writer
//! (`Gtid_log_event::write`, `Gtid_list_log_event::to_packet`, `Query_log_event::write`,
//! `Rotate_log_event::write`) and checks every length.

use super::bytes::{Reader, Short};

/// Event type codes used by the reader.
pub mod code {
    pub const QUERY: u8 = 0x02;
    pub const STOP: u8 = 0x03;
    pub const ROTATE: u8 = 0x04;
    pub const FORMAT_DESCRIPTION: u8 = 0x0f;
    pub const XID: u8 = 0x10;
    pub const TABLE_MAP: u8 = 0x13;
    pub const HEARTBEAT: u8 = 0x1b;
    pub const MYSQL_GTID: u8 = 0x21;
    pub const ANONYMOUS_GTID: u8 = 0x22;
    pub const PREVIOUS_GTIDS: u8 = 0x23;
    pub const PARTIAL_UPDATE_ROWS: u8 = 0x27;
    pub const MARIADB_ANNOTATE_ROWS: u8 = 0xa0;
    pub const MARIADB_GTID: u8 = 0xa2;
    pub const MARIADB_GTID_LIST: u8 = 0xa3;
    pub const MARIADB_START_ENCRYPTION: u8 = 0xa4;
    pub const MARIADB_QUERY_COMPRESSED: u8 = 0xa5;
    pub const MARIADB_ROWS_COMPRESSED_FIRST: u8 = 0xa6;
    pub const MARIADB_ROWS_COMPRESSED_LAST: u8 = 0xab;
}

/// ROTATE: the next file and position. `has_checksum` strips the CRC32 a fake ROTATE
/// carries when it precedes the first FORMAT_DESCRIPTION.
pub fn rotate(data: &[u8], has_checksum: bool) -> Result<(u64, String), Short> {
    let data = if has_checksum {
        data.get(..data.len().saturating_sub(4)).unwrap_or_default()
    } else {
        data
    };
    let mut r = Reader::new(data);
    let pos = r.uint_le(8, "rotate position")?;
    let name = String::from_utf8_lossy(r.rest()).into_owned();
    Ok((pos, name))
}

/// MariaDB's GTID event: the start of an event group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MariaGtid {
    pub seq: u64,
    pub domain: u32,
    /// FL_STANDALONE: the group is one statement without BEGIN / COMMIT (DDL).
    pub standalone: bool,
}

/// Parses MariaDB's GTID event (0xa2): seq_no (8), domain_id (4), flags (1), ...
pub fn mariadb_gtid(data: &[u8]) -> Result<MariaGtid, Short> {
    let mut r = Reader::new(data);
    let seq = r.uint_le(8, "GTID sequence number")?;
    let domain = r.uint_le(4, "GTID domain id")? as u32;
    let flags = r.u8("GTID flags")?;
    Ok(MariaGtid {
        seq,
        domain,
        standalone: flags & 1 != 0,
    })
}

/// Parses MariaDB's GTID_LIST event (0xa3): count (4, low 28 bits), then
/// (domain 4, server 4, seq 8) per entry.
pub fn mariadb_gtid_list(data: &[u8]) -> Result<Vec<(u32, u32, u64)>, Short> {
    let mut r = Reader::new(data);
    let count = r.uint_le(4, "GTID list count")? & 0x0fff_ffff;
    let mut out = Vec::new();
    for _ in 0..count {
        let d = r.uint_le(4, "GTID list domain")? as u32;
        let s = r.uint_le(4, "GTID list server")? as u32;
        let q = r.uint_le(8, "GTID list sequence")?;
        out.push((d, s, q));
    }
    Ok(out)
}

/// MySQL's GTID event: the transaction about to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MySqlGtid {
    pub uuid: crate::gtid::Uuid,
    pub gno: u64,
}

impl MySqlGtid {
    /// `uuid:gno`, as `source.gtid` shows it.
    pub fn text(&self) -> String {
        format!("{}:{}", crate::gtid::uuid_text(&self.uuid), self.gno)
    }
}

/// Parses MySQL's GTID event (0x21): flags (1), source UUID (16), transaction number (8),
/// then logical-clock and commit-time fields this reader does not need.
pub fn mysql_gtid(data: &[u8]) -> Result<MySqlGtid, Short> {
    let mut r = Reader::new(data);
    r.u8("GTID flags")?;
    let mut uuid = [0u8; 16];
    uuid.copy_from_slice(r.take(16, "GTID source id")?);
    let gno = r.uint_le(8, "GTID number")?;
    Ok(MySqlGtid { uuid, gno })
}

/// A QUERY event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub thread_id: u32,
    pub db: String,
    pub sql: String,
}

/// Parses a QUERY event: thread id (4), exec time (4), db length (1), error code (2),
/// status-variables length (2), status variables, db, NUL, statement.
pub fn query(data: &[u8]) -> Result<Query, Short> {
    let mut r = Reader::new(data);
    let thread_id = r.uint_le(4, "query thread id")? as u32;
    r.take(4, "query execution time")?;
    let db_len = usize::from(r.u8("query database length")?);
    r.take(2, "query error code")?;
    let status_len = r.uint_le(2, "query status length")? as usize;
    r.take(status_len, "query status variables")?;
    let db = String::from_utf8_lossy(r.take(db_len, "query database")?).into_owned();
    r.take(1, "query database terminator")?;
    let sql = String::from_utf8_lossy(r.rest()).into_owned();
    Ok(Query { thread_id, db, sql })
}

fn unquote(name: &str) -> String {
    let n = name.trim();
    n.strip_prefix('`')
        .and_then(|s| s.strip_suffix('`'))
        .map_or_else(|| n.to_owned(), |s| s.replace("``", "`"))
}

/// The table a `TRUNCATE [TABLE] [db.]table` statement empties, if it is one.
pub fn truncate_target(sql: &str, default_db: &str) -> Option<(String, String)> {
    let s = sql.trim_start();
    // Skip leading comments MariaDB and tools add (`/* ... */`).
    let s = match s.strip_prefix("/*") {
        Some(rest) => rest.split_once("*/")?.1.trim_start(),
        None => s,
    };
    let mut rest = strip_keyword(s, "truncate")?.trim_start();
    if let Some(after) = strip_keyword(rest, "table") {
        if after.starts_with(|c: char| c.is_whitespace() || c == '`') {
            rest = after.trim_start();
        }
    }
    let name = rest.trim_end().trim_end_matches(';').trim_end();
    let (db, table) = match split_qualified(name) {
        (Some(db), t) => (db, t),
        (None, t) => (default_db.to_owned(), t),
    };
    (!table.is_empty() && !db.is_empty()).then_some((db, table))
}

/// `s` after its first `keyword.len()` bytes when they are `keyword` in any case. Never
/// slices inside a character: statements name tables in any script.
fn strip_keyword<'a>(s: &'a str, keyword: &str) -> Option<&'a str> {
    let head = s.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| s.get(keyword.len()..))
        .flatten()
}

fn split_qualified(name: &str) -> (Option<String>, String) {
    // Find a '.' outside backquotes.
    let mut quoted = false;
    for (i, c) in name.char_indices() {
        match c {
            '`' => quoted = !quoted,
            '.' if !quoted => return (Some(unquote(&name[..i])), unquote(&name[i + 1..])),
            _ => {}
        }
    }
    (None, unquote(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_rotate_checksum_is_stripped() {
        let mut data = 4u64.to_le_bytes().to_vec();
        data.extend(b"mysql-bin.000001");
        data.extend([0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(rotate(&data, true), Ok((4, "mysql-bin.000001".into())));
        assert_eq!(
            rotate(&data[..data.len() - 4], false),
            Ok((4, "mysql-bin.000001".into()))
        );
    }

    #[test]
    fn mariadb_gtid_events() {
        let mut g = 7u64.to_le_bytes().to_vec();
        g.extend(2u32.to_le_bytes());
        g.push(1);
        g.extend([0; 6]);
        assert_eq!(
            mariadb_gtid(&g),
            Ok(MariaGtid {
                seq: 7,
                domain: 2,
                standalone: true
            })
        );
        let mut l = 2u32.to_le_bytes().to_vec();
        for (d, s, q) in [(0u32, 1u32, 100u64), (1, 2, 5)] {
            l.extend(d.to_le_bytes());
            l.extend(s.to_le_bytes());
            l.extend(q.to_le_bytes());
        }
        assert_eq!(mariadb_gtid_list(&l), Ok(vec![(0, 1, 100), (1, 2, 5)]));
        assert!(mariadb_gtid_list(&l[..20]).is_err());
    }

    #[test]
    fn mysql_gtid_text() {
        let mut g = vec![1];
        g.extend(0x3E11FA47_71CA_11E1_9E33_C80AA9429562_u128.to_be_bytes());
        g.extend(23u64.to_le_bytes());
        // MySQL 8.0 writes more after the number: lt_type, last_committed, sequence_number,
        // commit timestamps, transaction length, server versions.
        g.push(2);
        g.extend(7u64.to_le_bytes());
        g.extend(8u64.to_le_bytes());
        g.extend([0x11; 14]);
        let parsed = mysql_gtid(&g).expect("valid");
        assert_eq!(parsed.gno, 23);
        assert_eq!(parsed.text(), "3e11fa47-71ca-11e1-9e33-c80aa9429562:23");
        assert!(mysql_gtid(&g[..24]).is_err());
    }

    #[test]
    fn queries_and_truncates() {
        let mut q = 9u32.to_le_bytes().to_vec();
        q.extend([0, 0, 0, 0, 3, 0, 0, 2, 0, 0xaa, 0xbb]);
        q.extend(b"inv\0BEGIN");
        let p = query(&q).expect("valid");
        assert_eq!(
            (p.thread_id, p.db.as_str(), p.sql.as_str()),
            (9, "inv", "BEGIN")
        );
        assert_eq!(
            truncate_target("TRUNCATE TABLE `inv`.`t`", "x"),
            Some(("inv".into(), "t".into()))
        );
        assert_eq!(
            truncate_target("truncate t1", "inv"),
            Some(("inv".into(), "t1".into()))
        );
        assert_eq!(
            truncate_target("TRUNCATE tablex", "inv"),
            Some(("inv".into(), "tablex".into()))
        );
        assert_eq!(truncate_target("DROP TABLE t", "inv"), None);
    }

    #[test]
    fn truncates_of_tables_named_in_any_script() {
        // Found by the binlog_event fuzz target: "table" was compared by slicing five
        // bytes, which panicked inside the 'é' of a table name.
        assert_eq!(
            truncate_target("TRUNCATE ééé", "inv"),
            Some(("inv".into(), "ééé".into()))
        );
        assert_eq!(
            truncate_target("truncate table `café`.`ééé`;", "x"),
            Some(("café".into(), "ééé".into()))
        );
        assert_eq!(truncate_target("TRUNCATÉ t", "inv"), None);
        assert_eq!(
            truncate_target("TRUNCATE tabl€", "inv"),
            Some(("inv".into(), "tabl€".into()))
        );
    }
}
