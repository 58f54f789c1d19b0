//! Kafka Connect's bundled transforms (`org.apache.kafka.connect.transforms.*`) and
//! predicates (`org.apache.kafka.connect.transforms.predicates.*`).

pub mod cast;
pub mod drop_headers;
pub mod extract_field;
pub mod filter;
pub mod flatten;
pub mod header_from;
pub mod hoist_field;
pub mod insert_field;
pub mod insert_header;
pub mod mask_field;
pub mod predicates;
pub mod regex_router;
pub mod replace_field;
pub mod set_schema_metadata;
pub mod timestamp_converter;
pub mod timestamp_router;
pub mod value_to_key;
