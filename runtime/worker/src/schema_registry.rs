//! The built-in Schema Registry, served by the worker when `schema.registry.listener` is
//! set: Confluent's API (crate `sluice-schema-registry`) over the compacted topic named by
//! `schema.registry.topic`, reached with the worker's `bootstrap.servers` and `admin.*`
//! client settings. Standalone mode starts it before any connector, so a converter that
//! registers schemas at start finds it serving; it has read its topic to the end by then,
//! so the ids it hands out are those every other worker on the topic hands out.
//!
//! A converter that talks to a registry (its config defines `schema.registry.url`) and is
//! given no `schema.registry.url` is pointed at this registry ([`client_url`]); see
//! `config::connector`, where a connector's converters are configured.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use sluice_schema_registry::{KafkaStoreConfig, RegistryError, SchemaStore};

use crate::config::WorkerConfig;

/// Why the registry could not start; names the setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum SchemaRegistryError {
    /// `schema.registry.listener` is not `http://host:port`.
    #[error("schema.registry.listener={listener}: {reason}")]
    Listener {
        /// The value.
        listener: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The schemas topic could not be created or read.
    #[error("schema registry topic {topic} on {bootstrap}: {source}")]
    Store {
        /// `schema.registry.topic`.
        topic: String,
        /// `bootstrap.servers`.
        bootstrap: String,
        /// The cause.
        #[source]
        source: RegistryError,
    },
}

/// A running registry, served by its own thread and Tokio runtime; stops serving when
/// dropped.
///
/// Its own runtime because converters call it synchronously (Kafka Connect's converters
/// are blocking, and so is the registry client) from tasks on the worker's runtime: were
/// the registry served there, a task blocked on a registry request could hold the very
/// thread that would answer it, and the worker would hang at its first schema.
#[derive(Debug)]
pub struct RunningRegistry {
    /// The address it listens on.
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for RunningRegistry {
    fn drop(&mut self) {
        // The thread drops its runtime, and with it the server and the store's tasks.
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Parses `http://host:port` (host may be omitted: all interfaces).
fn listener_addr(listener: &str) -> Result<SocketAddr, SchemaRegistryError> {
    let err = |reason: &str| SchemaRegistryError::Listener {
        listener: listener.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = listener
        .strip_prefix("http://")
        .ok_or_else(|| err("only http:// listeners are supported, e.g. http://127.0.0.1:8081"))?
        .trim_end_matches('/');
    let rest = match rest.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => rest.replace("localhost:", "127.0.0.1:"),
    };
    let addr: SocketAddr = rest
        .parse()
        .map_err(|_| err("expected http://<ip>:<port>, e.g. http://127.0.0.1:8081"))?;
    if addr.port() == 0 {
        return Err(err(
            "give a fixed port, e.g. http://127.0.0.1:8081: converters without schema.registry.url are pointed at it",
        ));
    }
    Ok(addr)
}

/// The URL a converter on this worker reaches the registry at: the listener's address,
/// with `127.0.0.1` (or `::1`) for a listener on all interfaces.
pub fn client_url(listener: &str) -> Result<String, SchemaRegistryError> {
    let mut addr = listener_addr(listener)?;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(format!("http://{addr}"))
}

/// Starts the registry if `schema.registry.listener` is set, on its own thread and
/// runtime: opens the topic (reading it to its end), then binds the listener; returns once
/// it serves.
pub async fn start(worker: &WorkerConfig) -> Result<Option<RunningRegistry>, SchemaRegistryError> {
    let Some(listener) = worker.schema_registry_listener.clone() else {
        return Ok(None);
    };
    let addr = listener_addr(&listener)?;
    let mut config = KafkaStoreConfig::new(worker.bootstrap_servers.clone());
    config.topic = worker.schema_registry_topic.clone();
    config.client_settings = worker.with_prefix("admin.").into_iter().collect();
    let topic = worker.schema_registry_topic.clone();
    let bootstrap = worker.bootstrap_servers.clone();
    let store_error = move |source| SchemaRegistryError::Store {
        topic: topic.clone(),
        bootstrap: bootstrap.clone(),
        source,
    };
    let listener_error = {
        let listener = listener.clone();
        move |reason: String| SchemaRegistryError::Listener {
            listener: listener.clone(),
            reason,
        }
    };
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let thread_error = listener_error.clone();
    std::thread::Builder::new()
        .name("schema-registry".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready_tx.send(Err(thread_error(format!(
                        "cannot start the registry's runtime: {e}"
                    ))));
                    return;
                }
            };
            runtime.block_on(async move {
                let store = match SchemaStore::kafka(config).await {
                    Ok(store) => store,
                    Err(e) => {
                        let _ = ready_tx.send(Err(store_error(e)));
                        return;
                    }
                };
                let (bound, server) = match sluice_schema_registry::bind(addr, store).await {
                    Ok(served) => served,
                    Err(e) => {
                        let _ =
                            ready_tx.send(Err(thread_error(format!("cannot bind {addr}: {e}"))));
                        return;
                    }
                };
                if ready_tx.send(Ok(bound)).is_ok() {
                    let _ = shutdown_rx.await;
                }
                server.abort();
            });
        })
        .map_err(|e| listener_error(format!("cannot start the registry's thread: {e}")))?;
    let addr = ready_rx
        .await
        .map_err(|_| listener_error("the registry's thread stopped before serving".into()))??;
    tracing::info!(address = %addr, topic = %worker.schema_registry_topic, "schema registry serving");
    Ok(Some(RunningRegistry {
        addr,
        shutdown: Some(shutdown_tx),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_are_http_host_port() {
        assert_eq!(
            listener_addr("http://127.0.0.1:8081").ok(),
            "127.0.0.1:8081".parse().ok()
        );
        assert_eq!(
            listener_addr("http://localhost:8081/").ok(),
            "127.0.0.1:8081".parse().ok()
        );
        assert_eq!(
            listener_addr("http://:8081").ok(),
            "0.0.0.0:8081".parse().ok()
        );
        let err = listener_addr("https://127.0.0.1:8081").expect_err("https");
        assert!(err.to_string().contains("only http://"), "{err}");
        assert!(listener_addr("http://127.0.0.1").is_err());
        let err = listener_addr("http://127.0.0.1:0").expect_err("port 0");
        assert!(err.to_string().contains("give a fixed port"), "{err}");
    }

    #[test]
    fn converters_reach_the_registry_on_loopback_when_it_listens_everywhere() {
        let url = |l: &str| client_url(l).ok();
        assert_eq!(
            url("http://127.0.0.1:8081/").as_deref(),
            Some("http://127.0.0.1:8081")
        );
        assert_eq!(
            url("http://:8081").as_deref(),
            Some("http://127.0.0.1:8081")
        );
        assert_eq!(
            url("http://0.0.0.0:8081").as_deref(),
            Some("http://127.0.0.1:8081")
        );
        assert_eq!(
            url("http://[::]:8081").as_deref(),
            Some("http://[::1]:8081")
        );
        assert_eq!(
            url("http://10.1.2.3:8081").as_deref(),
            Some("http://10.1.2.3:8081")
        );
    }
}
