//! `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`: sets the name and/or the
//! version of the key/value schema.
//!
//! As in Kafka Connect: at least one of `schema.name` / `schema.version` must be set;
//! everything else of the schema (type, optionality, default, doc, parameters,
//! fields, item schemas) is kept; a struct value is re-pointed at the new schema
//! (with `replace.null.with.default`, null fields read their defaults); other values
//! are unchanged; a non-null value without a schema is an error ("Schema required").
//! A tombstone (no schema, null value) passes through. The new schema is cached per
//! input schema.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_core::plugin::Transform;
use sluice_core::{ConnectError, Record, Schema, SchemaRef, Value};

use crate::util::cache::SchemaCache;
use crate::util::{
    new_struct, parse_config, replace_null_with_default_key, require_schema, take_values,
    with_default, Result, Side,
};

/// `schema.name`, `schema.version`, `replace.null.with.default`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("schema.name", ConfigType::String)
                .optional()
                .importance(Importance::High)
                .doc("Schema name to set."),
        )
        .define(
            ConfigKey::new("schema.version", ConfigType::Int)
                .optional()
                .importance(Importance::High)
                .doc("Schema version to set."),
        )
        .define(replace_null_with_default_key())
}

side_plugins!("SetSchemaMetadata", config_def, build);

fn build(side: Side, config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let class = if side == Side::Key {
        KEY.info.class
    } else {
        VALUE.info.class
    };
    let cfg = parse_config(class, &config_def(), config)?;
    let name = cfg.string("schema.name").map(str::to_owned);
    let version = config
        .get("schema.version")
        .map(|_| cfg.long("schema.version") as i32);
    if name.is_none() && version.is_none() {
        return Err(ConnectError::config(
            "schema.name",
            "",
            "Neither schema name nor version configured",
        ));
    }
    Ok(Box::new(SetSchemaMetadata {
        side,
        name,
        version,
        replace_null_with_default: cfg.bool("replace.null.with.default"),
        cache: SchemaCache::default(),
    }))
}

struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
    cache: SchemaCache<SchemaRef, SchemaRef>,
}

impl Transform for SetSchemaMetadata {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let part = self.side.part_mut(&mut record);
        if part.schema.is_none() && part.value.is_null() {
            return Ok(Some(record));
        }
        let schema = require_schema(&part.schema, "updating schema metadata")?.clone();
        let (name, version) = (&self.name, self.version);
        let updated = self.cache.get_or_try_insert(&schema, || {
            let mut s = Schema::clone(&schema);
            if let Some(n) = name {
                s.name = Some(n.clone());
            }
            if let Some(v) = version {
                s.version = Some(v);
            }
            Ok(s.into())
        })?;
        if let Value::Struct(_) = part.value {
            if let Value::Struct(s) = std::mem::replace(&mut part.value, Value::Null) {
                let in_schema = s.schema().clone();
                let values = in_schema
                    .fields
                    .iter()
                    .zip(take_values(s))
                    .map(|(f, v)| with_default(v, f, self.replace_null_with_default))
                    .collect();
                part.value = Value::Struct(new_struct(updated.clone(), values)?);
            }
        }
        part.schema = Some(updated);
        Ok(Some(record))
    }
}
