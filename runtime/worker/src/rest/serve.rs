//! Binding and serving the REST API, the same in standalone and distributed mode:
//! `listeners=http://host:port` or `https://host:port` (TLS from [`super::tls`]), with
//! authentication ([`super::auth`]) in front of every route when the worker asks for it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::auth::RestAuth;
use super::tls::RestTls;
use crate::config::WorkerConfig;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the REST listener could not start.
#[derive(Debug, thiserror::Error)]
#[error("REST listener {listener}: {reason}")]
pub struct ListenerError {
    /// The `listeners` value.
    pub listener: String,
    /// What went wrong, and what to do.
    pub reason: String,
}

/// A `listeners` entry: its scheme and the address to bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSpec {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// `host:port` to bind (`0.0.0.0:port` for `://:port`).
    pub addr: String,
}

/// Reads the worker's `listeners` value: one `http://` or `https://` listener.
pub fn parse_listeners(listeners: &str) -> Result<ListenerSpec, String> {
    let all: Vec<&str> = listeners
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let [listener] = all[..] else {
        return Err(format!(
            "exactly one listener is supported, got {}: keep one, e.g. https://0.0.0.0:8443",
            all.len()
        ));
    };
    let (scheme, rest) = if let Some(rest) = listener.strip_prefix("http://") {
        ("http", rest)
    } else if let Some(rest) = listener.strip_prefix("https://") {
        ("https", rest)
    } else {
        return Err(
            "only http:// and https:// listeners are supported, e.g. http://127.0.0.1:8083".into(),
        );
    };
    let rest = rest.trim_end_matches('/');
    if rest.starts_with(':') {
        return Ok(ListenerSpec {
            scheme,
            addr: format!("0.0.0.0{rest}"),
        });
    }
    if rest.rsplit_once(':').is_none() {
        return Err(format!(
            "the listener needs a port, e.g. {scheme}://127.0.0.1:8083"
        ));
    }
    Ok(ListenerSpec {
        scheme,
        addr: rest.to_owned(),
    })
}

/// A bound REST listener, ready to serve.
pub struct RestListener {
    tcp: TcpListener,
    local: SocketAddr,
    scheme: &'static str,
    tls: Option<Arc<RestTls>>,
    auth: Arc<RestAuth>,
}

impl RestListener {
    /// Binds the worker's `listeners` address.
    pub async fn bind(worker: &WorkerConfig) -> Result<RestListener, ListenerError> {
        let err = |reason: String| ListenerError {
            listener: worker.listener.clone(),
            reason,
        };
        let spec = parse_listeners(&worker.listener).map_err(err)?;
        let tls = match spec.scheme {
            "https" => Some(worker.rest_tls.clone().ok_or_else(|| {
                err("an https listener needs listeners.https.ssl.keystore.location".into())
            })?),
            _ => None,
        };
        let tcp = TcpListener::bind(&spec.addr)
            .await
            .map_err(|e| err(format!("cannot bind {}: {e}", spec.addr)))?;
        let local = tcp.local_addr().map_err(|e| err(e.to_string()))?;
        Ok(RestListener {
            tcp,
            local,
            scheme: spec.scheme,
            tls,
            auth: worker.rest_auth.clone(),
        })
    }

    /// The bound address (the real port when the listener asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// Serves `router` until `shutdown` resolves.
    pub async fn serve(
        self,
        router: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = if self.auth.enabled() {
            router.layer(axum::middleware::from_fn_with_state(
                self.auth.clone(),
                super::auth::require,
            ))
        } else {
            router
        };
        match self.tls {
            None => {
                axum::serve(self.tcp, router)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
            Some(tls) => {
                let listener =
                    TlsListener::start(self.tcp, self.local, TlsAcceptor::from(tls.server.clone()));
                axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
        }
    }
}

/// TCP connections after their TLS handshake. Handshakes run concurrently in their own
/// tasks, so a slow or silent client never holds up the others.
struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    fn start(tcp: TcpListener, local: SocketAddr, acceptor: TlsAcceptor) -> Self {
        let (tx, ready) = mpsc::channel(64);
        let accept = tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a REST connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::info!(peer = %peer, error = %e, "REST TLS handshake failed");
                        }
                        Err(_) => {
                            tracing::info!(peer = %peer, "REST TLS handshake timed out");
                        }
                    }
                });
            }
        });
        TlsListener {
            ready,
            local,
            accept,
        }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task ended (only when aborted): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_are_read() {
        assert_eq!(
            parse_listeners("https://127.0.0.1:0"),
            Ok(ListenerSpec {
                scheme: "https",
                addr: "127.0.0.1:0".into()
            })
        );
        assert_eq!(
            parse_listeners("http://:8083/").map(|s| s.addr),
            Ok("0.0.0.0:8083".into())
        );
        assert!(parse_listeners("http://a:1,https://a:2")
            .expect_err("refused")
            .contains("exactly one listener"));
        assert!(parse_listeners("ftp://a:1")
            .expect_err("refused")
            .contains("https://"));
        assert!(parse_listeners("https://host")
            .expect_err("refused")
            .contains("port"));
    }
}
