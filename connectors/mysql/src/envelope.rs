//! Debezium's record shapes: the change-event envelope with its `source` block, tombstones,
//! heartbeats and transaction metadata.
//!
//! Why this is right: field names, order, optionality, schema names and versions are those
//! of Debezium's own builders — `Envelope` (version 2: before, after, source, op, ts_ms,
//! ts_us, ts_ns, transaction), `SchemaFactory.sourceInfoSchemaBuilder()` plus
//! `BinlogSourceInfoStructMaker` for `io.debezium.connector.mysql.Source` (version 1),
//! `snapshotRecordSchema()` (an `io.debezium.data.Enum` of every `SnapshotRecord`, default
//! `false`), the heartbeat `ServerNameKey` / `Heartbeat` and the transaction
//! `TransactionMetadataKey` / `TransactionMetadataValue` / `event.block` schemas. Every
//! schema here is built once per task and shared.

use std::sync::Arc;

use sluice_core::record::OffsetMap;
use sluice_core::{
    Headers, Record, SchemaAndValue, SchemaBuilder, SchemaRef, SourceOffset, SourceRecord, Struct,
    Type, Value,
};

use crate::schema::TableSchema;

/// Debezium's `SnapshotRecord` values, in declaration order.
pub const SNAPSHOT_VALUES: &str =
    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

/// Schemas shared by every table of one connector.
#[derive(Debug)]
pub struct SourceSchemas {
    pub source: SchemaRef,
    pub transaction_block: SchemaRef,
    pub heartbeat_key: SchemaRef,
    pub heartbeat_value: SchemaRef,
    pub tx_key: SchemaRef,
    pub tx_value: SchemaRef,
    tx_collection: SchemaRef,
    pub partition: Arc<OffsetMap>,
    pub connector: &'static str,
    pub server_name: String,
}

fn string() -> SchemaRef {
    SchemaBuilder::new(Type::String).build()
}
fn opt_string() -> SchemaRef {
    SchemaBuilder::new(Type::String).optional().build()
}
fn int64() -> SchemaRef {
    SchemaBuilder::new(Type::Int64).build()
}
fn opt_int64() -> SchemaRef {
    SchemaBuilder::new(Type::Int64).optional().build()
}

impl SourceSchemas {
    /// Builds the shared schemas for connector `connector` (`mysql` / `mariadb`) and server `name`.
    pub fn new(connector: &'static str, name: &str) -> Self {
        let snapshot = SchemaBuilder::new(Type::String)
            .name("io.debezium.data.Enum")
            .version(1)
            .parameter("allowed", SNAPSHOT_VALUES)
            .default_value(Value::String("false".into()))
            .optional()
            .build();
        let source = SchemaBuilder::struct_()
            .name(format!("io.debezium.connector.{connector}.Source"))
            .version(1)
            .field("version", string())
            .field("connector", string())
            .field("name", string())
            .field("ts_ms", int64())
            .field("snapshot", snapshot)
            .field("db", string())
            .field("sequence", opt_string())
            .field("ts_us", opt_int64())
            .field("ts_ns", opt_int64())
            .field("table", opt_string())
            .field("server_id", int64())
            .field("gtid", opt_string())
            .field("file", string())
            .field("pos", int64())
            .field("row", SchemaBuilder::new(Type::Int32).build())
            .field("thread", opt_int64())
            .field("query", opt_string())
            .build();
        let transaction_block = SchemaBuilder::struct_()
            .optional()
            .name("event.block")
            .version(1)
            .field("id", string())
            .field("total_order", int64())
            .field("data_collection_order", int64())
            .build();
        let tx_collection = SchemaBuilder::struct_()
            .optional()
            .name("event.collection")
            .version(1)
            .field("data_collection", string())
            .field("event_count", int64())
            .build();
        let tx_key = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.TransactionMetadataKey")
            .version(1)
            .field("id", string())
            .build();
        let tx_value = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.TransactionMetadataValue")
            .version(1)
            .field("status", string())
            .field("id", string())
            .field("event_count", opt_int64())
            .field(
                "data_collections",
                SchemaBuilder::array(tx_collection.clone())
                    .optional()
                    .build(),
            )
            .field("ts_ms", int64())
            .build();
        let heartbeat_key = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.ServerNameKey")
            .version(1)
            .field("serverName", string())
            .build();
        let heartbeat_value = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.Heartbeat")
            .version(1)
            .field("ts_ms", int64())
            .build();
        let mut partition = OffsetMap::new();
        partition.insert("server".into(), name.into());
        SourceSchemas {
            source,
            transaction_block,
            heartbeat_key,
            heartbeat_value,
            tx_key,
            tx_value,
            tx_collection,
            partition: Arc::new(partition),
            connector,
            server_name: name.to_owned(),
        }
    }
}

/// What the `source` block of one record says.
#[derive(Debug, Clone)]
pub struct SourceInfo<'a> {
    pub ts_ms: i64,
    pub snapshot: &'static str,
    pub server_id: i64,
    pub gtid: Option<&'a str>,
    pub file: &'a str,
    pub pos: i64,
    pub row: i32,
    pub thread: Option<i64>,
}

/// The `transaction` block of one record.
#[derive(Debug, Clone)]
pub struct TxBlock<'a> {
    pub id: &'a str,
    pub total_order: i64,
    pub collection_order: i64,
}

/// Change operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Create,
    Update,
    Delete,
    Truncate,
}

impl Op {
    fn code(self) -> &'static str {
        match self {
            Op::Read => "r",
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Truncate => "t",
        }
    }
}

/// Microseconds since the epoch, now.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn source_struct(t: &TableSchema, info: &SourceInfo<'_>) -> Value {
    let s = &t.source;
    let values = vec![
        Value::String(sluice_core::VERSION.into()),
        Value::String(s.connector.into()),
        Value::String(s.server_name.clone()),
        Value::Int64(info.ts_ms),
        Value::String(info.snapshot.into()),
        Value::String(t.meta.db.clone()),
        Value::Null,
        Value::Int64(info.ts_ms * 1_000),
        Value::Int64(info.ts_ms * 1_000_000),
        Value::String(t.meta.table.clone()),
        Value::Int64(info.server_id),
        info.gtid.map_or(Value::Null, |g| Value::String(g.into())),
        Value::String(info.file.into()),
        Value::Int64(info.pos),
        Value::Int32(info.row),
        info.thread.map_or(Value::Null, Value::Int64),
        Value::Null,
    ];
    Struct::from_values(s.source.clone(), values).map_or(Value::Null, Value::Struct)
}

/// A change event: `before` / `after` are row structs of `t.value` (or null).
#[allow(clippy::too_many_arguments)]
pub fn change_record(
    t: &TableSchema,
    op: Op,
    key: Option<Value>,
    before: Option<Value>,
    after: Option<Value>,
    info: &SourceInfo<'_>,
    tx: Option<&TxBlock<'_>>,
    offset: SourceOffset,
) -> SourceRecord {
    let now = now_us();
    let tx_value = tx.map_or(Value::Null, |b| {
        Struct::from_values(
            t.source.transaction_block.clone(),
            vec![
                Value::String(b.id.into()),
                Value::Int64(b.total_order),
                Value::Int64(b.collection_order),
            ],
        )
        .map_or(Value::Null, Value::Struct)
    });
    let envelope = Struct::from_values(
        t.envelope.clone(),
        vec![
            before.unwrap_or(Value::Null),
            after.unwrap_or(Value::Null),
            source_struct(t, info),
            Value::String(op.code().into()),
            Value::Int64(now / 1_000),
            Value::Int64(now),
            Value::Int64(now * 1_000),
            tx_value,
        ],
    )
    .map_or(Value::Null, Value::Struct);
    let mut record = Record::new(
        t.topic.clone(),
        SchemaAndValue::new(t.envelope.clone(), envelope),
    );
    if let (Some(schema), Some(k)) = (&t.key, key) {
        record.key = SchemaAndValue::new(schema.clone(), k);
    }
    record.timestamp = Some(now / 1_000);
    SourceRecord {
        source_partition: t.partition.clone(),
        source_offset: offset,
        record,
    }
}

/// The tombstone that follows a delete: same key, null value.
pub fn tombstone(t: &TableSchema, key: Value, offset: SourceOffset) -> Option<SourceRecord> {
    let schema = t.key.clone()?;
    let mut record = Record::new(t.topic.clone(), SchemaAndValue::NULL);
    record.key = SchemaAndValue::new(schema, key);
    record.timestamp = Some(now_us() / 1_000);
    Some(SourceRecord {
        source_partition: t.partition.clone(),
        source_offset: offset,
        record,
    })
}

/// Adds a `__debezium.oldkey` / `__debezium.newkey` header.
pub fn add_key_header(record: &mut SourceRecord, name: &str, t: &TableSchema, key: Value) {
    if let Some(schema) = &t.key {
        let headers: &mut Headers = &mut record.record.headers;
        headers.add(name, SchemaAndValue::new(schema.clone(), key));
    }
}

/// A heartbeat to `<heartbeat prefix>.<topic.prefix>` carrying `offset`.
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

/// A transaction BEGIN (`end` = None) or END (`end` = per-collection counts) record.
pub fn transaction_record(
    s: &SourceSchemas,
    topic: &str,
    id: &str,
    ts_ms: i64,
    end: Option<&[(String, i64)]>,
    offset: SourceOffset,
) -> SourceRecord {
    let key = Struct::new(s.tx_key.clone()).with("id", id);
    let (status, count, collections) = match end {
        None => ("BEGIN", Value::Null, Value::Null),
        Some(c) => (
            "END",
            Value::Int64(c.iter().map(|(_, n)| n).sum()),
            Value::Array(
                c.iter()
                    .map(|(name, n)| {
                        Value::Struct(
                            Struct::new(s.tx_collection.clone())
                                .with("data_collection", name.as_str())
                                .with("event_count", *n),
                        )
                    })
                    .collect(),
            ),
        ),
    };
    let value = Struct::new(s.tx_value.clone())
        .with("status", status)
        .with("id", id)
        .with("event_count", count)
        .with("data_collections", collections)
        .with("ts_ms", ts_ms);
    let mut record = Record::new(topic, SchemaAndValue::new(s.tx_value.clone(), value));
    record.key = SchemaAndValue::new(s.tx_key.clone(), key);
    record.timestamp = Some(now_us() / 1_000);
    SourceRecord {
        source_partition: s.partition.clone(),
        source_offset: offset,
        record,
    }
}
