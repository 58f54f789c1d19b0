//! SecantusDB: a MongoDB-wire server with change streams, run as a single-node replica
//! set for MongoDB CDC tests.

use std::ffi::OsString;
use std::fs;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::locate::{env_var, missing, python_package};
use crate::probe::mongo_hello;
use crate::process::{on_free_port, ServerDir, ServerProcess};

/// How long one readiness probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How to run the server: a program and the arguments that come before the kit's own.
struct Launcher {
    program: OsString,
    args: Vec<OsString>,
}

impl Launcher {
    /// `$SLUICE_SECANTUSD` (e.g. the `secantusd-py` script), else `python -m secantus`
    /// with the first Python (test venv, then `python3`) that has the package.
    fn get() -> &'static Self {
        static LAUNCHER: OnceLock<Launcher> = OnceLock::new();
        LAUNCHER.get_or_init(|| match env_var("SLUICE_SECANTUSD") {
            Some(program) => Self {
                program: program.into(),
                args: Vec::new(),
            },
            None => {
                let (python, _) = python_package("secantus")
                    .unwrap_or_else(|| missing("SecantusDB (PyPI package secantusdb)"));
                Self {
                    program: python,
                    args: vec!["-m".into(), "secantus".into()],
                }
            }
        })
    }
}

/// A SecantusDB server on loopback that advertises itself as the only member (and
/// primary) of replica set [`SecantusDb::REPLICA_SET`], so drivers allow change streams.
/// Its data lives in a temporary directory. Stopped when dropped.
pub struct SecantusDb {
    port: u16,
    server: ServerProcess,
    /// Declared after `server` so it is removed only once the process has stopped.
    _dir: ServerDir,
}

impl SecantusDb {
    /// The replica set name SecantusDB advertises (fixed by SecantusDB itself).
    pub const REPLICA_SET: &'static str = "secantus";

    /// Starts SecantusDB on a free port and waits until it answers `hello` as a
    /// replica-set primary. Panics, quoting its log, if it does not.
    ///
    /// The server is `$SLUICE_SECANTUSD` (e.g. the `secantusd-py` script) if set, else
    /// `python -m secantus` with the test venv's Python or `python3`, whichever has the
    /// `secantusdb` package.
    pub fn start() -> Self {
        Self::start_with_config("")
    }

    /// Starts SecantusDB with `toml` as its `secantusd.toml`, e.g. `"[oplog]\nmax_entries =
    /// 50\n"` for an oplog that forgets quickly (resume-token history lost, error 286).
    pub fn start_with_config(toml: &str) -> Self {
        let launcher = Launcher::get();
        let dir = ServerDir::new("secantus");
        // An explicit config file (empty by default) stops SecantusDB from picking up a
        // secantusd.toml from the working directory, ~/.secantus or /etc/secantus.
        let config = dir.path().join("secantusd.toml");
        fs::write(&config, toml).expect("writing secantusd.toml");
        let (port, server) = on_free_port("secantus", |port| {
            let mut command = Command::new(&launcher.program);
            command
                .current_dir(dir.path())
                .args(&launcher.args)
                .arg("--config")
                .arg(&config)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .arg("--storage-path")
                .arg(dir.path().join("data"));
            let log = dir.path().join("secantus.log");
            let mut server = ServerProcess::spawn("secantus", command, &log);
            let address = format!("127.0.0.1:{port}");
            server.wait_ready(&format!("hello answered as primary on {address}"), || {
                mongo_hello(&address, PROBE_TIMEOUT).is_ok_and(|reply| {
                    reply.ok
                        && reply.is_writable_primary
                        && reply.set_name.as_deref() == Some(Self::REPLICA_SET)
                })
            })?;
            Ok((port, server))
        });
        Self {
            port,
            server,
            _dir: dir,
        }
    }

    /// The connection string: `mongodb://127.0.0.1:<port>/?replicaSet=secantus`.
    pub fn uri(&self) -> String {
        format!(
            "mongodb://{}/?replicaSet={}",
            self.address(),
            Self::REPLICA_SET
        )
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }
}
