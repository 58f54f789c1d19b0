//! Debezium's topic routing: `io.debezium.transforms.ByLogicalTableRouter` and its
//! successor `io.debezium.transforms.ToLogicalTopicRouter` (Debezium deprecated the
//! former; both ship). They differ only in `key.field.name`'s default
//! (`__dbz__physicalTableIdentifier` / `__dbz__sourceIdentifier`) and the cache-size
//! key (`logical.table.cache.size` / `logical.destination.cache.size`; the former
//! router, a subclass of the latter in Debezium, takes both, the latter winning).
//!
//! Behaviour: when the whole topic matches `topic.regex`, the topic becomes
//! `topic.replacement` (Java replacement syntax); an empty result or no match keeps
//! the record as is. A non-null key struct gets the schema name `<new topic>.Key`
//! and, with `key.enforce.uniqueness` (default), a required string field holding the
//! old topic (or its `key.field.regex` → `key.field.replacement` rewrite). A change
//! event's envelope is renamed `<new topic>.Envelope` and its `before`/`after` row
//! schema `<new topic>.Value`; tombstones and non-envelope values keep their value.
//! Names may be adjusted for Avro (`schema.name.adjustment.mode`). Rebuilt schemas
//! and topic rewrites are cached.

use std::collections::HashMap;

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::{PluginInfo, PluginType, Transform, TransformPlugin};
use sluice_core::{ConnectError, Record, Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};

use super::envelope::is_envelope;
use crate::util::cache::SchemaCache;
use crate::util::javare::{FullMatch, Replacement};
use crate::util::{new_struct, parse_config, require_struct, take_values, with_default, Result};

const BY_LOGICAL_TABLE_CLASS: &str = "io.debezium.transforms.ByLogicalTableRouter";
const TO_LOGICAL_TOPIC_CLASS: &str = "io.debezium.transforms.ToLogicalTopicRouter";

fn config(key_field_default: &str, cache_key: &str) -> ConfigDef {
    let regex = Validator::Custom(|s| {
        if s.trim().is_empty() {
            Ok(())
        } else {
            FullMatch::new(s).map(|_| ())
        }
    });
    let low = |name: &str, ty| ConfigKey::new(name, ty).importance(Importance::Low);
    ConfigDef::new()
        .define(
            low("topic.regex", ConfigType::String)
                .validator(regex.clone())
                .doc("The regex used for extracting the name of the logical table from the original topic name."),
        )
        .define(
            low("topic.replacement", ConfigType::String)
                .doc("The replacement string used in conjunction with topic.regex. This will be used to create the new topic name."),
        )
        .define(
            low("key.enforce.uniqueness", ConfigType::Boolean)
                .default("true")
                .doc("Augment each record's key with a field denoting the source topic. This field distinguishes records coming from different physical tables which may otherwise have primary/unique key conflicts. If the source tables are guaranteed to have globally unique keys then this may be set to false to disable key rewriting."),
        )
        .define(
            low("key.field.regex", ConfigType::String)
                .optional()
                .validator(regex)
                .doc("The regex used for extracting the physical table identifier from the original topic name. Now that multiple physical tables can share a topic, the event's key may need to be augmented to include fields other than just those for the record's primary/unique key, since these are not guaranteed to be unique across tables. We need some identifier added to the key that distinguishes the different physical tables."),
        )
        .define(
            low("key.field.name", ConfigType::String)
                .default(key_field_default)
                .doc("Each record's key schema will be augmented with this field name. The purpose of this field is to distinguish the different physical tables that can now share a single topic. Make sure not to configure a field name that is at risk of conflict with existing key schema field names."),
        )
        .define(
            low("key.field.replacement", ConfigType::String)
                .optional()
                .doc("The replacement string used in conjunction with key.field.regex. This will be used to create the physical table identifier in the record's key."),
        )
        .define(
            low("schema.name.adjustment.mode", ConfigType::String)
                .default("none")
                .validator(Validator::OneOf(&["none", "avro", "avro_unicode"]))
                .doc("Specify how the message key schema names derived from the resulting topic name should be adjusted for compatibility with the message converter used by the connector, including:'avro' replaces the characters that cannot be used in the Avro type name with underscore (default)'none' does not apply any adjustment"),
        )
        .define(
            low(cache_key, ConfigType::Int)
                .default("16")
                .validator(Validator::Range { min: Some(1), max: None })
                .doc("The size used for holding the max entries in LRUCache. The cache will keep the old/new schema for logical table key and value, also cache the derived key and topic regex result for improving the source record transformation."),
        )
}

/// `ByLogicalTableRouter`'s keys: it extends `ToLogicalTopicRouter`, so it also takes
/// `logical.destination.cache.size`, which wins over `logical.table.cache.size`
/// (Debezium copies the latter into the former only when the former is absent).
pub fn by_logical_table_config() -> ConfigDef {
    config("__dbz__physicalTableIdentifier", "logical.table.cache.size").define(
        ConfigKey::new("logical.destination.cache.size", ConfigType::Int)
            .importance(Importance::Low)
            .default("16")
            .validator(Validator::Range { min: Some(1), max: None })
            .doc("The size used for holding the max entries in LRUCache. The cache will keep the old/new schema for logical destination key and value, also cache the derived key and topic regex result for improving the source record transformation. Takes precedence over logical.table.cache.size when both are set."),
    )
}

/// `ToLogicalTopicRouter`'s keys.
pub fn to_logical_topic_config() -> ConfigDef {
    config("__dbz__sourceIdentifier", "logical.destination.cache.size").not_needed(
        "logical.table.cache.size",
        "ToLogicalTopicRouter ignores it, as Debezium's does (only ByLogicalTableRouter maps it); its cache size is logical.destination.cache.size",
    )
}

/// `io.debezium.transforms.ByLogicalTableRouter` (deprecated by Debezium, still shipped).
pub const BY_LOGICAL_TABLE: TransformPlugin = TransformPlugin {
    info: PluginInfo {
        class: BY_LOGICAL_TABLE_CLASS,
        aliases: &["ByLogicalTableRouter"],
        kind: PluginType::Transformation,
        config: by_logical_table_config,
    },
    build: |c| {
        build(
            BY_LOGICAL_TABLE_CLASS,
            &by_logical_table_config(),
            "logical.table.cache.size",
            c,
        )
    },
};

/// `io.debezium.transforms.ToLogicalTopicRouter`.
pub const TO_LOGICAL_TOPIC: TransformPlugin = TransformPlugin {
    info: PluginInfo {
        class: TO_LOGICAL_TOPIC_CLASS,
        aliases: &["ToLogicalTopicRouter"],
        kind: PluginType::Transformation,
        config: to_logical_topic_config,
    },
    build: |c| {
        build(
            TO_LOGICAL_TOPIC_CLASS,
            &to_logical_topic_config(),
            "logical.destination.cache.size",
            c,
        )
    },
};

fn build(
    class: &str,
    def: &ConfigDef,
    cache_key: &str,
    config: &ConfigMap,
) -> Result<Box<dyn Transform>> {
    let cfg = parse_config(class, def, config)?;
    let regex_text = cfg.string("topic.regex").unwrap_or_default();
    let topic_regex = FullMatch::new(regex_text)
        .map_err(|e| ConnectError::config("topic.regex", regex_text, e))?;
    let repl = cfg.string("topic.replacement").unwrap_or_default();
    let topic_replacement = Replacement::new(repl, &topic_regex)
        .map_err(|e| ConnectError::config("topic.replacement", repl, e))?;
    let key_regex = match cfg
        .string("key.field.regex")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(re) => {
            let replacement = cfg
                .string("key.field.replacement")
                .map(str::trim)
                .unwrap_or_default();
            if replacement.is_empty() {
                return Err(ConnectError::config(
                    "key.field.replacement",
                    replacement,
                    "key.field.replacement must be non-empty if key.field.regex is set.",
                ));
            }
            let regex =
                FullMatch::new(re).map_err(|e| ConnectError::config("key.field.regex", re, e))?;
            let raw = cfg.string("key.field.replacement").unwrap_or_default();
            let repl = Replacement::new(raw, &regex)
                .map_err(|e| ConnectError::config("key.field.replacement", raw, e))?;
            Some((regex, repl))
        }
    };
    let adjust = match cfg
        .string_or_default("schema.name.adjustment.mode")
        .to_ascii_lowercase()
        .as_str()
    {
        "avro" => Adjust::Avro,
        "avro_unicode" => Adjust::AvroUnicode,
        _ => Adjust::None,
    };
    // ByLogicalTableRouter: an explicit logical.destination.cache.size wins.
    let cache_key = if cfg
        .originals()
        .contains_key("logical.destination.cache.size")
    {
        "logical.destination.cache.size"
    } else {
        cache_key
    };
    let size = cfg.long(cache_key).max(1) as usize;
    Ok(Box::new(LogicalRouter {
        topic_regex,
        topic_replacement,
        key_regex,
        key_field_name: cfg.string_or_default("key.field.name").to_owned(),
        enforce_uniqueness: cfg.bool("key.enforce.uniqueness"),
        adjust,
        cache_size: size,
        topics: HashMap::new(),
        key_ids: HashMap::new(),
        key_schemas: SchemaCache::new(size),
        envelope_schemas: SchemaCache::new(size),
    }))
}

#[derive(Debug, Clone, Copy)]
enum Adjust {
    None,
    Avro,
    AvroUnicode,
}

impl Adjust {
    /// Debezium's schema-name adjusters: Avro full names allow `.` between names.
    fn name(self, name: String) -> String {
        let unicode = match self {
            Adjust::None => return name,
            Adjust::Avro => false,
            Adjust::AvroUnicode => true,
        };
        name.split('.')
            .map(|part| super::mongo_convert::avro_name(part, unicode))
            .collect::<Vec<_>>()
            .join(".")
    }
}

struct LogicalRouter {
    topic_regex: FullMatch,
    topic_replacement: Replacement,
    key_regex: Option<(FullMatch, Replacement)>,
    key_field_name: String,
    enforce_uniqueness: bool,
    adjust: Adjust,
    cache_size: usize,
    topics: HashMap<String, Option<String>>,
    key_ids: HashMap<String, String>,
    key_schemas: SchemaCache<(SchemaRef, String), SchemaRef>,
    envelope_schemas: SchemaCache<(SchemaRef, String), SchemaRef>,
}

/// `copySchemaExcludingName`: version, doc, parameters, optionality and (optionally) fields.
fn copy_excluding_name(source: &Schema, name: String, fields: bool) -> Schema {
    let mut s = SchemaBuilder::struct_().into_schema();
    s.name = Some(name);
    s.version = source.version;
    s.doc = source.doc.clone();
    s.parameters = source.parameters.clone();
    s.optional = source.optional;
    if fields {
        s.fields = source.fields.clone();
    }
    s
}

fn remap(s: Struct, schema: &SchemaRef) -> Result<Struct> {
    let in_schema = s.schema().clone();
    let values = in_schema
        .fields
        .iter()
        .zip(take_values(s))
        .map(|(f, v)| with_default(v, f, true))
        .collect();
    new_struct(schema.clone(), values)
}

impl LogicalRouter {
    fn bounded<V>(map: &mut HashMap<String, V>, size: usize) {
        if map.len() >= size {
            map.clear();
        }
    }

    fn new_topic(&mut self, old: &str) -> Option<String> {
        if let Some(t) = self.topics.get(old) {
            return t.clone();
        }
        let t = self.topic_regex.replace(old, &self.topic_replacement);
        Self::bounded(&mut self.topics, self.cache_size);
        self.topics.insert(old.to_owned(), t.clone());
        t
    }

    fn key_id(&mut self, old: &str) -> String {
        let Some((re, repl)) = &self.key_regex else {
            return old.to_owned();
        };
        if let Some(id) = self.key_ids.get(old) {
            return id.clone();
        }
        let id = re.replace(old, repl).unwrap_or_else(|| old.to_owned());
        Self::bounded(&mut self.key_ids, self.cache_size);
        self.key_ids.insert(old.to_owned(), id.clone());
        id
    }
}

impl Transform for LogicalRouter {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let old_topic = record.topic.clone();
        let new_topic = match self.new_topic(&old_topic) {
            Some(t) if !t.is_empty() => t,
            Some(_) => {
                tracing::warn!(topic = %old_topic, "Routing regex returned an empty topic name, propagating original record");
                return Ok(Some(record));
            }
            None => return Ok(Some(record)),
        };
        if !record.key.value.is_null() {
            let old_key = require_struct(
                std::mem::replace(&mut record.key.value, Value::Null),
                "Updating schema",
            )?;
            let old_schema = old_key.schema().clone();
            let (adjust, enforce, field) =
                (self.adjust, self.enforce_uniqueness, &self.key_field_name);
            let key_schema = self.key_schemas.get_or_try_insert(
                &(old_schema.clone(), new_topic.clone()),
                || {
                    let mut s = copy_excluding_name(
                        &old_schema,
                        adjust.name(format!("{new_topic}.Key")),
                        true,
                    );
                    if enforce {
                        crate::util::push_field(
                            &mut s,
                            field.clone(),
                            SchemaBuilder::new(Type::String).build(),
                        );
                    }
                    Ok(s.into())
                },
            )?;
            let mut values: Vec<Value> = old_schema
                .fields
                .iter()
                .zip(take_values(old_key))
                .map(|(f, v)| with_default(v, f, true))
                .collect();
            if self.enforce_uniqueness {
                values.push(Value::String(self.key_id(&old_topic)));
            }
            record.key.value = Value::Struct(new_struct(key_schema.clone(), values)?);
            record.key.schema = Some(key_schema);
        }
        record.topic = new_topic.clone();
        if record.value.value.is_null() || !is_envelope(record.value.schema.as_ref()) {
            return Ok(Some(record));
        }
        let envelope = require_struct(
            std::mem::replace(&mut record.value.value, Value::Null),
            "Updating schema",
        )?;
        let old_schema = envelope.schema().clone();
        let adjust = self.adjust;
        let env_schema = self.envelope_schemas.get_or_try_insert(
            &(old_schema.clone(), new_topic.clone()),
            || {
                let row = old_schema
                    .field("before")
                    .ok_or_else(|| ConnectError::Data("Unknown field: before".into()))?;
                let row_schema: SchemaRef = copy_excluding_name(
                    &row.schema,
                    adjust.name(format!("{new_topic}.Value")),
                    true,
                )
                .into();
                let mut env = copy_excluding_name(
                    &old_schema,
                    adjust.name(format!("{new_topic}.Envelope")),
                    false,
                );
                for f in &old_schema.fields {
                    let fs = if f.name == "before" || f.name == "after" {
                        row_schema.clone()
                    } else {
                        f.schema.clone()
                    };
                    crate::util::push_field(&mut env, f.name.clone(), fs);
                }
                Ok(env.into())
            },
        )?;
        let mut values = Vec::with_capacity(old_schema.fields.len());
        for ((f, nf), v) in old_schema
            .fields
            .iter()
            .zip(&env_schema.fields)
            .zip(take_values(envelope))
        {
            let v = with_default(v, f, true);
            values.push(match v {
                Value::Struct(row) if f.name == "before" || f.name == "after" => {
                    Value::Struct(remap(row, &nf.schema)?)
                }
                other => other,
            });
        }
        record.value.value = Value::Struct(new_struct(env_schema.clone(), values)?);
        record.value.schema = Some(env_schema);
        Ok(Some(record))
    }
}
