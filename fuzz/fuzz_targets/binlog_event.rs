//! The MySQL / MariaDB binlog decoder on arbitrary bytes: event framing, the hand-written
//! parsers of ROTATE, QUERY, the GTID events and TABLE_MAP, rows events decoded against
//! the table map, and the row images turned into Debezium key and value structs.
//!
//! The first byte selects the mode and the connector settings:
//! - bit 0 clear: the rest is a binlog stream (optionally after the `\xfebin` magic), read
//!   event by event as the replica stream reads it, each event handled as the streamer
//!   handles it;
//! - bit 0 set: the rest is `[table map length: u16 LE][TABLE_MAP data][rows event type
//!   selector][rows event data]`, a table map and one rows event decoded against it
//!   whatever table id it names: the shortest way into the row-image decoder.
//!
//! Bit 1 marks every column as a MariaDB JSON column, bits 2-3 pick one of four
//! connector configs (decimal, time, BIGINT UNSIGNED and binary handling modes), bit 4
//! says whether a fake ROTATE carries a checksum.
#![no_main]

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use mysql_common::binlog::consts::BinlogVersion;
use mysql_common::binlog::EventStreamReader;
use sluice_connector_mysql::config::{self as mysql_config, MySqlConfig};
use sluice_connector_mysql::convert::{key_struct, row_struct};
use sluice_connector_mysql::decode::{parse_rows, rows_kind};
use sluice_connector_mysql::envelope::SourceSchemas;
use sluice_connector_mysql::gtid::GtidSet;
use sluice_connector_mysql::replication::events::{self, code};
use sluice_connector_mysql::replication::table_map::{self, BinlogColumn};
use sluice_connector_mysql::schema::TableSchema;

/// The v2 and v1 rows event codes a selector byte maps to.
const ROWS_TYPES: [u8; 6] = [0x1e, 0x1f, 0x20, 0x17, 0x18, 0x19];

/// The binlog header: timestamp 4, type 1, server id 4, event size 4, next position 4, flags 2.
const HEADER_LEN: usize = 19;

struct Setup {
    configs: Vec<MySqlConfig>,
    source: Arc<SourceSchemas>,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let variants: [&[(&str, &str)]; 4] = [
            &[],
            &[
                ("decimal.handling.mode", "double"),
                ("time.precision.mode", "adaptive"),
                ("bigint.unsigned.handling.mode", "precise"),
                ("binary.handling.mode", "base64"),
            ],
            &[
                ("decimal.handling.mode", "string"),
                ("time.precision.mode", "connect"),
                ("binary.handling.mode", "hex"),
                ("column.mask.with.3.chars", ".*"),
            ],
            &[
                ("binary.handling.mode", "base64-url-safe"),
                ("bigint.unsigned.handling.mode", "precise"),
            ],
        ];
        let configs = variants
            .iter()
            .map(|extra| {
                let mut props: sluice_core::config::ConfigMap = [
                    ("database.hostname", "127.0.0.1"),
                    ("database.user", "fuzz"),
                    ("topic.prefix", "fuzz"),
                ]
                .iter()
                .chain(extra.iter())
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
                props.insert("snapshot.mode".into(), "never".into());
                mysql_config::parse(&props).expect("the fuzz target's fixed configs are valid")
            })
            .collect();
        Setup {
            configs,
            source: Arc::new(SourceSchemas::new("mysql", "fuzz")),
        }
    })
}

/// A captured table version, as the streamer keeps it.
struct Mapped {
    columns: Vec<BinlogColumn>,
    schema: Arc<TableSchema>,
}

struct Decoder<'s> {
    cfg: &'s MySqlConfig,
    source: &'s Arc<SourceSchemas>,
    all_json: bool,
    rotate_checksum: bool,
    tables: HashMap<u64, Mapped>,
}

impl Decoder<'_> {
    fn table_map(&mut self, data: &[u8]) -> Option<u64> {
        let tm = table_map::parse(data).ok()?;
        let json: Vec<String> = if self.all_json {
            tm.columns
                .iter()
                .enumerate()
                .map(|(i, c)| c.name.clone().unwrap_or_else(|| format!("col_{i}")))
                .collect()
        } else {
            Vec::new()
        };
        let meta = tm.to_meta(&json);
        let schema = TableSchema::build(meta, self.cfg, self.source.clone()).ok()?;
        self.tables.insert(
            tm.table_id,
            Mapped {
                columns: tm.columns,
                schema: Arc::new(schema),
            },
        );
        Some(tm.table_id)
    }

    /// Decodes every row of a rows event against table `table` (or the one it names).
    fn rows(&self, data: &[u8], ty: u8, table: Option<u64>) {
        let Ok(mut ev) = parse_rows(data, ty) else {
            return;
        };
        let Some(m) = self.tables.get(&table.unwrap_or(ev.table_id)) else {
            return;
        };
        while !ev.is_done() {
            let Ok((before, after)) = ev.next_row(&m.columns) else {
                return;
            };
            for image in [before, after].into_iter().flatten() {
                let _ = key_struct(&m.schema, &image, self.cfg);
                let _ = row_struct(&m.schema, &image, self.cfg);
            }
        }
    }

    /// One event, handled as the streamer handles it.
    fn event(&mut self, ty: u8, data: &[u8]) {
        match ty {
            code::ROTATE => {
                let _ = events::rotate(data, self.rotate_checksum);
            }
            code::MARIADB_GTID => {
                let _ = events::mariadb_gtid(data);
            }
            code::MARIADB_GTID_LIST => {
                let _ = events::mariadb_gtid_list(data);
            }
            code::MYSQL_GTID => {
                if let Ok(g) = events::mysql_gtid(data) {
                    let _ = g.text();
                }
            }
            code::PREVIOUS_GTIDS => {
                if let Ok(set) = GtidSet::decode(data) {
                    let _ = set.to_string();
                }
            }
            code::QUERY => {
                if let Ok(q) = events::query(data) {
                    let _ = events::truncate_target(q.sql.trim(), &q.db);
                }
            }
            code::TABLE_MAP => {
                self.table_map(data);
            }
            t if rows_kind(t).is_some() => self.rows(data, t, None),
            _ => {}
        }
    }
}

/// Reads events as the replica stream does. Events whose size field disagrees with the
/// bytes there are skipped before the event reader sees them: that reader (a dependency)
/// panics on an event shorter than its header says, so the streamer's own decoders are
/// what is fuzzed here, behind framing a server always gets right.
fn stream(d: &mut Decoder<'_>, mut rest: &[u8]) {
    if let Some(tail) = rest.strip_prefix(b"\xfebin") {
        rest = tail;
    }
    let mut reader = EventStreamReader::new(BinlogVersion::Version4);
    while rest.len() >= HEADER_LEN {
        let size = u32::from_le_bytes([rest[9], rest[10], rest[11], rest[12]]) as usize;
        // At least the header, a checksum-algorithm byte and a checksum.
        if size < HEADER_LEN + 5 || size > rest.len() {
            return;
        }
        let (bytes, tail) = rest.split_at(size);
        rest = tail;
        let ty = bytes[4];
        match reader.read(bytes) {
            Ok(Some(ev)) => d.event(ev.header().event_type_raw(), ev.data()),
            // The streamer sees only events the reader accepted; also feed the raw body,
            // as a server that sends no checksums would.
            _ => d.event(ty, &bytes[HEADER_LEN..]),
        }
    }
}

/// One table map and one rows event decoded against it.
fn table_and_rows(d: &mut Decoder<'_>, rest: &[u8]) {
    let Some((len, rest)) = rest.split_first_chunk::<2>() else {
        return;
    };
    let len = usize::from(u16::from_le_bytes(*len));
    let Some((tm, rest)) = rest.split_at_checked(len) else {
        return;
    };
    let Some(table) = d.table_map(tm) else {
        return;
    };
    let Some((&selector, rows)) = rest.split_first() else {
        return;
    };
    let ty = ROWS_TYPES[usize::from(selector) % ROWS_TYPES.len()];
    d.rows(rows, ty, Some(table));
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let setup = setup();
    let mut d = Decoder {
        cfg: &setup.configs[usize::from(mode >> 2) & 3],
        source: &setup.source,
        all_json: mode & 2 != 0,
        rotate_checksum: mode & 16 != 0,
        tables: HashMap::new(),
    };
    if mode & 1 == 0 {
        stream(&mut d, rest);
    } else {
        table_and_rows(&mut d, rest);
    }
});
