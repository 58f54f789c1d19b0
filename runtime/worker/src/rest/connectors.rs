//! `/connectors/…`: Kafka Connect's `ConnectorsResource`, status codes included:
//! 201 + `Location` on create, 200 on a config update, 202 for pause / resume / stop /
//! topic reset and for restarts with `includeTasks` / `onlyFailed`, 204 for a plain
//! restart, a task restart and a delete.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value as Json_};
use sluice_core::config::ConfigMap;

use super::{bad_request, body, config_map, ApiError, AppState, Body, Reply};
use crate::herder::{ConnectorOffsets, RestartRequest, TargetState};

/// A task number from the path; Kafka Connect answers 404 for one that is not a number.
fn task_number(task: &str) -> Result<usize, ApiError> {
    task.parse()
        .map_err(|_| ApiError(StatusCode::NOT_FOUND, "HTTP 404 Not Found".into()))
}

/// Kafka Connect's check that a config's `name` matches the URL; adds it when absent.
fn check_name(name: &str, config: &mut ConfigMap) -> Result<(), ApiError> {
    if let Some(inner) = config.get("name") {
        if inner != name {
            return Err(bad_request(format!(
                "Connector name configuration ({inner}) doesn't match connector name in the URL ({name})"
            )));
        }
    } else {
        config.insert("name".into(), name.to_owned());
    }
    Ok(())
}

pub(super) async fn list(
    State(h): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Reply {
    let expand: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "expand")
        .map(|(_, v)| v.as_str())
        .collect();
    let names = h.connectors().await?;
    if expand.is_empty() {
        return Ok(Json(names).into_response());
    }
    let mut out = BTreeMap::new();
    for name in names {
        let mut e = serde_json::Map::new();
        if expand.contains(&"status") {
            if let Ok(s) = h.connector_status(&name).await {
                e.insert("status".into(), json!(s));
            }
        }
        if expand.contains(&"info") {
            if let Ok(i) = h.connector_info(&name).await {
                e.insert("info".into(), json!(i));
            }
        }
        out.insert(name, e);
    }
    Ok(Json(out).into_response())
}

/// `POST /connectors` with `{"name", "config", "initial_state"}` (KIP-980).
pub(super) async fn create(State(h): State<AppState>, b: Body<Json_>) -> Reply {
    let b = body(b)?;
    let name = b
        .get("name")
        .and_then(Json_::as_str)
        .map(str::trim)
        .unwrap_or("");
    if name.is_empty() {
        return Err(bad_request("Connector name must be given in \"name\""));
    }
    let mut config = match b.get("config") {
        Some(Json_::Object(o)) => config_map(o),
        _ => {
            return Err(bad_request(
                "Connector config must be an object in \"config\"",
            ))
        }
    };
    let initial_state = match b.get("initial_state") {
        None | Some(Json_::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(TargetState::from_initial_state)
                .ok_or_else(|| {
                    bad_request(format!(
                        "Invalid initial_state {v}: use \"RUNNING\", \"PAUSED\" or \"STOPPED\""
                    ))
                })?,
        ),
    };
    check_name(name, &mut config)?;
    let created = h
        .put_connector_config(name, config, initial_state, false)
        .await?;
    Ok((
        StatusCode::CREATED,
        [("location", format!("/connectors/{name}"))],
        Json(created.value),
    )
        .into_response())
}

pub(super) async fn info(State(h): State<AppState>, Path(name): Path<String>) -> Reply {
    Ok(Json(h.connector_info(&name).await?).into_response())
}

pub(super) async fn delete(State(h): State<AppState>, Path(name): Path<String>) -> Reply {
    h.delete_connector(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn config(State(h): State<AppState>, Path(name): Path<String>) -> Reply {
    Ok(Json(h.connector_info(&name).await?.config).into_response())
}

/// `PUT /connectors/{n}/config`: 201 when it created the connector, 200 when it updated it.
pub(super) async fn put_config(
    State(h): State<AppState>,
    Path(name): Path<String>,
    b: Body<serde_json::Map<String, Json_>>,
) -> Reply {
    let mut config = config_map(&body(b)?);
    check_name(&name, &mut config)?;
    let created = h.put_connector_config(&name, config, None, true).await?;
    if created.created {
        Ok((
            StatusCode::CREATED,
            [("location", format!("/connectors/{name}"))],
            Json(created.value),
        )
            .into_response())
    } else {
        Ok(Json(created.value).into_response())
    }
}

/// `PATCH /connectors/{n}/config`: merges; a `null` value removes the key.
pub(super) async fn patch_config(
    State(h): State<AppState>,
    Path(name): Path<String>,
    b: Body<serde_json::Map<String, Json_>>,
) -> Reply {
    let patch: BTreeMap<String, Option<String>> = body(b)?
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Json_::Null => None,
                Json_::String(s) => Some(s),
                other => Some(other.to_string()),
            };
            (k, v)
        })
        .collect();
    if let Some(Some(inner)) = patch.get("name") {
        if inner != &name {
            return Err(bad_request(format!(
                "Connector name configuration ({inner}) doesn't match connector name in the URL ({name})"
            )));
        }
    }
    Ok(Json(h.patch_connector_config(&name, patch).await?).into_response())
}

pub(super) async fn status(State(h): State<AppState>, Path(name): Path<String>) -> Reply {
    Ok(Json(h.connector_status(&name).await?).into_response())
}

fn flag(q: &HashMap<String, String>, key: &str) -> Result<bool, ApiError> {
    match q.get(key).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" || v.is_empty() => Ok(false),
        Some(v) => Err(bad_request(format!(
            "Invalid value {v} for query parameter {key}: use true or false"
        ))),
    }
}

/// `POST /connectors/{n}/restart?includeTasks=&onlyFailed=` (KIP-745): without either
/// flag it restarts the connector instance only and answers 204, as before KIP-745.
pub(super) async fn restart(
    State(h): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let include_tasks = flag(&q, "includeTasks")?;
    let only_failed = flag(&q, "onlyFailed")?;
    if !include_tasks && !only_failed {
        h.restart_connector(&name).await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let plan = h
        .restart_connector_and_tasks(RestartRequest {
            connector: name,
            only_failed,
            include_tasks,
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(plan)).into_response())
}

pub(super) async fn pause(State(h): State<AppState>, Path(name): Path<String>) -> Reply {
    h.pause_connector(&name).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub(super) async fn resume(State(h): State<AppState>, Path(name): Path<String>) -> Reply {
    h.resume_connector(&name).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub(super) async fn stop(State(h): State<AppState>, Path(name): Path<String>) -> Reply {
    h.stop_connector(&name).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub(super) async fn tasks(State(h): State<AppState>, Path(name): Path<String>) -> Reply {
    let tasks = h.task_configs(&name).await?;
    let body: Vec<Json_> = tasks
        .into_iter()
        .map(|(task, config)| json!({"id": {"connector": name, "task": task}, "config": config}))
        .collect();
    Ok(Json(body).into_response())
}

/// Kafka Connect's internal endpoint: a connector's task configs, for the leader to write.
pub(super) async fn put_task_configs(
    State(h): State<AppState>,
    Path(name): Path<String>,
    tasks: Body<Vec<ConfigMap>>,
) -> Reply {
    h.put_task_configs(&name, body(tasks)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn task_status(
    State(h): State<AppState>,
    Path((name, task)): Path<(String, String)>,
) -> Reply {
    let task = task_number(&task)?;
    Ok(Json(h.task_status(&name, task).await?).into_response())
}

pub(super) async fn restart_task(
    State(h): State<AppState>,
    Path((name, task)): Path<(String, String)>,
) -> Reply {
    let task = task_number(&task)?;
    h.restart_task(&name, task).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn tracking_disabled() -> ApiError {
    ApiError(StatusCode::FORBIDDEN, "Topic tracking is disabled.".into())
}

/// `GET /connectors/{n}/topics`: `{"<n>": {"topics": [...]}}`.
pub(super) async fn topics(State(h): State<AppState>, Path(name): Path<String>) -> Reply {
    if !h.worker().topic_tracking {
        return Err(tracking_disabled());
    }
    let topics = h.active_topics(&name).await?;
    Ok(Json(json!({ name: { "topics": topics } })).into_response())
}

pub(super) async fn reset_topics(State(h): State<AppState>, Path(name): Path<String>) -> Reply {
    if !h.worker().topic_tracking {
        return Err(tracking_disabled());
    }
    if !h.worker().topic_tracking_reset {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "Topic tracking reset is disabled.".into(),
        ));
    }
    h.reset_active_topics(&name).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `GET /connectors/{n}/offsets`: `{"offsets": [{"partition": {…}, "offset": {…}}]}`.
pub(super) async fn offsets(State(h): State<AppState>, Path(name): Path<String>) -> Reply {
    let offsets = h.connector_offsets(&name).await?;
    Ok(Json(json!({ "offsets": offsets })).into_response())
}

/// `PATCH /connectors/{n}/offsets` with `{"offsets": [...]}`; the connector must be STOPPED.
pub(super) async fn alter_offsets(
    State(h): State<AppState>,
    Path(name): Path<String>,
    b: Body<ConnectorOffsets>,
) -> Reply {
    let offsets = body(b)?.offsets.filter(|o| !o.is_empty()).ok_or_else(|| {
        bad_request("Partitions / offsets need to be provided for an alter offsets request")
    })?;
    let message = h.alter_connector_offsets(&name, offsets).await?;
    Ok(Json(json!({ "message": message })).into_response())
}

/// `DELETE /connectors/{n}/offsets`; the connector must be STOPPED.
pub(super) async fn reset_offsets(State(h): State<AppState>, Path(name): Path<String>) -> Reply {
    let message = h.reset_connector_offsets(&name).await?;
    Ok(Json(json!({ "message": message })).into_response())
}
