//! Distributed mode: workers sharing a `group.id` coordinate through Kafka, as Kafka
//! Connect's do. Configs, offsets and statuses live in three compacted topics in Kafka
//! Connect's formats ([`config_store`], [`offset_store`], [`status_store`], all built on
//! [`log::KafkaLog`]); worker settings are in [`settings`].

pub mod config_store;
pub mod log;
pub mod offset_store;
pub mod settings;
pub mod status_store;

pub use config_store::{ClusterConfig, KafkaConfigStore, TargetState};
pub use offset_store::KafkaOffsetStore;
pub use settings::DistributedConfig;
pub use status_store::{KafkaStatusStore, Status};
