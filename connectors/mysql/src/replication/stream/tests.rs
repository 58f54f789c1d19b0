//! The reader on hand-built MySQL event bytes (Oracle MySQL cannot run here): GTID
//! events advance the executed GTID set at each commit, records carry `source.gtid` and
//! offsets with the set *before* their transaction, a restart asks for
//! `COM_BINLOG_DUMP_GTID` with that set and skips the rows already emitted, and an
//! unseeded reader learns the set from a PREVIOUS_GTIDS event.

use std::sync::Arc;

use mysql_common::binlog::consts::BinlogVersion;
use mysql_common::binlog::events::{Event, FormatDescriptionEvent};
use serde_json::Value as Json;
use sluice_core::config::ConfigMap;
use sluice_core::{SourceRecord, Value};
use tokio::sync::mpsc;

use super::*;
use crate::config;
use crate::envelope::SourceSchemas;
use sluice_core::output::Output;

const A: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const UUID_A: u128 = 0x3E11FA47_71CA_11E1_9E33_C80AA9429562;

/// Binlog events with positions, as a MySQL 8 server writes them (no checksums).
struct Log {
    pos: u32,
    events: Vec<Event>,
}

impl Log {
    fn new(pos: u32) -> Self {
        Log {
            pos,
            events: Vec::new(),
        }
    }

    /// Appends an event of type `ty` with `data` (header built here); returns its start.
    fn push(&mut self, ty: u8, data: &[u8]) -> u32 {
        let start = self.pos;
        let size = 19 + data.len() as u32;
        self.pos += size;
        self.events.push(event(ty, size, self.pos, data));
        start
    }
}

fn event(ty: u8, size: u32, log_pos: u32, data: &[u8]) -> Event {
    let mut b = Vec::new();
    b.extend(1_700_000_000u32.to_le_bytes());
    b.push(ty);
    b.extend(1u32.to_le_bytes()); // server id
    b.extend(size.to_le_bytes());
    b.extend(log_pos.to_le_bytes());
    b.extend(0u16.to_le_bytes());
    b.extend(data);
    let fde = FormatDescriptionEvent::new(BinlogVersion::Version4);
    Event::read(&fde, &b[..]).expect("a well-formed event")
}

fn fake_rotate(file: &str, pos: u64) -> Event {
    let mut d = pos.to_le_bytes().to_vec();
    d.extend(file.as_bytes());
    event(code::ROTATE, 19 + d.len() as u32, 0, &d)
}

fn gtid_event(gno: u64) -> Vec<u8> {
    let mut g = vec![1];
    g.extend(UUID_A.to_be_bytes());
    g.extend(gno.to_le_bytes());
    g.push(2); // logical timestamps follow
    g.extend((gno - 1).to_le_bytes());
    g.extend(gno.to_le_bytes());
    g
}

fn query(sql: &str) -> Vec<u8> {
    let mut q = 7u32.to_le_bytes().to_vec(); // thread id
    q.extend([0, 0, 0, 0, 0, 0, 0, 0, 0]); // exec time, db length 0, error code, status length 0
    q.push(0); // empty db, NUL
    q.extend(sql.as_bytes());
    q
}

/// `CREATE TABLE d.t (id INT PRIMARY KEY, v INT)` with full metadata.
fn table_map() -> Vec<u8> {
    let mut b = vec![42, 0, 0, 0, 0, 0, 1, 0];
    b.extend([1, b'd', 0, 1, b't', 0, 2]);
    b.extend([table_map::ty::LONG, table_map::ty::LONG]);
    b.push(0); // no type metadata for INT
    b.push(0b10); // v nullable
    b.extend([1, 1, 0]); // signedness: both signed
    b.extend([4, 5, 2, b'i', b'd', 1, b'v']); // column names
    b.extend([8, 1, 0]); // primary key: column 0
    b
}

/// WRITE_ROWS (v2) of `(id, id * 10)` rows.
fn write_rows(ids: &[u32]) -> Vec<u8> {
    let mut b = vec![42, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0b11];
    for &id in ids {
        b.push(0); // null bitmap
        b.extend(id.to_le_bytes());
        b.extend((id * 10).to_le_bytes());
    }
    b
}

/// One transaction of `gno` inserting `ids`: returns where it starts.
fn transaction(log: &mut Log, gno: u64, ids: &[u32]) -> u32 {
    let start = log.push(code::MYSQL_GTID, &gtid_event(gno));
    log.push(code::QUERY, &query("BEGIN"));
    log.push(code::TABLE_MAP, &table_map());
    log.push(0x1e, &write_rows(ids));
    log.push(code::XID, &9u64.to_le_bytes());
    start
}

fn streamer(gtid_mode: bool, start: Offset) -> Streamer {
    let props: ConfigMap = [
        (
            "connector.class",
            "io.debezium.connector.mysql.MySqlConnector",
        ),
        ("database.hostname", "127.0.0.1"),
        ("database.user", "u"),
        ("database.server.id", "5401"),
        ("topic.prefix", "s1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let cfg = Arc::new(config::parse(&props).expect("config"));
    let source = Arc::new(SourceSchemas::new("mysql", "s1"));
    let server = ServerInfo {
        version: "8.0.36".into(),
        mariadb: false,
        checksum: false,
        server_id: 1,
        gtid_mode,
    };
    Streamer::new(cfg, source, server, None, start)
}

async fn feed(s: &mut Streamer, events: &[Event]) -> Vec<SourceRecord> {
    let (tx, mut rx) = mpsc::channel(16);
    let mut out = Output::new(tx, 1000);
    for e in events {
        s.handle(e, &mut out).await.expect("event handled");
    }
    assert!(out.flush().await);
    drop(out);
    let mut records = Vec::new();
    while let Ok(batch) = rx.try_recv() {
        records.extend(batch.expect("records"));
    }
    records
}

fn source_field(r: &SourceRecord, name: &str) -> Option<String> {
    let Value::Struct(env) = &r.record.value.value else {
        return None;
    };
    let Some(Value::Struct(src)) = env.get("source") else {
        return None;
    };
    match src.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Int64(i) => Some(i.to_string()),
        Value::Int32(i) => Some(i.to_string()),
        _ => None,
    }
}

fn key_id(r: &SourceRecord) -> i32 {
    let Value::Struct(k) = &r.record.key.value else {
        panic!("a key")
    };
    match k.get("id") {
        Some(Value::Int32(i)) => *i,
        other => panic!("id {other:?}"),
    }
}

#[tokio::test]
async fn mysql_gtids_advance_per_transaction_and_restart_by_gtid() {
    let file = "binlog.000003";
    let mut log = Log::new(157);
    let t1 = transaction(&mut log, 11, &[1, 2]);
    let t2 = transaction(&mut log, 12, &[3, 4]);
    let start = Offset {
        file: file.into(),
        pos: 157,
        gtids: Some(format!("{A}:1-10")),
        server_id: 1,
        ..Offset::default()
    };
    let mut s = streamer(true, start);
    assert_eq!(
        s.dump_request(false),
        DumpRequest::by_gtid(5401, GtidSet::parse(&format!("{A}:1-10")).expect("set")),
        "a stored GTID set on a gtid_mode=ON server: COM_BINLOG_DUMP_GTID"
    );
    let mut events = vec![fake_rotate(file, 4)];
    events.extend(log.events.iter().cloned());
    let records = feed(&mut s, &events).await;
    assert_eq!(records.iter().map(key_id).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(
        records
            .iter()
            .map(|r| source_field(r, "gtid").expect("source.gtid"))
            .collect::<Vec<_>>(),
        [
            format!("{A}:11"),
            format!("{A}:11"),
            format!("{A}:12"),
            format!("{A}:12")
        ]
    );
    let offsets: Vec<Json> = records
        .iter()
        .map(|r| Json::Object(r.source_offset.to_map()))
        .collect();
    for (i, (pos, gtids, row)) in [
        (t1, "1-10", 1),
        (t1, "1-10", 2),
        (t2, "1-11", 1),
        (t2, "1-11", 2),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(offsets[i]["file"], file, "{}", offsets[i]);
        assert_eq!(offsets[i]["pos"], pos, "{}", offsets[i]);
        assert_eq!(
            offsets[i]["gtids"],
            format!("{A}:{gtids}"),
            "{}",
            offsets[i]
        );
        assert_eq!(offsets[i]["row"], row, "{}", offsets[i]);
    }
    assert_eq!(s.gtid_text(), Some(format!("{A}:1-12")));
    assert_eq!(
        Json::Object(s.between_offset())["gtids"],
        format!("{A}:1-12")
    );

    // Restart after the first row of the second transaction: by GTID, without it.
    let stored = Offset::from_map(&records[2].source_offset.to_map()).expect("offset");
    let mut s = streamer(true, stored);
    let request = s.dump_request(false);
    assert_eq!(
        request.gtids.as_ref().map(GtidSet::to_string),
        Some(format!("{A}:1-11"))
    );
    assert_eq!(
        request.packet()[..3],
        [0x1e, 4, 0],
        "COM_BINLOG_DUMP_GTID with BINLOG_THROUGH_GTID"
    );
    // The server sends what the set lacks: the second transaction, after the file's
    // PREVIOUS_GTIDS (which does not replace the known set).
    let mut replay = vec![
        fake_rotate(file, 4),
        event(
            code::PREVIOUS_GTIDS,
            19 + 48,
            157,
            &GtidSet::parse(&format!("{A}:1-2")).expect("set").encode(),
        ),
    ];
    replay.extend(log.events[5..].iter().cloned());
    let again = feed(&mut s, &replay).await;
    assert_eq!(
        again.iter().map(key_id).collect::<Vec<_>>(),
        [4],
        "row 3 was acknowledged"
    );
    assert_eq!(again[0].source_offset.to_map()["row"], 2);
    assert_eq!(s.gtid_text(), Some(format!("{A}:1-12")));
}

#[tokio::test]
async fn an_unknown_mysql_set_is_learned_from_previous_gtids_or_left_out() {
    let file = "binlog.000004";
    // Mid-file without a set: offsets carry no gtids (a partial set would resend history).
    let mut log = Log::new(400);
    transaction(&mut log, 21, &[5]);
    let mut s = streamer(
        true,
        Offset {
            file: file.into(),
            pos: 400,
            ..Offset::default()
        },
    );
    assert_eq!(
        s.dump_request(false),
        DumpRequest::by_position(5401, file, 400)
    );
    let mut events = vec![fake_rotate(file, 400)];
    events.extend(log.events.iter().cloned());
    let records = feed(&mut s, &events).await;
    assert_eq!(records.len(), 1);
    assert!(!records[0].source_offset.to_map().contains_key("gtids"));
    assert_eq!(source_field(&records[0], "gtid"), Some(format!("{A}:21")));
    assert_eq!(s.gtid_text(), None);

    // From the start of a file: its PREVIOUS_GTIDS makes the set complete.
    let mut log = Log::new(4);
    let previous = GtidSet::parse(&format!("{A}:1-20")).expect("set").encode();
    log.push(code::PREVIOUS_GTIDS, &previous);
    transaction(&mut log, 21, &[5]);
    let mut s = streamer(
        true,
        Offset {
            file: file.into(),
            pos: 4,
            ..Offset::default()
        },
    );
    let mut events = vec![fake_rotate(file, 4)];
    events.extend(log.events.iter().cloned());
    let records = feed(&mut s, &events).await;
    assert_eq!(
        records[0].source_offset.to_map()["gtids"],
        format!("{A}:1-20")
    );
    assert_eq!(s.gtid_text(), Some(format!("{A}:1-21")));

    // gtid_mode=OFF: a stored set is kept but the stream is by position.
    let s = streamer(
        false,
        Offset {
            file: file.into(),
            pos: 4,
            gtids: Some(format!("{A}:1-20")),
            ..Offset::default()
        },
    );
    assert_eq!(
        s.dump_request(false),
        DumpRequest::by_position(5401, file, 4)
    );
}

/// `bench.t (id INT PK, qty INT, price DECIMAL(10,2), created DATETIME(6), name, email,
/// note VARCHAR(64/64/255))` as TABLE_MAP, and WRITE_ROWS of such ~200-byte rows.
fn wide_table_map() -> Vec<u8> {
    use table_map::ty;
    let mut b = vec![43, 0, 0, 0, 0, 0, 1, 0];
    b.extend([5, b'b', b'e', b'n', b'c', b'h', 0, 1, b't', 0, 7]);
    b.extend([
        ty::LONG,
        ty::LONG,
        ty::NEWDECIMAL,
        ty::DATETIME2,
        ty::VARCHAR,
        ty::VARCHAR,
        ty::VARCHAR,
    ]);
    // Metadata: decimal (10,2), datetime fsp 6, varchar max bytes (200, 200, 1020).
    b.extend([9, 10, 2, 6, 200, 0, 200, 0, 0xfc, 3]);
    b.push(0b100_0000); // note nullable
    b.extend([1, 1, 0]); // signedness
    b.extend([2, 1, 45]); // charset utf8mb4_general_ci
    let names = ["id", "qty", "price", "created", "name", "email", "note"];
    let mut n = Vec::new();
    for name in names {
        n.push(name.len() as u8);
        n.extend(name.as_bytes());
    }
    b.push(4);
    b.push(n.len() as u8);
    b.extend(n);
    b.extend([8, 1, 0]);
    b
}

fn wide_rows(from: u32, count: u32) -> Vec<u8> {
    let mut b = vec![43, 0, 0, 0, 0, 0, 0, 0, 2, 0, 7, 0x7f];
    for id in from..from + count {
        b.push(0);
        b.extend(id.to_le_bytes());
        b.extend((id % 1000).to_le_bytes());
        b.extend([0x80, 0, 0, 0x01, 0x17]); // 1.23 as DECIMAL(10,2)
        b.extend([0x99, 0xb2, 0x42, 0x00, 0x00, 0x01, 0xe2, 0x40]); // 2024-01-01 00:00:00.123456
        let name = format!("customer {id:010} of the benchmark");
        b.push(name.len() as u8);
        b.extend(name.as_bytes());
        let email = format!("user{id}@example.com");
        b.push(email.len() as u8);
        b.extend(email.as_bytes());
        let note = "0123456789abcdef".repeat(6) + "0123";
        b.extend((note.len() as u16).to_le_bytes());
        b.extend(note.as_bytes());
    }
    b
}

/// Every row of a long GTID-tracked stream reaches the output, and the decode-to-record
/// rate of the streaming path (no Kafka, no converter) is printed: for a meaningful number
/// run `cargo test --release -p sluice-connector-mysql --lib -- --nocapture throughput`.
#[tokio::test]
async fn streaming_throughput() {
    const ROWS: u32 = 40_000;
    let mut log = Log::new(4);
    let mut id = 1;
    let mut gno = 1;
    while id <= ROWS {
        log.push(code::MYSQL_GTID, &gtid_event(gno));
        log.push(code::QUERY, &query("BEGIN"));
        for _ in 0..250 {
            log.push(code::TABLE_MAP, &wide_table_map());
            log.push(0x1e, &wide_rows(id, 40));
            id += 40;
        }
        log.push(code::XID, &9u64.to_le_bytes());
        gno += 1;
    }
    let mut s = streamer(
        true,
        Offset {
            file: "binlog.000001".into(),
            pos: 4,
            gtids: Some(format!("{A}:1-1000")),
            ..Offset::default()
        },
    );
    let (tx, mut rx) = mpsc::channel::<sluice_core::output::Batch>(4);
    let drain = tokio::spawn(async move {
        let mut n = 0usize;
        while let Some(b) = rx.recv().await {
            n += b.expect("batch").len();
        }
        n
    });
    let mut out = Output::new(tx, 2048);
    let t0 = Instant::now();
    for e in &log.events {
        s.handle(e, &mut out).await.expect("handled");
        if out.full() {
            assert!(out.flush().await);
        }
    }
    assert!(out.flush().await);
    drop(out);
    let n = drain.await.expect("drained");
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(n, ROWS as usize);
    eprintln!(
        "streaming decode → records: {n} rows in {secs:.3} s = {:.0} rows/s ({:.0} ns/row)",
        n as f64 / secs,
        secs * 1e9 / n as f64
    );
}
