//! The schemas and rows of generated change events, shaped as Debezium's MySQL
//! connector shapes them: key `<topic>.Key {id}`, value `<topic>.Envelope {before,
//! after, source, op, ts_ms, transaction}`.

use std::sync::Arc;

use sluice_core::record::OffsetMap;
use sluice_core::{
    Decimal, Record, SchemaAndValue, SchemaBuilder, SchemaRef, SourceRecord, Struct, Type, Value,
};

/// SplitMix64: a tiny, good-enough hash for deterministic synthetic data.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Debug, Clone, Copy)]
enum Column {
    Id,
    Text,
    Int,
    BigInt,
    Double,
    Bool,
    Decimal,
    DateTime,
    Date,
}

const CYCLE: [Column; 8] = [
    Column::Text,
    Column::Int,
    Column::BigInt,
    Column::Double,
    Column::Bool,
    Column::Decimal,
    Column::DateTime,
    Column::Date,
];

/// Schemas shared by every event of one generated table.
#[derive(Debug, Clone)]
pub struct EventShape {
    topic: String,
    db: String,
    table: String,
    server: String,
    columns: Vec<Column>,
    string_length: usize,
    key: SchemaRef,
    row: SchemaRef,
    source: SchemaRef,
    envelope: SchemaRef,
    partition: Arc<OffsetMap>,
}

impl EventShape {
    /// Builds the schemas once.
    pub fn new(prefix: &str, db: &str, table: &str, columns: usize, string_length: usize) -> Self {
        let topic = format!("{prefix}.{db}.{table}");
        let cols: Vec<Column> = std::iter::once(Column::Id)
            .chain((0..columns.saturating_sub(1)).map(|i| CYCLE[i % CYCLE.len()]))
            .collect();
        let int64 = || SchemaBuilder::new(Type::Int64).build();
        let key = SchemaBuilder::struct_()
            .name(format!("{topic}.Key"))
            .field("id", int64())
            .build();
        let mut row = SchemaBuilder::struct_().name(format!("{topic}.Value"));
        for (i, c) in cols.iter().enumerate() {
            let s = match c {
                Column::Id => int64(),
                Column::Text => SchemaBuilder::new(Type::String).optional().build(),
                Column::Int => SchemaBuilder::new(Type::Int32).optional().build(),
                Column::BigInt => SchemaBuilder::new(Type::Int64).optional().build(),
                Column::Double => SchemaBuilder::new(Type::Float64).optional().build(),
                Column::Bool => SchemaBuilder::new(Type::Boolean).optional().build(),
                Column::Decimal => SchemaBuilder::decimal(2)
                    .parameter("connect.decimal.precision", "10")
                    .optional()
                    .build(),
                Column::DateTime => SchemaBuilder::new(Type::Int64)
                    .name("io.debezium.time.Timestamp")
                    .version(1)
                    .optional()
                    .build(),
                Column::Date => SchemaBuilder::new(Type::Int32)
                    .name("io.debezium.time.Date")
                    .version(1)
                    .optional()
                    .build(),
            };
            let name = if i == 0 {
                "id".to_owned()
            } else {
                format!("col_{i}")
            };
            row = row.field(name, s);
        }
        let row = row.optional().build();
        let opt_str = || SchemaBuilder::new(Type::String).optional().build();
        let string = || SchemaBuilder::new(Type::String).build();
        let source = SchemaBuilder::struct_()
            .name("io.debezium.connector.mysql.Source")
            .field("version", string())
            .field("connector", string())
            .field("name", string())
            .field("ts_ms", int64())
            .field(
                "snapshot",
                SchemaBuilder::new(Type::String)
                    .optional()
                    .name("io.debezium.data.Enum")
                    .version(1)
                    .parameter("allowed", "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental")
                    .default_value(Value::String("false".into()))
                    .build(),
            )
            .field("db", string())
            .field("sequence", opt_str())
            .field("table", opt_str())
            .field("server_id", int64())
            .field("gtid", opt_str())
            .field("file", string())
            .field("pos", int64())
            .field("row", SchemaBuilder::new(Type::Int32).build())
            .field("thread", SchemaBuilder::new(Type::Int64).optional().build())
            .field("query", opt_str())
            .build();
        let transaction = SchemaBuilder::struct_()
            .name("event.block")
            .version(1)
            .optional()
            .field("id", string())
            .field("total_order", int64())
            .field("data_collection_order", int64())
            .build();
        let envelope = SchemaBuilder::struct_()
            .name(format!("{topic}.Envelope"))
            .version(2)
            .field("before", row.clone())
            .field("after", row.clone())
            .field("source", source.clone())
            .field("transaction", transaction)
            .field("op", string())
            .field("ts_ms", SchemaBuilder::new(Type::Int64).optional().build())
            .build();
        let mut partition = OffsetMap::new();
        partition.insert("server".into(), prefix.into());
        EventShape {
            topic,
            db: db.to_owned(),
            table: table.to_owned(),
            server: prefix.to_owned(),
            columns: cols,
            string_length,
            key,
            row,
            source,
            envelope,
            partition: Arc::new(partition),
        }
    }

    /// The topic events go to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    fn row(&self, id: i64, version: u64) -> Struct {
        let mut values = Vec::with_capacity(self.columns.len());
        for (i, c) in self.columns.iter().enumerate() {
            let h = mix(version ^ (i as u64).wrapping_mul(0x1000_0000_01B3));
            values.push(match c {
                Column::Id => Value::Int64(id),
                Column::Text => {
                    let s: String = (0..self.string_length)
                        .map(|j| (b'a' + ((h >> ((j % 12) * 5)) % 26) as u8) as char)
                        .collect();
                    Value::String(s)
                }
                Column::Int => Value::Int32(h as i32),
                Column::BigInt => Value::Int64(h as i64),
                Column::Double => Value::Float64((h % 1_000_000) as f64 / 100.0),
                Column::Bool => Value::Boolean(h & 1 == 1),
                Column::Decimal => Value::Decimal(Decimal::new((h % 100_000_000) as i64, 2)),
                Column::DateTime => Value::Int64(1_600_000_000_000 + (h % 100_000_000_000) as i64),
                Column::Date => Value::Int32(18_000 + (h % 3650) as i32),
            });
        }
        Struct::from_values(self.row.clone(), values)
            .unwrap_or_else(|_| Struct::new(self.row.clone()))
    }

    /// Event number `seq` for `seed`: mostly inserts of new ids, some updates and
    /// deletes of earlier ids.
    pub fn event(&self, seed: u64, seq: u64, now_ms: i64) -> SourceRecord {
        let h = mix(seed ^ mix(seq));
        let earlier = 1 + (mix(h) % seq.max(1)) as i64;
        // The first event is always an insert; later ones update or delete earlier ids.
        let kind = if seq == 0 { 0 } else { h % 10 };
        let (op, id, before, after) = match kind {
            0..=6 => ("c", seq as i64 + 1, None, Some(self.row(seq as i64 + 1, h))),
            7 | 8 => (
                "u",
                earlier,
                Some(self.row(earlier, mix(h ^ 1))),
                Some(self.row(earlier, h)),
            ),
            _ => ("d", earlier, Some(self.row(earlier, mix(h ^ 2))), None),
        };
        let source = Struct::from_values(
            self.source.clone(),
            vec![
                Value::String(sluice_core::VERSION.into()),
                Value::String("mysql".into()),
                Value::String(self.server.clone()),
                Value::Int64(now_ms),
                Value::String("false".into()),
                Value::String(self.db.clone()),
                Value::Null,
                Value::String(self.table.clone()),
                Value::Int64(1),
                Value::Null,
                Value::String("mysql-bin.000001".into()),
                Value::Int64(4 + seq as i64 * 200),
                Value::Int32(0),
                Value::Null,
                Value::Null,
            ],
        )
        .unwrap_or_else(|_| Struct::new(self.source.clone()));
        let envelope = Struct::from_values(
            self.envelope.clone(),
            vec![
                before.map_or(Value::Null, Value::Struct),
                after.map_or(Value::Null, Value::Struct),
                Value::Struct(source),
                Value::Null,
                Value::String(op.into()),
                Value::Int64(now_ms),
            ],
        )
        .unwrap_or_else(|_| Struct::new(self.envelope.clone()));
        let key = Struct::new(self.key.clone()).with("id", id);
        let mut offset = OffsetMap::new();
        offset.insert("seq".into(), seq.into());
        let mut record = Record::new(
            self.topic.clone(),
            SchemaAndValue::new(self.envelope.clone(), envelope),
        );
        record.key = SchemaAndValue::new(self.key.clone(), key);
        record.timestamp = Some(now_ms);
        SourceRecord {
            source_partition: self.partition.clone(),
            source_offset: offset.into(),
            record,
        }
    }

    /// The source partition of every event.
    pub fn partition(&self) -> &Arc<OffsetMap> {
        &self.partition
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_deterministic_and_valid() {
        let shape = EventShape::new("p", "db", "t", 20, 8);
        let a = shape.event(7, 1234, 1);
        let b = shape.event(7, 1234, 1);
        assert_eq!(a, b);
        assert_eq!(a.record.topic, "p.db.t");
        for seq in 0..200 {
            let e = shape.event(7, seq, 1);
            let v = &e.record.value;
            v.value
                .validate(v.schema.as_deref().expect("schema"))
                .expect("valid envelope");
            e.record
                .key
                .value
                .validate(e.record.key.schema.as_deref().expect("key schema"))
                .expect("valid key");
        }
        let ops: std::collections::BTreeSet<String> = (0..200)
            .filter_map(|s| {
                let e = shape.event(7, s, 1);
                match &e.record.value.value {
                    Value::Struct(st) => st.get("op").and_then(|v| v.as_str()).map(str::to_owned),
                    _ => None,
                }
            })
            .collect();
        assert_eq!(ops.into_iter().collect::<Vec<_>>(), vec!["c", "d", "u"]);
    }
}
