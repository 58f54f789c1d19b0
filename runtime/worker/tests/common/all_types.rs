//! The MySQL type table (the table of connectors/mysql/tests/all_types.rs) run through
//! the `sluice` binary with Schema Registry converters and the worker's built-in
//! registry, for the tests where a consumer nobody here wrote reads the topic
//! (`mysql_avro_python.rs`, `mysql_protobuf_python.rs`): the same table, rows and
//! changes, whatever the wire format.

use std::time::Duration;

use sluice_testkit::MariaDb;

use super::*;

/// The topic the table's changes go to.
pub const TOPIC: &str = "dbserver1.inv.all_types";

/// The table of connectors/mysql/tests/all_types.rs.
pub const TABLE: &str = "CREATE DATABASE inv;
CREATE TABLE inv.all_types (
  id INT NOT NULL PRIMARY KEY,
  c_tinyint TINYINT, c_tinyint_u TINYINT UNSIGNED,
  c_smallint SMALLINT, c_smallint_u SMALLINT UNSIGNED,
  c_mediumint MEDIUMINT, c_mediumint_u MEDIUMINT UNSIGNED,
  c_int INT, c_int_u INT UNSIGNED,
  c_bigint BIGINT, c_bigint_u BIGINT UNSIGNED,
  c_decimal DECIMAL(10,2), c_float FLOAT, c_double DOUBLE,
  c_bit1 BIT(1), c_bit12 BIT(12),
  c_char CHAR(5), c_varchar VARCHAR(50), c_text TEXT,
  c_binary BINARY(4), c_varbinary VARBINARY(10), c_blob BLOB,
  c_date DATE, c_time TIME(3), c_datetime DATETIME, c_datetime6 DATETIME(6),
  c_timestamp TIMESTAMP(3) NULL, c_year YEAR,
  c_enum ENUM('small','medium','large'), c_set SET('a','b','c'),
  c_json JSON, c_geometry GEOMETRY
) CHARACTER SET utf8mb4;";

/// The SQL values of the row with `id`: every column set.
pub fn values(id: i32) -> String {
    format!(
        "({id}, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
          -9223372036854775808, 18446744073709551615, 12345678.90, 1.5, 2.25, b'1', b'101000000001',
          'abc', 'héllo wörld', 'some text', 'ab', x'00ff', x'deadbeef',
          '2024-02-29', '-01:02:03.456', '2024-01-02 03:04:05', '2024-01-02 03:04:05.123456',
          '2024-01-02 03:04:05.123', 2024, 'medium', 'a,c', '{{\"k\": [1, 2]}}', ST_GeomFromText('POINT(1 2)'))"
    )
}

/// A running pipeline; the servers stop when it is dropped.
pub struct AllTypesPipeline {
    pub worker: Worker,
    pub registry_port: u16,
    pub broker: KafkaBroker,
    pub db: MariaDb,
    _dir: tempfile::TempDir,
}

impl AllTypesPipeline {
    /// The built-in registry's URL.
    pub fn registry_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.registry_port)
    }
}

/// Row 1 snapshotted, then streamed: row 2 inserted, updated (`c_varchar = 'changed'`)
/// and deleted, and row 3 inserted with only its id — six records on [`TOPIC`]
/// (r 1; c 2, u 2, d 2 and its tombstone; c 3). `converter` is the connector's
/// `key.converter` and `value.converter`, given no `schema.registry.url`, so it uses the
/// worker's built-in registry (`schema.registry.listener`).
pub fn run_all_types(converter: &str) -> AllTypesPipeline {
    let broker = KafkaBroker::start();
    let db = MariaDb::start();
    db.sql(TABLE);
    db.sql(&format!(
        "SET time_zone = '+00:00'; INSERT INTO inv.all_types VALUES {};",
        values(1)
    ));

    let dir = tempfile::tempdir().unwrap();
    let (port, registry_port) = (free_port(), free_port());
    worker_properties(
        dir.path(),
        broker.bootstrap(),
        port,
        &format!("schema.registry.listener=http://127.0.0.1:{registry_port}\n"),
    );
    let connector = write(
        dir.path(),
        "mysql.json",
        &format!(
            r#"{{"name": "all-types", "config": {{
                "connector.class": "io.debezium.connector.mysql.MySqlConnector",
                "database.hostname": "{}", "database.port": "{}",
                "database.user": "{}", "database.password": "{}",
                "database.server.id": "5611", "topic.prefix": "dbserver1",
                "table.include.list": "inv\\.all_types",
                "key.converter": "{converter}", "value.converter": "{converter}"}}}}"#,
            db.host(),
            db.port(),
            db.user(),
            db.password()
        ),
    );
    let mut worker = Worker::start(dir.path(), port, std::slice::from_ref(&connector));
    wait_until(Duration::from_secs(60), "the snapshot to finish", || {
        let Some((_, body)) = http(port, "GET", "/connectors/all-types/status", None) else {
            let exit = worker.child.as_mut().map(|c| c.try_wait());
            panic!(
                "the worker stopped answering (exit: {exit:?}):\n{}",
                worker.log_text()
            );
        };
        assert!(!body.contains("FAILED"), "{body}\n{}", worker.log_text());
        body.contains(r#""phase":"streaming""#)
    });
    db.sql(&format!(
        "SET time_zone = '+00:00';
         INSERT INTO inv.all_types VALUES {};
         UPDATE inv.all_types SET c_varchar = 'changed' WHERE id = 2;
         DELETE FROM inv.all_types WHERE id = 2;
         INSERT INTO inv.all_types (id) VALUES (3);",
        values(2)
    ));
    AllTypesPipeline {
        worker,
        registry_port,
        broker,
        db,
        _dir: dir,
    }
}
