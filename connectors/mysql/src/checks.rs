//! Connections and start-up checks: before anything is read, the server must be set up so
//! that every change can be captured, and the user must be allowed to capture it.
//!
//! Why this is right: each requirement is checked against the server's own answer
//! (`SHOW GLOBAL VARIABLES`, `SHOW GRANTS`), and each failure names the setting or
//! privilege, its current value, and the statement that fixes it. `binlog_row_image=FULL`
//! and `binlog_row_metadata=FULL` are what make schemas from the binlog possible (column
//! names, signedness, enum values, primary key) — without them events would decode to the
//! wrong columns, so they are refused, not worked around. `log_bin_compress=ON` makes
//! MariaDB write compressed row events that this connector does not decode; it is refused
//! rather than silently dropping rows. A missing variable means a server too old to have
//! it, which is named too.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

use crate::config::MySqlConfig;
use crate::error::{MySqlError, Result, SqlContext};
use crate::tls::TlsConnectError;

/// What the checks learned about the server.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub version: String,
    pub mariadb: bool,
    /// Whether binlog events carry a CRC32 checksum.
    pub checksum: bool,
    pub server_id: u64,
    /// MySQL with `gtid_mode=ON`: offsets carry the executed GTID set and a restart
    /// streams by GTID (`COM_BINLOG_DUMP_GTID`). MariaDB always has GTIDs and leaves this false.
    pub gtid_mode: bool,
}

/// Opens a connection with the config's credentials, session settings and TLS
/// (`database.ssl.*`, [`crate::tls`]).
pub async fn connect(cfg: &MySqlConfig) -> Result<Conn> {
    let opts = OptsBuilder::default()
        .ip_or_hostname(cfg.hostname.clone())
        .tcp_port(cfg.port)
        .user(Some(cfg.user.clone()))
        .pass(Some(cfg.password.clone()))
        .prefer_socket(false)
        .wait_timeout(Some(28_800))
        .init(vec![
            "SET NAMES utf8mb4",
            "SET SESSION time_zone = '+00:00'",
        ]);
    let addr = format!("{}:{}", cfg.hostname, cfg.port);
    match tokio::time::timeout(
        Duration::from_millis(cfg.connect_timeout_ms),
        cfg.tls.connect(opts),
    )
    .await
    {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(TlsConnectError::NoTlsOnServer(mode))) => Err(MySqlError::Config(format!(
            "connecting to {addr} as {}: {}",
            cfg.user,
            TlsConnectError::NoTlsOnServer(mode)
        ))),
        Ok(Err(TlsConnectError::Driver(e))) => {
            Err(e).ctx(|| format!("connecting to {addr} as {}", cfg.user))
        }
        Err(_) => Err(MySqlError::sql(
            format!("connecting to {addr} as {}", cfg.user),
            mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "no answer within connect.timeout.ms={}",
                    cfg.connect_timeout_ms
                ),
            ))),
        )),
    }
}

fn setting(name: &str, value: &str, want: &str, why: &str) -> MySqlError {
    MySqlError::Setting(format!(
        "the server has {name}={value}, but change data capture needs {name}={want} ({why}); fix it with: SET GLOBAL {name}={want}; and set {name}={want} under [mysqld] in the server's config file so it survives a restart (SET GLOBAL applies to new sessions: restart the applications that write, or reconnect them)"
    ))
}

/// Checks the server's binlog settings and the user's privileges.
pub async fn check(conn: &mut Conn, cfg: &MySqlConfig, needs_snapshot: bool) -> Result<ServerInfo> {
    let vars: Vec<(String, Option<String>)> = conn
        .query(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('version', 'log_bin', 'binlog_format', \
             'binlog_row_image', 'binlog_row_metadata', 'log_bin_compress', 'binlog_checksum', \
             'server_id', 'binlog_row_value_options', 'gtid_mode')",
        )
        .await
        .ctx(|| "reading the server's binlog settings (SHOW GLOBAL VARIABLES)".into())?;
    let get = |name: &str| {
        vars.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone().unwrap_or_default())
    };
    let version = get("version").unwrap_or_default();
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    let is = |name: &str, want: &str| get(name).is_some_and(|v| v.eq_ignore_ascii_case(want));
    if !is("log_bin", "ON") {
        return Err(MySqlError::Setting(format!(
            "the server has log_bin={}, but change data capture reads the binary log; log_bin cannot be changed at run time: start the server with --log-bin (log_bin=mysql-bin under [mysqld]) and a unique --server-id",
            get("log_bin").unwrap_or_else(|| "OFF".into())
        )));
    }
    if !is("binlog_format", "ROW") {
        return Err(setting(
            "binlog_format",
            &get("binlog_format").unwrap_or_default(),
            "ROW",
            "statement-based events do not say which rows changed",
        ));
    }
    if !is("binlog_row_image", "FULL") {
        return Err(setting(
            "binlog_row_image",
            &get("binlog_row_image").unwrap_or_default(),
            "FULL",
            "events must carry every column of the before and after row",
        ));
    }
    match get("binlog_row_metadata") {
        None => {
            return Err(MySqlError::Setting(format!(
                "the server ({version}) has no binlog_row_metadata setting: schemas are read from the binlog's table metadata, which needs MySQL 8.0.1 or later, or MariaDB 10.5 or later"
            )))
        }
        Some(v) if !v.eq_ignore_ascii_case("FULL") => {
            return Err(setting("binlog_row_metadata", &v, "FULL", "column names, signedness, ENUM / SET values and the primary key come from the binlog's table metadata"));
        }
        _ => {}
    }
    if let Some(v) = get("log_bin_compress") {
        if !v.eq_ignore_ascii_case("OFF") {
            return Err(setting(
                "log_bin_compress",
                &v,
                "OFF",
                "compressed row events are not decoded, and skipping them would lose changes",
            ));
        }
    }
    if let Some(v) = get("binlog_row_value_options") {
        if v.to_ascii_uppercase().contains("PARTIAL_JSON") {
            return Err(MySqlError::Setting(format!(
                "the server has binlog_row_value_options={v}: partial JSON updates carry only the changed paths; fix it with: SET GLOBAL binlog_row_value_options=''"
            )));
        }
    }
    check_privileges(conn, cfg, mariadb, needs_snapshot).await?;
    let checksum = get("binlog_checksum").is_some_and(|v| !v.eq_ignore_ascii_case("NONE"));
    let server_id = get("server_id").and_then(|s| s.parse().ok()).unwrap_or(0);
    let gtid_mode = !mariadb && is("gtid_mode", "ON");
    tracing::info!(version = %version, mariadb, checksum, server_id, gtid_mode, "server settings are fit for change data capture");
    Ok(ServerInfo {
        version,
        mariadb,
        checksum,
        server_id,
        gtid_mode,
    })
}

async fn check_privileges(
    conn: &mut Conn,
    cfg: &MySqlConfig,
    mariadb: bool,
    needs_snapshot: bool,
) -> Result<()> {
    let who: Option<String> = conn
        .query_first("SELECT CURRENT_USER()")
        .await
        .ctx(|| "reading the current user".into())?;
    let who = who.unwrap_or_else(|| cfg.user.clone());
    let (user, host) = who.rsplit_once('@').unwrap_or((who.as_str(), "%"));
    let grants: Vec<String> = conn
        .query("SHOW GRANTS FOR CURRENT_USER()")
        .await
        .ctx(|| "reading the user's privileges (SHOW GRANTS)".into())?;
    let upper: Vec<String> = grants.iter().map(|g| g.to_ascii_uppercase()).collect();
    // Privileges that come through roles are not listed; do not guess about them.
    if upper
        .iter()
        .any(|g| g.starts_with("GRANT ") && !g.contains(" ON "))
    {
        tracing::debug!("the user has roles; privilege checks are left to the server");
        return Ok(());
    }
    let global: Vec<&String> = upper.iter().filter(|g| g.contains(" ON *.* ")).collect();
    if global.iter().any(|g| g.contains("ALL PRIVILEGES")) {
        return Ok(());
    }
    let has = |p: &str| global.iter().any(|g| g.contains(p));
    let client = if mariadb {
        "BINLOG MONITOR"
    } else {
        "REPLICATION CLIENT"
    };
    let mut missing = Vec::new();
    if !has("REPLICATION SLAVE") {
        missing.push(("REPLICATION SLAVE", "reading the binlog"));
    }
    if !has(client) && !has("REPLICATION CLIENT") && !has("SUPER") {
        missing.push((
            client,
            "reading the binlog position (SHOW MASTER STATUS, SHOW BINARY LOGS)",
        ));
    }
    if needs_snapshot && !upper.iter().any(|g| g.contains("SELECT")) {
        missing.push(("SELECT", "reading the tables' rows in the snapshot"));
    }
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|(p, _)| *p).collect();
        let why: Vec<String> = missing
            .iter()
            .map(|(p, w)| format!("{p} for {w}"))
            .collect();
        return Err(MySqlError::Setting(format!(
            "the user '{user}'@'{host}' lacks {}; fix it with: GRANT {} ON *.* TO '{user}'@'{host}';",
            why.join(", "),
            names.join(", ")
        )));
    }
    Ok(())
}

/// The binlog files on the server, oldest first.
pub async fn binary_logs(conn: &mut Conn) -> Result<Vec<String>> {
    let rows: Vec<mysql_async::Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .ctx(|| "listing binlog files (SHOW BINARY LOGS)".into())?;
    Ok(rows
        .into_iter()
        .filter_map(|mut r| r.take_opt::<String, usize>(0).and_then(|v| v.ok()))
        .collect())
}

/// The current end of the binlog: file, position and the GTID state there (MariaDB's
/// `gtid_binlog_pos`; MySQL's `Executed_Gtid_Set`, in Debezium's text form, when
/// `gtid_mode=ON`). MySQL 8.4 renamed `SHOW MASTER STATUS` to `SHOW BINARY LOG STATUS`;
/// both are tried.
pub async fn current_position(
    conn: &mut Conn,
    mariadb: bool,
) -> Result<(String, u64, Option<String>)> {
    let row: Option<mysql_async::Row> = match conn.query_first("SHOW MASTER STATUS").await {
        Ok(r) => r,
        Err(mysql_async::Error::Server(e)) if !mariadb => {
            tracing::debug!(error = %e, "SHOW MASTER STATUS refused; trying SHOW BINARY LOG STATUS");
            conn.query_first("SHOW BINARY LOG STATUS")
                .await
                .ctx(|| "reading the binlog position (SHOW BINARY LOG STATUS)".into())?
        }
        Err(e) => {
            return Err(MySqlError::sql(
                "reading the binlog position (SHOW MASTER STATUS)",
                e,
            ))
        }
    };
    let mut row = row.ok_or_else(|| {
        MySqlError::Setting("SHOW MASTER STATUS returned nothing: the binary log is off; start the server with --log-bin".into())
    })?;
    let file: String = row.take_opt(0).and_then(|v| v.ok()).unwrap_or_default();
    let pos: u64 = row.take_opt(1).and_then(|v| v.ok()).unwrap_or(4);
    let gtids = if mariadb {
        conn.query_first::<Option<String>, _>("SELECT @@GLOBAL.gtid_binlog_pos")
            .await
            .ctx(|| "reading @@gtid_binlog_pos".into())?
            .flatten()
    } else {
        let executed: Option<String> = row.take_opt(4).and_then(|v| v.ok());
        executed.and_then(|text| mysql_gtid_text(&text, "Executed_Gtid_Set"))
    };
    Ok((file, pos, gtids))
}

/// A MySQL GTID set from the server, in canonical text; `None` when empty or unusable.
fn mysql_gtid_text(text: &str, what: &str) -> Option<String> {
    match crate::gtid::GtidSet::parse(text) {
        Ok(s) if s.is_empty() => None,
        Ok(s) => Some(s.to_string()),
        Err(e) => {
            tracing::warn!(error = %e, "{what} cannot be used ({e}): offsets keep file and position only");
            None
        }
    }
}

/// MySQL's `@@GLOBAL.gtid_purged`: transactions no longer in any binlog file.
pub async fn gtid_purged(conn: &mut Conn) -> Result<crate::gtid::GtidSet> {
    let text: Option<Option<String>> = conn
        .query_first("SELECT @@GLOBAL.gtid_purged")
        .await
        .ctx(|| "reading @@GLOBAL.gtid_purged".into())?;
    crate::gtid::GtidSet::parse(text.flatten().as_deref().unwrap_or(""))
        .map_err(|e| MySqlError::Setting(format!("@@GLOBAL.gtid_purged cannot be read: {e}")))
}
