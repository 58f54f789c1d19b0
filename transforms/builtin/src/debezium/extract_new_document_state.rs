//! `io.debezium.connector.mongodb.transforms.ExtractNewDocumentState`: flattens a
//! Debezium MongoDB change event, whose `after` (and `before`) are Extended JSON
//! strings, into a struct built from the document.
//!
//! Follows Debezium's SMT: records whose key schema is not a `….Key` or whose value
//! schema is not an `….Envelope` pass unchanged; the key `{id: "<json>"}` becomes a
//! struct whose `id` has the document id's type; the value struct is named after the
//! envelope without `.Envelope`, with schemas derived per document (see
//! [`super::mongo`]); an update without a full document (`updateDescription` only)
//! yields `_id` plus the updated fields, minus the removed ones; deletes and
//! tombstones follow `delete.tombstone.handling.mode`, a kept delete or tombstone
//! having a converted key and a null value; the rewrite modes add a boolean
//! `__deleted`; `add.fields` / `add.headers` work as in `ExtractNewRecordState`;
//! `flatten.struct` flattens nested structs with `flatten.struct.delimiter`.
//! `route.by.field` is accepted but, as in Debezium, not used by this transform.
//! A derived schema equal to the previous one is reused (same `Arc`), so downstream
//! per-schema caches keep hitting.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::{PluginInfo, PluginType, Transform, TransformPlugin};
use sluice_core::{ConnectError, Record, SchemaAndValue, SchemaBuilder, SchemaRef, Type, Value};

use super::envelope::{is_envelope, shared_config, LegacyDeletes, Mode, Shared};
use super::mongo::{parse_document, parse_value, Bson, Doc};
use super::mongo_convert::{adjuster, Converter};
use crate::kafka::flatten::Flatten;
use crate::util::{map_get, new_struct, parse_config, require_struct_ref, Result, Side};

const CLASS: &str = "io.debezium.connector.mongodb.transforms.ExtractNewDocumentState";

/// The shared flattening keys plus `array.encoding`, `flatten.struct`,
/// `flatten.struct.delimiter`, `field.name.adjustment.mode`.
pub fn config_def() -> ConfigDef {
    shared_config()
        .define(
            ConfigKey::new("array.encoding", ConfigType::String)
                .default("array")
                .importance(Importance::Medium)
                .validator(Validator::OneOf(&["array", "document"]))
                .doc("The arrays can be encoded using 'array' schema type (the default) or as a 'document' (similar to how BSON encodes arrays). 'array' is easier to consume but requires all elements in the array to be of the same type. Use 'document' if the arrays in data source mix different types together."),
        )
        .define(
            ConfigKey::new("flatten.struct", ConfigType::Boolean)
                .default("false")
                .importance(Importance::Low)
                .doc("Flattening structs by concatenating the fields into plain properties, using a (configurable) delimiter."),
        )
        .define(
            ConfigKey::new("flatten.struct.delimiter", ConfigType::String)
                .default("_")
                .importance(Importance::Low)
                .doc("Delimiter to concat between field names from the input record when generating field names for theoutput record."),
        )
        .define(
            ConfigKey::new("field.name.adjustment.mode", ConfigType::String)
                .default("none")
                .importance(Importance::Low)
                .validator(Validator::OneOf(&["none", "avro", "avro_unicode"]))
                .doc("Specify how field names should be adjusted for compatibility with the message converter used by the connector, including: 'avro' replaces the characters that cannot be used in the Avro type name with underscore, 'avro_unicode' replaces the underscore or characters that cannot be used in the Avro type name with corresponding unicode like _uxxxx, 'none' does not apply any adjustment (default)"),
        )
}

/// `io.debezium.connector.mongodb.transforms.ExtractNewDocumentState`.
pub const PLUGIN: TransformPlugin = TransformPlugin {
    info: PluginInfo {
        class: CLASS,
        aliases: &["ExtractNewDocumentState"],
        kind: PluginType::Transformation,
        config: config_def,
    },
    build,
};

fn build(config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let cfg = parse_config(CLASS, &config_def(), config)?;
    let shared = Shared::from_config(config, &cfg)?;
    let flatten = cfg.bool("flatten.struct").then(|| {
        Flatten::new(
            Side::Value,
            cfg.string_or_default("flatten.struct.delimiter"),
        )
    });
    Ok(Box::new(ExtractNewDocumentState {
        shared,
        converter: Converter {
            array_as_document: cfg
                .string_or_default("array.encoding")
                .eq_ignore_ascii_case("document"),
            adjust: adjuster(
                &cfg.string_or_default("field.name.adjustment.mode")
                    .to_ascii_lowercase(),
            ),
        },
        delimiter: cfg.string_or_default("flatten.struct.delimiter").to_owned(),
        flatten,
        last_key: None,
        last_value: None,
    }))
}

struct ExtractNewDocumentState {
    shared: Shared,
    converter: Converter,
    delimiter: String,
    flatten: Option<Flatten>,
    last_key: Option<SchemaRef>,
    last_value: Option<SchemaRef>,
}

/// The same `Arc` as last time when the schema did not change.
fn reuse(last: &mut Option<SchemaRef>, built: SchemaRef) -> SchemaRef {
    match last {
        Some(prev) if **prev == *built => prev.clone(),
        _ => {
            *last = Some(built.clone());
            built
        }
    }
}

fn string_field(s: &sluice_core::Struct, name: &str) -> Option<String> {
    s.get(name).and_then(Value::as_str).map(str::to_owned)
}

impl ExtractNewDocumentState {
    fn key(&mut self, id_json: &str) -> Result<SchemaAndValue> {
        let id = parse_value(id_json)?;
        let mut schema = SchemaBuilder::struct_().into_schema();
        self.converter.add_field_schema("id", &id, &mut schema)?;
        let schema = reuse(&mut self.last_key, schema.into());
        let s = self.converter.struct_of(vec![("id".into(), id)], &schema)?;
        Ok(SchemaAndValue::new(schema, s))
    }

    fn value(
        &mut self,
        name: Option<String>,
        doc: Doc,
        envelope: Option<(&SchemaRef, &sluice_core::Struct)>,
    ) -> Result<SchemaAndValue> {
        if doc.is_empty() {
            return Ok(SchemaAndValue::NULL);
        }
        let mut schema = SchemaBuilder::struct_().into_schema();
        schema.name = name;
        for (k, v) in &doc {
            self.converter.add_field_schema(k, v, &mut schema)?;
        }
        let mut extra = Vec::new();
        if let Some((env_schema, env)) = envelope {
            for r in &self.shared.add_fields {
                if let Some(s) = r.schema(env_schema) {
                    crate::util::push_field(&mut schema, r.new_name.clone(), s);
                    extra.push(r.value(env));
                }
            }
        }
        let schema = reuse(&mut self.last_value, schema.into());
        let mut s = self.converter.struct_of(doc, &schema)?;
        let base = schema.fields.len() - extra.len();
        for (i, v) in extra.into_iter().enumerate() {
            s.values_mut()[base + i] = v;
        }
        Ok(SchemaAndValue::new(
            schema.clone(),
            new_struct(schema, crate::util::take_values(s))?,
        ))
    }

    fn partial_update(&self, update: &sluice_core::Struct, id: &Bson) -> Result<Doc> {
        let mut doc: Doc = Vec::new();
        if let Some(updated) = string_field(update, "updatedFields") {
            for (k, v) in parse_document(&updated)? {
                doc.retain(|(dk, _)| *dk != k);
                doc.push((k, v));
            }
        }
        if let Some(Value::Array(removed)) = update.get("removedFields") {
            for r in removed.iter().filter_map(Value::as_str) {
                doc.retain(|(k, _)| k != r);
            }
        }
        if !doc.iter().any(|(k, _)| k == "_id") {
            doc.push(("_id".into(), id.clone()));
        }
        if self.flatten.is_some() {
            for (k, _) in doc.iter_mut() {
                *k = k.replace('.', &self.delimiter);
            }
        }
        Ok(doc)
    }
}

impl Transform for ExtractNewDocumentState {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let valid_key = record
            .key
            .schema
            .as_ref()
            .and_then(|s| s.name())
            .is_some_and(|n| n.ends_with(".Key"));
        if !valid_key {
            return Ok(Some(record));
        }
        let id_json = match &record.key.value {
            Value::Struct(k) => string_field(k, "id"),
            Value::Map(m) => map_get(m, "id").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        }
        .ok_or_else(|| ConnectError::Data("Unknown field: id".into()))?;
        let key_doc_id = parse_value(&id_json)?;
        if record.value.value.is_null() {
            for r in self
                .shared
                .add_headers
                .iter()
                .filter(|r| r.parent.is_none() && r.field == "op")
            {
                record.headers.add(
                    r.new_name.clone(),
                    SchemaAndValue::new(SchemaBuilder::new(Type::String).build(), "d"),
                );
            }
            if !self.shared.mode.keeps_tombstones() {
                return Ok(None);
            }
            record.key = self.key(&id_json)?;
            record.value = SchemaAndValue::NULL;
            return Ok(Some(record));
        }
        if !is_envelope(record.value.schema.as_ref()) {
            return Ok(Some(record));
        }
        let Some(env_schema) = record.value.schema.clone() else {
            return Ok(Some(record));
        };
        let env = require_struct_ref(&record.value.value, "source field insertion")?.clone();
        for r in &self.shared.add_headers {
            if let Some(s) = r.schema(&env_schema) {
                record
                    .headers
                    .add(r.new_name.clone(), SchemaAndValue::new(s, r.value(&env)));
            }
        }
        let after = string_field(&env, "after");
        let before = string_field(&env, "before");
        let update = match env.get("updateDescription") {
            Some(Value::Struct(u)) => Some(u.clone()),
            _ => None,
        };
        let mode = self.shared.mode;
        let deleted = after.is_none() && update.is_none();
        let mut doc: Doc = Vec::new();
        if deleted {
            match mode {
                Mode::Drop
                | Mode::Legacy {
                    deletes: LegacyDeletes::Drop,
                    ..
                } => return Ok(None),
                m if m.rewrites() => {
                    if let Some(b) = &before {
                        doc = parse_document(b)?;
                    }
                }
                _ => {}
            }
        } else if let Some(a) = &after {
            doc = parse_document(a)?;
        } else if let Some(u) = &update {
            doc = self.partial_update(u, &key_doc_id)?;
        }
        if mode.rewrites() {
            doc.push(("__deleted".into(), Bson::Bool(deleted)));
        }
        let name = env_schema
            .name()
            .map(|n| n.strip_suffix(".Envelope").unwrap_or(n).to_owned());
        record.key = self.key(&id_json)?;
        record.value = self.value(name, doc, Some((&env_schema, &env)))?;
        if let Some(f) = &mut self.flatten {
            f.flatten(&mut record)?;
        }
        Ok(Some(record))
    }
}
