//! Converters between Connect data and Kafka bytes: Kafka Connect's `JsonConverter`
//! (byte-compatible), `StringConverter`, `ByteArrayConverter`, and the
//! `SimpleHeaderConverter` used for headers; and the Confluent Schema Registry client
//! (`registry`) that the Avro and Protobuf converters share.

pub mod avro;
mod bytes;
mod header;
pub mod json;
pub mod protobuf;
pub mod registry;
mod string;

pub use avro::AvroConverter;
pub use bytes::ByteArrayConverter;
pub use header::SimpleHeaderConverter;
pub use json::JsonConverter;
pub use string::StringConverter;
