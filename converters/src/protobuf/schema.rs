//! Connect schema → `.proto` text and encoding plan, as Confluent's `ProtobufData.fromConnectSchema`.
//!
//! One walk over the Connect schema produces both the schema text we register and the
//! [`MessagePlan`] the encoder follows, so the bytes can never disagree with the text.
//! The mapping (each rule is Confluent's, in `ProtobufData`):
//!
//! | Connect | proto3 |
//! |---|---|
//! | root struct named `a.b.C` | `package a.b;` + `message C` (unnamed: `ConnectDefault1`) |
//! | struct field | nested message named by the struct schema's last name component, or `ConnectDefault<n>` when unnamed (`n` counts unnamed structs and maps in walk order); `Message` is appended when it equals the field name; declared once per enclosing message |
//! | int8 / int16 | `int32` + `[(confluent.field_meta) = { params: [{key: "connect.type", value: "int8"}] }]` |
//! | int32, int64, float32, float64, boolean, string, bytes | `int32`, `int64`, `float`, `double`, `bool`, `string`, `bytes` |
//! | optional primitive with `wrapper.for.nullables=true` | `google.protobuf.Int32Value` … `BytesValue` |
//! | optional field with `optional.for.nullables=true` | `optional` label (proto3 explicit presence) |
//! | Decimal | `confluent.type.Decimal` + field_meta params `precision` (from `connect.decimal.precision`) and `scale` |
//! | Date / Time / Timestamp | `google.type.Date` / `google.type.TimeOfDay` / `google.protobuf.Timestamp` |
//! | array | `repeated` of the item type (an array of arrays is refused, as Confluent does) |
//! | map | `repeated <Name>Entry` with a nested `message <Name>Entry { K key = 1; V value = 2; }` |
//! | other named schemas (Debezium's `io.debezium.time.*`, `Json`, `Enum`, …) | their primitive type |
//!
//! Field numbers follow field position from 1 (or the `io.confluent.connect.protobuf.Tag`
//! parameter when present). Text layout follows Confluent's `ProtobufSchemaUtils.toString`:
//! fields, then nested messages, two-space indentation.
//!
//! Deliberate differences: Connect default values are not written as `[default = …]`
//! (proto3 forbids explicit defaults and protoc rejects them); two *different* struct schemas
//! that would get the same message name inside one message are refused with an error instead
//! of silently sharing the first definition; `io.confluent.connect.protobuf.Enum`/`Union`
//! schemas (only produced when reading foreign Protobuf) are written as their physical type.

use std::sync::Arc;

use sluice_core::schema::logical;
use sluice_core::{Schema, SchemaRef, Type};

use super::wire::{field_key, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT};
use super::ProtobufError;

/// Connect parameter holding an explicit protobuf field number.
pub const TAG_PARAM: &str = "io.confluent.connect.protobuf.Tag";
/// Connect parameter holding a Decimal's precision.
pub const PRECISION_PARAM: &str = "connect.decimal.precision";
/// Field-meta parameter naming the Connect type of an `int32` field.
pub const CONNECT_TYPE_PARAM: &str = "connect.type";

pub const DECIMAL_TYPE: &str = "confluent.type.Decimal";
pub const DATE_TYPE: &str = "google.type.Date";
pub const TIME_TYPE: &str = "google.type.TimeOfDay";
pub const TIMESTAMP_TYPE: &str = "google.protobuf.Timestamp";
pub const META_IMPORT: &str = "confluent/meta.proto";
pub const DECIMAL_IMPORT: &str = "confluent/type/decimal.proto";
pub const DATE_IMPORT: &str = "google/type/date.proto";
pub const TIME_IMPORT: &str = "google/type/timeofday.proto";
pub const TIMESTAMP_IMPORT: &str = "google/protobuf/timestamp.proto";
pub const WRAPPERS_IMPORT: &str = "google/protobuf/wrappers.proto";
const DEFAULT_NAME: &str = "ConnectDefault";

/// The ProtobufData settings that change the generated schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    /// `optional.for.nullables`: optional Connect fields get proto3's `optional` label.
    pub optional_for_nullables: bool,
    /// `wrapper.for.nullables`: optional primitives become `google.protobuf.*Value` messages.
    pub wrapper_for_nullables: bool,
    /// `scrub.invalid.names`: rewrite names that are not valid protobuf identifiers.
    pub scrub_invalid_names: bool,
}

/// A protobuf scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Int32,
    Int64,
    Float,
    Double,
    Bool,
    String,
    Bytes,
}

impl Scalar {
    pub fn proto_name(self) -> &'static str {
        match self {
            Scalar::Int32 => "int32",
            Scalar::Int64 => "int64",
            Scalar::Float => "float",
            Scalar::Double => "double",
            Scalar::Bool => "bool",
            Scalar::String => "string",
            Scalar::Bytes => "bytes",
        }
    }

    fn wrapper_name(self) -> &'static str {
        match self {
            Scalar::Int32 => "google.protobuf.Int32Value",
            Scalar::Int64 => "google.protobuf.Int64Value",
            Scalar::Float => "google.protobuf.FloatValue",
            Scalar::Double => "google.protobuf.DoubleValue",
            Scalar::Bool => "google.protobuf.BoolValue",
            Scalar::String => "google.protobuf.StringValue",
            Scalar::Bytes => "google.protobuf.BytesValue",
        }
    }

    /// The wire type of one value.
    pub fn wire_type(self) -> u32 {
        match self {
            Scalar::Int32 | Scalar::Int64 | Scalar::Bool => WIRE_VARINT,
            Scalar::Float => WIRE_FIXED32,
            Scalar::Double => WIRE_FIXED64,
            Scalar::String | Scalar::Bytes => WIRE_LEN,
        }
    }
}

/// How one field's values are written.
#[derive(Debug)]
pub enum Kind {
    Scalar(Scalar),
    /// A `google.protobuf.*Value` message holding the scalar in field 1.
    Wrapped(Scalar),
    Decimal,
    Date,
    Time,
    Timestamp,
    /// A nested message for a struct.
    Message(Arc<MessagePlan>),
    /// A map entry message (fields `key` = 1, `value` = 2).
    MapEntry(Arc<MessagePlan>),
}

/// One field of a message plan.
#[derive(Debug)]
pub struct FieldPlan {
    /// The Connect field name (for error messages).
    pub name: String,
    /// The Connect field schema (for defaults and struct checks).
    pub schema: SchemaRef,
    /// The key bytes of one element (its own wire type).
    pub key: Vec<u8>,
    /// The key bytes of a packed repeated field, when the field is a packable array.
    pub packed_key: Option<Vec<u8>>,
    /// `repeated` (arrays and maps).
    pub repeated: bool,
    /// proto3 `optional`: written even when it holds the default value.
    pub explicit: bool,
    /// What one element is.
    pub kind: Kind,
}

/// How to write one message: its fields in Connect order.
#[derive(Debug)]
pub struct MessagePlan {
    /// The struct schema values must have (the map schema for a map entry).
    pub schema: SchemaRef,
    pub fields: Vec<FieldPlan>,
}

/// A generated `.proto` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoFile {
    pub package: Option<String>,
    pub imports: Vec<&'static str>,
    pub root: MessageText,
}

/// A message declaration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageText {
    pub name: String,
    pub fields: Vec<FieldText>,
    pub nested: Vec<MessageText>,
}

/// A field declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldText {
    pub label: Option<&'static str>,
    pub ty: String,
    pub name: String,
    pub number: u32,
    pub params: Vec<(String, String)>,
}

/// The generated schema: file text model, the root's full name, and the encoding plan.
#[derive(Debug)]
pub struct Generated {
    pub file: ProtoFile,
    /// `package.Message` of the root.
    pub full_name: String,
    pub plan: Arc<MessagePlan>,
}

impl Generated {
    /// The schema text to register.
    pub fn text(&self) -> String {
        render(&self.file)
    }
}

struct Ctx {
    settings: Settings,
    unnamed: u32,
    imports: Vec<&'static str>,
}

impl Ctx {
    fn import(&mut self, file: &'static str) {
        if !self.imports.contains(&file) {
            self.imports.push(file);
        }
    }

    fn scrub(&self, name: &str) -> String {
        if self.settings.scrub_invalid_names {
            scrub_name(name)
        } else {
            name.to_owned()
        }
    }

    fn name_or_default(&mut self, name: Option<&str>) -> String {
        match name {
            Some(n) if !n.is_empty() => n.to_owned(),
            _ => {
                self.unnamed += 1;
                format!("{DEFAULT_NAME}{}", self.unnamed)
            }
        }
    }

    fn unqualified(&mut self, name: Option<&str>) -> String {
        let full = self.name_or_default(name);
        let last = full.rsplit('.').next().unwrap_or(&full).to_owned();
        self.scrub(&last)
    }
}

/// Generates the schema of a Connect struct schema.
pub fn generate(schema: &SchemaRef, settings: Settings) -> Result<Generated, ProtobufError> {
    if schema.ty != Type::Struct {
        return Err(ProtobufError::Schema(format!(
            "the ProtobufConverter writes struct schemas only, not {} (name {}); wrap the value in a struct, e.g. with the HoistField transform",
            schema.ty.json_name(),
            schema.name().unwrap_or("(none)")
        )));
    }
    let mut ctx = Ctx {
        settings,
        unnamed: 0,
        imports: Vec::new(),
    };
    let full = ctx.name_or_default(schema.name());
    let (package, name) = match full.rsplit_once('.') {
        Some((ns, n)) => (Some(ns.to_owned()), ctx.scrub(n)),
        None => (None, ctx.scrub(&full)),
    };
    let (root, plan) = message(&mut ctx, &name, schema)?;
    let full_name = match &package {
        Some(p) => format!("{p}.{name}"),
        None => name,
    };
    Ok(Generated {
        file: ProtoFile {
            package,
            imports: ctx.imports,
            root,
        },
        full_name,
        plan,
    })
}

/// Nested message names already declared in one message, with the schema each stands for.
type Declared = Vec<(String, SchemaRef, Arc<MessagePlan>)>;

fn message(
    ctx: &mut Ctx,
    name: &str,
    schema: &SchemaRef,
) -> Result<(MessageText, Arc<MessagePlan>), ProtobufError> {
    let mut text = MessageText {
        name: name.to_owned(),
        ..MessageText::default()
    };
    let mut plan = MessagePlan {
        schema: schema.clone(),
        fields: Vec::new(),
    };
    let mut declared: Declared = Vec::new();
    let mut next_number = 1u32;
    for field in &schema.fields {
        let number = match field.schema.parameter(TAG_PARAM) {
            Some(tag) => tag.parse::<u32>().map_err(|_| {
                ProtobufError::Schema(format!(
                    "field {}: parameter {TAG_PARAM} must be a positive field number, not {tag:?}",
                    field.name
                ))
            })?,
            None => {
                next_number += 1;
                next_number - 1
            }
        };
        let field_name = ctx.scrub(&field.name);
        let (f_text, f_plan) = field_def(
            ctx,
            &mut text,
            &mut declared,
            &field.schema,
            &field_name,
            number,
        )
        .map_err(|e| e.in_field(&field.name))?;
        if !f_text.params.is_empty() {
            ctx.import(META_IMPORT);
        }
        text.fields.push(f_text);
        plan.fields.push(FieldPlan {
            name: field.name.clone(),
            ..f_plan
        });
    }
    Ok((text, Arc::new(plan)))
}

fn field_def(
    ctx: &mut Ctx,
    parent: &mut MessageText,
    declared: &mut Declared,
    field_schema: &SchemaRef,
    name: &str,
    number: u32,
) -> Result<(FieldText, FieldPlan), ProtobufError> {
    let (label, repeated, elem) = match field_schema.ty {
        Type::Array => {
            let items = field_schema.value_schema.as_ref().ok_or_else(|| {
                ProtobufError::Schema("array schema without an item schema".into())
            })?;
            (Some("repeated"), true, items)
        }
        Type::Map => (Some("repeated"), true, field_schema),
        _ if ctx.settings.optional_for_nullables && field_schema.optional => {
            (Some("optional"), false, field_schema)
        }
        _ => (None, false, field_schema),
    };
    let mut params = Vec::new();
    let (ty, kind) = data_type(ctx, elem, name, &mut params)?;
    let kind = match (elem.ty, kind) {
        (Type::Struct, _) => {
            if ty == parent.name {
                return Err(ProtobufError::Schema(format!(
                    "struct {} would become message {ty} inside a message of the same name; give it another schema name",
                    elem.name().unwrap_or("(unnamed)")
                )));
            }
            let plan = match declared.iter().find(|(n, _, _)| *n == ty) {
                Some((_, s, p)) if s == elem => p.clone(),
                Some(_) => {
                    return Err(ProtobufError::Schema(format!(
                        "two different struct schemas would both become message {ty} inside message {}; give them distinct schema names",
                        parent.name
                    )))
                }
                None => {
                    let (m, p) = message(ctx, &ty, elem)?;
                    parent.nested.push(m);
                    declared.push((ty.clone(), elem.clone(), p.clone()));
                    p
                }
            };
            Kind::Message(plan)
        }
        (Type::Map, _) => {
            if parent.nested.iter().any(|m| m.name == ty) {
                return Err(ProtobufError::Schema(format!(
                    "two map fields would both declare message {ty} inside message {}; give the map schemas distinct names",
                    parent.name
                )));
            }
            let (m, p) = map_entry(ctx, &ty, elem)?;
            parent.nested.push(m);
            Kind::MapEntry(p)
        }
        (_, kind) => kind,
    };
    let wire = match &kind {
        Kind::Scalar(s) => s.wire_type(),
        _ => WIRE_LEN,
    };
    let packed_key = match (&kind, repeated) {
        (Kind::Scalar(s), true) if !matches!(s, Scalar::String | Scalar::Bytes) => {
            Some(field_key(number, WIRE_LEN))
        }
        _ => None,
    };
    match &kind {
        Kind::Decimal => ctx.import(DECIMAL_IMPORT),
        Kind::Date => ctx.import(DATE_IMPORT),
        Kind::Time => ctx.import(TIME_IMPORT),
        Kind::Timestamp => ctx.import(TIMESTAMP_IMPORT),
        Kind::Wrapped(_) => ctx.import(WRAPPERS_IMPORT),
        _ => {}
    }
    Ok((
        FieldText {
            label,
            ty,
            name: name.to_owned(),
            number,
            params,
        },
        FieldPlan {
            name: name.to_owned(),
            schema: field_schema.clone(),
            key: field_key(number, wire),
            packed_key,
            repeated,
            explicit: label == Some("optional"),
            kind,
        },
    ))
}

fn map_entry(
    ctx: &mut Ctx,
    name: &str,
    map: &SchemaRef,
) -> Result<(MessageText, Arc<MessagePlan>), ProtobufError> {
    let mut text = MessageText {
        name: name.to_owned(),
        ..MessageText::default()
    };
    let mut plan = MessagePlan {
        schema: map.clone(),
        fields: Vec::new(),
    };
    let mut declared = Declared::new();
    for (field_name, number, schema) in [
        ("key", 1, map.key_schema.as_ref()),
        ("value", 2, map.value_schema.as_ref()),
    ] {
        let schema = schema.ok_or_else(|| {
            ProtobufError::Schema(format!("map schema without a {field_name} schema"))
        })?;
        let (t, p) = field_def(ctx, &mut text, &mut declared, schema, field_name, number)?;
        text.fields.push(FieldText {
            params: Vec::new(), // Confluent drops field meta on map entries
            ..t
        });
        plan.fields.push(p);
    }
    Ok((text, Arc::new(plan)))
}

fn data_type(
    ctx: &mut Ctx,
    schema: &Schema,
    field_name: &str,
    params: &mut Vec<(String, String)>,
) -> Result<(String, Kind), ProtobufError> {
    match schema.name() {
        Some(logical::DECIMAL) => {
            if let Some(p) = schema.parameter(PRECISION_PARAM) {
                params.push(("precision".into(), p.into()));
            }
            if let Some(s) = schema.parameter(logical::DECIMAL_SCALE) {
                params.push(("scale".into(), s.into()));
            }
            return Ok((DECIMAL_TYPE.into(), Kind::Decimal));
        }
        Some(logical::DATE) => return Ok((DATE_TYPE.into(), Kind::Date)),
        Some(logical::TIME) => return Ok((TIME_TYPE.into(), Kind::Time)),
        Some(logical::TIMESTAMP) => return Ok((TIMESTAMP_TYPE.into(), Kind::Timestamp)),
        _ => {}
    }
    let wrap = ctx.settings.wrapper_for_nullables && schema.optional;
    let scalar = match schema.ty {
        Type::Int8 | Type::Int16 => {
            let t = if schema.ty == Type::Int8 { "int8" } else { "int16" };
            params.push((CONNECT_TYPE_PARAM.into(), t.into()));
            Scalar::Int32
        }
        Type::Int32 => Scalar::Int32,
        Type::Int64 => Scalar::Int64,
        Type::Float32 => Scalar::Float,
        Type::Float64 => Scalar::Double,
        Type::Boolean => Scalar::Bool,
        Type::String => Scalar::String,
        Type::Bytes => Scalar::Bytes,
        Type::Array => {
            return Err(ProtobufError::Schema(
                "an array of arrays has no Protobuf form (Confluent: \"Array cannot be nested\"); wrap the inner array in a struct".into(),
            ))
        }
        Type::Map => {
            let name = ctx.unqualified(schema.name());
            return Ok((map_entry_name(&name), Kind::Scalar(Scalar::Bytes)));
        }
        Type::Struct => {
            let mut name = ctx.unqualified(schema.name());
            if name == field_name {
                name.push_str("Message");
            }
            return Ok((name, Kind::Scalar(Scalar::Bytes)));
        }
    };
    Ok(if wrap {
        (scalar.wrapper_name().into(), Kind::Wrapped(scalar))
    } else {
        (scalar.proto_name().into(), Kind::Scalar(scalar))
    })
}

/// Confluent's `ProtobufSchema.toMapEntry`: `snake_case` becomes `UpperCamel`, then `Entry`.
pub fn map_entry_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 5);
    if name.contains('_') {
        for part in name.split('_') {
            let mut chars = part.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.extend(chars.flat_map(char::to_lowercase));
            }
        }
    } else {
        out.push_str(name);
    }
    out.push_str("Entry");
    out
}

/// Confluent's `doScrubName`: URL-encode, prefix `x` before a leading digit or `_`, and
/// replace what is still not `[A-Za-z0-9_]` by `_`.
pub fn scrub_name(name: &str) -> String {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if name.is_empty()
        || (name.chars().all(ok) && !name.starts_with(|c: char| c.is_ascii_digit() || c == '_'))
    {
        return name.to_owned();
    }
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                encoded.push(b as char)
            }
            b' ' => encoded.push('+'),
            _ => encoded.push_str(&format!("%{b:02X}")),
        }
    }
    if encoded.starts_with(|c: char| c.is_ascii_digit() || c == '_') {
        encoded.insert(0, 'x');
    }
    encoded
        .chars()
        .map(|c| if ok(c) { c } else { '_' })
        .collect()
}

/// Renders the file as Confluent's `ProtobufSchemaUtils.toString` lays it out.
pub fn render(file: &ProtoFile) -> String {
    let mut out = String::from("syntax = \"proto3\";\n");
    if let Some(p) = &file.package {
        out.push_str(&format!("package {p};\n"));
    }
    if !file.imports.is_empty() {
        out.push('\n');
        for i in &file.imports {
            out.push_str(&format!("import \"{i}\";\n"));
        }
    }
    out.push('\n');
    out.push_str(&render_message(&file.root));
    out
}

fn render_message(m: &MessageText) -> String {
    let mut out = format!("message {} {{", m.name);
    if !m.fields.is_empty() {
        out.push('\n');
        for f in &m.fields {
            indent(&mut out, &render_field(f));
        }
    }
    if !m.nested.is_empty() {
        out.push('\n');
        for n in &m.nested {
            indent(&mut out, &render_message(n));
        }
    }
    out.push_str("}\n");
    out
}

fn render_field(f: &FieldText) -> String {
    let mut out = String::new();
    if let Some(l) = f.label {
        out.push_str(l);
        out.push(' ');
    }
    out.push_str(&format!("{} {} = {}", f.ty, f.name, f.number));
    if !f.params.is_empty() {
        out.push_str(" [(confluent.field_meta) = {\n  params: [\n");
        for (i, (k, v)) in f.params.iter().enumerate() {
            let comma = if i + 1 < f.params.len() { "," } else { "" };
            out.push_str(&format!(
                "    {{\n      key: \"{}\",\n      value: \"{}\"\n    }}{comma}\n",
                escape(k),
                escape(v)
            ));
        }
        out.push_str("  ]\n}]");
    }
    out.push_str(";\n");
    out
}

fn indent(out: &mut String, block: &str) {
    for line in block.strip_suffix('\n').unwrap_or(block).split('\n') {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}
