//! Kafka Connect's `Schema`: a type, optionality, a name (which makes it a logical type),
//! a version, a doc, parameters, and the fields / item / key / value schemas of
//! composite types. Schemas are immutable and shared (`Arc`): a connector builds one per
//! table version and every record of that table points at it.

use std::sync::Arc;

use crate::value::Value;

/// A shared, immutable schema.
pub type SchemaRef = Arc<Schema>;

/// The physical type of a schema (Kafka Connect's `Schema.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl Type {
    /// The name Kafka Connect's JsonConverter writes (`"int32"`, `"float"`, …).
    pub fn json_name(self) -> &'static str {
        match self {
            Type::Int8 => "int8",
            Type::Int16 => "int16",
            Type::Int32 => "int32",
            Type::Int64 => "int64",
            Type::Float32 => "float",
            Type::Float64 => "double",
            Type::Boolean => "boolean",
            Type::String => "string",
            Type::Bytes => "bytes",
            Type::Array => "array",
            Type::Map => "map",
            Type::Struct => "struct",
        }
    }

    /// The inverse of [`Type::json_name`].
    pub fn from_json_name(name: &str) -> Option<Type> {
        Some(match name {
            "int8" => Type::Int8,
            "int16" => Type::Int16,
            "int32" => Type::Int32,
            "int64" => Type::Int64,
            "float" => Type::Float32,
            "double" => Type::Float64,
            "boolean" => Type::Boolean,
            "string" => Type::String,
            "bytes" => Type::Bytes,
            "array" => Type::Array,
            "map" => Type::Map,
            "struct" => Type::Struct,
            _ => return None,
        })
    }

    /// True for types that carry no child schemas.
    pub fn is_primitive(self) -> bool {
        !matches!(self, Type::Array | Type::Map | Type::Struct)
    }
}

/// A field of a struct schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field's name.
    pub name: String,
    /// Its position in the struct.
    pub index: usize,
    /// Its schema.
    pub schema: SchemaRef,
}

/// Kafka Connect's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The physical type.
    pub ty: Type,
    /// Whether the value may be null.
    pub optional: bool,
    /// The default value, if any.
    pub default: Option<Value>,
    /// The schema's name; a name makes it a logical type (e.g. `org.apache.kafka.connect.data.Date`).
    pub name: Option<String>,
    /// The schema's version.
    pub version: Option<i32>,
    /// Documentation.
    pub doc: Option<String>,
    /// Parameters, in insertion order (Decimal's `scale`, Debezium's `allowed`, …).
    pub parameters: Vec<(String, String)>,
    /// Fields of a struct.
    pub fields: Vec<Field>,
    /// Key schema of a map.
    pub key_schema: Option<SchemaRef>,
    /// Value schema of a map, item schema of an array.
    pub value_schema: Option<SchemaRef>,
}

impl Schema {
    /// Looks up a struct field by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// A parameter by key.
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The logical name, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// A plain schema of a primitive type.
    pub fn primitive(ty: Type, optional: bool) -> SchemaRef {
        let mut b = SchemaBuilder::new(ty);
        if optional {
            b = b.optional();
        }
        b.build()
    }
}

/// Names of Kafka Connect's logical types.
pub mod logical {
    /// `Decimal`: bytes holding the unscaled two's-complement big-endian integer; parameter `scale`.
    pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
    /// `Date`: int32 days since the epoch.
    pub const DATE: &str = "org.apache.kafka.connect.data.Date";
    /// `Time`: int32 milliseconds since midnight.
    pub const TIME: &str = "org.apache.kafka.connect.data.Time";
    /// `Timestamp`: int64 milliseconds since the epoch.
    pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
    /// The parameter holding a Decimal's scale.
    pub const DECIMAL_SCALE: &str = "scale";
}

/// Builds schemas, like Kafka Connect's `SchemaBuilder`.
#[derive(Debug, Clone)]
pub struct SchemaBuilder {
    schema: Schema,
}

impl SchemaBuilder {
    /// Starts a schema of the given type.
    pub fn new(ty: Type) -> Self {
        SchemaBuilder {
            schema: Schema {
                ty,
                optional: false,
                default: None,
                name: None,
                version: None,
                doc: None,
                parameters: Vec::new(),
                fields: Vec::new(),
                key_schema: None,
                value_schema: None,
            },
        }
    }

    /// A struct schema.
    pub fn struct_() -> Self {
        Self::new(Type::Struct)
    }

    /// An array of `items`.
    pub fn array(items: SchemaRef) -> Self {
        let mut b = Self::new(Type::Array);
        b.schema.value_schema = Some(items);
        b
    }

    /// A map from `key` to `value`.
    pub fn map(key: SchemaRef, value: SchemaRef) -> Self {
        let mut b = Self::new(Type::Map);
        b.schema.key_schema = Some(key);
        b.schema.value_schema = Some(value);
        b
    }

    /// `Decimal` with the given scale.
    pub fn decimal(scale: i32) -> Self {
        Self::new(Type::Bytes)
            .name(logical::DECIMAL)
            .version(1)
            .parameter(logical::DECIMAL_SCALE, scale.to_string())
    }

    /// `Date`.
    pub fn date() -> Self {
        Self::new(Type::Int32).name(logical::DATE).version(1)
    }

    /// `Time`.
    pub fn time() -> Self {
        Self::new(Type::Int32).name(logical::TIME).version(1)
    }

    /// `Timestamp`.
    pub fn timestamp() -> Self {
        Self::new(Type::Int64).name(logical::TIMESTAMP).version(1)
    }

    /// Marks the schema optional.
    pub fn optional(mut self) -> Self {
        self.schema.optional = true;
        self
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.schema.name = Some(name.into());
        self
    }

    /// Sets the version.
    pub fn version(mut self, version: i32) -> Self {
        self.schema.version = Some(version);
        self
    }

    /// Sets the doc.
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.schema.doc = Some(doc.into());
        self
    }

    /// Sets the default value.
    pub fn default_value(mut self, value: Value) -> Self {
        self.schema.default = Some(value);
        self
    }

    /// Adds a parameter (replacing one of the same key).
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        let value = value.into();
        match self.schema.parameters.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.schema.parameters.push((key, value)),
        }
        self
    }

    /// Adds a struct field.
    pub fn field(mut self, name: impl Into<String>, schema: SchemaRef) -> Self {
        let index = self.schema.fields.len();
        self.schema.fields.push(Field {
            name: name.into(),
            index,
            schema,
        });
        self
    }

    /// Finishes the schema.
    pub fn build(self) -> SchemaRef {
        Arc::new(self.schema)
    }

    /// Finishes the schema without wrapping it.
    pub fn into_schema(self) -> Schema {
        self.schema
    }
}
