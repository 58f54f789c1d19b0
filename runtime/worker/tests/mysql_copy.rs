//! MariaDB → Sluice → Kafka → Sluice → MariaDB, through two real `sluice` processes and a
//! real broker: worker A runs the MySQL source on database `src` (JSON with schemas), worker
//! B runs two `mysql-sink` connectors — `copy-exact` (Debezium's JDBC sink class name, upsert
//! by record key, into tables pre-created with `CREATE TABLE … LIKE`) and `copy-auto`
//! (`schema.evolution=basic`, tables created from the record schemas). A 100,000-row table
//! measures the sink's throughput; then a writer commits a mixed insert / update / delete /
//! key-change workload over a table with every common type while worker B is killed
//! (`kill -9`) and restarted twice. At the end both copies equal the source row by row
//! (an MD5 per row over every column), and the exact copy has the source's `CHECKSUM TABLE`.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use sluice_testkit::MariaDb;

const BULK: u64 = 100_000;
const INITIAL: u64 = 200;
const KEYS: u64 = 600;

/// The table with every common type.
const ALL_TYPES: &str = "
CREATE TABLE src.t (
  id INT NOT NULL PRIMARY KEY,
  ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
  mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED,
  f FLOAT, d DOUBLE, dec1 DECIMAL(20,6), dec0 DECIMAL(10,0),
  b1 BIT(1), b12 BIT(12), yr YEAR,
  dt DATE, tm TIME, tm6 TIME(6), dtm DATETIME, dtm3 DATETIME(3), dtm6 DATETIME(6), ts TIMESTAMP(6) NULL,
  ch CHAR(10), vc VARCHAR(200), tx TEXT, mt MEDIUMTEXT,
  bn BINARY(8), vb VARBINARY(64), bl BLOB,
  js JSON, en ENUM('red','green','blue'), st SET('a','b','c'),
  nn VARCHAR(20) NOT NULL DEFAULT ''
)";

/// Each column as text that does not depend on the column's declared width, so the
/// auto-created copy (SMALLINT for TINYINT, DATETIME(3) for DATETIME, …) compares by value.
/// BIGINT UNSIGNED is read as unsigned: the auto-created copy stores Debezium's `long`
/// (wrapped) form in a signed BIGINT.
const CANONICAL: &[&str] = &[
    "QUOTE(id)",
    "QUOTE(ti)",
    "QUOTE(tu)",
    "QUOTE(si)",
    "QUOTE(su)",
    "QUOTE(mi)",
    "QUOTE(mu)",
    "QUOTE(i)",
    "QUOTE(iu)",
    "QUOTE(bi)",
    "QUOTE(CAST(bu AS UNSIGNED))",
    "QUOTE(f)",
    "QUOTE(d)",
    "QUOTE(dec1)",
    "QUOTE(dec0)",
    "QUOTE(b1 + 0)",
    "QUOTE(b12 + 0)",
    "QUOTE(yr)",
    "QUOTE(dt)",
    "QUOTE(CAST(tm AS TIME(6)))",
    "QUOTE(CAST(tm6 AS TIME(6)))",
    "QUOTE(CAST(dtm AS DATETIME(6)))",
    "QUOTE(CAST(dtm3 AS DATETIME(6)))",
    "QUOTE(CAST(dtm6 AS DATETIME(6)))",
    "QUOTE(CAST(ts AS DATETIME(6)))",
    "QUOTE(ch)",
    "QUOTE(vc)",
    "QUOTE(tx)",
    "QUOTE(mt)",
    "IFNULL(HEX(bn), 'NULL')",
    "IFNULL(HEX(vb), 'NULL')",
    "IFNULL(HEX(bl), 'NULL')",
    "QUOTE(js)",
    "QUOTE(en)",
    "QUOTE(st)",
    "QUOTE(nn)",
];

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    fn hex(&mut self, max: u64) -> String {
        let n = self.below(max + 1);
        let bytes: String = (0..n).map(|_| format!("{:02X}", self.below(256))).collect();
        format!("X'{bytes}'")
    }

    fn text(&mut self, max: u64) -> String {
        const PIECES: &[&str] = &[
            "a", "Z", "9", " ", "é", "€", "😀", "''", "-", "ß", "\\\\", "x",
        ];
        let n = self.below(max + 1);
        let s: String = (0..n)
            .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
            .collect();
        format!("'{s}'")
    }
}

/// Column values of one random row (without id), as SQL literals; NULL now and then.
fn row_values(rng: &mut Rng) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    let ints: [(i64, i64); 9] = [
        (-128, 127),
        (0, 255),
        (-32768, 32767),
        (0, 65535),
        (-8_388_608, 8_388_607),
        (0, 16_777_215),
        (i32::MIN as i64, i32::MAX as i64),
        (0, u32::MAX as i64),
        (i64::MIN / 4, i64::MAX / 4),
    ];
    for (lo, hi) in ints {
        v.push(rng.range(lo, hi).to_string());
    }
    v.push(match rng.below(4) {
        0 => "18446744073709551615".into(),
        1 => "9223372036854775808".into(),
        _ => rng.next().to_string(),
    });
    v.push(format!(
        "{}",
        (rng.range(-1_000_000, 1_000_000) as f32) / 7.0
    ));
    v.push(format!("{:e}", (rng.next() as f64) / 3.0e7 - 3.0e11));
    v.push(format!(
        "{}{}.{:06}",
        if rng.below(2) == 0 { "-" } else { "" },
        rng.below(100_000_000_000_000),
        rng.below(1_000_000)
    ));
    v.push(rng.range(-9_999_999_000, 9_999_999_000).to_string());
    v.push(format!("b'{}'", rng.below(2)));
    v.push(format!("{}", rng.below(4096)));
    v.push(rng.range(1901, 2155).to_string());
    let date = |rng: &mut Rng, lo: i64, hi: i64| {
        format!(
            "{:04}-{:02}-{:02}",
            rng.range(lo, hi),
            rng.range(1, 12),
            rng.range(1, 28)
        )
    };
    let clock = |rng: &mut Rng| {
        format!(
            "{:02}:{:02}:{:02}",
            rng.below(24),
            rng.below(60),
            rng.below(60)
        )
    };
    v.push(format!("'{}'", date(rng, 1000, 9999)));
    v.push(format!(
        "'{}{}:{:02}:{:02}'",
        if rng.below(3) == 0 { "-" } else { "" },
        rng.below(839),
        rng.below(60),
        rng.below(60)
    ));
    v.push(format!(
        "'{}{}.{:06}'",
        if rng.below(4) == 0 { "-" } else { "" },
        clock(rng),
        rng.below(1_000_000)
    ));
    v.push(format!("'{} {}'", date(rng, 1000, 9999), clock(rng)));
    v.push(format!(
        "'{} {}.{:03}'",
        date(rng, 1000, 9999),
        clock(rng),
        rng.below(1000)
    ));
    v.push(format!(
        "'{} {}.{:06}'",
        date(rng, 1000, 9999),
        clock(rng),
        rng.below(1_000_000)
    ));
    v.push(format!(
        "'{} {}.{:06}'",
        date(rng, 1971, 2037),
        clock(rng),
        rng.below(1_000_000)
    ));
    v.push(rng.text(10).replace("😀", "o").replace("\\\\", "b"));
    v.push(rng.text(40));
    v.push(rng.text(200));
    v.push(rng.text(50));
    v.push(rng.hex(8));
    v.push(rng.hex(64));
    v.push(rng.hex(600));
    v.push(format!(
        "'{{\"k\": {}, \"s\": \"v{}\", \"a\": [1, 2.5, null, true]}}'",
        rng.below(1000),
        rng.below(100)
    ));
    v.push(["'red'", "'green'", "'blue'"][rng.below(3) as usize].into());
    v.push(["''", "'a'", "'b,c'", "'a,b,c'"][rng.below(4) as usize].into());
    // Every nullable column is NULL now and then; nn is NOT NULL.
    for x in v.iter_mut() {
        if rng.below(10) == 0 {
            *x = "NULL".into();
        }
    }
    v.push(rng.text(20).replace("😀", "o"));
    v
}

const COLUMNS: &str =
    "id, ti, tu, si, su, mi, mu, i, iu, bi, bu, f, d, dec1, dec0, b1, b12, yr, dt, tm, tm6, \
     dtm, dtm3, dtm6, ts, ch, vc, tx, mt, bn, vb, bl, js, en, st, nn";

fn insert_sql(rng: &mut Rng, ids: &[u64]) -> String {
    let rows: Vec<String> = ids
        .iter()
        .map(|id| format!("({id}, {})", row_values(rng).join(", ")))
        .collect();
    format!(
        "INSERT INTO src.t ({COLUMNS}) VALUES {};\n",
        rows.join(", ")
    )
}

fn update_sql(rng: &mut Rng, id: u64) -> String {
    let names: Vec<&str> = COLUMNS.split(", ").skip(1).collect();
    let values = row_values(rng);
    // Some updates change every column, some a few.
    let sets: Vec<String> = names
        .iter()
        .zip(&values)
        .filter(|_| rng.below(3) != 0)
        .map(|(n, v)| format!("{n} = {v}"))
        .collect();
    if sets.is_empty() {
        return format!("UPDATE src.t SET ti = ti WHERE id = {id};\n");
    }
    format!("UPDATE src.t SET {} WHERE id = {id};\n", sets.join(", "))
}

/// `id → md5 of the canonical row` of `db.t`, one line per row, in id order.
fn row_digests(db: &MariaDb, table: &str) -> Vec<String> {
    db.sql(&format!(
        "SET time_zone = '+00:00'; SELECT id, MD5(CONCAT_WS('|', {})) FROM {table} ORDER BY id",
        CANONICAL.join(", ")
    ))
    .lines()
    .map(str::to_owned)
    .collect()
}

fn bulk_digest(db: &MariaDb, table: &str) -> String {
    db.sql(&format!(
        "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, a, QUOTE(b), c, d))) FROM {table}"
    ))
    .trim()
    .to_owned()
}

fn checksum(db: &MariaDb, table: &str) -> String {
    db.sql(&format!("CHECKSUM TABLE {table}"))
        .split('\t')
        .nth(1)
        .unwrap_or("")
        .trim()
        .to_owned()
}

fn count(db: &MariaDb, table: &str) -> u64 {
    db.sql(&format!("SELECT COUNT(*) FROM {table}"))
        .trim()
        .parse()
        .unwrap_or(0)
}

/// The first rows where two digest lists differ, for a failure message.
fn first_differences(a: &[String], b: &[String]) -> String {
    let sa: BTreeSet<&String> = a.iter().collect();
    let sb: BTreeSet<&String> = b.iter().collect();
    let only_a: Vec<&&String> = sa.difference(&sb).take(5).collect();
    let only_b: Vec<&&String> = sb.difference(&sa).take(5).collect();
    format!(
        "{} rows vs {}; only in source: {only_a:?}; only in copy: {only_b:?}",
        a.len(),
        b.len()
    )
}

fn sink_config(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    write(
        dir,
        &format!("{name}.json"),
        &format!(r#"{{"name": "{name}", "config": {{{body}}}}}"#),
    )
}

#[test]
fn mariadb_copy_through_kafka_survives_kill_9_of_the_sink_worker() {
    let t0 = Instant::now();
    let broker = KafkaBroker::start();
    let db = MariaDb::start();
    db.sql(&format!(
        "CREATE DATABASE src; {ALL_TYPES};
         CREATE TABLE src.bulk (id INT PRIMARY KEY, a BIGINT NOT NULL, b VARCHAR(64), c DECIMAL(12,2), d DATETIME(6));
         INSERT INTO src.bulk SELECT seq, seq * 7919, CONCAT('row-', seq, '-', MD5(seq)), seq / 100,
             '2020-01-01' + INTERVAL seq * 1000003 MICROSECOND FROM src.seq_1_to_{BULK};
         CREATE DATABASE dst; CREATE TABLE dst.t LIKE src.t; CREATE TABLE dst.bulk LIKE src.bulk;
         CREATE DATABASE dst_auto;
         CREATE USER 'sink'@'127.0.0.1' IDENTIFIED BY 'sinkpw';
         CREATE USER 'sink'@'localhost' IDENTIFIED BY 'sinkpw';
         GRANT ALL ON dst.* TO 'sink'@'127.0.0.1', 'sink'@'localhost';
         GRANT ALL ON dst_auto.* TO 'sink'@'127.0.0.1', 'sink'@'localhost';"
    ));
    let mut rng = Rng(0x5eed_c0de_0000_0007);
    let mut ids: BTreeSet<u64> = (1..=INITIAL).collect();
    let initial: Vec<u64> = ids.iter().copied().collect();
    for chunk in initial.chunks(10) {
        db.sql(&format!(
            "SET time_zone = '+00:00'; {}",
            insert_sql(&mut rng, chunk)
        ));
    }

    // Worker A: the source, JSON with schemas.
    let dir_a = tempfile::tempdir().unwrap();
    let dir_a = dir_a.path();
    let port_a = free_port();
    worker_properties(dir_a, broker.bootstrap(), port_a, "");
    let source = write(
        dir_a,
        "source.json",
        &format!(
            r#"{{"name": "cp-source", "config": {{
                "connector.class": "io.debezium.connector.mariadb.MariaDbConnector",
                "database.hostname": "{}", "database.port": "{}",
                "database.user": "{}", "database.password": "{}",
                "database.server.id": "5701", "topic.prefix": "cp",
                "table.include.list": "src\\.t,src\\.bulk"}}}}"#,
            db.host(),
            db.port(),
            db.user(),
            db.password()
        ),
    );
    let _worker_a = Worker::start(dir_a, port_a, std::slice::from_ref(&source));
    wait_until(
        Duration::from_secs(300),
        "the source snapshot to complete",
        || stored_offset(dir_a).is_some_and(|o| o.get("snapshot").is_none()),
    );
    let snapshot_done = t0.elapsed();

    // Worker B: the sinks.
    let dir_b = tempfile::tempdir().unwrap();
    let dir_b = dir_b.path();
    let port_b = free_port();
    worker_properties(dir_b, broker.bootstrap(), port_b, "");
    let exact = sink_config(
        dir_b,
        "copy-exact",
        &format!(
            r#""connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
               "topics": "cp.src.t,cp.src.bulk",
               "connection.url": "jdbc:mysql://{}:{}/dst",
               "connection.username": "sink", "connection.password": "sinkpw",
               "insert.mode": "upsert", "primary.key.mode": "record_key",
               "delete.enabled": "true", "table.name.format": "${{source.table}}",
               "connection.pool.max_size": "4""#,
            db.host(),
            db.port()
        ),
    );
    let auto = sink_config(
        dir_b,
        "copy-auto",
        &format!(
            r#""connector.class": "mysql-sink", "topics": "cp.src.t",
               "database.hostname": "{}", "database.port": "{}", "database.name": "dst_auto",
               "connection.username": "sink", "connection.password": "sinkpw",
               "insert.mode": "upsert", "primary.key.mode": "record_key",
               "delete.enabled": "true", "table.name.format": "${{source.table}}",
               "schema.evolution": "basic""#,
            db.host(),
            db.port()
        ),
    );
    let sinks = [exact, auto];
    let started = Instant::now();
    let mut worker_b = Worker::start(dir_b, port_b, &sinks);
    let bulk_source = bulk_digest(&db, "src.bulk");
    wait_until(
        Duration::from_secs(600),
        "dst.bulk to hold every row",
        || count(&db, "dst.bulk") >= BULK,
    );
    let bulk_secs = started.elapsed().as_secs_f64();
    assert_eq!(
        bulk_digest(&db, "dst.bulk"),
        bulk_source,
        "dst.bulk equals src.bulk"
    );
    // The sink's own account: rows written and the time spent in the database.
    let progress: Vec<String> = worker_b
        .log_text()
        .lines()
        .filter(|l| l.contains("mysql sink progress"))
        .map(str::to_owned)
        .collect();
    eprintln!(
        "mysql-sink progress lines during the bulk load:\n{}",
        progress.join("\n")
    );
    eprintln!(
        "mysql-sink throughput: {BULK} rows (snapshot records, JSON with schemas) consumed and upserted in {bulk_secs:.2} s \
         from worker start = {:.0} rows/s (dev build; the same worker also ran copy-auto on {INITIAL} rows)",
        BULK as f64 / bulk_secs
    );

    // The workload, with the sink worker killed twice.
    let committed = AtomicU64::new(0);
    let writing = AtomicBool::new(true);
    let mut kills = Vec::new();
    let (mut inserts, mut updates, mut deletes, mut moves) = (0u64, 0u64, 0u64, 0u64);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut rng = Rng(0xfeed_0000_1234_0007);
            while writing.load(Ordering::Relaxed) {
                let mut sql = String::from("SET time_zone = '+00:00'; BEGIN;\n");
                let mut next = ids.clone();
                for _ in 0..1 + rng.below(5) {
                    let existing: Vec<u64> = next.iter().copied().collect();
                    let pick = |rng: &mut Rng| existing[rng.below(existing.len() as u64) as usize];
                    match rng.below(10) {
                        0..=2 => {
                            let n = if rng.below(6) == 0 {
                                30
                            } else {
                                1 + rng.below(3)
                            };
                            let new: Vec<u64> = (0..n)
                                .map(|_| 1 + rng.below(KEYS))
                                .filter(|id| !next.contains(id))
                                .collect::<BTreeSet<u64>>()
                                .into_iter()
                                .collect();
                            if new.is_empty() {
                                continue;
                            }
                            sql.push_str(&insert_sql(&mut rng, &new));
                            next.extend(&new);
                            inserts += new.len() as u64;
                        }
                        3..=5 if !existing.is_empty() => {
                            let id = pick(&mut rng);
                            sql.push_str(&update_sql(&mut rng, id));
                            updates += 1;
                        }
                        6..=7 if !existing.is_empty() => {
                            let id = pick(&mut rng);
                            sql.push_str(&format!("DELETE FROM src.t WHERE id = {id};\n"));
                            next.remove(&id);
                            deletes += 1;
                        }
                        8 if !existing.is_empty() => {
                            let lo = pick(&mut rng);
                            sql.push_str(&format!(
                                "UPDATE src.t SET dec0 = dec0 + 1 WHERE id BETWEEN {lo} AND {};\n",
                                lo + 20
                            ));
                            updates += 1;
                        }
                        _ if !existing.is_empty() => {
                            let old = pick(&mut rng);
                            let new = 1 + rng.below(KEYS);
                            if next.contains(&new) {
                                continue;
                            }
                            sql.push_str(&format!(
                                "UPDATE src.t SET id = {new} WHERE id = {old};\n"
                            ));
                            next.remove(&old);
                            next.insert(new);
                            moves += 1;
                        }
                        _ => {}
                    }
                }
                sql.push_str("COMMIT;");
                db.sql(&sql);
                ids = next;
                committed.fetch_add(1, Ordering::Relaxed);
            }
        });
        for (round, after) in [(1, 150), (2, 400)] {
            wait_until(
                Duration::from_secs(300),
                "the writer to commit more transactions",
                || committed.load(Ordering::Relaxed) >= after,
            );
            worker_b.kill9();
            kills.push(format!(
                "kill {round} after {after} transactions at {:?}: dst.t has {} rows",
                t0.elapsed(),
                count(&db, "dst.t")
            ));
            wait_until(
                Duration::from_secs(300),
                "the writer to go on while the sink is down",
                || committed.load(Ordering::Relaxed) >= after + 50,
            );
            worker_b = Worker::start(dir_b, port_b, &sinks);
        }
        wait_until(Duration::from_secs(300), "the writer to finish", || {
            committed.load(Ordering::Relaxed) >= 700
        });
        writing.store(false, Ordering::Relaxed);
        writer.join().unwrap();
    });
    let transactions = committed.load(Ordering::Relaxed);

    // Both copies converge on the source.
    let source_rows = row_digests(&db, "src.t");
    let converged = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let exact_rows = row_digests(&db, "dst.t");
        let auto_rows = row_digests(&db, "dst_auto.t");
        if exact_rows == source_rows && auto_rows == source_rows {
            break;
        }
        if Instant::now() >= deadline {
            panic!(
                "the copies did not converge on the source:\nexact: {}\nauto: {}\n{}\nworker B log:\n{}",
                first_differences(&source_rows, &exact_rows),
                first_differences(&source_rows, &auto_rows),
                kills.join("\n"),
                worker_b.log_text()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        checksum(&db, "dst.t"),
        checksum(&db, "src.t"),
        "CHECKSUM TABLE of the exact copy equals the source's"
    );
    assert_eq!(bulk_digest(&db, "dst.bulk"), bulk_source);
    let log = worker_b.log_text();
    assert!(!log.contains("task failed"), "no sink task failed:\n{log}");
    let exit = worker_b.terminate();
    assert!(exit.success(), "graceful stop: {exit}");
    let created = db.sql("SHOW CREATE TABLE dst_auto.t");
    for k in &kills {
        eprintln!("{k}");
    }
    eprintln!(
        "mysql copy report: snapshot of {} + {BULK} rows in {snapshot_done:?}; {transactions} transactions \
         ({inserts} rows inserted, {updates} update statements, {deletes} deletes, {moves} key changes) while the sink \
         worker was killed twice; {} rows in src.t; dst.t (pre-created, CHECKSUM TABLE {}) and dst_auto.t (auto-created) \
         equal the source row by row, converged {:?} after the writer stopped; total {:?}\nauto-created: {}",
        INITIAL,
        source_rows.len(),
        checksum(&db, "src.t"),
        converged.elapsed(),
        t0.elapsed(),
        created.trim()
    );
}
