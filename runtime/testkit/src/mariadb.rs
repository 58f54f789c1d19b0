//! A MariaDB server with a row-based binlog and a replication user, for CDC tests.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::locate::{env_var, missing, on_path};
use crate::process::{log_tail, on_free_port, wait_until, ServerDir, ServerProcess, START_TIMEOUT};

/// Directories searched after `$PATH`: Debian installs `mariadbd` in /usr/sbin.
const SYSTEM_DIRS: &[&str] = &["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"];

/// The replication user's name and password on a server the kit starts.
const REPLICATION_USER: &str = "sluice";

/// Run as root once the server is up: drops anonymous users, which would shadow the
/// replication user for local connections, and creates the replication user with what
/// a Debezium-style MariaDB connector needs (snapshot: SELECT, RELOAD, SHOW DATABASES,
/// LOCK TABLES; streaming: REPLICATION SLAVE, and BINLOG MONITOR for SHOW MASTER STATUS
/// and SHOW BINARY LOGS, which REPLICATION CLIENT is an alias of on MariaDB 10.5+;
/// SLAVE MONITOR for SHOW SLAVE STATUS).
const SETUP_SQL: &str = "
DELETE FROM mysql.global_priv WHERE User = '';
FLUSH PRIVILEGES;
CREATE USER 'sluice'@'127.0.0.1' IDENTIFIED BY 'sluice';
CREATE USER 'sluice'@'localhost' IDENTIFIED BY 'sluice';
GRANT SELECT, RELOAD, SHOW DATABASES, LOCK TABLES, REPLICATION SLAVE, BINLOG MONITOR,
      SLAVE MONITOR ON *.* TO 'sluice'@'127.0.0.1', 'sluice'@'localhost';
";

/// The MariaDB programs the kit runs.
struct Programs {
    server: PathBuf,
    install_db: PathBuf,
    client: PathBuf,
}

impl Programs {
    fn get() -> &'static Self {
        static PROGRAMS: OnceLock<Programs> = OnceLock::new();
        PROGRAMS.get_or_init(|| {
            let find = |names: &[&str]| {
                names
                    .iter()
                    .find_map(|name| on_path(name, SYSTEM_DIRS))
                    .unwrap_or_else(|| {
                        missing(&format!("{} (Debian package mariadb-server)", names[0]))
                    })
            };
            Self {
                server: find(&["mariadbd", "mysqld"]),
                install_db: find(&["mariadb-install-db", "mysql_install_db"]),
                client: find(&["mariadb", "mysql"]),
            }
        })
    }
}

/// A MariaDB server on loopback with `log_bin`, `binlog_format=ROW`,
/// `binlog_row_image=FULL` and `binlog_row_metadata=FULL`, and a replication user
/// `sluice`/`sluice` on 127.0.0.1 and localhost. Stopped when dropped.
pub struct MariaDb {
    host: String,
    port: u16,
    user: String,
    password: String,
    socket: Option<PathBuf>,
    server: Option<ServerProcess>,
    /// Declared after `server` so it is removed only once the process has stopped.
    _dir: Option<ServerDir>,
}

impl MariaDb {
    /// Initialises a data directory in a temporary directory, starts `mariadbd` on a free
    /// port (as a plain process, `--user=root` when running as root), waits until
    /// `SELECT 1` answers over its socket, and creates the replication user. Root has an
    /// empty password and is used by [`MariaDb::sql`] over the socket.
    ///
    /// If `SLUICE_TEST_MARIADB` is set to `host:port`, starts nothing and uses that server
    /// with user `$SLUICE_TEST_MARIADB_USER` and password `$SLUICE_TEST_MARIADB_PASSWORD`
    /// (default `sluice`/`sluice`); that user should also be able to create tables.
    pub fn start() -> Self {
        match env_var("SLUICE_TEST_MARIADB") {
            Some(address) => Self::external(&address),
            None => Self::launch(&[]),
        }
    }

    /// Like [`MariaDb::start`], with extra `mariadbd` options (e.g. `--ssl-cert=…`). Always
    /// starts a server of its own: a test that needs server options cannot run against
    /// one named by `SLUICE_TEST_MARIADB`.
    pub fn start_with_options(options: &[String]) -> Self {
        Self::launch(options)
    }

    /// The host to connect to over TCP.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The replication user's name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The replication user's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The Unix socket of a server the kit started; `None` for one named by
    /// `SLUICE_TEST_MARIADB`.
    pub fn socket(&self) -> Option<&Path> {
        self.socket.as_deref()
    }

    /// The server's process id, or `None` for one named by `SLUICE_TEST_MARIADB`.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(ServerProcess::pid)
    }

    /// Runs `statement` (one or more `;`-separated statements) with the `mariadb` client
    /// in batch mode without column names, and returns its standard output: rows are
    /// lines, columns are tab-separated. Runs as root over the socket on a server the kit
    /// started, as [`MariaDb::user`] on one named by `SLUICE_TEST_MARIADB`. Panics with the
    /// client's standard error if the statement fails.
    pub fn sql(&self, statement: &str) -> String {
        self.run(self.admin_client(), statement)
    }

    /// Like [`MariaDb::sql`], but always as [`MariaDb::user`] over TCP: checks what the
    /// replication user may do.
    pub fn sql_as_user(&self, statement: &str) -> String {
        self.run(self.user_client(), statement)
    }

    fn run(&self, mut client: Command, statement: &str) -> String {
        client.arg("--execute").arg(statement);
        let output = client
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run the mariadb client: {e}"));
        if !output.status.success() {
            panic!(
                "mariadb client failed ({}) on {}:{} running:\n{statement}\n{}",
                output.status,
                self.host,
                self.port,
                String::from_utf8_lossy(&output.stderr).trim_end()
            );
        }
        String::from_utf8(output.stdout).expect("the mariadb client printed invalid UTF-8")
    }

    /// A batch-mode client command without statement.
    fn client() -> Command {
        let mut command = Command::new(&Programs::get().client);
        command.args(["--no-defaults", "--batch", "--skip-column-names"]);
        command.args(["--connect-timeout=5", "--default-character-set=utf8mb4"]);
        command
    }

    /// The client as root over the socket, or as the user over TCP on an external server.
    fn admin_client(&self) -> Command {
        match &self.socket {
            Some(socket) => {
                let mut command = Self::client();
                command
                    .env_remove("MYSQL_PWD")
                    .args(["--user=root", "--protocol=SOCKET"]);
                command.arg(format!("--socket={}", socket.display()));
                command
            }
            None => self.user_client(),
        }
    }

    /// The client as the replication user over TCP; the password goes in `MYSQL_PWD` to
    /// keep it off the command line (and the client's warning about it out of stderr).
    fn user_client(&self) -> Command {
        let mut command = Self::client();
        command
            .env("MYSQL_PWD", &self.password)
            .arg(format!("--user={}", self.user))
            .args(["--protocol=TCP", &format!("--host={}", self.host)])
            .arg(format!("--port={}", self.port));
        command
    }

    fn answers(&self, mut client: Command) -> bool {
        client
            .args(["--execute", "SELECT 1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Stops the server (SIGTERM: a clean shutdown, then SIGKILL after a deadline),
    /// keeping its port and data directory for [`MariaDb::restart`]. Panics for a server
    /// named by `SLUICE_TEST_MARIADB`, which the kit cannot stop.
    pub fn stop(&mut self) {
        assert!(
            self._dir.is_some(),
            "MariaDB at {}:{} was not started by the kit: it cannot be stopped",
            self.host,
            self.port
        );
        drop(self.server.take());
    }

    /// Starts the server again on the same port with the same data directory (stopping
    /// it first if it runs), and waits until `SELECT 1` answers over its socket.
    pub fn restart(&mut self) {
        self.stop();
        let Some(dir) = self._dir.as_ref().map(|d| d.path().to_owned()) else {
            return;
        };
        let command = server_command(Programs::get(), &dir, self.port);
        let mut server = ServerProcess::spawn("mariadbd", command, &dir.join("mariadbd.log"));
        let socket = dir.join("mysqld.sock");
        if let Err(e) = server.wait_ready("SELECT 1 over the socket", || {
            socket.exists() && self.answers(self.admin_client())
        }) {
            panic!("restarting MariaDB on port {}: {e}", self.port);
        }
        self.server = Some(server);
    }

    fn external(address: &str) -> Self {
        let (host, port) = address
            .rsplit_once(':')
            .and_then(|(host, port)| Some((host, port.parse().ok()?)))
            .unwrap_or_else(|| panic!("SLUICE_TEST_MARIADB={address} is not host:port"));
        let db = Self {
            host: host.to_owned(),
            port,
            user: env_var("SLUICE_TEST_MARIADB_USER").unwrap_or_else(|| REPLICATION_USER.into()),
            password: env_var("SLUICE_TEST_MARIADB_PASSWORD")
                .unwrap_or_else(|| REPLICATION_USER.into()),
            socket: None,
            server: None,
            _dir: None,
        };
        wait_until(
            START_TIMEOUT,
            &format!("SELECT 1 on MariaDB at {address} ($SLUICE_TEST_MARIADB)"),
            || db.answers(db.user_client()),
        );
        db
    }

    fn launch(options: &[String]) -> Self {
        let programs = Programs::get();
        let dir = ServerDir::new("mariadb");
        let datadir = dir.path().join("data");
        let socket = dir.path().join("mysqld.sock");
        install_db(programs, dir.path(), &datadir);
        let mut db = Self {
            host: "127.0.0.1".into(),
            port: 0,
            user: REPLICATION_USER.into(),
            password: REPLICATION_USER.into(),
            socket: Some(socket.clone()),
            server: None,
            _dir: None,
        };
        let (port, server) = on_free_port("mariadbd", |port| {
            let mut command = server_command(programs, dir.path(), port);
            command.args(options);
            let log = dir.path().join("mariadbd.log");
            let mut server = ServerProcess::spawn("mariadbd", command, &log);
            server.wait_ready("SELECT 1 over the socket", || {
                socket.exists() && db.answers(db.admin_client())
            })?;
            Ok((port, server))
        });
        db.port = port;
        db.server = Some(server);
        db._dir = Some(dir);
        db.sql(SETUP_SQL);
        db
    }
}

/// The `mariadbd` command for a server whose files are in `dir` (data in `dir/data`).
fn server_command(programs: &Programs, dir: &Path, port: u16) -> Command {
    let mut command = Command::new(&programs.server);
    command.current_dir(dir).arg("--no-defaults");
    if running_as_root() {
        command.arg("--user=root");
    }
    command
        .arg(format!("--datadir={}", dir.join("data").display()))
        .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
        .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
        .arg(format!("--tmpdir={}", dir.display()))
        .args([&format!("--port={port}"), "--bind-address=127.0.0.1"])
        .args([
            "--log-bin=mysql-bin",
            "--server-id=1",
            "--binlog-format=ROW",
        ])
        .args(["--binlog-row-image=FULL", "--binlog-row-metadata=FULL"])
        .args([
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
        ])
        .args(SMALL_FOOTPRINT);
    command
}

/// Options that keep a test server small and quick to start and stop.
const SMALL_FOOTPRINT: &[&str] = &[
    "--innodb-log-file-size=16M",
    "--innodb-buffer-pool-size=64M",
    "--innodb-buffer-pool-dump-at-shutdown=0",
    "--innodb-buffer-pool-load-at-startup=0",
    // io_uring/libaio are often unavailable in containers; tests need no native AIO.
    "--innodb-use-native-aio=0",
];

/// Runs `mariadb-install-db` into `datadir`, panicking with its output on failure.
fn install_db(programs: &Programs, dir: &Path, datadir: &Path) {
    let log = dir.join("install-db.log");
    let out = File::create(&log).expect("creating install-db.log in the temporary directory");
    let err = out
        .try_clone()
        .expect("duplicating the install-db.log handle");
    let mut command = Command::new(&programs.install_db);
    command
        .current_dir(dir)
        .args([
            "--no-defaults",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ])
        .arg(format!("--datadir={}", datadir.display()))
        // Its own temp dir: bootstraps running side by side do not share /tmp.
        .arg(format!("--tmpdir={}", dir.display()))
        .args(SMALL_FOOTPRINT)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    if running_as_root() {
        command.arg("--user=root");
    }
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", programs.install_db.display()));
    assert!(
        status.success(),
        "{} failed ({status}); last lines of {}:\n{}",
        programs.install_db.display(),
        log.display(),
        log_tail(&log)
    );
}

/// Whether this process runs as root (`/proc/self` is owned by the effective user).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
