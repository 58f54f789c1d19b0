//! Streaming from the binlog: a replica connection (`COM_BINLOG_DUMP` by file and
//! position; by GTID on MySQL with `COM_BINLOG_DUMP_GTID` and on MariaDB through
//! `@slave_connect_state` with `@mariadb_slave_capability=4`), events turned into Debezium
//! change events.
//!
//! - [`bytes`]: bounds-checked reads.
//! - [`dump`]: the dump request, by position or by MySQL GTID set.
//! - [`events`]: ROTATE, QUERY and the GTID events, parsed by hand.
//! - [`table_map`]: TABLE_MAP with optional metadata — the schemas.
//! - [`stream`]: the reader loop, positions, transactions, skipping on restart.

pub mod bytes;
pub mod dump;
pub mod events;
pub mod stream;
pub mod table_map;
