//! Java regular expressions as the routers use them: `Pattern.matcher(s).matches()`
//! (the whole string must match) and `Matcher.replaceFirst(replacement)` with Java's
//! replacement syntax (`$1`, `${name}`, `\$`).
//!
//! Patterns compile with the `regex` crate, whose syntax covers what topic patterns
//! use (classes, groups, named groups `(?<name>…)`, quantifiers, `(?i)`); `\Q…\E`
//! quoting is translated. Look-around and back-references are refused at configure
//! time with the compiler's message. A replacement is parsed once, with Java's rule
//! that `$12` means group 12 only when the pattern has that many groups, and a
//! reference to a group the pattern lacks is a config error rather than a failure on
//! the first record.

use regex::{Captures, Regex};

/// A Java pattern compiled for whole-string matching.
#[derive(Debug, Clone)]
pub(crate) struct FullMatch {
    re: Regex,
}

impl FullMatch {
    /// Compiles `pattern`; the error says why it is not a valid regular expression.
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let translated = translate_quotes(pattern);
        let re = Regex::new(&format!(r"\A(?:{translated})\z"))
            .map_err(|e| format!("Invalid regex: {}", first_line(&e.to_string())))?;
        Ok(FullMatch { re })
    }

    /// True when the whole text matches.
    pub(crate) fn matches(&self, text: &str) -> bool {
        self.re.is_match(text)
    }

    /// `matcher.matches() ? matcher.replaceFirst(replacement) : None`.
    pub(crate) fn replace(&self, text: &str, replacement: &Replacement) -> Option<String> {
        let caps = self.re.captures(text)?;
        let mut out = String::with_capacity(text.len() + 16);
        replacement.expand(&caps, &mut out);
        Some(out)
    }

    fn group_count(&self) -> usize {
        self.re.captures_len() - 1
    }

    fn group_index(&self, name: &str) -> Option<usize> {
        self.re.capture_names().position(|n| n == Some(name))
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_owned()
}

/// Rewrites `\Q…\E` quoted sections as escaped literals.
fn translate_quotes(pattern: &str) -> String {
    if !pattern.contains("\\Q") {
        return pattern.to_owned();
    }
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut rest = pattern;
    while let Some(i) = rest.find("\\Q") {
        out.push_str(&rest[..i]);
        let quoted = &rest[i + 2..];
        let (lit, after) = match quoted.find("\\E") {
            Some(j) => (&quoted[..j], &quoted[j + 2..]),
            None => (quoted, ""),
        };
        out.push_str(&regex::escape(lit));
        rest = after;
    }
    out.push_str(rest);
    out
}

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Group(usize),
}

/// A parsed Java replacement string.
#[derive(Debug, Clone)]
pub(crate) struct Replacement {
    parts: Vec<Part>,
}

impl Replacement {
    /// Parses `text` for `pattern` with `Matcher.appendReplacement`'s rules.
    pub(crate) fn new(text: &str, pattern: &FullMatch) -> Result<Self, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' => {
                    i += 1;
                    let c = chars
                        .get(i)
                        .ok_or_else(|| "character to be escaped is missing".to_owned())?;
                    lit.push(*c);
                    i += 1;
                }
                '$' => {
                    i += 1;
                    let next = *chars.get(i).ok_or_else(|| {
                        "Illegal group reference: group index is missing".to_owned()
                    })?;
                    let group = if next == '{' {
                        i += 1;
                        let start = i;
                        while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                            i += 1;
                        }
                        if i == start {
                            return Err("named capturing group has 0 length name".into());
                        }
                        if chars.get(i) != Some(&'}') {
                            return Err("named capturing group is missing trailing '}'".into());
                        }
                        let name: String = chars[start..i].iter().collect();
                        i += 1;
                        pattern
                            .group_index(&name)
                            .ok_or_else(|| format!("No group with name {{{name}}}"))?
                    } else {
                        let mut n = next
                            .to_digit(10)
                            .ok_or_else(|| "Illegal group reference".to_owned())?
                            as usize;
                        i += 1;
                        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                            let candidate = n * 10 + d as usize;
                            if candidate > pattern.group_count() {
                                break;
                            }
                            n = candidate;
                            i += 1;
                        }
                        if n > pattern.group_count() {
                            return Err(format!("No group {n}"));
                        }
                        n
                    };
                    if !lit.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Group(group));
                }
                c => {
                    lit.push(c);
                    i += 1;
                }
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Literal(lit));
        }
        Ok(Replacement { parts })
    }

    /// Appends the replacement for `caps` (a group that did not participate adds nothing).
    pub(crate) fn expand(&self, caps: &Captures<'_>, out: &mut String) {
        for p in &self.parts {
            match p {
                Part::Literal(s) => out.push_str(s),
                Part::Group(g) => {
                    if let Some(m) = caps.get(*g) {
                        out.push_str(m.as_str());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_replacement_rules() -> Result<(), String> {
        let re = FullMatch::new("(.*)-(?<rest>[a-z]+)")?;
        let r = Replacement::new("$1_${rest}\\$$10", &re)?;
        assert_eq!(re.replace("abc-def", &r).as_deref(), Some("abc_def$abc0"));
        assert!(re.replace("abc-DEF", &r).is_none());
        assert!(Replacement::new("$3", &re).is_err());
        assert!(Replacement::new("$x", &re).is_err());
        assert!(Replacement::new("${nope}", &re).is_err());
        let q = FullMatch::new(r"\Qa.b\E.*")?;
        assert!(q.matches("a.bzz"));
        assert!(!q.matches("axbzz"));
        assert!(FullMatch::new("(?<=a)b").is_err());
        Ok(())
    }
}
