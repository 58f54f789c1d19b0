//! MySQL's GTID sets: the `gtids` of a MySQL offset (Debezium's text form
//! `uuid:1-10:12,uuid2:1-3`), kept up to date while streaming, and the binary SID block that
//! both `COM_BINLOG_DUMP_GTID` and the PREVIOUS_GTIDS event carry.
//!
//! Why this is right: a set is, per source UUID, sorted disjoint closed intervals of
//! transaction numbers — adding a transaction merges it into its neighbours, so the set
//! stays canonical whatever order transactions arrive in, and the text is MySQL's and
//! Debezium's (UUIDs sorted, `n` for one number, `a-b` for a range, no spaces). The binary
//! form follows the server's `Gtid_set::encode`: the number of SIDs (8 bytes), then per SID
//! its 16 UUID bytes, the number of intervals (8) and each interval as start and *exclusive*
//! end (8 + 8), all little-endian. A set the connector cannot represent (MySQL 8.4 tagged
//! GTIDs) is an error, never silently narrowed: a narrower set would make the server resend
//! transactions, a wider one would skip them.

use std::collections::BTreeMap;
use std::fmt;

use mysql_common::packets::{GnoInterval, Sid};

use crate::replication::bytes::Reader;

/// A source UUID.
pub type Uuid = [u8; 16];

/// A MySQL GTID set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidSet(BTreeMap<Uuid, Vec<(u64, u64)>>);

/// Parses `3e11fa47-71ca-11e1-9e33-c80aa9429562` (dashes optional, any case).
pub fn parse_uuid(text: &str) -> Option<Uuid> {
    let hex: Vec<u8> = text.bytes().filter(|&b| b != b'-').collect();
    if hex.len() != 32 || text.len() != 36 && text.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// `3e11fa47-71ca-11e1-9e33-c80aa9429562`.
pub fn uuid_text(u: &Uuid) -> String {
    let h: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl GtidSet {
    /// Parses MySQL's or Debezium's text (`uuid:1-5:7,uuid2:1-3`; whitespace and the
    /// newlines `SHOW MASTER STATUS` puts after commas are ignored).
    pub fn parse(text: &str) -> Result<GtidSet, String> {
        let mut set = GtidSet::default();
        let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        for part in clean.split(',').filter(|p| !p.is_empty()) {
            let mut fields = part.split(':');
            let uuid_part = fields.next().unwrap_or_default();
            let uuid =
                parse_uuid(uuid_part).ok_or_else(|| format!("{uuid_part:?} is not a UUID"))?;
            let mut any = false;
            for interval in fields {
                any = true;
                let (a, b) = match interval.split_once('-') {
                    Some((a, b)) => (a, b),
                    None => (interval, interval),
                };
                let (Ok(start), Ok(end)) = (a.parse::<u64>(), b.parse::<u64>()) else {
                    return Err(if interval.starts_with(|c: char| c.is_ascii_alphabetic()) {
                        format!("{part:?} has a tag ({interval}): tagged GTIDs (MySQL 8.4) are not supported")
                    } else {
                        format!("{interval:?} in {part:?} is not a transaction number or range")
                    });
                };
                if start == 0 || end < start {
                    return Err(format!("{interval:?} in {part:?} is not a valid range"));
                }
                set.add_range(uuid, start, end);
            }
            if !any {
                return Err(format!("{part:?} has no transaction numbers"));
            }
        }
        Ok(set)
    }

    /// True when the set holds no transaction.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds transaction `gno` of source `uuid`.
    pub fn add(&mut self, uuid: Uuid, gno: u64) {
        self.add_range(uuid, gno, gno);
    }

    /// Adds transactions `start..=end` of source `uuid`, merging adjacent intervals.
    pub fn add_range(&mut self, uuid: Uuid, start: u64, end: u64) {
        let list = self.0.entry(uuid).or_default();
        // Fast path: the next transaction of the last interval (the streaming case).
        if let Some(last) = list.last_mut() {
            if start >= last.0 && start <= last.1.saturating_add(1) {
                last.1 = last.1.max(end);
                return;
            }
        }
        list.push((start, end));
        list.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(list.len());
        for &(s, e) in list.iter() {
            match merged.last_mut() {
                Some(m) if s <= m.1.saturating_add(1) => m.1 = m.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        *list = merged;
    }

    /// Whether transaction `gno` of `uuid` is in the set.
    pub fn contains(&self, uuid: &Uuid, gno: u64) -> bool {
        self.0
            .get(uuid)
            .is_some_and(|l| l.iter().any(|&(s, e)| s <= gno && gno <= e))
    }

    /// The transactions of `self` that `other` lacks.
    pub fn minus(&self, other: &GtidSet) -> GtidSet {
        let mut out = GtidSet::default();
        for (uuid, list) in &self.0 {
            let holes = other.0.get(uuid).map_or(&[][..], Vec::as_slice);
            for &(s, e) in list {
                let mut from = s;
                for &(hs, he) in holes {
                    if he < from || hs > e {
                        continue;
                    }
                    if hs > from {
                        out.add_range(*uuid, from, hs - 1);
                    }
                    from = he.saturating_add(1);
                    if from > e {
                        break;
                    }
                }
                if from <= e {
                    out.add_range(*uuid, from, e);
                }
            }
        }
        out
    }

    /// The set as `COM_BINLOG_DUMP_GTID` SIDs (intervals with exclusive ends).
    pub fn sids(&self) -> Vec<Sid<'static>> {
        self.0
            .iter()
            .map(|(uuid, list)| {
                Sid::new(*uuid).with_intervals(
                    list.iter()
                        .map(|&(s, e)| GnoInterval::new(s, e + 1))
                        .collect(),
                )
            })
            .collect()
    }

    /// The binary SID block (`Gtid_set::encode`).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(8 + self.0.len() * 40);
        b.extend((self.0.len() as u64).to_le_bytes());
        for (uuid, list) in &self.0 {
            b.extend(uuid);
            b.extend((list.len() as u64).to_le_bytes());
            for &(s, e) in list {
                b.extend(s.to_le_bytes());
                b.extend((e + 1).to_le_bytes());
            }
        }
        b
    }

    /// Reads a binary SID block, as a PREVIOUS_GTIDS event carries it.
    pub fn decode(data: &[u8]) -> Result<GtidSet, String> {
        let mut r = Reader::new(data);
        let e = |s: crate::replication::bytes::Short| s.to_string();
        let header = r.uint_le(8, "GTID set size").map_err(e)?;
        if header >> 56 != 0 {
            return Err("a tagged GTID set (MySQL 8.4 format): not supported".into());
        }
        let mut set = GtidSet::default();
        for _ in 0..header {
            let mut uuid = [0u8; 16];
            uuid.copy_from_slice(r.take(16, "GTID source UUID").map_err(e)?);
            let n = r.uint_le(8, "GTID interval count").map_err(e)?;
            for _ in 0..n {
                let start = r.uint_le(8, "GTID interval start").map_err(e)?;
                let end = r.uint_le(8, "GTID interval end").map_err(e)?;
                if start == 0 || end <= start {
                    return Err(format!("invalid GTID interval [{start}, {end})"));
                }
                set.add_range(uuid, start, end - 1);
            }
        }
        Ok(set)
    }
}

impl fmt::Display for GtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (uuid, list)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&uuid_text(uuid))?;
            for &(s, e) in list {
                if s == e {
                    write!(f, ":{s}")?;
                } else {
                    write!(f, ":{s}-{e}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const B: &str = "24bc7850-2c16-11e6-a073-0242ac110002";

    #[test]
    fn text_is_canonical() {
        let s = GtidSet::parse(&format!("{}:1-5:7,\n{B}:3:1-2:4-9", A.to_ascii_uppercase()))
            .expect("valid");
        assert_eq!(s.to_string(), format!("{B}:1-9,{A}:1-5:7"));
        assert_eq!(GtidSet::parse("").expect("empty"), GtidSet::default());
        assert!(GtidSet::parse(&format!("{A}:tag1:1-5"))
            .expect_err("tagged")
            .contains("tagged"));
        assert!(GtidSet::parse(&format!("{A}:0-3")).is_err());
        assert!(GtidSet::parse(&format!("{A}:5-3")).is_err());
        assert!(GtidSet::parse(A).is_err());
        assert!(GtidSet::parse("not-a-uuid:1-2").is_err());
    }

    #[test]
    fn adding_merges_and_fills_holes() {
        let a = parse_uuid(A).expect("uuid");
        let mut s = GtidSet::parse(&format!("{A}:1-10:12")).expect("valid");
        s.add(a, 13);
        assert_eq!(s.to_string(), format!("{A}:1-10:12-13"));
        s.add(a, 11);
        assert_eq!(s.to_string(), format!("{A}:1-13"));
        s.add(a, 20);
        s.add(parse_uuid(B).expect("uuid"), 1);
        assert_eq!(s.to_string(), format!("{B}:1,{A}:1-13:20"));
        assert!(s.contains(&a, 13) && !s.contains(&a, 14));
    }

    #[test]
    fn difference_names_what_is_missing() {
        let purged = GtidSet::parse(&format!("{A}:1-100,{B}:1-5")).expect("valid");
        let have = GtidSet::parse(&format!("{A}:1-40:50-60,{B}:1-9")).expect("valid");
        assert_eq!(purged.minus(&have).to_string(), format!("{A}:41-49:61-100"));
        assert!(have.minus(&have).is_empty());
        assert!(GtidSet::default().minus(&have).is_empty());
    }

    #[test]
    fn binary_form_matches_the_server_layout() {
        let s = GtidSet::parse(&format!("{A}:1-10:12")).expect("valid");
        let mut want = 1u64.to_le_bytes().to_vec();
        want.extend(0x3E11FA47_71CA_11E1_9E33_C80AA9429562_u128.to_be_bytes());
        want.extend(2u64.to_le_bytes());
        for (start, end) in [(1u64, 11u64), (12, 13)] {
            want.extend(start.to_le_bytes());
            want.extend(end.to_le_bytes());
        }
        assert_eq!(s.encode(), want);
        assert_eq!(GtidSet::decode(&want), Ok(s));
        assert!(GtidSet::decode(&want[..30]).is_err());
        let mut tagged = want.clone();
        tagged[7] = 1;
        assert!(GtidSet::decode(&tagged).is_err());
    }
}
