//! TABLE_MAP events with their optional metadata (`binlog_row_metadata=FULL`): the only
//! source of table structure while streaming — there is no DDL parser and no schema history.
//!
//! Why this is right: the layout is MySQL's `Table_map_log_event` (also MariaDB's ≥ 10.5):
//! post-header (6-byte table id, 2-byte flags), the names, the column types, per-type
//! metadata whose length depends on the type, the nullability bitmap, then TLV fields. The
//! TLV fields index different column subsets, exactly as the server writes them: SIGNEDNESS
//! covers numeric columns (one bit each, most significant first), charsets cover character
//! columns (CHAR / VARCHAR / TEXT / BLOB, whose binary collation 63 marks BINARY / VARBINARY
//! / BLOB), ENUM and SET values cover ENUM and SET columns. Unknown TLV types are skipped by
//! length, so newer servers do not break the parser. The result is reduced to the shared
//! [`TableMeta`], and the body bytes are kept so an unchanged table version is recognised
//! and its cached schemas reused.

use super::bytes::{Reader, Short};
use crate::schema::{charset_of_collation, Charset, ColumnMeta, ColumnType, TableMeta};

/// Binlog column type codes.
pub mod ty {
    pub const DECIMAL: u8 = 0;
    pub const TINY: u8 = 1;
    pub const SHORT: u8 = 2;
    pub const LONG: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const TIMESTAMP: u8 = 7;
    pub const LONGLONG: u8 = 8;
    pub const INT24: u8 = 9;
    pub const DATE: u8 = 10;
    pub const TIME: u8 = 11;
    pub const DATETIME: u8 = 12;
    pub const YEAR: u8 = 13;
    pub const NEWDATE: u8 = 14;
    pub const VARCHAR: u8 = 15;
    pub const BIT: u8 = 16;
    pub const TIMESTAMP2: u8 = 17;
    pub const DATETIME2: u8 = 18;
    pub const TIME2: u8 = 19;
    pub const JSON: u8 = 245;
    pub const NEWDECIMAL: u8 = 246;
    pub const ENUM: u8 = 247;
    pub const SET: u8 = 248;
    pub const TINY_BLOB: u8 = 249;
    pub const MEDIUM_BLOB: u8 = 250;
    pub const LONG_BLOB: u8 = 251;
    pub const BLOB: u8 = 252;
    pub const VAR_STRING: u8 = 253;
    pub const STRING: u8 = 254;
    pub const GEOMETRY: u8 = 255;
}

/// One column as the binlog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogColumn {
    /// The real type (ENUM / SET resolved from STRING's metadata).
    pub ty: u8,
    /// Type metadata: up to two bytes.
    pub meta: [u8; 2],
    pub nullable: bool,
    pub unsigned: bool,
    /// Collation id of a character column; `None` until known.
    pub collation: Option<u16>,
    pub name: Option<String>,
    pub values: Vec<String>,
}

impl BinlogColumn {
    fn is_numeric(&self) -> bool {
        matches!(
            self.ty,
            ty::DECIMAL
                | ty::TINY
                | ty::SHORT
                | ty::LONG
                | ty::FLOAT
                | ty::DOUBLE
                | ty::LONGLONG
                | ty::INT24
                | ty::NEWDECIMAL
        )
    }

    fn is_character(&self) -> bool {
        matches!(
            self.ty,
            ty::STRING
                | ty::VAR_STRING
                | ty::VARCHAR
                | ty::BLOB
                | ty::TINY_BLOB
                | ty::MEDIUM_BLOB
                | ty::LONG_BLOB
        )
    }

    fn is_enum_or_set(&self) -> bool {
        matches!(self.ty, ty::ENUM | ty::SET)
    }

    /// Max byte length of a CHAR / BINARY column (STRING type).
    pub fn string_max_len(&self) -> u32 {
        let [m0, m1] = self.meta;
        u32::from(m1) | ((u32::from(m0 & 0x30) ^ 0x30) << 4)
    }
}

/// A parsed TABLE_MAP event.
#[derive(Debug, Clone)]
pub struct TableMap {
    pub table_id: u64,
    pub db: String,
    pub table: String,
    pub columns: Vec<BinlogColumn>,
    pub primary_key: Vec<usize>,
    /// Everything after the table id and flags: equal bytes mean the same table version.
    pub body: Vec<u8>,
    /// Whether the optional metadata named the columns (binlog_row_metadata=FULL).
    pub has_names: bool,
}

fn meta_len(t: u8) -> usize {
    match t {
        ty::FLOAT
        | ty::DOUBLE
        | ty::BLOB
        | ty::TINY_BLOB
        | ty::MEDIUM_BLOB
        | ty::LONG_BLOB
        | ty::GEOMETRY
        | ty::JSON
        | ty::TIME2
        | ty::DATETIME2
        | ty::TIMESTAMP2 => 1,
        ty::VARCHAR
        | ty::VAR_STRING
        | ty::BIT
        | ty::NEWDECIMAL
        | ty::STRING
        | ty::ENUM
        | ty::SET => 2,
        _ => 0,
    }
}

fn string(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parses the data of a TABLE_MAP event (header and checksum removed).
pub fn parse(data: &[u8]) -> Result<TableMap, Short> {
    let mut r = Reader::new(data);
    let table_id = r.uint_le(6, "table id")?;
    r.take(2, "flags")?;
    let body = data.get(8..).unwrap_or_default().to_vec();
    let db_len = usize::from(r.u8("database name length")?);
    let db = string(r.take(db_len, "database name")?);
    r.take(1, "database name terminator")?;
    let t_len = usize::from(r.u8("table name length")?);
    let table = string(r.take(t_len, "table name")?);
    r.take(1, "table name terminator")?;
    let n = usize::try_from(r.lenenc("column count")?).map_err(|_| Short("column count"))?;
    let types = r.take(n, "column types")?.to_vec();
    let mut meta = Reader::new(r.lenenc_bytes("column metadata")?);
    let mut columns = Vec::with_capacity(n);
    for &t in &types {
        let mut m = [0u8; 2];
        for slot in m.iter_mut().take(meta_len(t)) {
            *slot = meta.u8("column metadata")?;
        }
        let mut real = t;
        if t == ty::STRING && m[0] != 0 {
            real = match m[0] | 0x30 {
                x @ (ty::ENUM | ty::SET) => x,
                _ => ty::STRING,
            };
        }
        columns.push(BinlogColumn {
            ty: real,
            meta: m,
            nullable: false,
            unsigned: false,
            collation: None,
            name: None,
            values: Vec::new(),
        });
    }
    let nulls = r.take(n.div_ceil(8), "null bitmap")?;
    for (i, c) in columns.iter_mut().enumerate() {
        c.nullable = nulls[i / 8] & (1 << (i % 8)) != 0;
    }
    let mut primary_key = Vec::new();
    let mut has_names = false;
    while !r.is_empty() {
        let kind = r.u8("optional metadata type")?;
        let mut v = Reader::new(r.lenenc_bytes("optional metadata")?);
        match kind {
            1 => {
                let bits = v.rest();
                let numeric = columns.iter_mut().filter(|c| c.is_numeric());
                for (k, c) in numeric.enumerate() {
                    c.unsigned = bits.get(k / 8).is_some_and(|b| b & (0x80 >> (k % 8)) != 0);
                }
            }
            2 | 10 => {
                let enum_set = kind == 10;
                let default = v.lenenc("default charset")? as u16;
                let mut overrides = Vec::new();
                while !v.is_empty() {
                    overrides.push((v.lenenc("charset column")?, v.lenenc("charset")? as u16));
                }
                let subset = columns.iter_mut().filter(|c| {
                    if enum_set {
                        c.is_enum_or_set()
                    } else {
                        c.is_character()
                    }
                });
                for (k, c) in subset.enumerate() {
                    let o = overrides.iter().find(|(i, _)| *i == k as u64);
                    c.collation = Some(o.map_or(default, |(_, cs)| *cs));
                }
            }
            3 | 11 => {
                let enum_set = kind == 11;
                let subset = columns.iter_mut().filter(|c| {
                    if enum_set {
                        c.is_enum_or_set()
                    } else {
                        c.is_character()
                    }
                });
                for c in subset {
                    c.collation = Some(v.lenenc("column charset")? as u16);
                }
            }
            4 => {
                for c in columns.iter_mut() {
                    c.name = Some(string(v.lenenc_bytes("column name")?));
                }
                has_names = true;
            }
            5 | 6 => {
                let want = if kind == 5 { ty::SET } else { ty::ENUM };
                for c in columns.iter_mut().filter(|c| c.ty == want) {
                    let count = v.lenenc("value count")?;
                    for _ in 0..count {
                        c.values.push(string(v.lenenc_bytes("value")?));
                    }
                }
            }
            8 => {
                while !v.is_empty() {
                    primary_key.push(v.lenenc("primary key column")? as usize);
                }
            }
            9 => {
                while !v.is_empty() {
                    primary_key.push(v.lenenc("primary key column")? as usize);
                    v.lenenc("primary key prefix")?;
                }
            }
            _ => {}
        }
    }
    primary_key.retain(|&i| i < columns.len());
    Ok(TableMap {
        table_id,
        db,
        table,
        columns,
        primary_key,
        body,
        has_names,
    })
}

impl TableMap {
    /// The shared table description. `json_columns` names the LONGTEXT columns MariaDB
    /// declares as JSON (a `json_valid` check constraint), which the binlog cannot tell.
    pub fn to_meta(&self, json_columns: &[String]) -> TableMeta {
        let columns = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let name = c.name.clone().unwrap_or_else(|| format!("col_{i}"));
                let charset = c.collation.and_then(charset_of_collation);
                let binary = c.is_character() && c.collation == Some(63);
                let ty = match c.ty {
                    ty::TINY => ColumnType::TinyInt,
                    ty::SHORT => ColumnType::SmallInt,
                    ty::INT24 => ColumnType::MediumInt,
                    ty::LONG => ColumnType::Int,
                    ty::LONGLONG => ColumnType::BigInt,
                    ty::FLOAT => ColumnType::Float,
                    ty::DOUBLE => ColumnType::Double,
                    ty::NEWDECIMAL | ty::DECIMAL => ColumnType::Decimal {
                        precision: c.meta[0],
                        scale: c.meta[1],
                    },
                    ty::BIT => ColumnType::Bit {
                        bits: u16::from(c.meta[1]) * 8 + u16::from(c.meta[0]),
                    },
                    ty::YEAR => ColumnType::Year,
                    ty::DATE | ty::NEWDATE => ColumnType::Date,
                    ty::TIME => ColumnType::Time { fsp: 0 },
                    ty::TIME2 => ColumnType::Time { fsp: c.meta[0] },
                    ty::DATETIME => ColumnType::DateTime { fsp: 0 },
                    ty::DATETIME2 => ColumnType::DateTime { fsp: c.meta[0] },
                    ty::TIMESTAMP => ColumnType::Timestamp { fsp: 0 },
                    ty::TIMESTAMP2 => ColumnType::Timestamp { fsp: c.meta[0] },
                    ty::JSON => ColumnType::Json,
                    ty::ENUM => ColumnType::Enum {
                        values: c.values.clone(),
                    },
                    ty::SET => ColumnType::Set {
                        values: c.values.clone(),
                    },
                    ty::GEOMETRY => ColumnType::Geometry,
                    ty::BLOB | ty::TINY_BLOB | ty::MEDIUM_BLOB | ty::LONG_BLOB
                        if !binary
                            && json_columns.iter().any(|j| j.eq_ignore_ascii_case(&name)) =>
                    {
                        ColumnType::Json
                    }
                    ty::STRING => ColumnType::Text {
                        binary,
                        fixed: binary.then(|| c.string_max_len()),
                    },
                    _ => ColumnType::Text {
                        binary,
                        fixed: None,
                    },
                };
                ColumnMeta {
                    name,
                    ty,
                    unsigned: c.unsigned,
                    nullable: c.nullable,
                    charset: charset.unwrap_or(Charset::Utf8),
                }
            })
            .collect();
        TableMeta {
            db: self.db.clone(),
            table: self.table.clone(),
            columns,
            primary_key: self.primary_key.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TABLE_MAP for `CREATE TABLE d.t (id INT UNSIGNED PRIMARY KEY, n DECIMAL(10,2),
    /// s VARCHAR(10) CHARSET latin1, e ENUM('a','b'))`, written by hand from the format.
    fn sample() -> Vec<u8> {
        let mut b = vec![42, 0, 0, 0, 0, 0, 1, 0];
        b.extend([1, b'd', 0, 1, b't', 0, 4]);
        b.extend([ty::LONG, ty::NEWDECIMAL, ty::VARCHAR, ty::STRING]);
        b.extend([6, 10, 2, 10, 0, ty::ENUM, 1]);
        b.push(0b1110);
        b.extend([1, 1, 0b1000_0000]); // signedness: id unsigned, n signed
        b.extend([2, 1, 8]); // default charset latin1_swedish_ci
        b.extend([4, 9, 2, b'i', b'd', 1, b'n', 1, b's', 1, b'e']);
        b.extend([6, 5, 2, 1, b'a', 1, b'b']);
        b.extend([8, 1, 0]);
        b.extend([99, 2, 7, 7]); // an unknown field is skipped
        b
    }

    #[test]
    fn parses_optional_metadata() {
        let m = parse(&sample()).expect("valid");
        assert_eq!(
            (m.table_id, m.db.as_str(), m.table.as_str()),
            (42, "d", "t")
        );
        assert!(m.has_names);
        assert_eq!(m.primary_key, vec![0]);
        let meta = m.to_meta(&[]);
        let names: Vec<&str> = meta.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "n", "s", "e"]);
        assert!(meta.columns[0].unsigned && !meta.columns[0].nullable);
        assert!(!meta.columns[1].unsigned && meta.columns[1].nullable);
        assert_eq!(
            meta.columns[1].ty,
            ColumnType::Decimal {
                precision: 10,
                scale: 2
            }
        );
        assert_eq!(meta.columns[2].charset, Charset::Latin1);
        assert_eq!(
            meta.columns[2].ty,
            ColumnType::Text {
                binary: false,
                fixed: None
            }
        );
        assert_eq!(
            meta.columns[3].ty,
            ColumnType::Enum {
                values: vec!["a".into(), "b".into()]
            }
        );
    }

    #[test]
    fn truncated_events_are_errors() {
        let full = sample();
        for n in 0..27 {
            assert!(parse(&full[..n]).is_err(), "prefix of {n} bytes parsed");
        }
    }
}
