//! Kafka Connect's REST shapes for config definitions and validation results
//! (`ConfigInfos`, `ConfigInfo`, `ConfigKeyInfo`, `ConfigValueInfo`).

use serde::Serialize;

use super::{ConfigDef, ConfigKey, ConfigMap};

/// `ConfigKeyInfo`: one declared key, as `/connector-plugins/{type}/config` lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfigKeyInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub required: bool,
    pub default_value: Option<String>,
    pub importance: String,
    pub documentation: String,
    pub group: Option<String>,
    pub width: String,
    pub display_name: String,
    pub dependents: Vec<String>,
    pub order: i32,
}

impl From<&ConfigKey> for ConfigKeyInfo {
    fn from(k: &ConfigKey) -> Self {
        ConfigKeyInfo {
            name: k.name.clone(),
            ty: k.ty.name().to_owned(),
            required: k.required(),
            default_value: k.default_text().map(str::to_owned),
            importance: k.importance.name().to_owned(),
            documentation: k.doc.clone(),
            group: k.group.clone(),
            width: "NONE".to_owned(),
            display_name: k.display_name.clone(),
            dependents: Vec::new(),
            order: k.order,
        }
    }
}

/// `ConfigValueInfo`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfigValueInfo {
    pub name: String,
    pub value: Option<String>,
    pub recommended_values: Vec<String>,
    pub errors: Vec<String>,
    pub visible: bool,
}

/// `ConfigInfo`: a definition and the validated value.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfigInfo {
    pub definition: ConfigKeyInfo,
    pub value: ConfigValueInfo,
}

/// `ConfigInfos`: the response of `PUT /connector-plugins/{type}/config/validate`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfigInfos {
    pub name: String,
    pub error_count: usize,
    pub groups: Vec<String>,
    pub configs: Vec<ConfigInfo>,
}

impl ConfigInfos {
    /// Adds an error found beyond per-key validation (e.g. a cross-key rule) to `key`.
    pub fn add_error(&mut self, key: &str, value: Option<&str>, message: String) {
        match self.configs.iter_mut().find(|c| c.value.name == key) {
            Some(c) => c.value.errors.push(message),
            None => self.configs.push(ConfigInfo {
                definition: unknown_key(key),
                value: ConfigValueInfo {
                    name: key.to_owned(),
                    value: value.map(str::to_owned),
                    recommended_values: Vec::new(),
                    errors: vec![message],
                    visible: true,
                },
            }),
        }
        self.error_count = self.configs.iter().map(|c| c.value.errors.len()).sum();
    }

    /// Every error, as (key, message).
    pub fn errors(&self) -> Vec<(String, String)> {
        self.configs
            .iter()
            .flat_map(|c| {
                c.value
                    .errors
                    .iter()
                    .map(|e| (c.value.name.clone(), e.clone()))
            })
            .collect()
    }

    /// Validates `props` against `def` and renders the result for the plugin `name`.
    pub fn validate(name: &str, def: &ConfigDef, props: &ConfigMap) -> ConfigInfos {
        let values = def.validate(props);
        let error_count = values.iter().map(|v| v.errors.len()).sum();
        let configs = values
            .into_iter()
            .map(|v| {
                let definition = match def.key(&v.name) {
                    Some(k) => ConfigKeyInfo::from(k),
                    None => unknown_key(&v.name),
                };
                ConfigInfo {
                    definition,
                    value: ConfigValueInfo {
                        name: v.name,
                        value: v.value,
                        recommended_values: v.recommended_values,
                        errors: v.errors,
                        visible: v.visible,
                    },
                }
            })
            .collect();
        ConfigInfos {
            name: name.to_owned(),
            error_count,
            groups: def.groups(),
            configs,
        }
    }
}

fn unknown_key(name: &str) -> ConfigKeyInfo {
    ConfigKeyInfo {
        name: name.to_owned(),
        ty: "STRING".into(),
        required: false,
        default_value: None,
        importance: "LOW".into(),
        documentation: "Not a declared configuration of this plugin.".into(),
        group: None,
        width: "NONE".into(),
        display_name: name.to_owned(),
        dependents: Vec::new(),
        order: -1,
    }
}
