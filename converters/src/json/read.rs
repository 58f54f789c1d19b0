//! Reads Kafka Connect JSON back into Connect schemas and values, as
//! `JsonConverter.asConnectSchema` / `convertToConnect` do.

use base64::Engine as _;
use serde_json::Value as Json;
use sluice_core::schema::logical;
use sluice_core::{ConnectError, Decimal, SchemaBuilder, SchemaRef, Struct, Type, Value};

/// How far a numeric decimal's own scale may be from its schema's: rescaling by more
/// would cost time and memory in proportion, for digits no real decimal has.
const MAX_RESCALE_DIGITS: i64 = 1_000;

fn err(msg: impl Into<String>) -> ConnectError {
    ConnectError::Data(msg.into())
}

/// How values are read.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// `replace.null.with.default`: a null (or missing) value whose schema has a default
    /// reads as the default; when off, as null (Kafka 3.7+ reads with the option too).
    pub replace_null_with_default: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            replace_null_with_default: true,
        }
    }
}

/// Parses a schema in Kafka Connect's JSON form.
pub fn read_schema(json: &Json) -> Result<SchemaRef, ConnectError> {
    read_schema_with(ReadOptions::default(), json)
}

/// Parses a schema in Kafka Connect's JSON form; `opts` applies to its default value.
pub fn read_schema_with(opts: ReadOptions, json: &Json) -> Result<SchemaRef, ConnectError> {
    let obj = json
        .as_object()
        .ok_or_else(|| err(format!("schema must be a JSON object, got {json}")))?;
    let type_name = obj
        .get("type")
        .and_then(Json::as_str)
        .ok_or_else(|| err("schema must contain a \"type\" field"))?;
    let ty = Type::from_json_name(type_name).ok_or_else(|| {
        err(format!(
            "unknown schema type \"{type_name}\"; expected one of int8, int16, int32, int64, float, double, boolean, string, bytes, array, map, struct"
        ))
    })?;
    let mut b = match ty {
        Type::Array => SchemaBuilder::array(read_schema_with(
            opts,
            obj.get("items")
                .ok_or_else(|| err("array schema must contain \"items\""))?,
        )?),
        Type::Map => SchemaBuilder::map(
            read_schema_with(
                opts,
                obj.get("keys")
                    .ok_or_else(|| err("map schema must contain \"keys\""))?,
            )?,
            read_schema_with(
                opts,
                obj.get("values")
                    .ok_or_else(|| err("map schema must contain \"values\""))?,
            )?,
        ),
        Type::Struct => {
            let fields = obj
                .get("fields")
                .and_then(Json::as_array)
                .ok_or_else(|| err("struct schema must contain a \"fields\" array"))?;
            let mut b = SchemaBuilder::struct_();
            for f in fields {
                let name = f.get("field").and_then(Json::as_str).ok_or_else(|| {
                    err(format!("struct field schema must contain \"field\": {f}"))
                })?;
                b = b.field(name, read_schema_with(opts, f)?);
            }
            b
        }
        _ => SchemaBuilder::new(ty),
    };
    if obj.get("optional").and_then(Json::as_bool) == Some(true) {
        b = b.optional();
    }
    if let Some(name) = obj.get("name").and_then(Json::as_str) {
        b = b.name(name);
    }
    if let Some(v) = obj.get("version").and_then(Json::as_i64) {
        b = b.version(
            i32::try_from(v).map_err(|_| err(format!("schema version {v} out of range")))?,
        );
    }
    if let Some(doc) = obj.get("doc").and_then(Json::as_str) {
        b = b.doc(doc);
    }
    if let Some(params) = obj.get("parameters") {
        let params = params
            .as_object()
            .ok_or_else(|| err("schema parameters must be an object"))?;
        for (k, v) in params {
            let v = v
                .as_str()
                .ok_or_else(|| err(format!("schema parameter {k} must be a string")))?;
            b = b.parameter(k.clone(), v);
        }
    }
    if let Some(default) = obj.get("default") {
        let partial = b.clone().build();
        let value = read_value_with(opts, Some(&partial), default)?;
        b = b.default_value(value);
    }
    Ok(b.build())
}

fn int_in<T: TryFrom<i64>>(json: &Json, what: &str) -> Result<T, ConnectError> {
    json.as_i64()
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| err(format!("expected {what}, got {json}")))
}

/// Converts a JSON payload to a value of `schema`; schemaless when `schema` is `None`.
pub fn read_value(schema: Option<&SchemaRef>, json: &Json) -> Result<Value, ConnectError> {
    read_value_with(ReadOptions::default(), schema, json)
}

/// [`read_value`] with explicit options.
pub fn read_value_with(
    opts: ReadOptions,
    schema: Option<&SchemaRef>,
    json: &Json,
) -> Result<Value, ConnectError> {
    let Some(schema) = schema else {
        return Ok(read_schemaless(json));
    };
    if json.is_null() {
        if let Some(default) = schema
            .default
            .as_ref()
            .filter(|_| opts.replace_null_with_default)
        {
            return Ok(default.clone());
        }
        if schema.optional {
            return Ok(Value::Null);
        }
        return Err(err(format!(
            "invalid null value for required {} field",
            schema.ty.json_name()
        )));
    }
    Ok(match schema.ty {
        Type::Int8 => Value::Int8(int_in(json, "an int8")?),
        Type::Int16 => Value::Int16(int_in(json, "an int16")?),
        Type::Int32 => Value::Int32(int_in(json, "an int32")?),
        Type::Int64 => Value::Int64(int_in(json, "an int64")?),
        Type::Float32 => Value::Float32(read_f32(json)?),
        Type::Float64 => Value::Float64(read_float(json)?),
        Type::Boolean => Value::Boolean(
            json.as_bool()
                .ok_or_else(|| err(format!("expected a boolean, got {json}")))?,
        ),
        Type::String => Value::String(
            json.as_str()
                .ok_or_else(|| err(format!("expected a string, got {json}")))?
                .to_owned(),
        ),
        Type::Bytes if schema.name() == Some(logical::DECIMAL) => {
            let scale: i32 = schema
                .parameter(logical::DECIMAL_SCALE)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| err("Decimal schema without a valid \"scale\" parameter"))?;
            match json {
                Json::Number(n) => {
                    let d = Decimal::parse(&n.to_string())
                        .ok_or_else(|| err(format!("invalid decimal number {n}")))?;
                    // Rescaling multiplies or divides by 10^|difference|: a scale
                    // billions of digits away (a hostile schema, or `1E-2000000000`)
                    // would build a number of billions of digits.
                    if (i64::from(scale) - i64::from(d.scale)).abs() > MAX_RESCALE_DIGITS {
                        return Err(err(format!(
                            "decimal {n} cannot be read at the schema's scale {scale}: its own scale is {}, more than {MAX_RESCALE_DIGITS} digits away; write the decimal at (or near) the schema's scale",
                            d.scale
                        )));
                    }
                    d.with_scale(scale).ok_or_else(|| {
                        err(format!(
                            "decimal {n} has more digits than the schema's scale {scale}"
                        ))
                    })?
                }
                Json::String(s) => Decimal::from_bytes(&decode_base64(s)?, scale),
                _ => return Err(err(format!("expected a decimal, got {json}"))),
            }
            .into()
        }
        Type::Bytes => {
            let s = json
                .as_str()
                .ok_or_else(|| err(format!("expected base64 bytes, got {json}")))?;
            Value::Bytes(decode_base64(s)?)
        }
        Type::Array => {
            let items = json
                .as_array()
                .ok_or_else(|| err(format!("expected an array, got {json}")))?;
            let item_schema = schema.value_schema.as_ref();
            Value::Array(
                items
                    .iter()
                    .map(|i| read_value_with(opts, item_schema, i))
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Map => {
            let ks = schema.key_schema.as_ref();
            let vs = schema.value_schema.as_ref();
            match json {
                Json::Object(o) if ks.is_some_and(|k| k.ty == Type::String) => Value::Map(
                    o.iter()
                        .map(|(k, v)| Ok((Value::String(k.clone()), read_value_with(opts, vs, v)?)))
                        .collect::<Result<_, ConnectError>>()?,
                ),
                Json::Array(pairs) => Value::Map(
                    pairs
                        .iter()
                        .map(|p| match p.as_array().map(Vec::as_slice) {
                            Some([k, v]) => {
                                Ok((read_value_with(opts, ks, k)?, read_value_with(opts, vs, v)?))
                            }
                            _ => Err(err(format!(
                                "map entry must be a [key, value] array, got {p}"
                            ))),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                _ => return Err(err(format!("expected a map, got {json}"))),
            }
        }
        Type::Struct => {
            let obj = json
                .as_object()
                .ok_or_else(|| err(format!("expected a struct object, got {json}")))?;
            let mut values = Vec::with_capacity(schema.fields.len());
            for field in &schema.fields {
                let v = obj.get(&field.name).unwrap_or(&Json::Null);
                values.push(
                    read_value_with(opts, Some(&field.schema), v)
                        .map_err(|e| err(format!("field {}: {e}", field.name)))?,
                );
            }
            Value::Struct(Struct::from_values(schema.clone(), values)?)
        }
    })
}

/// A float read as Kafka does (`BigDecimal.floatValue()`): one rounding from the decimal
/// text, not a rounding to `f64` first (which can land on a midpoint between two floats
/// and then round the wrong way).
fn read_f32(json: &Json) -> Result<f32, ConnectError> {
    match json {
        Json::Number(n) => n
            .to_string()
            .parse::<f32>()
            .map_err(|_| err(format!("invalid number {n}"))),
        _ => read_float(json).map(|x| x as f32),
    }
}

fn read_float(json: &Json) -> Result<f64, ConnectError> {
    match json {
        Json::Number(n) => n.as_f64().ok_or_else(|| err(format!("invalid number {n}"))),
        Json::String(s) if s == "NaN" => Ok(f64::NAN),
        Json::String(s) if s == "Infinity" => Ok(f64::INFINITY),
        Json::String(s) if s == "-Infinity" => Ok(f64::NEG_INFINITY),
        _ => Err(err(format!("expected a number, got {json}"))),
    }
}

fn decode_base64(s: &str) -> Result<Vec<u8>, ConnectError> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| err(format!("invalid base64 bytes \"{s}\": {e}")))
}

/// Schemaless JSON, as Kafka Connect reads it: integers become int64, other numbers
/// float64, objects maps keyed by string.
pub fn read_schemaless(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::Array(a.iter().map(read_schemaless).collect()),
        Json::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| (Value::String(k.clone()), read_schemaless(v)))
                .collect(),
        ),
    }
}
