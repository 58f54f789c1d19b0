//! Start-up checks: each failure names the setting or privilege and the statement that fixes it.

mod common;

use common::*;
use sluice_testkit::MariaDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_checks_name_the_setting_and_the_fix() {
    init_logging();
    let db = MariaDb::start();
    db.sql("CREATE DATABASE inv; CREATE TABLE inv.t (id INT PRIMARY KEY);");
    let cfg = config(&db, &[]);
    for (set, reset, needles) in [
        (
            "SET GLOBAL binlog_row_metadata = MINIMAL",
            "SET GLOBAL binlog_row_metadata = FULL",
            [
                "binlog_row_metadata=MINIMAL",
                "SET GLOBAL binlog_row_metadata=FULL",
            ],
        ),
        (
            "SET GLOBAL binlog_format = STATEMENT",
            "SET GLOBAL binlog_format = ROW",
            ["binlog_format=STATEMENT", "SET GLOBAL binlog_format=ROW"],
        ),
        (
            "SET GLOBAL binlog_row_image = MINIMAL",
            "SET GLOBAL binlog_row_image = FULL",
            [
                "binlog_row_image=MINIMAL",
                "SET GLOBAL binlog_row_image=FULL",
            ],
        ),
        (
            "SET GLOBAL log_bin_compress = ON",
            "SET GLOBAL log_bin_compress = OFF",
            ["log_bin_compress=ON", "SET GLOBAL log_bin_compress=OFF"],
        ),
    ] {
        db.sql(set);
        let err = start(&cfg, None).await.expect_err(set).to_string();
        db.sql(reset);
        for n in needles {
            assert!(err.contains(n), "{n:?} missing from: {err}");
        }
    }

    db.sql(
        "CREATE USER 'weak'@'127.0.0.1' IDENTIFIED BY 'weak';
         GRANT SELECT, RELOAD, BINLOG MONITOR ON *.* TO 'weak'@'127.0.0.1';",
    );
    let mut weak = cfg.clone();
    weak.insert("database.user".into(), "weak".into());
    weak.insert("database.password".into(), "weak".into());
    let err = start(&weak, None)
        .await
        .expect_err("no REPLICATION SLAVE")
        .to_string();
    for n in [
        "REPLICATION SLAVE",
        "GRANT REPLICATION SLAVE ON *.* TO 'weak'@'127.0.0.1'",
    ] {
        assert!(err.contains(n), "{n:?} missing from: {err}");
    }

    // And with everything right, it starts.
    let mut task = start(&cfg, None)
        .await
        .expect("a well-configured server passes");
    sluice_core::plugin::SourceTask::stop(&mut task)
        .await
        .expect("stop");
}

#[tokio::test]
async fn bad_config_is_refused_before_connecting() {
    let mut cfg = sluice_core::config::ConfigMap::new();
    cfg.insert("database.hostname".into(), "127.0.0.1".into());
    cfg.insert("database.user".into(), "u".into());
    cfg.insert("topic.prefix".into(), "p".into());
    cfg.insert("decimal.handling.mode".into(), "exact".into());
    let err = start(&cfg, None).await.expect_err("invalid").to_string();
    assert!(err.contains("decimal.handling.mode"), "{err}");
}
