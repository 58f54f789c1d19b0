//! Java's `SimpleDateFormat` in UTC, as `TimestampConverter` and `TimestampRouter`
//! use it (both set the format's zone to UTC), plus the civil-date arithmetic.
//!
//! Supported pattern letters: `G y Y M L d D E u a H k K h m s S z Z X` and quoted
//! literals (`'T'`, `''`). Other letters (`w W F`, …) are refused when the transform
//! is configured, naming the letter, rather than formatted wrongly. Parsing is
//! lenient like Java's: out-of-range fields roll over, abutting numeric fields take
//! their pattern width, and text after the last pattern field is ignored.

/// Milliseconds per day.
pub(crate) const MS_PER_DAY: i64 = 86_400_000;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Days since 1970-01-01 of a proleptic Gregorian date (month and day may overflow).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = y + (m - 1).div_euclid(12);
    let m = (m - 1).rem_euclid(12) + 1;
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + (d - 1)
}

/// The proleptic Gregorian `(year, month, day)` of a day count.
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(String),
    Field(char, usize),
}

/// A compiled `SimpleDateFormat` pattern, always in UTC.
#[derive(Debug, Clone)]
pub(crate) struct DateFormat {
    pattern: String,
    tokens: Vec<Token>,
}

impl DateFormat {
    /// Compiles a pattern; the error names what Java would refuse (or what is not supported).
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        let mut lit = String::new();
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    lit.push('\'');
                    i += 2;
                    continue;
                }
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(format!("Unterminated quote in pattern {pattern}")),
                        Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                            lit.push('\'');
                            j += 2;
                        }
                        Some('\'') => break,
                        Some(&ch) => {
                            lit.push(ch);
                            j += 1;
                        }
                    }
                }
                i = j + 1;
            } else if c.is_ascii_alphabetic() {
                if !"GyYMLdDEuaHkKhmsSzZX".contains(c) {
                    return Err(format!("Illegal pattern character '{c}' (supported: G y Y M L d D E u a H k K h m s S z Z X)"));
                }
                let mut n = 1;
                while chars.get(i + n) == Some(&c) {
                    n += 1;
                }
                if !lit.is_empty() {
                    tokens.push(Token::Literal(std::mem::take(&mut lit)));
                }
                tokens.push(Token::Field(c, n));
                i += n;
            } else {
                lit.push(c);
                i += 1;
            }
        }
        if !lit.is_empty() {
            tokens.push(Token::Literal(lit));
        }
        Ok(DateFormat {
            pattern: pattern.to_owned(),
            tokens,
        })
    }

    /// The pattern text (`toPattern()`).
    pub(crate) fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Formats milliseconds since the epoch.
    pub(crate) fn format(&self, millis: i64) -> String {
        let days = millis.div_euclid(MS_PER_DAY);
        let ms_of_day = millis.rem_euclid(MS_PER_DAY);
        let (y, mo, d) = civil_from_days(days);
        let hour = ms_of_day / 3_600_000;
        let minute = ms_of_day / 60_000 % 60;
        let second = ms_of_day / 1000 % 60;
        let ms = ms_of_day % 1000;
        let dow = (days + 3).rem_euclid(7); // 0 = Monday
        let mut out = String::with_capacity(self.pattern.len() + 8);
        let pad = |out: &mut String, v: i64, n: usize| {
            let s = v.abs().to_string();
            if v < 0 {
                out.push('-');
            }
            for _ in s.len()..n {
                out.push('0');
            }
            out.push_str(&s);
        };
        for t in &self.tokens {
            match t {
                Token::Literal(s) => out.push_str(s),
                Token::Field(c, n) => {
                    let n = *n;
                    match c {
                        'G' => out.push_str(if y > 0 { "AD" } else { "BC" }),
                        'y' | 'Y' => {
                            let mut year = if *c == 'Y' { week_year(days, y) } else { y };
                            if year <= 0 {
                                year = 1 - year;
                            }
                            if n == 2 {
                                pad(&mut out, year % 100, 2)
                            } else {
                                pad(&mut out, year, n)
                            }
                        }
                        'M' | 'L' => match n {
                            1 | 2 => pad(&mut out, mo, n),
                            3 => out.push_str(&MONTHS[(mo - 1) as usize][..3]),
                            _ => out.push_str(MONTHS[(mo - 1) as usize]),
                        },
                        'd' => pad(&mut out, d, n),
                        'D' => pad(&mut out, days - days_from_civil(y, 1, 1) + 1, n),
                        'E' => {
                            let name = DAYS[dow as usize];
                            out.push_str(if n >= 4 { name } else { &name[..3] })
                        }
                        'u' => pad(&mut out, dow + 1, n),
                        'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                        'H' => pad(&mut out, hour, n),
                        'k' => pad(&mut out, if hour == 0 { 24 } else { hour }, n),
                        'K' => pad(&mut out, hour % 12, n),
                        'h' => pad(&mut out, if hour % 12 == 0 { 12 } else { hour % 12 }, n),
                        'm' => pad(&mut out, minute, n),
                        's' => pad(&mut out, second, n),
                        'S' => pad(&mut out, ms, n),
                        'z' => out.push_str(if n >= 4 {
                            "Coordinated Universal Time"
                        } else {
                            "UTC"
                        }),
                        'Z' => out.push_str("+0000"),
                        _ => out.push('Z'), // 'X': ISO 8601 zone, UTC is "Z"
                    }
                }
            }
        }
        out
    }

    /// Parses text into milliseconds since the epoch, leniently (Java's default).
    pub(crate) fn parse(&self, text: &str) -> Option<i64> {
        let b = text.as_bytes();
        let mut pos = 0usize;
        let (mut year, mut month, mut day, mut doy) = (1970i64, 1i64, 1i64, None::<i64>);
        let (mut hour, mut minute, mut second, mut ms) = (0i64, 0i64, 0i64, 0i64);
        let (mut h12, mut pm, mut offset_ms) = (None::<i64>, None::<bool>, 0i64);
        for (ti, t) in self.tokens.iter().enumerate() {
            match t {
                Token::Literal(s) => {
                    if !text[pos..].starts_with(s.as_str()) {
                        return None;
                    }
                    pos += s.len();
                }
                Token::Field(c, n) => {
                    let abutting = matches!(self.tokens.get(ti + 1), Some(Token::Field(nc, _)) if is_numeric(*nc, 1));
                    match c {
                        'G' => {
                            let rest = &text[pos..];
                            if rest.starts_with("AD") || rest.starts_with("BC") {
                                pos += 2;
                            } else {
                                return None;
                            }
                        }
                        'M' | 'L' if *n >= 3 => {
                            let (m, len) = match_name(&text[pos..], &MONTHS)?;
                            month = m as i64 + 1;
                            pos += len;
                        }
                        'E' => {
                            let (_, len) = match_name(&text[pos..], &DAYS)?;
                            pos += len;
                        }
                        'a' => {
                            let rest = text[pos..].to_ascii_uppercase();
                            if rest.starts_with("AM") || rest.starts_with("PM") {
                                pm = Some(rest.starts_with("PM"));
                                pos += 2;
                            } else {
                                return None;
                            }
                        }
                        'z' | 'Z' | 'X' => {
                            let (off, len) = parse_zone(&text[pos..])?;
                            offset_ms = off;
                            pos += len;
                        }
                        _ => {
                            let width = if abutting { Some(*n) } else { None };
                            let (v, len) = parse_number(b, pos, width, matches!(c, 'y' | 'Y'))?;
                            let digits = len;
                            pos += len;
                            match c {
                                'y' | 'Y' => {
                                    year = if *n <= 2 && digits == 2 && v >= 0 {
                                        two_digit_year(v)
                                    } else {
                                        v
                                    }
                                }
                                'M' | 'L' => month = v,
                                'd' => day = v,
                                'D' => doy = Some(v),
                                'u' => {}
                                'H' | 'k' => hour = if *c == 'k' && v == 24 { 0 } else { v },
                                'K' | 'h' => h12 = Some(if *c == 'h' && v == 12 { 0 } else { v }),
                                'm' => minute = v,
                                's' => second = v,
                                _ => ms = v, // 'S'
                            }
                        }
                    }
                }
            }
        }
        if let Some(h) = h12 {
            hour = h + if pm == Some(true) { 12 } else { 0 };
        } else if pm == Some(true) && hour < 12 {
            hour += 12;
        }
        let days = match doy {
            Some(n) => days_from_civil(year, 1, 1) + n - 1,
            None => days_from_civil(year, month, day),
        };
        Some(
            days * MS_PER_DAY + hour * 3_600_000 + minute * 60_000 + second * 1000 + ms - offset_ms,
        )
    }
}

fn is_numeric(c: char, n: usize) -> bool {
    match c {
        'M' | 'L' => n <= 2,
        'y' | 'Y' | 'd' | 'D' | 'u' | 'H' | 'k' | 'K' | 'h' | 'm' | 's' | 'S' => true,
        _ => false,
    }
}

/// Java's week-based year with US week rules (weeks start on Sunday, week 1 holds 1 January).
fn week_year(days: i64, year: i64) -> i64 {
    let dow_sun0 = (days + 4).rem_euclid(7); // 0 = Sunday
    let saturday = days + (6 - dow_sun0);
    let (sy, _, _) = civil_from_days(saturday);
    if sy > year {
        sy
    } else {
        year
    }
}

fn two_digit_year(v: i64) -> i64 {
    let now_days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64 / 86_400)
        .unwrap_or(0);
    let start = civil_from_days(now_days).0 - 80;
    let mut y = start / 100 * 100 + v;
    if y < start {
        y += 100;
    }
    y
}

fn parse_number(b: &[u8], pos: usize, width: Option<usize>, signed: bool) -> Option<(i64, usize)> {
    let mut i = pos;
    let mut neg = false;
    if signed && b.get(i) == Some(&b'-') {
        neg = true;
        i += 1;
    }
    let start = i;
    let limit = width.map_or(b.len(), |w| (start + w).min(b.len()));
    while i < limit && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == start {
        return None;
    }
    let mut v: i64 = 0;
    for &d in &b[start..i] {
        v = v.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
    }
    Some((if neg { -v } else { v }, i - pos))
}

fn match_name(text: &str, names: &[&str]) -> Option<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    for (i, n) in names.iter().enumerate() {
        if lower.starts_with(&n.to_ascii_lowercase()) {
            return Some((i, n.len()));
        }
    }
    for (i, n) in names.iter().enumerate() {
        if lower.starts_with(&n[..3].to_ascii_lowercase()) {
            return Some((i, 3));
        }
    }
    None
}

/// `Z`, `UTC`, `GMT`, optionally followed by (or just) `±HH`, `±HHMM`, `±HH:MM`.
fn parse_zone(text: &str) -> Option<(i64, usize)> {
    let mut len = 0;
    for name in ["UTC", "GMT", "Coordinated Universal Time"] {
        if text.starts_with(name) {
            len = name.len();
            break;
        }
    }
    let rest = &text[len..];
    let b = rest.as_bytes();
    match b.first() {
        Some(b'+') | Some(b'-') => {
            let neg = b[0] == b'-';
            let hh = parse_number(b, 1, Some(2), false)?;
            let mut i = 1 + hh.1;
            if b.get(i) == Some(&b':') {
                i += 1;
            }
            let mm = parse_number(b, i, Some(2), false).unwrap_or((0, 0));
            i += mm.1;
            let off = (hh.0 * 60 + mm.0) * 60_000;
            Some((if neg { -off } else { off }, len + i))
        }
        Some(b'Z') if len == 0 => Some((0, 1)),
        _ if len > 0 => Some((0, len)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for d in [-719_468, -1, 0, 1, 18_000, 19_358, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn formats_and_parses() -> Result<(), String> {
        let f = DateFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSSZ")?;
        let t = 1_700_000_000_123;
        assert_eq!(f.format(t), "2023-11-14T22:13:20.123+0000");
        assert_eq!(f.parse("2023-11-14T22:13:20.123+0000"), Some(t));
        assert_eq!(f.parse("2023-11-14T23:13:20.123+0100"), Some(t));
        let g = DateFormat::new("yyyyMMdd")?;
        assert_eq!(g.format(t), "20231114");
        assert_eq!(g.parse("20231114"), Some(1_699_920_000_000));
        let h = DateFormat::new("EEE, d MMM yyyy hh:mm a")?;
        assert_eq!(h.format(t), "Tue, 14 Nov 2023 10:13 PM");
        assert_eq!(
            h.parse("Tue, 14 Nov 2023 10:13 PM"),
            Some(1_700_000_000_123 - 20_123)
        );
        assert!(DateFormat::new("yyyy-ww").is_err());
        assert!(g.parse("2023-11").is_none());
        Ok(())
    }
}
