//! Sluice's built-in, Confluent-compatible Schema Registry.
//!
//! DESIGN.md §2 places the registry under the worker; it is a crate of its own so that
//! the converters' tests can run the real server in-process as a dev-dependency
//! ([`TestRegistry`]) without depending on the worker. Its dependencies stay light for
//! that reason: axum, rdkafka, serde, tokio, protox — no Sluice crate.
//!
//! - [`http`]: Confluent's REST API (paths, JSON bodies, status codes, error codes).
//! - [`store`]: the operations, over state kept in memory or in Kafka.
//! - `kafka`: the compacted `_schemas` topic: read to its end on start, writes applied
//!   once read back, so every worker sharing the topic hands out the same ids.
//! - `model`: the state, a pure function of the `_schemas` log.
//! - `records`: the `_schemas` topic's key and value JSON, as Confluent writes them.
//! - `schema`, `avro`, `compat`: validating schemas and checking Avro compatibility.
//!   PROTOBUF and JSON schemas are stored and served but not checked for compatibility
//!   (they are accepted as under level NONE).
//! - [`protobuf`]: PROTOBUF schemas served as `format=serialized` (base64
//!   `FileDescriptorProto`), the form Confluent's Python, Go and .NET deserializers fetch.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let store = sluice_schema_registry::SchemaStore::in_memory();
//! let (addr, server) = sluice_schema_registry::bind("127.0.0.1:8081".parse().unwrap(), store).await?;
//! # let _ = (addr, server); Ok(()) }
//! ```

mod avro;
mod compat;
pub mod error;
pub mod http;
mod kafka;
mod model;
pub mod protobuf;
mod records;
mod schema;
pub mod store;

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread;

pub use error::RegistryError;
pub use kafka::KafkaStoreConfig;
pub use model::{CompatibilityLevel, SchemaReference, SchemaType};
pub use store::SchemaStore;

/// Serves the registry API over `store` on `addr` (port 0 picks a free port). Returns the
/// address actually bound and the server task; abort the task to stop serving.
pub async fn bind(
    addr: SocketAddr,
    store: SchemaStore,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = http::router(store);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(addr = %local, error = %e, "schema registry server stopped");
        }
    });
    tracing::info!(addr = %local, "schema registry listening");
    Ok((local, task))
}

/// An in-memory registry for tests, on `127.0.0.1:<free port>`, served by its own thread
/// and Tokio runtime (so it works from sync tests and from any async runtime); stopped
/// when dropped.
///
/// ```
/// let registry = sluice_schema_registry::TestRegistry::start();
/// assert!(registry.url().starts_with("http://127.0.0.1:"));
/// ```
#[derive(Debug)]
pub struct TestRegistry {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl TestRegistry {
    /// Starts an in-memory registry. Panics if no runtime or port can be had (tests only).
    pub fn start() -> TestRegistry {
        TestRegistry::launch(|| async { Ok(SchemaStore::in_memory()) })
            .expect("starting an in-memory test schema registry")
    }

    /// Starts a registry kept in a Kafka topic; the store is opened (the topic read to
    /// its end) on the registry's own runtime before this returns.
    pub fn start_kafka(config: KafkaStoreConfig) -> Result<TestRegistry, RegistryError> {
        TestRegistry::launch(move || SchemaStore::kafka(config))
    }

    fn launch<F, Fut>(open: F) -> Result<TestRegistry, RegistryError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<SchemaStore, RegistryError>>,
    {
        let (addr_tx, addr_rx) = mpsc::channel::<Result<SocketAddr, RegistryError>>();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let io_error = |what: &str, e: std::io::Error| RegistryError::Store(format!("{what}: {e}"));
        let thread = thread::Builder::new()
            .name("test-schema-registry".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = addr_tx.send(Err(io_error("building a runtime", e)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let store = match open().await {
                        Ok(store) => store,
                        Err(e) => {
                            let _ = addr_tx.send(Err(e));
                            return;
                        }
                    };
                    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
                        Ok(listener) => listener,
                        Err(e) => {
                            let _ = addr_tx.send(Err(io_error("binding 127.0.0.1", e)));
                            return;
                        }
                    };
                    let _ = addr_tx.send(
                        listener
                            .local_addr()
                            .map_err(|e| io_error("reading the bound address", e)),
                    );
                    // Dropping the runtime when this returns ends open connections and
                    // the store's tasks too, so a client holding a keep-alive connection
                    // cannot delay the stop.
                    tokio::select! {
                        served = axum::serve(listener, http::router(store)) => {
                            if let Err(e) = served {
                                tracing::error!(error = %e, "test schema registry stopped");
                            }
                        }
                        _ = shutdown_rx => {}
                    }
                });
            })
            .map_err(|e| io_error("spawning the test schema registry thread", e))?;
        let addr = addr_rx.recv().map_err(|_| {
            RegistryError::Store("the test schema registry thread stopped before serving".into())
        })??;
        Ok(TestRegistry {
            addr,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
