//! The Kafka Connect REST API: the same paths, JSON shapes, status codes and
//! `{"error_code", "message"}` errors, over any [`Herder`].
//!
//! Handlers only translate HTTP to herder calls and back; what a call means (and every
//! Kafka Connect message for a 404 / 409 / 400 from the herder) lives in the herder, so
//! the standalone and distributed modes answer alike. Errors the REST layer itself
//! finds (a malformed body, a name that does not match the URL, a disabled feature)
//! use Kafka Connect's `ConnectorsResource` / `LoggingResource` messages.

pub mod auth;
pub mod client;
mod connectors;
mod loggers;
mod plugins;
pub mod serve;
pub mod tls;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value as Json_};
use sluice_core::config::{ConfigInfos, ConfigMap};

use crate::herder::{Herder, HerderError};

/// What the handlers share.
pub type AppState = Arc<dyn Herder>;

/// An error response: Kafka Connect's `ErrorMessage`.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(json!({ "error_code": self.0.as_u16(), "message": self.1 })),
        )
            .into_response()
    }
}

impl From<HerderError> for ApiError {
    fn from(e: HerderError) -> Self {
        let code = match &e {
            HerderError::NotFound(_) => StatusCode::NOT_FOUND,
            HerderError::AlreadyExists(_) | HerderError::Conflict(_) => StatusCode::CONFLICT,
            HerderError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HerderError::InvalidConfig(infos) => return invalid(infos),
            HerderError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(code, e.to_string())
    }
}

type Reply = Result<Response, ApiError>;

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

/// Kafka Connect's 400 for an invalid config, listing every error.
fn invalid(infos: &ConfigInfos) -> ApiError {
    let errors = infos.errors();
    let mut msg = format!(
        "Connector configuration is invalid and contains the following {} error(s):",
        errors.len()
    );
    for (_, e) in &errors {
        msg.push('\n');
        msg.push_str(e);
    }
    msg.push_str("\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`");
    ApiError(StatusCode::BAD_REQUEST, msg)
}

/// A JSON body, or Kafka Connect's 400 when it is not JSON of the expected shape.
type Body<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

fn body<T>(b: Body<T>) -> Result<T, ApiError> {
    b.map(|Json(v)| v).map_err(|e| bad_request(e.body_text()))
}

/// A flat config from a JSON object; non-string values are written as JSON text.
fn config_map(object: &serde_json::Map<String, Json_>) -> ConfigMap {
    object
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect()
}

/// The router for a herder.
pub fn router(herder: AppState) -> Router {
    use connectors as c;
    Router::new()
        .route("/", get(root))
        .route("/connectors", get(c::list).post(c::create))
        .route("/connectors/{name}", get(c::info).delete(c::delete))
        .route(
            "/connectors/{name}/config",
            get(c::config).put(c::put_config).patch(c::patch_config),
        )
        .route("/connectors/{name}/status", get(c::status))
        .route("/connectors/{name}/restart", post(c::restart))
        .route("/connectors/{name}/pause", put(c::pause))
        .route("/connectors/{name}/resume", put(c::resume))
        .route("/connectors/{name}/stop", put(c::stop))
        .route(
            "/connectors/{name}/tasks",
            get(c::tasks).post(c::put_task_configs),
        )
        .route(
            "/connectors/{name}/tasks/{task}/status",
            get(c::task_status),
        )
        .route(
            "/connectors/{name}/tasks/{task}/restart",
            post(c::restart_task),
        )
        .route("/connectors/{name}/topics", get(c::topics))
        .route("/connectors/{name}/topics/reset", put(c::reset_topics))
        .route(
            "/connectors/{name}/offsets",
            get(c::offsets)
                .patch(c::alter_offsets)
                .delete(c::reset_offsets),
        )
        .route("/connector-plugins", get(plugins::list))
        .route("/connector-plugins/{plugin}/config", get(plugins::config))
        .route(
            "/connector-plugins/{plugin}/config/validate",
            put(plugins::validate),
        )
        .route("/admin/loggers", get(loggers::list))
        .route("/admin/loggers/{name}", get(loggers::get).put(loggers::set))
        .route("/metrics", get(crate::metrics::serve))
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "HTTP 404 Not Found".into()) })
        .method_not_allowed_fallback(|| async {
            ApiError(
                StatusCode::METHOD_NOT_ALLOWED,
                "HTTP 405 Method Not Allowed".into(),
            )
        })
        .with_state(herder)
}

async fn root(axum::extract::State(h): axum::extract::State<AppState>) -> Json<Json_> {
    Json(json!({
        "version": sluice_core::VERSION,
        "commit": option_env!("SLUICE_COMMIT").unwrap_or("unknown"),
        "kafka_cluster_id": h.kafka_cluster_id(),
    }))
}
