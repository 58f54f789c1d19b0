//! `/admin/loggers` (KIP-495): list, read and set log levels at run time, with Kafka
//! Connect's `LoggingResource` answers; the levels live in [`crate::logging`].

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::Value as Json_;

use super::{bad_request, body, ApiError, Body, Reply};
use crate::logging::{self, LevelError};

fn from_level_error(e: LevelError) -> ApiError {
    let code = match e {
        // Kafka Connect answers an unknown level with 404.
        LevelError::UnknownLevel(_) => StatusCode::NOT_FOUND,
        LevelError::BadName(_) => StatusCode::BAD_REQUEST,
        LevelError::NotInstalled | LevelError::Apply { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError(code, e.to_string())
}

fn installed() -> Result<&'static logging::LogLevels, ApiError> {
    logging::levels().ok_or_else(|| from_level_error(LevelError::NotInstalled))
}

/// `GET /admin/loggers`: `{"root": {"level": "INFO", "last_modified": null}, …}`.
pub(super) async fn list() -> Reply {
    Ok(Json(installed()?.all()).into_response())
}

/// `GET /admin/loggers/{name}`: the level in effect for that logger.
pub(super) async fn get(Path(name): Path<String>) -> Reply {
    let level = installed()?.level(&name).map_err(from_level_error)?;
    Ok(Json(level).into_response())
}

/// `PUT /admin/loggers/{name}` with `{"level": "DEBUG"}`: 200 with the changed logger
/// names; with `?scope=cluster`, 204 (this worker is the whole standalone cluster).
pub(super) async fn set(
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    b: Body<HashMap<String, Json_>>,
) -> Reply {
    let b = body(b)?;
    let Some(level) = b.get("level").and_then(Json_::as_str) else {
        return Err(bad_request(
            "Desired 'level' parameter was not specified in request.",
        ));
    };
    let changed = installed()?.set(&name, level).map_err(from_level_error)?;
    let cluster = q
        .get("scope")
        .is_some_and(|s| s.eq_ignore_ascii_case("cluster"));
    if cluster {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Ok(Json(changed).into_response())
    }
}
