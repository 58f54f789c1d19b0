//! Errors of the MySQL connector, each classified by what should happen next.
//!
//! The runtime only distinguishes retriable from fatal failures, so the one question this
//! module answers is: will trying again later help? A dropped connection, a server that is
//! restarting or a lock timeout will; a server setting, a missing privilege, a purged binlog
//! position or a malformed event will not, and retrying those would only hide them. Every
//! fatal message names what is wrong and how to fix it.

use sluice_core::ConnectError;

/// A failure of the MySQL source.
#[derive(Debug, thiserror::Error)]
pub enum MySqlError {
    /// The connection or a statement failed; retriable unless the server said no for good.
    #[error("{context}: {source}")]
    Sql {
        context: String,
        #[source]
        source: mysql_async::Error,
    },
    /// A server setting or privilege prevents capture; names the setting and the fix.
    #[error("{0}")]
    Setting(String),
    /// The stored position is no longer on the server.
    #[error("{0}")]
    LostPosition(String),
    /// A binlog event could not be decoded.
    #[error("cannot decode the binlog event at {file}:{pos}: {message}")]
    Decode {
        file: String,
        pos: u64,
        message: String,
    },
    /// The connector config is wrong.
    #[error("{0}")]
    Config(String),
    /// A stored offset cannot be read.
    #[error("the stored offset {offset} cannot be used: {reason}; reset it with DELETE /connectors/<name>/offsets or PATCH /connectors/<name>/offsets")]
    BadOffset { offset: String, reason: String },
}

impl MySqlError {
    /// Wraps a driver error with what was being done.
    pub fn sql(context: impl Into<String>, source: mysql_async::Error) -> Self {
        MySqlError::Sql {
            context: context.into(),
            source,
        }
    }

    /// The server error code, when the server answered with one.
    pub fn server_code(&self) -> Option<u16> {
        match self {
            MySqlError::Sql {
                source: mysql_async::Error::Server(e),
                ..
            } => Some(e.code),
            _ => None,
        }
    }

    /// True when waiting and trying again may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            MySqlError::Sql { source, .. } => match source {
                mysql_async::Error::Io(_) => true,
                mysql_async::Error::Driver(_) => true,
                // Too many connections, server shutdown, lock wait timeout, deadlock,
                // query interrupted, connection killed.
                mysql_async::Error::Server(e) => {
                    matches!(
                        e.code,
                        1040 | 1053 | 1205 | 1213 | 1317 | 1927 | 2006 | 2013
                    )
                }
                _ => false,
            },
            _ => false,
        }
    }
}

impl From<MySqlError> for ConnectError {
    fn from(e: MySqlError) -> Self {
        let message = format!("mysql: {e}");
        if e.is_retriable() {
            ConnectError::Retriable(message)
        } else {
            ConnectError::Fatal(message)
        }
    }
}

/// Result with [`MySqlError`].
pub type Result<T, E = MySqlError> = std::result::Result<T, E>;

/// Adds context to driver results.
pub trait SqlContext<T> {
    /// Wraps the error with `context`.
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> SqlContext<T> for std::result::Result<T, mysql_async::Error> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| MySqlError::sql(context(), e))
    }
}
