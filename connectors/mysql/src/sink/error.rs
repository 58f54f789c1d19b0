//! Errors of the MySQL sink, classified by what should happen next.
//!
//! A put is one transaction, so a failure leaves the target as it was before the put and
//! the records are delivered again: retrying is always safe, the question is only whether
//! it can help. A lost connection, a deadlock or a lock wait timeout can (retriable); a
//! missing table or column, a missing privilege or a type that has no column cannot
//! (fatal, with the key to change); a value the column refuses is the data's fault
//! (bad record).

use sluice_core::ConnectError;

/// A failure of the MySQL sink.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A statement or the connection failed.
    #[error("{context}: {source}")]
    Sql {
        context: String,
        #[source]
        source: mysql_async::Error,
    },
    /// The target table cannot take the records as configured.
    #[error("{0}")]
    Table(String),
    /// A value cannot be written.
    #[error("{0}")]
    Record(String),
}

impl SinkError {
    /// Wraps a driver error with what was being done.
    pub fn sql(context: impl Into<String>, source: mysql_async::Error) -> Self {
        SinkError::Sql {
            context: context.into(),
            source,
        }
    }

    /// The server's error code, if the server answered with one.
    pub fn server_code(&self) -> Option<u16> {
        match self {
            SinkError::Sql {
                source: mysql_async::Error::Server(e),
                ..
            } => Some(e.code),
            _ => None,
        }
    }
}

/// Server errors a value causes: out of range, truncated, wrong value, too long, null
/// in a NOT NULL column, a foreign key, a duplicate key with `insert.mode=insert`.
const DATA_ERRORS: &[u16] = &[
    1048, 1062, 1263, 1264, 1265, 1292, 1366, 1406, 1451, 1452, 3140,
];

/// Server errors worth a retry: too many connections, shutdown, lock wait timeout,
/// deadlock, interrupted, connection killed, gone away, lost.
const RETRIABLE: &[u16] = &[1040, 1053, 1205, 1213, 1317, 1927, 2006, 2013];

impl From<SinkError> for ConnectError {
    fn from(e: SinkError) -> Self {
        let message = format!("mysql-sink: {e}");
        match &e {
            SinkError::Sql { source, .. } => match source {
                mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => {
                    ConnectError::Retriable(message)
                }
                mysql_async::Error::Server(s) if RETRIABLE.contains(&s.code) => {
                    ConnectError::Retriable(message)
                }
                mysql_async::Error::Server(s) if DATA_ERRORS.contains(&s.code) => {
                    ConnectError::Data(message)
                }
                _ => ConnectError::Fatal(message),
            },
            SinkError::Table(_) => ConnectError::Fatal(message),
            SinkError::Record(_) => ConnectError::BadRecord(message),
        }
    }
}

/// Adds context to driver results.
pub trait SqlContext<T> {
    /// Wraps the error with `context`.
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, SinkError>;
}

impl<T> SqlContext<T> for Result<T, mysql_async::Error> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, SinkError> {
        self.map_err(|e| SinkError::sql(context(), e))
    }
}
