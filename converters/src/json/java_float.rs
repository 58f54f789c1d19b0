//! Java's `Double.toString` / `Float.toString` text, which Kafka Connect's Jackson
//! output uses for `float` and `double` values: plain notation with at least one
//! fractional digit for 1e-3 ≤ |x| < 1e7 (`100.0`, `0.001`), otherwise computerized
//! scientific notation (`1.0E7`, `1.5E-4`). The digits are the shortest that round-trip,
//! as in Java 19 and later.

/// Defines `write_f64` / `write_f32`: the same steps for both widths, each with its own
/// shortest digits and subnormal range.
macro_rules! java_float_writer {
    ($name:ident, $t:ty) => {
        #[doc = concat!("Appends Java's text for an `", stringify!($t), "`.")]
        pub fn $name(out: &mut Vec<u8>, x: $t) {
            let a = x.abs();
            let mut sci = format!("{a:e}");
            if a > 0.0 && a < <$t>::MIN_POSITIVE && !sci.contains('.') {
                sci = two_digits(sci, format!("{a:.1e}"), |s| {
                    s.parse::<$t>().ok().map(|y| y.total_cmp(&a))
                });
            }
            write_java(
                out,
                x.is_nan(),
                x.is_infinite(),
                x.is_sign_negative(),
                x == 0.0,
                &sci,
            );
        }
    };
}

java_float_writer!(write_f64, f64);
java_float_writer!(write_f32, f32);

/// Java's rule when one significant digit would do: among the decimals of one *or two*
/// digits that round to the value it picks the closest (`Double.MIN_VALUE` is
/// `4.9E-324`, not `5.0E-324`; `Float.MIN_VALUE` is `1.4E-45`). Only subnormals with a
/// few significant bits ever have a two-digit decimal closer than the one-digit one.
///
/// `nearest` is the closest two-digit decimal (`d.de±N`); `cmp` parses a decimal and
/// compares what it rounds to with the value. When `nearest` does not round to the value,
/// its two-digit neighbour on the value's other side is the closest one that can.
fn two_digits(
    shortest: String,
    nearest: String,
    cmp: impl Fn(&str) -> Option<std::cmp::Ordering>,
) -> String {
    use std::cmp::Ordering;
    let side = match cmp(&nearest) {
        Some(Ordering::Equal) => return nearest,
        Some(side) => side,
        None => return shortest,
    };
    let Some((mantissa, exp)) = nearest.split_once('e') else {
        return shortest;
    };
    let (Ok(m), Ok(mut exp)) = (mantissa.replace('.', "").parse::<i32>(), exp.parse::<i32>())
    else {
        return shortest;
    };
    // `nearest` below the value: one unit up in the second digit, else one down.
    let mut m = if side == Ordering::Less { m + 1 } else { m - 1 };
    if m == 100 {
        m = 10;
        exp += 1;
    } else if m == 9 {
        m = 99;
        exp -= 1;
    }
    let neighbour = format!("{}.{}e{exp}", m / 10, m % 10);
    if cmp(&neighbour) == Some(Ordering::Equal) {
        neighbour
    } else {
        shortest
    }
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
        // Subnormals: one or two digits, whichever decimal is closest (JDK 19+ spec).
        assert_eq!(d(f64::from_bits(1)), "4.9E-324");
        assert_eq!(d(-f64::from_bits(1)), "-4.9E-324");
        assert_eq!(d(f64::from_bits(2)), "9.9E-324");
        assert_eq!(d(f64::from_bits(3)), "1.5E-323");
        assert_eq!(d(f64::from_bits(20)), "9.9E-323");
        assert_eq!(d(1e-320), "1.0E-320");
    }

    #[test]
    fn matches_java_float_to_string() {
        assert_eq!(f(1.1), "1.1");
        assert_eq!(f(3.4028235e38), "3.4028235E38");
        assert_eq!(f(0.5), "0.5");
        assert_eq!(f(f32::from_bits(1)), "1.4E-45");
        assert_eq!(f(f32::from_bits(2)), "2.8E-45");
        assert_eq!(f(f32::from_bits(7)), "9.8E-45");
        assert_eq!(f(f32::from_bits(8)), "1.1E-44");
    }
}
