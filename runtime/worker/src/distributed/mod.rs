//! Distributed mode: workers sharing a `group.id` coordinate through Kafka, as Kafka
//! Connect's do. Configs, offsets and statuses live in three compacted topics in Kafka
//! Connect's formats ([`config_store`], [`offset_store`], [`status_store`], all built on
//! [`log::KafkaLog`]); worker settings are in [`settings`]. Workers find each other
//! through the broker's group coordinator ([`membership`], protocol type `connect`,
//! Kafka Connect's [`protocol`] bytes), and the elected leader divides connectors and
//! tasks among them ([`assignor`]).

pub mod assignor;
pub mod config_store;
pub mod coordinator;
pub mod log;
pub mod membership;
pub mod offset_store;
pub mod protocol;
pub mod settings;
pub mod status_store;

pub use config_store::{ClusterConfig, KafkaConfigStore, TargetState};
pub use offset_store::KafkaOffsetStore;
pub use settings::DistributedConfig;
pub use status_store::{KafkaStatusStore, Status};
