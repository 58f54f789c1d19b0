//! Primary-key values of the last snapshot row, kept in the offsets so a restarted snapshot
//! continues with `WHERE (pk) > (last key)`.
//!
//! Why this is right: the values are stored typed (numbers as JSON numbers, text as
//! `{"s": …}`, non-UTF-8 bytes as `{"x": hex}`) and bound back as statement parameters, so
//! the server compares them with the column's own type and collation — the same order the
//! chunk query's `ORDER BY` used — and no value is ever spliced into SQL text.

use mysql_async::Value as My;
use serde_json::{json, Value as Json};

/// Encodes one key value for the offsets.
pub fn encode(v: &My) -> Json {
    match v {
        My::NULL => Json::Null,
        My::Int(i) => json!(i),
        My::UInt(u) => json!(u),
        My::Float(f) => json!(f64::from(*f)),
        My::Double(f) => json!(f),
        My::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => json!({ "s": s }),
            Err(_) => json!({ "x": b.iter().map(|x| format!("{x:02x}")).collect::<String>() }),
        },
        My::Date(y, m, d, h, mi, s, us) => {
            json!({ "s": format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}") })
        }
        My::Time(neg, days, h, mi, s, us) => {
            let hours = u64::from(*days) * 24 + u64::from(*h);
            let sign = if *neg { "-" } else { "" };
            json!({ "s": format!("{sign}{hours}:{mi:02}:{s:02}.{us:06}") })
        }
    }
}

/// Decodes a stored key value into a statement parameter.
pub fn decode(j: &Json) -> Option<My> {
    Some(match j {
        Json::Null => My::NULL,
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                My::Int(i)
            } else if let Some(u) = n.as_u64() {
                My::UInt(u)
            } else {
                My::Double(n.as_f64()?)
            }
        }
        Json::Object(o) => {
            if let Some(s) = o.get("s").and_then(Json::as_str) {
                My::Bytes(s.as_bytes().to_vec())
            } else {
                let hex = o.get("x")?.as_str()?;
                let bytes = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                    .collect::<Option<Vec<u8>>>()?;
                My::Bytes(bytes)
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for v in [
            My::Int(-5),
            My::UInt(u64::MAX),
            My::Double(1.5),
            My::Bytes(b"abc".to_vec()),
            My::Bytes(vec![0xff, 0x00]),
        ] {
            assert_eq!(decode(&encode(&v)), Some(v));
        }
        assert_eq!(
            decode(&encode(&My::Date(2024, 1, 2, 3, 4, 5, 6))),
            Some(My::Bytes(b"2024-01-02 03:04:05.000006".to_vec()))
        );
    }
}
