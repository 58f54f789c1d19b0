//! Confluent's `AvroConverter` reading arbitrary bytes (`to_connect`) against writer
//! schemas it knows without a registry: the schemas are put in the registry client's
//! cache by id (`RegistryClient::insert_schema`), so no input makes a network call.
//!
//! The first byte picks what is decoded: `byte % 5` of
//! - 0: the row of the converter's tests, 1: a row with every Connect type (both as the
//!   converter itself registers them, with `connect.*` metadata),
//! - 2: the Debezium envelope schema,
//! - 3: a hand-written schema with what Connect schemas never produce (enum, fixed,
//!   three-branch unions, arrays of records, `bytes` decimals, `uuid`, `timestamp-micros`),
//! - 4: the rest is a writer schema text up to the first NUL byte, then the body: the
//!   schema parser and the Avro → Connect schema mapping are fuzzed too.
//!
//! For 0-3 the message is framed as the Schema Registry wire format (`0x00`, the id) in
//! front of the rest, so every input reaches the body decoder.
#![no_main]

#[path = "../common/schemas.rs"]
mod schemas;

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sluice_converters::registry::RegistrySchema;
use sluice_converters::AvroConverter;
use sluice_core::plugin::Converter;

const HAND_WRITTEN: &str = r#"{
  "type": "record", "name": "Everything", "namespace": "fuzz",
  "fields": [
    {"name": "n", "type": "null"},
    {"name": "b", "type": "boolean"},
    {"name": "i", "type": "int"},
    {"name": "l", "type": "long"},
    {"name": "f", "type": "float"},
    {"name": "d", "type": "double"},
    {"name": "bytes", "type": "bytes"},
    {"name": "s", "type": "string"},
    {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN", "BLUE"]}},
    {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 4}},
    {"name": "u", "type": ["null", "int", "string"]},
    {"name": "items", "type": {"type": "array", "items": {"type": "record", "name": "Item",
      "fields": [{"name": "k", "type": "string"}, {"name": "v", "type": ["null", "long"], "default": null}]}}},
    {"name": "attrs", "type": {"type": "map", "values": "Item"}},
    {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 3}},
    {"name": "amount_fixed", "type": {"type": "fixed", "name": "Amount", "size": 8, "logicalType": "decimal", "precision": 18, "scale": 2}},
    {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "at", "type": {"type": "int", "logicalType": "time-millis"}},
    {"name": "at_us", "type": {"type": "long", "logicalType": "time-micros"}},
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "ts_us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "ref", "type": ["null", "Hash"], "default": null}
  ]
}"#;

/// Ids of the fixed schemas; fuzzed schemas get ids counting up from `FIRST_FUZZED_ID`.
const FIXED_IDS: [i32; 4] = [1, 2, 3, 4];
const FIRST_FUZZED_ID: i32 = 1_000;

fn converter() -> &'static AvroConverter {
    static CONVERTER: OnceLock<AvroConverter> = OnceLock::new();
    CONVERTER.get_or_init(|| {
        // Nothing listens there, and no request is made: every id read is cached first.
        let c = AvroConverter::for_registry("http://127.0.0.1:9")
            .expect("the fuzz target's fixed config is valid");
        let texts = [
            c.avro_schema_json(&schemas::avro_test_row())
                .expect("the test row schema has an Avro form"),
            c.avro_schema_json(&schemas::row())
                .expect("the row schema has an Avro form"),
            c.avro_schema_json(&schemas::envelope())
                .expect("the envelope schema has an Avro form"),
            HAND_WRITTEN.to_owned(),
        ];
        for (id, text) in FIXED_IDS.into_iter().zip(texts) {
            c.registry().insert_schema(id, RegistrySchema::avro(text));
        }
        c
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let c = converter();
    let (id, body) = match usize::from(selector % 5) {
        4 => {
            let Some(nul) = rest.iter().position(|&b| b == 0) else {
                return;
            };
            let Ok(text) = std::str::from_utf8(&rest[..nul]) else {
                return;
            };
            // A new id per input: the converter caches read plans by id.
            static NEXT: AtomicI32 = AtomicI32::new(FIRST_FUZZED_ID);
            let id = NEXT.fetch_add(1, Ordering::Relaxed);
            c.registry().insert_schema(id, RegistrySchema::avro(text));
            (id, &rest[nul + 1..])
        }
        i => (FIXED_IDS[i], rest),
    };
    let mut message = Vec::with_capacity(5 + body.len());
    message.push(0);
    message.extend_from_slice(&id.to_be_bytes());
    message.extend_from_slice(body);
    let _ = c.to_connect("fuzz", Some(&message));
});
