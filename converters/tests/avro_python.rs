//! A consumer nobody here wrote reads our bytes: Python confluent-kafka's
//! `AvroDeserializer`, with its `SchemaRegistryClient` pointed at the test registry,
//! decodes what `AvroConverter` wrote. Needs `python3` with confluent-kafka and fastavro
//! on PATH (`eval "$(bash scripts/test-env.sh)"`); without them the test fails, it never
//! skips.

use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use sluice_converters::AvroConverter;
use sluice_core::plugin::Converter;
use sluice_core::schema::{Schema, SchemaBuilder, Type};
use sluice_core::value::{Decimal, Struct, Value};
use sluice_core::SchemaAndValue;
use sluice_schema_registry::TestRegistry;

const DECODE: &str = r#"
import json, sys
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import SerializationContext, MessageField
url, topic = sys.argv[1], sys.argv[2]
data = sys.stdin.buffer.read()
deserializer = AvroDeserializer(SchemaRegistryClient({"url": url}))
value = deserializer(data, SerializationContext(topic, MessageField.VALUE))
def text(v):
    if isinstance(v, bytes):
        return v.hex()
    return str(v)
print(json.dumps(value, default=text, sort_keys=True))
"#;

#[test]
fn python_confluent_avro_deserializer_reads_our_bytes() -> Result<()> {
    let registry = TestRegistry::start();
    let converter = AvroConverter::for_registry(&registry.url())?;
    let req = |t| Schema::primitive(t, false);
    let opt = |t| Schema::primitive(t, true);
    let row = SchemaBuilder::struct_()
        .name("inventory.Row")
        .field("id", req(Type::Int32))
        .field("big", req(Type::Int64))
        .field("tiny", req(Type::Int8))
        .field("small", req(Type::Int16))
        .field("name", req(Type::String))
        .field("missing", opt(Type::String))
        .field("count", opt(Type::Int64))
        .field("flag", req(Type::Boolean))
        .field("price", SchemaBuilder::decimal(2).build())
        .field("ratio", req(Type::Float64))
        .field("blob", req(Type::Bytes))
        .field("day", SchemaBuilder::date().build())
        .field("at", SchemaBuilder::time().build())
        .field("ts", SchemaBuilder::timestamp().build())
        .field("tags", SchemaBuilder::array(req(Type::String)).build())
        .field(
            "attrs",
            SchemaBuilder::map(req(Type::String), req(Type::Int32)).build(),
        )
        .field(
            "status",
            SchemaBuilder::new(Type::String)
                .name("io.debezium.data.Enum")
                .version(1)
                .parameter("allowed", "new,paid")
                .build(),
        )
        .build();
    let value = Struct::new(row.clone())
        .with("id", 1i32)
        .with("big", -9_007_199_254_740_993i64)
        .with("tiny", -2i8)
        .with("small", 300i16)
        .with("name", "Zoë")
        .with("count", 300i64)
        .with("flag", true)
        .with("price", Decimal::parse("-12.34").context("decimal")?)
        .with("ratio", 1.5f64)
        .with("blob", vec![0u8, 255, 16])
        .with("day", 19_675i32)
        .with("at", 3_723_004i32)
        .with("ts", 1_700_000_000_000i64)
        .with("tags", Value::Array(vec!["a".into(), "b".into()]))
        .with("attrs", Value::Map(vec![("k".into(), Value::Int32(5))]))
        .with("status", "paid");
    let bytes = converter
        .from_connect(
            "inventory.rows",
            &SchemaAndValue {
                schema: Some(row),
                value: Value::Struct(value),
            },
        )?
        .context("a value")?;

    let mut child = Command::new("python3")
        .args(["-c", DECODE, &registry.url(), "inventory.rows"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running python3 (eval \"$(bash scripts/test-env.sh)\" puts it on PATH)")?;
    child.stdin.take().context("stdin")?.write_all(&bytes)?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "python AvroDeserializer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let decoded: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let expected = serde_json::json!({
        "id": 1, "big": -9_007_199_254_740_993i64, "tiny": -2, "small": 300, "name": "Zoë",
        "missing": null, "count": 300, "flag": true, "price": "-12.34", "ratio": 1.5,
        "blob": "00ff10", "day": "2023-11-14", "at": "01:02:03.004000",
        "ts": "2023-11-14 22:13:20+00:00", "tags": ["a", "b"], "attrs": {"k": 5},
        "status": "paid"
    });
    assert_eq!(decoded, expected);
    Ok(())
}
