//! BSON as the Extended JSON text Debezium's MongoDB connector writes.
//!
//! Why this is right: Debezium builds its strings with the Java driver's `JsonWriter`, in
//! three settings, and consumers (its own `ExtractNewDocumentState`, sinks, users' code)
//! parse exactly those strings:
//! - [`Mode::Strict`] + compact (`after`, `before`, `source.lsid`): the legacy "strict"
//!   mode, `{"$numberLong": "1004"}`, `{"$date": 1456012800000}`, `{"$binary": "…",
//!   "$type": "04"}`, written with `indent(true)` and empty indent / newline strings, so
//!   names are followed by `": "` and members separated by a bare `,`;
//! - [`Mode::Relaxed`] + compact (the key's `id`): relaxed Extended JSON v2 (`1004`,
//!   `{"$oid": "…"}`) in the same compact layout;
//! - [`Mode::Relaxed`] + spaced (`updateDescription.updatedFields`): the default
//!   `toJson()`, members separated by `", "`.
//!
//! Doubles follow Java's `Double.toString` (`1.0`, `1.0E7`, `1.0E-4`), dates in relaxed
//! mode ISO-8601 with `ISO_INSTANT`'s fraction rule, and strings are escaped as the Java
//! writer does (control characters, format characters and characters outside the BMP as
//! `\uXXXX`). One deliberate difference: a non-finite double in strict mode is written as
//! `{"$numberDouble": "NaN"}` where Java writes a bare `NaN`, which is not JSON.

use std::fmt::Write;

use mongodb::bson::{Bson, Document};

/// Which Extended JSON dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The Java driver's legacy strict mode.
    Strict,
    /// Relaxed Extended JSON v2.
    Relaxed,
}

/// How members are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `{"a": 1,"b": 2}` (Java `indent(true)` with empty strings).
    Compact,
    /// `{"a": 1, "b": 2}` (Java's default).
    Spaced,
}

/// A whole document as Extended JSON.
pub fn document(doc: &Document, mode: Mode, layout: Layout) -> String {
    let mut out = String::with_capacity(64);
    write_doc(&mut out, doc.iter(), mode, layout);
    out
}

/// One value as Extended JSON (the key's `id`).
pub fn value(v: &Bson, mode: Mode, layout: Layout) -> String {
    let mut out = String::with_capacity(24);
    write_value(&mut out, v, mode, layout);
    out
}

fn sep(out: &mut String, layout: Layout) {
    out.push(',');
    if layout == Layout::Spaced {
        out.push(' ');
    }
}

fn write_doc<'a>(
    out: &mut String,
    members: impl Iterator<Item = (&'a String, &'a Bson)>,
    mode: Mode,
    layout: Layout,
) {
    out.push('{');
    for (i, (k, v)) in members.enumerate() {
        if i > 0 {
            sep(out, layout);
        }
        write_str(out, k);
        out.push_str(": ");
        write_value(out, v, mode, layout);
    }
    out.push('}');
}

/// Writes `{"k1": v1,"k2": v2}` where the values are already JSON text.
fn wrapper(out: &mut String, layout: Layout, members: &[(&str, &str)]) {
    out.push('{');
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            sep(out, layout);
        }
        write_str(out, k);
        out.push_str(": ");
        out.push_str(v);
    }
    out.push('}');
}

fn quoted(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    write_str(&mut q, s);
    q
}

fn write_value(out: &mut String, v: &Bson, mode: Mode, layout: Layout) {
    match v {
        Bson::Null => out.push_str("null"),
        Bson::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Bson::Int32(i) => {
            let _ = write!(out, "{i}");
        }
        Bson::Int64(i) => match mode {
            Mode::Relaxed => {
                let _ = write!(out, "{i}");
            }
            Mode::Strict => wrapper(out, layout, &[("$numberLong", &quoted(&i.to_string()))]),
        },
        Bson::Double(d) => {
            if d.is_finite() {
                out.push_str(&java_double(*d));
            } else {
                let text = if d.is_nan() {
                    "NaN"
                } else if *d > 0.0 {
                    "Infinity"
                } else {
                    "-Infinity"
                };
                wrapper(out, layout, &[("$numberDouble", &quoted(text))]);
            }
        }
        Bson::Decimal128(d) => wrapper(out, layout, &[("$numberDecimal", &quoted(&d.to_string()))]),
        Bson::String(s) => write_str(out, s),
        Bson::Document(d) => write_doc(out, d.iter(), mode, layout),
        Bson::Array(a) => {
            out.push('[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    sep(out, layout);
                }
                write_value(out, item, mode, layout);
            }
            out.push(']');
        }
        Bson::ObjectId(o) => wrapper(out, layout, &[("$oid", &quoted(&o.to_hex()))]),
        Bson::DateTime(dt) => {
            let ms = dt.timestamp_millis();
            match mode {
                Mode::Strict => wrapper(out, layout, &[("$date", &ms.to_string())]),
                Mode::Relaxed => match iso_instant(ms) {
                    Some(iso) => wrapper(out, layout, &[("$date", &quoted(&iso))]),
                    None => {
                        let mut inner = String::new();
                        wrapper(
                            &mut inner,
                            layout,
                            &[("$numberLong", &quoted(&ms.to_string()))],
                        );
                        wrapper(out, layout, &[("$date", &inner)]);
                    }
                },
            }
        }
        Bson::Binary(b) => {
            let b64 = base64_encode(&b.bytes);
            let subtype = format!("{:02x}", u8::from(b.subtype));
            match mode {
                Mode::Strict => wrapper(
                    out,
                    layout,
                    &[("$binary", &quoted(&b64)), ("$type", &quoted(&subtype))],
                ),
                Mode::Relaxed => {
                    let mut inner = String::new();
                    wrapper(
                        &mut inner,
                        layout,
                        &[("base64", &quoted(&b64)), ("subType", &quoted(&subtype))],
                    );
                    wrapper(out, layout, &[("$binary", &inner)]);
                }
            }
        }
        Bson::Timestamp(ts) => {
            let mut inner = String::new();
            wrapper(
                &mut inner,
                layout,
                &[
                    ("t", &ts.time.to_string()),
                    ("i", &ts.increment.to_string()),
                ],
            );
            wrapper(out, layout, &[("$timestamp", &inner)]);
        }
        Bson::RegularExpression(re) => match mode {
            Mode::Strict => wrapper(
                out,
                layout,
                &[
                    ("$regex", &quoted(&re.pattern)),
                    ("$options", &quoted(&re.options)),
                ],
            ),
            Mode::Relaxed => {
                let mut inner = String::new();
                wrapper(
                    &mut inner,
                    layout,
                    &[
                        ("pattern", &quoted(&re.pattern)),
                        ("options", &quoted(&re.options)),
                    ],
                );
                wrapper(out, layout, &[("$regularExpression", &inner)]);
            }
        },
        Bson::JavaScriptCode(code) => wrapper(out, layout, &[("$code", &quoted(code))]),
        Bson::JavaScriptCodeWithScope(cs) => {
            let scope = document(&cs.scope, mode, layout);
            wrapper(
                out,
                layout,
                &[("$code", &quoted(&cs.code)), ("$scope", &scope)],
            );
        }
        Bson::Symbol(s) => wrapper(out, layout, &[("$symbol", &quoted(s))]),
        Bson::Undefined => wrapper(out, layout, &[("$undefined", "true")]),
        Bson::MinKey => wrapper(out, layout, &[("$minKey", "1")]),
        Bson::MaxKey => wrapper(out, layout, &[("$maxKey", "1")]),
        Bson::DbPointer(p) => {
            // The bson crate keeps DbPointer's parts private; its own relaxed form names them.
            let ext = Bson::DbPointer(p.clone()).into_relaxed_extjson();
            let inner = ext
                .get("$dbPointer")
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            let ns = inner.get("$ref").and_then(|v| v.as_str()).unwrap_or("");
            let oid = inner
                .get("$id")
                .and_then(|v| v.get("$oid"))
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let mut id = String::new();
            wrapper(&mut id, layout, &[("$oid", &quoted(oid))]);
            let mut body = String::new();
            wrapper(&mut body, layout, &[("$ref", &quoted(ns)), ("$id", &id)]);
            match mode {
                Mode::Strict => out.push_str(&body),
                Mode::Relaxed => wrapper(out, layout, &[("$dbPointer", &body)]),
            }
        }
    }
}

/// True for characters Java's JSON writer escapes as `\uXXXX` beyond the short forms:
/// control (Cc), format (Cf), line / paragraph separators, private use and unassigned
/// planes approximated by "outside the BMP" (Java sees surrogate halves there).
fn needs_unicode_escape(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || (0x7f..=0x9f).contains(&u)
        || u == 0xad
        || (0x600..=0x605).contains(&u)
        || u == 0x61c
        || u == 0x6dd
        || u == 0x70f
        || u == 0x180e
        || (0x200b..=0x200f).contains(&u)
        || (0x2028..=0x202e).contains(&u)
        || (0x2060..=0x2064).contains(&u)
        || (0x2066..=0x206f).contains(&u)
        || (0xe000..=0xf8ff).contains(&u)
        || u == 0xfeff
        || (0xfff9..=0xfffb).contains(&u)
        || u > 0xffff
}

/// A JSON string literal, escaped as Java's `JsonWriter` escapes it.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_unicode_escape(c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Java's `Double.toString` for finite values: `1.0`, `1.25`, `1.0E7`, `1.0E-4`.
pub fn java_double(d: f64) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let abs = d.abs();
    if (1e-3..1e7).contains(&abs) {
        let s = format!("{d}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        // Rust's shortest round-trip digits in scientific form: "1.25e7" / "1e-4".
        let s = format!("{d:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_owned()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exp}")
    }
}

/// `DateTimeFormatter.ISO_INSTANT` for years 1970..=9999 (relaxed mode's range); the
/// fraction is printed only when non-zero, as three digits.
pub fn iso_instant(ms: i64) -> Option<String> {
    // 253402300800000 is 10000-01-01T00:00:00Z.
    if !(0..253_402_300_800_000).contains(&ms) {
        return None;
    }
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        tod / 3600,
        (tod / 60) % 60,
        tod % 60
    );
    if millis != 0 {
        let _ = write!(s, ".{millis:03}");
    }
    s.push('Z');
    Some(s)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{doc, oid::ObjectId, spec::BinarySubtype, Binary, DateTime, Timestamp};

    #[test]
    fn debezium_documented_after_string() {
        // Debezium's documented create event for customer 1004 (an int64 _id).
        let d = doc! {"_id": 1004_i64, "first_name": "Anne", "last_name": "Kretchmar", "email": "annek@noanswer.org"};
        assert_eq!(
            document(&d, Mode::Strict, Layout::Compact),
            r#"{"_id": {"$numberLong": "1004"},"first_name": "Anne","last_name": "Kretchmar","email": "annek@noanswer.org"}"#
        );
        let d = doc! {"_id": 10004_i64, "order_date": DateTime::from_millis(1_456_012_800_000), "quantity": 1, "weight": 1.25};
        assert_eq!(
            document(&d, Mode::Strict, Layout::Compact),
            r#"{"_id": {"$numberLong": "10004"},"order_date": {"$date": 1456012800000},"quantity": 1,"weight": 1.25}"#
        );
    }

    #[test]
    fn strict_and_relaxed_types() {
        let oid = ObjectId::parse_str("596e275826f08b2730779e1f").expect("hex");
        let bin = Binary {
            subtype: BinarySubtype::Uuid,
            bytes: vec![0xc5, 0x07, 0xb3],
        };
        let d = doc! {"o": oid, "b": bin, "t": Timestamp{time: 5, increment: 7}, "a": [1, 2_i64], "n": null, "x": 1.0e7, "s": "q\"\n\u{1F600}"};
        assert_eq!(
            document(&d, Mode::Strict, Layout::Compact),
            r#"{"o": {"$oid": "596e275826f08b2730779e1f"},"b": {"$binary": "xQez","$type": "04"},"t": {"$timestamp": {"t": 5,"i": 7}},"a": [1,{"$numberLong": "2"}],"n": null,"x": 1.0E7,"s": "q\"\n\ud83d\ude00"}"#
        );
        assert_eq!(
            document(&d, Mode::Relaxed, Layout::Spaced),
            r#"{"o": {"$oid": "596e275826f08b2730779e1f"}, "b": {"$binary": {"base64": "xQez", "subType": "04"}}, "t": {"$timestamp": {"t": 5, "i": 7}}, "a": [1, 2], "n": null, "x": 1.0E7, "s": "q\"\n\ud83d\ude00"}"#
        );
        assert_eq!(
            value(&Bson::ObjectId(oid), Mode::Relaxed, Layout::Compact),
            r#"{"$oid": "596e275826f08b2730779e1f"}"#
        );
        assert_eq!(
            value(&Bson::Int64(1004), Mode::Relaxed, Layout::Compact),
            "1004"
        );
        assert_eq!(
            value(&Bson::String("a".into()), Mode::Relaxed, Layout::Compact),
            "\"a\""
        );
        assert_eq!(
            value(
                &Bson::DateTime(DateTime::from_millis(1_795_458_752_252)),
                Mode::Relaxed,
                Layout::Compact
            ),
            r#"{"$date": "2026-11-23T18:32:32.252Z"}"#
        );
        assert_eq!(
            value(
                &Bson::DateTime(DateTime::from_millis(-1)),
                Mode::Relaxed,
                Layout::Compact
            ),
            r#"{"$date": {"$numberLong": "-1"}}"#
        );
    }

    #[test]
    fn java_doubles() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(1.25), "1.25");
        assert_eq!(java_double(-0.5), "-0.5");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(1.5e-4), "1.5E-4");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(123456.789), "123456.789");
        assert_eq!(iso_instant(0).as_deref(), Some("1970-01-01T00:00:00Z"));
    }
}
