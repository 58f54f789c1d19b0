//! Free ports, deadline-bounded waits, and the server processes the kit starts and stops.

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, File};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How often conditions are polled while waiting.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// How long a server may take to become ready before the test fails.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a server may take to exit after SIGTERM before it is killed. noida-db
/// writes its whole state when it exits; on a loaded machine that took over 10 s, and a
/// kill then lost records it had acknowledged (a broker restart test saw them vanish).
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// How many lines of a server's log a failure message quotes.
const LOG_TAIL_LINES: usize = 40;

/// How many ports a server start tries when the one it was given was taken meanwhile.
const PORT_ATTEMPTS: usize = 3;

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// The port is released before returning, so another process could take it; servers
/// started by this kit retry with a new port when that happens. Within one test
/// binary the same port is never handed out twice.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    for _ in 0..1000 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .expect("binding 127.0.0.1:0 to find a free port");
        let port = listener
            .local_addr()
            .expect("reading the address of a listener bound to 127.0.0.1:0")
            .port();
        if handed_out.insert(port) {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1 after 1000 attempts");
}

/// Polls `condition` every [`POLL_INTERVAL`] until it returns true, and panics naming
/// `what` if it has not done so within `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// The temporary directory a server keeps its data and log in. Removed when dropped,
/// except while panicking (a failing test): then it is kept for inspection and its
/// path printed to stderr.
pub(crate) struct ServerDir(Option<TempDir>);

impl ServerDir {
    /// Creates a directory named `sluice-<name>-<random>` in the system's temp dir.
    pub(crate) fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("sluice-{name}-"))
            .tempdir()
            .unwrap_or_else(|e| panic!("creating a temporary directory for {name}: {e}"));
        Self(Some(dir))
    }

    /// The directory's path.
    pub(crate) fn path(&self) -> &Path {
        self.0
            .as_ref()
            .expect("a ServerDir holds its directory until dropped")
            .path()
    }
}

impl Drop for ServerDir {
    fn drop(&mut self) {
        if thread::panicking() {
            if let Some(dir) = self.0.take() {
                eprintln!(
                    "sluice-testkit: kept {} after a panic",
                    dir.keep().display()
                );
            }
        }
    }
}

/// Why a server did not become ready.
#[derive(Debug)]
pub(crate) struct StartError {
    message: String,
    port_in_use: bool,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Calls `attempt` with a free port, and again with a new one (up to [`PORT_ATTEMPTS`]
/// times in all) only when the server reported that its port was already in use.
/// Panics with the last error otherwise.
pub(crate) fn on_free_port<T>(
    name: &str,
    mut attempt: impl FnMut(u16) -> Result<T, StartError>,
) -> T {
    for n in 1..=PORT_ATTEMPTS {
        let port = free_port();
        match attempt(port) {
            Ok(started) => return started,
            Err(e) if e.port_in_use && n < PORT_ATTEMPTS => {
                tracing::warn!(
                    name,
                    port,
                    "port was taken before the server bound it; retrying"
                );
            }
            Err(e) => panic!("{e}"),
        }
    }
    unreachable!("the last attempt either returns or panics")
}

/// A server process the kit started: its output goes to a log file, and it is stopped
/// (SIGTERM, then SIGKILL after a deadline) when this value is dropped.
pub(crate) struct ServerProcess {
    name: String,
    child: Child,
    log: PathBuf,
    started: Instant,
}

impl ServerProcess {
    /// Spawns `command` with stdin closed and stdout and stderr appended to `log`.
    /// Panics if it cannot be spawned at all.
    pub(crate) fn spawn(name: &str, mut command: Command, log: &Path) -> Self {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("creating the log file {} for {name}: {e}", log.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("duplicating the log file handle for {name}: {e}"));
        command.stdin(Stdio::null()).stdout(out).stderr(err);
        let started = Instant::now();
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {name} ({command:?}): {e}"));
        tracing::debug!(name, pid = child.id(), ?command, "spawned");
        Self {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
            started,
        }
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `probe` every [`POLL_INTERVAL`] until it returns true. Fails, quoting the end
    /// of the log, if the process exits first or [`START_TIMEOUT`] passes.
    pub(crate) fn wait_ready(
        &mut self,
        what: &str,
        mut probe: impl FnMut() -> bool,
    ) -> Result<(), StartError> {
        let deadline = self.started + START_TIMEOUT;
        loop {
            if probe() {
                tracing::info!(
                    name = %self.name,
                    pid = self.pid(),
                    elapsed = ?self.started.elapsed(),
                    "ready: {what}"
                );
                return Ok(());
            }
            let problem = match self.child.try_wait() {
                Ok(Some(status)) => format!("exited ({status}) before {what}"),
                Ok(None) if Instant::now() >= deadline => {
                    format!("was not ready after {START_TIMEOUT:?}: no {what}")
                }
                Ok(None) => {
                    thread::sleep(POLL_INTERVAL);
                    continue;
                }
                Err(e) => format!("could not be waited for ({e}) before {what}"),
            };
            let tail = log_tail(&self.log);
            return Err(StartError {
                message: format!(
                    "{} (pid {}) {problem}; last lines of {}:\n{tail}",
                    self.name,
                    self.pid(),
                    self.log.display()
                ),
                port_in_use: tail.contains("in use"),
            });
        }
    }

    /// Sends SIGTERM, waits up to [`STOP_TIMEOUT`] for the process to exit, then kills it.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = self.pid();
        let term = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if matches!(term, Ok(status) if status.success()) {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                match self.child.try_wait() {
                    Ok(Some(_)) => return,
                    Ok(None) => thread::sleep(Duration::from_millis(20)),
                    Err(_) => break,
                }
            }
            tracing::warn!(name = %self.name, pid, "no exit {STOP_TIMEOUT:?} after SIGTERM; killing");
        }
        if let Err(e) = self.child.kill() {
            tracing::warn!(name = %self.name, pid, "cannot kill: {e}");
        }
        if let Err(e) = self.child.wait() {
            tracing::warn!(name = %self.name, pid, "cannot wait for exit: {e}");
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last [`LOG_TAIL_LINES`] lines of the file at `path`, or why it cannot be read.
pub(crate) fn log_tail(path: &Path) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(LOG_TAIL_LINES);
            let tail = lines[start..].join("\n");
            if tail.is_empty() {
                "(empty log)".to_owned()
            } else {
                tail
            }
        }
        Err(e) => format!("(cannot read the log: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(port_in_use: bool) -> StartError {
        StartError {
            message: format!("failed, port in use: {port_in_use}"),
            port_in_use,
        }
    }

    #[test]
    fn a_taken_port_is_retried_with_another() {
        let mut ports = Vec::new();
        let port = on_free_port("test", |port| {
            ports.push(port);
            if ports.len() < PORT_ATTEMPTS {
                Err(failure(true))
            } else {
                Ok(port)
            }
        });
        assert_eq!(ports.len(), PORT_ATTEMPTS);
        assert_eq!(ports.last(), Some(&port));
        assert!(ports.windows(2).all(|pair| pair[0] != pair[1]), "{ports:?}");
    }

    #[test]
    #[should_panic(expected = "failed, port in use: false")]
    fn other_failures_are_not_retried() {
        let mut attempts = 0;
        on_free_port("test", |_| -> Result<(), StartError> {
            attempts += 1;
            assert_eq!(attempts, 1, "retried a failure that was not about the port");
            Err(failure(false))
        });
    }

    #[test]
    #[should_panic(expected = "failed, port in use: true")]
    fn retries_are_bounded() {
        on_free_port("test", |_| -> Result<(), StartError> { Err(failure(true)) });
    }

    #[test]
    fn a_server_that_exits_early_fails_with_its_log() {
        let dir = ServerDir::new("early-exit");
        let log = dir.path().join("sh.log");
        let mut command = Command::new("sh");
        command.args(["-c", "echo 'bind: Address already in use' >&2; exit 3"]);
        let mut server = ServerProcess::spawn("sh", command, &log);
        let error = server
            .wait_ready("never", || false)
            .expect_err("the probe never succeeds");
        assert!(error.port_in_use, "{error}");
        assert!(error.message.contains("exited (exit status: 3)"), "{error}");
        assert!(error.message.contains("Address already in use"), "{error}");
    }

    #[test]
    fn dropping_a_server_stops_it() {
        let dir = ServerDir::new("stop");
        let mut command = Command::new("sleep");
        command.arg("600");
        let server = ServerProcess::spawn("sleep", command, &dir.path().join("sleep.log"));
        let pid = server.pid();
        drop(server);
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }
}
