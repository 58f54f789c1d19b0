//! `.proto` text from the registry → prost-reflect descriptors, and message lookup by
//! Confluent's message indexes.
//!
//! The writer schema is compiled with `protox` (a pure-Rust protobuf compiler). Imports
//! resolve, in order, to: the schema's registry references (fetched by the caller), the
//! files Confluent's serializer treats as known types and never registers
//! (`confluent/meta.proto`, `confluent/type/decimal.proto`, `google/type/date.proto`,
//! `google/type/timeofday.proto`, written out below with the field numbers of Confluent's and
//! Google's published files), and protox's copies of `google/protobuf/*.proto`.

use std::collections::HashMap;

use prost_reflect::{DescriptorPool, MessageDescriptor};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

use super::ProtobufError;

/// The file name the registered schema text is compiled under.
pub const ROOT_FILE: &str = "__sluice_root__.proto";

const CONFLUENT_META: &str = r#"syntax = "proto3";
package confluent;
import "google/protobuf/descriptor.proto";
option java_package = "io.confluent.protobuf";
option java_outer_classname = "MetaProto";
message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
}
extend google.protobuf.FileOptions { Meta file_meta = 1088; }
extend google.protobuf.MessageOptions { Meta message_meta = 1088; }
extend google.protobuf.FieldOptions { Meta field_meta = 1088; }
extend google.protobuf.EnumOptions { Meta enum_meta = 1088; }
extend google.protobuf.EnumValueOptions { Meta enum_value_meta = 1088; }
"#;

const CONFLUENT_DECIMAL: &str = r#"syntax = "proto3";
package confluent.type;
option java_package = "io.confluent.protobuf.type";
option java_outer_classname = "DecimalProto";
message Decimal {
  bytes value = 1;
  uint32 precision = 2;
  int32 scale = 3;
}
"#;

const GOOGLE_DATE: &str = r#"syntax = "proto3";
package google.type;
message Date {
  int32 year = 1;
  int32 month = 2;
  int32 day = 3;
}
"#;

const GOOGLE_TIME_OF_DAY: &str = r#"syntax = "proto3";
package google.type;
message TimeOfDay {
  int32 hours = 1;
  int32 minutes = 2;
  int32 seconds = 3;
  int32 nanos = 4;
}
"#;

/// The known-type files we carry, by import path.
pub fn known_file(name: &str) -> Option<&'static str> {
    Some(match name {
        "confluent/meta.proto" => CONFLUENT_META,
        "confluent/type/decimal.proto" => CONFLUENT_DECIMAL,
        "google/type/date.proto" => GOOGLE_DATE,
        "google/type/timeofday.proto" => GOOGLE_TIME_OF_DAY,
        _ => return None,
    })
}

/// True for imports Confluent's serializer does not register as references
/// (`skip.known.types=true`, its default): ours above and `google/protobuf/*`.
pub fn is_known_import(name: &str) -> bool {
    known_file(name).is_some() || name.starts_with("google/protobuf/")
}

struct MemoryResolver {
    files: HashMap<String, String>,
}

impl FileResolver for MemoryResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if let Some(text) = self.files.get(name) {
            return File::from_source(name, text);
        }
        match known_file(name) {
            Some(text) => File::from_source(name, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Compiles `text` with its referenced files (`import path → text`).
pub fn compile(
    text: &str,
    references: HashMap<String, String>,
) -> Result<DescriptorPool, ProtobufError> {
    let mut files = references;
    files.insert(ROOT_FILE.to_owned(), text.to_owned());
    let mut resolver = ChainFileResolver::new();
    resolver.add(MemoryResolver { files });
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    compiler
        .open_file(ROOT_FILE)
        .map_err(|e| ProtobufError::Schema(format!("the writer schema does not compile: {e}")))?;
    Ok(compiler.descriptor_pool())
}

/// The message at Confluent's message-index path in the root file.
pub fn message_at(
    pool: &DescriptorPool,
    indexes: &[i32],
) -> Result<MessageDescriptor, ProtobufError> {
    let file = pool
        .get_file_by_name(ROOT_FILE)
        .ok_or_else(|| ProtobufError::Schema("the compiled schema has no root file".into()))?;
    let missing = || {
        ProtobufError::Wire(format!(
            "message indexes {indexes:?} name no message type of the writer schema"
        ))
    };
    let mut iter = indexes.iter().map(|&i| usize::try_from(i).ok());
    let first = iter.next().flatten().ok_or_else(missing)?;
    let mut message = file.messages().nth(first).ok_or_else(missing)?;
    for i in iter {
        let i = i.ok_or_else(missing)?;
        let child = message.child_messages().nth(i);
        message = child.ok_or_else(missing)?;
    }
    Ok(message)
}

/// Confluent's message indexes of the message named `full_name` in the root file.
pub fn indexes_of(pool: &DescriptorPool, full_name: &str) -> Option<Vec<i32>> {
    fn find(m: &MessageDescriptor, name: &str, path: &mut Vec<i32>) -> bool {
        if m.full_name() == name {
            return true;
        }
        for (i, child) in m.child_messages().enumerate() {
            path.push(i as i32);
            if find(&child, name, path) {
                return true;
            }
            path.pop();
        }
        false
    }
    let file = pool.get_file_by_name(ROOT_FILE)?;
    for (i, m) in file.messages().enumerate() {
        let mut path = vec![i as i32];
        if find(&m, full_name, &mut path) {
            return Some(path);
        }
    }
    None
}
