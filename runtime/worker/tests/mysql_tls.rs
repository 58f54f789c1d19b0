//! The MySQL source over TLS, against a real MariaDB started with `--ssl-cert`,
//! `--ssl-key` and `--ssl-ca` (certificates made by the test's own CA): a user that
//! `REQUIRE SSL` streams rows with `database.ssl.mode=verify_identity` and the CA in
//! `database.ssl.truststore` (PEM); the same connector against a server without TLS and
//! `database.ssl.mode=required` fails with a message naming the mode and the fix.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rdkafka::consumer::Consumer;
use rdkafka::Message;
use sluice_testkit::MariaDb;

/// Writes ca.pem, server-cert.pem and server-key.pem for 127.0.0.1 into `dir`.
fn server_pki(dir: &Path) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "sluice mysql test CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    write(dir, "ca.pem", &ca.pem());
    write(dir, "server-cert.pem", &cert.pem());
    write(dir, "server-key.pem", &key.serialize_pem());
}

fn connector(name: &str, db: &MariaDb, user: &str, password: &str, tls: &str) -> String {
    format!(
        r#"{{"name": "{name}", "config": {{
            "connector.class": "io.debezium.connector.mysql.MySqlConnector",
            "database.hostname": "{}", "database.port": "{}",
            "database.user": "{user}", "database.password": "{password}",
            "database.server.id": "5622", "topic.prefix": "{name}",
            "table.include.list": "enc\\.t", {tls}}}}}"#,
        db.host(),
        db.port()
    )
}

#[test]
fn the_source_streams_over_verified_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    server_pki(dir);
    let path = |f: &str| dir.join(f).display().to_string();
    let db = MariaDb::start_with_options(&[
        format!("--ssl-ca={}", path("ca.pem")),
        format!("--ssl-cert={}", path("server-cert.pem")),
        format!("--ssl-key={}", path("server-key.pem")),
    ]);
    db.sql(
        "CREATE DATABASE enc; CREATE TABLE enc.t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO enc.t VALUES (1, 'over-tls-1');
         CREATE USER 'tlsonly'@'127.0.0.1' IDENTIFIED BY 'tlsonly' REQUIRE SSL;
         GRANT SELECT, RELOAD, SHOW DATABASES, LOCK TABLES, REPLICATION SLAVE, BINLOG MONITOR,
               SLAVE MONITOR ON *.* TO 'tlsonly'@'127.0.0.1';",
    );
    let broker = KafkaBroker::start();
    let port = free_port();
    schemaless_worker_properties(dir, broker.bootstrap(), port);
    let file = write(
        dir,
        "tls.json",
        &connector(
            "tlsrc",
            &db,
            "tlsonly",
            "tlsonly",
            &format!(
                r#""database.ssl.mode": "verify_identity", "database.ssl.truststore": "{}""#,
                path("ca.pem")
            ),
        ),
    );
    let worker = Worker::start(dir, port, &[file]);
    db.sql("INSERT INTO enc.t VALUES (2, 'over-tls-2')");
    let consumer: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", format!("tls-{}", std::process::id()))
        .set("auto.offset.reset", "earliest")
        // Subscribed before the connector creates the topic: look for it again soon.
        .set("topic.metadata.refresh.interval.ms", "500")
        .create()
        .unwrap();
    consumer.subscribe(&["tlsrc.enc.t"]).unwrap();
    let mut seen = Vec::new();
    let arrived = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until(Duration::from_secs(60), "both rows on tlsrc.enc.t", || {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                seen.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
            }
            seen.iter().any(|v| v.contains("over-tls-1"))
                && seen.iter().any(|v| v.contains("over-tls-2"))
        })
    }));
    if arrived.is_err() {
        panic!(
            "no rows over TLS; status {:?}; log:\n{}",
            worker.get("/connectors/tlsrc/status"),
            worker.log_text()
        );
    }
    // The user is `REQUIRE SSL`: rows arriving mean the connector's sessions are encrypted.
}

#[test]
fn required_tls_against_a_server_without_it_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = MariaDb::start();
    db.sql("CREATE DATABASE enc; CREATE TABLE enc.t (id INT PRIMARY KEY, v VARCHAR(20));");
    let broker = KafkaBroker::start();
    let port = free_port();
    schemaless_worker_properties(dir, broker.bootstrap(), port);
    let file = write(
        dir,
        "plain.json",
        &connector(
            "plain",
            &db,
            db.user(),
            db.password(),
            r#""database.ssl.mode": "required""#,
        ),
    );
    let worker = Worker::start(dir, port, &[file]);
    let mut last = String::new();
    wait_until(Duration::from_secs(60), "the task to fail", || {
        last = worker.get("/connectors/plain/status").1;
        last.contains("FAILED")
    });
    assert!(
        last.contains("does not offer TLS") && last.contains("database.ssl.mode=required"),
        "{last}"
    );
}
