//! What `ExtractNewRecordState` and `ExtractNewDocumentState` share (Debezium's
//! `AbstractExtractNewRecordState` and `ExtractNewRecordStateConfigDefinition`): the
//! delete/tombstone handling modes, `add.fields` / `add.headers` references, and
//! the envelope check.
//!
//! `delete.tombstone.handling.mode` wins when given; otherwise the deprecated
//! `drop.tombstones` + `delete.handling.mode` pair is honoured when either is given
//! (Debezium's `LegacyDeleteHandlingStrategy`); otherwise the mode is `tombstone`.
//! `delete` is accepted as a short form of `delete-to-tombstone`.
//!
//! An `add.fields` entry `f` names `op` / `ts_ms` at the top of the envelope, the
//! transaction fields `id` / `total_order` / `data_collection_order` in
//! `transaction`, `updateDescription` for MongoDB, and anything else in `source`
//! (falling back to a top-level field of that name); `struct.f` names it
//! explicitly; `f:NEW` renames it to `prefix + NEW`, otherwise the new name is
//! `prefix + f` or `prefix + struct_f`. A reference that resolves to nothing adds
//! nothing. Added fields and headers get an optional copy of the source schema.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::{ConnectError, Schema, SchemaRef, Struct, Value};

use crate::util::{copy_basics_same_type, Result};

/// True when the value schema is a Debezium change-event envelope (`….Envelope`).
pub(crate) fn is_envelope(schema: Option<&SchemaRef>) -> bool {
    schema
        .and_then(|s| s.name())
        .is_some_and(|n| n.ends_with(".Envelope"))
}

/// What happens to tombstones and deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Drop deletes and tombstones.
    Drop,
    /// Keep tombstones; a delete becomes a null value (with the row schema).
    Tombstone,
    /// Drop tombstones; a delete becomes its `before` row plus `__deleted=true`.
    Rewrite,
    /// As `Rewrite`, keeping tombstones.
    RewriteWithTombstone,
    /// Drop tombstones; a delete becomes a tombstone (no schema, no value).
    DeleteToTombstone,
    /// The deprecated keys: tombstones dropped unless `drop.tombstones=false`, deletes
    /// dropped, rewritten, or (`none`) kept as a null value.
    Legacy {
        drop_tombstones: bool,
        deletes: LegacyDeletes,
    },
}

/// The deprecated `delete.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegacyDeletes {
    Drop,
    Rewrite,
    None,
}

impl Mode {
    /// Keeps tombstones?
    pub(crate) fn keeps_tombstones(self) -> bool {
        match self {
            Mode::Tombstone | Mode::RewriteWithTombstone => true,
            Mode::Legacy {
                drop_tombstones, ..
            } => !drop_tombstones,
            _ => false,
        }
    }

    /// Adds `__deleted`?
    pub(crate) fn rewrites(self) -> bool {
        matches!(
            self,
            Mode::Rewrite
                | Mode::RewriteWithTombstone
                | Mode::Legacy {
                    deletes: LegacyDeletes::Rewrite,
                    ..
                }
        )
    }

    fn from_config(config: &ConfigMap, cfg: &sluice_core::config::ParsedConfig) -> Mode {
        let legacy = !config.contains_key("delete.tombstone.handling.mode")
            && (config.contains_key("drop.tombstones")
                || config.contains_key("delete.handling.mode"));
        if legacy {
            let deletes = match cfg
                .string_or_default("delete.handling.mode")
                .to_ascii_lowercase()
                .as_str()
            {
                "rewrite" => LegacyDeletes::Rewrite,
                "none" => LegacyDeletes::None,
                _ => LegacyDeletes::Drop,
            };
            return Mode::Legacy {
                drop_tombstones: cfg.bool("drop.tombstones"),
                deletes,
            };
        }
        match cfg
            .string_or_default("delete.tombstone.handling.mode")
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "drop" => Mode::Drop,
            "rewrite" => Mode::Rewrite,
            "rewrite-with-tombstone" => Mode::RewriteWithTombstone,
            "delete-to-tombstone" | "delete" => Mode::DeleteToTombstone,
            _ => Mode::Tombstone,
        }
    }
}

/// The keys both flattening transforms define.
pub(crate) fn shared_config() -> ConfigDef {
    let low = |name: &str, ty: ConfigType| ConfigKey::new(name, ty).importance(Importance::Low);
    ConfigDef::new()
        .define(
            ConfigKey::new("delete.tombstone.handling.mode", ConfigType::String)
                .default("tombstone")
                .importance(Importance::Medium)
                .display("Handle delete and tombstone records")
                .validator(Validator::OneOf(&["drop", "tombstone", "rewrite", "rewrite-with-tombstone", "delete-to-tombstone", "delete"]))
                .doc("How to handle delete records. Options are: drop - Remove the delete event and tombstone from the stream. tombstone (default) - For each delete event, leave only a tombstone in the stream. rewrite - Remove tombstone from the record, and add a `__deleted` field with the value `true`. rewrite-with-tombstone - Retain tombstone in record and add a `__deleted` field with the value `true`. delete-to-tombstone (or delete) - Convert delete events to tombstone events and drop tombstone events."),
        )
        .define(
            low("drop.tombstones", ConfigType::Boolean)
                .default("true")
                .doc("Deprecated, use delete.tombstone.handling.mode. Debezium by default generates a tombstone record to enable Kafka compaction after a delete record was generated. This record is usually filtered out to avoid duplicates as a delete record is converted to a tombstone record, too."),
        )
        .define(
            low("delete.handling.mode", ConfigType::String)
                .default("drop")
                .validator(Validator::OneOf(&["drop", "rewrite", "none"]))
                .doc("Deprecated, use delete.tombstone.handling.mode. How to handle delete records. Options are: none - records are passed, drop - records are removed (the default), rewrite - __deleted field is added to records."),
        )
        .define(
            low("route.by.field", ConfigType::String)
                .default("")
                .doc("The column which determines how the events will be routed, the value will replace the topic name."),
        )
        .define(low("add.fields.prefix", ConfigType::String).default("__").doc("Adds this prefix to each field listed."))
        .define(
            low("add.fields", ConfigType::List)
                .default("")
                .doc("Adds each field listed, prefixed with __ (or __<struct>_ if the struct is specified). Example: 'version,connector,source.ts_ms' would add __version, __connector and __source_ts_ms fields. Optionally one can also map new field name like version:VERSION,connector:CONNECTOR,source.ts_ms:EVENT_TIMESTAMP.Please note that the new field name is case-sensitive."),
        )
        .define(low("add.headers.prefix", ConfigType::String).default("__").doc("Adds this prefix listed to each header."))
        .define(
            low("add.headers", ConfigType::List)
                .default("")
                .doc("Adds each field listed to the header,  __ (or __<struct>_ if the struct is specified). Example: 'version,connector,source.ts_ms' would add __version, __connector and __source_ts_ms fields. Optionally one can also map new field name like version:VERSION,connector:CONNECTOR,source.ts_ms:EVENT_TIMESTAMP.Please note that the new field name is case-sensitive."),
        )
        .define(
            low("replace.null.with.default", ConfigType::Boolean)
                .default("true")
                .doc("When this option is enabled, null field values are replaced by source-defined defaults when rewriting the record."),
        )
}

/// The settings both flattening transforms read.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub(crate) mode: Mode,
    pub(crate) route_by_field: Option<String>,
    pub(crate) add_fields: Vec<FieldRef>,
    pub(crate) add_headers: Vec<FieldRef>,
    pub(crate) replace_null_with_default: bool,
}

impl Shared {
    pub(crate) fn from_config(
        config: &ConfigMap,
        cfg: &sluice_core::config::ParsedConfig,
    ) -> Result<Shared> {
        let refs = |key: &str, prefix: &str| -> Result<Vec<FieldRef>> {
            cfg.list(key)
                .iter()
                .map(|f| {
                    FieldRef::parse(cfg.string_or_default(prefix), f)
                        .map_err(|e| ConnectError::config(key, cfg.list(key).join(","), e))
                })
                .collect()
        };
        let route = cfg.string_or_default("route.by.field");
        Ok(Shared {
            mode: Mode::from_config(config, cfg),
            route_by_field: (!route.is_empty()).then(|| route.to_owned()),
            add_fields: refs("add.fields", "add.fields.prefix")?,
            add_headers: refs("add.headers", "add.headers.prefix")?,
            replace_null_with_default: cfg.bool("replace.null.with.default"),
        })
    }
}

/// One `add.fields` / `add.headers` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldRef {
    /// The hosting struct (`source`, `transaction`, …), or none for `op` / `ts_ms`.
    pub(crate) parent: Option<String>,
    /// The field's name.
    pub(crate) field: String,
    /// The added field's / header's name.
    pub(crate) new_name: String,
}

impl FieldRef {
    pub(crate) fn parse(prefix: &str, text: &str) -> Result<FieldRef, String> {
        let parts: Vec<&str> = text.trim().split(':').collect();
        let splits: Vec<&str> = parts[0].split('.').collect();
        let field = if splits.len() == 1 {
            splits[0]
        } else {
            splits[1]
        }
        .to_owned();
        let parent = if splits.len() == 1 {
            match field.as_str() {
                "id" | "total_order" | "data_collection_order" => Some("transaction".to_owned()),
                "op" | "ts_ms" => None,
                "updateDescription" => Some("updateDescription".to_owned()),
                _ => Some("source".to_owned()),
            }
        } else {
            Some(splits[0].to_owned())
        };
        let new_name = match parts.as_slice() {
            [_] if splits.len() == 1 => format!("{prefix}{field}"),
            [_] => format!("{prefix}{}_{field}", parent.as_deref().unwrap_or_default()),
            [_, alias] => format!("{prefix}{alias}"),
            _ => return Err(format!("Unexpected field name: {text}")),
        };
        Ok(FieldRef {
            parent,
            field,
            new_name,
        })
    }

    /// The schema of the referenced field in an envelope schema (optional copy), if any.
    pub(crate) fn schema(&self, envelope: &Schema) -> Option<SchemaRef> {
        let parent = match &self.parent {
            Some(p) => envelope.field(p).map(|f| f.schema.as_ref()),
            None => Some(envelope),
        };
        let field = parent
            .and_then(|p| p.field(&self.field))
            .or_else(|| envelope.field(&self.field))?;
        let mut s = copy_basics_same_type(&field.schema);
        s.fields = field.schema.fields.clone();
        s.optional = true;
        Some(s.into())
    }

    /// The referenced value in an envelope (without default substitution).
    pub(crate) fn value(&self, envelope: &Struct) -> Value {
        let parent = match &self.parent {
            Some(p) => match envelope.get(p) {
                Some(Value::Struct(s)) => s,
                Some(_) => return Value::Null,
                None => envelope,
            },
            None => envelope,
        };
        parent
            .get(&self.field)
            .or_else(|| envelope.get(&self.field))
            .cloned()
            .unwrap_or(Value::Null)
    }
}
