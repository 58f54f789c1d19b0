//! The statements the sink runs, as text with `?` placeholders.
//!
//! Why this is right: every identifier goes through [`quote`] and every value is a bound
//! parameter, so no data can change a statement. An upsert is `INSERT … ON DUPLICATE KEY
//! UPDATE c = VALUES(c)` for every non-key column — the row ends up exactly as the record
//! says whether it was there or not, which is what makes redelivery harmless. Deletes of
//! one-column keys use `IN (…)`; composite keys use `(a = ? AND b = ?) OR …`, which both
//! MySQL and MariaDB turn into index range scans.

use crate::sink::config::InsertMode;
use crate::sink::table::{quote, TableId};

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| quote(n))
        .collect::<Vec<_>>()
        .join(", ")
}

fn tuple(n: usize) -> String {
    let mut s = String::with_capacity(2 + 3 * n);
    s.push('(');
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s.push(')');
    s
}

/// A multi-row `INSERT` of `rows` rows of `key` + `rest` columns; with `Upsert`,
/// `ON DUPLICATE KEY UPDATE` of the `rest` columns.
pub fn insert(
    table: &TableId,
    key: &[&str],
    rest: &[&str],
    rows: usize,
    mode: InsertMode,
) -> String {
    let all: Vec<&str> = key.iter().chain(rest).copied().collect();
    let one = tuple(all.len());
    let mut sql = format!("INSERT INTO {} ({}) VALUES ", table.quoted(), list(&all));
    sql.reserve(rows * (one.len() + 2) + 64);
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&one);
    }
    if mode == InsertMode::Upsert {
        sql.push_str(" ON DUPLICATE KEY UPDATE ");
        // With only key columns there is nothing to update: a no-op keeps the statement valid.
        let targets: &[&str] = if rest.is_empty() {
            &key[..key.len().min(1)]
        } else {
            rest
        };
        let sets: Vec<String> = targets
            .iter()
            .map(|c| format!("{0} = VALUES({0})", quote(c)))
            .collect();
        sql.push_str(&sets.join(", "));
    }
    sql
}

/// `UPDATE … SET rest = ? … WHERE key = ? …` for one row.
pub fn update(table: &TableId, key: &[&str], rest: &[&str]) -> String {
    let sets: Vec<String> = rest.iter().map(|c| format!("{} = ?", quote(c))).collect();
    let wheres: Vec<String> = key.iter().map(|c| format!("{} = ?", quote(c))).collect();
    format!(
        "UPDATE {} SET {} WHERE {}",
        table.quoted(),
        sets.join(", "),
        wheres.join(" AND ")
    )
}

/// `DELETE` of `rows` keys.
pub fn delete(table: &TableId, key: &[&str], rows: usize) -> String {
    let cond = if key.len() == 1 {
        let marks = vec!["?"; rows].join(", ");
        format!("{} IN ({marks})", quote(key[0]))
    } else {
        let one = format!(
            "({})",
            key.iter()
                .map(|c| format!("{} = ?", quote(c)))
                .collect::<Vec<_>>()
                .join(" AND ")
        );
        vec![one; rows].join(" OR ")
    };
    format!("DELETE FROM {} WHERE {cond}", table.quoted())
}

/// `DELETE FROM` the whole table (a truncate event, kept inside the put's transaction,
/// which `TRUNCATE TABLE` would commit).
pub fn delete_all(table: &TableId) -> String {
    format!("DELETE FROM {}", table.quoted())
}

/// `CREATE TABLE IF NOT EXISTS` with `(name, type)` columns and a primary key.
pub fn create_table(table: &TableId, columns: &[(String, String)], key: &[&str]) -> String {
    let mut defs: Vec<String> = columns
        .iter()
        .map(|(n, t)| format!("{} {t}", quote(n)))
        .collect();
    if !key.is_empty() {
        defs.push(format!("PRIMARY KEY ({})", list(key)));
    }
    format!(
        "CREATE TABLE IF NOT EXISTS {} ({}) DEFAULT CHARSET=utf8mb4",
        table.quoted(),
        defs.join(", ")
    )
}

/// `ALTER TABLE … ADD COLUMN` for each `(name, type)`.
pub fn add_columns(table: &TableId, columns: &[(String, String)]) -> String {
    let adds: Vec<String> = columns
        .iter()
        .map(|(n, t)| format!("ADD COLUMN {} {t}", quote(n)))
        .collect();
    format!("ALTER TABLE {} {}", table.quoted(), adds.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> TableId {
        TableId {
            db: "b".into(),
            table: "t".into(),
        }
    }

    #[test]
    fn statements() {
        assert_eq!(
            insert(&t(), &["id"], &["a", "b"], 2, InsertMode::Upsert),
            "INSERT INTO `b`.`t` (`id`, `a`, `b`) VALUES (?, ?, ?), (?, ?, ?) ON DUPLICATE KEY UPDATE `a` = VALUES(`a`), `b` = VALUES(`b`)"
        );
        assert_eq!(
            insert(&t(), &["id"], &[], 1, InsertMode::Upsert),
            "INSERT INTO `b`.`t` (`id`) VALUES (?) ON DUPLICATE KEY UPDATE `id` = VALUES(`id`)"
        );
        assert_eq!(
            insert(&t(), &[], &["a"], 1, InsertMode::Insert),
            "INSERT INTO `b`.`t` (`a`) VALUES (?)"
        );
        assert_eq!(
            update(&t(), &["k1", "k2"], &["a"]),
            "UPDATE `b`.`t` SET `a` = ? WHERE `k1` = ? AND `k2` = ?"
        );
        assert_eq!(
            delete(&t(), &["id"], 3),
            "DELETE FROM `b`.`t` WHERE `id` IN (?, ?, ?)"
        );
        assert_eq!(
            delete(&t(), &["a", "b"], 2),
            "DELETE FROM `b`.`t` WHERE (`a` = ? AND `b` = ?) OR (`a` = ? AND `b` = ?)"
        );
        assert_eq!(
            create_table(
                &t(),
                &[("id".into(), "INT NOT NULL".into()), ("n".into(), "LONGTEXT NULL".into())],
                &["id"]
            ),
            "CREATE TABLE IF NOT EXISTS `b`.`t` (`id` INT NOT NULL, `n` LONGTEXT NULL, PRIMARY KEY (`id`)) DEFAULT CHARSET=utf8mb4"
        );
        assert_eq!(
            add_columns(&t(), &[("x".into(), "INT NULL".into())]),
            "ALTER TABLE `b`.`t` ADD COLUMN `x` INT NULL"
        );
    }
}
