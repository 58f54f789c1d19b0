//! Table descriptions from `information_schema`, for the snapshot (and for TRUNCATE events
//! of tables whose TABLE_MAP was not seen yet).
//!
//! Why this is right: it yields the same [`TableMeta`] a TABLE_MAP with full metadata
//! yields for the same table — same column order (`ORDINAL_POSITION`), the same types
//! (a BINARY(n) is `fixed` n bytes, TEXT vs BLOB by character set, ENUM / SET labels from
//! `COLUMN_TYPE`), nullability, signedness and primary key order — so snapshot and stream
//! records of a table share one schema. MariaDB's JSON is a LONGTEXT with a `json_valid`
//! check constraint; the constraint is read here and by the streaming side alike.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::error::{Result, SqlContext};
use crate::schema::{Charset, ColumnMeta, ColumnType, TableMeta};

/// The LONGTEXT columns of `db.table` that MariaDB declares as JSON.
pub async fn json_columns(conn: &mut Conn, db: &str, table: &str) -> Result<Vec<String>> {
    let clauses: Vec<Option<String>> = conn
        .exec(
            "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
            (db, table),
        )
        .await
        .ctx(|| format!("reading the check constraints of {db}.{table}"))?;
    Ok(clauses
        .into_iter()
        .flatten()
        .filter_map(|c| json_valid_column(&c))
        .collect())
}

fn json_valid_column(clause: &str) -> Option<String> {
    let lower = clause.to_ascii_lowercase();
    let start = lower.find("json_valid(")? + "json_valid(".len();
    let end = start + lower[start..].find(')')?;
    let name = clause[start..end].trim();
    Some(name.trim_matches('`').replace("``", "`"))
}

/// Parses the labels of `enum('a','b''c')` / `set(...)`.
pub fn enum_values(column_type: &str) -> Vec<String> {
    let Some(open) = column_type.find('(') else {
        return Vec::new();
    };
    let body = &column_type[open + 1..];
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = body.chars().peekable();
    let mut inside = false;
    while let Some(c) = chars.next() {
        match (inside, c) {
            (false, '\'') => inside = true,
            (false, ')') => break,
            (false, _) => {}
            (true, '\'') if chars.peek() == Some(&'\'') => {
                chars.next();
                cur.push('\'');
            }
            (true, '\'') => {
                inside = false;
                out.push(std::mem::take(&mut cur));
            }
            (true, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (true, c) => cur.push(c),
        }
    }
    out
}

type ColumnRow = (
    String,
    String,
    String,
    String,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    Option<String>,
    Option<u64>,
);

/// The description of `db.table`, or `None` when it does not exist.
pub async fn load(conn: &mut Conn, db: &str, table: &str) -> Result<Option<TableMeta>> {
    let rows: Vec<ColumnRow> = conn
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, NUMERIC_PRECISION, \
             NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_SET_NAME, CHARACTER_OCTET_LENGTH \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await
        .ctx(|| format!("reading the columns of {db}.{table}"))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let json = json_columns(conn, db, table).await?;
    let pk: Vec<String> = conn
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' \
             ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await
        .ctx(|| format!("reading the primary key of {db}.{table}"))?;
    let mut columns = Vec::with_capacity(rows.len());
    for (name, data_type, column_type, nullable, precision, scale, fsp, charset, octets) in rows {
        let dt = data_type.to_ascii_lowercase();
        let ct = column_type.to_ascii_lowercase();
        let fsp = fsp.unwrap_or(0).min(6) as u8;
        let ty = match dt.as_str() {
            "tinyint" => ColumnType::TinyInt,
            "smallint" => ColumnType::SmallInt,
            "mediumint" => ColumnType::MediumInt,
            "int" | "integer" => ColumnType::Int,
            "bigint" => ColumnType::BigInt,
            "float" => ColumnType::Float,
            "double" | "real" | "double precision" => ColumnType::Double,
            "decimal" | "numeric" => ColumnType::Decimal {
                precision: precision.unwrap_or(10).min(65) as u8,
                scale: scale.unwrap_or(0).min(30) as u8,
            },
            "bit" => ColumnType::Bit {
                bits: precision.unwrap_or(1).min(64) as u16,
            },
            "year" => ColumnType::Year,
            "date" => ColumnType::Date,
            "time" => ColumnType::Time { fsp },
            "datetime" => ColumnType::DateTime { fsp },
            "timestamp" => ColumnType::Timestamp { fsp },
            "json" => ColumnType::Json,
            "enum" => ColumnType::Enum {
                values: enum_values(&column_type),
            },
            "set" => ColumnType::Set {
                values: enum_values(&column_type),
            },
            "binary" => ColumnType::Text {
                binary: true,
                fixed: octets.map(|n| n as u32),
            },
            "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => ColumnType::Text {
                binary: true,
                fixed: None,
            },
            "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
            | "multipolygon" | "geometrycollection" | "geomcollection" => ColumnType::Geometry,
            "longtext" if json.iter().any(|j| j.eq_ignore_ascii_case(&name)) => ColumnType::Json,
            _ => ColumnType::Text {
                binary: charset.as_deref() == Some("binary"),
                fixed: None,
            },
        };
        columns.push(ColumnMeta {
            name,
            ty,
            unsigned: ct.contains("unsigned"),
            nullable: nullable.eq_ignore_ascii_case("YES"),
            charset: Charset::Utf8,
        });
    }
    let primary_key = pk
        .iter()
        .filter_map(|k| columns.iter().position(|c| c.name.eq_ignore_ascii_case(k)))
        .collect();
    Ok(Some(TableMeta {
        db: db.to_owned(),
        table: table.to_owned(),
        columns,
        primary_key,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_and_checks() {
        assert_eq!(
            enum_values("enum('a','b''c','d,e')"),
            vec!["a", "b'c", "d,e"]
        );
        assert_eq!(enum_values("set('x')"), vec!["x"]);
        assert_eq!(
            json_valid_column("json_valid(`doc`)").as_deref(),
            Some("doc")
        );
        assert_eq!(json_valid_column("`a` > 0"), None);
    }
}
