//! Converters between Connect data and Kafka bytes: Kafka Connect's `JsonConverter`
//! (byte-compatible), `StringConverter`, `ByteArrayConverter`, and the
//! `SimpleHeaderConverter` used for headers.

mod bytes;
mod header;
pub mod json;
mod string;

pub use bytes::ByteArrayConverter;
pub use header::SimpleHeaderConverter;
pub use json::JsonConverter;
pub use string::StringConverter;
