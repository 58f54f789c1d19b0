//! Confluent's `format=serialized` for PROTOBUF schemas: the schema as a base64
//! `google.protobuf.FileDescriptorProto` instead of `.proto` text.
//!
//! Why it is needed: Confluent's non-Java clients do not parse `.proto` text. Python
//! confluent-kafka's `ProtobufDeserializer` (and the Go and .NET ones likewise) fetch the
//! writer schema with `GET /schemas/ids/{id}?format=serialized`, base64-decode the
//! `schema` field and parse it as a `FileDescriptorProto`; given the text, they fail with
//! "Wire format was corrupt". Confluent's registry answers that query with
//! `ProtobufSchema.formattedString("serialized")`: the compiled descriptor of the file,
//! base64 (standard alphabet, padded).
//!
//! How: the text is compiled with protox (a pure-Rust protoc) into a descriptor pool and
//! the root file's descriptor is encoded with prost-reflect, which keeps custom options
//! such as `(confluent.field_meta)` as protoc would. Imports resolve to the schema's
//! registered references (fetched from the store by subject and version, recursively),
//! then to the known files a Confluent serializer never registers (`skip.known.types`):
//! `confluent/meta.proto`, `confluent/type/decimal.proto`, `google/type/date.proto`,
//! `google/type/timeofday.proto` (below, with the field numbers of the published files)
//! and protox's copies of `google/protobuf/*.proto`. A schema that does not compile gets
//! 42201 (invalid schema) naming protox's error; Confluent would have refused it at
//! registration already, where this registry does not parse PROTOBUF text.
//!
//! The descriptor's `dependency` list is the file's imports as written, which is the
//! name the client's own pool knows each known file by (`_init_pool` in confluent-kafka).
//! The file itself is named `default` (clients overwrite the name anyway).

use std::collections::HashMap;

use base64::Engine as _;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

use crate::error::RegistryError;
use crate::model::{SchemaReference, SchemaType, StoredSchema};
use crate::store::{SchemaStore, VersionSpec};

/// The `format` query value that asks for the serialized descriptor.
pub const SERIALIZED: &str = "serialized";

/// The name the root file is compiled and encoded under.
const ROOT_FILE: &str = "default";

const CONFLUENT_META: &str = r#"syntax = "proto3";
package confluent;
import "google/protobuf/descriptor.proto";
option go_package = "github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/confluent";
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
option go_package = "github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/confluent/types";
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
option cc_enable_arenas = true;
option go_package = "google.golang.org/genproto/googleapis/type/date;date";
option java_multiple_files = true;
option java_outer_classname = "DateProto";
option java_package = "com.google.type";
option objc_class_prefix = "GTP";
message Date {
  int32 year = 1;
  int32 month = 2;
  int32 day = 3;
}
"#;

const GOOGLE_TIME_OF_DAY: &str = r#"syntax = "proto3";
package google.type;
option cc_enable_arenas = true;
option go_package = "google.golang.org/genproto/googleapis/type/timeofday;timeofday";
option java_multiple_files = true;
option java_outer_classname = "TimeOfDayProto";
option java_package = "com.google.type";
option objc_class_prefix = "GTP";
message TimeOfDay {
  int32 hours = 1;
  int32 minutes = 2;
  int32 seconds = 3;
  int32 nanos = 4;
}
"#;

fn known_file(name: &str) -> Option<&'static str> {
    Some(match name {
        "confluent/meta.proto" => CONFLUENT_META,
        "confluent/type/decimal.proto" => CONFLUENT_DECIMAL,
        "google/type/date.proto" => GOOGLE_DATE,
        "google/type/timeofday.proto" => GOOGLE_TIME_OF_DAY,
        _ => return None,
    })
}

struct MemoryResolver {
    files: HashMap<String, String>,
}

impl FileResolver for MemoryResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self
            .files
            .get(name)
            .map(String::as_str)
            .or(known_file(name))
        {
            Some(text) => File::from_source(name, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Adds the texts of `references` (and of theirs) to `files`, by import name.
fn collect_references(
    store: &SchemaStore,
    references: &[SchemaReference],
    files: &mut HashMap<String, String>,
) -> Result<(), RegistryError> {
    for reference in references {
        if files.contains_key(&reference.name) {
            continue;
        }
        let found = store.version(
            &reference.subject,
            VersionSpec::Number(reference.version),
            true,
        )?;
        files.insert(reference.name.clone(), found.schema.schema.clone());
        collect_references(store, &found.schema.references, files)?;
    }
    Ok(())
}

/// The schema text as it is served for `format` (`None`: as stored). Only PROTOBUF
/// schemas have another form (`serialized`); other formats and types are served as
/// stored, as they carry no `format` of their own here.
pub fn formatted(
    store: &SchemaStore,
    schema: &StoredSchema,
    format: Option<&str>,
) -> Result<String, RegistryError> {
    match format {
        Some(f) if f == SERIALIZED && schema.schema_type == SchemaType::Protobuf => {
            serialized(store, schema)
        }
        _ => Ok(schema.schema.clone()),
    }
}

/// The base64 `FileDescriptorProto` of a PROTOBUF schema.
pub fn serialized(store: &SchemaStore, schema: &StoredSchema) -> Result<String, RegistryError> {
    let mut files = HashMap::new();
    collect_references(store, &schema.references, &mut files)?;
    files.insert(ROOT_FILE.to_owned(), schema.schema.clone());
    let mut resolver = ChainFileResolver::new();
    resolver.add(MemoryResolver { files });
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    compiler.open_file(ROOT_FILE).map_err(|e| {
        RegistryError::InvalidSchema(format!("the Protobuf schema does not compile: {e}"))
    })?;
    let file = compiler
        .descriptor_pool()
        .get_file_by_name(ROOT_FILE)
        .ok_or_else(|| {
            RegistryError::Store("the compiled Protobuf schema has no root file".into())
        })?;
    Ok(base64::engine::general_purpose::STANDARD.encode(file.encode_to_vec()))
}

#[cfg(test)]
mod tests {
    use prost_reflect::prost::Message as _;
    use prost_reflect::prost_types::FileDescriptorProto;

    use super::*;

    fn decode(text: &str) -> FileDescriptorProto {
        let schema = StoredSchema {
            schema_type: SchemaType::Protobuf,
            schema: text.to_owned(),
            references: Vec::new(),
        };
        let encoded = serialized(&SchemaStore::in_memory(), &schema).expect("serialized");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64");
        FileDescriptorProto::decode(bytes.as_slice()).expect("descriptor")
    }

    #[test]
    fn serialized_is_the_compiled_descriptor_with_known_imports_as_dependencies() {
        let fd = decode(
            r#"syntax = "proto3";
package a.b;

import "confluent/type/decimal.proto";
import "confluent/meta.proto";
import "google/protobuf/timestamp.proto";

message Row {
  confluent.type.Decimal price = 1 [(confluent.field_meta) = {
    params: [
      {
        key: "scale",
        value: "2"
      }
    ]
  }];
  google.protobuf.Timestamp at = 2;
  optional int32 n = 3;
}
"#,
        );
        assert_eq!(fd.name(), "default");
        assert_eq!(fd.package(), "a.b");
        assert_eq!(
            fd.dependency,
            [
                "confluent/type/decimal.proto",
                "confluent/meta.proto",
                "google/protobuf/timestamp.proto"
            ]
        );
        let row = &fd.message_type[0];
        assert_eq!(row.name(), "Row");
        let types: Vec<_> = row
            .field
            .iter()
            .map(|f| (f.name(), f.number(), f.type_name()))
            .collect();
        assert_eq!(
            types,
            [
                ("price", 1, ".confluent.type.Decimal"),
                ("at", 2, ".google.protobuf.Timestamp"),
                ("n", 3, ""),
            ]
        );
        assert!(row.field[2].proto3_optional());
    }

    #[test]
    fn a_schema_that_does_not_compile_is_an_invalid_schema() {
        let schema = StoredSchema {
            schema_type: SchemaType::Protobuf,
            schema: "syntax = \"proto3\";\nmessage A { Missing m = 1; }\n".to_owned(),
            references: Vec::new(),
        };
        let err = serialized(&SchemaStore::in_memory(), &schema).expect_err("does not compile");
        assert_eq!(err.error_code(), 42201, "{err}");
        assert!(err.to_string().contains("Missing"), "{err}");
    }
}
