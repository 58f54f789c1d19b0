//! Records as they flow through a pipeline. A [`Record`] is what transforms see; a
//! [`SourceRecord`] adds where it came from in the source system, a [`SinkRecord`]
//! adds where it came from in Kafka.

use std::sync::Arc;

use crate::schema::SchemaRef;
use crate::value::Value;

/// Source partition or offset: a JSON object, as Kafka Connect's `Map<String, ?>`.
pub type OffsetMap = serde_json::Map<String, serde_json::Value>;

/// A connector's own, compact form of a source offset.
pub trait CompactOffset: std::fmt::Debug + Send + Sync {
    /// The offset as it is stored.
    fn to_map(&self) -> OffsetMap;
}

/// A record's source offset. Most offsets are never stored (a commit writes only the last
/// acknowledged one per partition), so a connector emitting many records may hand a
/// [`CompactOffset`] — one small allocation — that becomes an [`OffsetMap`] only when
/// it is committed.
#[derive(Debug, Clone)]
pub enum SourceOffset {
    /// The stored form.
    Map(OffsetMap),
    /// A connector's compact form.
    Compact(Arc<dyn CompactOffset>),
}

impl SourceOffset {
    /// The offset as it is stored.
    pub fn to_map(&self) -> OffsetMap {
        match self {
            SourceOffset::Map(m) => m.clone(),
            SourceOffset::Compact(c) => c.to_map(),
        }
    }

    /// The offset as it is stored, without copying a map.
    pub fn into_map(self) -> OffsetMap {
        match self {
            SourceOffset::Map(m) => m,
            SourceOffset::Compact(c) => c.to_map(),
        }
    }
}

impl Default for SourceOffset {
    fn default() -> Self {
        SourceOffset::Map(OffsetMap::new())
    }
}

impl From<OffsetMap> for SourceOffset {
    fn from(m: OffsetMap) -> Self {
        SourceOffset::Map(m)
    }
}

impl PartialEq for SourceOffset {
    fn eq(&self, other: &Self) -> bool {
        self.to_map() == other.to_map()
    }
}

/// A value with its (optional, for schemaless data) schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaAndValue {
    /// The schema; `None` for schemaless data.
    pub schema: Option<SchemaRef>,
    /// The value; `Null` with no schema is Kafka's null (a tombstone value).
    pub value: Value,
}

impl SchemaAndValue {
    /// No schema, no value: Kafka's null.
    pub const NULL: SchemaAndValue = SchemaAndValue {
        schema: None,
        value: Value::Null,
    };

    /// A value with a schema.
    pub fn new(schema: SchemaRef, value: impl Into<Value>) -> Self {
        SchemaAndValue {
            schema: Some(schema),
            value: value.into(),
        }
    }

    /// A value without a schema.
    pub fn schemaless(value: impl Into<Value>) -> Self {
        SchemaAndValue {
            schema: None,
            value: value.into(),
        }
    }

    /// True when the value is null.
    pub fn is_null(&self) -> bool {
        self.value.is_null()
    }
}

/// One record header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The header key.
    pub key: String,
    /// Its value and optional schema.
    pub value: SchemaAndValue,
}

/// Ordered, repeatable headers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    /// Appends a header (keys may repeat).
    pub fn add(&mut self, key: impl Into<String>, value: SchemaAndValue) {
        self.0.push(Header {
            key: key.into(),
            value,
        });
    }

    /// The last header with `key`, as Kafka Connect's `lastWithName`.
    pub fn last_with_name(&self, key: &str) -> Option<&Header> {
        self.0.iter().rev().find(|h| h.key == key)
    }

    /// Removes every header with `key`.
    pub fn remove(&mut self, key: &str) {
        self.0.retain(|h| h.key != key);
    }

    /// Iterates in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The parts of a record every stage sees (Kafka Connect's `ConnectRecord`). The
/// default is an empty record: no topic, null key and value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// Kafka topic.
    pub topic: String,
    /// Kafka partition; `None` lets the producer's partitioner choose (by key).
    pub partition: Option<i32>,
    /// Key.
    pub key: SchemaAndValue,
    /// Value.
    pub value: SchemaAndValue,
    /// Timestamp in milliseconds since the epoch.
    pub timestamp: Option<i64>,
    /// Headers.
    pub headers: Headers,
}

impl Record {
    /// A record with no key, partition, timestamp or headers.
    pub fn new(topic: impl Into<String>, value: SchemaAndValue) -> Self {
        Record {
            topic: topic.into(),
            partition: None,
            key: SchemaAndValue::NULL,
            value,
            timestamp: None,
            headers: Headers::default(),
        }
    }
}

/// A record produced by a source task.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// Which part of the source it came from (`{"filename": …}`, `{"server": …}`); shared
    /// by every record of that part.
    pub source_partition: Arc<OffsetMap>,
    /// Where in that part it came from; committed once Kafka acknowledged the record.
    pub source_offset: SourceOffset,
    /// The record itself.
    pub record: Record,
}

/// A record read from Kafka for a sink task.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRecord {
    /// The record itself.
    pub record: Record,
    /// Kafka partition it was read from.
    pub kafka_partition: i32,
    /// Kafka offset it was read at.
    pub kafka_offset: i64,
}

/// A topic and partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
}
