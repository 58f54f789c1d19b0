//! An Avro schema as a tree, its JSON text, and the parser back.
//!
//! The writer reproduces Apache Avro Java's `Schema.toString()`, which is what Confluent's
//! AvroConverter registers: a primitive without properties is its bare name, otherwise
//! `{"type":…, props…}`; a record is `{"type":"record","name","namespace"?,"doc"?,
//! "fields":[…], props…}` where `namespace` is written only when it differs from the
//! enclosing one (`""` for a record without namespace inside one that has one) and a named
//! type already written is referred to by name (short when in the current namespace);
//! fields are `{"name","type","doc"?,"default"?}`. Properties keep insertion order, as
//! Avro's `JsonProperties` does. A second, different definition of the same name is
//! refused, as Avro's `Names.put` refuses it ("Can't redefine").
//!
//! The parser accepts any Avro schema JSON (named references, namespaces inherited from
//! enclosing records, unions, enums, fixed) and keeps every property, so the Connect side
//! can read `connect.*` and `logicalType`. Recursive types cannot be represented in this
//! tree (no back-pointers) and are refused with a clear error.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

/// Schema properties, in insertion order.
pub type Props = Vec<(String, Json)>;

/// A record field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldNode {
    pub name: String,
    pub ty: Arc<Node>,
    pub doc: Option<String>,
    pub default: Option<Json>,
}

/// A named type's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    pub name: String,
    pub namespace: Option<String>,
}

impl Name {
    /// `namespace.name`, or `name`.
    pub fn full(&self) -> String {
        match &self.namespace {
            Some(ns) if !ns.is_empty() => format!("{ns}.{}", self.name),
            _ => self.name.clone(),
        }
    }

    /// Splits a dotted full name at its last dot, as Confluent's `splitName`.
    pub fn split(full: &str) -> Name {
        match full.rfind('.') {
            Some(i) => Name {
                name: full[i + 1..].to_owned(),
                namespace: Some(full[..i].to_owned()),
            },
            None => Name {
                name: full.to_owned(),
                namespace: None,
            },
        }
    }
}

/// An Avro schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`, `boolean`, `int`, `long`, `float`, `double`, `bytes`, `string`.
    Primitive {
        ty: Primitive,
        props: Props,
    },
    Record {
        name: Name,
        doc: Option<String>,
        fields: Vec<FieldNode>,
        props: Props,
    },
    Enum {
        name: Name,
        doc: Option<String>,
        symbols: Vec<String>,
        default: Option<String>,
        props: Props,
    },
    Fixed {
        name: Name,
        size: usize,
        props: Props,
    },
    Array {
        items: Arc<Node>,
        props: Props,
    },
    Map {
        values: Arc<Node>,
        props: Props,
    },
    Union(Vec<Arc<Node>>),
}

/// Avro's primitive types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
}

impl Primitive {
    pub fn name(self) -> &'static str {
        match self {
            Primitive::Null => "null",
            Primitive::Boolean => "boolean",
            Primitive::Int => "int",
            Primitive::Long => "long",
            Primitive::Float => "float",
            Primitive::Double => "double",
            Primitive::Bytes => "bytes",
            Primitive::String => "string",
        }
    }

    fn from_name(name: &str) -> Option<Primitive> {
        Some(match name {
            "null" => Primitive::Null,
            "boolean" => Primitive::Boolean,
            "int" => Primitive::Int,
            "long" => Primitive::Long,
            "float" => Primitive::Float,
            "double" => Primitive::Double,
            "bytes" => Primitive::Bytes,
            "string" => Primitive::String,
            _ => return None,
        })
    }
}

impl Node {
    /// A primitive without properties.
    pub fn primitive(ty: Primitive) -> Arc<Node> {
        Arc::new(Node::Primitive {
            ty,
            props: Vec::new(),
        })
    }

    /// The node's properties (unions have none).
    pub fn props(&self) -> &[(String, Json)] {
        match self {
            Node::Primitive { props, .. }
            | Node::Record { props, .. }
            | Node::Enum { props, .. }
            | Node::Fixed { props, .. }
            | Node::Array { props, .. }
            | Node::Map { props, .. } => props,
            Node::Union(_) => &[],
        }
    }

    /// A property by key.
    pub fn prop(&self, key: &str) -> Option<&Json> {
        self.props().iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A string property by key.
    pub fn prop_str(&self, key: &str) -> Option<&str> {
        self.prop(key).and_then(Json::as_str)
    }

    /// The name of a named type.
    pub fn name(&self) -> Option<&Name> {
        match self {
            Node::Record { name, .. } | Node::Enum { name, .. } | Node::Fixed { name, .. } => {
                Some(name)
            }
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(
            self,
            Node::Primitive {
                ty: Primitive::Null,
                ..
            }
        )
    }

    /// Avro's type name (`record`, `int`, `union`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Node::Primitive { ty, .. } => ty.name(),
            Node::Record { .. } => "record",
            Node::Enum { .. } => "enum",
            Node::Fixed { .. } => "fixed",
            Node::Array { .. } => "array",
            Node::Map { .. } => "map",
            Node::Union(_) => "union",
        }
    }
}

/// Renders `node` as Avro Java's `Schema.toString()` does.
pub fn to_json(node: &Node) -> Result<String, String> {
    let mut out = String::with_capacity(512);
    let mut names: HashMap<String, *const Node> = HashMap::new();
    write_node(node, &mut names, None, &mut out)?;
    Ok(out)
}

fn json_str(out: &mut String, s: &str) {
    // serde_json escapes exactly what JSON requires ('"', '\\', control characters).
    out.push_str(&Json::from(s).to_string());
}

fn write_props(props: &Props, out: &mut String) {
    for (k, v) in props {
        out.push(',');
        json_str(out, k);
        out.push(':');
        out.push_str(&v.to_string());
    }
}

/// Writes a name reference when `name` was already written (the same definition), or
/// registers it; refuses a different definition under the same name.
fn name_ref(
    node: &Node,
    name: &Name,
    names: &mut HashMap<String, *const Node>,
    space: Option<&str>,
    out: &mut String,
) -> Result<bool, String> {
    let full = name.full();
    match names.get(&full) {
        Some(&seen) => {
            // Identity, as Avro's `this.equals(names.get(name))` on one shared object:
            // only addresses are compared, nothing is dereferenced.
            let same = std::ptr::eq(seen, node);
            if !same {
                return Err(format!("Can't redefine: {full} (two different Avro types would share this name; give the Connect schemas distinct names)"));
            }
            let ns = name.namespace.as_deref().filter(|s| !s.is_empty());
            let qualified = if ns.is_none() || ns == space {
                name.name.clone()
            } else {
                full
            };
            json_str(out, &qualified);
            Ok(true)
        }
        None => {
            names.insert(full, node as *const Node);
            Ok(false)
        }
    }
}

fn write_name(name: &Name, space: Option<&str>, out: &mut String) {
    out.push_str(",\"name\":");
    json_str(out, &name.name);
    match name.namespace.as_deref().filter(|s| !s.is_empty()) {
        Some(ns) => {
            if Some(ns) != space {
                out.push_str(",\"namespace\":");
                json_str(out, ns);
            }
        }
        None => {
            if space.is_some() {
                out.push_str(",\"namespace\":\"\"");
            }
        }
    }
}

fn write_node(
    node: &Node,
    names: &mut HashMap<String, *const Node>,
    space: Option<&str>,
    out: &mut String,
) -> Result<(), String> {
    match node {
        Node::Primitive { ty, props } => {
            if props.is_empty() {
                json_str(out, ty.name());
            } else {
                out.push_str("{\"type\":");
                json_str(out, ty.name());
                write_props(props, out);
                out.push('}');
            }
        }
        Node::Record {
            name,
            doc,
            fields,
            props,
        } => {
            if name_ref(node, name, names, space, out)? {
                return Ok(());
            }
            out.push_str("{\"type\":\"record\"");
            write_name(name, space, out);
            let inner = name.namespace.as_deref().filter(|s| !s.is_empty());
            if let Some(d) = doc {
                out.push_str(",\"doc\":");
                json_str(out, d);
            }
            out.push_str(",\"fields\":[");
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"name\":");
                json_str(out, &f.name);
                out.push_str(",\"type\":");
                write_node(&f.ty, names, inner, out)?;
                if let Some(d) = &f.doc {
                    out.push_str(",\"doc\":");
                    json_str(out, d);
                }
                if let Some(d) = &f.default {
                    out.push_str(",\"default\":");
                    out.push_str(&d.to_string());
                }
                out.push('}');
            }
            out.push(']');
            write_props(props, out);
            out.push('}');
        }
        Node::Enum {
            name,
            doc,
            symbols,
            default,
            props,
        } => {
            if name_ref(node, name, names, space, out)? {
                return Ok(());
            }
            out.push_str("{\"type\":\"enum\"");
            write_name(name, space, out);
            if let Some(d) = doc {
                out.push_str(",\"doc\":");
                json_str(out, d);
            }
            out.push_str(",\"symbols\":");
            out.push_str(&Json::from(symbols.clone()).to_string());
            if let Some(d) = default {
                out.push_str(",\"default\":");
                json_str(out, d);
            }
            write_props(props, out);
            out.push('}');
        }
        Node::Fixed { name, size, props } => {
            if name_ref(node, name, names, space, out)? {
                return Ok(());
            }
            out.push_str("{\"type\":\"fixed\"");
            write_name(name, space, out);
            let _ = write!(out, ",\"size\":{size}");
            write_props(props, out);
            out.push('}');
        }
        Node::Array { items, props } => {
            out.push_str("{\"type\":\"array\",\"items\":");
            write_node(items, names, space, out)?;
            write_props(props, out);
            out.push('}');
        }
        Node::Map { values, props } => {
            out.push_str("{\"type\":\"map\",\"values\":");
            write_node(values, names, space, out)?;
            write_props(props, out);
            out.push('}');
        }
        Node::Union(members) => {
            out.push('[');
            for (i, m) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_node(m, names, space, out)?;
            }
            out.push(']');
        }
    }
    Ok(())
}

/// Parses Avro schema JSON text.
pub fn parse(text: &str) -> Result<Arc<Node>, String> {
    let json: Json =
        serde_json::from_str(text).map_err(|e| format!("the schema is not JSON: {e}"))?;
    let mut names = HashMap::new();
    parse_node(&json, None, &mut names)
}

const RESERVED: [&str; 9] = [
    "type",
    "name",
    "namespace",
    "fields",
    "items",
    "values",
    "symbols",
    "size",
    "doc",
];

fn props_of(obj: &Map<String, Json>, also_reserved: &[&str]) -> Props {
    obj.iter()
        .filter(|(k, _)| !RESERVED.contains(&k.as_str()) && !also_reserved.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn parse_name(obj: &Map<String, Json>, space: Option<&str>) -> Result<Name, String> {
    let raw = obj
        .get("name")
        .and_then(Json::as_str)
        .ok_or_else(|| format!("a named type has no \"name\": {}", Json::from(obj.clone())))?;
    if raw.contains('.') {
        return Ok(Name::split(raw));
    }
    let namespace = match obj.get("namespace") {
        Some(Json::String(ns)) => Some(ns.clone()),
        Some(_) => return Err(format!("\"namespace\" of {raw} is not a string")),
        None => space.map(str::to_owned),
    };
    Ok(Name {
        name: raw.to_owned(),
        namespace: namespace.filter(|s| !s.is_empty()),
    })
}

/// Named types seen so far; `None` while the type is still being parsed (a recursive use).
type Names = HashMap<String, Option<Arc<Node>>>;

fn lookup(name: &str, space: Option<&str>, names: &Names) -> Result<Arc<Node>, String> {
    let candidates = [space.map(|s| format!("{s}.{name}")), Some(name.to_owned())];
    for c in candidates.into_iter().flatten() {
        match names.get(&c) {
            Some(Some(node)) => return Ok(node.clone()),
            Some(None) => {
                return Err(format!(
                    "recursive Avro type {c} is not supported by this converter"
                ))
            }
            None => {}
        }
    }
    Err(format!("unknown Avro type {name:?}"))
}

fn parse_node(json: &Json, space: Option<&str>, names: &mut Names) -> Result<Arc<Node>, String> {
    match json {
        Json::String(name) => match Primitive::from_name(name) {
            Some(p) => Ok(Node::primitive(p)),
            None => lookup(name, space, names),
        },
        Json::Array(members) => {
            let members = members
                .iter()
                .map(|m| parse_node(m, space, names))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Arc::new(Node::Union(members)))
        }
        Json::Object(obj) => {
            let ty = obj.get("type").ok_or("a schema object has no \"type\"")?;
            let ty_name = match ty {
                Json::String(s) => s.as_str(),
                // {"type": {...}} or {"type": [...]}: the inner schema (properties dropped).
                other => return parse_node(other, space, names),
            };
            match ty_name {
                "record" | "error" => {
                    let name = parse_name(obj, space)?;
                    let full = name.full();
                    if names.contains_key(&full) {
                        return Err(format!("Can't redefine: {full}"));
                    }
                    names.insert(full.clone(), None);
                    let inner = name.namespace.clone();
                    let mut fields = Vec::new();
                    let raw_fields = obj
                        .get("fields")
                        .and_then(Json::as_array)
                        .ok_or_else(|| format!("record {full} has no \"fields\" array"))?;
                    for f in raw_fields {
                        let fname = f
                            .get("name")
                            .and_then(Json::as_str)
                            .ok_or_else(|| format!("a field of record {full} has no name"))?;
                        let fty = f
                            .get("type")
                            .ok_or_else(|| format!("field {full}.{fname} has no type"))?;
                        fields.push(FieldNode {
                            name: fname.to_owned(),
                            ty: parse_node(fty, inner.as_deref(), names)?,
                            doc: f.get("doc").and_then(Json::as_str).map(str::to_owned),
                            default: f.get("default").cloned(),
                        });
                    }
                    let node = Arc::new(Node::Record {
                        name,
                        doc: obj.get("doc").and_then(Json::as_str).map(str::to_owned),
                        fields,
                        props: props_of(obj, &["aliases"]),
                    });
                    names.insert(full, Some(node.clone()));
                    Ok(node)
                }
                "enum" => {
                    let name = parse_name(obj, space)?;
                    let symbols = obj
                        .get("symbols")
                        .and_then(Json::as_array)
                        .ok_or_else(|| format!("enum {} has no \"symbols\"", name.full()))?
                        .iter()
                        .map(|s| s.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| format!("enum {} has a non-string symbol", name.full()))?;
                    let node = Arc::new(Node::Enum {
                        doc: obj.get("doc").and_then(Json::as_str).map(str::to_owned),
                        default: obj.get("default").and_then(Json::as_str).map(str::to_owned),
                        symbols,
                        props: props_of(obj, &["aliases", "default"]),
                        name: name.clone(),
                    });
                    names.insert(name.full(), Some(node.clone()));
                    Ok(node)
                }
                "fixed" => {
                    let name = parse_name(obj, space)?;
                    let size = obj
                        .get("size")
                        .and_then(Json::as_u64)
                        .and_then(|s| usize::try_from(s).ok())
                        .ok_or_else(|| format!("fixed {} has no integer \"size\"", name.full()))?;
                    let node = Arc::new(Node::Fixed {
                        size,
                        props: props_of(obj, &["aliases"]),
                        name: name.clone(),
                    });
                    names.insert(name.full(), Some(node.clone()));
                    Ok(node)
                }
                "array" => Ok(Arc::new(Node::Array {
                    items: parse_node(
                        obj.get("items").ok_or("an array schema has no \"items\"")?,
                        space,
                        names,
                    )?,
                    props: props_of(obj, &[]),
                })),
                "map" => Ok(Arc::new(Node::Map {
                    values: parse_node(
                        obj.get("values").ok_or("a map schema has no \"values\"")?,
                        space,
                        names,
                    )?,
                    props: props_of(obj, &[]),
                })),
                other => match Primitive::from_name(other) {
                    Some(ty) => Ok(Arc::new(Node::Primitive {
                        ty,
                        props: props_of(obj, &[]),
                    })),
                    None if obj.len() == 1 => lookup(other, space, names),
                    None => Err(format!("unknown Avro type {other:?}")),
                },
            }
        }
        other => Err(format!("not an Avro schema: {other}")),
    }
}
