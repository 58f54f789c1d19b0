//! The caching registry client.
//!
//! Correctness of the caches rests on the registry's own guarantees: registering (or
//! looking up) the same schema under the same subject always yields the same id, and an id
//! always names the same schema, so an answer once received is valid forever and a miss is
//! the only time we ask. Locks are held only around map reads and writes, never across an
//! HTTP call: two threads missing at once both ask, get the same answer, and store it
//! twice, which is harmless. Caches are bounded (`max.schemas.per.subject`) by clearing
//! when full, so a converter fed endless distinct schemas cannot grow without limit.
//!
//! TLS is ureq's rustls connector; the only choice made here is the root store (the
//! truststore's CAs, else ureq's default of Mozilla's roots). A handshake failure is a
//! transport error like a refused connection, but its cause is almost always the
//! configuration, so the error's text gets a hint naming the key to change
//! ([`tls_hint`]), found by the rustls error ureq carries rather than by its wording.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value as Json};

use super::settings::{RegistryEndpoint, RegistrySettings};
use super::{RegistryError, RegistrySchema, SchemaReference, SchemaType};

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";
const ACCEPT: &str =
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json";

/// The latest version of a subject, with when it was fetched.
type CachedLatest = (Instant, i32, Arc<RegistrySchema>);

/// A Confluent Schema Registry client that caches ids and schemas both ways and counts
/// its HTTP calls.
pub struct RegistryClient {
    settings: RegistrySettings,
    agent: ureq::Agent,
    /// `Authorization` header value per endpoint (same order as `settings.endpoints`).
    auth_headers: Vec<Option<String>>,
    /// subject → schema → id.
    ids: Mutex<HashMap<String, HashMap<RegistrySchema, i32>>>,
    /// id → schema.
    schemas: Mutex<HashMap<i32, Arc<RegistrySchema>>>,
    /// subject → latest version.
    latest: Mutex<HashMap<String, CachedLatest>>,
    http_calls: AtomicU64,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("settings", &self.settings)
            .field("http_calls", &self.http_calls())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RegistryClient {
    /// A client for the registries in `settings`. Makes no request.
    pub fn new(settings: &RegistrySettings) -> Result<Self, RegistryError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(30)))
            .user_agent("sluice")
            .tls_config(tls_config(settings))
            .build()
            .new_agent();
        let auth_headers = settings
            .endpoints
            .iter()
            .map(|e| {
                e.user_info.as_ref().map(|u| {
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(u.as_bytes())
                    )
                })
            })
            .collect();
        Ok(RegistryClient {
            settings: settings.clone(),
            agent,
            auth_headers,
            ids: Mutex::new(HashMap::new()),
            schemas: Mutex::new(HashMap::new()),
            latest: Mutex::new(HashMap::new()),
            http_calls: AtomicU64::new(0),
        })
    }

    /// The settings this client was built with.
    pub fn settings(&self) -> &RegistrySettings {
        &self.settings
    }

    /// How many HTTP requests this client has sent (every attempt, answered or not).
    pub fn http_calls(&self) -> u64 {
        self.http_calls.load(Ordering::Relaxed)
    }

    /// The id of `schema` under `subject`: registers it (`auto.register.schemas=true`) or
    /// looks it up (`false`), once; later calls are answered from the cache.
    pub fn register(&self, subject: &str, schema: &RegistrySchema) -> Result<i32, RegistryError> {
        if let Some(id) = lock(&self.ids).get(subject).and_then(|m| m.get(schema)) {
            return Ok(*id);
        }
        let body = schema_request_body(schema);
        let path = format!("/subjects/{}", encode_path_segment(subject));
        let id = if self.settings.auto_register {
            let (url, answer) = self.request("POST", &format!("{path}/versions"), Some(&body))?;
            int_field(&answer, "id", &url, "POST", &path)?
        } else {
            let (url, answer) = self
                .request("POST", &path, Some(&body))
                .map_err(|e| with_hint(e, lookup_hint(subject)))?;
            int_field(&answer, "id", &url, "POST", &path)?
        };
        tracing::info!(
            subject,
            id,
            auto_register = self.settings.auto_register,
            "schema id from registry"
        );
        self.remember_id(subject, schema.clone(), id);
        self.remember_schema(id, Arc::new(schema.clone()));
        Ok(id)
    }

    /// The latest version of `subject`: its id and schema.
    pub fn latest(&self, subject: &str) -> Result<(i32, Arc<RegistrySchema>), RegistryError> {
        if let Some((at, id, schema)) = lock(&self.latest).get(subject) {
            let fresh = self
                .settings
                .latest_cache_ttl
                .is_none_or(|ttl| at.elapsed() < ttl);
            if fresh {
                return Ok((*id, schema.clone()));
            }
        }
        let path = format!("/subjects/{}/versions/latest", encode_path_segment(subject));
        let (url, answer) = self.request("GET", &path, None)?;
        let id = int_field(&answer, "id", &url, "GET", &path)?;
        let schema = Arc::new(parse_schema(&answer, &url, "GET", &path)?);
        self.remember_schema(id, schema.clone());
        let mut latest = lock(&self.latest);
        if latest.len() >= self.settings.max_schemas_per_subject {
            latest.clear();
        }
        latest.insert(subject.to_owned(), (Instant::now(), id, schema.clone()));
        Ok((id, schema))
    }

    /// The schema registered with `id`, fetched once.
    pub fn schema_by_id(&self, id: i32) -> Result<Arc<RegistrySchema>, RegistryError> {
        if let Some(schema) = lock(&self.schemas).get(&id) {
            return Ok(schema.clone());
        }
        let path = format!("/schemas/ids/{id}");
        let (url, answer) = self.request("GET", &path, None).map_err(|e| {
            with_hint(
                e,
                format!("; schema id {id} is not in this registry: was the record written with another registry (check schema.registry.url)?"),
            )
        })?;
        let schema = Arc::new(parse_schema(&answer, &url, "GET", &path)?);
        self.remember_schema(id, schema.clone());
        Ok(schema)
    }

    /// Records `schema` as the one registered with `id`, as a fetch by id would: a reader
    /// that knows its writer schemas already (fuzz targets, tests) then needs no registry.
    pub fn insert_schema(&self, id: i32, schema: RegistrySchema) {
        self.remember_schema(id, Arc::new(schema));
    }

    fn remember_id(&self, subject: &str, schema: RegistrySchema, id: i32) {
        let mut ids = lock(&self.ids);
        let per_subject = ids.entry(subject.to_owned()).or_default();
        if per_subject.len() >= self.settings.max_schemas_per_subject {
            per_subject.clear();
        }
        per_subject.insert(schema, id);
    }

    fn remember_schema(&self, id: i32, schema: Arc<RegistrySchema>) {
        let mut schemas = lock(&self.schemas);
        if schemas.len() >= self.settings.max_schemas_per_subject.saturating_mul(16) {
            schemas.clear();
        }
        schemas.insert(id, schema);
    }

    /// Sends one request, trying each endpoint in turn until one answers; returns the
    /// answering base URL and the JSON body of a 2xx answer.
    fn request(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&str>,
    ) -> Result<(String, Json), RegistryError> {
        let mut last_error = String::new();
        for (endpoint, auth) in self.settings.endpoints.iter().zip(&self.auth_headers) {
            self.http_calls.fetch_add(1, Ordering::Relaxed);
            match self.send(endpoint, auth.as_deref(), method, path, body) {
                Ok((status, text)) => return answer(endpoint, method, path, status, &text),
                Err(e) => {
                    let hint = tls_hint(&e, &self.settings);
                    tracing::warn!(url = %endpoint.base, method, path, error = %e, hint, "schema registry request failed");
                    last_error = format!("{e}{hint}");
                }
            }
        }
        Err(RegistryError::Unreachable {
            method,
            path: path.to_owned(),
            urls: self
                .settings
                .endpoints
                .iter()
                .map(|e| e.base.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            last_error,
        })
    }

    fn send(
        &self,
        endpoint: &RegistryEndpoint,
        auth: Option<&str>,
        method: &'static str,
        path: &str,
        body: Option<&str>,
    ) -> Result<(u16, String), ureq::Error> {
        let url = format!("{}{path}", endpoint.base);
        let mut response = if method == "POST" {
            let mut req = self
                .agent
                .post(&url)
                .header("Content-Type", CONTENT_TYPE)
                .header("Accept", ACCEPT);
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            req.send(body.unwrap_or("{}"))?
        } else {
            let mut req = self.agent.get(&url).header("Accept", ACCEPT);
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            req.call()?
        };
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string()?;
        Ok((status, text))
    }
}

/// ureq's TLS settings: rustls, trusting the truststore's CAs when there is one.
fn tls_config(settings: &RegistrySettings) -> ureq::tls::TlsConfig {
    let builder = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::Rustls);
    match &settings.truststore {
        Some(store) => builder
            .root_certs(ureq::tls::RootCerts::new_with_certs(
                &store
                    .certificates
                    .iter()
                    .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
                    .collect::<Vec<_>>(),
            ))
            .build(),
        None => builder.build(),
    }
}

/// What to do about a failed TLS handshake (empty for any other transport error).
pub(crate) fn tls_hint(e: &ureq::Error, settings: &RegistrySettings) -> String {
    use rustls::CertificateError as C;
    let tls = match e {
        ureq::Error::Rustls(tls) => Some(tls),
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    let Some(tls) = tls else {
        return String::new();
    };
    let trusted = match &settings.truststore {
        Some(store) => format!(
            "the CA certificates in schema.registry.ssl.truststore.location ({})",
            store.location
        ),
        None => "Mozilla's root certificates (schema.registry.ssl.truststore.location is not set)"
            .to_owned(),
    };
    match tls {
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => format!(
            "; the registry's TLS certificate is not signed by any of {trusted}: set schema.registry.ssl.truststore.location to a PEM file holding the CA certificate that signed it"
        ),
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "; the registry's TLS certificate does not name the host in schema.registry.url: use a host name (or IP address) the certificate lists in subjectAltName, or reissue the certificate with this one".to_owned()
        }
        rustls::Error::InvalidCertificate(other) => format!(
            "; the registry's TLS certificate was refused ({other:?}), checked against {trusted}"
        ),
        rustls::Error::InvalidMessage(_) => {
            "; the TLS handshake failed: is the registry serving https on this port? Use an http:// URL if it is not".to_owned()
        }
        _ => "; the TLS handshake with the registry failed".to_owned(),
    }
}

/// Turns an HTTP answer into its JSON (2xx) or a [`RegistryError::Rejected`].
fn answer(
    endpoint: &RegistryEndpoint,
    method: &'static str,
    path: &str,
    status: u16,
    text: &str,
) -> Result<(String, Json), RegistryError> {
    let parsed: Option<Json> = serde_json::from_str(text).ok();
    if (200..300).contains(&status) {
        return match parsed {
            Some(json) => Ok((endpoint.base.clone(), json)),
            None => Err(RegistryError::BadResponse {
                url: endpoint.base.clone(),
                method,
                path: path.to_owned(),
                reason: "not JSON".into(),
                body: shorten(text),
            }),
        };
    }
    let error_code = parsed
        .as_ref()
        .and_then(|j| j.get("error_code"))
        .and_then(Json::as_i64)
        .unwrap_or(i64::from(status));
    let message = parsed
        .as_ref()
        .and_then(|j| j.get("message"))
        .and_then(Json::as_str)
        .map_or_else(|| shorten(text), str::to_owned);
    let hint = match status {
        401 | 403 => "; check the credentials (basic.auth.credentials.source, basic.auth.user.info or the URL's user:password@)".to_owned(),
        _ => String::new(),
    };
    Err(RegistryError::Rejected {
        url: endpoint.base.clone(),
        method,
        path: path.to_owned(),
        status,
        error_code,
        message,
        hint,
    })
}

fn lookup_hint(subject: &str) -> String {
    format!("; auto.register.schemas=false, so the schema must already be registered under subject {subject}: register it, or set auto.register.schemas=true")
}

/// Adds a hint to a 404 answer.
fn with_hint(e: RegistryError, extra: String) -> RegistryError {
    match e {
        RegistryError::Rejected {
            url,
            method,
            path,
            status: 404,
            error_code,
            message,
            hint,
        } => RegistryError::Rejected {
            url,
            method,
            path,
            status: 404,
            error_code,
            message,
            hint: hint + &extra,
        },
        other => other,
    }
}

fn shorten(text: &str) -> String {
    const MAX: usize = 300;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The body of a register or lookup request.
fn schema_request_body(schema: &RegistrySchema) -> String {
    let mut body = json!({ "schema": schema.schema });
    if schema.schema_type != SchemaType::Avro {
        body["schemaType"] = json!(schema.schema_type.wire_name());
    }
    if !schema.references.is_empty() {
        body["references"] = Json::Array(
            schema
                .references
                .iter()
                .map(|r| json!({ "name": r.name, "subject": r.subject, "version": r.version }))
                .collect(),
        );
    }
    body.to_string()
}

fn int_field(
    answer: &Json,
    field: &str,
    url: &str,
    method: &'static str,
    path: &str,
) -> Result<i32, RegistryError> {
    answer
        .get(field)
        .and_then(Json::as_i64)
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| RegistryError::BadResponse {
            url: url.to_owned(),
            method,
            path: path.to_owned(),
            reason: format!("no integer \"{field}\""),
            body: shorten(&answer.to_string()),
        })
}

/// Reads `schema`, `schemaType` and `references` of a registry answer.
fn parse_schema(
    answer: &Json,
    url: &str,
    method: &'static str,
    path: &str,
) -> Result<RegistrySchema, RegistryError> {
    let bad = |reason: String| RegistryError::BadResponse {
        url: url.to_owned(),
        method,
        path: path.to_owned(),
        reason,
        body: shorten(&answer.to_string()),
    };
    let schema = answer
        .get("schema")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("no string \"schema\"".into()))?;
    let type_name = answer.get("schemaType").and_then(Json::as_str);
    let schema_type = SchemaType::from_wire_name(type_name)
        .ok_or_else(|| bad(format!("unknown schemaType {type_name:?}")))?;
    let mut references = Vec::new();
    if let Some(refs) = answer.get("references").and_then(Json::as_array) {
        for r in refs {
            let name = r.get("name").and_then(Json::as_str);
            let subject = r.get("subject").and_then(Json::as_str);
            let version = r
                .get("version")
                .and_then(Json::as_i64)
                .and_then(|v| i32::try_from(v).ok());
            match (name, subject, version) {
                (Some(name), Some(subject), Some(version)) => references.push(SchemaReference {
                    name: name.to_owned(),
                    subject: subject.to_owned(),
                    version,
                }),
                _ => return Err(bad(format!("malformed reference {r}"))),
            }
        }
    }
    Ok(RegistrySchema {
        schema_type,
        schema: schema.to_owned(),
        references,
    })
}

/// Percent-encodes a subject for a URL path (everything but RFC 3986 unreserved bytes).
pub(crate) fn encode_path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
