//! `io.debezium.transforms.ExtractNewRecordState` (event flattening): replaces a
//! Debezium change event (`before`, `after`, `source`, `op`, …) with its `after` row.
//!
//! Follows Debezium's SMT: records whose value schema is not an `….Envelope` pass
//! unchanged; truncate events (no `before`, no `after`) are dropped; deletes and
//! tombstones follow `delete.tombstone.handling.mode` (see [`super::envelope`]);
//! `add.headers` are added first (a tombstone gets only `op` = `"d"`), then the row
//! is unwrapped, re-routed by `route.by.field` (from `after`, or `before` for a
//! delete; a null or blank value keeps the topic), extended with `add.fields`, trimmed
//! by the fields listed in the `drop.fields.header.name` header (only optional ones
//! unless `drop.fields.keep.schema.compatible=false`, also from the key with
//! `drop.fields.from.key`), and finally given `__deleted` ("true"/"false", optional
//! string) in the rewrite modes. Added fields, like Kafka's InsertField, give a
//! required struct schema with the row schema's name; the unwrapped row schema is
//! reused as is when nothing is added, so the common path allocates nothing new.

use std::sync::Arc;

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_core::plugin::{PluginInfo, PluginType, Transform, TransformPlugin};
use sluice_core::{
    ConnectError, Record, SchemaAndValue, SchemaBuilder, SchemaRef, Struct, Type, Value,
};

use super::envelope::{is_envelope, shared_config, FieldRef, LegacyDeletes, Mode, Shared};
use crate::kafka::insert_field::InsertField;
use crate::kafka::replace_field::ReplaceField;
use crate::util::cache::SchemaCache;
use crate::util::{
    copy_basics, new_struct, parse_config, push_field, require_struct, set_topic, Result, Side,
};

const CLASS: &str = "io.debezium.transforms.ExtractNewRecordState";
const PURPOSE: &str = "source field insertion";

/// The shared flattening keys plus `drop.fields.header.name`, `drop.fields.from.key`,
/// `drop.fields.keep.schema.compatible`.
pub fn config_def() -> ConfigDef {
    shared_config()
        .define(
            ConfigKey::new("drop.fields.header.name", ConfigType::String)
                .optional()
                .importance(Importance::Low)
                .doc("Specifies the name of a header that contains a list of fields to be removed from the event value."),
        )
        .define(
            ConfigKey::new("drop.fields.from.key", ConfigType::Boolean)
                .default("false")
                .importance(Importance::Low)
                .doc("Specifies whether to apply the drop fields behavior to the event key as well as the value. Default behavior is to only remove fields from the event value, not the key."),
        )
        .define(
            ConfigKey::new("drop.fields.keep.schema.compatible", ConfigType::Boolean)
                .default("true")
                .importance(Importance::Low)
                .doc("Controls the output event's schema compatibility when using the drop fields feature. `true`: dropped fields are removed if the schema indicates its optional leaving the schemas unchanged, `false`: dropped fields are removed from the key/value schemas, regardless of optionality."),
        )
}

/// `io.debezium.transforms.ExtractNewRecordState`.
pub const PLUGIN: TransformPlugin = TransformPlugin {
    info: PluginInfo {
        class: CLASS,
        aliases: &["ExtractNewRecordState"],
        kind: PluginType::Transformation,
        config: config_def,
    },
    build,
};

fn build(config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let cfg = parse_config(CLASS, &config_def(), config)?;
    let shared = Shared::from_config(config, &cfg)?;
    let replace = shared.replace_null_with_default;
    Ok(Box::new(ExtractNewRecordState {
        shared,
        drop_fields_header: cfg
            .string("drop.fields.header.name")
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned),
        drop_fields_from_key: cfg.bool("drop.fields.from.key"),
        keep_schema_compatible: cfg.bool("drop.fields.keep.schema.compatible"),
        header_cache: SchemaCache::default(),
        add_cache: SchemaCache::new(64),
        deleted_true: InsertField::static_value("__deleted", "true", replace),
        deleted_false: InsertField::static_value("__deleted", "false", replace),
        droppers: Vec::new(),
        last_envelope: None,
        string_schema: SchemaBuilder::new(Type::String).build(),
    }))
}

type HeaderPlan = Vec<Option<SchemaRef>>;
type AddPlan = (SchemaRef, Vec<FieldRef>);

struct ExtractNewRecordState {
    shared: Shared,
    drop_fields_header: Option<String>,
    drop_fields_from_key: bool,
    keep_schema_compatible: bool,
    header_cache: SchemaCache<SchemaRef, HeaderPlan>,
    add_cache: SchemaCache<(SchemaRef, SchemaRef), AddPlan>,
    deleted_true: InsertField,
    deleted_false: InsertField,
    droppers: Vec<(Side, Vec<String>, ReplaceField)>,
    /// The last envelope schema seen, with the indexes of `after` and `before`.
    last_envelope: Option<(SchemaRef, usize, usize)>,
    /// A required string schema, for the `op` header of tombstones.
    string_schema: SchemaRef,
}

/// `Struct.getString(field)`: `None` for null, an error for a missing or non-string field.
fn get_string<'a>(s: &'a Struct, field: &str) -> Result<Option<&'a str>> {
    let f = s
        .schema()
        .field(field)
        .ok_or_else(|| ConnectError::Data(format!("{field} is not a valid field name")))?;
    if f.schema.ty != Type::String {
        return Err(ConnectError::Data(format!(
            "Field '{field}' is not of type STRING"
        )));
    }
    Ok(s.values()[f.index].as_str())
}

impl ExtractNewRecordState {
    fn add_headers(
        &mut self,
        record: &mut Record,
        env_schema: &SchemaRef,
        envelope: &Struct,
    ) -> Result<()> {
        let refs = &self.shared.add_headers;
        let plan = self.header_cache.get_or_try_insert_ref(env_schema, || {
            Ok(refs.iter().map(|r| r.schema(env_schema)).collect())
        })?;
        for (r, schema) in refs.iter().zip(plan.iter()) {
            if let Some(schema) = schema {
                record.headers.add(
                    r.new_name.clone(),
                    SchemaAndValue::new(schema.clone(), r.value(envelope)),
                );
            }
        }
        Ok(())
    }

    fn add_fields(
        &mut self,
        record: &mut Record,
        env_schema: &SchemaRef,
        envelope: &Struct,
    ) -> Result<()> {
        let value = std::mem::replace(&mut record.value.value, Value::Null);
        let (row_schema, mut values) = require_struct(value, PURPOSE)?.into_parts();
        let refs = &self.shared.add_fields;
        let plan = self.add_cache.get_or_try_insert_by(
            |(r, e)| Arc::ptr_eq(r, &row_schema) && Arc::ptr_eq(e, env_schema),
            |(r, e)| **r == *row_schema && **e == **env_schema,
            || (row_schema.clone(), env_schema.clone()),
            || {
                let mut out = copy_basics(&row_schema, Type::Struct);
                out.fields = row_schema.fields.clone();
                let mut resolved = Vec::new();
                for r in refs {
                    if let Some(s) = r.schema(env_schema) {
                        if out.field(&r.new_name).is_some() {
                            return Err(ConnectError::Data(format!(
                                "Cannot create field because of field name duplication {}",
                                r.new_name
                            )));
                        }
                        push_field(&mut out, r.new_name.clone(), s);
                        resolved.push(r.clone());
                    }
                }
                Ok((out.into(), resolved))
            },
        )?;
        let (schema, resolved) = plan;
        values.reserve_exact(resolved.len());
        values.extend(resolved.iter().map(|r| r.value(envelope)));
        record.value = SchemaAndValue::new(schema.clone(), new_struct(schema.clone(), values)?);
        Ok(())
    }

    fn dropper(&mut self, side: Side, names: Vec<String>) -> &mut ReplaceField {
        let pos = self
            .droppers
            .iter()
            .position(|(s, n, _)| *s == side && *n == names);
        let i = match pos {
            Some(i) => i,
            None => {
                if self.droppers.len() >= 16 {
                    self.droppers.remove(0);
                }
                let rf = ReplaceField::new(side, names.clone(), Vec::new(), Vec::new(), true);
                self.droppers.push((side, names, rf));
                self.droppers.len() - 1
            }
        };
        &mut self.droppers[i].2
    }

    fn drop_fields(&mut self, record: &mut Record) -> Result<()> {
        let Some(header) = &self.drop_fields_header else {
            return Ok(());
        };
        let Some(h) = record.headers.iter().find(|h| h.key == *header) else {
            return Ok(());
        };
        let names: Vec<String> = match &h.value.value {
            Value::Null => return Ok(()),
            Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            other => {
                return Err(ConnectError::Data(format!(
                    "Header {header} must hold a list of field names, found a {}",
                    other.kind()
                )))
            }
        };
        if names.is_empty() {
            return Ok(());
        }
        let to_drop = |schema: Option<&SchemaRef>| -> Vec<String> {
            match schema {
                None => Vec::new(),
                Some(_) if !self.keep_schema_compatible => names.clone(),
                Some(s) => s
                    .fields
                    .iter()
                    .filter(|f| f.schema.optional && names.contains(&f.name))
                    .map(|f| f.name.clone())
                    .collect(),
            }
        };
        let key_drop = if self.drop_fields_from_key && !record.key.value.is_null() {
            to_drop(record.key.schema.as_ref())
        } else {
            Vec::new()
        };
        let value_drop = to_drop(record.value.schema.as_ref());
        if !key_drop.is_empty() {
            self.dropper(Side::Key, key_drop).replace(record)?;
        }
        if !value_drop.is_empty() {
            self.dropper(Side::Value, value_drop).replace(record)?;
        }
        Ok(())
    }

    fn route(record: &mut Record, row: &Value, field: &str, purpose: &str) -> Result<()> {
        let s = crate::util::require_struct_ref(row, purpose)?;
        if let Some(topic) = get_string(s, field)? {
            if !topic.trim().is_empty() {
                set_topic(&mut record.topic, topic);
            }
        }
        Ok(())
    }
}

impl Transform for ExtractNewRecordState {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        if record.value.value.is_null() {
            for r in self
                .shared
                .add_headers
                .iter()
                .filter(|r| r.parent.is_none() && r.field == "op")
            {
                record.headers.add(
                    r.new_name.clone(),
                    SchemaAndValue::new(self.string_schema.clone(), "d"),
                );
            }
            return Ok(self.shared.mode.keeps_tombstones().then_some(record));
        }
        let env_schema = match record.value.schema.take() {
            Some(s) if is_envelope(Some(&s)) => s,
            other => {
                record.value.schema = other;
                return Ok(Some(record));
            }
        };
        let mut envelope = require_struct(
            std::mem::replace(&mut record.value.value, Value::Null),
            PURPOSE,
        )?;
        if !self.shared.add_headers.is_empty() {
            self.add_headers(&mut record, &env_schema, &envelope)?;
        }
        let (ai, bi) = match &self.last_envelope {
            Some((s, ai, bi)) if Arc::ptr_eq(s, &env_schema) => (*ai, *bi),
            _ => {
                let index = |name: &str| {
                    env_schema
                        .field(name)
                        .map(|f| f.index)
                        .ok_or_else(|| ConnectError::Data(format!("Unknown field: {name}")))
                };
                let (ai, bi) = (index("after")?, index("before")?);
                self.last_envelope = Some((env_schema.clone(), ai, bi));
                (ai, bi)
            }
        };
        let values = envelope.values_mut();
        let after = std::mem::replace(&mut values[ai], Value::Null);
        let before = std::mem::replace(&mut values[bi], Value::Null);
        let (deleted, row, row_schema) = match (after.is_null(), before.is_null()) {
            (true, true) => return Ok(None),
            (true, false) => (true, before, &env_schema.fields[bi].schema),
            _ => (false, after, &env_schema.fields[ai].schema),
        };
        let row_schema = row_schema.clone();
        if let Some(route) = &self.shared.route_by_field {
            let purpose = if deleted {
                "Read record to set topic routing for DELETE"
            } else {
                "Read record to set topic routing for CREATE / UPDATE"
            };
            Self::route(&mut record, &row, route, purpose)?;
        }
        let mode = self.shared.mode;
        if deleted {
            match mode {
                Mode::Drop
                | Mode::Legacy {
                    deletes: LegacyDeletes::Drop,
                    ..
                } => return Ok(None),
                Mode::Tombstone
                | Mode::Legacy {
                    deletes: LegacyDeletes::None,
                    ..
                } => {
                    record.value = SchemaAndValue {
                        schema: Some(env_schema.fields[ai].schema.clone()),
                        value: Value::Null,
                    };
                    self.drop_fields(&mut record)?;
                    return Ok(Some(record));
                }
                Mode::DeleteToTombstone => {
                    record.value = SchemaAndValue::NULL;
                    self.drop_fields(&mut record)?;
                    return Ok(Some(record));
                }
                _ => {}
            }
        }
        record.value = SchemaAndValue::new(row_schema, row);
        if !self.shared.add_fields.is_empty() {
            self.add_fields(&mut record, &env_schema, &envelope)?;
        }
        self.drop_fields(&mut record)?;
        if mode.rewrites() {
            let inserter = if deleted {
                &mut self.deleted_true
            } else {
                &mut self.deleted_false
            };
            inserter.insert(&mut record)?;
        }
        Ok(Some(record))
    }
}
