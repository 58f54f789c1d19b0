//! Group membership through the broker's group coordinator — FindCoordinator,
//! JoinGroup, SyncGroup, Heartbeat, LeaveGroup with protocol type `connect` — spoken
//! with the `kafka-protocol` crate over one tokio TCP connection.
//!
//! The coordinator is the only authority on who is in the group and which generation
//! is current; this module adds no consensus of its own. What it guarantees a caller:
//! - [`GroupMember::join`] returns only a completed JoinGroup (a generation, a leader,
//!   and — for the leader — every member's metadata);
//! - [`GroupMember::sync`] returns this member's assignment for that generation, or
//!   [`MembershipError::Rejoin`] when the generation was superseded meanwhile (the
//!   assignment is then void: the caller rejoins without acting on it);
//! - [`GroupMember::heartbeat`] tells apart "a rebalance started, keep your work and
//!   rejoin" ([`Beat::Rebalance`]) from "you are no longer a member"
//!   ([`Beat::Lost`]): in the second case the coordinator may already have handed this
//!   member's work to others, so the caller must stop everything before rejoining.
//!
//! Requests are sent one at a time (the broker answers a connection's requests in
//! order), each with a deadline; a connection error drops the connection and the next
//! call rediscovers the coordinator.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, FindCoordinatorRequest, GroupId, HeartbeatRequest,
    JoinGroupRequest, LeaveGroupRequest, RequestHeader, ResponseHeader, SyncGroupRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Error codes the membership logic acts on.
mod code {
    pub const NONE: i16 = 0;
    pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const NOT_COORDINATOR: i16 = 16;
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const INVALID_SESSION_TIMEOUT: i16 = 26;
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    pub const MEMBER_ID_REQUIRED: i16 = 79;
    pub const FENCED_INSTANCE_ID: i16 = 82;
}

/// How membership failed.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    /// The broker could not be reached or broke the connection; retry.
    #[error("group coordinator at {address}: {reason}")]
    Connection {
        /// `host:port`.
        address: String,
        /// What happened.
        reason: String,
    },
    /// The coordinator moved or is loading; retry after a pause.
    #[error("group coordinator not available yet (error code {0}); retrying")]
    CoordinatorNotReady(i16),
    /// The coordinator no longer knows this member (dropped after `session.timeout.ms`):
    /// its work may run elsewhere; stop it all, then rejoin as a new member.
    #[error("the group coordinator dropped this member; rejoining as a new member")]
    Lost,
    /// The generation ended before SyncGroup finished; rejoin.
    #[error("the group is rebalancing again; rejoining")]
    Rejoin,
    /// Another process joined with this worker's `group.instance.id`.
    #[error("group.instance.id {0} is in use by another worker; give every worker its own")]
    Fenced(String),
    /// The broker refuses `session.timeout.ms`.
    #[error("the broker refuses session.timeout.ms={0}: it must lie within the broker's group.min.session.timeout.ms and group.max.session.timeout.ms (Apache Kafka: 6000 to 1800000)")]
    InvalidSessionTimeout(u128),
    /// The broker refused with an error this member cannot handle.
    #[error("group {group}: {api} failed with Kafka error code {code}")]
    Refused {
        /// `group.id`.
        group: String,
        /// Which request.
        api: &'static str,
        /// The code.
        code: i16,
    },
}

/// A heartbeat's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    /// Still a member of the current generation.
    Ok,
    /// A rebalance started: keep running, rejoin now.
    Rebalance,
    /// Not a member any more: stop everything, rejoin.
    Lost,
}

/// A completed JoinGroup.
#[derive(Debug, Clone)]
pub struct Joined {
    /// The generation.
    pub generation: i32,
    /// This member's id.
    pub member_id: String,
    /// The leader's member id.
    pub leader_id: String,
    /// Every member's id, `group.instance.id` and metadata (the leader only; empty otherwise).
    pub members: Vec<(String, Option<String>, Bytes)>,
}

impl Joined {
    /// Whether this member leads the generation.
    pub fn is_leader(&self) -> bool {
        self.member_id == self.leader_id
    }
}

/// Settings of a member.
#[derive(Debug, Clone)]
pub struct MemberConfig {
    /// `bootstrap.servers`, `host:port` each.
    pub bootstrap: Vec<String>,
    /// `group.id`.
    pub group_id: String,
    /// `group.instance.id`.
    pub instance_id: Option<String>,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// `rebalance.timeout.ms`.
    pub rebalance_timeout: Duration,
    /// Sub-protocol name (`compatible` / `sessioned`).
    pub protocol_name: String,
    /// Client id sent in request headers.
    pub client_id: String,
}

struct Connection {
    address: String,
    stream: TcpStream,
    correlation: i32,
    versions: HashMap<i16, (i16, i16)>,
    /// A request was sent and its response not read (the call was cancelled or
    /// failed): the connection's stream is out of step and must not be reused.
    in_flight: bool,
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Connection {
    async fn open(address: &str, client_id: &str) -> Result<Self, MembershipError> {
        let stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(address))
            .await
            .map_err(|_| MembershipError::Connection {
                address: address.to_owned(),
                reason: "connect timed out".into(),
            })?
            .map_err(|e| MembershipError::Connection {
                address: address.to_owned(),
                reason: e.to_string(),
            })?;
        let _ = stream.set_nodelay(true);
        let mut c = Connection {
            address: address.to_owned(),
            stream,
            correlation: 0,
            versions: HashMap::new(),
            in_flight: false,
        };
        // ApiVersions v0 is understood by every broker; its response lists the rest.
        c.versions.insert(ApiKey::ApiVersions as i16, (0, 0));
        let r = c
            .send(&ApiVersionsRequest::default(), client_id, REQUEST_TIMEOUT)
            .await?;
        c.versions = r
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        Ok(c)
    }

    fn fail(&self, reason: impl Into<String>) -> MembershipError {
        MembershipError::Connection {
            address: self.address.clone(),
            reason: reason.into(),
        }
    }

    /// The highest version both sides speak.
    fn version<R: Request>(&self) -> Result<i16, MembershipError> {
        let (min, max) =
            self.versions.get(&R::KEY).copied().ok_or_else(|| {
                self.fail(format!("the broker does not support API key {}", R::KEY))
            })?;
        let ours = R::VERSIONS;
        let v = max.min(ours.max);
        if v < min.max(ours.min) {
            return Err(self.fail(format!("no common version of API key {}", R::KEY)));
        }
        Ok(v)
    }

    async fn send<R: Request>(
        &mut self,
        request: &R,
        client_id: &str,
        timeout: Duration,
    ) -> Result<R::Response, MembershipError> {
        let version = self.version::<R>()?;
        self.correlation = self.correlation.wrapping_add(1);
        let mut header = RequestHeader::default();
        header.request_api_key = R::KEY;
        header.request_api_version = version;
        header.correlation_id = self.correlation;
        header.client_id = Some(StrBytes::from_string(client_id.to_owned()));
        let mut buf = BytesMut::new();
        header
            .encode(&mut buf, R::header_version(version))
            .map_err(|e| self.fail(format!("encoding a request header: {e}")))?;
        request
            .encode(&mut buf, version)
            .map_err(|e| self.fail(format!("encoding a request: {e}")))?;
        let len = i32::try_from(buf.len()).map_err(|_| self.fail("request too large"))?;
        self.in_flight = true;
        let io = async {
            self.stream.write_all(&len.to_be_bytes()).await?;
            self.stream.write_all(&buf).await?;
            let size = self.stream.read_i32().await?;
            let size = usize::try_from(size).unwrap_or(0);
            if size == 0 || size > 64 << 20 {
                return Err(std::io::Error::other(format!("response of {size} bytes")));
            }
            let mut body = vec![0u8; size];
            self.stream.read_exact(&mut body).await?;
            Ok(Bytes::from(body))
        };
        let mut body = tokio::time::timeout(timeout, io)
            .await
            .map_err(|_| self.fail(format!("no answer within {timeout:?}")))?
            .map_err(|e| self.fail(e.to_string()))?;
        self.in_flight = false;
        let rh = ResponseHeader::decode(&mut body, R::Response::header_version(version))
            .map_err(|e| self.fail(format!("decoding a response header: {e}")))?;
        if rh.correlation_id != self.correlation {
            return Err(self.fail("response out of order"));
        }
        R::Response::decode(&mut body, version)
            .map_err(|e| self.fail(format!("decoding a response: {e}")))
    }
}

/// One worker's membership in the group.
pub struct GroupMember {
    config: MemberConfig,
    conn: Option<Connection>,
    member_id: String,
    generation: i32,
}

impl std::fmt::Debug for GroupMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupMember")
            .field("group", &self.config.group_id)
            .field("member_id", &self.member_id)
            .field("generation", &self.generation)
            .finish()
    }
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_owned())
}

impl GroupMember {
    /// A member that has not joined yet.
    pub fn new(config: MemberConfig) -> Self {
        GroupMember {
            config,
            conn: None,
            member_id: String::new(),
            generation: -1,
        }
    }

    /// The current generation (-1 before the first join).
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// This member's id ("" before the first join).
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// Forgets the member id: the next join is as a new member.
    pub fn reset(&mut self) {
        self.member_id.clear();
        self.generation = -1;
    }

    async fn coordinator(&mut self) -> Result<&mut Connection, MembershipError> {
        if self.conn.as_ref().is_some_and(|c| c.in_flight) {
            self.conn = None;
        }
        if self.conn.is_none() {
            let mut last = None;
            for address in &self.config.bootstrap {
                match self.find_coordinator(address).await {
                    Ok(c) => {
                        self.conn = Some(c);
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            if self.conn.is_none() {
                return Err(last.unwrap_or(MembershipError::Connection {
                    address: String::new(),
                    reason: "bootstrap.servers is empty".into(),
                }));
            }
        }
        self.conn
            .as_mut()
            .ok_or(MembershipError::CoordinatorNotReady(
                code::COORDINATOR_NOT_AVAILABLE,
            ))
    }

    async fn find_coordinator(&self, bootstrap: &str) -> Result<Connection, MembershipError> {
        let mut c = Connection::open(bootstrap, &self.config.client_id).await?;
        let version = c.version::<FindCoordinatorRequest>()?;
        let mut req = FindCoordinatorRequest::default();
        if version >= 4 {
            req.coordinator_keys = vec![s(&self.config.group_id)];
        } else {
            req.key = s(&self.config.group_id);
        }
        let r = c
            .send(&req, &self.config.client_id, REQUEST_TIMEOUT)
            .await?;
        let (err, host, port) = match r.coordinators.first() {
            Some(k) if version >= 4 => (k.error_code, k.host.to_string(), k.port),
            _ => (r.error_code, r.host.to_string(), r.port),
        };
        if err != code::NONE {
            return Err(MembershipError::CoordinatorNotReady(err));
        }
        let address = format!("{host}:{port}");
        if address == bootstrap {
            return Ok(c);
        }
        Connection::open(&address, &self.config.client_id).await
    }

    /// The version of `R` the coordinator and this crate share.
    async fn negotiated<R: Request>(&mut self) -> Result<i16, MembershipError> {
        let v = async { self.coordinator().await?.version::<R>() }.await;
        self.drop_connection_on(v)
    }

    fn drop_connection_on<T>(
        &mut self,
        r: Result<T, MembershipError>,
    ) -> Result<T, MembershipError> {
        if matches!(
            r,
            Err(MembershipError::Connection { .. }) | Err(MembershipError::CoordinatorNotReady(_))
        ) {
            self.conn = None;
        }
        r
    }

    /// Joins (or rejoins) with `metadata`; blocks until the coordinator completes the
    /// generation.
    pub async fn join(&mut self, metadata: Vec<u8>) -> Result<Joined, MembershipError> {
        let metadata = Bytes::from(metadata);
        loop {
            let v = self.negotiated::<JoinGroupRequest>().await?;
            let mut req = JoinGroupRequest::default();
            req.group_id = GroupId(s(&self.config.group_id));
            req.session_timeout_ms = millis(self.config.session_timeout);
            if v >= 1 {
                req.rebalance_timeout_ms = millis(self.config.rebalance_timeout);
            }
            req.member_id = s(&self.member_id);
            if v >= 5 {
                req.group_instance_id = self.config.instance_id.as_deref().map(s);
            }
            req.protocol_type = s("connect");
            let mut protocol = JoinGroupRequestProtocol::default();
            protocol.name = s(&self.config.protocol_name);
            protocol.metadata = metadata.clone();
            req.protocols = vec![protocol];
            // The coordinator answers once every member rejoined, or after the
            // rebalance timeout.
            let timeout = self.config.rebalance_timeout + REQUEST_TIMEOUT;
            let client_id = self.config.client_id.clone();
            let sent = async {
                self.coordinator()
                    .await?
                    .send(&req, &client_id, timeout)
                    .await
            }
            .await;
            let r = self.drop_connection_on(sent)?;
            match r.error_code {
                code::NONE => {
                    self.member_id = r.member_id.to_string();
                    self.generation = r.generation_id;
                    return Ok(Joined {
                        generation: r.generation_id,
                        member_id: r.member_id.to_string(),
                        leader_id: r.leader.to_string(),
                        members: r
                            .members
                            .into_iter()
                            .map(|m| {
                                (
                                    m.member_id.to_string(),
                                    m.group_instance_id.map(|i| i.to_string()),
                                    m.metadata,
                                )
                            })
                            .collect(),
                    });
                }
                code::MEMBER_ID_REQUIRED => self.member_id = r.member_id.to_string(),
                code::UNKNOWN_MEMBER_ID | code::ILLEGAL_GENERATION => {
                    self.reset();
                    return Err(MembershipError::Lost);
                }
                code::REBALANCE_IN_PROGRESS => {}
                code::NOT_COORDINATOR
                | code::COORDINATOR_NOT_AVAILABLE
                | code::COORDINATOR_LOAD_IN_PROGRESS => {
                    self.conn = None;
                    return Err(MembershipError::CoordinatorNotReady(r.error_code));
                }
                code::FENCED_INSTANCE_ID => {
                    return Err(MembershipError::Fenced(
                        self.config.instance_id.clone().unwrap_or_default(),
                    ))
                }
                code::INVALID_SESSION_TIMEOUT => {
                    return Err(MembershipError::InvalidSessionTimeout(
                        self.config.session_timeout.as_millis(),
                    ))
                }
                other => {
                    return Err(MembershipError::Refused {
                        group: self.config.group_id.clone(),
                        api: "JoinGroup",
                        code: other,
                    })
                }
            }
        }
    }

    /// Sends the leader's assignments (empty for followers) and returns this member's.
    pub async fn sync(
        &mut self,
        assignments: Vec<(String, Vec<u8>)>,
    ) -> Result<Bytes, MembershipError> {
        let v = self.negotiated::<SyncGroupRequest>().await?;
        let mut req = SyncGroupRequest::default();
        req.group_id = GroupId(s(&self.config.group_id));
        req.generation_id = self.generation;
        req.member_id = s(&self.member_id);
        if v >= 3 {
            req.group_instance_id = self.config.instance_id.as_deref().map(s);
        }
        if v >= 5 {
            req.protocol_type = Some(s("connect"));
            req.protocol_name = Some(s(&self.config.protocol_name));
        }
        req.assignments = assignments
            .into_iter()
            .map(|(m, a)| {
                let mut x = SyncGroupRequestAssignment::default();
                x.member_id = s(&m);
                x.assignment = Bytes::from(a);
                x
            })
            .collect();
        let timeout = self.config.rebalance_timeout + REQUEST_TIMEOUT;
        let client_id = self.config.client_id.clone();
        let sent = async {
            self.coordinator()
                .await?
                .send(&req, &client_id, timeout)
                .await
        }
        .await;
        let r = self.drop_connection_on(sent)?;
        match r.error_code {
            code::NONE => Ok(r.assignment),
            code::REBALANCE_IN_PROGRESS => Err(MembershipError::Rejoin),
            code::UNKNOWN_MEMBER_ID | code::ILLEGAL_GENERATION => {
                self.reset();
                Err(MembershipError::Lost)
            }
            code::NOT_COORDINATOR
            | code::COORDINATOR_NOT_AVAILABLE
            | code::COORDINATOR_LOAD_IN_PROGRESS => {
                self.conn = None;
                Err(MembershipError::CoordinatorNotReady(r.error_code))
            }
            code::FENCED_INSTANCE_ID => Err(MembershipError::Fenced(
                self.config.instance_id.clone().unwrap_or_default(),
            )),
            other => Err(MembershipError::Refused {
                group: self.config.group_id.clone(),
                api: "SyncGroup",
                code: other,
            }),
        }
    }

    /// One heartbeat. A connection failure is an `Err`: the caller decides, from how
    /// long heartbeats have been failing, whether membership is lost.
    pub async fn heartbeat(&mut self) -> Result<Beat, MembershipError> {
        let v = self.negotiated::<HeartbeatRequest>().await?;
        let mut req = HeartbeatRequest::default();
        req.group_id = GroupId(s(&self.config.group_id));
        req.generation_id = self.generation;
        req.member_id = s(&self.member_id);
        if v >= 3 {
            req.group_instance_id = self.config.instance_id.as_deref().map(s);
        }
        let client_id = self.config.client_id.clone();
        let timeout = self.config.session_timeout.min(REQUEST_TIMEOUT);
        let sent = async {
            self.coordinator()
                .await?
                .send(&req, &client_id, timeout)
                .await
        }
        .await;
        let r = self.drop_connection_on(sent)?;
        Ok(match r.error_code {
            code::NONE => Beat::Ok,
            code::REBALANCE_IN_PROGRESS => Beat::Rebalance,
            code::UNKNOWN_MEMBER_ID => {
                self.reset();
                Beat::Lost
            }
            code::ILLEGAL_GENERATION => Beat::Lost,
            code::FENCED_INSTANCE_ID => {
                return Err(MembershipError::Fenced(
                    self.config.instance_id.clone().unwrap_or_default(),
                ))
            }
            code::NOT_COORDINATOR
            | code::COORDINATOR_NOT_AVAILABLE
            | code::COORDINATOR_LOAD_IN_PROGRESS => {
                self.conn = None;
                return Err(MembershipError::CoordinatorNotReady(r.error_code));
            }
            other => {
                return Err(MembershipError::Refused {
                    group: self.config.group_id.clone(),
                    api: "Heartbeat",
                    code: other,
                })
            }
        })
    }

    /// Leaves the group so the others rebalance at once (a static member leaves too:
    /// this worker is shutting down, not restarting).
    pub async fn leave(&mut self) {
        if self.member_id.is_empty() {
            return;
        }
        let Ok(v) = self.negotiated::<LeaveGroupRequest>().await else {
            self.reset();
            return;
        };
        let mut req = LeaveGroupRequest::default();
        req.group_id = GroupId(s(&self.config.group_id));
        if v >= 3 {
            let mut me = MemberIdentity::default();
            me.member_id = s(&self.member_id);
            me.group_instance_id = self.config.instance_id.as_deref().map(s);
            req.members = vec![me];
        } else {
            req.member_id = s(&self.member_id);
        }
        let client_id = self.config.client_id.clone();
        let sent = async {
            self.coordinator()
                .await?
                .send(&req, &client_id, Duration::from_secs(5))
                .await
        }
        .await;
        match sent {
            Ok(r) if r.error_code == code::NONE => {
                tracing::info!(group = %self.config.group_id, member = %self.member_id, "left the group")
            }
            Ok(r) => {
                tracing::warn!(group = %self.config.group_id, code = r.error_code, "LeaveGroup refused")
            }
            Err(e) => {
                tracing::warn!(group = %self.config.group_id, error = %e, "LeaveGroup failed")
            }
        }
        self.reset();
    }
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
