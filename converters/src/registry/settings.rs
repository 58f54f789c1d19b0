//! The registry settings of a converter, with Confluent's key names and defaults.
//!
//! Every key is declared once in [`config_keys`] (which the Avro and Protobuf converters
//! merge into their own `ConfigDef`), and [`RegistrySettings::from_config`] parses exactly
//! those keys with that definition, so defaults live in one place and a converter's other
//! keys never disturb the registry's parsing. Credentials come from
//! `basic.auth.user.info` (or its `schema.registry.` twin) when
//! `basic.auth.credentials.source=USER_INFO`, or from each URL's `user:password@` part
//! when it is `URL` (Confluent's default); either way the URL we send requests to has no
//! user info in it and the password never reaches a log line (`Debug` hides it).
//!
//! TLS follows Confluent's `schema.registry.ssl.*` keys as far as rustls can honour them
//! exactly, and refuses the rest when parsing rather than quietly doing something else:
//! - `schema.registry.ssl.truststore.location` replaces the trusted roots (as a Java
//!   truststore replaces the JVM's `cacerts`): without it https registries are checked
//!   against Mozilla's roots (webpki-roots), with it only against the file's
//!   certificates. The file is read and every certificate parsed here, once, so a wrong
//!   path or a non-PEM file is a config error naming the key, not a handshake failure on
//!   the first record. Java's JKS and PKCS12 stores are recognised by their first bytes
//!   and refused with the command that converts them to PEM.
//! - `schema.registry.ssl.endpoint.identification.algorithm` must be `https` (check the
//!   host name, the default). Confluent's empty value turns off only the host name check;
//!   ureq offers no such switch (its one knob, `disable_verification`, turns off every
//!   check, chain and expiry included), so the empty value is refused rather than mapped
//!   to something weaker than the user asked for.

use std::time::Duration;

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};

use super::{RegistryError, SubjectNameStrategy};

const URL: &str = "schema.registry.url";
const CREDENTIALS_SOURCE: &str = "basic.auth.credentials.source";
const USER_INFO: &str = "basic.auth.user.info";
const REGISTRY_USER_INFO: &str = "schema.registry.basic.auth.user.info";
const AUTO_REGISTER: &str = "auto.register.schemas";
const USE_LATEST: &str = "use.latest.version";
const LATEST_TTL: &str = "latest.cache.ttl.sec";
const MAX_SCHEMAS: &str = "max.schemas.per.subject";
const KEY_STRATEGY: &str = "key.subject.name.strategy";
const VALUE_STRATEGY: &str = "value.subject.name.strategy";
const TOPIC_NAME_STRATEGY: &str = "io.confluent.kafka.serializers.subject.TopicNameStrategy";
const TRUSTSTORE_LOCATION: &str = "schema.registry.ssl.truststore.location";
const TRUSTSTORE_TYPE: &str = "schema.registry.ssl.truststore.type";
const ENDPOINT_IDENTIFICATION: &str = "schema.registry.ssl.endpoint.identification.algorithm";

const TO_PEM_JKS: &str = "keytool -list -rfc -keystore <truststore.jks> > ca.pem";
const TO_PEM_PKCS12: &str = "openssl pkcs12 -in <truststore.p12> -nokeys -out ca.pem";

fn check_truststore_type(name: &str) -> Result<(), String> {
    if name.trim().eq_ignore_ascii_case("PEM") {
        return Ok(());
    }
    Err(format!(
        "only PEM truststores are supported; convert the truststore to a PEM file of CA certificates (JKS: `{TO_PEM_JKS}`, PKCS12: `{TO_PEM_PKCS12}`), point {TRUSTSTORE_LOCATION} at it and set {TRUSTSTORE_TYPE}=PEM or leave it out"
    ))
}

fn check_endpoint_identification(name: &str) -> Result<(), String> {
    if name.trim().eq_ignore_ascii_case("https") {
        return Ok(());
    }
    if name.trim().is_empty() {
        return Err("turning off only the host name check is not supported: the TLS client (ureq with rustls) can disable certificate verification only as a whole. Keep the default `https`, and reach the registry by a host name (or IP address) its certificate lists in subjectAltName, or reissue the certificate with that name".into());
    }
    Err("the only supported algorithm is `https` (check that the registry's certificate names the host in schema.registry.url)".into())
}

fn check_strategy(name: &str) -> Result<(), String> {
    match SubjectNameStrategy::from_class_name(name) {
        Some(_) => Ok(()),
        None => Err(format!(
            "not a known subject name strategy; use one of {}",
            SubjectNameStrategy::CLASS_NAMES.join(", ")
        )),
    }
}

/// Adds the schema registry keys (Confluent's names, defaults and docs) to a converter's
/// `ConfigDef`.
pub fn config_keys(def: ConfigDef) -> ConfigDef {
    def.define(
        ConfigKey::new(URL, ConfigType::List)
            .importance(Importance::High)
            .doc("Comma-separated list of URLs for Schema Registry instances that can be used to register or look up schemas: http:// or https://.")
            .validator(Validator::NonEmpty),
    )
    .define(
        ConfigKey::new(CREDENTIALS_SOURCE, ConfigType::String)
            .default("URL")
            .importance(Importance::Medium)
            .doc("Specify how to pick the credentials for the Basic Auth header. The supported values are URL and USER_INFO.")
            .validator(Validator::OneOf(&["URL", "USER_INFO"])),
    )
    .define(
        ConfigKey::new(USER_INFO, ConfigType::Password)
            .optional()
            .importance(Importance::Medium)
            .doc("Specify the user info for Basic Auth in the form of {username}:{password}."),
    )
    .define(
        ConfigKey::new(REGISTRY_USER_INFO, ConfigType::Password)
            .optional()
            .importance(Importance::Medium)
            .doc("Specify the user info for Basic Auth in the form of {username}:{password} (alias of basic.auth.user.info)."),
    )
    .define(
        ConfigKey::new(AUTO_REGISTER, ConfigType::Boolean)
            .default("true")
            .importance(Importance::Medium)
            .doc("Specify if the Serializer should attempt to register the Schema with Schema Registry. When false, the schema is looked up and must already be registered."),
    )
    .define(
        ConfigKey::new(USE_LATEST, ConfigType::Boolean)
            .default("false")
            .importance(Importance::Low)
            .doc("Specify if the Serializer should use the latest subject version for serialization."),
    )
    .define(
        ConfigKey::new(LATEST_TTL, ConfigType::Long)
            .default("-1")
            .importance(Importance::Low)
            .doc("If greater than 0, the TTL in seconds of cached latest subject versions; -1 caches them for the converter's lifetime."),
    )
    .define(
        ConfigKey::new(MAX_SCHEMAS, ConfigType::Int)
            .default("1000")
            .importance(Importance::Low)
            .doc("Maximum number of schemas to create or cache locally.")
            .validator(Validator::Range { min: Some(1), max: None }),
    )
    .define(
        ConfigKey::new(KEY_STRATEGY, ConfigType::Class)
            .default(TOPIC_NAME_STRATEGY)
            .importance(Importance::Medium)
            .doc("Determines how to construct the subject name under which the key schema is registered with the schema registry: TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy.")
            .validator(Validator::Custom(check_strategy)),
    )
    .define(
        ConfigKey::new(VALUE_STRATEGY, ConfigType::Class)
            .default(TOPIC_NAME_STRATEGY)
            .importance(Importance::Medium)
            .doc("Determines how to construct the subject name under which the value schema is registered with the schema registry: TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy.")
            .validator(Validator::Custom(check_strategy)),
    )
    .define(
        ConfigKey::new(TRUSTSTORE_LOCATION, ConfigType::String)
            .optional()
            .importance(Importance::High)
            .doc("The location of the trust store file for https registry URLs: a PEM file of the CA certificates to trust (e.g. a private CA). When set, only these certificates are trusted; when not, the Mozilla root certificates are. JKS and PKCS12 trust stores are not supported: convert them to PEM.")
    )
    .define(
        ConfigKey::new(TRUSTSTORE_TYPE, ConfigType::String)
            .optional()
            .importance(Importance::Medium)
            .doc("The file format of the trust store file. Only PEM is supported; the file's contents are checked either way.")
            .validator(Validator::Custom(check_truststore_type)),
    )
    .define(
        ConfigKey::new(ENDPOINT_IDENTIFICATION, ConfigType::String)
            .default("https")
            .importance(Importance::Low)
            .doc("The endpoint identification algorithm to validate the registry's host name against its certificate. Only https is supported: the empty value (no host name check) is refused.")
            .validator(Validator::Custom(check_endpoint_identification)),
    )
}

/// The CA certificates an https registry's certificate must chain to, read from
/// `schema.registry.ssl.truststore.location`.
#[derive(Clone, PartialEq, Eq)]
pub struct TrustStore {
    /// The file they were read from (for messages).
    pub location: String,
    /// Each certificate, DER-encoded; at least one, each a parsable X.509 certificate.
    pub certificates: Vec<Vec<u8>>,
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustStore")
            .field("location", &self.location)
            .field("certificates", &self.certificates.len())
            .finish()
    }
}

impl TrustStore {
    /// Reads and checks a PEM file of CA certificates.
    pub fn load(location: &str) -> Result<TrustStore, RegistryError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;

        let bad = |reason: String| RegistryError::Config {
            key: TRUSTSTORE_LOCATION.into(),
            value: location.to_owned(),
            reason,
        };
        let bytes = std::fs::read(location)
            .map_err(|e| bad(format!("cannot read the trust store file ({e}): give the path of a PEM file of CA certificates readable by the worker")))?;
        if let Some(kind) = binary_store_kind(&bytes) {
            return Err(bad(kind));
        }
        let mut certificates = Vec::new();
        for (n, cert) in CertificateDer::pem_slice_iter(&bytes).enumerate() {
            let cert = cert.map_err(|e| {
                bad(format!("certificate #{} of the PEM file cannot be read ({e}): the file must hold -----BEGIN CERTIFICATE----- blocks", n + 1))
            })?;
            // The same check rustls makes when it builds its root store, made now so a
            // broken certificate is reported here instead of being skipped silently.
            rustls::RootCertStore::empty().add(cert.clone()).map_err(|e| {
                bad(format!("certificate #{} of the PEM file is not a usable X.509 CA certificate ({e})", n + 1))
            })?;
            certificates.push(cert.as_ref().to_vec());
        }
        if certificates.is_empty() {
            return Err(bad("the file holds no PEM certificate (no -----BEGIN CERTIFICATE----- block): give a PEM file of the CA certificates that sign the registry's certificate".into()));
        }
        Ok(TrustStore {
            location: location.to_owned(),
            certificates,
        })
    }
}

/// Names a Java key store by its first bytes, with how to convert it, or `None` for text.
fn binary_store_kind(bytes: &[u8]) -> Option<String> {
    let what = match bytes {
        [0xFE, 0xED, 0xFE, 0xED, ..] => format!("the file is a JKS trust store; only PEM is supported: convert it with `{TO_PEM_JKS}`"),
        [0xCE, 0xCE, 0xCE, 0xCE, ..] => format!("the file is a JCEKS trust store; only PEM is supported: convert it with `{TO_PEM_JKS}`"),
        [0x30, ..] => format!("the file is binary DER, a PKCS12 trust store or a single DER certificate; only PEM is supported: convert it with `{TO_PEM_PKCS12}` (PKCS12) or `openssl x509 -inform der -in <cert.der> -out ca.pem` (DER)"),
        _ => return None,
    };
    Some(format!(
        "{what}, then point {TRUSTSTORE_LOCATION} at the PEM file"
    ))
}

/// One registry URL: where requests go, and the Basic Auth user info to send there.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryEndpoint {
    /// `http[s]://host:port[/path]`, without user info or a trailing slash.
    pub base: String,
    /// `user:password`, when Basic Auth is on.
    pub user_info: Option<String>,
}

impl std::fmt::Debug for RegistryEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryEndpoint")
            .field("base", &self.base)
            .field("user_info", &self.user_info.as_ref().map(|_| "[hidden]"))
            .finish()
    }
}

/// A converter's registry settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySettings {
    /// The registries, tried in order until one answers.
    pub endpoints: Vec<RegistryEndpoint>,
    /// Register schemas (`true`), or only look them up.
    pub auto_register: bool,
    /// Write with the subject's latest schema instead of the record's own.
    pub use_latest_version: bool,
    /// How long a subject's latest version stays cached; `None` is forever.
    pub latest_cache_ttl: Option<Duration>,
    /// Bound of each cache (schemas per subject, ids).
    pub max_schemas_per_subject: usize,
    /// Subject naming for keys.
    pub key_subject_strategy: SubjectNameStrategy,
    /// Subject naming for values.
    pub value_subject_strategy: SubjectNameStrategy,
    /// Whether the converter serializes keys (`converter.type=key`).
    pub is_key: bool,
    /// The CAs trusted for https registries; `None` trusts Mozilla's roots.
    pub truststore: Option<TrustStore>,
}

impl RegistrySettings {
    /// Parses the registry keys of a converter's config (other keys are left alone).
    pub fn from_config(config: &ConfigMap) -> Result<Self, RegistryError> {
        let def = config_keys(ConfigDef::new());
        let own: ConfigMap = config
            .iter()
            .filter(|(k, _)| def.key(k).is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let parsed = def.parse(&own).map_err(|e| {
            let (key, _) = e.0.first().cloned().unwrap_or_default();
            RegistryError::Config {
                value: config.get(&key).cloned().unwrap_or_default(),
                key,
                reason: e.to_string(),
            }
        })?;
        let strategy = |key: &str| {
            let name = parsed.string_or_default(key);
            SubjectNameStrategy::from_class_name(name).ok_or_else(|| RegistryError::Config {
                key: key.to_owned(),
                value: name.to_owned(),
                reason: format!(
                    "not a known subject name strategy; use one of {}",
                    SubjectNameStrategy::CLASS_NAMES.join(", ")
                ),
            })
        };
        let from_url = parsed
            .string_or_default(CREDENTIALS_SOURCE)
            .eq_ignore_ascii_case("URL");
        let configured_user_info = parsed
            .string(USER_INFO)
            .or(parsed.string(REGISTRY_USER_INFO))
            .filter(|s| !s.is_empty());
        if !from_url && configured_user_info.is_none() {
            return Err(RegistryError::Config {
                key: CREDENTIALS_SOURCE.into(),
                value: "USER_INFO".into(),
                reason: format!("{USER_INFO} (or {REGISTRY_USER_INFO}) must be set to {{username}}:{{password}} when the credentials source is USER_INFO"),
            });
        }
        let mut endpoints = Vec::new();
        for url in parsed.list(URL) {
            let (base, url_user_info) = split_url(&url)?;
            let user_info = if from_url {
                url_user_info
            } else {
                configured_user_info.map(str::to_owned)
            };
            endpoints.push(RegistryEndpoint { base, user_info });
        }
        if endpoints.is_empty() {
            return Err(RegistryError::Config {
                key: URL.into(),
                value: config.get(URL).cloned().unwrap_or_default(),
                reason: "give at least one registry URL, e.g. http://localhost:8081".into(),
            });
        }
        let truststore = match parsed.string(TRUSTSTORE_LOCATION).map(str::trim) {
            Some(location) if !location.is_empty() => Some(TrustStore::load(location)?),
            _ => None,
        };
        let ttl = parsed.long(LATEST_TTL);
        Ok(RegistrySettings {
            endpoints,
            auto_register: parsed.bool(AUTO_REGISTER),
            use_latest_version: parsed.bool(USE_LATEST),
            latest_cache_ttl: u64::try_from(ttl).ok().map(Duration::from_secs),
            max_schemas_per_subject: usize::try_from(parsed.long(MAX_SCHEMAS)).unwrap_or(1000),
            key_subject_strategy: strategy(KEY_STRATEGY)?,
            value_subject_strategy: strategy(VALUE_STRATEGY)?,
            is_key: config.get("converter.type").map(String::as_str) == Some("key"),
            truststore,
        })
    }

    /// The strategy for this converter's role (key or value).
    pub fn subject_strategy(&self) -> SubjectNameStrategy {
        if self.is_key {
            self.key_subject_strategy
        } else {
            self.value_subject_strategy
        }
    }

    /// The subject for a schema named `record_name` written to `topic` in this converter's role.
    pub fn subject(&self, topic: &str, record_name: &str) -> String {
        self.subject_strategy()
            .subject(topic, self.is_key, record_name)
    }
}

/// Splits `http[s]://user:pass@host:port/path/` into `http[s]://host:port/path` and the
/// percent-decoded `user:pass`.
fn split_url(url: &str) -> Result<(String, Option<String>), RegistryError> {
    let bad = |reason: &str| RegistryError::Config {
        key: URL.into(),
        value: redact(url),
        reason: reason.into(),
    };
    let Some((scheme, rest)) = ["http", "https"]
        .into_iter()
        .find_map(|scheme| Some((scheme, url.strip_prefix(scheme)?.strip_prefix("://")?)))
    else {
        return Err(bad(
            "a registry URL must start with http:// or https://, e.g. http://localhost:8081",
        ));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (user_info, host) = match authority.rfind('@') {
        Some(i) => (Some(percent_decode(&authority[..i])), &authority[i + 1..]),
        None => (None, authority),
    };
    if host.is_empty() {
        return Err(bad("the URL has no host"));
    }
    let base = format!("{scheme}://{host}{}", path.trim_end_matches('/'));
    Ok((base, user_info.filter(|u| !u.is_empty())))
}

/// The URL with its password replaced, for error messages.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |i| scheme_end + i);
    match url[scheme_end..authority_end].rfind('@') {
        Some(at) => format!(
            "{}[hidden]@{}",
            &url[..scheme_end],
            &url[scheme_end + at + 1..]
        ),
        None => url.to_owned(),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(value as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
