//! The REST API of a distributed worker: the same router as standalone mode
//! ([`crate::rest::router`] over the distributed herder), behind a layer that sends
//! write requests to the group leader, as Kafka Connect's `completeOrForwardRequest`
//! does.
//!
//! A write (any method but GET / HEAD / OPTIONS on `/connectors…`) reaching a follower
//! is forwarded unchanged — method, path, query, body — to the leader's REST URL, and
//! the leader's status, body and `Location` come back as they are, so a client sees
//! the same answer from every worker. With no leader known, or during a rebalance, the
//! answer is Kafka Connect's 409. Forwarded requests carry [`FORWARDED_HEADER`] and are
//! never forwarded again (no loops if two workers disagree on the leader for a moment:
//! the receiver answers 409 itself). Plugin validation and `/admin/loggers` are local.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;

use super::herder::{DistributedHerder, WriteError};
use crate::config::WorkerConfig;
use crate::herder::Herder;

/// Marks a request one worker forwarded to another.
pub const FORWARDED_HEADER: &str = "x-sluice-forwarded";

/// Largest request body forwarded (connector configs are small).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The router of a distributed worker.
pub fn router(herder: Arc<DistributedHerder>) -> Router {
    let api: Arc<dyn Herder> = Arc::new(herder.clone());
    crate::rest::router(api).layer(axum::middleware::from_fn_with_state(herder, route_writes))
}

fn conflict(message: String) -> Response {
    (
        StatusCode::CONFLICT,
        Json(json!({"error_code": 409, "message": message})),
    )
        .into_response()
}

/// Forwards a follower's writes to the leader; everything else runs here.
async fn route_writes(
    State(h): State<Arc<DistributedHerder>>,
    request: Request,
    next: Next,
) -> Response {
    let local = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || !request.uri().path().starts_with("/connectors")
        || request.headers().contains_key(FORWARDED_HEADER);
    if local {
        return next.run(request).await;
    }
    let leader = match h.leader_url() {
        Ok(None) => return next.run(request).await,
        Ok(Some(url)) => url,
        Err(e) => return conflict(e.to_string()),
    };
    let method = request.method().as_str().to_owned();
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let body = match axum::body::to_bytes(request.into_body(), MAX_BODY).await {
        Ok(b) => b.to_vec(),
        Err(e) => return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error_code": 400, "message": format!("cannot read the request body: {e}")}),
            ),
        )
            .into_response(),
    };
    let url = format!("{leader}{path}");
    tracing::debug!(%url, %method, "forwarding a write to the leader");
    match forward(&h.config.worker, &url, &method, body).await {
        Ok(reply) => {
            let mut response = Response::builder().status(reply.status);
            if let Some(t) = reply.content_type {
                response = response.header("content-type", t);
            }
            if let Some(l) = reply.location {
                response = response.header("location", l);
            }
            response
                .body(Body::from(reply.body))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error_code": 500, "message": e.to_string()})),
        )
            .into_response(),
    }
}

/// A forwarded request's answer.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Location`.
    pub location: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// Sends a request to another worker, marked as forwarded; any HTTP status is a reply.
/// Over https with the worker's truststore and its REST credentials, when set.
pub async fn forward(
    worker: &WorkerConfig,
    url: &str,
    method: &str,
    body: Vec<u8>,
) -> Result<Reply, WriteError> {
    let url = url.to_owned();
    let method = method.to_owned();
    let agent = crate::rest::client::inter_worker_agent(worker, Duration::from_secs(90));
    let authorization = crate::rest::client::inter_worker_authorization(worker);
    tokio::task::spawn_blocking(move || {
        let failed = |e: &dyn std::fmt::Display| {
            WriteError::Failed(format!("forwarding {method} {url} to another worker: {e}"))
        };
        let mut request = axum::http::Request::builder()
            .method(method.as_str())
            .uri(url.as_str())
            .header(FORWARDED_HEADER, "1")
            .header("content-type", "application/json");
        if let Some(a) = &authorization {
            request = request.header("authorization", a);
        }
        let request = request.body(body).map_err(|e| failed(&e))?;
        let mut response = agent.run(request).map_err(|e| failed(&e))?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type");
        let location = header("location");
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_vec().map_err(|e| failed(&e))?;
        Ok(Reply {
            status,
            content_type,
            location,
            body,
        })
    })
    .await
    .map_err(|e| WriteError::Failed(format!("forwarding panicked: {e}")))?
}
