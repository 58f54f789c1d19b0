//! Confluent's `ProtobufConverter` reading arbitrary bytes (`to_connect`): the message
//! indexes and the body come from the input, the writer schemas are known without a
//! registry (put in the registry client's cache by id with
//! `RegistryClient::insert_schema`), so no input makes a network call. Whatever decodes
//! is then written back with the encoder (`generate` + `encode_record`), which needs no
//! registry either.
//!
//! The first byte picks the converter settings (bits 0-3: `int.for.enums`,
//! `optional.for.nullables`, `wrapper.for.nullables`, `enhanced.protobuf.schema.support`)
//! and the writer schema (bits 4-5): the row of the converter's exact-bytes test, a row
//! with every Connect type and the Debezium envelope as the converter generates them, or
//! a hand-written file with oneofs, enums, maps, wrappers
//! and the well-known types. The rest follows `0x00` and the schema id: message indexes
//! (varints), then the body.
#![no_main]

#[path = "../common/schemas.rs"]
mod schemas;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sluice_converters::protobuf::{encode_record, generate, ProtobufConverter, Settings};
use sluice_converters::registry::{RegistrySchema, SchemaType};
use sluice_core::plugin::Converter;

const HAND_WRITTEN: &str = r#"syntax = "proto3";
package fuzz.shop;

import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
import "google/type/date.proto";
import "google/type/timeofday.proto";
import "confluent/type/decimal.proto";

message Order {
  int64 id = 1;
  string customer = 2;
  repeated Line lines = 3;
  map<string, int32> counters = 4;
  map<int64, Line> by_sku = 5;
  Status status = 6;
  oneof payment {
    string card = 7;
    bytes token = 8;
    Transfer transfer = 9;
  }
  google.protobuf.Timestamp created = 10;
  google.type.Date due = 11;
  google.type.TimeOfDay cutoff = 12;
  confluent.type.Decimal total = 13;
  google.protobuf.StringValue note = 14;
  google.protobuf.Int64Value points = 15;
  google.protobuf.BoolValue gift = 16;
  optional double discount = 17;
  sint32 delta = 18;
  fixed64 checksum = 19;
  sfixed32 offset = 20;
  uint64 big = 21;
  float ratio = 22;
  repeated Status history = 23;

  enum Status {
    NEW = 0;
    PAID = 1;
    SHIPPED = 2;
  }
  message Line {
    string sku = 1;
    uint32 qty = 2;
    repeated string tags = 3;
  }
  message Transfer {
    string iban = 1;
    Order.Line first = 2;
  }
}

message Other {
  repeated int32 nums = 1;
  map<bool, string> flags = 2;
}
"#;

const FIXED_IDS: [i32; 4] = [1, 2, 3, 4];

/// One converter per combination of the read settings, with its generate settings.
fn converters() -> &'static [(ProtobufConverter, Settings)] {
    static CONVERTERS: OnceLock<Vec<(ProtobufConverter, Settings)>> = OnceLock::new();
    CONVERTERS.get_or_init(|| {
        (0u8..16)
            .map(|bits| {
                let flag = |bit: u8| (bits & (1 << bit) != 0).to_string();
                let config: BTreeMap<String, String> = [
                    ("schema.registry.url", "http://127.0.0.1:9".to_owned()),
                    ("int.for.enums", flag(0)),
                    ("optional.for.nullables", flag(1)),
                    ("wrapper.for.nullables", flag(2)),
                    ("enhanced.protobuf.schema.support", flag(3)),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
                let c = ProtobufConverter::new(&config)
                    .expect("the fuzz target's fixed configs are valid");
                let settings = Settings {
                    optional_for_nullables: bits & 2 != 0,
                    wrapper_for_nullables: bits & 4 != 0,
                    scrub_invalid_names: false,
                };
                let texts = [
                    generate(&schemas::protobuf_test_row(), settings)
                        .expect("the test row schema has a Protobuf form")
                        .text(),
                    generate(&schemas::row(), settings)
                        .expect("the row schema has a Protobuf form")
                        .text(),
                    generate(&schemas::envelope(), settings)
                        .expect("the envelope schema has a Protobuf form")
                        .text(),
                    HAND_WRITTEN.to_owned(),
                ];
                for (id, schema) in FIXED_IDS.into_iter().zip(texts) {
                    c.registry().insert_schema(
                        id,
                        RegistrySchema {
                            schema_type: SchemaType::Protobuf,
                            schema,
                            references: Vec::new(),
                        },
                    );
                }
                (c, settings)
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (c, settings) = &converters()[usize::from(selector & 15)];
    let id = FIXED_IDS[usize::from(selector >> 4) & 3];
    let mut message = Vec::with_capacity(5 + rest.len());
    message.push(0);
    message.extend_from_slice(&id.to_be_bytes());
    message.extend_from_slice(rest);
    let Ok(read) = c.to_connect("fuzz", Some(&message)) else {
        return;
    };
    if let Some(schema) = &read.schema {
        if let Ok(generated) = generate(schema, *settings) {
            let _ = encode_record(&generated, id, &read.value, &mut Vec::new());
        }
    }
});
