//! Prometheus text exposition format 0.0.4: `# HELP` / `# TYPE` lines once per metric
//! family, then its samples, label values escaped (`\\`, `\"`, `\n`).

use std::fmt::Write as _;

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (resets when the process restarts).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in cumulative buckets, with `_sum` and `_count`.
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A page of metrics being written.
#[derive(Debug, Default)]
pub struct Page {
    out: String,
}

impl Page {
    /// Starts the family `name`: its HELP and TYPE lines.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let _ = writeln!(
            self.out,
            "# HELP {name} {}\n# TYPE {name} {}",
            escape_help(help),
            kind.name()
        );
    }

    /// One sample: `name{labels} value`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Into<Number>) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label_into(&mut self.out, v);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        match value.into() {
            Number::Int(n) => {
                let _ = write!(self.out, "{n}");
            }
            Number::Uint(n) => {
                let _ = write!(self.out, "{n}");
            }
            Number::Float(f) if f.is_nan() => self.out.push_str("NaN"),
            Number::Float(f) if f.is_infinite() => {
                self.out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" })
            }
            Number::Float(f) => {
                let _ = write!(self.out, "{f}");
            }
        }
        self.out.push('\n');
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }
}

/// A sample's value.
#[derive(Debug, Clone, Copy)]
pub enum Number {
    /// Signed.
    Int(i64),
    /// Unsigned.
    Uint(u64),
    /// Floating point.
    Float(f64),
}

impl From<i64> for Number {
    fn from(n: i64) -> Self {
        Number::Int(n)
    }
}

impl From<u64> for Number {
    fn from(n: u64) -> Self {
        Number::Uint(n)
    }
}

impl From<usize> for Number {
    fn from(n: usize) -> Self {
        Number::Uint(n as u64)
    }
}

impl From<f64> for Number {
    fn from(n: f64) -> Self {
        Number::Float(n)
    }
}

fn escape_label_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut p = Page::default();
        p.sample("m", &[("connector", "a\"b\\c\nd"), ("task", "0")], 1u64);
        assert_eq!(
            p.finish(),
            "m{connector=\"a\\\"b\\\\c\\nd\",task=\"0\"} 1\n"
        );
    }

    #[test]
    fn help_and_type_come_once_before_the_samples() {
        let mut p = Page::default();
        p.family("x_total", Kind::Counter, "Counts x.\nSecond line \\ here");
        p.sample("x_total", &[], 3u64);
        p.sample("x_total", &[("a", "b")], 4u64);
        let text = p.finish();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# HELP x_total Counts x.\\nSecond line \\\\ here");
        assert_eq!(lines[1], "# TYPE x_total counter");
        assert_eq!(lines[2], "x_total 3");
        assert_eq!(lines[3], "x_total{a=\"b\"} 4");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn special_floats_use_the_format_s_spelling() {
        let mut p = Page::default();
        p.sample("g", &[], f64::INFINITY);
        p.sample("g", &[], f64::NEG_INFINITY);
        p.sample("g", &[], f64::NAN);
        p.sample("g", &[], 0.25);
        p.sample("g", &[], -7i64);
        assert_eq!(p.finish(), "g +Inf\ng -Inf\ng NaN\ng 0.25\ng -7\n");
    }
}
