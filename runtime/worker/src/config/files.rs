//! Config files: `.properties` (Kafka Connect's quickstart files) or JSON — for a
//! connector either Kafka Connect's `{"name": …, "config": {…}}` or a flat object.

use std::path::Path;

use sluice_core::config::{props, ConfigMap};

/// A file that could not be read as a config.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct FileError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

fn read(path: &Path) -> Result<(String, bool), FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError {
        path: path.display().to_string(),
        reason: format!("cannot read the file: {e}"),
    })?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{');
    Ok((text, is_json))
}

fn json_to_map(
    path: &Path,
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Result<ConfigMap, FileError> {
    let mut out = ConfigMap::new();
    for (k, v) in obj {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            other => {
                return Err(FileError {
                    path: path.display().to_string(),
                    reason: format!(
                        "the value of \"{k}\" is {other}; config values are strings (lists are comma-separated strings)"
                    ),
                })
            }
        };
        out.insert(k.clone(), text);
    }
    Ok(out)
}

/// A `.properties` file as a map, or a JSON file as its object (converted by the caller).
enum Parsed {
    Properties(ConfigMap),
    Json(serde_json::Map<String, serde_json::Value>),
}

fn parse(path: &Path) -> Result<Parsed, FileError> {
    let (text, is_json) = read(path)?;
    let err = |reason: String| FileError {
        path: path.display().to_string(),
        reason,
    };
    if is_json {
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| err(format!("invalid JSON: {e}")))?;
        match json {
            serde_json::Value::Object(obj) => Ok(Parsed::Json(obj)),
            _ => Err(err("expected a JSON object".into())),
        }
    } else {
        Ok(Parsed::Properties(props::parse(&text).map_err(err)?))
    }
}

/// Reads a worker config file.
pub fn read_worker_file(path: &Path) -> Result<ConfigMap, FileError> {
    match parse(path)? {
        Parsed::Properties(map) => Ok(map),
        Parsed::Json(obj) => json_to_map(path, &obj),
    }
}

/// Reads a connector config file; the result always holds `name`.
pub fn read_connector_file(path: &Path) -> Result<ConfigMap, FileError> {
    let parsed = parse(path)?;
    let err = |reason: String| FileError {
        path: path.display().to_string(),
        reason,
    };
    let mut config = match parsed {
        Parsed::Properties(map) => map,
        Parsed::Json(obj) => match obj.get("config") {
            None => json_to_map(path, &obj)?,
            Some(serde_json::Value::Object(inner)) => {
                let mut c = json_to_map(path, inner)?;
                if let Some(name) = obj.get("name").and_then(|n| n.as_str()) {
                    if let Some(inner_name) = c.get("name") {
                        if inner_name != name {
                            return Err(err(format!(
                                "Connector name configuration ({inner_name}) doesn't match connector name ({name})"
                            )));
                        }
                    }
                    c.insert("name".into(), name.to_owned());
                }
                c
            }
            Some(_) => return Err(err("\"config\" must be a JSON object of strings".into())),
        },
    };
    match config.get("name").map(|n| n.trim().to_owned()) {
        Some(n) if !n.is_empty() => {
            config.insert("name".into(), n);
            Ok(config)
        }
        _ => Err(err("the connector has no \"name\"".into())),
    }
}

/// KIP-980's `initial_state` of a connector file in Kafka Connect's
/// `{"name", "config", "initial_state"}` form; `None` when absent (or not that form).
pub fn read_connector_initial_state(
    path: &Path,
) -> Result<Option<crate::herder::TargetState>, FileError> {
    let Parsed::Json(obj) = parse(path)? else {
        return Ok(None);
    };
    if !obj.contains_key("config") {
        return Ok(None);
    }
    match obj.get("initial_state") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(crate::herder::TargetState::from_initial_state)
            .map(Some)
            .ok_or_else(|| FileError {
                path: path.display().to_string(),
                reason: format!(
                    "\"initial_state\" is {v}; use \"RUNNING\", \"PAUSED\" or \"STOPPED\""
                ),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_files_in_both_forms() {
        let dir = tempfile::tempdir().expect("tempdir");
        let json = dir.path().join("c.json");
        std::fs::write(
            &json,
            r#"{"name":"a","config":{"connector.class":"FileStreamSource","tasks.max":1}}"#,
        )
        .expect("write");
        let c = read_connector_file(&json).expect("json");
        assert_eq!(c["name"], "a");
        assert_eq!(c["tasks.max"], "1");
        let props = dir.path().join("c.properties");
        std::fs::write(&props, "name=b\nconnector.class=FileStreamSink\n").expect("write");
        assert_eq!(read_connector_file(&props).expect("props")["name"], "b");
        std::fs::write(&props, "connector.class=FileStreamSink\n").expect("write");
        assert!(read_connector_file(&props)
            .expect_err("no name")
            .to_string()
            .contains("no \"name\""));
    }
}
