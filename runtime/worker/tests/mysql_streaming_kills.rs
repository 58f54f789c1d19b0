//! Streaming under concurrent writes through the real `sluice` binary into a real broker,
//! with the worker killed (`kill -9`) and restarted three times while a writer commits
//! inserts, updates, deletes and primary-key changes in multi-statement transactions.
//! At the end every committed change is on the topic, in commit order per key; records
//! delivered again after a restart (at-least-once) are allowed, counted and reported.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use rdkafka::consumer::Consumer;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::Value as Json;
use sluice_testkit::MariaDb;

const TOPIC: &str = "kills.inv.s";
const KEYS: u64 = 150;
const INITIAL: u64 = 60;

/// One change of one key, as a consumer sees it: the op and the row's `v` (the after image
/// for r / c / u, the before image for d). Every `v` the writer sets is new, so a change is
/// identified by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Read(u64),
    Create(u64),
    Update(u64),
    Delete(u64),
}

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
}

/// The writer: the table's state and every committed change in commit order.
struct Writer {
    rows: BTreeMap<u64, u64>,
    counter: u64,
    log: Vec<(u64, Change)>,
    transactions: u64,
    statements: u64,
}

impl Writer {
    fn fresh_v(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn existing(&self, rng: &mut Rng) -> Option<u64> {
        if self.rows.is_empty() {
            return None;
        }
        let i = rng.below(self.rows.len() as u64) as usize;
        self.rows.keys().nth(i).copied()
    }

    fn absent(&self, rng: &mut Rng, also_taken: &[u64]) -> Option<u64> {
        (0..50)
            .map(|_| 1 + rng.below(KEYS))
            .find(|id| !self.rows.contains_key(id) && !also_taken.contains(id))
    }

    /// Plans one transaction on a copy of the state: (SQL, new state, its changes).
    #[allow(clippy::type_complexity)]
    fn plan(
        &mut self,
        rng: &mut Rng,
    ) -> (String, BTreeMap<u64, u64>, Vec<(u64, Change)>, u64, u64) {
        let saved_counter = self.counter;
        let mut rows = self.rows.clone();
        let mut changes = Vec::new();
        let mut sql = String::from("BEGIN;\n");
        let statements = 1 + rng.below(4);
        for _ in 0..statements {
            let view = Writer {
                rows: rows.clone(),
                counter: 0,
                log: Vec::new(),
                transactions: 0,
                statements: 0,
            };
            match rng.below(10) {
                // A multi-row insert (sometimes big, so a kill can land inside it).
                0..=2 => {
                    let n = if rng.below(8) == 0 {
                        40
                    } else {
                        1 + rng.below(4)
                    };
                    let mut ids = Vec::new();
                    for _ in 0..n {
                        if let Some(id) = view.absent(rng, &ids) {
                            ids.push(id);
                        }
                    }
                    if ids.is_empty() {
                        continue;
                    }
                    let values: Vec<String> = ids
                        .iter()
                        .map(|&id| {
                            let v = self.fresh_v();
                            rows.insert(id, v);
                            changes.push((id, Change::Create(v)));
                            format!("({id}, {v}, 'c{v}')")
                        })
                        .collect();
                    sql.push_str(&format!(
                        "INSERT INTO inv.s (id, v, note) VALUES {};\n",
                        values.join(", ")
                    ));
                }
                // One update.
                3..=4 => {
                    let Some(id) = view.existing(rng) else {
                        continue;
                    };
                    let v = self.fresh_v();
                    rows.insert(id, v);
                    changes.push((id, Change::Update(v)));
                    sql.push_str(&format!(
                        "UPDATE inv.s SET v = {v}, note = 'u{v}' WHERE id = {id};\n"
                    ));
                }
                // One statement updating several rows (ascending key order, as InnoDB scans).
                5..=6 => {
                    let mut ids: Vec<u64> = (0..3).filter_map(|_| view.existing(rng)).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    if ids.is_empty() {
                        continue;
                    }
                    let mut case = String::new();
                    for &id in &ids {
                        let v = self.fresh_v();
                        rows.insert(id, v);
                        changes.push((id, Change::Update(v)));
                        case.push_str(&format!(" WHEN {id} THEN {v}"));
                    }
                    let list: Vec<String> = ids.iter().map(u64::to_string).collect();
                    sql.push_str(&format!(
                        "UPDATE inv.s SET v = CASE id{case} END WHERE id IN ({});\n",
                        list.join(", ")
                    ));
                }
                // A delete.
                7..=8 => {
                    let Some(id) = view.existing(rng) else {
                        continue;
                    };
                    let before = rows.remove(&id).unwrap();
                    changes.push((id, Change::Delete(before)));
                    sql.push_str(&format!("DELETE FROM inv.s WHERE id = {id};\n"));
                }
                // A primary-key change: delete of the old key, create of the new one.
                _ => {
                    let (Some(old), Some(new)) = (view.existing(rng), view.absent(rng, &[])) else {
                        continue;
                    };
                    let before = rows.remove(&old).unwrap();
                    let v = self.fresh_v();
                    rows.insert(new, v);
                    changes.push((old, Change::Delete(before)));
                    changes.push((new, Change::Create(v)));
                    sql.push_str(&format!(
                        "UPDATE inv.s SET id = {new}, v = {v}, note = 'k{v}' WHERE id = {old};\n"
                    ));
                }
            }
        }
        sql.push_str("COMMIT;");
        let used = self.counter;
        self.counter = saved_counter;
        (sql, rows, changes, used, statements)
    }
}

/// Every record of `topic` up to its current end: (key, value) as JSON (null when absent).
fn read_topic(bootstrap: &str, topic: &str) -> Vec<(Json, Json)> {
    let consumer = test_consumer(bootstrap, "mysql-kills-check");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let partitions: Vec<i32> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    assert_eq!(
        partitions.len(),
        1,
        "one partition keeps one order per key and over keys"
    );
    let (_, high) = consumer
        .fetch_watermarks(topic, partitions[0], Duration::from_secs(10))
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partitions[0], Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let parse = |b: Option<&[u8]>| b.map_or(Json::Null, |b| serde_json::from_slice(b).unwrap());
    let mut out = Vec::new();
    let mut next = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while next < high {
        assert!(Instant::now() < deadline, "read {next} of {high} records");
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(m)) => {
                next = m.offset() + 1;
                out.push((parse(m.key()), parse(m.payload())));
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    out
}

/// The change a record carries, with its key; `None` for tombstones.
fn change_of(key: &Json, value: &Json) -> Option<(u64, Change)> {
    if value.is_null() {
        return None;
    }
    let id = key["id"].as_u64().unwrap_or_else(|| panic!("key {key}"));
    let v = |image: &str| {
        value[image]["v"]
            .as_u64()
            .unwrap_or_else(|| panic!("{image}.v in {value}"))
    };
    Some((
        id,
        match value["op"].as_str() {
            Some("r") => Change::Read(v("after")),
            Some("c") => Change::Create(v("after")),
            Some("u") => Change::Update(v("after")),
            Some("d") => Change::Delete(v("before")),
            other => panic!("unexpected op {other:?} in {value}"),
        },
    ))
}

/// Compares what a consumer saw of one key with what was committed: every committed change
/// must appear, in order; a record may repeat earlier ones (a replay after a restart starts
/// again from an earlier point), never skip ahead. Returns the duplicates, or what is wrong.
fn check_key(expected: &[Change], observed: &[Change]) -> Result<usize, String> {
    let mut p = 0;
    for (i, c) in observed.iter().enumerate() {
        if p < expected.len() && expected[p] == *c {
            p += 1;
        } else if let Some(q) = expected[..p].iter().position(|e| e == c) {
            p = q + 1;
        } else {
            return Err(format!(
                "record {i} ({c:?}) is not the next committed change ({:?}) nor a replay of an earlier one",
                expected.get(p)
            ));
        }
    }
    if p < expected.len() {
        return Err(format!(
            "missing {:?} (seen {} of {} changes)",
            &expected[p..],
            p,
            expected.len()
        ));
    }
    Ok(observed.len() - expected.len())
}

/// Checks every key; returns (changes, records, duplicates) or the first problems.
fn check_all(
    expected: &HashMap<u64, Vec<Change>>,
    records: &[(Json, Json)],
) -> Result<(usize, usize, usize), String> {
    let mut observed: HashMap<u64, Vec<Change>> = HashMap::new();
    let mut changes_seen = 0;
    for (k, v) in records {
        if let Some((id, c)) = change_of(k, v) {
            observed.entry(id).or_default().push(c);
            changes_seen += 1;
        }
    }
    let mut problems = Vec::new();
    let mut duplicates = 0;
    for id in 1..=KEYS {
        let e = expected.get(&id).map_or(&[][..], Vec::as_slice);
        let o = observed.get(&id).map_or(&[][..], Vec::as_slice);
        match check_key(e, o) {
            Ok(d) => duplicates += d,
            Err(why) => problems.push(format!("key {id}: {why}")),
        }
    }
    if problems.is_empty() {
        let total = expected.values().map(Vec::len).sum();
        Ok((total, changes_seen, duplicates))
    } else {
        problems.truncate(5);
        Err(problems.join("\n"))
    }
}

#[test]
fn streaming_survives_three_kill_9_under_concurrent_writes() {
    let t0 = Instant::now();
    let broker = KafkaBroker::start();
    let db = MariaDb::start();
    let mut writer = Writer {
        rows: (1..=INITIAL).map(|id| (id, id)).collect(),
        counter: 1000,
        log: (1..=INITIAL).map(|id| (id, Change::Read(id))).collect(),
        transactions: 0,
        statements: 0,
    };
    db.sql(&format!(
        "CREATE DATABASE inv;
         CREATE TABLE inv.s (id INT PRIMARY KEY, v BIGINT NOT NULL, note VARCHAR(32));
         INSERT INTO inv.s SELECT seq, seq, NULL FROM inv.seq_1_to_{INITIAL};"
    ));

    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let port = free_port();
    schemaless_worker_properties(dir, broker.bootstrap(), port);
    // Small batches: offsets are committed often in the middle of transactions, so the
    // kills land there and the restart must skip exactly the rows already emitted.
    let connector = write(
        dir,
        "mysql.json",
        &format!(
            r#"{{"name": "kills", "config": {{
                "connector.class": "mariadb",
                "database.hostname": "{}", "database.port": "{}",
                "database.user": "{}", "database.password": "{}",
                "database.server.id": "5502", "topic.prefix": "kills",
                "table.include.list": "inv\\.s", "max.batch.size": "7"}}}}"#,
            db.host(),
            db.port(),
            db.user(),
            db.password()
        ),
    );
    let mut worker = Worker::start(dir, port, std::slice::from_ref(&connector));
    wait_until(Duration::from_secs(60), "the snapshot to complete", || {
        stored_offset(dir).is_some_and(|o| o.get("snapshot").is_none())
    });

    let writing = AtomicBool::new(true);
    let mut kills = Vec::new();
    let w = &mut writer;
    std::thread::scope(|scope| {
        let writer_thread = scope.spawn(|| {
            let writer = w;
            let mut rng = Rng(0x5eed_1234_abcd_0001);
            while writing.load(Ordering::Relaxed) {
                let (sql, rows, changes, counter, statements) = writer.plan(&mut rng);
                db.sql(&sql);
                // Committed: the client returned after COMMIT succeeded.
                writer.rows = rows;
                writer.counter = counter;
                writer.log.extend(changes);
                writer.transactions += 1;
                writer.statements += statements;
            }
        });
        for round in 1..=3 {
            std::thread::sleep(Duration::from_millis(2500 + 1700 * round));
            worker.kill9();
            let offset = stored_offset(dir).unwrap_or_default();
            kills.push(format!(
                "kill {round} at {:?}: offset {offset}",
                t0.elapsed()
            ));
            std::thread::sleep(Duration::from_millis(300 * round));
            worker = Worker::start(dir, port, std::slice::from_ref(&connector));
        }
        std::thread::sleep(Duration::from_secs(3));
        writing.store(false, Ordering::Relaxed);
        writer_thread.join().unwrap();
    });

    let mut expected: HashMap<u64, Vec<Change>> = HashMap::new();
    for (id, c) in &writer.log {
        expected.entry(*id).or_default().push(*c);
    }
    let final_rows: String = db.sql("SELECT COUNT(*), COALESCE(SUM(v), 0) FROM inv.s");
    let deadline = Instant::now() + Duration::from_secs(90);
    let (changes, seen, duplicates, records) = loop {
        let records = read_topic(broker.bootstrap(), TOPIC);
        match check_all(&expected, &records) {
            Ok((changes, seen, duplicates)) => break (changes, seen, duplicates, records.len()),
            Err(why) if Instant::now() >= deadline => {
                panic!(
                    "the topic does not hold every committed change in order:\n{why}\n{}\nworker log:\n{}",
                    kills.join("\n"),
                    worker.log_text()
                )
            }
            Err(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    };
    let log = worker.log_text();
    let exit = worker.terminate();
    assert!(exit.success(), "graceful stop: {exit}");
    assert!(
        log.contains("resuming from the stored offset"),
        "the last restart resumed from the stored offset"
    );
    for k in &kills {
        eprintln!("{k}");
    }
    eprintln!(
        "kill -9 report: {} transactions ({} statements) committed while the worker was killed 3 times; \
         {changes} changes expected (incl. {INITIAL} snapshot reads), {seen} change records on {TOPIC} \
         ({records} records with tombstones), all present in order per key, {duplicates} duplicates; \
         table at the end (count, sum of v): {}; total {:?}",
        writer.transactions,
        writer.statements,
        final_rows.trim(),
        t0.elapsed()
    );
}

#[test]
fn the_order_check_accepts_replays_and_refuses_losses() {
    use Change::*;
    let e = [Create(1), Update(2), Update(3), Delete(3)];
    assert_eq!(check_key(&e, &e), Ok(0));
    assert_eq!(
        check_key(
            &e,
            &[
                Create(1),
                Update(2),
                Create(1),
                Update(2),
                Update(3),
                Delete(3)
            ]
        ),
        Ok(2)
    );
    assert!(check_key(&e, &[Create(1), Update(3), Delete(3)]).is_err());
    assert!(check_key(&e, &[Create(1), Update(2), Update(3)]).is_err());
    assert!(check_key(&e, &[Update(2), Create(1), Update(3), Delete(3)]).is_err());
}
