//! Java's `Double.toString` / `Float.toString` text, which Kafka Connect's Jackson
//! output uses for `float` and `double` values: plain notation with at least one
//! fractional digit for 1e-3 ≤ |x| < 1e7 (`100.0`, `0.001`), otherwise computerized
//! scientific notation (`1.0E7`, `1.5E-4`). The digits are the shortest that round-trip,
//! as in Java 19 and later.

/// Appends Java's text for an `f64`.
pub fn write_f64(out: &mut Vec<u8>, x: f64) {
    write_java(
        out,
        x.is_nan(),
        x.is_infinite(),
        x.is_sign_negative(),
        x == 0.0,
        &format!("{:e}", x.abs()),
    );
}

/// Appends Java's text for an `f32`.
pub fn write_f32(out: &mut Vec<u8>, x: f32) {
    write_java(
        out,
        x.is_nan(),
        x.is_infinite(),
        x.is_sign_negative(),
        x == 0.0,
        &format!("{:e}", x.abs()),
    );
}

fn write_java(out: &mut Vec<u8>, nan: bool, inf: bool, negative: bool, zero: bool, sci: &str) {
    // Jackson writes non-finite numbers as quoted strings (WRITE_NAN_AS_STRINGS).
    if nan {
        out.extend_from_slice(b"\"NaN\"");
        return;
    }
    if negative {
        if inf {
            out.extend_from_slice(b"\"-Infinity\"");
            return;
        }
        out.push(b'-');
    } else if inf {
        out.extend_from_slice(b"\"Infinity\"");
        return;
    }
    if zero {
        out.extend_from_slice(b"0.0");
        return;
    }
    // `sci` is Rust's shortest round-trip form: d[.ddd]e[-]N.
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if (-3..7).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.extend_from_slice(digits.as_bytes());
                out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
                out.extend_from_slice(b".0");
            } else {
                out.extend_from_slice(&digits.as_bytes()[..int_len]);
                out.push(b'.');
                out.extend_from_slice(&digits.as_bytes()[int_len..]);
            }
        } else {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            out.extend_from_slice(digits.as_bytes());
        }
    } else {
        out.push(digits.as_bytes()[0]);
        out.push(b'.');
        if digits.len() > 1 {
            out.extend_from_slice(&digits.as_bytes()[1..]);
        } else {
            out.push(b'0');
        }
        out.push(b'E');
        out.extend_from_slice(exp.to_string().as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(x: f64) -> String {
        let mut v = Vec::new();
        write_f64(&mut v, x);
        String::from_utf8(v).expect("utf8")
    }

    fn f(x: f32) -> String {
        let mut v = Vec::new();
        write_f32(&mut v, x);
        String::from_utf8(v).expect("utf8")
    }

    #[test]
    fn matches_java_double_to_string() {
        assert_eq!(d(1.0), "1.0");
        assert_eq!(d(-2.5), "-2.5");
        assert_eq!(d(100.0), "100.0");
        assert_eq!(d(0.001), "0.001");
        assert_eq!(d(0.0001), "1.0E-4");
        assert_eq!(d(1234567.0), "1234567.0");
        assert_eq!(d(12345678.0), "1.2345678E7");
        assert_eq!(d(1e7), "1.0E7");
        assert_eq!(d(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(d(0.0), "0.0");
        assert_eq!(d(-0.0), "-0.0");
        assert_eq!(d(f64::MAX), "1.7976931348623157E308");
        assert_eq!(d(f64::MIN_POSITIVE), "2.2250738585072014E-308");
        assert_eq!(d(f64::NAN), "\"NaN\"");
        assert_eq!(d(f64::NEG_INFINITY), "\"-Infinity\"");
    }

    #[test]
    fn matches_java_float_to_string() {
        assert_eq!(f(1.1), "1.1");
        assert_eq!(f(3.4028235e38), "3.4028235E38");
        assert_eq!(f(0.5), "0.5");
    }
}
