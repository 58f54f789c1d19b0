//! Errors of the MongoDB connectors, each classified by what should happen next.
//!
//! Why this is right: the runtime distinguishes retriable from fatal failures, so the one
//! question answered here is whether trying again later helps. Network errors, server
//! selection timeouts, elections (NotWritablePrimary, PrimarySteppedDown, …) and the
//! driver's own "retryable" label will; an unauthorized user, a bad config, a lost resume
//! token (ChangeStreamHistoryLost, 286) or a malformed document will not, and retrying
//! those would only hide them. Every fatal message names what is wrong and how to fix it.

use mongodb::error::{Error as DriverError, ErrorKind};
use sluice_core::ConnectError;

/// A failure of a MongoDB connector.
#[derive(Debug, thiserror::Error)]
pub enum MongoError {
    /// A driver call failed; retriable when the driver or the server says so.
    #[error("{context}: {source}")]
    Driver {
        context: String,
        #[source]
        source: DriverError,
    },
    /// The stored resume token is no longer usable on the server.
    #[error("{0}")]
    LostPosition(String),
    /// The config is wrong.
    #[error("{0}")]
    Config(String),
    /// A stored offset cannot be read.
    #[error("the stored offset {offset} cannot be used: {reason}; reset it with DELETE /connectors/<name>/offsets or PATCH /connectors/<name>/offsets")]
    BadOffset { offset: String, reason: String },
    /// A record the sink cannot write.
    #[error("{0}")]
    BadRecord(String),
}

/// Server error codes worth retrying: network-ish and election codes.
const RETRIABLE_CODES: &[i32] = &[
    6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 63, 150, 234, 133,
];

/// The server's error code, when it answered with one.
pub fn server_code(e: &DriverError) -> Option<i32> {
    match e.kind.as_ref() {
        ErrorKind::Command(c) => Some(c.code),
        ErrorKind::Write(mongodb::error::WriteFailure::WriteConcernError(w)) => Some(w.code),
        ErrorKind::Write(mongodb::error::WriteFailure::WriteError(w)) => Some(w.code),
        _ => None,
    }
}

impl MongoError {
    /// Wraps a driver error with what was being done.
    pub fn driver(context: impl Into<String>, source: DriverError) -> Self {
        MongoError::Driver {
            context: context.into(),
            source,
        }
    }

    /// True when waiting and trying again may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            MongoError::Driver { source, .. } => {
                if source.contains_label("RetryableWriteError")
                    || source.contains_label("ResumableChangeStreamError")
                {
                    return true;
                }
                matches!(
                    source.kind.as_ref(),
                    ErrorKind::Io(_)
                        | ErrorKind::ConnectionPoolCleared { .. }
                        | ErrorKind::ServerSelection { .. }
                ) || server_code(source).is_some_and(|c| RETRIABLE_CODES.contains(&c))
            }
            _ => false,
        }
    }
}

impl From<MongoError> for ConnectError {
    fn from(e: MongoError) -> Self {
        let message = format!("mongodb: {e}");
        match &e {
            MongoError::BadRecord(_) => ConnectError::BadRecord(message),
            _ if e.is_retriable() => ConnectError::Retriable(message),
            _ => ConnectError::Fatal(message),
        }
    }
}

/// Result with [`MongoError`].
pub type Result<T, E = MongoError> = std::result::Result<T, E>;

/// Adds context to driver results.
pub trait Context<T> {
    /// Wraps the error with `context`.
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, DriverError> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| MongoError::driver(context(), e))
    }
}
