//! Secrets through config providers, against a real MariaDB and broker: a MySQL source
//! whose `database.password` is `${file:…:password}` and `database.user` is
//! `${env:…}` streams rows; `GET /connectors/{name}/config` and `/tasks` show the
//! variables as written; the worker's log never holds the password (configs are logged
//! with it `[hidden]`); a variable that cannot be resolved is a 400 naming the key and
//! the variable.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use rdkafka::consumer::Consumer;
use rdkafka::Message;
use sluice_testkit::MariaDb;

const PASSWORD: &str = "Pr0vided-S3cret-71c3";

#[test]
fn a_password_from_a_file_provider_is_used_never_shown() {
    let db = MariaDb::start();
    let broker = KafkaBroker::start();
    db.sql(&format!(
        "CREATE DATABASE sec; CREATE TABLE sec.t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO sec.t VALUES (1, 'first');
         CREATE USER 'vaulted'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}';
         GRANT SELECT, RELOAD, SHOW DATABASES, LOCK TABLES, REPLICATION SLAVE, BINLOG MONITOR,
               SLAVE MONITOR ON *.* TO 'vaulted'@'127.0.0.1';"
    ));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let secrets = write(
        dir,
        "secrets.properties",
        &format!("# the database's\npassword={PASSWORD}\n"),
    );
    let port = free_port();
    schemaless_worker_properties(dir, broker.bootstrap(), port);
    let text = std::fs::read_to_string(dir.join("worker.properties")).unwrap();
    write(
        dir,
        "worker.properties",
        &format!(
            "{text}config.providers=file,env\n\
             config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n\
             config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider\n"
        ),
    );
    let log = dir.join("sluice.log");
    let child = Command::new(sluice_bin())
        .current_dir(dir)
        .arg("standalone")
        .arg("worker.properties")
        .env("SLUICE_LOG", "debug,rdkafka=warn")
        .env("SLUICE_TEST_DB_USER", "vaulted")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut worker = Worker {
        dir: dir.to_owned(),
        port,
        child: Some(child),
        log,
    };
    wait_until(Duration::from_secs(30), "the REST API", || {
        http(port, "GET", "/", None).is_some()
    });

    let password_var = format!("${{file:{}:password}}", secrets.display());
    let config = serde_json::json!({
        "connector.class": "io.debezium.connector.mysql.MySqlConnector",
        "database.hostname": db.host(),
        "database.port": db.port().to_string(),
        "database.user": "${env:SLUICE_TEST_DB_USER}",
        "database.password": password_var,
        "database.server.id": "5611",
        "topic.prefix": "vault",
        "table.include.list": "sec\\.t",
    });
    let (status, body) = worker.request(
        "POST",
        "/connectors",
        Some(&serde_json::json!({"name": "vaulted", "config": config}).to_string()),
    );
    assert_eq!(status, 201, "{body}");
    assert!(!body.contains(PASSWORD), "{body}");

    // The rows arrive: the connector logged in with the resolved user and password.
    db.sql("INSERT INTO sec.t VALUES (2, 'second')");
    let consumer: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", format!("vault-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        // Subscribed before the connector creates the topic: look for it again soon.
        .set("topic.metadata.refresh.interval.ms", "500")
        .create()
        .unwrap();
    consumer.subscribe(&["vault.sec.t"]).unwrap();
    let mut seen = Vec::new();
    let arrived = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until(Duration::from_secs(60), "both rows on vault.sec.t", || {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                seen.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
            }
            seen.iter().any(|v| v.contains("first")) && seen.iter().any(|v| v.contains("second"))
        })
    }));
    if arrived.is_err() {
        panic!(
            "no rows; status {:?}; worker log:\n{}",
            worker.get("/connectors/vaulted/status"),
            worker.log_text()
        );
    }

    // What is stored and shown is the variable, never the secret.
    let (status, body) = worker.get("/connectors/vaulted/config");
    assert_eq!(status, 200);
    let shown: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(shown["database.password"], password_var.as_str(), "{body}");
    assert_eq!(
        shown["database.user"], "${env:SLUICE_TEST_DB_USER}",
        "{body}"
    );
    for path in [
        "/connectors/vaulted",
        "/connectors/vaulted/tasks",
        "/connectors/vaulted/status",
    ] {
        let (status, body) = worker.get(path);
        assert_eq!(status, 200, "{path}: {body}");
        assert!(!body.contains(PASSWORD), "{path} shows the secret: {body}");
    }
    let (_, tasks) = worker.get("/connectors/vaulted/tasks");
    assert!(
        tasks.contains(&password_var.replace('\\', "\\\\")),
        "{tasks}"
    );

    // A variable that cannot be resolved: 400 naming the key and the variable.
    let mut bad = config.clone();
    bad["database.password"] = serde_json::json!(format!("${{file:{}:nope}}", secrets.display()));
    let (status, body) = worker.request("PUT", "/connectors/broken/config", Some(&bad.to_string()));
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("database.password")
            && body.contains(":nope}")
            && body.contains("has no key nope"),
        "{body}"
    );

    let exit = worker.terminate();
    assert!(exit.success());
    let log = worker.log_text();
    assert!(!log.contains(PASSWORD), "the log holds the secret:\n{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("connector config")
                && l.contains("\"database.password\": \"[hidden]\"")),
        "the connector's config is logged with the password hidden:\n{log}"
    );
}
