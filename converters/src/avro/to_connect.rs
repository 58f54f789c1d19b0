//! Avro schema → Connect schema, as Confluent's `AvroData.toConnectSchema`.
//!
//! The inverse of `from_connect`, following the Java method: `int` is int32 unless
//! `connect.type` says int8/int16 or `logicalType` says date/time-millis; `long` with
//! `timestamp-millis` is Timestamp; `bytes`/`fixed` with `logicalType: decimal` is Decimal
//! (scale from `scale`, default 0; a precision other than 64 kept as
//! `connect.decimal.precision`); a `map` has string keys; an array of `MapEntry` records is
//! a map with those key and value schemas; a 2-branch union with `null` is the other branch
//! made optional; other unions are structs named `io.confluent.connect.avro.Union` with one
//! optional field per branch; enums are strings carrying `io.confluent.connect.avro.Enum`
//! parameters. Then, in Java's order: `connect.doc`, `connect.version`,
//! `connect.parameters`, the default (the field's Avro default first, else
//! `connect.default`), the name (`connect.name`, else a named type's full name, never
//! `ConnectDefault*`), optionality. With `connect.meta.data` on, a schema written by
//! `from_connect` comes back equal to the original.

use std::sync::Arc;

use serde_json::Value as Json;
use sluice_core::schema::{logical, Schema, SchemaBuilder, SchemaRef, Type};
use sluice_core::value::{Decimal, Struct, Value};

use super::node::{Node, Primitive};
use super::{
    AVRO_ENUM_PARAM, CONNECT_INTERNAL_TYPE, DECIMAL_PRECISION_DEFAULT, DECIMAL_PRECISION_PARAM,
    FIELD_DEFAULT_FLAG, NAMESPACE,
};

/// The Connect name Confluent gives a general Avro union.
pub const UNION_NAME: &str = "io.confluent.connect.avro.Union";

/// Converts an Avro schema tree to a Connect schema.
pub fn convert(node: &Node, connect_meta_data: bool) -> Result<SchemaRef, String> {
    Conv { connect_meta_data }.schema(node, false, None)
}

/// Whether an array's items are Confluent's map entries (Java's `isMapEntry`).
pub fn is_map_entry(node: &Node) -> bool {
    match node {
        Node::Record { name, .. } => {
            (name.namespace.as_deref() == Some(NAMESPACE) && name.name == "MapEntry")
                || node.prop_str(CONNECT_INTERNAL_TYPE) == Some("MapEntry")
        }
        _ => false,
    }
}

/// Confluent's field name for a union branch (`unionMemberFieldName`, without
/// enhanced support): a named type's simple name, else the Avro type name.
pub fn union_member_name(node: &Node) -> String {
    match node.name() {
        Some(n) => n.name.clone(),
        None => node.type_name().to_owned(),
    }
}

struct Conv {
    connect_meta_data: bool,
}

impl Conv {
    fn schema(
        &self,
        node: &Node,
        force_optional: bool,
        field_default: Option<&Json>,
    ) -> Result<SchemaRef, String> {
        let connect_type = node.prop_str("connect.type");
        let logical_type = node.prop_str("logicalType");
        let mut b = match node {
            Node::Primitive { ty, .. } => match ty {
                Primitive::Boolean => SchemaBuilder::new(Type::Boolean),
                Primitive::Bytes => self.bytes(node, logical_type)?,
                Primitive::Double => SchemaBuilder::new(Type::Float64),
                Primitive::Float => SchemaBuilder::new(Type::Float32),
                Primitive::Int => match (connect_type, logical_type) {
                    (_, Some(lt)) if lt.eq_ignore_ascii_case("date") => SchemaBuilder::date(),
                    (_, Some(lt)) if lt.eq_ignore_ascii_case("time-millis") => {
                        SchemaBuilder::time()
                    }
                    (_, Some(_)) | (None, None) => SchemaBuilder::new(Type::Int32),
                    (Some("int8"), None) => SchemaBuilder::new(Type::Int8),
                    (Some("int16"), None) => SchemaBuilder::new(Type::Int16),
                    (Some(other), None) => {
                        return Err(format!(
                            "connect.type {other:?} on an Avro int is not int8 or int16"
                        ))
                    }
                },
                Primitive::Long => match logical_type {
                    Some(lt) if lt.eq_ignore_ascii_case("timestamp-millis") => {
                        SchemaBuilder::timestamp()
                    }
                    _ => SchemaBuilder::new(Type::Int64),
                },
                Primitive::String => SchemaBuilder::new(Type::String),
                Primitive::Null => {
                    return Err(
                        "Standalone null schemas are not supported by this converter".into(),
                    )
                }
            },
            Node::Fixed { size, .. } => self
                .bytes(node, logical_type)?
                .parameter("connect.fixed.size", size.to_string()),
            Node::Array { items, .. } => {
                if is_map_entry(items) {
                    let Node::Record { fields, .. } = items.as_ref() else {
                        unreachable!("is_map_entry holds only for records")
                    };
                    let key = fields.iter().find(|f| f.name == "key");
                    let value = fields.iter().find(|f| f.name == "value");
                    match (fields.len(), key, value) {
                        (2, Some(k), Some(v)) => SchemaBuilder::map(
                            self.schema(&k.ty, false, None)?,
                            self.schema(&v.ty, false, None)?,
                        ),
                        _ => return Err("Found map encoded as array of key-value pairs, but array elements do not match the expected format.".into()),
                    }
                } else {
                    SchemaBuilder::array(self.schema(items, false, None)?)
                }
            }
            Node::Map { values, .. } => SchemaBuilder::map(
                Schema::primitive(Type::String, false),
                self.schema(values, false, None)?,
            ),
            Node::Record { doc, fields, .. } => {
                let mut b = SchemaBuilder::struct_();
                if self.connect_meta_data {
                    if let Some(d) = doc {
                        b = b.parameter("io.confluent.connect.avro.record.doc", d.as_str());
                    }
                }
                for f in fields {
                    if self.connect_meta_data {
                        if let Some(d) = &f.doc {
                            b = b.parameter(
                                format!("io.confluent.connect.avro.field.doc.{}", f.name),
                                d.as_str(),
                            );
                        }
                    }
                    b = b.field(&f.name, self.schema(&f.ty, false, f.default.as_ref())?);
                }
                b
            }
            Node::Enum {
                name,
                doc,
                symbols,
                default,
                ..
            } => {
                let mut b = SchemaBuilder::new(Type::String);
                if self.connect_meta_data {
                    if let Some(d) = doc {
                        b = b.parameter(
                            format!("io.confluent.connect.avro.enum.doc.{}", name.name),
                            d.as_str(),
                        );
                    }
                    if let Some(d) = default {
                        b = b.parameter(
                            format!("io.confluent.connect.avro.enum.default.{}", name.name),
                            d.as_str(),
                        );
                    }
                }
                b = b.parameter(AVRO_ENUM_PARAM, name.full());
                for s in symbols {
                    b = b.parameter(format!("{AVRO_ENUM_PARAM}.{s}"), s.as_str());
                }
                b
            }
            Node::Union(members) => {
                if members.len() == 2 && members.iter().any(|m| m.is_null()) {
                    if let Some(other) = members.iter().find(|m| !m.is_null()) {
                        return self.schema(other, true, None);
                    }
                }
                let mut b = SchemaBuilder::struct_().name(UNION_NAME);
                let mut seen = Vec::new();
                for m in members {
                    if m.is_null() {
                        b = b.optional();
                        continue;
                    }
                    let field = union_member_name(m);
                    if seen.contains(&field) {
                        return Err(
                            "Multiple union schemas map to the Connect union field name".into()
                        );
                    }
                    seen.push(field.clone());
                    b = b.field(&field, self.schema(m, true, None)?);
                }
                b
            }
        };

        if let Some(doc) = node
            .prop_str("connect.doc")
            .filter(|_| self.connect_meta_data)
        {
            b = b.doc(doc);
        }
        if let Some(v) = node.prop("connect.version") {
            let v = v
                .as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| format!("Invalid Connect version found: {v}"))?;
            let current = b.clone().into_schema().version;
            match current {
                Some(c) if c != v => {
                    return Err(format!("Mismatched versions: version already added to SchemaBuilder ({c}) differs from version in source schema ({v})"))
                }
                _ => b = b.version(v),
            }
        }
        if self.connect_meta_data {
            if let Some(params) = node.prop("connect.parameters") {
                let obj = params.as_object().ok_or_else(|| {
                    format!("Expected JSON object for schema parameters but found: {params}")
                })?;
                for (k, v) in obj {
                    let v = v.as_str().ok_or_else(|| {
                        format!("Expected schema parameter values to be strings but found: {v}")
                    })?;
                    b = b.parameter(k.as_str(), v);
                }
            }
        }
        for (k, v) in node.props() {
            if k.starts_with("avro") {
                b = b.parameter(
                    k.as_str(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                );
            }
        }
        // The name goes on before the default (Java sets it after): a struct default must
        // carry the finished schema, and the order changes nothing else.
        let name = match node.prop("connect.name") {
            Some(Json::String(n)) => Some(n.clone()),
            Some(other) => return Err(format!("Invalid schema name: {other}")),
            None => node.name().map(|n| n.full()),
        };
        if let Some(name) = name.filter(|n| !n.starts_with(&format!("{NAMESPACE}.ConnectDefault")))
        {
            match b.clone().into_schema().name {
                Some(current) if current != name => {
                    return Err(format!("Mismatched names: name already added to SchemaBuilder ({current}) differs from name in source schema ({name})"))
                }
                _ => b = b.name(name),
            }
        }
        let connect_default = node.prop("connect.default");
        let default = match field_default {
            None => connect_default,
            Some(d) => {
                if self.connect_meta_data && connect_default.is_none() {
                    b = b.parameter(FIELD_DEFAULT_FLAG, "true");
                }
                Some(d)
            }
        };
        if let Some(d) = default.filter(|d| !d.is_null()) {
            let partial = b.clone().into_schema();
            // An invalid default is ignored, as Confluent does (it logs a warning).
            match default_from_json(&partial, node, d) {
                Ok(v) => b = b.default_value(v),
                Err(e) => tracing::warn!(error = %e, "ignoring invalid Avro default"),
            }
        }
        if force_optional {
            b = b.optional();
        }
        Ok(b.build())
    }

    fn bytes(&self, node: &Node, logical_type: Option<&str>) -> Result<SchemaBuilder, String> {
        if !logical_type.is_some_and(|lt| lt.eq_ignore_ascii_case("decimal")) {
            return Ok(SchemaBuilder::new(Type::Bytes));
        }
        let scale = node
            .prop("scale")
            .and_then(Json::as_i64)
            .and_then(|s| i32::try_from(s).ok())
            .unwrap_or(0);
        let mut b = SchemaBuilder::decimal(scale);
        if let Some(p) = node.prop("precision") {
            let p = p.as_i64().ok_or_else(|| {
                "precision property must be a JSON Integer. https://avro.apache.org/docs/1.9.1/spec.html#Decimal".to_owned()
            })?;
            if p != i64::from(DECIMAL_PRECISION_DEFAULT) {
                b = b.parameter(DECIMAL_PRECISION_PARAM, p.to_string());
            }
        }
        Ok(b)
    }
}

fn latin1(text: &str) -> Result<Vec<u8>, String> {
    text.chars()
        .map(|c| {
            u8::try_from(u32::from(c))
                .map_err(|_| format!("a bytes default has the non-Latin-1 character {c:?}"))
        })
        .collect()
}

/// Java's `defaultValueFromAvro` for JSON defaults, with the logical conversion.
fn default_from_json(schema: &Schema, node: &Node, json: &Json) -> Result<Value, String> {
    let bad = || format!("default {json} does not fit Avro type {}", node.type_name());
    if json.is_null() {
        return Ok(Value::Null);
    }
    Ok(match node {
        Node::Primitive { ty, .. } => match (ty, schema.ty) {
            (Primitive::Int, Type::Int8) => Value::Int8(json.as_i64().ok_or_else(bad)? as i8),
            (Primitive::Int, Type::Int16) => Value::Int16(json.as_i64().ok_or_else(bad)? as i16),
            (Primitive::Int, _) => Value::Int32(json.as_i64().ok_or_else(bad)? as i32),
            (Primitive::Long, _) => Value::Int64(json.as_i64().ok_or_else(bad)?),
            (Primitive::Float, _) => Value::Float32(json.as_f64().ok_or_else(bad)? as f32),
            (Primitive::Double, _) => Value::Float64(json.as_f64().ok_or_else(bad)?),
            (Primitive::Boolean, _) => Value::Boolean(json.as_bool().ok_or_else(bad)?),
            (Primitive::String, _) => Value::String(json.as_str().ok_or_else(bad)?.to_owned()),
            (Primitive::Bytes, _) => bytes_value(schema, latin1(json.as_str().ok_or_else(bad)?)?)?,
            (Primitive::Null, _) => Value::Null,
        },
        Node::Fixed { .. } => bytes_value(schema, latin1(json.as_str().ok_or_else(bad)?)?)?,
        Node::Enum { .. } => Value::String(json.as_str().ok_or_else(bad)?.to_owned()),
        Node::Array { items, .. } => {
            let arr = json.as_array().ok_or_else(bad)?;
            if let (Type::Map, Node::Record { fields, .. }) = (schema.ty, items.as_ref()) {
                let ks = schema.key_schema.as_ref().ok_or_else(bad)?;
                let vs = schema.value_schema.as_ref().ok_or_else(bad)?;
                let (kn, vn) = (&fields[0].ty, &fields[1].ty);
                let mut entries = Vec::new();
                for e in arr {
                    let pair = e.as_array().filter(|p| p.len() == 2).ok_or_else(bad)?;
                    entries.push((
                        default_from_json(ks, kn, &pair[0])?,
                        default_from_json(vs, vn, &pair[1])?,
                    ));
                }
                Value::Map(entries)
            } else {
                let is = schema.value_schema.as_ref().ok_or_else(bad)?;
                Value::Array(
                    arr.iter()
                        .map(|e| default_from_json(is, items, e))
                        .collect::<Result<_, _>>()?,
                )
            }
        }
        Node::Map { values, .. } => {
            let obj = json.as_object().ok_or_else(bad)?;
            let vs = schema.value_schema.as_ref().ok_or_else(bad)?;
            let mut entries = Vec::new();
            for (k, v) in obj {
                entries.push((Value::String(k.clone()), default_from_json(vs, values, v)?));
            }
            Value::Map(entries)
        }
        Node::Record { fields, .. } => {
            let obj = json.as_object().ok_or_else(bad)?;
            let mut values = Vec::with_capacity(fields.len());
            for (f, cf) in fields.iter().zip(&schema.fields) {
                values.push(match obj.get(&f.name) {
                    Some(v) => default_from_json(&cf.schema, &f.ty, v)?,
                    None => Value::Null,
                });
            }
            Value::Struct(
                Struct::from_values(Arc::new(schema.clone()), values).map_err(|e| e.to_string())?,
            )
        }
        Node::Union(members) => {
            // A union's default matches its first branch.
            match members.first() {
                Some(m) if !m.is_null() => {
                    if schema.name() == Some(UNION_NAME) {
                        return Err("defaults of general unions are not supported".into());
                    }
                    default_from_json(schema, m, json)?
                }
                _ => Value::Null,
            }
        }
    })
}

fn bytes_value(schema: &Schema, bytes: Vec<u8>) -> Result<Value, String> {
    if schema.name() == Some(logical::DECIMAL) {
        let scale = super::from_connect::decimal_scale(schema)?;
        Ok(Value::Decimal(Decimal::from_bytes(&bytes, scale)))
    } else {
        Ok(Value::Bytes(bytes))
    }
}
