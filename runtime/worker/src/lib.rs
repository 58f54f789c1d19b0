//! The Sluice worker: CLI, standalone herder, task executors, Kafka I/O, the offset
//! store and the REST API. The `sluice` binary is a thin `main` over [`standalone`].

pub mod chain;
pub mod client_settings;
pub mod config;
pub mod distributed;
pub mod errors;
pub mod herder;
pub mod kafka;
pub mod logging;
pub mod metrics;
pub mod offsets;
pub mod registry;
pub mod rest;
pub mod schema_registry;
pub mod sink;
pub mod sink_offsets;
pub mod source;
pub mod standalone;
pub mod task;
