//! Avro schemas parsed from their JSON, enough to validate a registration and to check
//! compatibility (see `compat`), following the Avro 1.11 specification:
//! - primitives `null boolean int long float double bytes string`, also as
//!   `{"type": "<primitive>", ...}` (a `logicalType` annotates, it does not change how data
//!   is resolved, so it is kept out of the model);
//! - named types `record` (and `error`), `enum`, `fixed`, each with a full name made from
//!   `name` (which may be dotted), `namespace`, or the enclosing namespace; a name may be
//!   used after its definition, by full name or by a name relative to the enclosing
//!   namespace; redefining a name is an error;
//! - `array` (`items`), `map` (`values`), unions as JSON arrays (no union directly inside a
//!   union, no two branches of the same unnamed type or the same name).
//!
//! Named types live in one table, referenced by full name, so recursive records
//! (`{"name": "next", "type": ["null", "Node"]}`) are plain data.

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

/// The primitive type names.
const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// Whether a name is one of Avro's primitive types.
pub fn is_primitive(name: &str) -> bool {
    PRIMITIVES.contains(&name)
}

/// An Avro type; named types are referenced by full name through [`AvroSchema::named`].
#[derive(Debug, Clone, PartialEq)]
pub enum AvroType {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array(Box<AvroType>),
    Map(Box<AvroType>),
    Union(Vec<AvroType>),
    /// A record, enum or fixed, by full name.
    Named(String),
}

/// A field of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub field_type: AvroType,
    pub default: Option<Value>,
    pub aliases: Vec<String>,
}

/// The definition of a named type.
#[derive(Debug, Clone, PartialEq)]
pub enum NamedType {
    Record {
        fields: Vec<Field>,
        aliases: Vec<String>,
    },
    Enum {
        symbols: Vec<String>,
        default: Option<String>,
        aliases: Vec<String>,
    },
    Fixed {
        size: u64,
        aliases: Vec<String>,
    },
}

impl NamedType {
    /// The aliases (full names) of the type.
    #[allow(dead_code)] // for the compatibility checks, which are not here yet
    pub fn aliases(&self) -> &[String] {
        match self {
            NamedType::Record { aliases, .. }
            | NamedType::Enum { aliases, .. }
            | NamedType::Fixed { aliases, .. } => aliases,
        }
    }
}

/// A parsed schema: the root type and the named types it defines.
#[derive(Debug, Clone, PartialEq)]
pub struct AvroSchema {
    pub root: AvroType,
    pub named: HashMap<String, NamedType>,
}

/// Why a text is not a valid Avro schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvroParseError(String);

impl fmt::Display for AvroParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the Avro schema is not valid: {}", self.0)
    }
}

impl std::error::Error for AvroParseError {}

fn invalid<T>(message: impl Into<String>) -> Result<T, AvroParseError> {
    Err(AvroParseError(message.into()))
}

impl AvroSchema {
    /// Parses a schema from its JSON.
    pub fn parse(json: &Value) -> Result<AvroSchema, AvroParseError> {
        let mut parser = Parser {
            named: HashMap::new(),
        };
        let root = parser.parse(json, "")?;
        Ok(AvroSchema {
            root,
            named: parser.named,
        })
    }

    /// The unqualified name of a full name (`a.b.C` → `C`).
    pub fn simple_name(full_name: &str) -> &str {
        full_name.rsplit('.').next().unwrap_or(full_name)
    }
}

struct Parser {
    named: HashMap<String, NamedType>,
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn string_list(
    map: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Vec<String>, AvroParseError> {
    match map.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => invalid(format!("{what}: '{key}' must hold strings, found {other}")),
            })
            .collect(),
        Some(other) => invalid(format!("{what}: '{key}' must be an array, found {other}")),
    }
}

impl Parser {
    fn parse(&mut self, json: &Value, namespace: &str) -> Result<AvroType, AvroParseError> {
        match json {
            Value::String(name) => self.by_name(name, namespace),
            Value::Array(branches) => self.union(branches, namespace),
            Value::Object(map) => self.object(map, namespace),
            other => invalid(format!(
                "a schema must be a type name, an object or a union array, found {other}"
            )),
        }
    }

    fn by_name(&self, name: &str, namespace: &str) -> Result<AvroType, AvroParseError> {
        let primitive = match name {
            "null" => Some(AvroType::Null),
            "boolean" => Some(AvroType::Boolean),
            "int" => Some(AvroType::Int),
            "long" => Some(AvroType::Long),
            "float" => Some(AvroType::Float),
            "double" => Some(AvroType::Double),
            "bytes" => Some(AvroType::Bytes),
            "string" => Some(AvroType::String),
            _ => None,
        };
        if let Some(primitive) = primitive {
            return Ok(primitive);
        }
        let qualified = if name.contains('.') || namespace.is_empty() {
            name.to_string()
        } else {
            format!("{namespace}.{name}")
        };
        if self.named.contains_key(&qualified) {
            return Ok(AvroType::Named(qualified));
        }
        if self.named.contains_key(name) {
            return Ok(AvroType::Named(name.to_string()));
        }
        invalid(format!(
            "unknown type '{name}': not a primitive, and no record, enum or fixed of that name is defined before this point"
        ))
    }

    fn union(&mut self, branches: &[Value], namespace: &str) -> Result<AvroType, AvroParseError> {
        let mut types = Vec::with_capacity(branches.len());
        for branch in branches {
            let parsed = self.parse(branch, namespace)?;
            if matches!(parsed, AvroType::Union(_)) {
                return invalid("a union may not directly contain another union");
            }
            let duplicate = types.iter().any(|t: &AvroType| match (t, &parsed) {
                (AvroType::Named(a), AvroType::Named(b)) => a == b,
                (AvroType::Array(_), AvroType::Array(_)) | (AvroType::Map(_), AvroType::Map(_)) => {
                    true
                }
                (a, b) => a == b,
            });
            if duplicate {
                return invalid(format!("a union lists the type {branch} twice"));
            }
            types.push(parsed);
        }
        Ok(AvroType::Union(types))
    }

    fn object(
        &mut self,
        map: &Map<String, Value>,
        namespace: &str,
    ) -> Result<AvroType, AvroParseError> {
        let type_name = match map.get("type") {
            Some(Value::String(name)) => name.as_str(),
            Some(nested @ (Value::Object(_) | Value::Array(_))) => {
                return self.parse(nested, namespace)
            }
            Some(other) => return invalid(format!("'type' must be a string, found {other}")),
            None => {
                return invalid(format!(
                    "a schema object has no 'type': {}",
                    Value::Object(map.clone())
                ))
            }
        };
        match type_name {
            "record" | "error" | "enum" | "fixed" => self.named_type(type_name, map, namespace),
            "array" => {
                let items = map
                    .get("items")
                    .ok_or_else(|| AvroParseError("an array has no 'items'".into()))?;
                Ok(AvroType::Array(Box::new(self.parse(items, namespace)?)))
            }
            "map" => {
                let values = map
                    .get("values")
                    .ok_or_else(|| AvroParseError("a map has no 'values'".into()))?;
                Ok(AvroType::Map(Box::new(self.parse(values, namespace)?)))
            }
            other => self.by_name(other, namespace),
        }
    }

    fn named_type(
        &mut self,
        kind: &str,
        map: &Map<String, Value>,
        enclosing: &str,
    ) -> Result<AvroType, AvroParseError> {
        let name = match map.get("name") {
            Some(Value::String(name)) => name.as_str(),
            _ => return invalid(format!("a {kind} must have a string 'name'")),
        };
        let (full_name, namespace) = match (name.rfind('.'), map.get("namespace")) {
            (Some(dot), _) => (name.to_string(), name[..dot].to_string()),
            (None, Some(Value::String(ns))) if !ns.is_empty() => {
                (format!("{ns}.{name}"), ns.clone())
            }
            (None, Some(Value::String(_)) | Some(Value::Null)) => (name.to_string(), String::new()),
            (None, None) if !enclosing.is_empty() => {
                (format!("{enclosing}.{name}"), enclosing.to_string())
            }
            (None, None) => (name.to_string(), String::new()),
            (None, Some(other)) => {
                return invalid(format!(
                    "{kind} {name}: 'namespace' must be a string, found {other}"
                ))
            }
        };
        for part in full_name.split('.') {
            if !valid_name(part) {
                return invalid(format!(
                    "{kind} name '{full_name}' is not a valid Avro name (letters, digits and '_', not starting with a digit)"
                ));
            }
        }
        if is_primitive(AvroSchema::simple_name(&full_name)) && !full_name.contains('.') {
            return invalid(format!(
                "a {kind} may not be named after the primitive '{full_name}'"
            ));
        }
        if self.named.contains_key(&full_name) {
            return invalid(format!("the name '{full_name}' is defined twice"));
        }
        let what = format!("{kind} {full_name}");
        let aliases = string_list(map, "aliases", &what)?
            .into_iter()
            .map(|alias| {
                if alias.contains('.') || namespace.is_empty() {
                    alias
                } else {
                    format!("{namespace}.{alias}")
                }
            })
            .collect();
        let definition = match kind {
            "enum" => {
                let symbols = match map.get("symbols") {
                    Some(Value::Array(_)) => string_list(map, "symbols", &what)?,
                    _ => return invalid(format!("{what} must have a 'symbols' array")),
                };
                for (i, symbol) in symbols.iter().enumerate() {
                    if !valid_name(symbol) {
                        return invalid(format!(
                            "{what}: symbol '{symbol}' is not a valid Avro name"
                        ));
                    }
                    if symbols[..i].contains(symbol) {
                        return invalid(format!("{what}: symbol '{symbol}' is listed twice"));
                    }
                }
                let default = match map.get("default") {
                    None => None,
                    Some(Value::String(d)) if symbols.contains(d) => Some(d.clone()),
                    Some(other) => {
                        return invalid(format!(
                            "{what}: default {other} is not one of its symbols"
                        ))
                    }
                };
                NamedType::Enum {
                    symbols,
                    default,
                    aliases,
                }
            }
            "fixed" => {
                let size = map.get("size").and_then(Value::as_u64).ok_or_else(|| {
                    AvroParseError(format!("{what} must have a non-negative integer 'size'"))
                })?;
                NamedType::Fixed { size, aliases }
            }
            _ => {
                // Define the record before its fields so fields can refer to it.
                self.named.insert(
                    full_name.clone(),
                    NamedType::Record {
                        fields: Vec::new(),
                        aliases: Vec::new(),
                    },
                );
                let fields = self.fields(map, &namespace, &what)?;
                NamedType::Record { fields, aliases }
            }
        };
        self.named.insert(full_name.clone(), definition);
        Ok(AvroType::Named(full_name))
    }

    fn fields(
        &mut self,
        map: &Map<String, Value>,
        namespace: &str,
        what: &str,
    ) -> Result<Vec<Field>, AvroParseError> {
        let Some(Value::Array(items)) = map.get("fields") else {
            return invalid(format!("{what} must have a 'fields' array"));
        };
        let mut fields: Vec<Field> = Vec::with_capacity(items.len());
        for item in items {
            let Value::Object(field) = item else {
                return invalid(format!("{what}: a field must be an object, found {item}"));
            };
            let name = match field.get("name") {
                Some(Value::String(name)) if valid_name(name) => name.clone(),
                Some(other) => {
                    return invalid(format!(
                        "{what}: field name {other} is not a valid Avro name"
                    ))
                }
                None => return invalid(format!("{what}: a field has no 'name'")),
            };
            if fields.iter().any(|f| f.name == name) {
                return invalid(format!("{what}: field '{name}' is defined twice"));
            }
            let field_what = format!("{what}, field '{name}'");
            let field_type = match field.get("type") {
                Some(t) => self
                    .parse(t, namespace)
                    .map_err(|e| AvroParseError(format!("{field_what}: {}", e.0)))?,
                None => return invalid(format!("{field_what} has no 'type'")),
            };
            fields.push(Field {
                name,
                field_type,
                default: field.get("default").cloned(),
                aliases: string_list(field, "aliases", &field_what)?,
            });
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_resolve_names_in_their_namespace_and_may_recurse() {
        let schema = AvroSchema::parse(&json!({
            "type": "record", "name": "Node", "namespace": "a.b",
            "fields": [
                {"name": "value", "type": {"type": "long", "logicalType": "timestamp-millis"}},
                {"name": "next", "type": ["null", "Node"], "default": null},
                {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
                {"name": "again", "type": "a.b.Kind"}
            ]
        }))
        .expect("valid");
        assert_eq!(schema.root, AvroType::Named("a.b.Node".into()));
        assert!(schema.named.contains_key("a.b.Kind"));
        let NamedType::Record { fields, .. } = &schema.named["a.b.Node"] else {
            panic!("record expected");
        };
        assert_eq!(fields[0].field_type, AvroType::Long);
        assert_eq!(
            fields[1].field_type,
            AvroType::Union(vec![AvroType::Null, AvroType::Named("a.b.Node".into())])
        );
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (
                json!({"type": "record", "name": "R", "fields": [{"name": "a", "type": "Missing"}]}),
                "unknown type 'Missing'",
            ),
            (
                json!({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}, {"name": "a", "type": "int"}]}),
                "field 'a' is defined twice",
            ),
            (json!(["null", ["int"]]), "union may not directly contain"),
            (json!(["int", "int"]), "twice"),
            (
                json!({"type": "enum", "name": "E", "symbols": ["A", "A"]}),
                "listed twice",
            ),
            (json!({"type": "fixed", "name": "F"}), "'size'"),
            (
                json!({"type": "record", "name": "1R", "fields": []}),
                "not a valid Avro name",
            ),
            (json!(42), "must be a type name"),
        ];
        for (schema, expected) in cases {
            let err = AvroSchema::parse(&schema).expect_err("invalid");
            assert!(err.to_string().contains(expected), "{schema}: {err}");
        }
    }
}
