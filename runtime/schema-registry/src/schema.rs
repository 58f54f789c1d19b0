//! A schema as a client sends it (`POST /subjects/{s}/versions`, `POST /subjects/{s}`,
//! `POST /compatibility/...`), validated and brought to the canonical text that decides
//! whether two registrations are "the same schema".
//!
//! Confluent compares schemas by their canonical string: for Avro, `Schema.toString()` of
//! the parsed schema, which is compact JSON; for JSON Schema, the compact JSON. We
//! re-serialize the parsed JSON compactly, keeping member order and number text
//! (`serde_json` with `preserve_order` and `arbitrary_precision`), so whitespace and
//! formatting differences do not make a new id, and a bare primitive written as
//! `{"type":"string"}` is the same schema as `"string"` (Avro's own `toString` writes
//! it that way). Protobuf text is kept as sent (trimmed); Confluent normalizes it by
//! re-printing the parsed file, which we do not.

use serde::Deserialize;
use serde_json::Value;

use crate::avro;
use crate::error::RegistryError;
use crate::model::{SchemaReference, SchemaType, StoredSchema};

/// The body of a register, lookup or compatibility request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaRequest {
    pub schema: String,
    #[serde(default)]
    pub schema_type: Option<String>,
    #[serde(default)]
    pub references: Option<Vec<SchemaReference>>,
}

impl SchemaRequest {
    /// Parses a request body: JSON with a string `schema`.
    pub fn from_body(body: &[u8]) -> Result<SchemaRequest, RegistryError> {
        serde_json::from_slice(body).map_err(|e| {
            RegistryError::UnprocessableBody(format!(
                "expected {{\"schema\": \"<schema text>\", \"schemaType\": ..., \"references\": [...]}}: {e}"
            ))
        })
    }

    /// Validates the schema and returns it in canonical form.
    pub fn to_stored(&self) -> Result<StoredSchema, RegistryError> {
        let schema_type = match self.schema_type.as_deref() {
            None | Some("") => SchemaType::Avro,
            Some(name) => SchemaType::parse(name)?,
        };
        let references = self.references.clone().unwrap_or_default();
        let schema = canonical_text(schema_type, &self.schema, &references)?;
        Ok(StoredSchema {
            schema_type,
            schema,
            references,
        })
    }
}

/// The canonical text of a schema, or 42201 naming what is wrong with it.
pub fn canonical_text(
    schema_type: SchemaType,
    text: &str,
    references: &[SchemaReference],
) -> Result<String, RegistryError> {
    match schema_type {
        SchemaType::Avro => {
            let json = parse_json(text, "Avro")?;
            // Names defined by referenced schemas are resolved by the client; a schema
            // with references is only checked for JSON shape here.
            if references.is_empty() {
                avro::AvroSchema::parse(&json)
                    .map_err(|e| RegistryError::InvalidSchema(e.to_string()))?;
            }
            Ok(compact_avro(json).to_string())
        }
        SchemaType::Json => Ok(parse_json(text, "JSON Schema")?.to_string()),
        SchemaType::Protobuf => {
            let trimmed = text.trim();
            if trimmed.is_empty() {
                return Err(RegistryError::InvalidSchema(
                    "the Protobuf schema text is empty".into(),
                ));
            }
            Ok(trimmed.to_string())
        }
    }
}

fn parse_json(text: &str, what: &str) -> Result<Value, RegistryError> {
    serde_json::from_str(text).map_err(|e| {
        RegistryError::InvalidSchema(format!("the {what} schema is not valid JSON ({e})"))
    })
}

/// `{"type": "<primitive>"}` with nothing else is written as `"<primitive>"`, as Avro's
/// `Schema.toString()` does; applied recursively through records, arrays, maps, unions.
fn compact_avro(json: Value) -> Value {
    match json {
        Value::Object(mut map) => {
            if map.len() == 1 {
                if let Some(Value::String(name)) = map.get("type") {
                    if avro::is_primitive(name) {
                        return Value::String(name.clone());
                    }
                }
            }
            for key in ["type", "items", "values"] {
                if let Some(inner) = map.get_mut(key) {
                    *inner = compact_avro(inner.take());
                }
            }
            if let Some(Value::Array(fields)) = map.get_mut("fields") {
                for field in fields.iter_mut() {
                    if let Some(inner) = field.get_mut("type") {
                        *inner = compact_avro(inner.take());
                    }
                }
            }
            Value::Object(map)
        }
        Value::Array(branches) => Value::Array(branches.into_iter().map(compact_avro).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> String {
        canonical_text(SchemaType::Avro, text, &[]).expect("valid")
    }

    #[test]
    fn formatting_does_not_change_the_canonical_text() {
        let a = canonical(
            r#"{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}"#,
        );
        let b = canonical(
            "{\n  \"type\":\"record\",\"name\":\"R\",\n \"fields\":[{\"name\":\"a\",\"type\":{\"type\":\"int\"}}]}",
        );
        assert_eq!(a, b);
        assert_eq!(
            a,
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#
        );
        assert_eq!(canonical(r#"{"type":"string"}"#), r#""string""#);
    }

    #[test]
    fn invalid_avro_is_refused_with_the_reason() {
        let err =
            canonical_text(SchemaType::Avro, "{\"type\":\"record\"}", &[]).expect_err("no name");
        assert_eq!(err.error_code(), 42201);
        let err = canonical_text(SchemaType::Avro, "not json", &[]).expect_err("not json");
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }
}
