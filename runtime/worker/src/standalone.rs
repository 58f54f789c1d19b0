//! `sluice standalone`: one process, offsets in a local file, connectors from files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{
    read_connector_file, read_connector_initial_state, read_worker_file, validate_connector,
    ConnectorConfig, WorkerConfig,
};
use crate::herder::{StandaloneHerder, TargetState};
use crate::kafka;
use crate::offsets::FileOffsetStore;

/// Why standalone mode could not start; each names the file, key or address at fault.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A config file could not be read.
    #[error(transparent)]
    File(#[from] crate::config::FileError),
    /// The worker config is invalid.
    #[error("worker config {path}: {errors}")]
    Worker {
        /// The file.
        path: String,
        /// What is wrong.
        errors: sluice_core::config::ConfigErrors,
    },
    /// A connector config is invalid.
    #[error("connector config {path}: {} invalid configuration value{}:{}", .errors.len(), if .errors.len() == 1 { "" } else { "s" }, .errors.iter().map(|(_, e)| format!("\n  - {e}")).collect::<String>())]
    Connector {
        /// The file.
        path: String,
        /// (key, message) pairs.
        errors: Vec<(String, String)>,
    },
    /// Two connector files share a name.
    #[error("connector name {0} is used by more than one connector file")]
    DuplicateName(String),
    /// The offset file is unusable.
    #[error(transparent)]
    Offsets(#[from] crate::offsets::OffsetError),
    /// The REST listener could not start.
    #[error("REST listener {listener}: {reason}")]
    Listener {
        /// The `listeners` value.
        listener: String,
        /// What went wrong.
        reason: String,
    },
    /// The built-in Schema Registry could not start.
    #[error(transparent)]
    SchemaRegistry(#[from] crate::schema_registry::SchemaRegistryError),
    /// A connector could not start.
    #[error("starting connector {name}: {source}")]
    Start {
        /// Connector name.
        name: String,
        /// Cause.
        #[source]
        source: sluice_core::ConnectError,
    },
}

/// Reads and validates every file before anything starts, so a bad file changes nothing.
/// Each connector comes with its KIP-980 `initial_state` (RUNNING when the file has none).
pub fn load(
    worker_file: &Path,
    connector_files: &[PathBuf],
) -> Result<(WorkerConfig, Vec<(ConnectorConfig, TargetState)>), StartError> {
    let worker_props = read_worker_file(worker_file)?;
    let worker = WorkerConfig::parse(&worker_props).map_err(|errors| StartError::Worker {
        path: worker_file.display().to_string(),
        errors,
    })?;
    let mut connectors: Vec<(ConnectorConfig, TargetState)> = Vec::new();
    for path in connector_files {
        let props = read_connector_file(path)?;
        let initial_state = read_connector_initial_state(path)?.unwrap_or(TargetState::Started);
        let (infos, parsed) = validate_connector(&props, &worker);
        let parsed = parsed.ok_or_else(|| StartError::Connector {
            path: path.display().to_string(),
            errors: infos.errors(),
        })?;
        if connectors.iter().any(|(c, _)| c.name == parsed.name) {
            return Err(StartError::DuplicateName(parsed.name));
        }
        connectors.push((parsed, initial_state));
    }
    Ok((worker, connectors))
}

/// Runs standalone mode until `shutdown` resolves, then stops gracefully.
pub async fn run(
    worker: WorkerConfig,
    connectors: Vec<(ConnectorConfig, TargetState)>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), StartError> {
    let offsets = Arc::new(FileOffsetStore::open(&worker.offset_file)?);
    // Before any connector, so converters that register schemas find it serving.
    let schema_registry = crate::schema_registry::start(&worker).await?;
    let listener = crate::rest::serve::RestListener::bind(&worker)
        .await
        .map_err(|e| StartError::Listener {
            listener: e.listener,
            reason: e.reason,
        })?;
    let local = listener.local_addr();
    let scheme = listener.scheme();
    let worker_for_id = worker.clone();
    let cluster = tokio::task::spawn_blocking(move || kafka::cluster_id(&worker_for_id))
        .await
        .ok()
        .flatten();
    let herder = Arc::new(StandaloneHerder::new(
        worker,
        local.to_string(),
        offsets,
        cluster,
    ));
    let app = crate::rest::router(herder.clone());
    let (rest_stop_tx, rest_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(listener.serve(app, async {
        let _ = rest_stop_rx.await;
    }));
    tracing::info!(address = %local, scheme, "REST API listening");
    let mut started = Ok(());
    for (c, initial_state) in connectors {
        let name = c.name.clone();
        if let Err(source) = herder.start_connector(c, initial_state).await {
            started = Err(StartError::Start { name, source });
            break;
        }
    }
    if started.is_ok() {
        shutdown.await;
        tracing::info!("stopping: flushing and committing offsets");
    }
    herder.stop_all().await;
    let _ = rest_stop_tx.send(());
    let _ = server.await;
    drop(schema_registry);
    tracing::info!("stopped");
    started
}
