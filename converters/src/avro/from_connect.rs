//! Connect schema → Avro schema, as Confluent's `AvroData.fromConnectSchema`.
//!
//! Step for step the Java method: the base type (int8/int16 become `int` with
//! `connect.type`; Decimal becomes `bytes` with `scale` and `precision` — precision from
//! `connect.decimal.precision`, default 64; a string-keyed map becomes an Avro `map`, any
//! other map an array of `MapEntry` records; a struct a record named by splitting its
//! Connect name at the last dot, unnamed structs `io.confluent.connect.avro.ConnectDefault`,
//! `ConnectDefault2`, … in conversion order); then, with `connect.meta.data`, the
//! properties `connect.doc`, `connect.version`, `connect.parameters`, `connect.default`,
//! `connect.name`, `connect.type` in that order; then `logicalType`; then parameters whose
//! key starts with `avro`; then optionality (`["null", T]`, or `[T, "null"]` when the schema
//! has a default — optional structs are always `["null", record]`). Equal non-optional
//! schemas convert to one shared node, so the writer emits a name reference the second
//! time, exactly like Java's `schemaMap`. Properties are added with Avro's `addProp`
//! semantics (the first value of a key wins).

use std::sync::Arc;

use serde_json::{Map, Value as Json};
use sluice_core::schema::{logical, Schema, Type};
use sluice_core::value::Value;

use super::node::{FieldNode, Name, Node, Primitive, Props};
use super::{
    AVRO_ENUM_PARAM, CONNECT_INTERNAL_TYPE, DECIMAL_PRECISION_DEFAULT, DECIMAL_PRECISION_PARAM,
    FIELD_DEFAULT_FLAG, NAMESPACE,
};

/// Options of the conversion (Confluent's `AvroDataConfig`).
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `connect.meta.data`: write the `connect.*` properties.
    pub connect_meta_data: bool,
    /// `enhanced.avro.schema.support`: Connect strings carrying enum parameters become
    /// Avro enums, record and field docs come back from parameters.
    pub enhanced: bool,
}

const RECORD_DOC_PARAM: &str = "io.confluent.connect.avro.record.doc";
const FIELD_DOC_PREFIX: &str = "io.confluent.connect.avro.field.doc.";
const ENUM_DOC_PREFIX: &str = "io.confluent.connect.avro.enum.doc.";
const ENUM_DEFAULT_PREFIX: &str = "io.confluent.connect.avro.enum.default.";

/// Converts a Connect schema to an Avro schema tree.
pub fn convert(schema: &Schema, opts: Options) -> Result<Arc<Node>, String> {
    let mut ctx = Ctx {
        opts,
        cache: Vec::new(),
        name_index: 0,
    };
    ctx.convert(schema, false)
}

fn add_prop(props: &mut Props, key: &str, value: Json) {
    if !props.iter().any(|(k, _)| k == key) {
        props.push((key.to_owned(), value));
    }
}

fn non_optional(schema: &Schema) -> Schema {
    let mut s = schema.clone();
    s.optional = false;
    s
}

struct Ctx {
    opts: Options,
    /// Non-optional schemas already converted (Java's `schemaMap`).
    cache: Vec<(Schema, Arc<Node>)>,
    /// Java's `defaultSchemaNameIndex`.
    name_index: u32,
}

impl Ctx {
    /// Java's `getNameOrDefault`.
    fn name_or_default(&mut self, name: Option<&str>) -> Name {
        match name {
            Some(n) => Name::split(n),
            None => {
                self.name_index += 1;
                Name {
                    name: if self.name_index > 1 {
                        format!("ConnectDefault{}", self.name_index)
                    } else {
                        "ConnectDefault".to_owned()
                    },
                    namespace: Some(NAMESPACE.to_owned()),
                }
            }
        }
    }

    fn convert(&mut self, schema: &Schema, ignore_optional: bool) -> Result<Arc<Node>, String> {
        if !schema.optional {
            if let Some((_, node)) = self.cache.iter().find(|(s, _)| s == schema) {
                return Ok(node.clone());
            }
        }
        let mut connect_type = None;
        let mut props = Props::new();
        let base = match schema.ty {
            Type::Int8 => {
                connect_type = Some("int8");
                Base::Primitive(Primitive::Int)
            }
            Type::Int16 => {
                connect_type = Some("int16");
                Base::Primitive(Primitive::Int)
            }
            Type::Int32 => Base::Primitive(Primitive::Int),
            Type::Int64 => Base::Primitive(Primitive::Long),
            Type::Float32 => Base::Primitive(Primitive::Float),
            Type::Float64 => Base::Primitive(Primitive::Double),
            Type::Boolean => Base::Primitive(Primitive::Boolean),
            Type::String => match schema.parameter(AVRO_ENUM_PARAM) {
                Some(enum_name) if self.opts.enhanced => {
                    let prefix = format!("{AVRO_ENUM_PARAM}.");
                    let symbols = schema
                        .parameters
                        .iter()
                        .filter_map(|(k, _)| k.strip_prefix(&prefix).map(str::to_owned))
                        .collect();
                    let simple = self.name_or_default(schema.name()).name;
                    Base::Enum {
                        name: Name::split(enum_name),
                        doc: schema
                            .parameter(&format!("{ENUM_DOC_PREFIX}{simple}"))
                            .map(str::to_owned),
                        default: schema
                            .parameter(&format!("{ENUM_DEFAULT_PREFIX}{simple}"))
                            .map(str::to_owned),
                        symbols,
                    }
                }
                _ => Base::Primitive(Primitive::String),
            },
            Type::Bytes => {
                if is_decimal(schema) {
                    let scale = decimal_scale(schema)?;
                    add_prop(&mut props, "scale", Json::from(scale));
                    add_prop(
                        &mut props,
                        "precision",
                        Json::from(decimal_precision(schema)?),
                    );
                }
                Base::Primitive(Primitive::Bytes)
            }
            Type::Array => {
                let items = schema
                    .value_schema
                    .as_ref()
                    .ok_or("an array schema has no item schema")?;
                Base::Array(self.convert(items, false)?)
            }
            Type::Map => {
                let key = schema
                    .key_schema
                    .as_ref()
                    .ok_or("a map schema has no key schema")?;
                let value = schema
                    .value_schema
                    .as_ref()
                    .ok_or("a map schema has no value schema")?;
                if key.ty == Type::String && !key.optional {
                    Base::Map(self.convert(value, false)?)
                } else {
                    let mut entry_props = Props::new();
                    let name = match schema.name() {
                        None => Name {
                            name: "MapEntry".into(),
                            namespace: Some(NAMESPACE.into()),
                        },
                        Some(n) => {
                            add_prop(&mut entry_props, CONNECT_INTERNAL_TYPE, "MapEntry".into());
                            self.name_or_default(Some(n))
                        }
                    };
                    let fields = vec![
                        self.field("key", key, None)?,
                        self.field("value", value, None)?,
                    ];
                    Base::Array(Arc::new(Node::Record {
                        name,
                        doc: None,
                        fields,
                        props: entry_props,
                    }))
                }
            }
            Type::Struct if schema.optional => {
                let inner = self.convert(&non_optional(schema), false)?;
                return Ok(Arc::new(Node::Union(vec![
                    Node::primitive(Primitive::Null),
                    inner,
                ])));
            }
            Type::Struct => {
                let name = self.name_or_default(schema.name());
                let doc = schema.parameter(RECORD_DOC_PARAM).map(str::to_owned);
                let mut fields = Vec::with_capacity(schema.fields.len());
                for f in &schema.fields {
                    let doc = schema.parameter(&format!("{FIELD_DOC_PREFIX}{}", f.name));
                    fields.push(self.field(&f.name, &f.schema, doc)?);
                }
                Base::Record { name, doc, fields }
            }
        };

        if self.opts.connect_meta_data {
            if let Some(doc) = &schema.doc {
                add_prop(&mut props, "connect.doc", doc.as_str().into());
            }
            if let Some(v) = schema.version {
                add_prop(&mut props, "connect.version", v.into());
            }
            let params: Map<String, Json> = schema
                .parameters
                .iter()
                .filter(|(k, _)| k != FIELD_DEFAULT_FLAG)
                .map(|(k, v)| (k.clone(), Json::from(v.as_str())))
                .collect();
            if !params.is_empty() {
                add_prop(&mut props, "connect.parameters", Json::Object(params));
            }
            if let Some(d) = &schema.default {
                if schema.parameter(FIELD_DEFAULT_FLAG).is_none() {
                    add_prop(&mut props, "connect.default", default_json(schema, d)?);
                }
            }
            if let Some(n) = schema.name() {
                add_prop(&mut props, "connect.name", n.into());
            }
            if let Some(t) = connect_type {
                add_prop(&mut props, "connect.type", t.into());
            }
        }
        let logical_type = match schema.name() {
            Some(n) if n.eq_ignore_ascii_case(logical::DECIMAL) => Some("decimal"),
            Some(n) if n.eq_ignore_ascii_case(logical::TIME) => Some("time-millis"),
            Some(n) if n.eq_ignore_ascii_case(logical::TIMESTAMP) => Some("timestamp-millis"),
            Some(n) if n.eq_ignore_ascii_case(logical::DATE) => Some("date"),
            _ => None,
        };
        if let Some(lt) = logical_type {
            add_prop(&mut props, "logicalType", lt.into());
        }
        for (k, v) in &schema.parameters {
            if k.starts_with("avro") {
                add_prop(&mut props, k, v.as_str().into());
            }
        }

        let node = Arc::new(base.into_node(props));
        let result = if ignore_optional || !schema.optional {
            node
        } else if schema.default.is_some() {
            Arc::new(Node::Union(vec![node, Node::primitive(Primitive::Null)]))
        } else {
            Arc::new(Node::Union(vec![Node::primitive(Primitive::Null), node]))
        };
        if !schema.optional {
            self.cache.push((schema.clone(), result.clone()));
        }
        Ok(result)
    }

    /// Java's `addAvroRecordField`.
    fn field(
        &mut self,
        name: &str,
        schema: &Schema,
        doc: Option<&str>,
    ) -> Result<FieldNode, String> {
        let ty = self.convert(schema, false)?;
        let mut default = match &schema.default {
            Some(d) => Some(default_json(schema, d)?),
            None if schema.optional => Some(Json::Null),
            None => None,
        };
        // Avro refuses a default that does not match a union's first branch; Confluent then
        // drops the default (and logs "Ignoring invalid default").
        if let (Node::Union(members), Some(d)) = (ty.as_ref(), &default) {
            if members.first().is_some_and(|m| m.is_null()) != d.is_null() {
                default = None;
            }
        }
        Ok(FieldNode {
            name: name.to_owned(),
            ty,
            doc: doc.map(str::to_owned),
            default,
        })
    }
}

/// The base type before properties are attached.
enum Base {
    Primitive(Primitive),
    Enum {
        name: Name,
        doc: Option<String>,
        default: Option<String>,
        symbols: Vec<String>,
    },
    Array(Arc<Node>),
    Map(Arc<Node>),
    Record {
        name: Name,
        doc: Option<String>,
        fields: Vec<FieldNode>,
    },
}

impl Base {
    fn into_node(self, props: Props) -> Node {
        match self {
            Base::Primitive(ty) => Node::Primitive { ty, props },
            Base::Enum {
                name,
                doc,
                default,
                symbols,
            } => Node::Enum {
                name,
                doc,
                symbols,
                default,
                props,
            },
            Base::Array(items) => Node::Array { items, props },
            Base::Map(values) => Node::Map { values, props },
            Base::Record { name, doc, fields } => Node::Record {
                name,
                doc,
                fields,
                props,
            },
        }
    }
}

pub(crate) fn is_decimal(schema: &Schema) -> bool {
    schema.ty == Type::Bytes
        && schema
            .name()
            .is_some_and(|n| n.eq_ignore_ascii_case(logical::DECIMAL))
}

pub(crate) fn decimal_scale(schema: &Schema) -> Result<i32, String> {
    match schema.parameter(logical::DECIMAL_SCALE) {
        None => Ok(0),
        Some(s) => s
            .parse()
            .map_err(|_| format!("Decimal schema has a non-integer scale parameter {s:?}")),
    }
}

fn decimal_precision(schema: &Schema) -> Result<i32, String> {
    match schema.parameter(DECIMAL_PRECISION_PARAM) {
        None => Ok(DECIMAL_PRECISION_DEFAULT),
        Some(s) => s
            .parse()
            .map_err(|_| format!("{DECIMAL_PRECISION_PARAM} is not an integer: {s:?}")),
    }
}

fn float_json(text: Vec<u8>) -> Json {
    // With serde_json's arbitrary_precision the number keeps Java's text.
    serde_json::from_slice(&text).unwrap_or(Json::Null)
}

/// Java's `defaultValueFromConnect`: a Connect default as Avro's JSON default.
pub(crate) fn default_json(schema: &Schema, value: &Value) -> Result<Json, String> {
    let bad = || {
        format!(
            "the default value ({}) does not fit its schema type {}",
            value.kind(),
            schema.ty.json_name()
        )
    };
    Ok(match (schema.ty, value) {
        (_, Value::Null) => Json::Null,
        (Type::Int8, Value::Int8(v)) => (*v).into(),
        (Type::Int16, Value::Int16(v)) => (*v).into(),
        (Type::Int32, Value::Int32(v)) => (*v).into(),
        (Type::Int64, Value::Int64(v)) => (*v).into(),
        (Type::Float32, Value::Float32(v)) => {
            let mut text = Vec::new();
            crate::json::java_float::write_f32(&mut text, *v);
            float_json(text)
        }
        (Type::Float64, Value::Float64(v)) => {
            let mut text = Vec::new();
            crate::json::java_float::write_f64(&mut text, *v);
            float_json(text)
        }
        (Type::Boolean, Value::Boolean(v)) => (*v).into(),
        (Type::String, Value::String(v)) => v.as_str().into(),
        // Avro's JSON form of bytes: one char per byte (ISO-8859-1).
        (Type::Bytes, Value::Bytes(b)) => b.iter().map(|&c| c as char).collect::<String>().into(),
        (Type::Bytes, Value::Decimal(d)) => d
            .to_bytes()
            .iter()
            .map(|&c| c as char)
            .collect::<String>()
            .into(),
        (Type::Array, Value::Array(items)) => {
            let item_schema = schema.value_schema.as_ref().ok_or_else(bad)?;
            Json::Array(
                items
                    .iter()
                    .map(|v| default_json(item_schema, v))
                    .collect::<Result<_, _>>()?,
            )
        }
        (Type::Map, Value::Map(entries)) => {
            let ks = schema.key_schema.as_ref().ok_or_else(bad)?;
            let vs = schema.value_schema.as_ref().ok_or_else(bad)?;
            if ks.ty == Type::String && !ks.optional {
                let mut obj = Map::new();
                for (k, v) in entries {
                    let key = k.as_str().ok_or_else(bad)?;
                    obj.insert(key.to_owned(), default_json(vs, v)?);
                }
                Json::Object(obj)
            } else {
                Json::Array(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            Ok(Json::Array(vec![
                                default_json(ks, k)?,
                                default_json(vs, v)?,
                            ]))
                        })
                        .collect::<Result<_, String>>()?,
                )
            }
        }
        (Type::Struct, Value::Struct(s)) => {
            let mut obj = Map::new();
            for (f, v) in schema.fields.iter().zip(s.values()) {
                let v = match (v, &f.schema.default) {
                    (Value::Null, Some(d)) => d,
                    _ => v,
                };
                obj.insert(f.name.clone(), default_json(&f.schema, v)?);
            }
            Json::Object(obj)
        }
        _ => return Err(bad()),
    })
}
