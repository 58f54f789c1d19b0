//! MongoDB Extended JSON (relaxed or canonical, as Debezium's MongoDB connector
//! writes `after`, `before` and the key's `id`) parsed into BSON-typed values.
//!
//! JSON integers become int32 when they fit, else int64; other numbers double (as
//! `BsonDocument.parse`). `$oid`, `$numberInt/Long/Double/Decimal`, `$date`,
//! `$timestamp`, `$binary` (both forms), `$uuid`, `$regularExpression` / `$regex`,
//! `$code` (with `$scope`), `$symbol`, `$minKey`, `$maxKey` and `$undefined` are
//! understood; the last four become [`Bson::Ignored`], which the converter leaves out
//! as Debezium does.

use base64::Engine;
use serde_json::Value as Json;
use sluice_core::ConnectError;

use crate::util::Result;

/// A BSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bson {
    Null,
    Bool(bool),
    Int32(i32),
    Int64(i64),
    Double(f64),
    Decimal128(String),
    String(String),
    ObjectId(String),
    DateTime(i64),
    Timestamp(i64),
    Binary(Vec<u8>),
    Regex(String, String),
    JavaScript(String),
    JavaScriptWithScope(String, Doc),
    Ignored,
    Document(Doc),
    Array(Vec<Bson>),
}

/// A document: entries in order.
pub(crate) type Doc = Vec<(String, Bson)>;

/// Parses an Extended JSON document.
pub(crate) fn parse_document(text: &str) -> Result<Doc> {
    let json: Json = serde_json::from_str(text)
        .map_err(|e| ConnectError::Data(format!("Invalid MongoDB extended JSON document: {e}")))?;
    match from_json(&json)? {
        Bson::Document(d) => Ok(d),
        _ => Err(ConnectError::Data(format!(
            "Expected a MongoDB document, found: {text}"
        ))),
    }
}

/// Parses an Extended JSON value (a key's `id`, for example).
pub(crate) fn parse_value(text: &str) -> Result<Bson> {
    let json: Json = serde_json::from_str(text)
        .map_err(|e| ConnectError::Data(format!("Invalid MongoDB extended JSON value: {e}")))?;
    from_json(&json)
}

fn bad(what: &str, v: &Json) -> ConnectError {
    ConnectError::Data(format!("Invalid extended JSON {what}: {v}"))
}

fn num_i64(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.parse().ok(),
        Json::Object(o) => o.get("$numberLong").and_then(num_i64),
        _ => None,
    }
}

fn from_json(v: &Json) -> Result<Bson> {
    Ok(match v {
        Json::Null => Bson::Null,
        Json::Bool(b) => Bson::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) if i32::try_from(i).is_ok() => Bson::Int32(i as i32),
            Some(i) => Bson::Int64(i),
            None => Bson::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Bson::String(s.clone()),
        Json::Array(a) => Bson::Array(a.iter().map(from_json).collect::<Result<_>>()?),
        Json::Object(o) => {
            let first = o.keys().next().map(String::as_str).unwrap_or("");
            let get = |k: &str| o.get(k);
            match first {
                "$oid" => Bson::ObjectId(
                    get("$oid")
                        .and_then(Json::as_str)
                        .ok_or_else(|| bad("$oid", v))?
                        .to_owned(),
                ),
                "$numberInt" => Bson::Int32(
                    get("$numberInt")
                        .and_then(Json::as_str)
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| bad("$numberInt", v))?,
                ),
                "$numberLong" => Bson::Int64(num_i64(v).ok_or_else(|| bad("$numberLong", v))?),
                "$numberDouble" => {
                    let s = get("$numberDouble")
                        .and_then(Json::as_str)
                        .ok_or_else(|| bad("$numberDouble", v))?;
                    Bson::Double(match s {
                        "Infinity" => f64::INFINITY,
                        "-Infinity" => f64::NEG_INFINITY,
                        "NaN" => f64::NAN,
                        _ => s.parse().map_err(|_| bad("$numberDouble", v))?,
                    })
                }
                "$numberDecimal" => Bson::Decimal128(
                    get("$numberDecimal")
                        .and_then(Json::as_str)
                        .ok_or_else(|| bad("$numberDecimal", v))?
                        .to_owned(),
                ),
                "$date" => {
                    let d = get("$date").ok_or_else(|| bad("$date", v))?;
                    let ms = match d {
                        Json::String(s) => iso_millis(s),
                        other => num_i64(other),
                    };
                    Bson::DateTime(ms.ok_or_else(|| bad("$date", v))?)
                }
                "$timestamp" => {
                    let t = get("$timestamp")
                        .and_then(|t| t.get("t"))
                        .and_then(num_i64)
                        .ok_or_else(|| bad("$timestamp", v))?;
                    Bson::Timestamp(t)
                }
                "$binary" => {
                    let b64 = match get("$binary") {
                        Some(Json::String(s)) => s.as_str(),
                        Some(Json::Object(b)) => b
                            .get("base64")
                            .and_then(Json::as_str)
                            .ok_or_else(|| bad("$binary", v))?,
                        _ => return Err(bad("$binary", v)),
                    };
                    Bson::Binary(
                        base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .map_err(|_| bad("$binary", v))?,
                    )
                }
                "$uuid" => {
                    let hex: String = get("$uuid")
                        .and_then(Json::as_str)
                        .ok_or_else(|| bad("$uuid", v))?
                        .replace('-', "");
                    let bytes = (0..hex.len() / 2)
                        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
                        .collect::<Result<Vec<u8>, _>>()
                        .map_err(|_| bad("$uuid", v))?;
                    Bson::Binary(bytes)
                }
                "$regularExpression" => {
                    let r =
                        get("$regularExpression").ok_or_else(|| bad("$regularExpression", v))?;
                    let s = |k: &str| {
                        r.get(k)
                            .and_then(Json::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    Bson::Regex(s("pattern"), s("options"))
                }
                "$regex" => {
                    let s = |k: &str| get(k).and_then(Json::as_str).unwrap_or_default().to_owned();
                    Bson::Regex(s("$regex"), s("$options"))
                }
                "$code" => {
                    let code = get("$code")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    match get("$scope").map(from_json).transpose()? {
                        Some(Bson::Document(scope)) => Bson::JavaScriptWithScope(code, scope),
                        _ => Bson::JavaScript(code),
                    }
                }
                "$symbol" | "$minKey" | "$maxKey" | "$undefined" => Bson::Ignored,
                _ => Bson::Document(
                    o.iter()
                        .map(|(k, v)| Ok((k.clone(), from_json(v)?)))
                        .collect::<Result<_>>()?,
                ),
            }
        }
    })
}

/// `yyyy-MM-ddTHH:mm:ss[.SSS](Z|±HH:MM)`, as `$date` strings are written.
fn iso_millis(s: &str) -> Option<i64> {
    use crate::util::datefmt::DateFormat;
    let base = s.get(..19)?;
    let f = DateFormat::new("yyyy-MM-dd'T'HH:mm:ss").ok()?;
    let mut ms = f.parse(base)?;
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
        let padded = format!("{:0<3}", &digits[..digits.len().min(3)]);
        ms += padded.parse::<i64>().ok()?;
        rest = &frac[digits.len()..];
    }
    if rest.is_empty() || rest == "Z" {
        return Some(ms);
    }
    let sign = if rest.starts_with('-') { 1 } else { -1 };
    let hhmm = rest.get(1..)?.replace(':', "");
    let off = hhmm.get(..2)?.parse::<i64>().ok()? * 60
        + hhmm.get(2..4).unwrap_or("0").parse::<i64>().ok()?;
    Some(ms + sign * off * 60_000)
}
