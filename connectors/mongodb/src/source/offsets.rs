//! Source offsets in Debezium's MongoDB keys: `sec` and `ord` (the event's cluster time),
//! `resume_token` (the change stream's `_id._data`), `lsid` / `txnNumber` for events of a
//! transaction, and `initsync: true` while a snapshot runs (plus `snapshot_collection`, the
//! collection being read). The source partition is `{"server_id": <topic.prefix>}`.
//!
//! Why this is right: a change stream resumed with `resumeAfter: <token>` delivers exactly
//! the events after the one that carried the token, so an offset holding the token of the
//! last acknowledged event loses nothing and repeats nothing. A snapshot's records carry the
//! token taken *before* the scan began, so streaming after the snapshot (or after a crash
//! during it) replays every change made while it ran; the documents converge to their
//! latest state (at-least-once). The snapshot's last record carries no `initsync`: once it
//! is committed, a restart streams. Offsets written by Debezium (the same keys, `sec` /
//! `ord` as numbers or strings) are read as they are.

use std::sync::Arc;

use serde_json::Value as Json;
use sluice_core::record::OffsetMap;
use sluice_core::{CompactOffset, SourceOffset};

use crate::error::MongoError;

/// A position in the change stream, plus snapshot progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Offset {
    /// Cluster time, seconds.
    pub sec: u32,
    /// Cluster time, increment.
    pub ord: u32,
    /// The resume token's `_data`; `None` only in offsets from before any stream opened.
    pub resume_token: Option<String>,
    /// The transaction's session id (compact strict Extended JSON), inside a transaction.
    pub lsid: Option<String>,
    /// The transaction number, inside a transaction.
    pub txn_number: Option<i64>,
    /// True while a snapshot is in progress.
    pub initsync: bool,
    /// The collection (`db.coll`) the snapshot is reading; those sorted before it are done.
    pub snapshot_collection: Option<String>,
}

impl CompactOffset for Offset {
    fn to_map(&self) -> OffsetMap {
        Offset::to_map(self)
    }
}

impl Offset {
    /// As a record's offset.
    pub fn into_source_offset(self) -> SourceOffset {
        SourceOffset::Compact(Arc::new(self))
    }

    /// The offset as stored.
    pub fn to_map(&self) -> OffsetMap {
        let mut m = OffsetMap::with_capacity(6);
        m.insert("sec".into(), self.sec.into());
        m.insert("ord".into(), self.ord.into());
        if let Some(t) = &self.resume_token {
            m.insert("resume_token".into(), t.as_str().into());
        }
        if let Some(l) = &self.lsid {
            m.insert("lsid".into(), l.as_str().into());
        }
        if let Some(n) = self.txn_number {
            m.insert("txnNumber".into(), n.into());
        }
        if self.initsync {
            m.insert("initsync".into(), true.into());
            if let Some(c) = &self.snapshot_collection {
                m.insert("snapshot_collection".into(), c.as_str().into());
            }
        }
        m
    }

    /// Reads a stored offset (ours or Debezium's).
    pub fn from_map(m: &OffsetMap) -> Result<Offset, MongoError> {
        let bad = |reason: &str| MongoError::BadOffset {
            offset: Json::Object(m.clone()).to_string(),
            reason: reason.to_owned(),
        };
        let num = |k: &str| -> Result<Option<i64>, MongoError> {
            match m.get(k) {
                None | Some(Json::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .map(Some)
                    .ok_or_else(|| bad(&format!("\"{k}\" is not a number"))),
            }
        };
        let text = |k: &str| {
            m.get(k)
                .and_then(Json::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let sec = num("sec")?.unwrap_or(0);
        let ord = num("ord")?.unwrap_or(0);
        let resume_token = text("resume_token");
        let initsync = match m.get("initsync") {
            Some(Json::Bool(b)) => *b,
            Some(Json::String(s)) => s == "true",
            _ => false,
        };
        if resume_token.is_none() && sec == 0 && !initsync {
            return Err(bad("it has neither \"resume_token\" nor \"sec\""));
        }
        Ok(Offset {
            sec: u32::try_from(sec).map_err(|_| bad("\"sec\" is out of range"))?,
            ord: u32::try_from(ord).map_err(|_| bad("\"ord\" is out of range"))?,
            resume_token,
            lsid: text("lsid"),
            txn_number: num("txnNumber")?,
            initsync,
            snapshot_collection: text("snapshot_collection"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip() {
        let o = Offset {
            sec: 1_700_000_000,
            ord: 3,
            resume_token: Some("8263".into()),
            lsid: Some("{\"id\": 1}".into()),
            txn_number: Some(2),
            initsync: true,
            snapshot_collection: Some("inv.customers".into()),
        };
        assert_eq!(Offset::from_map(&o.to_map()).expect("valid"), o);
        let debezium: OffsetMap = serde_json::from_str(
            r#"{"sec":1558965508,"ord":1,"resume_token":"82636D39C8000000012B0229296E04"}"#,
        )
        .expect("json");
        let d = Offset::from_map(&debezium).expect("Debezium's offsets read");
        assert_eq!((d.sec, d.ord, d.initsync), (1_558_965_508, 1, false));
        assert_eq!(
            d.resume_token.as_deref(),
            Some("82636D39C8000000012B0229296E04")
        );
        assert!(Offset::from_map(&OffsetMap::new()).is_err());
        assert_eq!(
            serde_json::to_string(&o.to_map()).expect("json"),
            r#"{"sec":1700000000,"ord":3,"resume_token":"8263","lsid":"{\"id\": 1}","txnNumber":2,"initsync":true,"snapshot_collection":"inv.customers"}"#
        );
    }
}
