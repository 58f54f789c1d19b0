//! Restarts: from a stored streaming offset (inside a transaction, between events, after
//! the last event) and from a snapshot interrupted half way.

mod common;

use common::*;
use sluice_core::plugin::SourceTask;
use sluice_core::{SourceRecord, Value};
use sluice_testkit::MariaDb;

fn id_of(r: &SourceRecord) -> Option<i64> {
    let Value::Struct(k) = &r.record.key.value else {
        return None;
    };
    match k.get("id")? {
        Value::Int32(i) => Some(i64::from(*i)),
        Value::Int64(i) => Some(*i),
        _ => None,
    }
}

fn op_of(r: &SourceRecord) -> Option<String> {
    let Value::Struct(v) = &r.record.value.value else {
        return None;
    };
    v.get("op").and_then(Value::as_str).map(str::to_owned)
}

fn ids(records: &[SourceRecord]) -> Vec<i64> {
    records.iter().filter_map(id_of).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_restart_resumes_right_after_the_acknowledged_record() {
    init_logging();
    let db = MariaDb::start();
    db.sql("CREATE DATABASE inv; CREATE TABLE inv.r (id INT PRIMARY KEY, v INT);");
    let cfg = config(
        &db,
        &[
            ("snapshot.mode", "no_data"),
            ("table.include.list", "inv\\.r"),
        ],
    );
    let mut task = start(&cfg, None).await.expect("start");
    // Give the reader a moment to connect before writing.
    let _ = poll_for(&mut task, 1).await;
    db.sql(
        "BEGIN; INSERT INTO inv.r VALUES (1,1),(2,2),(3,3); INSERT INTO inv.r VALUES (4,4),(5,5); COMMIT;
         INSERT INTO inv.r VALUES (6,6);",
    );
    let all = poll_n(&mut task, 6, 30).await;
    assert_eq!(ids(&all), vec![1, 2, 3, 4, 5, 6]);
    task.stop().await.expect("stop");

    // After row 2 of the first rows event: rows 3..6 follow, nothing twice.
    for (after, expected) in [
        (1usize, vec![3, 4, 5, 6]),
        (3, vec![5, 6]),
        (2, vec![4, 5, 6]),
    ] {
        let offset = all[after].source_offset.to_map();
        let mut t = start(&cfg, Some(offset.clone())).await.expect("restart");
        let got = poll_n(&mut t, expected.len(), 30).await;
        let extra = poll_for(&mut t, 2).await;
        assert_eq!(
            ids(&got),
            expected,
            "resuming after record {after} ({offset:?})"
        );
        assert!(
            extra.is_empty(),
            "nothing more after the resume: {:?}",
            ids(&extra)
        );
        t.stop().await.expect("stop");
    }

    // After the last record: only new changes.
    let mut t = start(&cfg, Some(all[5].source_offset.to_map()))
        .await
        .expect("restart");
    assert!(poll_for(&mut t, 2).await.is_empty());
    db.sql("INSERT INTO inv.r VALUES (7,7); UPDATE inv.r SET v = 70 WHERE id = 7;");
    let got = poll_n(&mut t, 2, 30).await;
    assert_eq!(ids(&got), vec![7, 7]);
    assert_eq!(
        got.iter().filter_map(op_of).collect::<Vec<_>>(),
        vec!["c", "u"]
    );
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_resumes_after_a_crash_from_the_last_row() {
    init_logging();
    let db = MariaDb::start();
    let mut sql = String::from(
        "CREATE DATABASE inv; CREATE TABLE inv.big (id INT PRIMARY KEY, v VARCHAR(20));",
    );
    sql.push_str("INSERT INTO inv.big VALUES ");
    sql.push_str(
        &(1..=50)
            .map(|i| format!("({i}, 'row {i}')"))
            .collect::<Vec<_>>()
            .join(","),
    );
    sql.push(';');
    db.sql(&sql);
    let cfg = config(
        &db,
        &[
            ("table.include.list", "inv\\.big"),
            ("snapshot.fetch.size", "7"),
            ("max.batch.size", "5"),
        ],
    );
    let mut task = start(&cfg, None).await.expect("start");
    let first = poll_n(&mut task, 20, 30).await;
    assert_eq!(ids(&first)[..20], (1..=20).collect::<Vec<_>>()[..]);
    // "Crash": drop the task without stopping; offsets acknowledged up to row 20.
    let offset = first[19].source_offset.to_map();
    drop(task);
    assert_eq!(offset.get("snapshot"), Some(&serde_json::Value::Bool(true)));
    assert_eq!(
        offset.get("snapshot_table").and_then(|v| v.as_str()),
        Some("inv.big")
    );

    let mut task = start(&cfg, Some(offset)).await.expect("restart");
    let rest = poll_n(&mut task, 30, 30).await;
    assert_eq!(ids(&rest), (21..=50).collect::<Vec<_>>());
    assert!(rest.iter().all(|r| op_of(r).as_deref() == Some("r")));
    let last = rest.last().expect("last");
    let Value::Struct(env) = &last.record.value.value else {
        panic!("envelope")
    };
    let Some(Value::Struct(src)) = env.get("source") else {
        panic!("source")
    };
    assert_eq!(src.get("snapshot").and_then(Value::as_str), Some("last"));
    assert!(
        !last.source_offset.to_map().contains_key("snapshot"),
        "the last snapshot record's offset ends the snapshot"
    );
    // Then it streams.
    db.sql("INSERT INTO inv.big VALUES (51, 'new');");
    let got = poll_n(&mut task, 1, 30).await;
    assert_eq!(
        (ids(&got), op_of(&got[0])),
        (vec![51], Some("c".to_owned()))
    );
    task.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_position_is_a_guided_error_and_when_needed_snapshots_again() {
    init_logging();
    let db = MariaDb::start();
    db.sql("CREATE DATABASE inv; CREATE TABLE inv.t (id INT PRIMARY KEY); INSERT INTO inv.t VALUES (1), (2);");
    let mut gone = sluice_core::record::OffsetMap::new();
    gone.insert("file".into(), "mysql-bin.000099".into());
    gone.insert("pos".into(), 4.into());
    let cfg = config(&db, &[("table.include.list", "inv\\.t")]);
    let err = start(&cfg, Some(gone.clone()))
        .await
        .expect_err("the position is gone")
        .to_string();
    for needle in [
        "mysql-bin.000099",
        "snapshot.mode=when_needed",
        "PATCH /connectors/",
        "mysql-bin.000001",
    ] {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
    let cfg = config(
        &db,
        &[
            ("table.include.list", "inv\\.t"),
            ("snapshot.mode", "when_needed"),
        ],
    );
    let mut task = start(&cfg, Some(gone)).await.expect("when_needed starts");
    let got = poll_n(&mut task, 2, 30).await;
    assert_eq!(ids(&got), vec![1, 2]);
    assert!(got.iter().all(|r| op_of(r).as_deref() == Some("r")));
    task.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_and_transaction_metadata() {
    init_logging();
    let db = MariaDb::start();
    db.sql("CREATE DATABASE inv; CREATE TABLE inv.t (id INT PRIMARY KEY, v INT); CREATE TABLE inv.u (id INT PRIMARY KEY);");
    let cfg = config(
        &db,
        &[
            ("snapshot.mode", "no_data"),
            ("heartbeat.interval.ms", "300"),
            ("provide.transaction.metadata", "true"),
        ],
    );
    let mut task = start(&cfg, None).await.expect("start");
    let _ = poll_for(&mut task, 1).await;
    db.sql("BEGIN; INSERT INTO inv.t VALUES (1,1),(2,2); INSERT INTO inv.u VALUES (9); COMMIT;");
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !got.iter().any(|r: &SourceRecord| {
        r.record.topic == "dbserver1.transaction" && render(r).1["payload"]["status"] == "END"
    }) {
        assert!(std::time::Instant::now() < deadline, "no transaction END");
        got.extend(task.poll().await.expect("poll"));
    }
    got.extend(poll_for(&mut task, 2).await);
    let tx: Vec<_> = got
        .iter()
        .filter(|r| r.record.topic == "dbserver1.transaction")
        .map(render)
        .collect();
    assert_eq!(tx.len(), 2);
    let (bk, bv) = &tx[0];
    assert_eq!(bv["payload"]["status"], "BEGIN");
    assert_eq!(
        bv["schema"]["name"],
        "io.debezium.connector.common.TransactionMetadataValue"
    );
    assert_eq!(
        bk["schema"]["name"],
        "io.debezium.connector.common.TransactionMetadataKey"
    );
    let id = bv["payload"]["id"].clone();
    let (_, ev) = &tx[1];
    assert_eq!(ev["payload"]["id"], id);
    assert_eq!(ev["payload"]["event_count"], 3);
    assert_eq!(
        ev["payload"]["data_collections"],
        serde_json::json!([{"data_collection": "inv.t", "event_count": 2}, {"data_collection": "inv.u", "event_count": 1}])
    );
    let blocks: Vec<serde_json::Value> = got
        .iter()
        .filter(|r| r.record.topic.starts_with("dbserver1.inv."))
        .map(|r| render(r).1["payload"]["transaction"].clone())
        .collect();
    assert_eq!(
        blocks,
        vec![
            serde_json::json!({"id": id, "total_order": 1, "data_collection_order": 1}),
            serde_json::json!({"id": id, "total_order": 2, "data_collection_order": 2}),
            serde_json::json!({"id": id, "total_order": 3, "data_collection_order": 1}),
        ]
    );
    let beats: Vec<_> = got
        .iter()
        .filter(|r| r.record.topic == "__debezium-heartbeat.dbserver1")
        .collect();
    assert!(!beats.is_empty(), "heartbeats while idle");
    let (hk, hv) = render(beats[0]);
    assert_eq!(
        hk["payload"],
        serde_json::json!({"serverName": "dbserver1"})
    );
    assert_eq!(
        hk["schema"]["name"],
        "io.debezium.connector.common.ServerNameKey"
    );
    assert_eq!(
        hv["schema"]["name"],
        "io.debezium.connector.common.Heartbeat"
    );
    assert!(hv["payload"]["ts_ms"].is_i64());
    assert!(beats[0].source_offset.to_map().contains_key("gtids"));
    task.stop().await.expect("stop");
}
