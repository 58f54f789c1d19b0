//! The write loop: one put's changes, reduced per key, written in one transaction.
//!
//! Why this is right:
//! - **Order per key.** Every change is absolute (the row becomes `after`, or is gone), so
//!   the state after a sequence of changes of one key is the state its last change names.
//!   Keeping only the last change of each key ([`plan`]) therefore gives the same table as
//!   applying them all in order, and makes the surviving changes of a put touch distinct
//!   keys: they commute, so truncates, then deletes, then upserts can each run as large
//!   multi-row statements.
//! - **Atomic puts.** DDL (`auto.create`, `auto.evolve`) runs before the transaction, since
//!   MySQL commits implicitly around DDL; then every row change of the put runs between
//!   `START TRANSACTION` and `COMMIT`. A crash or error before `COMMIT` leaves the table as
//!   it was and the worker, which commits Kafka offsets only after `put` and `flush`
//!   returned, delivers the records again.
//! - **Idempotent redelivery.** Redelivery replays a suffix of the change stream that the
//!   table may already reflect. Replaying absolute changes from any earlier point ends in
//!   the state of the last change, so with `insert.mode=upsert` the table converges to
//!   the same rows however often a put is repeated.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Params, TxOpts, Value as My};

use crate::sink::config::{InsertMode, PkMode, SinkConfig};
use crate::sink::error::{SinkError, SqlContext};
use crate::sink::records::{Change, Col, Row};
use crate::sink::sql;
use crate::sink::table::TableId;
use crate::sink::types::{self, ColumnInfo};

/// Placeholders a prepared statement may have.
const MAX_PLACEHOLDERS: usize = 65_535;
/// Bytes of bound values after which a multi-row statement is cut (well below the
/// server's default `max_allowed_packet` of 16 MiB).
const MAX_STATEMENT_BYTES: usize = 4 << 20;

/// Deletes of one table by the same key columns.
type DeleteGroup<'a> = (&'a TableId, Vec<&'a str>);
/// Upserts of one table with the same columns: (table, key + other columns, key count).
type UpsertGroup<'a> = (&'a TableId, Vec<&'a str>, usize);

/// A target table's columns.
#[derive(Debug)]
struct TableMeta {
    columns: Vec<ColumnInfo>,
    by_name: HashMap<String, usize>,
}

impl TableMeta {
    fn new(columns: Vec<ColumnInfo>) -> Self {
        let by_name = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.to_lowercase(), i))
            .collect();
        TableMeta { columns, by_name }
    }

    fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.by_name
            .get(&name.to_lowercase())
            .map(|&i| &self.columns[i])
    }
}

/// One put, reduced: what to run, in this order.
#[derive(Debug, Default)]
pub struct Plan {
    pub truncates: Vec<TableId>,
    pub deletes: Vec<(TableId, Vec<Col>)>,
    pub upserts: Vec<(TableId, Row)>,
}

/// A key's identity: its table and its values (Debug text is exact for every variant).
fn identity(table: &TableId, key: &[Col]) -> String {
    let mut s = format!("{table}\u{0}");
    for c in key {
        s.push_str(&format!("{:?}\u{0}", c.value));
    }
    s
}

/// Keeps the last change of each key; changes without a key (`primary.key.mode=none`)
/// are all kept, in order. A truncate drops what came before it on its table.
pub fn plan(changes: Vec<Change>) -> Plan {
    enum Slot {
        Delete(TableId, Vec<Col>),
        Upsert(TableId, Row),
    }
    let mut slots: Vec<Option<Slot>> = Vec::with_capacity(changes.len());
    let mut last: HashMap<String, usize> = HashMap::with_capacity(changes.len());
    let mut truncates: Vec<TableId> = Vec::new();
    for change in changes {
        let (ident, slot) = match change {
            Change::Truncate { table } => {
                for s in slots.iter_mut() {
                    if matches!(s, Some(Slot::Delete(t, _) | Slot::Upsert(t, _)) if *t == table) {
                        *s = None;
                    }
                }
                last.retain(|k, _| !k.starts_with(&format!("{table}\u{0}")));
                if !truncates.contains(&table) {
                    truncates.push(table);
                }
                continue;
            }
            Change::Delete { table, key } => {
                (Some(identity(&table, &key)), Slot::Delete(table, key))
            }
            Change::Upsert { table, row } => (
                (!row.key.is_empty()).then(|| identity(&table, &row.key)),
                Slot::Upsert(table, row),
            ),
        };
        match ident.and_then(|i| match last.get(&i) {
            Some(&at) => Some(at),
            None => {
                last.insert(i, slots.len());
                None
            }
        }) {
            Some(at) => slots[at] = Some(slot),
            None => slots.push(Some(slot)),
        }
    }
    let mut plan = Plan {
        truncates,
        ..Plan::default()
    };
    for s in slots.into_iter().flatten() {
        match s {
            Slot::Delete(t, k) => plan.deletes.push((t, k)),
            Slot::Upsert(t, r) => plan.upserts.push((t, r)),
        }
    }
    plan
}

/// Writes changes over one connection.
pub struct Writer {
    conn: Option<Conn>,
    cfg: SinkConfig,
    tables: HashMap<TableId, Arc<TableMeta>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("host", &self.cfg.hostname)
            .finish()
    }
}

fn names(cols: &[Col]) -> Vec<&str> {
    cols.iter().map(|c| c.name.as_str()).collect()
}

impl Writer {
    /// Connects with the config's credentials (UTF-8, UTC session).
    pub async fn connect(cfg: SinkConfig) -> Result<Writer, SinkError> {
        let mut opts = OptsBuilder::default()
            .ip_or_hostname(cfg.hostname.clone())
            .tcp_port(cfg.port)
            .user(Some(cfg.user.clone()))
            .pass(Some(cfg.password.clone()))
            .prefer_socket(false)
            .stmt_cache_size(Some(64))
            .init(vec![
                "SET NAMES utf8mb4",
                "SET SESSION time_zone = '+00:00'",
            ]);
        if !cfg.database.is_empty() {
            opts = opts.db_name(Some(cfg.database.clone()));
        }
        let addr = format!("{}:{}", cfg.hostname, cfg.port);
        let context = || format!("connecting to {addr} as {}", cfg.user);
        let conn = match tokio::time::timeout(
            Duration::from_millis(cfg.connect_timeout_ms),
            cfg.tls.connect(opts),
        )
        .await
        {
            Ok(Ok(conn)) => conn,
            Ok(Err(crate::tls::TlsConnectError::Driver(e))) => Err(e).ctx(context)?,
            Ok(Err(e)) => return Err(SinkError::Table(format!("{}: {e}", context()))),
            Err(_) => {
                return Err(SinkError::sql(
                    context(),
                    mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!(
                            "no answer within connect.timeout.ms={}",
                            cfg.connect_timeout_ms
                        ),
                    ))),
                ))
            }
        };
        Ok(Writer {
            conn: Some(conn),
            cfg,
            tables: HashMap::new(),
        })
    }

    /// Closes the connection.
    pub async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.disconnect().await;
        }
    }

    fn conn(&mut self) -> Result<&mut Conn, SinkError> {
        self.conn.as_mut().ok_or_else(|| {
            SinkError::Table(
                "mysql-sink used after its connection failed; the task restarts".into(),
            )
        })
    }

    /// Qualifies a table with the connection's database.
    fn qualify(&self, mut t: TableId) -> Result<TableId, SinkError> {
        if t.db.is_empty() {
            if self.cfg.database.is_empty() {
                return Err(SinkError::Table(format!(
                    "table {} has no database: name one in connection.url (jdbc:mysql://host:3306/<database>), database.name or table.name.format (<database>.${{topic}})",
                    t.table
                )));
            }
            t.db = self.cfg.database.clone();
        }
        Ok(t)
    }

    /// Reads a table's columns; `None` when it does not exist.
    async fn load(&mut self, t: &TableId) -> Result<Option<Arc<TableMeta>>, SinkError> {
        if let Some(m) = self.tables.get(t) {
            return Ok(Some(m.clone()));
        }
        let rows: Vec<(String, String, String)> = self
            .conn()?
            .exec(
                "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (t.db.as_str(), t.table.as_str()),
            )
            .await
            .ctx(|| format!("reading the columns of {t}"))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let meta = Arc::new(TableMeta::new(
            rows.into_iter()
                .map(|(name, data_type, column_type)| ColumnInfo {
                    name,
                    data_type: data_type.to_lowercase(),
                    unsigned: column_type.to_lowercase().contains("unsigned"),
                })
                .collect(),
        ));
        self.tables.insert(t.clone(), meta.clone());
        Ok(Some(meta))
    }

    fn ddl_columns(cols: &[&Col], key: bool) -> Result<Vec<(String, String)>, SinkError> {
        cols.iter()
            .map(|c| {
                let schema = c.schema.as_ref().ok_or_else(|| {
                    SinkError::Table(format!(
                        "column {} has no schema, so no column type can be derived: use a converter with schemas (JsonConverter with schemas.enable=true, Avro, Protobuf) or create the table yourself",
                        c.name
                    ))
                })?;
                let ty = types::column_type(schema, key)
                    .map_err(|why| SinkError::Table(format!("column {}: {why}", c.name)))?;
                Ok((c.name.clone(), ty))
            })
            .collect()
    }

    /// Makes sure `t` exists with every column of `row`: creates or evolves it when
    /// allowed, and says which key to set when not.
    async fn prepare(&mut self, t: &TableId, row: &Row) -> Result<Arc<TableMeta>, SinkError> {
        let meta = match self.load(t).await? {
            Some(m) => m,
            None => {
                if !self.cfg.auto_create {
                    return Err(SinkError::Table(format!(
                        "table {t} does not exist: create it, or set auto.create=true (or schema.evolution=basic) to have it created from the record schema"
                    )));
                }
                let key: Vec<&Col> = row.key.iter().collect();
                let rest: Vec<&Col> = row.rest.iter().collect();
                let mut columns = Self::ddl_columns(&key, true)?;
                columns.extend(Self::ddl_columns(&rest, false)?);
                let stmt = sql::create_table(t, &columns, &names(&row.key));
                tracing::info!(table = %t, statement = %stmt, "creating the target table (auto.create)");
                self.conn()?
                    .query_drop(&stmt)
                    .await
                    .ctx(|| format!("creating table {t}: {stmt}"))?;
                self.tables.remove(t);
                self.load(t).await?.ok_or_else(|| {
                    SinkError::Table(format!("table {t} is still missing after CREATE TABLE"))
                })?
            }
        };
        let lacks = |m: &TableMeta| {
            row.key
                .iter()
                .chain(&row.rest)
                .any(|c| m.column(&c.name).is_none())
        };
        // The cached columns may be stale (someone added the column): read them again
        // before deciding to evolve.
        let meta = if lacks(&meta) {
            self.tables.remove(t);
            self.load(t).await?.unwrap_or(meta)
        } else {
            meta
        };
        let missing: Vec<&Col> = row
            .key
            .iter()
            .chain(&row.rest)
            .filter(|c| meta.column(&c.name).is_none())
            .collect();
        if missing.is_empty() {
            return Ok(meta);
        }
        let list = missing
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if !self.cfg.auto_evolve {
            return Err(SinkError::Table(format!(
                "table {t} has no column(s) {list}: add them, or set auto.evolve=true (or schema.evolution=basic) to have them added"
            )));
        }
        // Added columns are NULL-able: rows already there have no value for them.
        let mut columns = Self::ddl_columns(&missing, false)?;
        for (_, ty) in &mut columns {
            if let Some(base) = ty.strip_suffix(" NOT NULL") {
                *ty = format!("{base} NULL");
            }
        }
        let stmt = sql::add_columns(t, &columns);
        tracing::info!(table = %t, statement = %stmt, "adding columns to the target table (auto.evolve)");
        self.conn()?
            .query_drop(&stmt)
            .await
            .ctx(|| format!("evolving table {t}: {stmt}"))?;
        self.tables.remove(t);
        self.load(t)
            .await?
            .ok_or_else(|| SinkError::Table(format!("table {t} disappeared while being evolved")))
    }

    /// Writes one put's changes in one transaction; returns the rows written and deleted.
    pub async fn write(&mut self, changes: Vec<Change>) -> Result<usize, SinkError> {
        let qualified: Vec<Change> = changes
            .into_iter()
            .map(|c| {
                Ok(match c {
                    Change::Upsert { table, row } => Change::Upsert {
                        table: self.qualify(table)?,
                        row,
                    },
                    Change::Delete { table, key } => Change::Delete {
                        table: self.qualify(table)?,
                        key,
                    },
                    Change::Truncate { table } => Change::Truncate {
                        table: self.qualify(table)?,
                    },
                })
            })
            .collect::<Result<_, SinkError>>()?;
        let plan = plan(qualified);
        let result = self.run(plan).await;
        if let Err(SinkError::Sql { .. }) = &result {
            // The connection may be mid-transaction or gone: never reuse it.
            self.conn = None;
            self.tables.clear();
        }
        result
    }

    async fn run(&mut self, plan: Plan) -> Result<usize, SinkError> {
        // DDL first: it would commit the transaction implicitly.
        let mut metas: HashMap<TableId, Arc<TableMeta>> = HashMap::new();
        for (t, row) in &plan.upserts {
            let known = metas.get(t).is_some_and(|m| {
                row.key
                    .iter()
                    .chain(&row.rest)
                    .all(|c| m.column(&c.name).is_some())
            });
            if !known {
                let m = self.prepare(t, row).await?;
                metas.insert(t.clone(), m);
            }
        }
        for (t, _) in &plan.deletes {
            if !metas.contains_key(t) {
                if let Some(m) = self.load(t).await? {
                    metas.insert(t.clone(), m);
                }
            }
        }
        for t in &plan.truncates {
            if !metas.contains_key(t) {
                if let Some(m) = self.load(t).await? {
                    metas.insert(t.clone(), m);
                }
            }
        }
        let cfg = self.cfg.clone();
        let conn = self.conn()?;
        let mut tx = conn
            .start_transaction(TxOpts::default())
            .await
            .ctx(|| "starting a transaction".to_owned())?;
        let mut written = 0;
        for t in &plan.truncates {
            if metas.contains_key(t) {
                let stmt = sql::delete_all(t);
                tx.query_drop(&stmt)
                    .await
                    .ctx(|| format!("truncating {t}"))?;
            }
        }
        // Deletes, grouped by table and key columns.
        let mut groups: Vec<(DeleteGroup<'_>, Vec<&[Col]>)> = Vec::new();
        for (t, key) in &plan.deletes {
            if !metas.contains_key(t) {
                continue; // No table, no row to delete.
            }
            let sig = (t, names(key));
            match groups.iter_mut().find(|(s, _)| *s == sig) {
                Some((_, v)) => v.push(key),
                None => groups.push((sig, vec![key])),
            }
        }
        for ((t, cols), keys) in groups {
            let meta = &metas[t];
            let per = (MAX_PLACEHOLDERS / cols.len().max(1))
                .min(cfg.batch_size)
                .max(1);
            for chunk in keys.chunks(per) {
                let mut params = Vec::with_capacity(chunk.len() * cols.len());
                for key in chunk {
                    bind_cols(key, meta, t, &mut params)?;
                }
                let stmt = sql::delete(t, &cols, chunk.len());
                tx.exec_drop(&stmt, Params::Positional(params))
                    .await
                    .ctx(|| format!("deleting {} row(s) from {t}", chunk.len()))?;
                written += chunk.len();
            }
        }
        // Upserts, grouped by table and column list.
        let mut groups: Vec<(UpsertGroup<'_>, Vec<&Row>)> = Vec::new();
        for (t, row) in &plan.upserts {
            let mut all = names(&row.key);
            all.extend(names(&row.rest));
            let sig = (t, all, row.key.len());
            match groups.iter_mut().find(|(s, _)| *s == sig) {
                Some((_, v)) => v.push(row),
                None => groups.push((sig, vec![row])),
            }
        }
        for ((t, cols, nkey), rows) in groups {
            let meta = &metas[t];
            let (key, rest) = cols.split_at(nkey);
            if cfg.insert_mode == InsertMode::Update {
                let stmt = sql::update(t, key, rest);
                for row in rows {
                    let mut params = Vec::with_capacity(cols.len());
                    bind_cols(&row.rest, meta, t, &mut params)?;
                    bind_cols(&row.key, meta, t, &mut params)?;
                    tx.exec_drop(&stmt, Params::Positional(params))
                        .await
                        .ctx(|| format!("updating a row of {t}"))?;
                    written += 1;
                }
                continue;
            }
            let per = (MAX_PLACEHOLDERS / cols.len().max(1))
                .min(cfg.batch_size)
                .max(1);
            let mut i = 0;
            while i < rows.len() {
                let mut params: Vec<My> = Vec::with_capacity(per.min(rows.len() - i) * cols.len());
                let mut bytes = 0;
                let mut n = 0;
                while i + n < rows.len() && n < per && bytes < MAX_STATEMENT_BYTES {
                    let row = rows[i + n];
                    let start = params.len();
                    bind_cols(&row.key, meta, t, &mut params)?;
                    bind_cols(&row.rest, meta, t, &mut params)?;
                    bytes += params[start..].iter().map(value_size).sum::<usize>();
                    n += 1;
                }
                let stmt = sql::insert(t, key, rest, n, cfg.insert_mode);
                tx.exec_drop(&stmt, Params::Positional(params))
                    .await
                    .ctx(|| format!("writing {n} row(s) to {t}"))?;
                written += n;
                i += n;
            }
        }
        tx.commit().await.ctx(|| "committing".to_owned())?;
        Ok(written)
    }

    /// The key mode, for the task's log.
    pub fn pk_mode(&self) -> PkMode {
        self.cfg.pk_mode
    }
}

fn value_size(v: &My) -> usize {
    match v {
        My::Bytes(b) => b.len() + 9,
        _ => 9,
    }
}

fn bind_cols(
    cols: &[Col],
    meta: &TableMeta,
    t: &TableId,
    out: &mut Vec<My>,
) -> Result<(), SinkError> {
    for c in cols {
        let v = types::bind(c.schema.as_deref(), &c.value, meta.column(&c.name))
            .map_err(|why| SinkError::Record(format!("column {} of {t}: {why}", c.name)))?;
        out.push(v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::{Schema, Type, Value};

    fn t(name: &str) -> TableId {
        TableId {
            db: "b".into(),
            table: name.into(),
        }
    }

    fn key(id: i32) -> Vec<Col> {
        vec![Col {
            name: "id".into(),
            schema: Some(Schema::primitive(Type::Int32, false)),
            value: Value::Int32(id),
        }]
    }

    fn up(table: &str, id: i32, v: &str) -> Change {
        Change::Upsert {
            table: t(table),
            row: Row {
                key: key(id),
                rest: vec![Col {
                    name: "v".into(),
                    schema: None,
                    value: Value::String(v.into()),
                }],
            },
        }
    }

    #[test]
    fn the_last_change_of_each_key_wins() {
        let p = plan(vec![
            up("a", 1, "x"),
            up("a", 2, "y"),
            Change::Delete {
                table: t("a"),
                key: key(1),
            },
            up("b", 1, "other table"),
            up("a", 2, "y2"),
            Change::Delete {
                table: t("a"),
                key: key(3),
            },
            up("a", 3, "back"),
        ]);
        assert!(p.truncates.is_empty());
        assert_eq!(p.deletes.len(), 1, "{p:?}");
        assert_eq!(p.deletes[0].1, key(1));
        let ups: Vec<(String, i32, String)> = p
            .upserts
            .iter()
            .map(|(t, r)| {
                let Value::Int32(id) = r.key[0].value else {
                    panic!()
                };
                let Value::String(v) = &r.rest[0].value else {
                    panic!()
                };
                (t.table.clone(), id, v.clone())
            })
            .collect();
        assert_eq!(
            ups,
            [
                ("a".into(), 2, "y2".into()),
                ("b".into(), 1, "other table".into()),
                ("a".into(), 3, "back".into())
            ]
        );
    }

    #[test]
    fn a_truncate_drops_what_came_before_on_its_table() {
        let p = plan(vec![
            up("a", 1, "gone"),
            up("b", 1, "kept"),
            Change::Truncate { table: t("a") },
            up("a", 1, "after"),
        ]);
        assert_eq!(p.truncates, [t("a")]);
        assert_eq!(p.upserts.len(), 2);
        assert_eq!(p.upserts[1].1.rest[0].value, Value::String("after".into()));
    }

    #[test]
    fn keyless_rows_are_all_kept() {
        let row = |v: &str| Change::Upsert {
            table: t("log"),
            row: Row {
                key: Vec::new(),
                rest: vec![Col {
                    name: "v".into(),
                    schema: None,
                    value: Value::String(v.into()),
                }],
            },
        };
        assert_eq!(plan(vec![row("1"), row("1"), row("2")]).upserts.len(), 3);
    }
}
