//! Helpers shared by the transforms: which side of a record a `$Key` / `$Value`
//! transform edits, config parsing with the plugin's name in errors, Kafka Connect's
//! `Requirements` checks (with its messages), `SchemaUtil.copySchemaBasics`, and the
//! "null field reads its default" rule of Java's `Struct.get`.

pub(crate) mod cache;
pub(crate) mod datefmt;
pub(crate) mod javare;
pub(crate) mod jvalues;

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, ParsedConfig};
use sluice_core::Schema;
use sluice_core::{ConnectError, Field, Record, SchemaAndValue, SchemaRef, Struct, Type, Value};

/// Result with [`ConnectError`].
pub(crate) type Result<T, E = ConnectError> = std::result::Result<T, E>;

/// Which part of the record a `$Key` / `$Value` transform works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The record key (`…$Key`).
    Key,
    /// The record value (`…$Value`).
    Value,
}

impl Side {
    /// The part this side edits.
    pub fn part(self, record: &Record) -> &SchemaAndValue {
        match self {
            Side::Key => &record.key,
            Side::Value => &record.value,
        }
    }

    /// The part this side edits, mutable.
    pub fn part_mut(self, record: &mut Record) -> &mut SchemaAndValue {
        match self {
            Side::Key => &mut record.key,
            Side::Value => &mut record.value,
        }
    }
}

/// Parses a transform's or predicate's settings against its definition. Every
/// problem is reported at once, each naming the key, the value and what is allowed.
pub(crate) fn parse_config(
    plugin: &str,
    def: &ConfigDef,
    config: &ConfigMap,
) -> Result<ParsedConfig> {
    def.parse(config)
        .map_err(|e| ConnectError::Fatal(format!("{plugin}: {e}")))
}

/// The `replace.null.with.default` key of KIP-1040, shared by several transforms.
pub(crate) fn replace_null_with_default_key() -> ConfigKey {
    ConfigKey::new("replace.null.with.default", ConfigType::Boolean)
        .default("true")
        .importance(Importance::Medium)
        .doc("Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.")
}

/// The Java class name Kafka Connect reports for a value (`Requirements.nullSafeClassName`).
pub(crate) fn java_class(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Int8(_) => "java.lang.Byte",
        Value::Int16(_) => "java.lang.Short",
        Value::Int32(_) => "java.lang.Integer",
        Value::Int64(_) => "java.lang.Long",
        Value::Float32(_) => "java.lang.Float",
        Value::Float64(_) => "java.lang.Double",
        Value::Boolean(_) => "java.lang.Boolean",
        Value::String(_) => "java.lang.String",
        Value::Bytes(_) => "[B",
        Value::Decimal(_) => "java.math.BigDecimal",
        Value::Array(_) => "java.util.ArrayList",
        Value::Map(_) => "java.util.HashMap",
        Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
    }
}

/// `Requirements.requireStruct`: the value must be a struct.
#[inline]
pub(crate) fn require_struct(value: Value, purpose: &str) -> Result<Struct> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(not_a_struct(&other, purpose)),
    }
}

/// The error of [`require_struct`], for callers that match the value themselves.
#[cold]
#[inline(never)]
pub(crate) fn not_a_struct(value: &Value, purpose: &str) -> ConnectError {
    ConnectError::Data(format!(
        "Only Struct objects supported for [{purpose}], found: {}",
        java_class(value)
    ))
}

/// `Requirements.requireStruct` on a borrowed value.
pub(crate) fn require_struct_ref<'a>(value: &'a Value, purpose: &str) -> Result<&'a Struct> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(ConnectError::Data(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            java_class(other)
        ))),
    }
}

/// `Requirements.requireMap`: schemaless data must be a map.
pub(crate) fn require_map(value: Value, purpose: &str) -> Result<Vec<(Value, Value)>> {
    match value {
        Value::Map(m) => Ok(m),
        other => Err(ConnectError::Data(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            java_class(&other)
        ))),
    }
}

/// `Requirements.requireMap` on a borrowed value.
pub(crate) fn require_map_ref<'a>(value: &'a Value, purpose: &str) -> Result<&'a [(Value, Value)]> {
    match value {
        Value::Map(m) => Ok(m),
        other => Err(ConnectError::Data(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            java_class(other)
        ))),
    }
}

/// `Requirements.requireSchema`.
pub(crate) fn require_schema<'a>(
    schema: &'a Option<SchemaRef>,
    purpose: &str,
) -> Result<&'a SchemaRef> {
    schema
        .as_ref()
        .ok_or_else(|| ConnectError::Data(format!("Schema required for [{purpose}]")))
}

/// The value of a string-keyed map entry.
pub(crate) fn map_get<'a>(map: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// `Map.put`: replaces the entry of `key` in place, or appends one.
pub(crate) fn map_put(map: &mut Vec<(Value, Value)>, key: &str, value: Value) {
    match map.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
        Some(slot) => slot.1 = value,
        None => map.push((Value::String(key.to_owned()), value)),
    }
}

/// `Map.remove`: the removed value, if the key was there.
pub(crate) fn map_remove(map: &mut Vec<(Value, Value)>, key: &str) -> Option<Value> {
    let i = map.iter().position(|(k, _)| k.as_str() == Some(key))?;
    Some(map.remove(i).1)
}

/// Moves the struct's values out, in field order (the struct's own vector, no copy).
#[inline]
pub(crate) fn take_values(s: Struct) -> Vec<Value> {
    s.into_values()
}

/// Keeps, in place, the values whose `keep` flag is set (one flag per value, in
/// order) and drops the others; the vector's allocation is reused.
#[inline]
pub(crate) fn retain_flagged(values: &mut Vec<Value>, keep: &[bool]) {
    debug_assert_eq!(values.len(), keep.len());
    let mut flags = keep.iter();
    values.retain(|_| flags.next().copied().unwrap_or(false));
}

/// Sets the topic, reusing the record's buffer; nothing happens when it is unchanged.
#[inline]
pub(crate) fn set_topic(topic: &mut String, new: &str) {
    if topic != new {
        topic.clear();
        topic.push_str(new);
    }
}

/// Java's `Struct.get(field)`: a null field reads as the field's default, when asked to.
#[inline]
pub(crate) fn with_default(value: Value, field: &Field, replace_null_with_default: bool) -> Value {
    if !replace_null_with_default || !value.is_null() {
        return value;
    }
    match &field.schema.default {
        Some(d) => d.clone(),
        None => value,
    }
}

/// True when some field of a struct schema has a default (else `with_default` is a no-op).
pub(crate) fn has_defaults(schema: &Schema) -> bool {
    schema.fields.iter().any(|f| f.schema.default.is_some())
}

/// `SchemaUtil.copySchemaBasics(source, builder)`: name, version, doc and parameters
/// of `source` on a new schema of type `ty` (not optionality, not the default).
pub(crate) fn copy_basics(source: &Schema, ty: Type) -> Schema {
    Schema {
        ty,
        optional: false,
        default: None,
        name: source.name.clone(),
        version: source.version,
        doc: source.doc.clone(),
        parameters: source.parameters.clone(),
        fields: Vec::new(),
        key_schema: None,
        value_schema: None,
    }
}

/// `SchemaUtil.copySchemaBasics(source)`: same type (arrays and maps keep their item
/// schemas, structs lose their fields), name, version, doc and parameters.
pub(crate) fn copy_basics_same_type(source: &Schema) -> Schema {
    let mut s = copy_basics(source, source.ty);
    if matches!(source.ty, Type::Array | Type::Map) {
        s.key_schema = source.key_schema.clone();
        s.value_schema = source.value_schema.clone();
    }
    s
}

/// Appends a field to a struct schema under construction.
pub(crate) fn push_field(schema: &mut Schema, name: impl Into<String>, field_schema: SchemaRef) {
    let index = schema.fields.len();
    schema.fields.push(Field {
        name: name.into(),
        index,
        schema: field_schema,
    });
}

/// Builds a struct from values in field order; the counts agree by construction.
pub(crate) fn new_struct(schema: SchemaRef, values: Vec<Value>) -> Result<Struct> {
    Struct::from_values(schema, values)
}

/// Splits a colon-delimited pair list entry the way Java's `String.split(":")` does
/// (trailing empty parts dropped).
pub(crate) fn java_split(text: &str, sep: char) -> Vec<&str> {
    if !text.contains(sep) {
        return vec![text];
    }
    let mut parts: Vec<&str> = text.split(sep).collect();
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}
