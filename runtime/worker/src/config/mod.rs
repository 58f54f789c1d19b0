//! Worker and connector configuration: reading Kafka Connect's `.properties` and
//! JSON files, the worker's keys, the framework keys every connector has, and
//! whole-config validation (framework + connector + converters + transforms).

mod connector;
mod files;
pub mod providers;
pub mod secrets;
mod worker;

pub use connector::{framework_def, validate_connector, ConnectorConfig, ErrorTolerance};
pub use files::{read_connector_file, read_connector_initial_state, read_worker_file, FileError};
pub use secrets::{connector_for_start, redacted, task_for_start, task_for_storage};
pub use worker::{worker_def, WorkerConfig};
