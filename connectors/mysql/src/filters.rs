//! Which databases, tables and columns are captured, which columns form a custom key, and
//! which columns are masked.
//!
//! Why this is right: Debezium matches each include/exclude regular expression against the
//! *whole* name, case-insensitively (`Pattern.compile(re, CASE_INSENSITIVE).matcher(name)
//! .matches()`), so every pattern here is compiled as `(?i)^(?:re)$`. Include lists win over
//! nothing-given; an exclude applies after an include; system databases are never captured
//! unless named in an include list. Names tested are `<db>`, `<db>.<table>` and
//! `<db>.<table>.<column>`, exactly the strings users write in these lists.

use regex::Regex;
use sha2::Digest;
use sluice_core::config::ConfigMap;

use crate::error::MySqlError;

const SYSTEM_DATABASES: &[&str] = &["mysql", "sys", "performance_schema", "information_schema"];

fn compile(key: &str, patterns: &[String]) -> Result<Vec<Regex>, MySqlError> {
    patterns
        .iter()
        .map(|p| {
            Regex::new(&format!("(?i)^(?:{p})$")).map_err(|e| {
                MySqlError::Config(format!("invalid regular expression {p:?} in {key}: {e}"))
            })
        })
        .collect()
}

fn any(list: &[Regex], name: &str) -> bool {
    list.iter().any(|r| r.is_match(name))
}

/// Include / exclude lists.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    db_include: Vec<Regex>,
    db_exclude: Vec<Regex>,
    table_include: Vec<Regex>,
    table_exclude: Vec<Regex>,
    column_include: Vec<Regex>,
    column_exclude: Vec<Regex>,
}

impl Filters {
    /// Compiles the lists; a bad pattern is a config error naming the key.
    pub fn new(
        db_include: &[String],
        db_exclude: &[String],
        table_include: &[String],
        table_exclude: &[String],
        column_include: &[String],
        column_exclude: &[String],
    ) -> Result<Self, MySqlError> {
        Ok(Filters {
            db_include: compile("database.include.list", db_include)?,
            db_exclude: compile("database.exclude.list", db_exclude)?,
            table_include: compile("table.include.list", table_include)?,
            table_exclude: compile("table.exclude.list", table_exclude)?,
            column_include: compile("column.include.list", column_include)?,
            column_exclude: compile("column.exclude.list", column_exclude)?,
        })
    }

    /// True when some table of `db` may be captured.
    pub fn database(&self, db: &str) -> bool {
        if !self.db_include.is_empty() {
            return any(&self.db_include, db);
        }
        if any(&self.db_exclude, db) {
            return false;
        }
        if SYSTEM_DATABASES.iter().any(|s| s.eq_ignore_ascii_case(db)) {
            // Named explicitly in a table include list? Then the user asked for it.
            return self.table_include.iter().any(|r| {
                r.as_str()
                    .to_ascii_lowercase()
                    .contains(&db.to_ascii_lowercase())
            });
        }
        true
    }

    /// True when `db.table` is captured.
    pub fn table(&self, db: &str, table: &str) -> bool {
        if !self.database(db) {
            return false;
        }
        let name = format!("{db}.{table}");
        if !self.table_include.is_empty() && !any(&self.table_include, &name) {
            return false;
        }
        !any(&self.table_exclude, &name)
    }

    /// True when `db.table.column` is kept in change events.
    pub fn column(&self, db: &str, table: &str, column: &str) -> bool {
        if self.column_include.is_empty() && self.column_exclude.is_empty() {
            return true;
        }
        let name = format!("{db}.{table}.{column}");
        if !self.column_include.is_empty() && !any(&self.column_include, &name) {
            return false;
        }
        !any(&self.column_exclude, &name)
    }
}

/// `message.key.columns`: `<db>.<table regex>:<col>,<col>;...`.
#[derive(Debug, Clone, Default)]
pub struct KeyColumns(Vec<(Regex, Vec<String>)>);

impl KeyColumns {
    /// Parses the setting; empty gives no overrides.
    pub fn parse(text: &str) -> Result<Self, MySqlError> {
        let mut out = Vec::new();
        for part in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let Some((table, cols)) = part.rsplit_once(':') else {
                return Err(MySqlError::Config(format!(
                    "invalid message.key.columns entry {part:?}: expected <db>.<table>:<column>[,<column>...]"
                )));
            };
            let cols: Vec<String> = cols
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            if cols.is_empty() {
                return Err(MySqlError::Config(format!(
                    "invalid message.key.columns entry {part:?}: no columns after ':'"
                )));
            }
            let re = compile("message.key.columns", &[table.trim().to_owned()])?;
            out.extend(re.into_iter().map(|r| (r, cols.clone())));
        }
        Ok(KeyColumns(out))
    }

    /// The key columns configured for `db.table`, if any.
    pub fn for_table(&self, db: &str, table: &str) -> Option<&[String]> {
        let name = format!("{db}.{table}");
        self.0
            .iter()
            .find(|(r, _)| r.is_match(&name))
            .map(|(_, c)| c.as_slice())
    }
}

/// How one column is masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mask {
    /// Replaced by this many `*`.
    Stars(usize),
    /// Replaced by the lower-case hex digest of salt + value.
    Hash {
        algorithm: HashAlgorithm,
        salt: String,
    },
}

/// Digests `column.mask.hash.*` supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl Mask {
    /// Masks a string value.
    pub fn apply(&self, value: &str) -> String {
        match self {
            Mask::Stars(n) => "*".repeat(*n),
            Mask::Hash { algorithm, salt } => {
                let digest = match algorithm {
                    HashAlgorithm::Sha256 => hash::<sha2::Sha256>(salt, value),
                    HashAlgorithm::Sha384 => hash::<sha2::Sha384>(salt, value),
                    HashAlgorithm::Sha512 => hash::<sha2::Sha512>(salt, value),
                };
                digest.iter().map(|b| format!("{b:02x}")).collect()
            }
        }
    }
}

fn hash<D: Digest>(salt: &str, value: &str) -> Vec<u8> {
    let mut d = D::new();
    d.update(salt.as_bytes());
    d.update(value.as_bytes());
    d.finalize().to_vec()
}

/// Every `column.mask.*` setting.
#[derive(Debug, Clone, Default)]
pub struct Masks(Vec<(Regex, Mask)>);

impl Masks {
    /// Reads `column.mask.with.<N>.chars` and `column.mask.hash[.v2].<alg>.with.salt.<salt>`.
    pub fn parse(props: &ConfigMap) -> Result<Self, MySqlError> {
        let mut out = Vec::new();
        for (k, v) in props.iter().filter(|(k, _)| k.starts_with("column.mask.")) {
            let rest = &k["column.mask.".len()..];
            let mask = if let Some(n) = rest
                .strip_prefix("with.")
                .and_then(|r| r.strip_suffix(".chars"))
            {
                let n: usize = n.parse().map_err(|_| {
                    MySqlError::Config(format!(
                        "invalid key {k}: <N> in column.mask.with.<N>.chars must be a number"
                    ))
                })?;
                Mask::Stars(n)
            } else if let Some(h) = rest.strip_prefix("hash.") {
                let h = h.strip_prefix("v2.").unwrap_or(h);
                let Some((alg, salt)) = h.split_once(".with.salt.") else {
                    return Err(MySqlError::Config(format!(
                        "invalid key {k}: expected column.mask.hash.<algorithm>.with.salt.<salt>"
                    )));
                };
                let algorithm = match alg.to_ascii_uppercase().replace('_', "-").as_str() {
                    "SHA-256" | "SHA256" => HashAlgorithm::Sha256,
                    "SHA-384" | "SHA384" => HashAlgorithm::Sha384,
                    "SHA-512" | "SHA512" => HashAlgorithm::Sha512,
                    _ => {
                        return Err(MySqlError::Config(format!(
                            "invalid key {k}: hash algorithm {alg} is not supported (SHA-256, SHA-384, SHA-512)"
                        )))
                    }
                };
                Mask::Hash {
                    algorithm,
                    salt: salt.to_owned(),
                }
            } else {
                return Err(MySqlError::Config(format!(
                    "unknown configuration {k}: column masking keys are column.mask.with.<N>.chars and column.mask.hash.<algorithm>.with.salt.<salt>"
                )));
            };
            let cols = sluice_core::config::split_list(v);
            for r in compile(k, &cols)? {
                out.push((r, mask.clone()));
            }
        }
        Ok(Masks(out))
    }

    /// The mask of `db.table.column`, if any.
    pub fn for_column(&self, db: &str, table: &str, column: &str) -> Option<&Mask> {
        if self.0.is_empty() {
            return None;
        }
        let name = format!("{db}.{table}.{column}");
        self.0
            .iter()
            .find(|(r, _)| r.is_match(&name))
            .map(|(_, m)| m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lists_match_whole_names_case_insensitively() {
        let f = Filters::new(
            &[],
            &[],
            &l(&["inv\\.cust.*"]),
            &l(&["inv\\.customers_tmp"]),
            &[],
            &l(&["inv\\.customers\\.ssn"]),
        )
        .expect("valid");
        assert!(f.table("INV", "customers"));
        assert!(!f.table("inv", "customers_tmp"));
        assert!(!f.table("inv", "orders"));
        assert!(!f.table("xinv", "customers"));
        assert!(!f.column("inv", "customers", "ssn"));
        assert!(f.column("inv", "customers", "name"));
        let all = Filters::default();
        assert!(all.table("app", "t"));
        assert!(!all.table("mysql", "user"));
    }

    #[test]
    fn key_columns_and_masks() {
        let k = KeyColumns::parse("inv.orders:a,b; inv.x.*:c").expect("valid");
        assert_eq!(
            k.for_table("inv", "orders"),
            Some(&["a".to_string(), "b".to_string()][..])
        );
        assert_eq!(k.for_table("inv", "xy"), Some(&["c".to_string()][..]));
        assert!(KeyColumns::parse("nocolon").is_err());
        let props: ConfigMap = [
            (
                "column.mask.with.3.chars".to_string(),
                "inv.c.name".to_string(),
            ),
            (
                "column.mask.hash.SHA-256.with.salt.pepper".to_string(),
                "inv.c.email".to_string(),
            ),
        ]
        .into_iter()
        .collect();
        let m = Masks::parse(&props).expect("valid");
        assert_eq!(
            m.for_column("inv", "c", "name").map(|m| m.apply("Alice")),
            Some("***".into())
        );
        let h = m
            .for_column("inv", "c", "email")
            .map(|m| m.apply("a@b"))
            .expect("mask");
        assert_eq!(h.len(), 64);
        assert!(m.for_column("inv", "c", "id").is_none());
    }
}
