//! Table descriptions and the Kafka Connect schemas built from them, once per table version.
//!
//! Why this is right: both sources of table structure — a binlog TABLE_MAP event with its
//! optional metadata (streaming) and `information_schema` (snapshot) — are reduced to the
//! same [`TableMeta`], and every schema is derived from that one description by
//! [`TableSchema::build`]. So a table's snapshot records and streamed records carry equal
//! schemas by construction. The mapping of each MySQL type follows Debezium's MySQL
//! connector documentation (integer widths by signedness, `Decimal` with
//! `connect.decimal.precision`, `io.debezium.time.*` by `time.precision.mode`,
//! `ZonedTimestamp` for TIMESTAMP, `Enum` / `EnumSet` with `allowed`, `Json`, `Bits`,
//! `geometry.Geometry`). Schemas are `Arc`s built here only; the decoder reuses them for
//! every row of that table version.

use std::sync::Arc;

use sluice_core::record::OffsetMap;
use sluice_core::{SchemaBuilder, SchemaRef, Type};

use crate::config::{BigIntUnsignedMode, BinaryMode, DecimalMode, MySqlConfig, TimeMode};
use crate::envelope::SourceSchemas;
use crate::filters::Mask;

/// A MySQL column type, as far as change events care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    TinyInt,
    SmallInt,
    MediumInt,
    Int,
    BigInt,
    Float,
    Double,
    Decimal {
        precision: u8,
        scale: u8,
    },
    Bit {
        bits: u16,
    },
    Year,
    Date,
    Time {
        fsp: u8,
    },
    DateTime {
        fsp: u8,
    },
    Timestamp {
        fsp: u8,
    },
    /// CHAR / VARCHAR / TEXT (`binary` false) or BINARY / VARBINARY / BLOB.
    /// `fixed` is the byte length of BINARY(n), whose values MySQL pads with zeros.
    Text {
        binary: bool,
        fixed: Option<u32>,
    },
    Json,
    Enum {
        values: Vec<String>,
    },
    Set {
        values: Vec<String>,
    },
    Geometry,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    pub name: String,
    pub ty: ColumnType,
    pub unsigned: bool,
    pub nullable: bool,
    /// Character set of a text column: only tells how binlog bytes decode.
    pub charset: Charset,
}

/// How a text column's bytes decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// utf8mb4, utf8mb3, ascii and anything else decoded as UTF-8.
    Utf8,
    /// latin1 (MySQL's latin1 is Windows-1252).
    Latin1,
}

/// One table version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMeta {
    pub db: String,
    pub table: String,
    pub columns: Vec<ColumnMeta>,
    /// Primary key column indexes, in key order.
    pub primary_key: Vec<usize>,
}

/// How one captured column becomes a value field.
#[derive(Debug, Clone)]
pub struct FieldPlan {
    /// Index of the column in the row image.
    pub column: usize,
    /// The field's schema.
    pub schema: SchemaRef,
    /// Masking, for string columns.
    pub mask: Option<Mask>,
}

/// Schemas and plans of one table version: built once, shared by every row.
#[derive(Debug)]
pub struct TableSchema {
    pub meta: TableMeta,
    pub topic: String,
    /// `<topic>.Key`; `None` when the table has no key.
    pub key: Option<SchemaRef>,
    /// Row columns in the key, in key order.
    pub key_columns: Vec<usize>,
    /// `<topic>.Value` (optional struct).
    pub value: SchemaRef,
    pub fields: Vec<FieldPlan>,
    /// `<topic>.Envelope`.
    pub envelope: SchemaRef,
    pub source: Arc<SourceSchemas>,
    /// `db.table`, as transaction metadata names data collections.
    pub collection: String,
    pub partition: Arc<OffsetMap>,
}

impl TableSchema {
    /// Builds every schema of one table version.
    pub fn build(
        meta: TableMeta,
        config: &MySqlConfig,
        source: Arc<SourceSchemas>,
    ) -> Result<TableSchema, String> {
        let topic = format!("{}.{}.{}", config.topic_prefix, meta.db, meta.table);
        let key_columns: Vec<usize> = match config.key_columns.for_table(&meta.db, &meta.table) {
            Some(names) => names
                .iter()
                .map(|n| {
                    meta.columns
                        .iter()
                        .position(|c| c.name.eq_ignore_ascii_case(n))
                        .ok_or_else(|| {
                            format!(
                                "message.key.columns names column {n} which {}.{} does not have",
                                meta.db, meta.table
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
            None => meta.primary_key.clone(),
        };
        let key = if key_columns.is_empty() {
            None
        } else {
            let mut b = SchemaBuilder::struct_().name(format!("{topic}.Key"));
            for &i in &key_columns {
                let c = &meta.columns[i];
                b = b.field(c.name.clone(), column_schema(c, false, config));
            }
            Some(b.build())
        };
        let mut value = SchemaBuilder::struct_().name(format!("{topic}.Value"));
        let mut fields = Vec::new();
        for (i, c) in meta.columns.iter().enumerate() {
            if !config.filters.column(&meta.db, &meta.table, &c.name) {
                continue;
            }
            let schema = column_schema(c, c.nullable, config);
            let mask = config
                .masks
                .for_column(&meta.db, &meta.table, &c.name)
                .filter(|_| schema.ty == Type::String)
                .cloned();
            value = value.field(c.name.clone(), schema.clone());
            fields.push(FieldPlan {
                column: i,
                schema,
                mask,
            });
        }
        let value = value.optional().build();
        let envelope = SchemaBuilder::struct_()
            .name(format!("{topic}.Envelope"))
            .version(2)
            .field("before", value.clone())
            .field("after", value.clone())
            .field("source", source.source.clone())
            .field("op", SchemaBuilder::new(Type::String).build())
            .field("ts_ms", opt_int64())
            .field("ts_us", opt_int64())
            .field("ts_ns", opt_int64())
            .field("transaction", source.transaction_block.clone())
            .build();
        Ok(TableSchema {
            collection: format!("{}.{}", meta.db, meta.table),
            partition: source.partition.clone(),
            meta,
            topic,
            key,
            key_columns,
            value,
            fields,
            envelope,
            source,
        })
    }
}

/// Debezium's `Schema.OPTIONAL_INT64_SCHEMA`.
fn opt_int64() -> SchemaRef {
    SchemaBuilder::new(Type::Int64).optional().build()
}

fn named(ty: Type, name: &str) -> SchemaBuilder {
    SchemaBuilder::new(ty).name(name).version(1)
}

/// The Connect schema of one column, as Debezium's MySQL connector maps it.
pub fn column_schema(c: &ColumnMeta, optional: bool, config: &MySqlConfig) -> SchemaRef {
    let b = match &c.ty {
        ColumnType::TinyInt => SchemaBuilder::new(Type::Int16),
        ColumnType::SmallInt if c.unsigned => SchemaBuilder::new(Type::Int32),
        ColumnType::SmallInt => SchemaBuilder::new(Type::Int16),
        ColumnType::MediumInt => SchemaBuilder::new(Type::Int32),
        ColumnType::Int if c.unsigned => SchemaBuilder::new(Type::Int64),
        ColumnType::Int => SchemaBuilder::new(Type::Int32),
        ColumnType::BigInt
            if c.unsigned && config.bigint_unsigned_mode == BigIntUnsignedMode::Precise =>
        {
            SchemaBuilder::decimal(0).parameter("connect.decimal.precision", "20")
        }
        ColumnType::BigInt => SchemaBuilder::new(Type::Int64),
        ColumnType::Float => SchemaBuilder::new(Type::Float32),
        ColumnType::Double => SchemaBuilder::new(Type::Float64),
        ColumnType::Decimal { precision, scale } => match config.decimal_mode {
            DecimalMode::Precise => SchemaBuilder::decimal(i32::from(*scale))
                .parameter("connect.decimal.precision", precision.to_string()),
            DecimalMode::Double => SchemaBuilder::new(Type::Float64),
            DecimalMode::String => SchemaBuilder::new(Type::String),
        },
        ColumnType::Bit { bits: 1 } => SchemaBuilder::new(Type::Boolean),
        ColumnType::Bit { bits } => {
            named(Type::Bytes, "io.debezium.data.Bits").parameter("length", bits.to_string())
        }
        ColumnType::Year => named(Type::Int32, "io.debezium.time.Year"),
        ColumnType::Date => match config.time_mode {
            TimeMode::Connect => SchemaBuilder::date(),
            _ => named(Type::Int32, "io.debezium.time.Date"),
        },
        ColumnType::Time { fsp } => match config.time_mode {
            TimeMode::Connect => SchemaBuilder::time(),
            TimeMode::Adaptive if *fsp <= 3 => named(Type::Int32, "io.debezium.time.Time"),
            _ => named(Type::Int64, "io.debezium.time.MicroTime"),
        },
        ColumnType::DateTime { fsp } => match config.time_mode {
            TimeMode::Connect => SchemaBuilder::timestamp(),
            _ if *fsp <= 3 => named(Type::Int64, "io.debezium.time.Timestamp"),
            _ => named(Type::Int64, "io.debezium.time.MicroTimestamp"),
        },
        ColumnType::Timestamp { .. } => named(Type::String, "io.debezium.time.ZonedTimestamp"),
        ColumnType::Text { binary: false, .. } => SchemaBuilder::new(Type::String),
        ColumnType::Text { binary: true, .. } => match config.binary_mode {
            BinaryMode::Bytes => SchemaBuilder::new(Type::Bytes),
            _ => SchemaBuilder::new(Type::String),
        },
        ColumnType::Json => named(Type::String, "io.debezium.data.Json"),
        ColumnType::Enum { values } => {
            named(Type::String, "io.debezium.data.Enum").parameter("allowed", values.join(","))
        }
        ColumnType::Set { values } => {
            named(Type::String, "io.debezium.data.EnumSet").parameter("allowed", values.join(","))
        }
        ColumnType::Geometry => {
            // Debezium's Geometry.builder() is optional whatever the column says.
            return SchemaBuilder::struct_()
                .name("io.debezium.data.geometry.Geometry")
                .version(1)
                .doc("Geometry")
                .optional()
                .field("wkb", SchemaBuilder::new(Type::Bytes).build())
                .field("srid", SchemaBuilder::new(Type::Int32).optional().build())
                .build();
        }
    };
    if optional {
        b.optional().build()
    } else {
        b.build()
    }
}

/// Maps a MySQL collation id (TABLE_MAP charset metadata) to how its bytes decode.
/// Returns `None` for the binary collation (63).
pub fn charset_of_collation(id: u16) -> Option<Charset> {
    match id {
        63 => None,
        5 | 8 | 15 | 31 | 47 | 48 | 49 | 94 => Some(Charset::Latin1),
        _ => Some(Charset::Utf8),
    }
}
