//! Each server starts, answers its protocol, and is gone once dropped.

use std::path::Path;
use std::time::{Duration, Instant};

use sluice_testkit::probe::{kafka_api_versions, mongo_hello};
use sluice_testkit::{free_port, wait_until, KafkaBroker, MariaDb, SecantusDb};

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether a process with this id exists (a reaped child no longer has a /proc entry).
fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Drops `server` and checks that process `pid` (if the kit started one) is gone.
fn assert_stops<T>(server: T, pid: Option<u32>) {
    let started = Instant::now();
    drop(server);
    if let Some(pid) = pid {
        assert!(
            !process_exists(pid),
            "process {pid} still exists after drop"
        );
        eprintln!("stopped pid {pid} in {:?}", started.elapsed());
    }
}

fn assert_kafka_answers(broker: &KafkaBroker) {
    let versions = kafka_api_versions(broker.bootstrap(), PROBE_TIMEOUT)
        .unwrap_or_else(|e| panic!("ApiVersions on {}: {e}", broker.bootstrap()));
    for api_key in [0, 1, 3, 18] {
        assert!(
            versions.iter().any(|range| range.api_key == api_key),
            "broker {} does not list API key {api_key}: {versions:?}",
            broker.bootstrap()
        );
    }
}

#[test]
fn noida_db_broker_starts_answers_and_stops() {
    let started = Instant::now();
    let broker = KafkaBroker::start();
    eprintln!(
        "noida-db ready on {} in {:?}",
        broker.bootstrap(),
        started.elapsed()
    );
    assert_kafka_answers(&broker);
    let pid = broker.pid();
    assert_stops(broker, pid);
}

#[test]
fn two_noida_db_brokers_run_side_by_side() {
    let first = KafkaBroker::start();
    let second = KafkaBroker::start();
    if first.pid().is_some() {
        assert_ne!(first.bootstrap(), second.bootstrap());
    }
    assert_kafka_answers(&first);
    assert_kafka_answers(&second);
}

#[test]
fn tansu_broker_starts_answers_and_stops() {
    let started = Instant::now();
    let broker = KafkaBroker::start_tansu();
    eprintln!(
        "tansu ready on {} in {:?}",
        broker.bootstrap(),
        started.elapsed()
    );
    assert_kafka_answers(&broker);
    let pid = broker.pid();
    assert_stops(broker, pid);
}

#[test]
fn mariadb_starts_with_a_row_binlog_and_a_replication_user() {
    let started = Instant::now();
    let db = MariaDb::start();
    eprintln!(
        "mariadb ready on {}:{} in {:?}",
        db.host(),
        db.port(),
        started.elapsed()
    );
    assert_eq!(
        db.sql("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata"),
        "1\tROW\tFULL\tFULL\n"
    );
    let status = db.sql_as_user("SHOW MASTER STATUS");
    assert!(
        !status.trim().is_empty(),
        "SHOW MASTER STATUS printed nothing"
    );
    db.sql(
        "CREATE DATABASE IF NOT EXISTS testkit;
         CREATE OR REPLACE TABLE testkit.t (id INT PRIMARY KEY, name VARCHAR(20))
             CHARACTER SET utf8mb4;
         INSERT INTO testkit.t VALUES (1, 'snowman \u{2603}');",
    );
    assert_eq!(
        db.sql_as_user("SELECT id, name, CHAR_LENGTH(name) FROM testkit.t"),
        "1\tsnowman \u{2603}\t9\n"
    );
    if db.socket().is_some() {
        assert_eq!((db.user(), db.password()), ("sluice", "sluice"));
        let grants = db.sql_as_user("SHOW GRANTS");
        for privilege in [
            "REPLICATION SLAVE",
            "BINLOG MONITOR",
            "RELOAD",
            "LOCK TABLES",
        ] {
            assert!(grants.contains(privilege), "{privilege} not in {grants}");
        }
    }
    let pid = db.pid();
    assert_stops(db, pid);
}

#[test]
fn secantus_starts_as_a_replica_set_primary() {
    let started = Instant::now();
    let db = SecantusDb::start();
    eprintln!("secantus ready at {} in {:?}", db.uri(), started.elapsed());
    assert_eq!(
        db.uri(),
        format!("mongodb://127.0.0.1:{}/?replicaSet=secantus", db.port())
    );
    let hello = mongo_hello(&db.address(), PROBE_TIMEOUT).expect("hello answered");
    assert!(hello.ok && hello.is_writable_primary, "{hello:?}");
    assert_eq!(hello.set_name.as_deref(), Some(SecantusDb::REPLICA_SET));
    assert_eq!(hello.hosts, vec![db.address()]);
    let pid = db.pid();
    assert_stops(db, Some(pid));
}

#[test]
fn free_ports_are_distinct_and_bindable() {
    let ports: Vec<u16> = (0..20).map(|_| free_port()).collect();
    let mut unique = ports.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ports.len(), "{ports:?}");
    std::net::TcpListener::bind(("127.0.0.1", ports[0])).expect("a free port can be bound");
}

#[test]
fn wait_until_returns_once_the_condition_holds() {
    let mut polls = 0;
    wait_until(Duration::from_secs(5), "the third poll", || {
        polls += 1;
        polls == 3
    });
    assert_eq!(polls, 3);
}

#[test]
#[should_panic(expected = "timed out after 200ms waiting for the impossible")]
fn wait_until_panics_naming_what_it_waited_for() {
    wait_until(Duration::from_millis(200), "the impossible", || false);
}
