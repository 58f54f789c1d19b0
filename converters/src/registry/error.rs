//! What can go wrong talking to a schema registry, and how the runtime should react.
//!
//! The mapping to [`ConnectError`] follows what the failure means for the record in hand:
//! an unreachable registry or a 5xx is transient (retry), a refused credential or a bad
//! setting needs the user (fatal), and any other 4xx (unknown id, schema not found,
//! incompatible schema) is about this record's schema (bad record, handled by
//! `errors.tolerance` as Kafka Connect does with Confluent's `SerializationException`).

use sluice_core::ConnectError;

/// A schema registry failure.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A registry setting is wrong.
    #[error("invalid value {value:?} for configuration {key}: {reason}")]
    Config {
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// No registry URL answered.
    #[error("schema registry unreachable: {method} {path} failed at every URL in schema.registry.url ({urls}); last error: {last_error}. Check that the registry is running and schema.registry.url points at it")]
    Unreachable {
        /// The request method.
        method: &'static str,
        /// The request path.
        path: String,
        /// Every URL tried.
        urls: String,
        /// The last transport error.
        last_error: String,
    },
    /// The registry answered with an error.
    #[error("schema registry {url} refused {method} {path}: HTTP {status}, error code {error_code}: {message}{hint}")]
    Rejected {
        /// The registry's base URL.
        url: String,
        /// The request method.
        method: &'static str,
        /// The request path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// Confluent's `error_code` (e.g. 40403 schema not found), or the status when absent.
        error_code: i64,
        /// Confluent's `message`, or the body.
        message: String,
        /// What to do about it, when we know.
        hint: String,
    },
    /// The registry answered 2xx with a body we cannot read.
    #[error(
        "schema registry {url} answered {method} {path} with an unexpected body ({reason}): {body}"
    )]
    BadResponse {
        /// The registry's base URL.
        url: String,
        /// The request method.
        method: &'static str,
        /// The request path.
        path: String,
        /// What is missing or malformed.
        reason: String,
        /// The body, shortened.
        body: String,
    },
}

impl RegistryError {
    /// Confluent's error code, when the registry answered with one.
    pub fn error_code(&self) -> Option<i64> {
        match self {
            RegistryError::Rejected { error_code, .. } => Some(*error_code),
            _ => None,
        }
    }

    /// The HTTP status, when the registry answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<RegistryError> for ConnectError {
    fn from(e: RegistryError) -> Self {
        match &e {
            RegistryError::Config { key, value, reason } => ConnectError::Config {
                key: key.clone(),
                value: value.clone(),
                reason: reason.clone(),
            },
            RegistryError::Unreachable { .. } => ConnectError::Retriable(e.to_string()),
            RegistryError::Rejected { status, .. } if *status >= 500 || *status == 429 => {
                ConnectError::Retriable(e.to_string())
            }
            RegistryError::Rejected { status, .. } if *status == 401 || *status == 403 => {
                ConnectError::Fatal(e.to_string())
            }
            RegistryError::Rejected { .. } => ConnectError::Data(e.to_string()),
            RegistryError::BadResponse { .. } => ConnectError::Retriable(e.to_string()),
        }
    }
}
