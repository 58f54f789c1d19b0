//! `/connector-plugins/…`: the plugin list, each plugin's config keys, and config
//! validation answering Kafka Connect's `ConfigInfos` for every key.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value as Json_};
use sluice_core::config::{ConfigKeyInfo, ConfigMap};
use sluice_core::plugin::PluginType;

use super::{bad_request, body, ApiError, AppState, Body, Reply};
use crate::config::{framework_def, validate_connector};
use crate::registry;

pub(super) async fn list(Query(q): Query<HashMap<String, String>>) -> Json<Vec<Json_>> {
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

pub(super) async fn config(Path(plugin): Path<String>) -> Reply {
    let p = registry::find_info(&plugin)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("Unknown plugin {plugin}.")))?;
    let mut def = (p.config)();
    if matches!(p.kind, PluginType::Source | PluginType::Sink) {
        def = def.merge(&framework_def(p.kind));
    }
    let keys: Vec<ConfigKeyInfo> = def.keys().iter().map(ConfigKeyInfo::from).collect();
    Ok(Json(keys).into_response())
}

pub(super) async fn validate(
    State(h): State<AppState>,
    Path(plugin): Path<String>,
    b: Body<BTreeMap<String, Json_>>,
) -> Reply {
    let config: ConfigMap = body(b)?
        .into_iter()
        .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
        .collect();
    let Some(class) = config.get("connector.class") else {
        return Err(bad_request("Connector config contains no connector type"));
    };
    let (Some(a), Some(b)) = (registry::find(&plugin), registry::find(class)) else {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("Unknown plugin {plugin}."),
        ));
    };
    if a.info.class != b.info.class {
        return Err(bad_request(format!(
            "Included connector type {class} does not match request type {plugin}"
        )));
    }
    let (infos, _) = validate_connector(&config, h.worker());
    Ok(Json(infos).into_response())
}
