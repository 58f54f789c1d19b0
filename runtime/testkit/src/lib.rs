//! Real servers on loopback for Sluice's tests.
//!
//! Each server runs as a child process in its own temporary directory on a free port.
//! Starting one waits, with a deadline, until it answers its own protocol, and panics
//! with the end of its log if it does not: a test that needs a server fails without
//! one, it never skips. Dropping the handle stops the process (SIGTERM, then SIGKILL
//! after a deadline) and removes the directory.
//!
//! - [`KafkaBroker`]: noida-db, or tansu for consumer-group tests.
//! - [`MariaDb`]: MariaDB with a row-based binlog and a replication user.
//! - [`SecantusDb`]: a MongoDB-wire server with change streams.
//!
//! Python helpers the tests share live in `python/` ([`python_helpers_dir`]); a test
//! that runs a Python consumer puts them on its `PYTHONPATH` ([`python_helpers_path`]).
//!
//! `scripts/test-env.sh` installs everything; programs are found through the
//! environment variables it prints, then in its Python venv (`target/test-env/venv`,
//! or `$SLUICE_ENV_DIR/venv`), then on the system. Environment variables can also name
//! servers that are already running (`SLUICE_TEST_BOOTSTRAP`,
//! `SLUICE_TEST_TANSU_BOOTSTRAP`, `SLUICE_TEST_MARIADB`), in which case nothing is
//! started.

mod broker;
mod locate;
mod mariadb;
pub mod probe;
mod process;
mod secantus;

pub use broker::KafkaBroker;
pub use locate::{python_helpers_dir, python_helpers_path, python_with};
pub use mariadb::MariaDb;
pub use process::{free_port, wait_until, POLL_INTERVAL, START_TIMEOUT};
pub use secantus::SecantusDb;
