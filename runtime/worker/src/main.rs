//! `sluice`: the Sluice worker binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: the per-record path allocates and frees many small buffers across threads
/// (converter output on a runtime thread, freed after librdkafka copied it).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Sluice: change-data-capture connectors, Kafka Connect compatible.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a worker in one process with offsets in a local file.
    Standalone {
        /// Worker config (.properties or .json), as Kafka Connect's connect-standalone.properties.
        worker: PathBuf,
        /// Connector configs (.properties, or JSON {"name": …, "config": {…}}).
        connectors: Vec<PathBuf>,
    },
    /// Runs a worker of a group: connectors, tasks, configs, offsets and statuses are
    /// shared with every worker of the same group.id through Kafka.
    Distributed {
        /// Worker config (.properties or .json), as Kafka Connect's connect-distributed.properties.
        worker: PathBuf,
    },
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn main() -> ExitCode {
    let directives = std::env::var("SLUICE_LOG").unwrap_or_else(|_| "info,rdkafka=warn".to_owned());
    sluice_worker::logging::init(&directives);
    let cli = Cli::parse();
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    match cli.command {
        Command::Distributed { worker } => {
            let config = match sluice_worker::distributed::load(&worker) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            let runtime = match runtime() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(sluice_worker::distributed::run(config, shutdown_signal())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Standalone { worker, connectors } => {
            let (worker, connectors) = match sluice_worker::standalone::load(&worker, &connectors) {
                Ok(loaded) => loaded,
                Err(e) => {
                    tracing::error!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            let runtime = match runtime() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(sluice_worker::standalone::run(
                worker,
                connectors,
                shutdown_signal(),
            )) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
