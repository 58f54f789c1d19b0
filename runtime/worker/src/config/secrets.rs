//! Where secrets meet configs: the one place connector and task configs are resolved
//! for a start (standalone and distributed herders both call [`connector_for_start`],
//! [`task_for_start`] and [`task_for_storage`]), and how configs are shown in logs
//! ([`redacted`]: every password-like key as `[hidden]`).

use sluice_core::config::{ConfigMap, ConfigType};
use sluice_core::ConnectError;

use super::{validate_connector, ConnectorConfig, WorkerConfig};

/// How a secret value is shown in logs and validation answers, as Kafka prints it.
pub const HIDDEN: &str = "[hidden]";

/// Whether a key names a secret by the conventions of Kafka and Debezium: `*.password`
/// (`database.password`, `ssl.key.password`, `ssl.truststore.password`, …),
/// `sasl.jaas.config`, `basic.auth.user.info`, the PEM private key `ssl.keystore.key`,
/// and `*secret*` / `*token*` keys.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("password")
        || k.ends_with("sasl.jaas.config")
        || k.ends_with("basic.auth.user.info")
        || k.ends_with("ssl.keystore.key")
        || k.ends_with("sasl.oauthbearer.client.secret")
        || k.contains("secret")
        || k.ends_with("token")
}

/// `props` as it may be logged: secret keys (by name, and the Password keys of the
/// connector's own definition when `config` is given) show `[hidden]`.
pub fn redacted(props: &ConfigMap, config: Option<&ConnectorConfig>) -> ConfigMap {
    let def = config.map(|c| (c.plugin.info.config)());
    props
        .iter()
        .map(|(k, v)| {
            let password = def
                .as_ref()
                .and_then(|d| d.key(k))
                .is_some_and(|key| key.ty == ConfigType::Password);
            if password || is_secret_key(k) {
                (k.clone(), HIDDEN.to_owned())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

/// A connector's stored (raw) config resolved and validated for a start: variables
/// replaced by the worker's config providers now, not when the config was stored.
pub fn connector_for_start(
    raw: &ConfigMap,
    worker: &WorkerConfig,
) -> Result<ConnectorConfig, ConnectError> {
    let (infos, parsed) = validate_connector(raw, worker);
    parsed.ok_or_else(|| {
        let errors: Vec<String> = infos.errors().into_iter().map(|(_, e)| e).collect();
        ConnectError::Fatal(format!(
            "connector {} has an invalid configuration: {}",
            raw.get("name").map_or("", String::as_str),
            errors.join("; ")
        ))
    })
}

/// A stored task config resolved for the task's start.
pub fn task_for_start(
    stored: &ConfigMap,
    worker: &WorkerConfig,
) -> Result<ConfigMap, ConnectError> {
    worker.providers.resolve(stored).map_err(|errors| {
        ConnectError::Fatal(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

/// Task configs a connector computed from its resolved config, as they may be stored
/// and shown: each value that came from a variable of the connector's raw config gets
/// the variable back.
pub fn task_for_storage(config: &ConnectorConfig, tasks: Vec<ConfigMap>) -> Vec<ConfigMap> {
    tasks
        .iter()
        .map(|t| super::providers::unresolve(&config.raw, t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_like_keys_are_hidden() {
        let props: ConfigMap = [
            ("database.password", "p"),
            ("producer.ssl.key.password", "p"),
            ("producer.sasl.jaas.config", "p"),
            ("value.converter.basic.auth.user.info", "u:p"),
            ("listeners.https.ssl.keystore.key", "-----BEGIN"),
            ("database.user", "alice"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let shown = redacted(&props, None);
        assert_eq!(shown["database.user"], "alice");
        for (k, v) in &shown {
            if k != "database.user" {
                assert_eq!(v, HIDDEN, "{k}");
            }
        }
    }
}
