//! Debezium's `MongoDataConverter`: Connect schemas and structs from BSON documents.
//!
//! Every field is optional; strings, object ids (hex), decimals, JavaScript and
//! nulls are strings; dates and timestamps are Connect Timestamps; documents are
//! structs named `<parent>.<field>`; arrays hold one element type (documents merged
//! into one struct schema; mixed types are an error) or, with
//! `array.encoding=document`, become structs with fields `_0`, `_1`, …. Field names
//! may be adjusted for Avro (`field.name.adjustment.mode`).

use sluice_core::{ConnectError, Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};

use super::mongo::{Bson, Doc};
use crate::util::{new_struct, Result};

/// `MongoDataConverter`, with the array encoding and the field-name adjuster.
pub(crate) struct Converter {
    pub(crate) array_as_document: bool,
    pub(crate) adjust: fn(&str) -> String,
}

fn opt(ty: Type) -> SchemaRef {
    SchemaBuilder::new(ty).optional().build()
}

fn child_name(parent: Option<&str>, key: &str) -> String {
    format!("{}.{key}", parent.unwrap_or("null"))
}

impl Converter {
    /// Adds the schema of `key: value` to a struct schema under construction.
    pub(crate) fn add_field_schema(&self, key: &str, value: &Bson, out: &mut Schema) -> Result<()> {
        let key = (self.adjust)(key);
        if let Some(s) = self.schema_of(&key, value, out.name.as_deref())? {
            crate::util::push_field(out, key, s);
        }
        Ok(())
    }

    fn schema_of(
        &self,
        key: &str,
        value: &Bson,
        parent: Option<&str>,
    ) -> Result<Option<SchemaRef>> {
        Ok(Some(match value {
            Bson::Null
            | Bson::String(_)
            | Bson::JavaScript(_)
            | Bson::ObjectId(_)
            | Bson::Decimal128(_) => opt(Type::String),
            Bson::Double(_) => opt(Type::Float64),
            Bson::Binary(_) => opt(Type::Bytes),
            Bson::Int32(_) => opt(Type::Int32),
            Bson::Int64(_) => opt(Type::Int64),
            Bson::DateTime(_) | Bson::Timestamp(_) => SchemaBuilder::timestamp().optional().build(),
            Bson::Bool(_) => opt(Type::Boolean),
            Bson::Regex(..) => SchemaBuilder::struct_()
                .name("io.debezium.mongodb.regex")
                .optional()
                .field("regex", opt(Type::String))
                .field("options", opt(Type::String))
                .build(),
            Bson::JavaScriptWithScope(_, scope) => {
                let name = child_name(parent, key);
                let mut scope_schema = SchemaBuilder::struct_()
                    .name(format!("{name}.scope"))
                    .optional()
                    .into_schema();
                for (k, v) in scope {
                    self.add_field_schema(k, v, &mut scope_schema)?;
                }
                SchemaBuilder::struct_()
                    .name(name)
                    .field("code", opt(Type::String))
                    .field("scope", scope_schema.into())
                    .build()
            }
            Bson::Document(doc) => {
                let mut s = SchemaBuilder::struct_()
                    .name(child_name(parent, key))
                    .optional()
                    .into_schema();
                for (k, v) in doc {
                    self.add_field_schema(k, v, &mut s)?;
                }
                s.into()
            }
            Bson::Array(items) if self.array_as_document => {
                let mut s = SchemaBuilder::struct_()
                    .name(child_name(parent, key))
                    .optional()
                    .into_schema();
                for (i, v) in items.iter().enumerate() {
                    self.add_field_schema(&format!("_{i}"), v, &mut s)?;
                }
                s.into()
            }
            Bson::Array(items) => match items.first() {
                None => SchemaBuilder::array(opt(Type::String)).optional().build(),
                Some(first) => {
                    let not_homogenous = || {
                        ConnectError::Data(format!(
                            "Field {key} of schema {} is not a homogenous array.\nCheck option 'struct' of parameter 'array.encoding'",
                            parent.unwrap_or("null")
                        ))
                    };
                    if items
                        .iter()
                        .any(|i| std::mem::discriminant(i) != std::mem::discriminant(first))
                    {
                        return Err(not_homogenous());
                    }
                    let item = match first {
                        Bson::Document(_) => {
                            let mut s = SchemaBuilder::struct_()
                                .name(child_name(parent, key))
                                .optional()
                                .into_schema();
                            for d in items {
                                if let Bson::Document(doc) = d {
                                    for (k, v) in doc {
                                        let k2 = (self.adjust)(k);
                                        match s.field(&k2).map(|f| f.schema.clone()) {
                                            None => self.add_field_schema(k, v, &mut s)?,
                                            Some(prev) => {
                                                if self
                                                    .schema_of(&k2, v, s.name.as_deref())?
                                                    .is_some_and(|n| n.ty != prev.ty)
                                                {
                                                    return Err(ConnectError::Data(format!(
                                                        "Field {k2} of schema {} is not the same type for all documents in the array.\nCheck option 'struct' of parameter 'array.encoding'",
                                                        child_name(parent, key)
                                                    )));
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                            s.into()
                        }
                        other => match self.schema_of(key, other, parent)? {
                            Some(s) => s,
                            None => return Ok(None),
                        },
                    };
                    SchemaBuilder::array(item).optional().build()
                }
            },
            Bson::Ignored => return Ok(None),
        }))
    }

    /// The Connect value of `value` for `schema` (built by [`Converter::add_field_schema`]).
    pub(crate) fn value_of(&self, value: Bson, schema: &SchemaRef) -> Result<Value> {
        Ok(match value {
            Bson::Null | Bson::Ignored => Value::Null,
            Bson::String(s) | Bson::JavaScript(s) | Bson::ObjectId(s) | Bson::Decimal128(s) => {
                Value::String(s)
            }
            Bson::Double(d) => Value::Float64(d),
            Bson::Binary(b) => Value::Bytes(b),
            Bson::Int32(i) => Value::Int32(i),
            Bson::Int64(i) => Value::Int64(i),
            Bson::DateTime(ms) => Value::Int64(ms),
            Bson::Timestamp(t) => Value::Int64(t * 1000),
            Bson::Bool(b) => Value::Boolean(b),
            Bson::Regex(p, o) => Value::Struct(new_struct(
                schema.clone(),
                vec![Value::String(p), Value::String(o)],
            )?),
            Bson::JavaScriptWithScope(code, scope) => {
                let scope_schema = schema
                    .field("scope")
                    .map(|f| f.schema.clone())
                    .unwrap_or_else(|| schema.clone());
                let scope = self.struct_of(scope, &scope_schema)?;
                Value::Struct(new_struct(
                    schema.clone(),
                    vec![Value::String(code), Value::Struct(scope)],
                )?)
            }
            Bson::Document(doc) => Value::Struct(self.struct_of(doc, schema)?),
            Bson::Array(items) if self.array_as_document => {
                let doc = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (format!("_{i}"), v))
                    .collect();
                Value::Struct(self.struct_of(doc, schema)?)
            }
            Bson::Array(items) => {
                let item_schema = schema
                    .value_schema
                    .clone()
                    .unwrap_or_else(|| opt(Type::String));
                Value::Array(
                    items
                        .into_iter()
                        .map(|v| self.value_of(v, &item_schema))
                        .collect::<Result<_>>()?,
                )
            }
        })
    }

    /// A struct of `schema` holding the document's values (missing fields null).
    pub(crate) fn struct_of(&self, doc: Doc, schema: &SchemaRef) -> Result<Struct> {
        let mut s = Struct::new(schema.clone());
        for (k, v) in doc {
            let k = (self.adjust)(&k);
            let Some(f) = schema.field(&k) else { continue };
            let fs = f.schema.clone();
            let index = f.index;
            s.values_mut()[index] = self.value_of(v, &fs)?;
        }
        Ok(s)
    }
}

/// Debezium's field-name adjusters (`field.name.adjustment.mode`).
pub(crate) fn adjuster(mode: &str) -> fn(&str) -> String {
    match mode {
        "avro" => |n| avro_name(n, false),
        "avro_unicode" => |n| avro_name(n, true),
        _ => |n| n.to_owned(),
    }
}

/// Replaces characters Avro does not allow in a name (`[A-Za-z_][A-Za-z0-9_]*`) with
/// `_`, or with `_uXXXX` in the unicode variant.
pub(crate) fn avro_name(name: &str, unicode: bool) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        let ok = c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit());
        if ok {
            out.push(c);
        } else if unicode {
            out.push_str(&format!("_u{:04x}", c as u32));
        } else {
            out.push('_');
        }
    }
    out
}
