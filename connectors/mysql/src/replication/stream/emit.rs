//! Turning decoded rows and TRUNCATE statements into records, with their offsets.
//!
//! Why this is right: one row can produce up to three records (a primary-key change is a
//! delete, a tombstone and a create); all but the last carry the offset *before* the row,
//! the last the offset after it, so a crash between them replays the row instead of losing
//! its tail. The transaction block and BEGIN record are produced lazily, at the first
//! captured change of a transaction, as Debezium does.

use std::sync::Arc;

use sluice_core::{SourceOffset, Value};

use super::{tx_id, Streamer};
use crate::convert::{key_struct, row_struct, Raw};
use crate::decode::RowsKind;
use crate::envelope::{self, Op, SourceInfo, TxBlock};
use crate::error::{MySqlError, Result};
use crate::offsets::{Offset, StreamOffset};
use crate::schema::TableSchema;
use sluice_core::output::Output;

impl Streamer {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn emit_row(
        &mut self,
        t: &Arc<TableSchema>,
        kind: RowsKind,
        before: Option<Vec<Raw<'_>>>,
        after: Option<Vec<Raw<'_>>>,
        event: u64,
        row: u64,
        pos: u64,
        out: &mut Output,
    ) -> Result<(), String> {
        let cfg = self.cfg.clone();
        let skipped = match kind {
            RowsKind::Write => cfg.skip_create,
            RowsKind::Update => cfg.skip_update,
            RowsKind::Delete => cfg.skip_delete,
        };
        if skipped {
            return Ok(());
        }
        let Some(txn) = &mut self.txn else {
            return Ok(());
        };
        // The offset after this row, and (only when the row makes several records, or a
        // BEGIN record precedes it) the offset before it.
        let (file, txn_pos, gtids, server_id, ts_sec) = (
            &txn.file,
            txn.pos,
            &txn.gtids_before,
            self.event_server,
            self.ts_sec,
        );
        let offset = |row: u64| {
            StreamOffset {
                file: file.clone(),
                pos: txn_pos,
                gtids: gtids.clone(),
                event,
                row,
                server_id,
                ts_sec,
            }
            .into_source_offset()
        };
        let tx_id = if cfg.transaction_metadata {
            tx_id(txn)
        } else {
            String::new()
        };
        if cfg.transaction_metadata && !txn.begun {
            txn.begun = true;
            out.push(envelope::transaction_record(
                &self.source,
                &cfg.transaction_topic,
                &tx_id,
                ts_sec * 1000,
                None,
                offset(row - 1),
            ));
        }
        let tx_block = if cfg.transaction_metadata {
            txn.total += 1;
            let n = match txn.collections.iter_mut().find(|(c, _)| *c == t.collection) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    txn.collections.push((t.collection.clone(), 1));
                    1
                }
            };
            Some((txn.total, n))
        } else {
            None
        };
        let info = SourceInfo {
            ts_ms: self.ts_sec * 1000,
            snapshot: "false",
            server_id: self.event_server as i64,
            gtid: txn.gtid.as_deref(),
            file: &self.file,
            pos: pos as i64,
            row: (row - 1) as i32,
            thread: txn.thread,
        };
        let block = tx_block.map(|(total, coll)| TxBlock {
            id: &tx_id,
            total_order: total,
            collection_order: coll,
        });
        let image =
            |raws: &Option<Vec<Raw<'_>>>| -> Result<Option<(Option<Value>, Value)>, String> {
                match raws {
                    None => Ok(None),
                    Some(r) => Ok(Some((key_struct(t, r, &cfg)?, row_struct(t, r, &cfg)?))),
                }
            };
        let before = image(&before)?;
        let after = image(&after)?;
        let mut records = Vec::with_capacity(3);
        match (kind, before, after) {
            (RowsKind::Write, _, Some((key, row))) => {
                records.push(envelope::change_record(
                    t,
                    Op::Create,
                    key,
                    None,
                    Some(row),
                    &info,
                    block.as_ref(),
                    SourceOffset::default(),
                ));
            }
            (RowsKind::Update, Some((old_key, old)), Some((new_key, new)))
                if old_key != new_key && t.key.is_some() =>
            {
                let mut del = envelope::change_record(
                    t,
                    Op::Delete,
                    old_key.clone(),
                    Some(old),
                    None,
                    &info,
                    block.as_ref(),
                    SourceOffset::default(),
                );
                if let Some(k) = new_key.clone() {
                    envelope::add_key_header(&mut del, "__debezium.newkey", t, k);
                }
                records.push(del);
                if cfg.tombstones_on_delete {
                    records.extend(
                        old_key
                            .clone()
                            .and_then(|k| envelope::tombstone(t, k, SourceOffset::default())),
                    );
                }
                let mut create = envelope::change_record(
                    t,
                    Op::Create,
                    new_key,
                    None,
                    Some(new),
                    &info,
                    block.as_ref(),
                    SourceOffset::default(),
                );
                if let Some(k) = old_key {
                    envelope::add_key_header(&mut create, "__debezium.oldkey", t, k);
                }
                records.push(create);
            }
            (RowsKind::Update, Some((_, old)), Some((key, new))) => {
                records.push(envelope::change_record(
                    t,
                    Op::Update,
                    key,
                    Some(old),
                    Some(new),
                    &info,
                    block.as_ref(),
                    SourceOffset::default(),
                ));
            }
            (RowsKind::Delete, Some((key, old)), _) => {
                records.push(envelope::change_record(
                    t,
                    Op::Delete,
                    key.clone(),
                    Some(old),
                    None,
                    &info,
                    block.as_ref(),
                    SourceOffset::default(),
                ));
                if cfg.tombstones_on_delete {
                    records.extend(
                        key.and_then(|k| envelope::tombstone(t, k, SourceOffset::default())),
                    );
                }
            }
            _ => return Err("a rows event without the row image its kind needs".into()),
        }
        self.rows += 1;
        let last = records.len() - 1;
        let not_done = (last > 0).then(|| offset(row - 1));
        for (i, mut r) in records.into_iter().enumerate() {
            r.source_offset = match &not_done {
                Some(before) if i < last => before.clone(),
                _ => offset(row),
            };
            out.push(r);
        }
        Ok(())
    }

    pub(super) async fn truncate(
        &mut self,
        db: &str,
        table: &str,
        pos: u64,
        thread: i64,
        out: &mut Output,
    ) -> Result<()> {
        if self.cfg.skip_truncate || !self.cfg.filters.table(db, table) {
            return Ok(());
        }
        let schema = match self.cache.get(&(db.to_owned(), table.to_owned())) {
            Some(m) => m.schema.clone(),
            None => {
                let Some(meta) = crate::snapshot::meta::load(self.meta().await?, db, table).await?
                else {
                    return Ok(());
                };
                Arc::new(
                    TableSchema::build(meta, &self.cfg, self.source.clone())
                        .map_err(MySqlError::Config)?,
                )
            }
        };
        let gtid = self.txn.as_ref().and_then(|t| t.gtid.clone());
        let info = SourceInfo {
            ts_ms: self.ts_sec * 1000,
            snapshot: "false",
            server_id: self.event_server as i64,
            gtid: gtid.as_deref(),
            file: &self.file,
            pos: pos as i64,
            row: 0,
            thread: Some(thread),
        };
        // The statement's group commits right after it: the offset points past it.
        let mut offset = Offset {
            file: self.file.clone(),
            pos,
            gtids: self.gtid_text(),
            event: 0,
            row: 0,
            server_id: self.event_server,
            ts_sec: self.ts_sec,
            snapshot: None,
        };
        if let Some(t) = &self.txn {
            offset.file = t.file.to_string();
            offset.pos = t.pos;
            offset.gtids = t.gtids_before.as_deref().map(str::to_owned);
        }
        let mut r = envelope::change_record(
            &schema,
            Op::Truncate,
            None,
            None,
            None,
            &info,
            None,
            offset.to_map().into(),
        );
        r.record.key = sluice_core::SchemaAndValue::NULL;
        out.push(r);
        Ok(())
    }
}
