//! Kafka client settings as Kafka Connect users write them (the Java client's names,
//! under `producer.` / `consumer.` / `admin.` and `producer.override.` /
//! `consumer.override.`), turned into librdkafka's names where they differ — mostly
//! TLS and SASL:
//!
//! | Java client | librdkafka |
//! |---|---|
//! | `security.protocol=SASL_SSL` | `security.protocol=sasl_ssl` |
//! | `ssl.truststore.location` (`ssl.truststore.type=PEM`) | `ssl.ca.location` |
//! | `ssl.truststore.certificates` | `ssl.ca.pem` |
//! | `ssl.keystore.location` (`ssl.keystore.type=PEM`: key and chain in one file) | `ssl.certificate.location` + `ssl.key.location` |
//! | `ssl.keystore.location` (`PKCS12`) + `ssl.keystore.password` | the same names |
//! | `ssl.keystore.certificate.chain` / `ssl.keystore.key` | `ssl.certificate.pem` / `ssl.key.pem` |
//! | `ssl.endpoint.identification.algorithm=` (empty) | `ssl.endpoint.identification.algorithm=none` |
//! | `sasl.jaas.config=…PlainLoginModule required username="u" password="p";` (or `ScramLoginModule`) | `sasl.username` / `sasl.password` |
//!
//! Java-only settings with no librdkafka counterpart and no effect on the connection
//! (`ssl.protocol`, `ssl.enabled.protocols`, `ssl.truststore.password`, the key/trust
//! manager algorithms) are dropped. A JKS store, or a login module librdkafka cannot
//! use, is an error naming the key and what to use instead.

use sluice_core::config::ConfigMap;

/// A setting librdkafka cannot be given: (key as written, message).
pub type SettingError = (String, String);

/// Java-only settings that do not change what librdkafka does: dropped.
const DROPPED: &[&str] = &[
    "ssl.protocol",
    "ssl.enabled.protocols",
    "ssl.truststore.password",
    "ssl.truststore.type",
    "ssl.keystore.type",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "ssl.provider",
    "ssl.engine.factory.class",
];

const PLAIN_MODULE: &str = "org.apache.kafka.common.security.plain.PlainLoginModule";
const SCRAM_MODULE: &str = "org.apache.kafka.common.security.scram.ScramLoginModule";

/// `settings` (Java names, prefix already stripped) in librdkafka's names, and the
/// settings that cannot be mapped (left out of the map). `prefix` is only for messages
/// (e.g. `producer.`). Configs are checked with [`check`] when loaded, so the clients
/// are only ever built from settings without errors.
pub fn to_librdkafka(settings: &ConfigMap, prefix: &str) -> (ConfigMap, Vec<SettingError>) {
    let mut out = ConfigMap::new();
    let mut errors = Vec::new();
    let get = |k: &str| settings.get(k).map(|v| v.trim());
    let store_type = |k: &str| get(k).unwrap_or("").to_ascii_uppercase();
    let truststore_type = store_type("ssl.truststore.type");
    let keystore_type = store_type("ssl.keystore.type");
    for (key, value) in settings {
        let v = value.trim();
        let err = |msg: String| (format!("{prefix}{key}"), msg);
        match key.as_str() {
            k if DROPPED.contains(&k) => {}
            "security.protocol" => {
                out.insert(key.clone(), v.to_ascii_lowercase());
            }
            "ssl.truststore.location" => match truststore_type.as_str() {
                "" | "PEM" => {
                    out.insert("ssl.ca.location".into(), v.to_owned());
                }
                t => errors.push(err(format!("Invalid value {v} for configuration {prefix}{key}: a {t} trust store cannot be used; convert it to PEM (`keytool -list -rfc -keystore <truststore.jks> > ca.pem`) and set {prefix}ssl.truststore.type=PEM"))),
            },
            "ssl.truststore.certificates" => {
                out.insert("ssl.ca.pem".into(), value.clone());
            }
            "ssl.keystore.location" => match keystore_type.as_str() {
                "PEM" => {
                    out.insert("ssl.certificate.location".into(), v.to_owned());
                    out.insert("ssl.key.location".into(), v.to_owned());
                }
                "PKCS12" => {
                    out.insert(key.clone(), v.to_owned());
                }
                t => errors.push(err(format!("Invalid value {v} for configuration {prefix}{key}: a {} key store cannot be used; use PEM ({prefix}ssl.keystore.type=PEM, key and certificate chain in one file) or PKCS12", if t.is_empty() { "JKS (the Java default type)" } else { t }))),
            },
            "ssl.keystore.certificate.chain" => {
                out.insert("ssl.certificate.pem".into(), value.clone());
            }
            "ssl.keystore.key" => {
                out.insert("ssl.key.pem".into(), value.clone());
            }
            "ssl.endpoint.identification.algorithm" => {
                out.insert(key.clone(), if v.is_empty() { "none".into() } else { v.to_ascii_lowercase() });
            }
            "sasl.jaas.config" => match jaas_credentials(v) {
                Ok((username, password)) => {
                    out.insert("sasl.username".into(), username);
                    out.insert("sasl.password".into(), password);
                }
                Err(reason) => errors.push(err(format!(
                    "Invalid value [hidden] for configuration {prefix}{key}: {reason}"
                ))),
            },
            "sasl.login.callback.handler.class" | "sasl.client.callback.handler.class" => {
                errors.push(err(format!("Invalid value {v} for configuration {prefix}{key}: Java callback handlers cannot be used; give the credentials with sasl.jaas.config (PLAIN or SCRAM) or librdkafka's sasl.* settings")));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    (out, errors)
}

/// The settings under each of `prefixes` in `props` that librdkafka cannot be given.
pub fn check(props: &ConfigMap, prefixes: &[&str]) -> Vec<SettingError> {
    prefixes
        .iter()
        .flat_map(|prefix| {
            let settings: ConfigMap = props
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
                .collect();
            to_librdkafka(&settings, prefix).1
        })
        .collect()
}

/// The username and password of a PLAIN or SCRAM `sasl.jaas.config`.
fn jaas_credentials(jaas: &str) -> Result<(String, String), String> {
    let module = jaas.split_whitespace().next().unwrap_or("");
    if module != PLAIN_MODULE && module != SCRAM_MODULE {
        return Err(format!("only {PLAIN_MODULE} and {SCRAM_MODULE} are supported (with sasl.mechanism PLAIN or SCRAM-SHA-256/512), got {module}"));
    }
    let option = |name: &str| -> Option<String> {
        let mut rest = jaas;
        while let Some(at) = rest.find(name) {
            let before = rest[..at].chars().last();
            let after = rest[at + name.len()..].trim_start();
            rest = &rest[at + name.len()..];
            if before.is_some_and(|c| !c.is_whitespace()) {
                continue;
            }
            if let Some(v) = after.strip_prefix('=') {
                let v = v.trim_start();
                return match v.strip_prefix('"') {
                    Some(q) => q.split_once('"').map(|(s, _)| s.to_owned()),
                    None => v
                        .split(|c: char| c.is_whitespace() || c == ';')
                        .next()
                        .map(str::to_owned),
                };
            }
        }
        None
    };
    match (option("username"), option("password")) {
        (Some(u), Some(p)) => Ok((u, p)),
        _ => Err("the login module needs username=\"…\" and password=\"…\"".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn tls_and_sasl_keys_take_librdkafka_names() {
        let (out, errors) = to_librdkafka(
            &map(&[
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "SCRAM-SHA-512"),
                ("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"connect\" password=\"p w;d\";"),
                ("ssl.truststore.type", "PEM"),
                ("ssl.truststore.location", "/etc/kafka/ca.pem"),
                ("ssl.keystore.type", "PEM"),
                ("ssl.keystore.location", "/etc/kafka/client.pem"),
                ("ssl.endpoint.identification.algorithm", ""),
                ("ssl.enabled.protocols", "TLSv1.2,TLSv1.3"),
                ("linger.ms", "10"),
            ]),
            "producer.",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            out,
            map(&[
                ("security.protocol", "sasl_ssl"),
                ("sasl.mechanism", "SCRAM-SHA-512"),
                ("sasl.username", "connect"),
                ("sasl.password", "p w;d"),
                ("ssl.ca.location", "/etc/kafka/ca.pem"),
                ("ssl.certificate.location", "/etc/kafka/client.pem"),
                ("ssl.key.location", "/etc/kafka/client.pem"),
                ("ssl.endpoint.identification.algorithm", "none"),
                ("linger.ms", "10"),
            ])
        );
    }

    #[test]
    fn plain_jaas_inline_pem_and_pkcs12_are_mapped() {
        let (out, errors) = to_librdkafka(
            &map(&[
                ("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=alice password=secret;"),
                ("ssl.truststore.certificates", "-----BEGIN CERTIFICATE-----"),
                ("ssl.keystore.certificate.chain", "-----BEGIN CERTIFICATE-----x"),
                ("ssl.keystore.key", "-----BEGIN PRIVATE KEY-----"),
            ]),
            "consumer.",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(out["sasl.username"], "alice");
        assert_eq!(out["sasl.password"], "secret");
        assert_eq!(out["ssl.ca.pem"], "-----BEGIN CERTIFICATE-----");
        assert_eq!(out["ssl.certificate.pem"], "-----BEGIN CERTIFICATE-----x");
        assert_eq!(out["ssl.key.pem"], "-----BEGIN PRIVATE KEY-----");
        let (out, errors) = to_librdkafka(
            &map(&[
                ("ssl.keystore.type", "PKCS12"),
                ("ssl.keystore.location", "/k.p12"),
                ("ssl.keystore.password", "pw"),
            ]),
            "admin.",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            out,
            map(&[
                ("ssl.keystore.location", "/k.p12"),
                ("ssl.keystore.password", "pw")
            ])
        );
    }

    #[test]
    fn jks_stores_and_other_login_modules_are_refused_without_the_secret() {
        let errors = check(
            &map(&[
                ("producer.ssl.truststore.type", "JKS"),
                ("producer.ssl.truststore.location", "/t.jks"),
                ("producer.ssl.keystore.location", "/k.jks"),
                ("consumer.sasl.jaas.config", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientSecret=\"hush\";"),
            ]),
            &["producer.", "consumer."],
        );
        assert_eq!(errors.len(), 3, "{errors:?}");
        let text = format!("{errors:?}");
        assert!(
            text.contains("producer.ssl.truststore.location") && text.contains("PEM"),
            "{text}"
        );
        assert!(
            text.contains("producer.ssl.keystore.location") && text.contains("JKS"),
            "{text}"
        );
        assert!(
            text.contains("consumer.sasl.jaas.config") && text.contains("PlainLoginModule"),
            "{text}"
        );
        assert!(!text.contains("hush"), "{text}");
    }
}
