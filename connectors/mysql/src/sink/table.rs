//! Target table names: `table.name.format` applied to a record, and identifier quoting.
//!
//! Why this is right: `${topic}` follows Debezium's default table naming strategy (every
//! `.` of the topic becomes `_`, so `dbserver1.inventory.customers` is written to
//! `dbserver1_inventory_customers`, never misread as database `dbserver1`); a `.` the user
//! writes in the format itself is the only thing that separates a database from a table.
//! Names are always quoted with backticks (a backtick inside doubles), so any name the
//! format produces is one identifier and cannot change the statement.

use std::fmt;

/// A target table: database (empty: the connection's) and table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    pub db: String,
    pub table: String,
}

impl TableId {
    /// `` `db`.`table` `` (or `` `table` `` without a database).
    pub fn quoted(&self) -> String {
        if self.db.is_empty() {
            quote(&self.table)
        } else {
            format!("{}.{}", quote(&self.db), quote(&self.table))
        }
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.db.is_empty() {
            f.write_str(&self.table)
        } else {
            write!(f, "{}.{}", self.db, self.table)
        }
    }
}

/// Quotes an identifier with backticks.
pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

const PLACEHOLDERS: [&str; 3] = ["${topic}", "${source.db}", "${source.table}"];

/// Checks that `format` uses only known placeholders and has at most one database dot.
pub fn check_format(format: &str) -> Result<(), String> {
    let mut rest = format.to_owned();
    for p in PLACEHOLDERS {
        rest = rest.replace(p, "x");
    }
    if let Some(i) = rest.find("${") {
        return Err(format!(
            "unknown placeholder {}; known: ${{topic}}, ${{source.db}}, ${{source.table}}",
            &rest[i..rest[i..].find('}').map_or(rest.len(), |j| i + j + 1)]
        ));
    }
    if rest.trim().is_empty() {
        return Err("the format gives an empty table name".into());
    }
    if rest.matches('.').count() > 1 {
        return Err(
            "at most one '.' (between database and table) may be written in the format".into(),
        );
    }
    Ok(())
}

/// Whether the format needs a Debezium `source` block.
pub fn needs_source(format: &str) -> bool {
    format.contains("${source.")
}

/// The table `format` names for a record of `topic` with source `db` / `table`.
pub fn resolve(
    format: &str,
    topic: &str,
    source_db: Option<&str>,
    source_table: Option<&str>,
) -> Result<TableId, String> {
    let (db_part, table_part) = match split_unplaceholdered_dot(format) {
        Some((d, t)) => (Some(d), t),
        None => (None, format),
    };
    let fill = |part: &str| -> Result<String, String> {
        let mut out = part.replace("${topic}", &topic.replace('.', "_"));
        for (p, v) in [
            ("${source.db}", source_db),
            ("${source.table}", source_table),
        ] {
            if out.contains(p) {
                let v = v.ok_or_else(|| {
                    format!("table.name.format uses {p} but the record on {topic} has no Debezium source block")
                })?;
                out = out.replace(p, v);
            }
        }
        Ok(out)
    };
    let table = fill(table_part)?;
    if table.is_empty() {
        return Err(format!(
            "table.name.format gives an empty table name for a record on {topic}"
        ));
    }
    Ok(TableId {
        db: match db_part {
            Some(d) => fill(d)?,
            None => String::new(),
        },
        table,
    })
}

/// Splits at a `.` written outside any `${…}`.
fn split_unplaceholdered_dot(format: &str) -> Option<(&str, &str)> {
    let mut depth = 0;
    let bytes = format.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'$' if bytes.get(i + 1) == Some(&b'{') => depth += 1,
            b'}' if depth > 0 => depth -= 1,
            b'.' if depth == 0 => return Some((&format[..i], &format[i + 1..])),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_resolve_like_debezium() {
        let t = resolve("${topic}", "dbserver1.inventory.customers", None, None).expect("ok");
        assert_eq!(
            t,
            TableId {
                db: String::new(),
                table: "dbserver1_inventory_customers".into()
            }
        );
        let t = resolve("archive.${source.table}", "a.b.c", Some("b"), Some("c")).expect("ok");
        assert_eq!(t.quoted(), "`archive`.`c`");
        let t = resolve(
            "${source.db}_copy.${source.table}",
            "a.b.c",
            Some("b"),
            Some("c"),
        )
        .expect("ok");
        assert_eq!(t.to_string(), "b_copy.c");
        let e = resolve("${source.table}", "t", None, None).expect_err("no source");
        assert!(e.contains("source block"), "{e}");
        assert_eq!(quote("we`ird"), "`we``ird`");
        assert!(check_format("kafka_${topic}").is_ok());
        assert!(check_format("${topik}")
            .expect_err("unknown")
            .contains("${topik}"));
        assert!(check_format("a.b.${topic}").is_err());
        assert!(needs_source("${source.table}") && !needs_source("${topic}"));
    }
}
