//! The binlog dump request: `COM_BINLOG_DUMP` by file and position, or MySQL's
//! `COM_BINLOG_DUMP_GTID` with the executed GTID set (MariaDB resumes by GTID through
//! `@slave_connect_state` instead, and then sends a plain `COM_BINLOG_DUMP`).
//!
//! Why this is right: one description ([`DumpRequest`]) produces both the request the driver
//! sends and the exact packet bytes, through the same builder calls, so the unit tests below
//! pin the bytes on the wire against the protocol's layout: command 0x1e, flags (2 bytes,
//! `BINLOG_THROUGH_GTID` = 4), server id (4), file-name length (4) and name, position (8),
//! SID-block length (4) and the block. By GTID the file is empty and the position 4, as
//! MySQL's own replicas send with `MASTER_AUTO_POSITION=1`: the server finds the first
//! transaction the set lacks by itself.

use mysql_async::BinlogStreamRequest;
use mysql_common::packets::binlog_request::BinlogRequest;
use mysql_common::proto::MySerialize;

use crate::gtid::GtidSet;

/// Where a binlog stream starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpRequest {
    pub server_id: u32,
    pub file: String,
    pub pos: u64,
    /// MySQL by GTID: every transaction not in this set is sent.
    pub gtids: Option<GtidSet>,
}

impl DumpRequest {
    /// By file and position.
    pub fn by_position(server_id: u32, file: &str, pos: u64) -> Self {
        DumpRequest {
            server_id,
            file: file.to_owned(),
            pos: pos.max(4),
            gtids: None,
        }
    }

    /// By MySQL GTID set (an empty set falls back to the start of the first binlog).
    pub fn by_gtid(server_id: u32, gtids: GtidSet) -> Self {
        DumpRequest {
            server_id,
            file: String::new(),
            pos: 4,
            gtids: Some(gtids),
        }
    }

    /// The request the driver sends.
    pub fn stream_request(&self) -> BinlogStreamRequest<'_> {
        let req = BinlogStreamRequest::new(self.server_id)
            .with_filename(self.file.as_bytes())
            .with_pos(self.pos);
        match &self.gtids {
            Some(set) => req.with_gtid().with_gtid_set(set.sids()),
            None => req,
        }
    }

    /// The command packet's payload, as [`DumpRequest::stream_request`] puts it on the wire.
    pub fn packet(&self) -> Vec<u8> {
        let mut req = BinlogRequest::new(self.server_id)
            .with_filename(self.file.as_bytes())
            .with_pos(self.pos);
        if let Some(set) = &self.gtids {
            req = req.with_use_gtid(true).with_sids(set.sids());
        }
        let mut buf = Vec::new();
        req.as_cmd().serialize(&mut buf);
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const B: &str = "24bc7850-2c16-11e6-a073-0242ac110002";

    #[test]
    fn dump_by_position_packet() {
        let p = DumpRequest::by_position(5401, "mysql-bin.000003", 154).packet();
        let mut want = vec![0x12];
        want.extend(154u32.to_le_bytes());
        want.extend(0u16.to_le_bytes());
        want.extend(5401u32.to_le_bytes());
        want.extend(b"mysql-bin.000003");
        assert_eq!(p, want);
    }

    #[test]
    fn dump_by_gtid_packet_carries_the_encoded_set() {
        let set = GtidSet::parse(&format!("{A}:1-10:12,{B}:1-3")).expect("valid");
        let p = DumpRequest::by_gtid(5401, set).packet();
        // Hand-built from the protocol's layout.
        let mut sids = 2u64.to_le_bytes().to_vec();
        sids.extend(0x24BC7850_2C16_11E6_A073_0242AC110002_u128.to_be_bytes());
        sids.extend(1u64.to_le_bytes());
        sids.extend(1u64.to_le_bytes());
        sids.extend(4u64.to_le_bytes());
        sids.extend(0x3E11FA47_71CA_11E1_9E33_C80AA9429562_u128.to_be_bytes());
        sids.extend(2u64.to_le_bytes());
        for (start, end) in [(1u64, 11u64), (12, 13)] {
            sids.extend(start.to_le_bytes());
            sids.extend(end.to_le_bytes());
        }
        let mut want = vec![0x1e];
        want.extend(0x0004u16.to_le_bytes()); // BINLOG_THROUGH_GTID
        want.extend(5401u32.to_le_bytes());
        want.extend(0u32.to_le_bytes()); // no file name
        want.extend(4u64.to_le_bytes());
        want.extend((sids.len() as u32).to_le_bytes());
        want.extend(&sids);
        assert_eq!(p, want);
        assert_eq!(sids.len(), 8 + 16 + 8 + 16 + 16 + 8 + 32);
        // The block is the set's own encoding, which PREVIOUS_GTIDS events carry too.
        assert_eq!(
            GtidSet::decode(&sids).expect("decodes").to_string(),
            format!("{B}:1-3,{A}:1-10:12")
        );
    }

    #[test]
    fn an_empty_set_does_not_claim_gtid_positioning() {
        let p = DumpRequest::by_gtid(7, GtidSet::default()).packet();
        assert_eq!(p[0], 0x1e);
        assert_eq!(u16::from_le_bytes([p[1], p[2]]) & 4, 0);
        let mut tail = 4u64.to_le_bytes().to_vec();
        tail.extend(8u32.to_le_bytes());
        tail.extend(0u64.to_le_bytes());
        assert!(p.ends_with(&tail));
    }
}
