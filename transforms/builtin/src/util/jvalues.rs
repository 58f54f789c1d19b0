//! Java's text forms of Connect values, where transforms depend on them:
//! `Float.toString` / `Double.toString` (Cast to string), `Values.dateFormatFor`
//! (Cast of Date/Time/Timestamp to string) and a subset of `Values.parseString`
//! (InsertHeader's literal value): `null`, booleans, the smallest integer type that
//! holds an integer, `float32` for a finite fraction, ISO dates, times and timestamps,
//! and quoted strings. Text that is an array or a map literal stays a string.

use sluice_core::{Decimal, SchemaAndValue, SchemaBuilder, Type, Value};

use super::datefmt::{days_from_civil, DateFormat, MS_PER_DAY};

/// `Double.toString`.
pub(crate) fn java_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let a = x.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        plain(format!("{x}"))
    } else {
        scientific(format!("{x:e}"))
    }
}

/// `Float.toString`.
pub(crate) fn java_float(x: f32) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let a = x.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        plain(format!("{x}"))
    } else {
        scientific(format!("{x:e}"))
    }
}

fn plain(mut s: String) -> String {
    if !s.contains('.') {
        s.push_str(".0");
    }
    s
}

fn scientific(s: String) -> String {
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let m = if m.contains('.') {
        m.to_owned()
    } else {
        format!("{m}.0")
    };
    format!("{m}E{e}")
}

/// `Values.dateFormatFor(date).format(date)` in UTC: a time before the first day
/// after the epoch formats as a time, a whole day as a date, anything else as an ISO
/// timestamp.
pub(crate) fn java_date_string(millis: i64) -> String {
    let pattern = if millis < MS_PER_DAY {
        "HH:mm:ss.SSS'Z'"
    } else if millis % MS_PER_DAY == 0 {
        "yyyy-MM-dd"
    } else {
        "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
    };
    DateFormat::new(pattern)
        .map(|f| f.format(millis))
        .unwrap_or_default()
}

/// `Values.parseString` for a header literal (see the module doc for what is inferred).
pub(crate) fn parse_string(text: Option<&str>) -> SchemaAndValue {
    let Some(text) = text else {
        return SchemaAndValue::NULL;
    };
    let string = || SchemaAndValue::new(SchemaBuilder::new(Type::String).build(), text);
    let t = text.trim();
    if t.is_empty() {
        return string();
    }
    match t {
        "null" => return SchemaAndValue::NULL,
        "true" | "false" => {
            return SchemaAndValue::new(SchemaBuilder::new(Type::Boolean).build(), t == "true")
        }
        _ => {}
    }
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        let inner = t[1..t.len() - 1]
            .replace("\\\"", "\"")
            .replace("\\\\", "\\");
        return SchemaAndValue::new(SchemaBuilder::new(Type::String).build(), inner);
    }
    if let Some(sv) = parse_number(t) {
        return sv;
    }
    if let Some(sv) = parse_temporal(t) {
        return sv;
    }
    string()
}

fn parse_number(t: &str) -> Option<SchemaAndValue> {
    let first = t.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return None;
    }
    let d = Decimal::parse(t)?;
    let prim = |ty| SchemaBuilder::new(ty).build();
    {
        if let Some(whole) = d.with_scale(0) {
            let n = &whole.unscaled;
            if let Ok(v) = i8::try_from(n) {
                return Some(SchemaAndValue::new(prim(Type::Int8), v));
            }
            if let Ok(v) = i16::try_from(n) {
                return Some(SchemaAndValue::new(prim(Type::Int16), v));
            }
            if let Ok(v) = i32::try_from(n) {
                return Some(SchemaAndValue::new(prim(Type::Int32), v));
            }
            if let Ok(v) = i64::try_from(n) {
                return Some(SchemaAndValue::new(prim(Type::Int64), v));
            }
        }
    }
    if d.scale != 0 {
        if let Ok(f) = t.parse::<f32>() {
            if f.is_finite() {
                return Some(SchemaAndValue::new(prim(Type::Float32), f));
            }
        }
        if let Ok(f) = t.parse::<f64>() {
            if f.is_finite() {
                return Some(SchemaAndValue::new(prim(Type::Float64), f));
            }
        }
    }
    let schema = SchemaBuilder::decimal(d.scale).build();
    Some(SchemaAndValue::new(schema, Value::Decimal(d)))
}

fn parse_temporal(t: &str) -> Option<SchemaAndValue> {
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let date = |s: usize| -> Option<i64> {
        if b.get(s + 4) != Some(&b'-') || b.get(s + 7) != Some(&b'-') {
            return None;
        }
        Some(days_from_civil(
            digits(s..s + 4)?,
            digits(s + 5..s + 7)?,
            digits(s + 8..s + 10)?,
        ))
    };
    let time = |s: usize| -> Option<i64> {
        if b.get(s + 2) != Some(&b':') || b.get(s + 5) != Some(&b':') || b.get(s + 8) != Some(&b'.')
        {
            return None;
        }
        if b.get(s + 12) != Some(&b'Z') || b.len() != s + 13 {
            return None;
        }
        Some(
            digits(s..s + 2)? * 3_600_000
                + digits(s + 3..s + 5)? * 60_000
                + digits(s + 6..s + 8)? * 1000
                + digits(s + 9..s + 12)?,
        )
    };
    if b.len() == 10 {
        let days = date(0)?;
        return Some(SchemaAndValue::new(
            SchemaBuilder::date().build(),
            i32::try_from(days).ok()?,
        ));
    }
    if b.len() == 13 {
        let ms = time(0)?;
        return Some(SchemaAndValue::new(
            SchemaBuilder::time().build(),
            ms as i32,
        ));
    }
    if b.len() == 24 && b[10] == b'T' {
        let ms = date(0)? * MS_PER_DAY + time(11)?;
        return Some(SchemaAndValue::new(SchemaBuilder::timestamp().build(), ms));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::schema::logical;

    #[test]
    fn java_number_text() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(100.5), "100.5");
        assert_eq!(java_double(1e10), "1.0E10");
        assert_eq!(java_double(1.5e-5), "1.5E-5");
        assert_eq!(java_double(-0.0), "-0.0");
        assert_eq!(java_float(2.5), "2.5");
        assert_eq!(java_float(1e7), "1.0E7");
    }

    #[test]
    fn parses_literals() {
        let ty = |s: &str| parse_string(Some(s)).schema.map(|s| (s.ty, s.name.clone()));
        assert_eq!(ty("42"), Some((Type::Int8, None)));
        assert_eq!(ty("345"), Some((Type::Int16, None)));
        assert_eq!(ty("1.5"), Some((Type::Float32, None)));
        assert_eq!(ty("true"), Some((Type::Boolean, None)));
        assert_eq!(ty("hello world"), Some((Type::String, None)));
        assert_eq!(
            ty("2024-02-29"),
            Some((Type::Int32, Some(logical::DATE.into())))
        );
        assert_eq!(
            parse_string(Some("1970-01-02T00:00:00.001Z")).value,
            Value::Int64(86_400_001)
        );
        assert_eq!(parse_string(None), SchemaAndValue::NULL);
        assert_eq!(java_date_string(0), "00:00:00.000Z");
        assert_eq!(java_date_string(MS_PER_DAY * 2), "1970-01-03");
    }
}
