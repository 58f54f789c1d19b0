//! The outbox router's `table.expand.json.payload`: Debezium's `JsonSchemaData`,
//! which turns a JSON string payload into a Connect struct with an inferred schema.
//!
//! Why this matches Debezium (`EventRouterDelegate` + `JsonSchemaData`, 2.x / 3.x):
//! - Only a string starting with `{` or `[` is parsed (Jackson's `readTree`, which
//!   reads the first value and ignores what follows); anything else, or JSON that
//!   does not parse, or a schema that cannot be inferred, is logged as a warning by
//!   the caller and the payload stays the string it was.
//! - Schemas, all optional: a string is `string`, a boolean `boolean`, an integer
//!   `int32` when it fits (Jackson's `IntNode`), else `int64` (`LongNode`), a larger
//!   integer or any number with a fraction or exponent `float64`; an object is a
//!   struct named by its path (`payload`, `payload.address`, …; the top level is
//!   named after the payload column) with its members in document order, each name
//!   passed through `field.name.adjustment.mode`, members whose schema cannot be
//!   inferred (null under `table.json.payload.null.behavior=ignore`, an empty array)
//!   left out, a repeated (adjusted) name keeping its first occurrence; a null is
//!   `bytes` under `optional_bytes`; an array's items take the schema of the first
//!   non-null item, all non-null items must be of that JSON type (and numbers of the
//!   same Connect type), "Field is not a homogenous array" otherwise; an array of
//!   objects merges its items' distinct struct schemas (fields of the first, then new
//!   fields of the others; a `bytes` field is replaced by a non-bytes one; the merge
//!   of two or more distinct schemas is not optional, as `copySchemaBasics` makes it).
//! - Values follow the JSON node, not the schema, and must then fit the schema as
//!   Java's `Struct.put` requires; a member is read from the document under its
//!   schema field name (so an adjusted name reads as null, as in Debezium).
//!
//! Deliberate differences, each where Debezium emits a record that cannot be
//! converted: Debezium merges array item schemas in `HashSet` order, Sluice in
//! document order; where Debezium has replaced the schema but could not build the
//! value (a JSON array at the top level, an integer beyond int64, an item that does
//! not fit the merged schema), its record carries the new schema with the old string
//! and fails later in the transform or the converter; Sluice fails the record here,
//! with a message saying why.

use serde_json::Value as Json;
use sluice_core::{ConnectError, Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};

use crate::util::Result;

/// What became of the payload.
pub(crate) enum Expanded {
    /// The inferred schema and the struct built from the document.
    Struct(SchemaRef, Value),
    /// Not expanded (logged as a warning, the payload stays a string), with why.
    Kept(String),
}

/// Debezium's `JsonSchemaData`, configured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JsonSchemaData {
    /// `table.json.payload.null.behavior=optional_bytes`.
    pub(crate) null_as_bytes: bool,
    /// `field.name.adjustment.mode`.
    pub(crate) adjust: fn(&str) -> String,
}

/// A number as Jackson reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    Int(i32),
    Long(i64),
    Double(f64),
    /// An integer beyond int64 (`BigIntegerNode`): schema float64, no value fits it.
    Big,
}

fn num(n: &serde_json::Number) -> Num {
    let text = n.to_string();
    if text.contains(['.', 'e', 'E']) {
        return Num::Double(text.parse().unwrap_or(f64::NAN));
    }
    if let Ok(v) = text.parse::<i32>() {
        Num::Int(v)
    } else if let Ok(v) = text.parse::<i64>() {
        Num::Long(v)
    } else {
        Num::Big
    }
}

fn opt(ty: Type) -> SchemaRef {
    Schema::primitive(ty, true)
}

fn kind(node: &Json) -> &'static str {
    match node {
        Json::Null => "NULL",
        Json::Bool(_) => "BOOLEAN",
        Json::Number(_) => "NUMBER",
        Json::String(_) => "STRING",
        Json::Array(_) => "ARRAY",
        Json::Object(_) => "OBJECT",
    }
}

impl JsonSchemaData {
    /// Expands `payload` (the payload column's string), naming the top-level struct
    /// `key` (the payload column's name).
    pub(crate) fn expand(&self, key: &str, payload: &str) -> Result<Expanded> {
        if !(payload.starts_with('{') || payload.starts_with('[')) {
            return Ok(Expanded::Kept(match payload.chars().next() {
                Some(c) => format!("Unable to parse payload starting with '{c}'"),
                None => "Unable to parse an empty payload".to_owned(),
            }));
        }
        let mut docs = serde_json::Deserializer::from_str(payload).into_iter::<Json>();
        let doc = match docs.next() {
            Some(Ok(d)) => d,
            Some(Err(e)) => return Ok(Expanded::Kept(format!("JSON expansion failed: {e}"))),
            None => {
                return Ok(Expanded::Kept(
                    "JSON expansion failed: no JSON value".into(),
                ))
            }
        };
        let schema = match self.schema_of(Some(key), &doc) {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Err(ConnectError::Data(format!(
                    "table.expand.json.payload: the JSON payload {payload} gives no schema (an empty array), so Debezium's router emits no usable record either"
                )))
            }
            Err(why) => return Ok(Expanded::Kept(format!("JSON expansion failed: {why}"))),
        };
        if schema.ty != Type::Struct {
            return Err(ConnectError::Data(format!(
                "table.expand.json.payload: a JSON array payload cannot be expanded (Debezium's router infers an array schema but builds no value for it, so its record fails too): {payload}"
            )));
        }
        let value = self.struct_of(&doc, &schema).map_err(|why| {
            ConnectError::Data(format!(
                "table.expand.json.payload: the JSON payload does not fit the schema inferred from it ({why}); Debezium's router fails this record too"
            ))
        })?;
        Ok(Expanded::Struct(schema, value))
    }

    /// `toConnectSchema(key, node)`: `None` where Debezium returns null.
    fn schema_of(&self, key: Option<&str>, node: &Json) -> Result<Option<SchemaRef>, String> {
        Ok(match node {
            Json::String(_) => Some(opt(Type::String)),
            Json::Bool(_) => Some(opt(Type::Boolean)),
            Json::Number(n) => Some(opt(match num(n) {
                Num::Int(_) => Type::Int32,
                Num::Long(_) => Type::Int64,
                Num::Double(_) | Num::Big => Type::Float64,
            })),
            Json::Array(items) if items.is_empty() => None,
            Json::Array(items) => Some(
                SchemaBuilder::array(self.item_schema(key, items)?)
                    .optional()
                    .build(),
            ),
            Json::Object(members) => {
                let mut b = SchemaBuilder::struct_().optional();
                if let Some(k) = key {
                    b = b.name(k);
                }
                let mut names: Vec<String> = Vec::with_capacity(members.len());
                for (member, v) in members {
                    let name = (self.adjust)(member);
                    let path = match key {
                        Some(k) if !k.trim().is_empty() => format!("{k}.{name}"),
                        _ => name.clone(),
                    };
                    if let Some(s) = self.schema_of(Some(&path), v)? {
                        if !names.contains(&name) {
                            b = b.field(name.clone(), s);
                            names.push(name);
                        }
                    }
                }
                Some(b.build())
            }
            Json::Null if self.null_as_bytes => Some(opt(Type::Bytes)),
            Json::Null => None,
        })
    }

    /// `toConnectSchemaWithCycles`: the item schema of a non-empty array.
    fn item_schema(&self, key: Option<&str>, items: &[Json]) -> Result<SchemaRef, String> {
        let sample = first_item(items)?;
        if sample.is_object() {
            // Distinct item schemas, in document order, merged.
            let mut distinct: Vec<SchemaRef> = Vec::new();
            for item in items.iter().filter(|i| i.is_object()) {
                if let Some(s) = self.schema_of(key, item)? {
                    if !distinct.iter().any(|d| d == &s) {
                        distinct.push(s);
                    }
                }
            }
            let mut merged: Option<SchemaRef> = None;
            for s in distinct {
                merged = Some(match merged {
                    None => s,
                    Some(left) => merge(&left, &s),
                });
            }
            return merged.ok_or_else(|| "an array of objects gave no item schema".to_owned());
        }
        self.schema_of(None, sample)?.ok_or_else(|| {
            format!(
                "Array '{}' has unrecognized member schema.",
                serde_json::to_string(items).unwrap_or_default()
            )
        })
    }

    /// `jsonNodeToStructInternal`: the members named by the schema's fields.
    fn struct_of(&self, node: &Json, schema: &SchemaRef) -> Result<Value, String> {
        let Json::Object(members) = node else {
            return Err(format!("a JSON {} is not a struct", kind(node)));
        };
        if schema.ty != Type::Struct {
            return Err(format!(
                "a JSON object does not fit a {} schema",
                schema.ty.json_name()
            ));
        }
        let mut values = Vec::with_capacity(schema.fields.len());
        for f in &schema.fields {
            values.push(match members.get(&f.name) {
                None => Value::Null,
                Some(v) => self.value_of(v, &f.schema, &f.name)?,
            });
        }
        Struct::from_values(schema.clone(), values)
            .map(Value::Struct)
            .map_err(|e| e.to_string())
    }

    /// `getStructFieldValue`, then the check `Struct.put` makes.
    fn value_of(&self, node: &Json, schema: &SchemaRef, name: &str) -> Result<Value, String> {
        let mismatch = |what: &str| {
            format!(
                "field {name}: a {what} does not fit its {} schema",
                schema.ty.json_name()
            )
        };
        let v = match node {
            Json::Null => {
                if !schema.optional {
                    return Err(format!("field {name}: null in a required field"));
                }
                return Ok(Value::Null);
            }
            Json::String(s) => Value::String(s.clone()),
            Json::Bool(b) => Value::Boolean(*b),
            Json::Number(n) => match num(n) {
                Num::Int(i) => Value::Int32(i),
                Num::Long(l) => Value::Int64(l),
                Num::Double(d) => Value::Float64(d),
                Num::Big => return Err(mismatch("java.math.BigDecimal")),
            },
            Json::Array(items) => {
                if schema.ty != Type::Array {
                    return Err(mismatch("list"));
                }
                let item_schema = schema
                    .value_schema
                    .as_ref()
                    .ok_or_else(|| mismatch("list"))?;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.value_of(item, item_schema, name)?);
                }
                return Ok(Value::Array(out));
            }
            Json::Object(_) => return self.struct_of(node, schema),
        };
        let fits = matches!(
            (&v, schema.ty),
            (Value::String(_), Type::String)
                | (Value::Boolean(_), Type::Boolean)
                | (Value::Int32(_), Type::Int32)
                | (Value::Int64(_), Type::Int64)
                | (Value::Float64(_), Type::Float64)
        );
        if fits {
            Ok(v)
        } else {
            Err(mismatch(match v {
                Value::String(_) => "java.lang.String",
                Value::Boolean(_) => "java.lang.Boolean",
                Value::Int32(_) => "java.lang.Integer",
                Value::Int64(_) => "java.lang.Long",
                _ => "java.lang.Double",
            }))
        }
    }
}

/// `getFirstArrayElement`: the first non-null item, all non-null items of its JSON
/// type, numbers of one Connect type.
fn first_item(items: &[Json]) -> Result<&Json, String> {
    static NULL: Json = Json::Null;
    let mut first: Option<&Json> = None;
    for item in items.iter().filter(|i| !i.is_null()) {
        let Some(r) = first else {
            first = Some(item);
            continue;
        };
        if kind(r) != kind(item) {
            return Err(format!(
                "Field is not a homogenous array ({} x {}).",
                as_text(r),
                kind(item)
            ));
        }
        if let (Json::Number(a), Json::Number(b)) = (r, item) {
            let ty = |n| match num(n) {
                Num::Int(_) => "INT32",
                Num::Long(_) => "INT64",
                Num::Double(_) | Num::Big => "FLOAT64",
            };
            if ty(a) != ty(b) {
                return Err(format!(
                    "Field is not a homogenous array ({a} x {b}), different number types (Schema{{{}}} x Schema{{{}}})",
                    ty(a),
                    ty(b)
                ));
            }
        }
    }
    Ok(first.unwrap_or(&NULL))
}

/// Jackson's `asText` of a node, for messages.
fn as_text(node: &Json) -> String {
    match node {
        Json::String(s) => s.clone(),
        Json::Array(_) | Json::Object(_) => String::new(),
        other => other.to_string(),
    }
}

/// `mergeSchema(left, right)`: left's fields, then right's new ones; a bytes field
/// is replaced by a non-bytes one. The result is not optional (`copySchemaBasics`).
fn merge(left: &SchemaRef, right: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<(String, SchemaRef)> = left
        .fields
        .iter()
        .map(|f| (f.name.clone(), f.schema.clone()))
        .collect();
    for f in &right.fields {
        match fields.iter_mut().find(|(n, _)| n == &f.name) {
            None => fields.push((f.name.clone(), f.schema.clone())),
            Some((_, old)) => {
                if old != &f.schema && old.ty == Type::Bytes && f.schema.ty != Type::Bytes {
                    *old = f.schema.clone();
                }
            }
        }
    }
    let mut b = SchemaBuilder::struct_();
    if let Some(n) = &left.name {
        b = b.name(n.clone());
    }
    if let Some(v) = left.version {
        b = b.version(v);
    }
    if let Some(d) = &left.doc {
        b = b.doc(d.clone());
    }
    for (k, v) in &left.parameters {
        b = b.parameter(k.clone(), v.clone());
    }
    for (n, s) in fields {
        b = b.field(n, s);
    }
    b.build()
}
