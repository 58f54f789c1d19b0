//! One error type for plugins, classified by what should happen next.

/// What the runtime should do with a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later (broker down, database restarting); the task backs off and retries.
    Retriable,
    /// Needs the user (bad config, lost position); the task fails with the message.
    Fatal,
    /// One record cannot be processed; handled by `errors.tolerance` / dead-letter.
    BadRecord,
}

/// An error raised by a connector, task, transform or converter.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A config value is wrong: names the key, the value and what is allowed.
    #[error("invalid value {value:?} for configuration {key}: {reason}")]
    Config {
        key: String,
        value: String,
        reason: String,
    },
    /// A record could not be converted or transformed.
    #[error("{0}")]
    BadRecord(String),
    /// A data value does not fit its schema.
    #[error("data error: {0}")]
    Data(String),
    /// A transient failure worth retrying.
    #[error("{0}")]
    Retriable(String),
    /// An I/O failure on a path the user gave.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Anything else that needs the user.
    #[error("{0}")]
    Fatal(String),
}

impl ConnectError {
    /// How the runtime should react.
    pub fn class(&self) -> ErrorClass {
        match self {
            ConnectError::Config { .. } | ConnectError::Fatal(_) | ConnectError::Io { .. } => {
                ErrorClass::Fatal
            }
            ConnectError::BadRecord(_) | ConnectError::Data(_) => ErrorClass::BadRecord,
            ConnectError::Retriable(_) => ErrorClass::Retriable,
        }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ConnectError::Io {
            context: context.into(),
            source,
        }
    }

    /// A config error naming the key, the value and what is allowed.
    pub fn config(
        key: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        ConnectError::Config {
            key: key.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// Result with [`ConnectError`].
pub type Result<T, E = ConnectError> = std::result::Result<T, E>;
