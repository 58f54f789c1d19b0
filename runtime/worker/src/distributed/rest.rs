//! The REST endpoints distributed mode serves until the full API (`crate::rest` over a
//! `Herder` trait) is wired to [`DistributedHerder`]: list, create, show, status and
//! delete connectors with Kafka Connect's shapes and codes, plus Kafka Connect's
//! internal `POST /connectors/{name}/tasks`, through which followers hand the leader the
//! task configs of connectors they run. Writes on a follower are forwarded to the
//! leader's REST URL; with no leader known (a rebalance) they answer 409.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use sluice_core::config::ConfigMap;

use super::herder::{forward, DistributedHerder, WriteError};
use super::TargetState;
use crate::config::validate_connector;

type Reply = Result<Response, (StatusCode, Json<Value>)>;

fn error(code: StatusCode, message: impl Into<String>) -> (StatusCode, Json<Value>) {
    (
        code,
        Json(json!({"error_code": code.as_u16(), "message": message.into()})),
    )
}

fn write_error(e: WriteError) -> (StatusCode, Json<Value>) {
    match e {
        WriteError::NoLeader => error(StatusCode::CONFLICT, e.to_string()),
        WriteError::Failed(m) => error(StatusCode::INTERNAL_SERVER_ERROR, m),
    }
}

/// The router over a distributed herder.
pub fn router(herder: Arc<DistributedHerder>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/connectors", get(list).post(create))
        .route("/connectors/{name}", get(info).delete(delete))
        .route("/connectors/{name}/status", get(status))
        .route("/connectors/{name}/tasks", post(put_tasks))
        .with_state(herder)
}

async fn root() -> Json<Value> {
    Json(
        json!({"version": sluice_core::VERSION, "commit": option_env!("SLUICE_COMMIT").unwrap_or("unknown")}),
    )
}

async fn list(State(h): State<Arc<DistributedHerder>>) -> Json<Vec<String>> {
    Json(h.configs.snapshot().connectors.keys().cloned().collect())
}

fn kind(props: &ConfigMap) -> &'static str {
    crate::registry::find(props.get("connector.class").map_or("", String::as_str))
        .map_or("unknown", |p| crate::herder::kind_name(p.info.kind))
}

fn info_of(h: &DistributedHerder, name: &str) -> Option<Value> {
    let c = h.configs.snapshot();
    let props = c.connectors.get(name)?;
    let tasks: Vec<Value> = (0..c.task_count(name))
        .map(|t| json!({"connector": name, "task": t}))
        .collect();
    Some(json!({"name": name, "config": props, "tasks": tasks, "type": kind(props)}))
}

async fn info(State(h): State<Arc<DistributedHerder>>, Path(name): Path<String>) -> Reply {
    info_of(&h, &name)
        .map(|i| Json(i).into_response())
        .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("Connector {name} not found")))
}

async fn status(State(h): State<Arc<DistributedHerder>>, Path(name): Path<String>) -> Reply {
    let c = h.configs.snapshot();
    let Some(props) = c.connectors.get(&name) else {
        return Err(error(
            StatusCode::NOT_FOUND,
            format!("No status found for connector {name}"),
        ));
    };
    let state = |s: Option<super::Status>| match s {
        Some(s) => json!({"state": s.state, "worker_id": s.worker_id, "trace": s.trace}),
        None => json!({"state": "UNASSIGNED", "worker_id": h.worker_id}),
    };
    let tasks: Vec<Value> = (0..c.task_count(&name))
        .map(|t| {
            let mut v = state(h.statuses.task(&name, t));
            v["id"] = json!(t);
            v
        })
        .collect();
    Ok(Json(json!({
        "name": name,
        "connector": state(h.statuses.connector(&name)),
        "tasks": tasks,
        "type": kind(props),
    }))
    .into_response())
}

async fn create(
    State(h): State<Arc<DistributedHerder>>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Reply {
    let Json(body) = body.map_err(|e| error(StatusCode::BAD_REQUEST, e.body_text()))?;
    if let Some(url) = h.leader_url().map_err(write_error)? {
        let answer = forward(
            &h.config.worker,
            format!("{url}/connectors"),
            "POST",
            serde_json::to_vec(&body).unwrap_or_default(),
        )
        .await
        .map_err(write_error)?;
        let value: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        return Ok((StatusCode::CREATED, Json(value)).into_response());
    }
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("")
        .to_owned();
    if name.is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Connector name must be given in \"name\"",
        ));
    }
    let Some(Value::Object(o)) = body.get("config") else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Connector config must be an object in \"config\"",
        ));
    };
    let mut config: ConfigMap = o
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    config.insert("name".into(), name.clone());
    let snapshot = h
        .configs
        .refresh()
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    if snapshot.connectors.contains_key(&name) {
        return Err(error(
            StatusCode::CONFLICT,
            format!("Connector {name} already exists"),
        ));
    }
    let (infos, parsed) = validate_connector(&config, &h.config.worker);
    if parsed.is_none() {
        let errors = infos.errors();
        let mut msg = format!(
            "Connector configuration is invalid and contains the following {} error(s):",
            errors.len()
        );
        for (_, e) in &errors {
            msg.push('\n');
            msg.push_str(e);
        }
        return Err(error(StatusCode::BAD_REQUEST, msg));
    }
    h.configs
        .put_connector_config(&name, &config, Some(TargetState::Started))
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let info = info_of(&h, &name).unwrap_or(Value::Null);
    Ok((
        StatusCode::CREATED,
        [("location", format!("/connectors/{name}"))],
        Json(info),
    )
        .into_response())
}

async fn delete(State(h): State<Arc<DistributedHerder>>, Path(name): Path<String>) -> Reply {
    if let Some(url) = h.leader_url().map_err(write_error)? {
        forward(
            &h.config.worker,
            format!("{url}/connectors/{name}"),
            "DELETE",
            Vec::new(),
        )
        .await
        .map_err(write_error)?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let snapshot = h
        .configs
        .refresh()
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    if !snapshot.connectors.contains_key(&name) {
        return Err(error(
            StatusCode::NOT_FOUND,
            format!("Connector {name} not found"),
        ));
    }
    h.configs
        .remove_connector(&name)
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Kafka Connect's internal endpoint: a connector's task configs, written by the leader.
async fn put_tasks(
    State(h): State<Arc<DistributedHerder>>,
    Path(name): Path<String>,
    body: Result<Json<Vec<ConfigMap>>, axum::extract::rejection::JsonRejection>,
) -> Reply {
    let Json(tasks) = body.map_err(|e| error(StatusCode::BAD_REQUEST, e.body_text()))?;
    if h.leader_url().map_err(write_error)?.is_some() {
        return Err(error(StatusCode::CONFLICT, "Cannot complete request because of a conflicting operation (e.g. worker rebalance): this worker is not the leader"));
    }
    h.put_task_configs(&name, tasks)
        .await
        .map_err(write_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
