//! Java `.properties` files, as Kafka Connect reads its worker and connector files:
//! `key=value`, `key: value` or `key value`; `#` and `!` comments; a trailing `\`
//! continues the line; `\t`, `\n`, `\uXXXX` and `\<char>` escapes.

use super::ConfigMap;

/// Parses `.properties` text. Later duplicates win, as in `java.util.Properties`.
pub fn parse(text: &str) -> Result<ConfigMap, String> {
    let mut out = ConfigMap::new();
    let mut logical = String::new();
    for (lineno, raw) in text.lines().enumerate() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        if ends_with_continuation(line) {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        } else {
            logical.push_str(line);
        }
        let (key, value) = split_entry(&logical);
        let key = unescape(&key).map_err(|e| format!("line {}: {e}", lineno + 1))?;
        let value = unescape(&value).map_err(|e| format!("line {}: {e}", lineno + 1))?;
        out.insert(key, value);
        logical.clear();
    }
    if !logical.is_empty() {
        let (key, value) = split_entry(&logical);
        out.insert(unescape(&key)?, unescape(&value)?);
    }
    Ok(out)
}

fn ends_with_continuation(line: &str) -> bool {
    let backslashes = line.chars().rev().take_while(|c| *c == '\\').count();
    backslashes % 2 == 1
}

fn split_entry(line: &str) -> (String, String) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => {
                return (line[..i].to_owned(), line[i + 1..].trim_start().to_owned());
            }
            c if c.is_whitespace() => {
                let rest = line[i..].trim_start();
                let rest = rest
                    .strip_prefix('=')
                    .or_else(|| rest.strip_prefix(':'))
                    .unwrap_or(rest);
                return (line[..i].to_owned(), rest.trim_start().to_owned());
            }
            _ => {}
        }
    }
    (line.to_owned(), String::new())
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("malformed \\u escape \\u{hex}"))?;
                out.push(code);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kafka_quickstart_files() {
        let text =
            "# comment\n! also\nname=local-file-source\nconnector.class = FileStreamSource\n\
                    tasks.max:1\nfile test.txt\nmulti=a,\\\n   b\npath=C:\\\\dir\\u0041\n  \n";
        let p = parse(text).expect("parse");
        assert_eq!(p["name"], "local-file-source");
        assert_eq!(p["connector.class"], "FileStreamSource");
        assert_eq!(p["tasks.max"], "1");
        assert_eq!(p["file"], "test.txt");
        assert_eq!(p["multi"], "a,b");
        assert_eq!(p["path"], "C:\\dirA");
        assert_eq!(p.len(), 6);
    }

    #[test]
    fn empty_value_and_bad_escape() {
        let p = parse("key=\nother").expect("parse");
        assert_eq!(p["key"], "");
        assert_eq!(p["other"], "");
        assert!(parse("k=\\uZZZZ").is_err());
    }
}
