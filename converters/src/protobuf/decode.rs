//! Writer-schema descriptor → Connect schema, and protobuf bytes → Connect value, as
//! Confluent's `ProtobufData.toConnectSchema` / `toConnectData`.
//!
//! Reading follows Confluent, not our writer, so a sink sees what Kafka Connect with the
//! ProtobufConverter would see for the same topic, whoever wrote it:
//! - a message becomes a struct named by the message's simple name (its full name with
//!   `enhanced.protobuf.schema.support`); real oneofs come first, as optional structs named
//!   `io.confluent.connect.protobuf.Union.<oneof>` in fields `<oneof>_<index>`;
//! - every field carries `io.confluent.connect.protobuf.Tag` = its number; it is optional
//!   unless `optional.for.nullables` (then only `optional`-labelled fields are) or
//!   `wrapper.for.nullables` (then only messages, enums and repeated fields are);
//! - `int32` with field meta `connect.type` int8/int16 reads back as int8/int16; unsigned
//!   and fixed 32-bit types widen to int64 (with `io.confluent.connect.protobuf.Type`);
//! - `confluent.type.Decimal`, `google.type.Date`, `google.type.TimeOfDay`,
//!   `google.protobuf.Timestamp` become Decimal (scale and precision from the field meta),
//!   Date, Time and Timestamp; wrappers unwrap when `wrapper.for.nullables`;
//! - repeated `XEntry {key, value}` messages (and `map<>`) become maps named `x`;
//! - enums become strings (int32 with `int.for.enums`) carrying Confluent's enum parameters.
//!
//! Values: an unset field without presence reads as its protobuf default (so a null written
//! without `optional`/wrappers reads back as 0 / "" — Confluent's behaviour); an unset
//! message or `optional` field reads as null.

use std::borrow::Cow;

use num_bigint::BigInt;
use prost_reflect::{
    Cardinality, DynamicMessage, FieldDescriptor, Kind as PKind, MessageDescriptor, ReflectMessage,
    Syntax, Value as PValue,
};
use sluice_core::value::{Decimal, Struct};
use sluice_core::{Schema, SchemaBuilder, SchemaRef, Type, Value};

use super::calendar;
use super::schema::{CONNECT_TYPE_PARAM, PRECISION_PARAM, TAG_PARAM};
use super::ProtobufError;

const TYPE_PARAM: &str = "io.confluent.connect.protobuf.Type";
const ENUM_PARAM: &str = "io.confluent.connect.protobuf.Enum";
const UNION_PREFIX: &str = "io.confluent.connect.protobuf.Union.";

/// The ProtobufData settings that change how schemas are read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadSettings {
    pub optional_for_nullables: bool,
    pub wrapper_for_nullables: bool,
    pub int_for_enums: bool,
    pub enhanced_schema_support: bool,
}

/// The Connect schema of a message.
pub fn connect_schema(
    desc: &MessageDescriptor,
    settings: ReadSettings,
) -> Result<SchemaRef, ProtobufError> {
    Ok(struct_schema(desc, settings, &mut Vec::new())?.build())
}

fn struct_schema(
    desc: &MessageDescriptor,
    s: ReadSettings,
    stack: &mut Vec<String>,
) -> Result<SchemaBuilder, ProtobufError> {
    if stack.iter().any(|n| n == desc.full_name()) {
        return Err(ProtobufError::Schema(format!(
            "message {} contains itself; recursive messages have no Connect schema here",
            desc.full_name()
        )));
    }
    stack.push(desc.full_name().to_owned());
    let name = if s.enhanced_schema_support {
        desc.full_name()
    } else {
        desc.name()
    };
    let mut b = SchemaBuilder::struct_().name(name);
    for (index, oneof) in desc.oneofs().enumerate().filter(|(_, o)| !o.is_synthetic()) {
        let oname = if s.enhanced_schema_support {
            oneof.full_name()
        } else {
            oneof.name()
        };
        let mut u = SchemaBuilder::struct_().name(format!("{UNION_PREFIX}{oname}"));
        for f in oneof.fields() {
            u = u.field(f.name(), field_schema(&f, s, stack)?);
        }
        b = b.field(format!("{}_{index}", oneof.name()), u.optional().build());
    }
    for f in desc.fields().filter(|f| real_oneof(f).is_none()) {
        b = b.field(f.name(), field_schema(&f, s, stack)?);
    }
    stack.pop();
    Ok(b)
}

fn real_oneof(f: &FieldDescriptor) -> Option<prost_reflect::OneofDescriptor> {
    f.containing_oneof().filter(|o| !o.is_synthetic())
}

/// The `(confluent.field_meta).params` of a field.
fn meta_params(f: &FieldDescriptor) -> Vec<(String, String)> {
    let pool = f.parent_pool();
    let Some(ext) = pool.get_extension_by_name("confluent.field_meta") else {
        return Vec::new();
    };
    let options = f.options();
    if !options.has_extension(&ext) {
        return Vec::new();
    }
    let meta = options.get_extension(&ext);
    let Some(meta) = meta.as_message() else {
        return Vec::new();
    };
    let Some(params) = meta.get_field_by_name("params") else {
        return Vec::new();
    };
    match params.as_ref() {
        PValue::Map(m) => m
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
            .collect(),
        _ => Vec::new(),
    }
}

fn has_optional_keyword(f: &FieldDescriptor) -> bool {
    f.field_descriptor_proto().proto3_optional()
        || (f.parent_file().syntax() == Syntax::Proto2 && f.cardinality() == Cardinality::Optional)
}

fn is_map_entry(f: &FieldDescriptor) -> Option<MessageDescriptor> {
    let PKind::Message(m) = f.kind() else {
        return None;
    };
    let fields: Vec<_> = m.fields().collect();
    let ok = f.is_map()
        || (f.is_list()
            && m.name().ends_with("Entry")
            && fields.len() == 2
            && fields[0].name() == "key"
            && fields[1].name() == "value"
            && !fields[0].is_list()
            && !fields[1].is_list());
    ok.then_some(m)
}

/// Confluent's `ProtobufSchema.toMapField`: strip `Entry`, `UpperCamel` → `lower_underscore`.
fn map_field_name(entry: &str) -> String {
    let Some(base) = entry.strip_suffix("Entry") else {
        return entry.to_owned();
    };
    let mut out = String::with_capacity(base.len() + 4);
    for (i, c) in base.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn field_schema(
    f: &FieldDescriptor,
    s: ReadSettings,
    stack: &mut Vec<String>,
) -> Result<SchemaRef, ProtobufError> {
    let mut is_map = false;
    let mut b = match f.kind() {
        PKind::Int32 | PKind::Sint32 | PKind::Sfixed32 => {
            let params = meta_params(f);
            let connect_type = params
                .iter()
                .find(|(k, _)| k == CONNECT_TYPE_PARAM)
                .map(|(_, v)| v.as_str());
            match connect_type {
                Some("int8") => SchemaBuilder::new(Type::Int8),
                Some("int16") => SchemaBuilder::new(Type::Int16),
                _ if f.kind() == PKind::Int32 => SchemaBuilder::new(Type::Int32),
                _ => SchemaBuilder::new(Type::Int32).parameter(TYPE_PARAM, kind_name(f)),
            }
        }
        PKind::Int64 => SchemaBuilder::new(Type::Int64),
        PKind::Uint32
        | PKind::Fixed32
        | PKind::Uint64
        | PKind::Sint64
        | PKind::Fixed64
        | PKind::Sfixed64 => SchemaBuilder::new(Type::Int64).parameter(TYPE_PARAM, kind_name(f)),
        PKind::Float => SchemaBuilder::new(Type::Float32),
        PKind::Double => SchemaBuilder::new(Type::Float64),
        PKind::Bool => SchemaBuilder::new(Type::Boolean),
        PKind::String => SchemaBuilder::new(Type::String),
        PKind::Bytes => SchemaBuilder::new(Type::Bytes),
        PKind::Enum(e) => {
            let ty = if s.int_for_enums {
                Type::Int32
            } else {
                Type::String
            };
            let name = if s.enhanced_schema_support {
                e.full_name()
            } else {
                e.name()
            };
            let mut b = SchemaBuilder::new(ty)
                .name(name)
                .parameter(ENUM_PARAM, e.name());
            for v in e.values() {
                b = b.parameter(format!("{ENUM_PARAM}.{}", v.name()), v.number().to_string());
            }
            b.optional()
        }
        PKind::Message(m) => {
            let b = match m.full_name() {
                "confluent.type.Decimal" => {
                    let params = meta_params(f);
                    let get = |k: &str| {
                        params
                            .iter()
                            .find(|(p, _)| p == k)
                            .and_then(|(_, v)| v.parse::<i32>().ok())
                    };
                    let mut b = SchemaBuilder::decimal(get("scale").unwrap_or(0));
                    if let Some(p) = get("precision") {
                        b = b.parameter(PRECISION_PARAM, p.to_string());
                    }
                    b
                }
                "google.type.Date" => SchemaBuilder::date(),
                "google.type.TimeOfDay" => SchemaBuilder::time(),
                "google.protobuf.Timestamp" => SchemaBuilder::timestamp(),
                name => match (s.wrapper_for_nullables, unwrapped_type(name)) {
                    (true, Some(t)) => SchemaBuilder::new(t),
                    _ => match is_map_entry(f) {
                        Some(entry) => {
                            is_map = true;
                            let mut kv = entry.fields();
                            let (Some(k), Some(v)) = (kv.next(), kv.next()) else {
                                return Err(ProtobufError::Schema(format!(
                                    "map entry {} needs key and value fields",
                                    entry.full_name()
                                )));
                            };
                            let name = if s.enhanced_schema_support {
                                entry.full_name().to_owned()
                            } else {
                                entry.name().to_owned()
                            };
                            SchemaBuilder::map(
                                field_schema(&k, s, stack)?,
                                field_schema(&v, s, stack)?,
                            )
                            .name(map_field_name(&name))
                        }
                        None => struct_schema(&m, s, stack)?,
                    },
                },
            };
            b.optional()
        }
    };
    if f.is_list() && !is_map {
        b = SchemaBuilder::array(b.optional().build()).optional();
    }
    if s.optional_for_nullables {
        if has_optional_keyword(f) {
            b = b.optional();
        }
    } else if !s.wrapper_for_nullables {
        b = b.optional();
    }
    Ok(b.parameter(TAG_PARAM, f.number().to_string()).build())
}

fn kind_name(f: &FieldDescriptor) -> &'static str {
    match f.kind() {
        PKind::Sint32 => "sint32",
        PKind::Sfixed32 => "sfixed32",
        PKind::Uint32 => "uint32",
        PKind::Fixed32 => "fixed32",
        PKind::Uint64 => "uint64",
        PKind::Sint64 => "sint64",
        PKind::Fixed64 => "fixed64",
        PKind::Sfixed64 => "sfixed64",
        _ => "int32",
    }
}

fn unwrapped_type(message: &str) -> Option<Type> {
    Some(match message {
        "google.protobuf.DoubleValue" => Type::Float64,
        "google.protobuf.FloatValue" => Type::Float32,
        "google.protobuf.Int64Value" | "google.protobuf.UInt64Value" => Type::Int64,
        "google.protobuf.UInt32Value" => Type::Int64,
        "google.protobuf.Int32Value" => Type::Int32,
        "google.protobuf.BoolValue" => Type::Boolean,
        "google.protobuf.StringValue" => Type::String,
        "google.protobuf.BytesValue" => Type::Bytes,
        _ => return None,
    })
}

/// Decodes a message body of type `desc` into a value of `schema` (from [`connect_schema`]).
pub fn decode_value(
    desc: &MessageDescriptor,
    schema: &SchemaRef,
    body: &[u8],
) -> Result<Value, ProtobufError> {
    let message = DynamicMessage::decode(desc.clone(), body).map_err(|e| {
        ProtobufError::Wire(format!(
            "the record body is not a valid {} message: {e}",
            desc.full_name()
        ))
    })?;
    struct_value(schema, &message)
}

fn struct_value(schema: &SchemaRef, message: &DynamicMessage) -> Result<Value, ProtobufError> {
    let desc = message.descriptor();
    let mut values = Vec::with_capacity(schema.fields.len());
    let mut slots = schema.fields.iter();
    for oneof in desc.oneofs().filter(|o| !o.is_synthetic()) {
        let field = slots.next().ok_or_else(shape_error)?;
        let set = oneof.fields().find(|f| message.has_field(f));
        values.push(match set {
            None => Value::Null,
            Some(f) => {
                let mut u = Struct::new(field.schema.clone());
                let member = field.schema.field(f.name()).ok_or_else(shape_error)?;
                let v = to_value(&member.schema, &message.get_field(&f))?;
                u.put(f.name(), v)
                    .map_err(|e| ProtobufError::Value(e.to_string()))?;
                Value::Struct(u)
            }
        });
    }
    for f in desc.fields().filter(|f| real_oneof(f).is_none()) {
        let field = slots.next().ok_or_else(shape_error)?;
        let implicit = (!matches!(f.kind(), PKind::Message(_)) || f.is_list() || f.is_map())
            && !has_optional_keyword(&f);
        let v = if implicit || message.has_field(&f) {
            to_value(&field.schema, &message.get_field(&f)).map_err(|e| e.in_field(f.name()))?
        } else {
            Value::Null
        };
        values.push(v);
    }
    Struct::from_values(schema.clone(), values)
        .map(Value::Struct)
        .map_err(|e| ProtobufError::Value(e.to_string()))
}

fn shape_error() -> ProtobufError {
    ProtobufError::Schema("the Connect schema does not match the message descriptor".into())
}

fn to_value(schema: &SchemaRef, v: &PValue) -> Result<Value, ProtobufError> {
    if let Some(name) = schema.name() {
        match (name, v) {
            (sluice_core::schema::logical::DECIMAL, PValue::Message(m)) => return decimal(m),
            (sluice_core::schema::logical::DATE, PValue::Message(m)) => {
                let [y, mo, d] = ints(m, ["year", "month", "day"]);
                return Ok(Value::Int32(calendar::days_from_date(y, mo, d)?));
            }
            (sluice_core::schema::logical::TIME, PValue::Message(m)) => {
                let [h, mi, s] = ints(m, ["hours", "minutes", "seconds"]);
                let [n, _, _] = ints(m, ["nanos", "", ""]);
                return Ok(Value::Int32(calendar::millis_of_day(h, mi, s, n)?));
            }
            (sluice_core::schema::logical::TIMESTAMP, PValue::Message(m)) => {
                let seconds = m
                    .get_field_by_name("seconds")
                    .and_then(|v| v.as_i64())
                    .unwrap_or(0);
                let [nanos, _, _] = ints(m, ["nanos", "", ""]);
                return Ok(Value::Int64(calendar::timestamp_millis(seconds, nanos)?));
            }
            _ => {}
        }
    }
    let v = match v {
        PValue::Message(m) if schema.ty != Type::Struct => match m.get_field_by_name("value") {
            Some(inner) => Cow::Owned(inner.into_owned()),
            None => return Err(mismatch(schema, v)),
        },
        _ => Cow::Borrowed(v),
    };
    Ok(match (schema.ty, v.as_ref()) {
        (Type::Int8, PValue::I32(x)) => Value::Int8(*x as i8),
        (Type::Int16, PValue::I32(x)) => Value::Int16(*x as i16),
        (Type::Int32, PValue::I32(x)) => Value::Int32(*x),
        (Type::Int32, PValue::EnumNumber(x)) => Value::Int32(*x),
        (Type::Int64, PValue::I64(x)) => Value::Int64(*x),
        (Type::Int64, PValue::U32(x)) => Value::Int64(i64::from(*x)),
        (Type::Int64, PValue::U64(x)) => Value::Int64(*x as i64),
        (Type::Float32, PValue::F32(x)) => Value::Float32(*x),
        (Type::Float64, PValue::F64(x)) => Value::Float64(*x),
        (Type::Boolean, PValue::Bool(b)) => Value::Boolean(*b),
        (Type::String, PValue::String(s)) => Value::String(s.clone()),
        (Type::String, PValue::EnumNumber(n)) => Value::String(enum_symbol(schema, *n)),
        (Type::Bytes, PValue::Bytes(b)) => Value::Bytes(b.to_vec()),
        (Type::Array, PValue::List(items)) => {
            let item = schema
                .value_schema
                .as_ref()
                .ok_or_else(|| mismatch(schema, v.as_ref()))?;
            Value::Array(
                items
                    .iter()
                    .map(|i| to_value(item, i))
                    .collect::<Result<_, _>>()?,
            )
        }
        (Type::Map, PValue::List(entries)) => {
            let (ks, vs) = kv_schemas(schema)?;
            let mut out = Vec::with_capacity(entries.len());
            for e in entries {
                let PValue::Message(e) = e else {
                    return Err(mismatch(schema, e));
                };
                let k = e.get_field_by_name("key").ok_or_else(shape_error)?;
                let val = e.get_field_by_name("value").ok_or_else(shape_error)?;
                out.push((to_value(ks, &k)?, to_value(vs, &val)?));
            }
            Value::Map(out)
        }
        (Type::Map, PValue::Map(entries)) => {
            let (ks, vs) = kv_schemas(schema)?;
            let mut out = Vec::with_capacity(entries.len());
            for (k, val) in entries {
                let k: PValue = k.clone().into();
                out.push((to_value(ks, &k)?, to_value(vs, val)?));
            }
            Value::Map(out)
        }
        (Type::Struct, PValue::Message(m)) => struct_value(schema, m)?,
        (_, other) => return Err(mismatch(schema, other)),
    })
}

fn kv_schemas(schema: &Schema) -> Result<(&SchemaRef, &SchemaRef), ProtobufError> {
    match (&schema.key_schema, &schema.value_schema) {
        (Some(k), Some(v)) => Ok((k, v)),
        _ => Err(shape_error()),
    }
}

fn enum_symbol(schema: &Schema, number: i32) -> String {
    let n = number.to_string();
    schema
        .parameters
        .iter()
        .find_map(|(k, v)| {
            (*v == n)
                .then(|| k.strip_prefix(ENUM_PARAM)?.strip_prefix('.'))
                .flatten()
        })
        .map_or(n.clone(), str::to_owned)
}

fn ints(m: &DynamicMessage, names: [&str; 3]) -> [i32; 3] {
    names.map(|n| m.get_field_by_name(n).and_then(|v| v.as_i32()).unwrap_or(0))
}

fn decimal(m: &DynamicMessage) -> Result<Value, ProtobufError> {
    let bytes = m
        .get_field_by_name("value")
        .and_then(|v| v.as_bytes().map(|b| b.to_vec()))
        .unwrap_or_default();
    let scale = m
        .get_field_by_name("scale")
        .and_then(|v| v.as_i32())
        .unwrap_or(0);
    Ok(Value::Decimal(Decimal::new(
        BigInt::from_signed_bytes_be(&bytes),
        scale,
    )))
}

fn mismatch(schema: &Schema, v: &PValue) -> ProtobufError {
    ProtobufError::Value(format!(
        "protobuf value {v:?} does not fit Connect type {}",
        schema.ty.json_name()
    ))
}
