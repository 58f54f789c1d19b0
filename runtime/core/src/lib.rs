//! The core of Sluice: Kafka Connect's data API in Rust, the plugin traits every
//! connector, transform and converter implements, and the config definitions that
//! validate user input and render Kafka Connect's `ConfigInfos` JSON.
//!
//! Dependencies flow one way: connectors, transforms and converters depend on this
//! crate; this crate depends on none of them and never on the worker.

pub mod config;
pub mod error;
pub mod output;
pub mod plugin;
pub mod record;
pub mod schema;
pub mod value;

pub use error::{ConnectError, ErrorClass};
pub use record::{
    CompactOffset, Header, Headers, Record, SchemaAndValue, SinkRecord, SourceOffset, SourceRecord,
    TopicPartition,
};
pub use schema::{Field, Schema, SchemaBuilder, SchemaRef, Type};
pub use value::{Decimal, Struct, Value};

/// The version every plugin and the worker report (`GET /`, `/connector-plugins`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
