//! Extended JSON text (what Debezium's MongoDB connector writes in `after`, `before` and the
//! key's `id`) back to BSON.
//!
//! Why this is right: it accepts both dialects [`crate::extjson`] writes — the legacy
//! strict mode (`{"$date": 1456012800000}`, `{"$binary": "…", "$type": "04"}`,
//! `{"$regex": …, "$options": …}`) and relaxed / canonical v2 (`{"$date": "2026-…Z"}`,
//! `{"$binary": {"base64": …, "subType": …}}`, `{"$numberDouble": "NaN"}`) — so documents
//! round-trip with their types: an int64 stays an int64 (in strict mode; relaxed mode
//! writes small int64s as plain numbers), an ObjectId an ObjectId. A plain
//! JSON number becomes an int32 when it fits, else an int64, else a double, as the Java
//! driver reads it. An object that only looks like a wrapper (wrong value types) is kept
//! as a document.

use mongodb::bson::oid::ObjectId;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, DateTime, Document, Regex, Timestamp};
use serde_json::Value as Json;

/// Parses Extended JSON text into a document.
pub fn parse_document(text: &str) -> Result<Document, String> {
    match parse_value(text)? {
        Bson::Document(d) => Ok(d),
        other => Err(format!("expected a JSON object, got {other}")),
    }
}

/// Parses Extended JSON text into a value.
pub fn parse_value(text: &str) -> Result<Bson, String> {
    let json: Json =
        serde_json::from_str(text).map_err(|e| format!("not JSON ({e}): {text:.200}"))?;
    Ok(to_bson(&json))
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b'\n' | b'\r' => continue,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

fn binary(b64: &str, subtype_hex: &str) -> Option<Bson> {
    let bytes = decode_base64(b64)?;
    let st = u8::from_str_radix(subtype_hex, 16).ok()?;
    Some(Bson::Binary(Binary {
        subtype: BinarySubtype::from(st),
        bytes,
    }))
}

fn parse_iso(s: &str) -> Option<i64> {
    // YYYY-MM-DDTHH:MM:SS[.fff]Z (what relaxed mode writes).
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-');
    let y: i64 = d.next()?.parse().ok()?;
    let m: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':');
    let h: i64 = t.next()?.parse().ok()?;
    let mi: i64 = t.next()?.parse().ok()?;
    let sec: i64 = t.next()?.parse().ok()?;
    let ms: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    // Days from civil (H. Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + mi * 60 + sec) * 1000) + ms)
}

fn wrapper(o: &serde_json::Map<String, Json>) -> Option<Bson> {
    let mut keys = o.keys();
    let first = keys.next()?.as_str();
    let str_of = |k: &str| o.get(k).and_then(Json::as_str);
    match (first, o.len()) {
        ("$oid", 1) => ObjectId::parse_str(str_of("$oid")?)
            .ok()
            .map(Bson::ObjectId),
        ("$numberLong", 1) => str_of("$numberLong")?.parse().ok().map(Bson::Int64),
        ("$numberInt", 1) => str_of("$numberInt")?.parse().ok().map(Bson::Int32),
        ("$numberDouble", 1) => match str_of("$numberDouble")? {
            "NaN" => Some(Bson::Double(f64::NAN)),
            "Infinity" => Some(Bson::Double(f64::INFINITY)),
            "-Infinity" => Some(Bson::Double(f64::NEG_INFINITY)),
            s => s.parse().ok().map(Bson::Double),
        },
        ("$numberDecimal", 1) => {
            // The bson crate cannot build a Decimal128 from text; let it parse canonical JSON.
            Bson::try_from(Json::Object(o.clone())).ok()
        }
        ("$date", 1) => match &o["$date"] {
            Json::Number(n) => n
                .as_i64()
                .map(|ms| Bson::DateTime(DateTime::from_millis(ms))),
            Json::String(s) => parse_iso(s).map(|ms| Bson::DateTime(DateTime::from_millis(ms))),
            Json::Object(inner) => inner
                .get("$numberLong")
                .and_then(Json::as_str)
                .and_then(|s| s.parse().ok())
                .map(|ms| Bson::DateTime(DateTime::from_millis(ms))),
            _ => None,
        },
        ("$binary", 2) => binary(str_of("$binary")?, str_of("$type")?),
        ("$binary", 1) => {
            let inner = o["$binary"].as_object()?;
            binary(
                inner.get("base64")?.as_str()?,
                inner.get("subType")?.as_str()?,
            )
        }
        ("$timestamp", 1) => {
            let inner = o["$timestamp"].as_object()?;
            Some(Bson::Timestamp(Timestamp {
                time: u32::try_from(inner.get("t")?.as_u64()?).ok()?,
                increment: u32::try_from(inner.get("i")?.as_u64()?).ok()?,
            }))
        }
        ("$regex", 2) => Some(Bson::RegularExpression(Regex {
            pattern: str_of("$regex")?.to_owned(),
            options: str_of("$options")?.to_owned(),
        })),
        ("$regularExpression", 1) => {
            let inner = o["$regularExpression"].as_object()?;
            Some(Bson::RegularExpression(Regex {
                pattern: inner.get("pattern")?.as_str()?.to_owned(),
                options: inner.get("options")?.as_str()?.to_owned(),
            }))
        }
        ("$symbol", 1) => Some(Bson::Symbol(str_of("$symbol")?.to_owned())),
        ("$code", 1) => Some(Bson::JavaScriptCode(str_of("$code")?.to_owned())),
        ("$undefined", 1) => Some(Bson::Undefined),
        ("$minKey", 1) => Some(Bson::MinKey),
        ("$maxKey", 1) => Some(Bson::MaxKey),
        _ => None,
    }
}

/// One JSON value to BSON, reading Extended JSON wrappers.
pub fn to_bson(v: &Json) -> Bson {
    match v {
        Json::Null => Bson::Null,
        Json::Bool(b) => Bson::Boolean(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                i32::try_from(i).map_or(Bson::Int64(i), Bson::Int32)
            } else {
                Bson::Double(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Bson::String(s.clone()),
        Json::Array(a) => Bson::Array(a.iter().map(to_bson).collect()),
        Json::Object(o) => {
            if o.keys().next().is_some_and(|k| k.starts_with('$')) {
                if let Some(b) = wrapper(o) {
                    return b;
                }
            }
            Bson::Document(o.iter().map(|(k, v)| (k.clone(), to_bson(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extjson::{document, Layout, Mode};
    use mongodb::bson::doc;

    #[test]
    fn round_trips_what_the_source_writes() {
        let oid = ObjectId::parse_str("596e275826f08b2730779e1f").expect("hex");
        let d = doc! {
            "_id": 1004_i64, "o": oid, "i": 7, "f": 1.5, "big": 1.0e20, "s": "é\n\u{1F600}",
            "when": DateTime::from_millis(1_456_012_800_123), "old": DateTime::from_millis(-5),
            "bin": Binary { subtype: BinarySubtype::Uuid, bytes: vec![1, 2, 3, 4, 5] },
            "ts": Timestamp { time: 9, increment: 2 },
            "re": Regex { pattern: "a.*".into(), options: "i".into() },
            "nested": {"a": [1, {"b": null}], "t": true},
        };
        let text = document(&d, Mode::Strict, Layout::Compact);
        assert_eq!(parse_document(&text).expect("parses"), d, "{text}");
        // Relaxed mode writes an int64 that fits in 32 bits as a plain number: it comes back
        // as an int32 (as the Java driver reads it); everything else keeps its type.
        let mut relaxed = d.clone();
        relaxed.insert("_id", 1004);
        let text = document(&d, Mode::Relaxed, Layout::Spaced);
        assert_eq!(parse_document(&text).expect("parses"), relaxed, "{text}");
    }
}
