//! The traits every plugin implements. Connectors say how to split work into tasks;
//! tasks move records; transforms and predicates edit and route records; converters
//! turn records into Kafka bytes and back.
//!
//! Task methods are `async` and must be cancel-safe at their `.await` points: the
//! runtime stops a task by dropping an in-flight `poll` / `put` future, then calls
//! `stop`. Delivery guarantees do not depend on a task's cooperation: offsets are
//! committed by the runtime only after Kafka acknowledged the records (sources) or
//! after `flush` returned (sinks).

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::config::{ConfigDef, ConfigMap};
use crate::error::Result;
use crate::record::{OffsetMap, Record, SchemaAndValue, SinkRecord, SourceRecord, TopicPartition};

/// The kind of a plugin, named as `/connector-plugins` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginType {
    Source,
    Sink,
    Transformation,
    Predicate,
    Converter,
    HeaderConverter,
}

impl PluginType {
    /// `"source"`, `"sink"`, `"transformation"`, `"predicate"`, `"converter"`, `"header_converter"`.
    pub fn name(self) -> &'static str {
        match self {
            PluginType::Source => "source",
            PluginType::Sink => "sink",
            PluginType::Transformation => "transformation",
            PluginType::Predicate => "predicate",
            PluginType::Converter => "converter",
            PluginType::HeaderConverter => "header_converter",
        }
    }
}

/// A source connector: validates its config and splits the work into task configs.
#[async_trait]
pub trait SourceConnector: Send + Sync {
    /// Validates and keeps the connector config.
    async fn start(&mut self, config: &ConfigMap) -> Result<()>;
    /// At most `max_tasks` task configs.
    fn task_configs(&self, max_tasks: usize) -> Result<Vec<ConfigMap>>;
    /// Releases resources.
    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A sink connector.
#[async_trait]
pub trait SinkConnector: Send + Sync {
    /// Validates and keeps the connector config.
    async fn start(&mut self, config: &ConfigMap) -> Result<()>;
    /// At most `max_tasks` task configs.
    fn task_configs(&self, max_tasks: usize) -> Result<Vec<ConfigMap>>;
    /// Releases resources.
    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Where a task publishes its progress (e.g. snapshot rows done / estimated, rows/s);
/// the worker shows the latest value in the task's `/status` entry as `progress`.
#[derive(Debug, Clone, Default)]
pub struct Progress(std::sync::Arc<std::sync::Mutex<Option<serde_json::Value>>>);

impl Progress {
    /// Replaces the published progress (`None` clears it).
    pub fn set(&self, value: Option<serde_json::Value>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = value;
    }

    /// The latest progress.
    pub fn get(&self) -> Option<serde_json::Value> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// What a source task is given at start: the last committed offset of each source
/// partition, and where to publish progress.
#[derive(Debug, Clone, Default)]
pub struct SourceTaskContext {
    offsets: BTreeMap<String, OffsetMap>,
    progress: Progress,
}

impl SourceTaskContext {
    /// A context from `(partition, offset)` pairs.
    pub fn new(offsets: impl IntoIterator<Item = (OffsetMap, OffsetMap)>) -> Self {
        SourceTaskContext {
            offsets: offsets
                .into_iter()
                .map(|(p, o)| (partition_key(&p), o))
                .collect(),
            progress: Progress::default(),
        }
    }

    /// The same offsets, publishing progress to `progress`.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Where to publish progress.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The committed offset of `partition`, if any.
    pub fn offset(&self, partition: &OffsetMap) -> Option<&OffsetMap> {
        self.offsets.get(&partition_key(partition))
    }
}

/// A canonical text form of a source partition (keys sorted), for lookups.
pub fn partition_key(partition: &OffsetMap) -> String {
    let sorted: BTreeMap<&String, &serde_json::Value> = partition.iter().collect();
    serde_json::to_string(&sorted).unwrap_or_default()
}

/// A source task: reads from the source system.
#[async_trait]
pub trait SourceTask: Send {
    /// Starts reading, resuming from the context's offsets.
    async fn start(&mut self, config: &ConfigMap, context: SourceTaskContext) -> Result<()>;
    /// The next batch; may wait for data, and may return an empty batch when idle.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>>;
    /// Called after offsets up to these were committed (Kafka acknowledged them).
    async fn commit(&mut self) -> Result<()> {
        Ok(())
    }
    /// Stops; called once, after the last `poll`.
    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A sink task: writes records to the target system.
#[async_trait]
pub trait SinkTask: Send {
    /// Starts the task.
    async fn start(&mut self, config: &ConfigMap) -> Result<()>;
    /// Writes (or buffers) a batch.
    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<()>;
    /// Makes everything `put` so far durable; the runtime then commits `offsets`
    /// (the next offset to read per partition).
    async fn flush(&mut self, offsets: &BTreeMap<TopicPartition, i64>) -> Result<()>;
    /// Stops; called once.
    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A single-record transformation (Kafka Connect's SMT). `Ok(None)` drops the record.
pub trait Transform: Send {
    /// Transforms one record.
    fn apply(&mut self, record: Record) -> Result<Option<Record>>;
}

/// Builds a transform from its settings: the keys under `transforms.<alias>.`, prefix
/// stripped, without `type`, `predicate` and `negate` (the runtime handles those).
pub type TransformFactory = fn(&ConfigMap) -> Result<Box<dyn Transform>>;

/// Builds a predicate from its settings (keys under `predicates.<alias>.`, stripped,
/// without `type`).
pub type PredicateFactory = fn(&ConfigMap) -> Result<Box<dyn Predicate>>;

/// A transformation plugin: its identity and how to build it.
#[derive(Debug, Clone, Copy)]
pub struct TransformPlugin {
    /// Class, aliases, kind [`PluginType::Transformation`], config keys.
    pub info: PluginInfo,
    /// Builds an instance.
    pub build: TransformFactory,
}

/// A predicate plugin: its identity and how to build it.
#[derive(Debug, Clone, Copy)]
pub struct PredicatePlugin {
    /// Class, aliases, kind [`PluginType::Predicate`], config keys.
    pub info: PluginInfo,
    /// Builds an instance.
    pub build: PredicateFactory,
}

/// A condition on a record, for conditional transforms.
pub trait Predicate: Send {
    /// True when the record matches.
    fn test(&self, record: &Record) -> bool;
}

/// Turns Connect data into Kafka bytes and back. What `from_connect` writes,
/// `to_connect` reads back to the same schema and value.
pub trait Converter: Send + Sync {
    /// Serializes; `None` is Kafka's null (a tombstone).
    #[allow(clippy::wrong_self_convention)] // Kafka Connect's name: fromConnectData
    fn from_connect(&self, topic: &str, data: &SchemaAndValue) -> Result<Option<Vec<u8>>>;
    /// Deserializes; Kafka's null becomes [`SchemaAndValue::NULL`].
    fn to_connect(&self, topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue>;
}

/// How a plugin describes itself for `/connector-plugins` and config validation.
#[derive(Debug, Clone, Copy)]
pub struct PluginInfo {
    /// The canonical class name (Kafka Connect's, where one exists).
    pub class: &'static str,
    /// Other names accepted in configs (short names, Debezium / Confluent names).
    pub aliases: &'static [&'static str],
    /// The plugin kind.
    pub kind: PluginType,
    /// The plugin's config keys.
    pub config: fn() -> ConfigDef,
}

impl PluginInfo {
    /// True when `name` is the class or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.class == name || self.aliases.contains(&name)
    }

    /// The short class name (`FileStreamSourceConnector`), as `ConfigInfos.name` uses it.
    pub fn simple_name(&self) -> &'static str {
        self.class.rsplit('.').next().unwrap_or(self.class)
    }
}
