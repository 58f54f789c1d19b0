//! Kafka Connect's and Debezium's built-in single message transforms and predicates.
//!
//! Every plugin is listed in [`TRANSFORMS`] / [`PREDICATES`] under its Java class
//! name (`org.apache.kafka.connect.transforms.Cast$Value`,
//! `io.debezium.transforms.ExtractNewRecordState`, …) with short aliases
//! (`Cast$Value`, `ExtractNewRecordState`, …). Each plugin's `ConfigDef` is the one
//! used both for `/connector-plugins/{type}/config` and to validate the settings the
//! plugin is built from, so a typo or a bad value fails at configure time, naming the
//! key, the value and what is allowed.
//!
//! Transforms that rebuild schemas (Cast, Flatten, InsertField, ReplaceField,
//! ExtractNewRecordState, …) cache the rebuilt schema per input schema `Arc` (a
//! pointer comparison first, a deep one only on a miss), so the per-record cost is
//! moving values into a new struct, never rebuilding a schema. Where the output keeps
//! the input's values in order (ReplaceField, InsertField, ExtractNewRecordState's
//! `add.fields`), the input struct's own vector is trimmed or extended in place
//! rather than copied into a new one.

macro_rules! side_plugins {
    ($simple:literal, $def:path, $build:path) => {
        /// The `$Key` variant.
        pub const KEY: sluice_core::plugin::TransformPlugin =
            sluice_core::plugin::TransformPlugin {
                info: sluice_core::plugin::PluginInfo {
                    class: concat!("org.apache.kafka.connect.transforms.", $simple, "$Key"),
                    aliases: &[concat!($simple, "$Key")],
                    kind: sluice_core::plugin::PluginType::Transformation,
                    config: $def,
                },
                build: |c| $build(crate::util::Side::Key, c),
            };
        /// The `$Value` variant.
        pub const VALUE: sluice_core::plugin::TransformPlugin =
            sluice_core::plugin::TransformPlugin {
                info: sluice_core::plugin::PluginInfo {
                    class: concat!("org.apache.kafka.connect.transforms.", $simple, "$Value"),
                    aliases: &[concat!($simple, "$Value")],
                    kind: sluice_core::plugin::PluginType::Transformation,
                    config: $def,
                },
                build: |c| $build(crate::util::Side::Value, c),
            };
    };
}

pub mod debezium;
pub mod kafka;
mod util;

pub use util::Side;

use sluice_core::plugin::{PredicatePlugin, TransformPlugin};

/// Every built-in transform.
pub static TRANSFORMS: &[TransformPlugin] = &[
    kafka::cast::KEY,
    kafka::cast::VALUE,
    kafka::drop_headers::PLUGIN,
    kafka::extract_field::KEY,
    kafka::extract_field::VALUE,
    kafka::filter::PLUGIN,
    kafka::flatten::KEY,
    kafka::flatten::VALUE,
    kafka::header_from::KEY,
    kafka::header_from::VALUE,
    kafka::hoist_field::KEY,
    kafka::hoist_field::VALUE,
    kafka::insert_field::KEY,
    kafka::insert_field::VALUE,
    kafka::insert_header::PLUGIN,
    kafka::mask_field::KEY,
    kafka::mask_field::VALUE,
    kafka::regex_router::PLUGIN,
    kafka::replace_field::KEY,
    kafka::replace_field::VALUE,
    kafka::set_schema_metadata::KEY,
    kafka::set_schema_metadata::VALUE,
    kafka::timestamp_converter::KEY,
    kafka::timestamp_converter::VALUE,
    kafka::timestamp_router::PLUGIN,
    kafka::value_to_key::PLUGIN,
    debezium::extract_new_record_state::PLUGIN,
    debezium::extract_new_document_state::PLUGIN,
    debezium::logical_router::BY_LOGICAL_TABLE,
    debezium::logical_router::TO_LOGICAL_TOPIC,
    debezium::outbox::PLUGIN,
];

/// Every built-in predicate.
pub static PREDICATES: &[PredicatePlugin] = &[
    kafka::predicates::TOPIC_NAME_MATCHES,
    kafka::predicates::HAS_HEADER_KEY,
    kafka::predicates::RECORD_IS_TOMBSTONE,
];

/// The transform plugin answering to `name` (class or alias).
pub fn transform(name: &str) -> Option<&'static TransformPlugin> {
    TRANSFORMS.iter().find(|p| p.info.answers_to(name))
}

/// The predicate plugin answering to `name` (class or alias).
pub fn predicate(name: &str) -> Option<&'static PredicatePlugin> {
    PREDICATES.iter().find(|p| p.info.answers_to(name))
}
