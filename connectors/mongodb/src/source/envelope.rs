//! Debezium's MongoDB record shapes: the change-event envelope, its `source` block, keys,
//! tombstones and heartbeats.
//!
//! Why this is right: names, field order, optionality, schema names and versions follow
//! Debezium's MongoDB connector — the key `<topic>.Key` with one string field `id` (the
//! `_id` as relaxed Extended JSON), the value `<topic>.Envelope` with `before` / `after` as
//! `io.debezium.data.Json` strings, `updateDescription`
//! (`io.debezium.connector.mongodb.changestream.updatedescription`: `removedFields`,
//! `updatedFields` as a JSON string, `truncatedArrays` of
//! `io.debezium.connector.mongodb.changestream.truncatedarray` {field, size}), the common
//! `source` fields (version, connector, name, ts_ms, snapshot, db, sequence, ts_us, ts_ns)
//! followed by MongoDB's `rs`, `collection`, `ord`, `lsid`, `txnNumber`, `wallTime` in
//! `io.debezium.connector.mongo.Source`, then `op`, `ts_ms`, `ts_us`, `ts_ns`, `transaction`.
//! The oplog-era fields `patch`, `filter`, `h`, `tord` and `stxnid` (always null with
//! change streams, dropped by current Debezium) are not emitted. Schemas are built once per
//! collection and shared.

use std::collections::HashMap;
use std::sync::Arc;

use sluice_core::record::OffsetMap;
use sluice_core::{
    Record, SchemaAndValue, SchemaBuilder, SchemaRef, SourceOffset, SourceRecord, Struct, Type,
    Value,
};

/// Debezium's `SnapshotRecord` values, in declaration order.
pub const SNAPSHOT_VALUES: &str =
    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

/// Index of `source` in the envelope, and of `snapshot` in `source`.
pub const SOURCE_INDEX: usize = 3;
/// Index of `snapshot` in the `source` block.
pub const SNAPSHOT_INDEX: usize = 4;

fn opt_string() -> SchemaRef {
    SchemaBuilder::new(Type::String).optional().build()
}
fn string() -> SchemaRef {
    SchemaBuilder::new(Type::String).build()
}
fn opt_int64() -> SchemaRef {
    SchemaBuilder::new(Type::Int64).optional().build()
}
fn json() -> SchemaRef {
    SchemaBuilder::new(Type::String)
        .name("io.debezium.data.Json")
        .version(1)
        .optional()
        .build()
}

/// Schemas shared by every collection of one connector.
#[derive(Debug)]
pub struct SourceSchemas {
    pub source: SchemaRef,
    pub update_description: SchemaRef,
    pub truncated_array: SchemaRef,
    pub transaction_block: SchemaRef,
    pub heartbeat_key: SchemaRef,
    pub heartbeat_value: SchemaRef,
    pub partition: Arc<OffsetMap>,
    pub server_name: String,
    pub replica_set: String,
    collections: std::sync::Mutex<HashMap<(String, String), Arc<CollectionSchema>>>,
}

/// The schemas and topic of one collection.
#[derive(Debug)]
pub struct CollectionSchema {
    pub db: String,
    pub collection: String,
    pub topic: String,
    pub key: SchemaRef,
    pub envelope: SchemaRef,
}

impl SourceSchemas {
    /// Builds the shared schemas for server `name` on replica set `rs`.
    pub fn new(name: &str, rs: &str) -> Self {
        let snapshot = SchemaBuilder::new(Type::String)
            .name("io.debezium.data.Enum")
            .version(1)
            .parameter("allowed", SNAPSHOT_VALUES)
            .default_value(Value::String("false".into()))
            .optional()
            .build();
        let source = SchemaBuilder::struct_()
            .name("io.debezium.connector.mongo.Source")
            .field("version", string())
            .field("connector", string())
            .field("name", string())
            .field("ts_ms", SchemaBuilder::new(Type::Int64).build())
            .field("snapshot", snapshot)
            .field("db", string())
            .field("sequence", opt_string())
            .field("ts_us", opt_int64())
            .field("ts_ns", opt_int64())
            .field("rs", string())
            .field("collection", string())
            .field("ord", SchemaBuilder::new(Type::Int32).build())
            .field("lsid", opt_string())
            .field("txnNumber", opt_int64())
            .field("wallTime", opt_int64())
            .build();
        let truncated_array = SchemaBuilder::struct_()
            .name("io.debezium.connector.mongodb.changestream.truncatedarray")
            .version(1)
            .field("field", string())
            .field("size", SchemaBuilder::new(Type::Int32).build())
            .build();
        let update_description = SchemaBuilder::struct_()
            .optional()
            .name("io.debezium.connector.mongodb.changestream.updatedescription")
            .version(1)
            .field(
                "removedFields",
                SchemaBuilder::array(string()).optional().build(),
            )
            .field("updatedFields", json())
            .field(
                "truncatedArrays",
                SchemaBuilder::array(truncated_array.clone())
                    .optional()
                    .build(),
            )
            .build();
        let transaction_block = SchemaBuilder::struct_()
            .optional()
            .name("event.block")
            .version(1)
            .field("id", string())
            .field("total_order", SchemaBuilder::new(Type::Int64).build())
            .field(
                "data_collection_order",
                SchemaBuilder::new(Type::Int64).build(),
            )
            .build();
        let heartbeat_key = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.ServerNameKey")
            .version(1)
            .field("serverName", string())
            .build();
        let heartbeat_value = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.Heartbeat")
            .version(1)
            .field("ts_ms", SchemaBuilder::new(Type::Int64).build())
            .build();
        SourceSchemas {
            source,
            update_description,
            truncated_array,
            transaction_block,
            heartbeat_key,
            heartbeat_value,
            partition: Arc::new(partition(name)),
            server_name: name.to_owned(),
            replica_set: rs.to_owned(),
            collections: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The schemas of collection `db.coll` (built once).
    pub fn collection(&self, db: &str, coll: &str) -> Arc<CollectionSchema> {
        let mut map = self.collections.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get(&(db.to_owned(), coll.to_owned())) {
            return s.clone();
        }
        let topic = format!("{}.{db}.{coll}", self.server_name);
        let key = SchemaBuilder::struct_()
            .name(format!("{topic}.Key"))
            .field("id", string())
            .build();
        let envelope = SchemaBuilder::struct_()
            .name(format!("{topic}.Envelope"))
            .field("before", json())
            .field("after", json())
            .field("updateDescription", self.update_description.clone())
            .field("source", self.source.clone())
            .field("op", opt_string())
            .field("ts_ms", opt_int64())
            .field("ts_us", opt_int64())
            .field("ts_ns", opt_int64())
            .field("transaction", self.transaction_block.clone())
            .build();
        let schema = Arc::new(CollectionSchema {
            db: db.to_owned(),
            collection: coll.to_owned(),
            topic,
            key,
            envelope,
        });
        map.insert((db.to_owned(), coll.to_owned()), schema.clone());
        schema
    }
}

/// The source partition: `{"server_id": <topic.prefix>}`.
pub fn partition(name: &str) -> OffsetMap {
    let mut m = OffsetMap::new();
    m.insert("server_id".into(), name.into());
    m
}

/// Debezium 2.x's partition for one replica set: `{"server_id": …, "rs": …}`; read when
/// no offset is stored under [`partition`], so a migrated connector resumes.
pub fn legacy_partition(name: &str, rs: &str) -> OffsetMap {
    let mut m = partition(name);
    m.insert("rs".into(), rs.into());
    m
}

/// Change operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Create,
    Update,
    Delete,
}

impl Op {
    /// `r`, `c`, `u`, `d`.
    pub fn code(self) -> &'static str {
        match self {
            Op::Read => "r",
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
        }
    }
}

/// What the `source` block of one record says.
#[derive(Debug, Clone, Default)]
pub struct SourceInfo {
    /// Cluster time seconds × 1000 (Debezium's `ts_ms`).
    pub ts_ms: i64,
    /// `true`, `first`, …, or `false` while streaming.
    pub snapshot: &'static str,
    /// Cluster time increment.
    pub ord: i32,
    pub lsid: Option<String>,
    pub txn_number: Option<i64>,
    pub wall_time: Option<i64>,
}

/// `updateDescription`, already as Debezium writes it.
#[derive(Debug, Clone, Default)]
pub struct UpdateDescription {
    pub removed_fields: Vec<String>,
    /// Relaxed Extended JSON of `updatedFields`.
    pub updated_fields: Option<String>,
    pub truncated_arrays: Vec<(String, i32)>,
}

/// Microseconds since the epoch, now.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn source_struct(s: &SourceSchemas, c: &CollectionSchema, info: &SourceInfo) -> Value {
    let values = vec![
        Value::String(sluice_core::VERSION.into()),
        Value::String("mongodb".into()),
        Value::String(s.server_name.clone()),
        Value::Int64(info.ts_ms),
        Value::String(info.snapshot.into()),
        Value::String(c.db.clone()),
        Value::Null,
        Value::Int64(info.ts_ms * 1_000),
        Value::Int64(info.ts_ms * 1_000_000),
        Value::String(s.replica_set.clone()),
        Value::String(c.collection.clone()),
        Value::Int32(info.ord),
        info.lsid.clone().map_or(Value::Null, Value::String),
        info.txn_number.map_or(Value::Null, Value::Int64),
        info.wall_time.map_or(Value::Null, Value::Int64),
    ];
    Struct::from_values(s.source.clone(), values).map_or(Value::Null, Value::Struct)
}

fn update_struct(s: &SourceSchemas, u: &UpdateDescription) -> Value {
    let removed = if u.removed_fields.is_empty() {
        Value::Null
    } else {
        Value::Array(
            u.removed_fields
                .iter()
                .map(|f| Value::String(f.clone()))
                .collect(),
        )
    };
    let truncated = if u.truncated_arrays.is_empty() {
        Value::Null
    } else {
        Value::Array(
            u.truncated_arrays
                .iter()
                .map(|(f, n)| {
                    Value::Struct(
                        Struct::new(s.truncated_array.clone())
                            .with("field", f.as_str())
                            .with("size", *n),
                    )
                })
                .collect(),
        )
    };
    let updated = u.updated_fields.clone().map_or(Value::Null, Value::String);
    Struct::from_values(
        s.update_description.clone(),
        vec![removed, updated, truncated],
    )
    .map_or(Value::Null, Value::Struct)
}

/// The key `{"id": <relaxed Extended JSON of _id>}`.
pub fn key(c: &CollectionSchema, id_json: String) -> SchemaAndValue {
    SchemaAndValue::new(
        c.key.clone(),
        Value::Struct(Struct::new(c.key.clone()).with("id", id_json)),
    )
}

/// One change event.
#[allow(clippy::too_many_arguments)]
pub fn change_record(
    s: &SourceSchemas,
    c: &CollectionSchema,
    op: Op,
    key: SchemaAndValue,
    before: Option<String>,
    after: Option<String>,
    update: Option<&UpdateDescription>,
    info: &SourceInfo,
    offset: SourceOffset,
) -> SourceRecord {
    let now = now_us();
    let envelope = Struct::from_values(
        c.envelope.clone(),
        vec![
            before.map_or(Value::Null, Value::String),
            after.map_or(Value::Null, Value::String),
            update.map_or(Value::Null, |u| update_struct(s, u)),
            source_struct(s, c, info),
            Value::String(op.code().into()),
            Value::Int64(now / 1_000),
            Value::Int64(now),
            Value::Int64(now * 1_000),
            Value::Null,
        ],
    )
    .map_or(Value::Null, Value::Struct);
    let mut record = Record::new(
        c.topic.clone(),
        SchemaAndValue::new(c.envelope.clone(), envelope),
    );
    record.key = key;
    record.timestamp = Some(now / 1_000);
    SourceRecord {
        source_partition: s.partition.clone(),
        source_offset: offset,
        record,
    }
}

/// The tombstone that follows a delete: same key, null value.
pub fn tombstone(
    s: &SourceSchemas,
    c: &CollectionSchema,
    key: SchemaAndValue,
    offset: SourceOffset,
) -> SourceRecord {
    let mut record = Record::new(c.topic.clone(), SchemaAndValue::NULL);
    record.key = key;
    record.timestamp = Some(now_us() / 1_000);
    SourceRecord {
        source_partition: s.partition.clone(),
        source_offset: offset,
        record,
    }
}

/// Sets `source.snapshot` of a change record to `marker`.
pub fn set_snapshot_marker(r: &mut SourceRecord, marker: &'static str) {
    if let Value::Struct(env) = &mut r.record.value.value {
        if let Some(Value::Struct(src)) = env.values_mut().get_mut(SOURCE_INDEX) {
            if let Some(slot) = src.values_mut().get_mut(SNAPSHOT_INDEX) {
                *slot = Value::String(marker.into());
            }
        }
    }
}

/// A heartbeat to `topic` carrying `offset`.
pub fn heartbeat(s: &SourceSchemas, topic: &str, offset: SourceOffset) -> SourceRecord {
    let now = now_us() / 1_000;
    let key = Struct::new(s.heartbeat_key.clone()).with("serverName", s.server_name.as_str());
    let value = Struct::new(s.heartbeat_value.clone()).with("ts_ms", now);
    let mut record = Record::new(topic, SchemaAndValue::new(s.heartbeat_value.clone(), value));
    record.key = SchemaAndValue::new(s.heartbeat_key.clone(), key);
    record.timestamp = Some(now);
    SourceRecord {
        source_partition: s.partition.clone(),
        source_offset: offset,
        record,
    }
}
