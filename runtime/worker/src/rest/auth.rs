//! Authentication of the REST API: HTTP Basic and bearer tokens.
//!
//! Credentials come from files the worker names:
//! - `rest.authentication.basic.users.file`: a `.properties` file of `user=password`
//!   (or `user: password`, the format of Kafka Connect's `PropertyFileLoginModule`);
//! - `rest.authentication.bearer.tokens.file`: one token per line (`#` comments);
//! - or Kafka Connect's own setup, unchanged: `rest.extension.classes=
//!   org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension`
//!   with the worker key `java.security.auth.login.config` naming the JAAS file (the
//!   path Kafka Connect takes from the JVM property of that name), whose
//!   `PropertyFileLoginModule` entry gives the users file as `file="…"`.
//!
//! A request without valid credentials gets 401 with `WWW-Authenticate` and Kafka
//! Connect's JSON error body. Calls between workers (a follower forwarding a write to
//! the leader) carry this worker's own credentials: the first token of the tokens file,
//! else the first user (by name) of the users file — so workers sharing the files reach
//! each other.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use sluice_core::config::{ConfigKey, ConfigMap, ConfigType, Importance};

/// Users file key.
pub const USERS_FILE: &str = "rest.authentication.basic.users.file";
/// Tokens file key.
pub const TOKENS_FILE: &str = "rest.authentication.bearer.tokens.file";
/// Kafka Connect's REST extension list.
pub const EXTENSIONS: &str = "rest.extension.classes";
/// The JAAS file of Kafka Connect's basic auth extension.
pub const JAAS_FILE: &str = "java.security.auth.login.config";
/// Kafka Connect's basic auth extension.
pub const BASIC_AUTH_EXTENSION: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension";

/// Why the REST authentication settings are unusable.
#[derive(Debug, thiserror::Error)]
#[error("Invalid value {value} for configuration {key}: {reason}")]
pub struct AuthError {
    /// The worker key at fault.
    pub key: String,
    /// Its value (a path or a class name).
    pub value: String,
    /// What is wrong, and what to do.
    pub reason: String,
}

/// The worker keys of REST authentication, for the worker's config definition.
pub fn auth_config_keys() -> Vec<ConfigKey> {
    vec![
        ConfigKey::new(USERS_FILE, ConfigType::String)
            .optional()
            .importance(Importance::Medium)
            .doc("Turns on HTTP Basic authentication of the REST API: a .properties file of user=password (or user: password) lines. Read at start."),
        ConfigKey::new(TOKENS_FILE, ConfigType::String)
            .optional()
            .importance(Importance::Medium)
            .doc("Turns on bearer token authentication of the REST API (Authorization: Bearer <token>): a file of tokens, one per line; # starts a comment. Read at start. With a users file too, either is accepted."),
        ConfigKey::new(EXTENSIONS, ConfigType::List)
            .default("")
            .importance(Importance::Low)
            .doc(format!("Kafka Connect REST extensions; only {BASIC_AUTH_EXTENSION} is known, which turns on HTTP Basic authentication with the users file named in the JAAS file of java.security.auth.login.config.")),
        ConfigKey::new(JAAS_FILE, ConfigType::String)
            .optional()
            .importance(Importance::Low)
            .doc("With the basic auth REST extension: the JAAS file (Kafka Connect's -Djava.security.auth.login.config) whose org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule entry names the users file with file=\"…\"."),
    ]
}

/// Who may call the REST API.
#[derive(Default)]
pub struct RestAuth {
    users: BTreeMap<String, String>,
    tokens: Vec<String>,
}

impl std::fmt::Debug for RestAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestAuth")
            .field("users", &self.users.len())
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

fn read(key: &str, path: &str) -> Result<String, AuthError> {
    std::fs::read_to_string(path).map_err(|e| AuthError {
        key: key.into(),
        value: path.into(),
        reason: format!("cannot read the file ({e}): give a file readable by the worker"),
    })
}

fn users_file(key: &str, path: &str) -> Result<BTreeMap<String, String>, AuthError> {
    let users = sluice_core::config::props::parse(&read(key, path)?).map_err(|e| AuthError {
        key: key.into(),
        value: path.into(),
        reason: format!("not a file of user=password lines: {e}"),
    })?;
    if users.is_empty() {
        return Err(AuthError {
            key: key.into(),
            value: path.into(),
            reason: "the file names no user: add user=password lines".into(),
        });
    }
    Ok(users)
}

/// The users file a Kafka Connect JAAS file names.
fn jaas_users_file(path: &str) -> Result<String, AuthError> {
    let text = read(JAAS_FILE, path)?;
    let bad = |reason: &str| AuthError {
        key: JAAS_FILE.into(),
        value: path.into(),
        reason: reason.into(),
    };
    let after = text
        .split_once("PropertyFileLoginModule")
        .map(|(_, rest)| rest)
        .ok_or_else(|| bad("the JAAS file has no org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule entry"))?;
    let entry = after.split(';').next().unwrap_or("");
    let file = entry
        .split_once("file")
        .and_then(|(_, rest)| rest.trim_start().strip_prefix('='))
        .map(str::trim_start)
        .and_then(|rest| rest.strip_prefix('"'))
        .and_then(|rest| rest.split_once('"'))
        .map(|(file, _)| file.to_owned())
        .ok_or_else(|| bad("the PropertyFileLoginModule entry names no users file: add file=\"/path/to/users.properties\""))?;
    Ok(file)
}

impl RestAuth {
    /// The REST authentication the worker's `props` ask for (none when no key is set).
    pub fn from_worker(props: &ConfigMap) -> Result<RestAuth, AuthError> {
        let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut auth = RestAuth::default();
        if let Some(path) = get(USERS_FILE) {
            auth.users = users_file(USERS_FILE, path)?;
        }
        for class in get(EXTENSIONS).unwrap_or("").split(',').map(str::trim) {
            match class {
                "" => {}
                BASIC_AUTH_EXTENSION | "BasicAuthSecurityRestExtension" => {
                    let jaas = get(JAAS_FILE).ok_or_else(|| AuthError {
                        key: JAAS_FILE.into(),
                        value: String::new(),
                        reason: format!("{BASIC_AUTH_EXTENSION} needs the JAAS file: set {JAAS_FILE} to its path (or use {USERS_FILE} instead)"),
                    })?;
                    let file = jaas_users_file(jaas)?;
                    auth.users.extend(users_file(JAAS_FILE, &file)?);
                }
                other => {
                    return Err(AuthError {
                        key: EXTENSIONS.into(),
                        value: other.into(),
                        reason: format!("not a known REST extension; only {BASIC_AUTH_EXTENSION} is (authentication is also available through {USERS_FILE} and {TOKENS_FILE})"),
                    })
                }
            }
        }
        if let Some(path) = get(TOKENS_FILE) {
            auth.tokens = read(TOKENS_FILE, path)?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect();
            if auth.tokens.is_empty() {
                return Err(AuthError {
                    key: TOKENS_FILE.into(),
                    value: path.into(),
                    reason: "the file holds no token: write one token per line".into(),
                });
            }
        }
        Ok(auth)
    }

    /// Whether requests must carry credentials.
    pub fn enabled(&self) -> bool {
        !self.users.is_empty() || !self.tokens.is_empty()
    }

    /// Whether an `Authorization` header value is accepted.
    pub fn accepts(&self, authorization: &str) -> bool {
        let (scheme, rest) = authorization.trim().split_once(' ').unwrap_or(("", ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return self
                .tokens
                .iter()
                .fold(false, |ok, t| ok | same(t.as_bytes(), rest.as_bytes()));
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest) else {
                return false;
            };
            let Ok(text) = String::from_utf8(decoded) else {
                return false;
            };
            let Some((user, password)) = text.split_once(':') else {
                return false;
            };
            return self
                .users
                .get(user)
                .is_some_and(|p| same(p.as_bytes(), password.as_bytes()));
        }
        false
    }

    /// The `Authorization` this worker sends to other workers, when authentication is on.
    pub fn internal_authorization(&self) -> Option<String> {
        if let Some(t) = self.tokens.first() {
            return Some(format!("Bearer {t}"));
        }
        let (user, password) = self.users.iter().next()?;
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        ))
    }

    fn challenge(&self) -> Vec<HeaderValue> {
        let mut out = Vec::new();
        if !self.users.is_empty() {
            out.push(HeaderValue::from_static("Basic realm=\"sluice\""));
        }
        if !self.tokens.is_empty() {
            out.push(HeaderValue::from_static("Bearer realm=\"sluice\""));
        }
        out
    }
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The middleware: passes requests with accepted credentials, answers 401 to others.
pub async fn require(State(auth): State<Arc<RestAuth>>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if given.is_some_and(|g| auth.accepts(g)) {
        return next.run(request).await;
    }
    tracing::debug!(
        method = %request.method(),
        path = %request.uri().path(),
        credentials = given.is_some(),
        "REST request refused: missing or wrong credentials"
    );
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({
            "error_code": 401,
            "message": "User cannot access the resource."
        })),
    )
        .into_response();
    for v in auth.challenge() {
        response.headers_mut().append(header::WWW_AUTHENTICATE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_and_bearer_credentials_are_checked() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let users = dir.path().join("users.properties");
        std::fs::write(&users, "alice: wonderland\nbob=builder\n")?;
        let tokens = dir.path().join("tokens");
        std::fs::write(&tokens, "# ops\nt0ken\n")?;
        let props: ConfigMap = [
            (USERS_FILE, users.display().to_string()),
            (TOKENS_FILE, tokens.display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let auth = RestAuth::from_worker(&props)?;
        let basic = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert!(auth.accepts(&basic("alice:wonderland")));
        assert!(auth.accepts(&basic("bob:builder")));
        assert!(!auth.accepts(&basic("bob:wonderland")));
        assert!(!auth.accepts(&basic("carol:x")));
        assert!(auth.accepts("Bearer t0ken"));
        assert!(!auth.accepts("Bearer t0ke"));
        assert!(!auth.accepts("t0ken"));
        assert_eq!(
            auth.internal_authorization().as_deref(),
            Some("Bearer t0ken")
        );
        Ok(())
    }

    #[test]
    fn the_kafka_connect_jaas_setup_is_read() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let users = dir.path().join("credentials.properties");
        std::fs::write(&users, "admin: secret\n")?;
        let jaas = dir.path().join("jaas.conf");
        std::fs::write(
            &jaas,
            format!(
                "KafkaConnect {{\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\"{}\";\n}};\n",
                users.display()
            ),
        )?;
        let props: ConfigMap = [
            (EXTENSIONS, BASIC_AUTH_EXTENSION.to_owned()),
            (JAAS_FILE, jaas.display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let auth = RestAuth::from_worker(&props)?;
        assert!(auth.enabled());
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("admin:secret")
        );
        assert_eq!(auth.internal_authorization(), Some(expected));
        Ok(())
    }
}
