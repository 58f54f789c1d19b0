//! Connect schemas the Avro and Protobuf targets decode against: a row with every
//! primitive and logical type, and a Debezium envelope with nested structs, arrays and maps.
// Each target uses some of these.
#![allow(dead_code)]

use sluice_core::schema::{SchemaBuilder, SchemaRef, Type};
use sluice_core::value::Value;

fn prim(ty: Type) -> SchemaRef {
    SchemaBuilder::new(ty).build()
}

fn opt(ty: Type) -> SchemaRef {
    SchemaBuilder::new(ty).optional().build()
}

/// The row of the Avro converter's tests, whose Avro bytes they spell out (`ROW_BODY`):
/// the first seed of the Avro target decodes against it.
pub fn avro_test_row() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("test.Row")
        .field("id", prim(Type::Int32))
        .field("big", prim(Type::Int64))
        .field("name", prim(Type::String))
        .field("missing", opt(Type::String))
        .field("count", opt(Type::Int64))
        .field("flag", prim(Type::Boolean))
        .field("price", SchemaBuilder::decimal(2).build())
        .field("ratio", prim(Type::Float64))
        .field("small", prim(Type::Int8))
        .field("ts", SchemaBuilder::timestamp().build())
        .build()
}

/// The row of the Protobuf converter's exact-bytes test.
pub fn protobuf_test_row() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("t.Row")
        .field("id", prim(Type::Int32))
        .field("name", opt(Type::String))
        .field("neg", prim(Type::Int8))
        .field("zero", prim(Type::Int64))
        .field("nums", SchemaBuilder::array(prim(Type::Int32)).build())
        .build()
}

/// A table row: every primitive, Decimal, Date, Time, Timestamp, optional fields, a
/// default, an enum-like string and bytes.
pub fn row() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("fuzz.inventory.items.Value")
        .field("id", prim(Type::Int32))
        .field("big", prim(Type::Int64))
        .field("small", prim(Type::Int8))
        .field("short", opt(Type::Int16))
        .field("name", prim(Type::String))
        .field("missing", opt(Type::String))
        .field("flag", prim(Type::Boolean))
        .field("ratio", prim(Type::Float64))
        .field("weight", opt(Type::Float32))
        .field("blob", opt(Type::Bytes))
        .field("price", SchemaBuilder::decimal(2).build())
        .field("day", SchemaBuilder::date().optional().build())
        .field("at", SchemaBuilder::time().build())
        .field("ts", SchemaBuilder::timestamp().build())
        .field(
            "state",
            SchemaBuilder::new(Type::String)
                .name("io.debezium.data.Enum")
                .parameter("allowed", "a,b,c")
                .default_value(Value::String("a".into()))
                .build(),
        )
        .build()
}

/// A Debezium change event: before / after rows, a source block, arrays and maps
/// (string-keyed and int-keyed), a nested optional struct.
pub fn envelope() -> SchemaRef {
    let row = row();
    let opt_row = {
        let mut b = SchemaBuilder::struct_()
            .name("fuzz.inventory.items.Value")
            .optional();
        for f in &row.fields {
            b = b.field(f.name.clone(), f.schema.clone());
        }
        b.build()
    };
    let source = SchemaBuilder::struct_()
        .name("io.debezium.connector.mysql.Source")
        .field("version", prim(Type::String))
        .field("ts_ms", prim(Type::Int64))
        .field("db", prim(Type::String))
        .field("table", opt(Type::String))
        .field("row", prim(Type::Int32))
        .build();
    SchemaBuilder::struct_()
        .name("fuzz.inventory.items.Envelope")
        .field("before", opt_row.clone())
        .field("after", opt_row)
        .field("source", source)
        .field("op", prim(Type::String))
        .field("ts_ms", opt(Type::Int64))
        .field(
            "tags",
            SchemaBuilder::array(prim(Type::String)).optional().build(),
        )
        .field(
            "counts",
            SchemaBuilder::map(prim(Type::String), prim(Type::Int64)).build(),
        )
        .field(
            "by_id",
            SchemaBuilder::map(prim(Type::Int32), opt(Type::String)).build(),
        )
        .field(
            "prices",
            SchemaBuilder::array(SchemaBuilder::decimal(4).build()).build(),
        )
        .build()
}
