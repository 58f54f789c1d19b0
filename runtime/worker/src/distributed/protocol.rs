//! The `connect` group sub-protocol's bytes: Kafka Connect's
//! `IncrementalCooperativeConnectProtocol` (protocol names `compatible` = version 1 and
//! `sessioned` = version 2, same layout), big-endian Kafka primitive types:
//!
//! ```text
//! Metadata   => Version:int16 Url:string ConfigOffset:int64 Allocation:nullable_bytes
//! Allocation => an Assignment (what the member runs now), or null
//! Assignment => Version:int16 Error:int16 Leader:string LeaderUrl:string ConfigOffset:int64
//!               Assignment:[ConnectorAssignment] Revoked:[ConnectorAssignment] Delay:int32
//! ConnectorAssignment => Connector:string Tasks:[int32]   (task -1 = the connector itself)
//! ```
//!
//! One difference of meaning, not of bytes: the `Assignment` list a sluice leader sends
//! is the member's *complete* set after this round (Kafka Connect sends only what is
//! new). A complete set survives a static member restarting and being handed its last
//! assignment again by the coordinator; the member derives what to start and stop by
//! comparing it with what it runs. Every decode bounds-checks, so a malformed peer
//! message is an error, never a panic.

use std::collections::{BTreeMap, BTreeSet};

/// The connector itself in a task list (Kafka Connect's `CONNECTOR_TASK`).
pub const CONNECTOR_TASK: i32 = -1;

/// `Error` of an assignment: none.
pub const NO_ERROR: i16 = 0;
/// `Error` of an assignment: the leader could not read the config members reported.
pub const CONFIG_MISMATCH: i16 = 1;

/// A connector's task, by connector name and number.
pub type TaskKey = (String, u32);

/// Connectors and tasks of one member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocation {
    /// Connector instances.
    pub connectors: BTreeSet<String>,
    /// Tasks.
    pub tasks: BTreeSet<TaskKey>,
}

impl Allocation {
    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }
}

/// What a member sends when it joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerMetadata {
    /// Protocol version (1 or 2).
    pub version: i16,
    /// The worker's REST URL.
    pub url: String,
    /// How far it has read the config topic.
    pub config_offset: i64,
    /// What it runs now.
    pub owned: Allocation,
}

/// What the leader hands each member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Protocol version.
    pub version: i16,
    /// [`NO_ERROR`] or [`CONFIG_MISMATCH`].
    pub error: i16,
    /// The leader's member id.
    pub leader: String,
    /// The leader's REST URL, where writes are forwarded.
    pub leader_url: String,
    /// The config offset the assignment was computed at.
    pub config_offset: i64,
    /// Everything the member is to run after this round.
    pub assigned: Allocation,
    /// What it must stop (it then rejoins, so the leader can hand it out).
    pub revoked: Allocation,
    /// Milliseconds until the leader means to hand out departed members' work; the
    /// member rejoins then.
    pub delay_ms: i32,
}

/// A malformed protocol message.
#[derive(Debug, thiserror::Error)]
#[error("malformed connect protocol {what}: {reason}")]
pub struct ProtocolError {
    what: &'static str,
    reason: String,
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    let len = i16::try_from(s.len()).unwrap_or(i16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..len as usize]);
}

fn put_allocation(out: &mut Vec<u8>, a: &Allocation) {
    let mut by_connector: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for c in &a.connectors {
        by_connector.entry(c).or_default().push(CONNECTOR_TASK);
    }
    for (c, t) in &a.tasks {
        by_connector
            .entry(c)
            .or_default()
            .push(i32::try_from(*t).unwrap_or(i32::MAX));
    }
    out.extend_from_slice(&(by_connector.len() as i32).to_be_bytes());
    for (c, tasks) in by_connector {
        put_string(out, c);
        out.extend_from_slice(&(tasks.len() as i32).to_be_bytes());
        for t in tasks {
            out.extend_from_slice(&t.to_be_bytes());
        }
    }
}

/// Encodes join metadata.
pub fn encode_metadata(m: &WorkerMetadata) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&m.version.to_be_bytes());
    put_string(&mut out, &m.url);
    out.extend_from_slice(&m.config_offset.to_be_bytes());
    if m.owned.is_empty() {
        out.extend_from_slice(&(-1i32).to_be_bytes());
    } else {
        let allocation = encode_assignment(&Assignment {
            version: m.version,
            error: NO_ERROR,
            leader: String::new(),
            leader_url: String::new(),
            config_offset: m.config_offset,
            assigned: m.owned.clone(),
            revoked: Allocation::default(),
            delay_ms: 0,
        });
        out.extend_from_slice(&(allocation.len() as i32).to_be_bytes());
        out.extend_from_slice(&allocation);
    }
    out
}

/// Encodes an assignment.
pub fn encode_assignment(a: &Assignment) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&a.version.to_be_bytes());
    out.extend_from_slice(&a.error.to_be_bytes());
    put_string(&mut out, &a.leader);
    put_string(&mut out, &a.leader_url);
    out.extend_from_slice(&a.config_offset.to_be_bytes());
    put_allocation(&mut out, &a.assigned);
    put_allocation(&mut out, &a.revoked);
    out.extend_from_slice(&a.delay_ms.to_be_bytes());
    out
}

struct Reader<'a> {
    what: &'static str,
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn fail(&self, reason: impl Into<String>) -> ProtocolError {
        ProtocolError {
            what: self.what,
            reason: reason.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        if self.buf.len() < n {
            return Err(self.fail(format!("needs {n} more bytes, has {}", self.buf.len())));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn i16(&mut self) -> Result<i16, ProtocolError> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, ProtocolError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self) -> Result<i64, ProtocolError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    fn string(&mut self) -> Result<String, ProtocolError> {
        let len = self.i16()?;
        let len = usize::try_from(len).map_err(|_| self.fail("null string"))?;
        let b = self.take(len)?;
        String::from_utf8(b.to_vec()).map_err(|_| self.fail("string is not UTF-8"))
    }

    fn allocation(&mut self) -> Result<Allocation, ProtocolError> {
        let mut a = Allocation::default();
        let n = self.i32()?;
        for _ in 0..n.max(0) {
            let connector = self.string()?;
            let tasks = self.i32()?;
            for _ in 0..tasks.max(0) {
                match self.i32()? {
                    CONNECTOR_TASK => {
                        a.connectors.insert(connector.clone());
                    }
                    t => {
                        let t =
                            u32::try_from(t).map_err(|_| self.fail(format!("task number {t}")))?;
                        a.tasks.insert((connector.clone(), t));
                    }
                }
            }
        }
        Ok(a)
    }
}

/// Decodes join metadata.
pub fn decode_metadata(bytes: &[u8]) -> Result<WorkerMetadata, ProtocolError> {
    let mut r = Reader {
        what: "metadata",
        buf: bytes,
    };
    let version = r.i16()?;
    if version < 1 {
        return Err(r.fail(format!("version {version} is the eager protocol, which sluice does not speak; set connect.protocol=compatible or sessioned on every worker")));
    }
    let url = r.string()?;
    let config_offset = r.i64()?;
    let owned = if r.buf.is_empty() {
        Allocation::default()
    } else {
        match r.i32()? {
            n if n < 0 => Allocation::default(),
            n => decode_assignment(r.take(n as usize)?)?.assigned,
        }
    };
    Ok(WorkerMetadata {
        version,
        url,
        config_offset,
        owned,
    })
}

/// Decodes an assignment.
pub fn decode_assignment(bytes: &[u8]) -> Result<Assignment, ProtocolError> {
    let mut r = Reader {
        what: "assignment",
        buf: bytes,
    };
    let version = r.i16()?;
    let error = r.i16()?;
    let leader = r.string()?;
    let leader_url = r.string()?;
    let config_offset = r.i64()?;
    let assigned = r.allocation()?;
    let revoked = if r.buf.is_empty() {
        Allocation::default()
    } else {
        r.allocation()?
    };
    let delay_ms = if r.buf.is_empty() { 0 } else { r.i32()? };
    Ok(Assignment {
        version,
        error,
        leader,
        leader_url,
        config_offset,
        assigned,
        revoked,
        delay_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc(connectors: &[&str], tasks: &[(&str, u32)]) -> Allocation {
        Allocation {
            connectors: connectors.iter().map(|c| (*c).to_owned()).collect(),
            tasks: tasks.iter().map(|(c, t)| ((*c).to_owned(), *t)).collect(),
        }
    }

    #[test]
    fn metadata_bytes_are_kafka_connects() {
        let m = WorkerMetadata {
            version: 1,
            url: "http://a:1".into(),
            config_offset: 7,
            owned: Allocation::default(),
        };
        let bytes = encode_metadata(&m);
        let mut expect = vec![0, 1, 0, 10];
        expect.extend_from_slice(b"http://a:1");
        expect.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(bytes, expect);
        assert_eq!(decode_metadata(&bytes).expect("decodes"), m);
        let owned = WorkerMetadata {
            owned: alloc(&["c"], &[("c", 0), ("c", 2)]),
            ..m
        };
        assert_eq!(
            decode_metadata(&encode_metadata(&owned)).expect("decodes"),
            owned
        );
    }

    #[test]
    fn assignment_bytes_are_kafka_connects() {
        let a = Assignment {
            version: 1,
            error: 0,
            leader: "m".into(),
            leader_url: "u".into(),
            config_offset: 2,
            assigned: alloc(&["c"], &[("c", 1)]),
            revoked: alloc(&[], &[]),
            delay_ms: 5,
        };
        let bytes = encode_assignment(&a);
        #[rustfmt::skip]
        let expect: Vec<u8> = vec![
            0, 1, 0, 0, 0, 1, b'm', 0, 1, b'u', 0, 0, 0, 0, 0, 0, 0, 2,
            0, 0, 0, 1, 0, 1, b'c', 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1,
            0, 0, 0, 0,
            0, 0, 0, 5,
        ];
        assert_eq!(bytes, expect);
        assert_eq!(decode_assignment(&bytes).expect("decodes"), a);
    }

    #[test]
    fn truncated_input_is_an_error() {
        let bytes = encode_metadata(&WorkerMetadata {
            version: 2,
            url: "http://a:1".into(),
            config_offset: 7,
            owned: alloc(&["c"], &[]),
        });
        for n in 0..bytes.len() - 1 {
            let _ = decode_metadata(&bytes[..n]);
        }
        assert!(decode_metadata(&bytes[..5]).is_err());
        assert!(decode_metadata(&[0, 0]).is_err(), "eager version refused");
    }
}
