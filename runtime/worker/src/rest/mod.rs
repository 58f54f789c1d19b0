//! The Kafka Connect REST API (the part standalone mode serves so far): the same paths,
//! JSON shapes, status codes and `{"error_code", "message"}` errors.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{json, Value as Json_};
use sluice_core::config::{ConfigInfos, ConfigKeyInfo, ConfigMap};
use sluice_core::plugin::PluginType;

use crate::config::{framework_def, validate_connector};
use crate::herder::Herder;
use crate::registry;

/// An error response.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(json!({ "error_code": self.0.as_u16(), "message": self.1 })),
        )
            .into_response()
    }
}

type Reply = Result<Response, ApiError>;

fn not_found(name: &str) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("Connector {name} not found"))
}

/// The router for a herder.
pub fn router(herder: Arc<Herder>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/connectors", get(list_connectors).post(create_connector))
        .route(
            "/connectors/{name}",
            get(connector_info).delete(delete_connector),
        )
        .route("/connectors/{name}/status", get(connector_status))
        .route("/connectors/{name}/config", get(connector_config))
        .route("/connectors/{name}/tasks", get(connector_tasks))
        .route("/connector-plugins", get(list_plugins))
        .route("/connector-plugins/{plugin}/config", get(plugin_config))
        .route("/connector-plugins/{plugin}/config/validate", put(validate))
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "HTTP 404 Not Found".into()) })
        .with_state(herder)
}

async fn root(State(h): State<Arc<Herder>>) -> Json<Json_> {
    Json(json!({
        "version": sluice_core::VERSION,
        "commit": option_env!("SLUICE_COMMIT").unwrap_or("unknown"),
        "kafka_cluster_id": h.kafka_cluster_id,
    }))
}

async fn list_connectors(
    State(h): State<Arc<Herder>>,
    Query(q): Query<Vec<(String, String)>>,
) -> Reply {
    let expand: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "expand")
        .map(|(_, v)| v.as_str())
        .collect();
    let names = h.connector_names();
    if expand.is_empty() {
        return Ok(Json(names).into_response());
    }
    let mut out = BTreeMap::new();
    for name in names {
        let mut e = serde_json::Map::new();
        if expand.contains(&"status") {
            e.insert("status".into(), json!(h.connector_status(&name)));
        }
        if expand.contains(&"info") {
            e.insert("info".into(), json!(h.connector_info(&name)));
        }
        out.insert(name, e);
    }
    Ok(Json(out).into_response())
}

async fn create_connector(
    State(h): State<Arc<Herder>>,
    body: Result<Json<Json_>, axum::extract::rejection::JsonRejection>,
) -> Reply {
    let Json(body) = body.map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.body_text()))?;
    let name = body
        .get("name")
        .and_then(Json_::as_str)
        .map(str::trim)
        .unwrap_or("");
    if name.is_empty() {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "Connector name must be given in \"name\"".into(),
        ));
    }
    let mut config: ConfigMap = match body.get("config") {
        Some(Json_::Object(o)) => o
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect(),
        _ => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "Connector config must be an object in \"config\"".into(),
            ))
        }
    };
    if let Some(inner) = config.get("name") {
        if inner != name {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("Connector name configuration ({inner}) doesn't match connector name in the URL ({name})"),
            ));
        }
    }
    config.insert("name".into(), name.to_owned());
    if h.connector_info(name).is_some() {
        return Err(ApiError(
            StatusCode::CONFLICT,
            format!("Connector {name} already exists"),
        ));
    }
    let (infos, parsed) = validate_connector(&config, h.worker());
    let Some(parsed) = parsed else {
        return Err(invalid(&infos));
    };
    h.start_connector(parsed)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let info = h.connector_info(name).ok_or_else(|| not_found(name))?;
    Ok((
        StatusCode::CREATED,
        [("location", format!("/connectors/{name}"))],
        Json(info),
    )
        .into_response())
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

async fn delete_connector(State(h): State<Arc<Herder>>, Path(name): Path<String>) -> Reply {
    if h.stop_connector(&name).await {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found(&name))
    }
}

async fn connector_info(State(h): State<Arc<Herder>>, Path(name): Path<String>) -> Reply {
    h.connector_info(&name)
        .map(|i| Json(i).into_response())
        .ok_or_else(|| not_found(&name))
}

async fn connector_status(State(h): State<Arc<Herder>>, Path(name): Path<String>) -> Reply {
    h.connector_status(&name)
        .map(|s| Json(s).into_response())
        .ok_or_else(|| {
            ApiError(
                StatusCode::NOT_FOUND,
                format!("No status found for connector {name}"),
            )
        })
}

async fn connector_config(State(h): State<Arc<Herder>>, Path(name): Path<String>) -> Reply {
    h.connector_info(&name)
        .map(|i| Json(i.config).into_response())
        .ok_or_else(|| not_found(&name))
}

async fn connector_tasks(State(h): State<Arc<Herder>>, Path(name): Path<String>) -> Reply {
    let tasks = h.task_configs(&name).ok_or_else(|| not_found(&name))?;
    let body: Vec<Json_> = tasks
        .into_iter()
        .map(|(task, config)| json!({"id": {"connector": name, "task": task}, "config": config}))
        .collect();
    Ok(Json(body).into_response())
}

async fn list_plugins(Query(q): Query<HashMap<String, String>>) -> Json<Vec<Json_>> {
    let connectors_only = q
        .get("connectorsOnly")
        .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    Json(
        registry::all_infos()
            .filter(|i| !connectors_only || matches!(i.kind, PluginType::Source | PluginType::Sink))
            .map(|i| json!({"class": i.class, "type": i.kind.name(), "version": sluice_core::VERSION}))
            .collect(),
    )
}

async fn plugin_config(Path(plugin): Path<String>) -> Reply {
    let p = registry::find_info(&plugin)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("Unknown plugin {plugin}.")))?;
    let mut def = (p.config)();
    if matches!(p.kind, PluginType::Source | PluginType::Sink) {
        def = def.merge(&framework_def(p.kind));
    }
    let keys: Vec<ConfigKeyInfo> = def.keys().iter().map(ConfigKeyInfo::from).collect();
    Ok(Json(keys).into_response())
}

async fn validate(
    State(h): State<Arc<Herder>>,
    Path(plugin): Path<String>,
    body: Result<Json<BTreeMap<String, Json_>>, axum::extract::rejection::JsonRejection>,
) -> Reply {
    let Json(body) = body.map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.body_text()))?;
    let config: ConfigMap = body
        .into_iter()
        .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
        .collect();
    let Some(class) = config.get("connector.class") else {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "Connector config contains no connector type".into(),
        ));
    };
    let (Some(a), Some(b)) = (registry::find(&plugin), registry::find(class)) else {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("Unknown plugin {plugin}."),
        ));
    };
    if a.info.class != b.info.class {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("Included connector type {class} does not match request type {plugin}"),
        ));
    }
    let (infos, _) = validate_connector(&config, h.worker());
    Ok(Json(infos).into_response())
}
