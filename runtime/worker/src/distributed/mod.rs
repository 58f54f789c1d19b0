//! Distributed mode: workers sharing a `group.id` coordinate through Kafka, as Kafka
//! Connect's do. Configs, offsets and statuses live in three compacted topics in Kafka
//! Connect's formats ([`config_store`], [`offset_store`], [`status_store`], all built on
//! [`log::KafkaLog`]); worker settings are in [`settings`]. Workers find each other
//! through the broker's group coordinator ([`membership`], protocol type `connect`,
//! Kafka Connect's [`protocol`] bytes), and the elected leader divides connectors and
//! tasks among them ([`assignor`]).

pub mod assignor;
pub mod config_store;
pub mod coordinator;
pub mod log;
pub mod membership;
pub mod offset_store;
pub mod protocol;
pub mod settings;
pub mod status_store;

pub use config_store::{ClusterConfig, KafkaConfigStore, TargetState};
pub use offset_store::KafkaOffsetStore;
pub use settings::DistributedConfig;
pub use status_store::{KafkaStatusStore, Status};

pub mod api;
pub mod herder;
pub mod rest;

use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;

use crate::config::read_worker_file;
use coordinator::{CoordinatorConfig, Leadership};
use herder::DistributedHerder;
use membership::MemberConfig;

/// Why distributed mode could not start or stopped; each names the file, key or topic.
#[derive(Debug, thiserror::Error)]
pub enum DistributedError {
    /// The worker file could not be read.
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
    /// A storage topic failed.
    #[error(transparent)]
    Storage(#[from] log::LogError),
    /// The REST listener could not start.
    #[error("REST listener {listener}: {reason}")]
    Listener {
        /// The `listeners` value.
        listener: String,
        /// What went wrong.
        reason: String,
    },
    /// Group membership failed for good (e.g. a fenced `group.instance.id`).
    #[error(transparent)]
    Membership(#[from] membership::MembershipError),
}

/// Reads and validates a distributed worker file.
pub fn load(path: &Path) -> Result<DistributedConfig, DistributedError> {
    let props = read_worker_file(path)?;
    DistributedConfig::parse(&props).map_err(|errors| DistributedError::Worker {
        path: path.display().to_string(),
        errors,
    })
}

/// Runs a distributed worker until `shutdown` resolves: REST API, stores, group
/// membership and the herder; then stops its tasks and leaves the group.
pub async fn run(
    config: DistributedConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), DistributedError> {
    let listener = crate::rest::serve::RestListener::bind(&config.worker)
        .await
        .map_err(|e| DistributedError::Listener {
            listener: e.listener,
            reason: e.reason,
        })?;
    let local = listener.local_addr();
    let originals = &config.worker.originals;
    let host = originals
        .get("rest.advertised.host.name")
        .cloned()
        .unwrap_or_else(|| {
            if local.ip().is_unspecified() {
                "127.0.0.1".to_owned()
            } else {
                local.ip().to_string()
            }
        });
    let port = originals
        .get("rest.advertised.port")
        .cloned()
        .unwrap_or_else(|| local.port().to_string());
    let worker_id = format!("{host}:{port}");
    let scheme = originals
        .get("rest.advertised.listener")
        .map_or(listener.scheme(), |s| {
            if s == "https" {
                "https"
            } else {
                "http"
            }
        });
    let url = format!("{scheme}://{worker_id}");
    let configs = KafkaConfigStore::start(&config).await?;
    let offsets = Arc::new(KafkaOffsetStore::start(&config).await?);
    let statuses = KafkaStatusStore::start(&config).await?;
    let (leadership_tx, leadership_rx) = watch::channel(Leadership::default());
    let worker_for_id = config.worker.clone();
    let kafka_cluster_id =
        tokio::task::spawn_blocking(move || crate::kafka::cluster_id(&worker_for_id))
            .await
            .ok()
            .flatten();
    let herder = Arc::new(DistributedHerder::new(
        config.clone(),
        worker_id.clone(),
        url.clone(),
        configs,
        offsets,
        statuses,
        leadership_rx,
        kafka_cluster_id,
    ));
    let (rejoin_tx, rejoin_rx) = watch::channel(0u64);
    let follower = tokio::spawn(herder.clone().follow_configs(rejoin_tx));
    let (stop_tx, stop_rx) = watch::channel(false);
    let coordinator_config = CoordinatorConfig {
        member: MemberConfig {
            bootstrap: config
                .worker
                .bootstrap_servers
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            group_id: config.group_id.clone(),
            instance_id: config.group_instance_id.clone(),
            session_timeout: config.session_timeout,
            rebalance_timeout: config.rebalance_timeout,
            protocol_name: if config.protocol_version == 1 {
                "compatible".into()
            } else {
                "sessioned".into()
            },
            client_id: format!("connect-{worker_id}"),
        },
        url,
        protocol_version: config.protocol_version,
        heartbeat_interval: config.heartbeat_interval,
        session_timeout: config.session_timeout,
        max_delay: config.scheduled_rebalance_max_delay,
    };
    let work: Arc<dyn coordinator::GroupWork> = Arc::new(herder.clone());
    let mut membership = tokio::spawn(coordinator::run(
        coordinator_config,
        work,
        leadership_tx,
        rejoin_rx,
        stop_rx,
    ));
    let app = rest::router(herder.clone());
    let (rest_stop_tx, rest_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(listener.serve(app, async {
        let _ = rest_stop_rx.await;
    }));
    tracing::info!(address = %local, worker_id = %worker_id, group = %config.group_id, "distributed worker started; REST API listening");
    let result = tokio::select! {
        _ = shutdown => {
            tracing::info!("stopping: stopping tasks and leaving the group");
            let _ = stop_tx.send(true);
            membership.await.unwrap_or(Ok(()))
        }
        r = &mut membership => r.unwrap_or(Ok(())),
    };
    follower.abort();
    let _ = rest_stop_tx.send(());
    let _ = server.await;
    tracing::info!("stopped");
    Ok(result?)
}
