//! The worker's side of the group: join, (as leader) assign, apply, heartbeat, rejoin —
//! Kafka Connect's `WorkerCoordinator` with incremental cooperative rebalancing.
//!
//! Why no connector or task runs on two workers at once (beyond the assignor's rules):
//! - A member runs exactly the `assigned` set of the last assignment it applied, and it
//!   reports exactly that set when it rejoins; it stops revoked work *before* it rejoins,
//!   so by the time the leader sees its metadata the work is stopped.
//! - When the coordinator says this member is gone (`UNKNOWN_MEMBER_ID`,
//!   `ILLEGAL_GENERATION` on a heartbeat) or heartbeats have failed for
//!   `session.timeout.ms` — the span after which the coordinator drops a silent member —
//!   the member stops everything before it rejoins: its work may already be elsewhere.
//! - An assignment from a generation that ended before SyncGroup returned is never
//!   applied (the member rejoins instead).
//! - A leader behind the config offset some member reports first reads the config topic
//!   to that offset; if it cannot, it sends `CONFIG_MISMATCH` and nobody acts on it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio::time::Instant;

use super::assignor::{assign, AssignorState};
use super::membership::{Beat, GroupMember, MemberConfig, MembershipError};
use super::protocol::{
    decode_assignment, decode_metadata, encode_assignment, encode_metadata, Allocation, Assignment,
    TaskKey, WorkerMetadata, CONFIG_MISMATCH, NO_ERROR,
};

/// What exists at some offset of the config topic.
#[derive(Debug, Clone, Default)]
pub struct ConfigView {
    /// The config topic's next offset this view includes everything before.
    pub offset: i64,
    /// Connectors.
    pub connectors: BTreeSet<String>,
    /// Their committed tasks.
    pub tasks: BTreeSet<TaskKey>,
}

/// What the coordinator drives: the worker's connectors and tasks.
pub trait GroupWork: Send + Sync {
    /// How far this worker has read the config topic.
    fn config_offset(&self) -> i64;
    /// Reads the config topic at least to `offset` (to its end) and says what exists.
    fn read_config(&self, offset: i64) -> BoxFuture<'_, Result<ConfigView, String>>;
    /// Runs exactly `assignment.assigned` from now on: stops what is not in it, starts
    /// what is not running. Returns once the stops are done.
    fn apply<'a>(&'a self, assignment: &'a Assignment, generation: i32) -> BoxFuture<'a, ()>;
    /// Stops everything (membership lost or shutting down).
    fn stop_all(&self) -> BoxFuture<'_, ()>;
}

/// Who leads the current generation, for forwarding writes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Leadership {
    /// The generation.
    pub generation: i32,
    /// Whether this worker leads it.
    pub is_leader: bool,
    /// The leader's REST URL.
    pub leader_url: String,
    /// What this worker runs in it.
    pub assigned: Allocation,
    /// A rebalance is under way: writes answer 409 until it ends (Kafka Connect's
    /// "conflicting operation (e.g. worker rebalance)").
    pub rebalancing: bool,
}

/// Settings of the coordinator.
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// The membership settings.
    pub member: MemberConfig,
    /// This worker's REST URL, in its metadata.
    pub url: String,
    /// `connect.protocol` version (1 or 2).
    pub protocol_version: i16,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// `scheduled.rebalance.max.delay.ms`.
    pub max_delay: Duration,
}

/// Pause before retrying after a broker error.
const RETRY_BACKOFF: Duration = Duration::from_millis(500);

/// Runs the member until `shutdown` turns true, then stops everything and leaves.
/// `rejoin` changes when the config changed in a way that needs a new assignment.
pub async fn run(
    config: CoordinatorConfig,
    work: Arc<dyn GroupWork>,
    leadership: watch::Sender<Leadership>,
    mut rejoin: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), MembershipError> {
    let mut member = GroupMember::new(config.member.clone());
    let mut state = AssignorState::default();
    let mut owned = Allocation::default();
    let mut last_ok = Instant::now();
    let result = 'outer: loop {
        // A dropped shutdown sender means nobody can stop this member any more: stop.
        if *shutdown.borrow() || shutdown.has_changed().is_err() {
            break Ok(());
        }
        rejoin.borrow_and_update();
        leadership.send_if_modified(|l| !std::mem::replace(&mut l.rebalancing, true));
        if !owned.is_empty() && last_ok.elapsed() >= config.session_timeout {
            tracing::warn!(group = %config.member.group_id, "no contact with the group coordinator for session.timeout.ms; stopping all connectors and tasks (they may run elsewhere now)");
            work.stop_all().await;
            owned = Allocation::default();
        }
        let metadata = encode_metadata(&WorkerMetadata {
            version: config.protocol_version,
            url: config.url.clone(),
            config_offset: work.config_offset(),
            owned: owned.clone(),
        });
        let joined = tokio::select! {
            j = member.join(metadata) => j,
            _ = shutdown.changed() => continue,
        };
        let joined = match joined {
            Ok(j) => j,
            Err(MembershipError::Lost) => {
                tracing::warn!(group = %config.member.group_id, "the group coordinator dropped this worker; stopping all connectors and tasks before rejoining");
                work.stop_all().await;
                owned = Allocation::default();
                continue;
            }
            Err(e @ (MembershipError::Fenced(_) | MembershipError::InvalidSessionTimeout(_))) => {
                break Err(e)
            }
            Err(e) => {
                tracing::warn!(group = %config.member.group_id, error = %e, "joining the group failed; retrying");
                tokio::time::sleep(RETRY_BACKOFF).await;
                continue;
            }
        };
        last_ok = Instant::now();
        let assignments = if joined.is_leader() {
            leader_assign(
                &config,
                &*work,
                &mut state,
                &joined.member_id,
                &joined.members,
            )
            .await
        } else {
            Vec::new()
        };
        let bytes = match member.sync(assignments).await {
            Ok(b) => b,
            Err(MembershipError::Rejoin) => {
                last_ok = Instant::now();
                continue;
            }
            Err(MembershipError::Lost) => {
                tracing::warn!(group = %config.member.group_id, "the group coordinator dropped this worker; stopping all connectors and tasks before rejoining");
                work.stop_all().await;
                owned = Allocation::default();
                continue;
            }
            Err(e @ MembershipError::Fenced(_)) => break Err(e),
            Err(e) => {
                tracing::warn!(group = %config.member.group_id, error = %e, "SyncGroup failed; rejoining");
                tokio::time::sleep(RETRY_BACKOFF).await;
                continue;
            }
        };
        last_ok = Instant::now();
        let assignment = match decode_assignment(&bytes) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(group = %config.member.group_id, error = %e, "the leader's assignment is unreadable; rejoining");
                tokio::time::sleep(RETRY_BACKOFF).await;
                continue;
            }
        };
        if assignment.error == CONFIG_MISMATCH {
            tracing::warn!(offset = assignment.config_offset, "the leader could not read the config topic as far as this worker; reading it to its end and rejoining");
            let _ = work.read_config(assignment.config_offset).await;
            tokio::time::sleep(RETRY_BACKOFF).await;
            continue;
        }
        let generation = joined.generation;
        tracing::info!(
            group = %config.member.group_id,
            generation,
            leader = joined.is_leader(),
            connectors = assignment.assigned.connectors.len(),
            tasks = assignment.assigned.tasks.len(),
            revoked_tasks = assignment.revoked.tasks.len(),
            revoked_connectors = assignment.revoked.connectors.len(),
            "joined the group"
        );
        // Apply while heartbeating: stopping tasks may take a while.
        let mut next = Beat::Ok;
        {
            let apply = work.apply(&assignment, generation);
            tokio::pin!(apply);
            loop {
                tokio::select! {
                    _ = &mut apply => break,
                    _ = tokio::time::sleep(config.heartbeat_interval) => {
                        match member.heartbeat().await {
                            Ok(Beat::Ok) => last_ok = Instant::now(),
                            Ok(Beat::Rebalance) => {
                                last_ok = Instant::now();
                                next = Beat::Rebalance;
                            }
                            Ok(Beat::Lost) => next = Beat::Lost,
                            Err(e @ MembershipError::Fenced(_)) => break 'outer Err(e),
                            Err(e) => tracing::debug!(error = %e, "heartbeat failed"),
                        }
                    }
                }
            }
        }
        owned = assignment.assigned.clone();
        leadership.send_replace(Leadership {
            generation,
            is_leader: joined.is_leader(),
            leader_url: assignment.leader_url.clone(),
            assigned: owned.clone(),
            rebalancing: false,
        });
        if next == Beat::Lost {
            tracing::warn!(group = %config.member.group_id, generation, "no longer a member of the group; stopping all connectors and tasks before rejoining");
            work.stop_all().await;
            owned = Allocation::default();
            continue;
        }
        if next == Beat::Rebalance || !assignment.revoked.is_empty() {
            continue;
        }
        let rejoin_at = (assignment.delay_ms > 0).then(|| {
            Instant::now() + Duration::from_millis(u64::try_from(assignment.delay_ms).unwrap_or(0))
        });
        loop {
            let delay = async {
                match rejoin_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => futures::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.changed() => continue 'outer,
                _ = rejoin.changed() => continue 'outer,
                _ = delay => continue 'outer,
                _ = tokio::time::sleep(config.heartbeat_interval) => {}
            }
            match member.heartbeat().await {
                Ok(Beat::Ok) => last_ok = Instant::now(),
                Ok(Beat::Rebalance) => {
                    last_ok = Instant::now();
                    continue 'outer;
                }
                Ok(Beat::Lost) => {
                    tracing::warn!(group = %config.member.group_id, generation, "no longer a member of the group; stopping all connectors and tasks before rejoining");
                    work.stop_all().await;
                    owned = Allocation::default();
                    continue 'outer;
                }
                Err(e @ MembershipError::Fenced(_)) => break 'outer Err(e),
                Err(e) => {
                    tracing::warn!(group = %config.member.group_id, error = %e, "heartbeat failed");
                    if last_ok.elapsed() >= config.session_timeout {
                        continue 'outer;
                    }
                }
            }
        }
    };
    work.stop_all().await;
    member.leave().await;
    result
}

/// The leader's round: read configs as far as every member has, assign, encode.
async fn leader_assign(
    config: &CoordinatorConfig,
    work: &dyn GroupWork,
    state: &mut AssignorState,
    leader_id: &str,
    members: &[(String, Option<String>, bytes::Bytes)],
) -> Vec<(String, Vec<u8>)> {
    let mut owned = BTreeMap::new();
    let mut max_offset = work.config_offset();
    for (id, instance, metadata) in members {
        match decode_metadata(metadata) {
            Ok(m) => {
                max_offset = max_offset.max(m.config_offset);
                owned.insert(id.clone(), m.owned);
            }
            Err(e) => {
                tracing::error!(member = %id, instance = ?instance, error = %e, "a member's metadata is unreadable; it gets nothing this round");
                owned.insert(id.clone(), Allocation::default());
            }
        }
    }
    let view = match work.read_config(max_offset).await {
        Ok(v) if v.offset >= max_offset => Ok(v),
        Ok(v) => Err(format!("read to {} of {max_offset}", v.offset)),
        Err(e) => Err(e),
    };
    let encode = |member: &String, assigned, revoked, error, offset, delay_ms| {
        let bytes = encode_assignment(&Assignment {
            version: config.protocol_version,
            error,
            leader: leader_id.to_owned(),
            leader_url: config.url.clone(),
            config_offset: offset,
            assigned,
            revoked,
            delay_ms,
        });
        (member.clone(), bytes)
    };
    let view = match view {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, offset = max_offset, "the leader cannot read the config topic as far as the members have");
            return owned
                .keys()
                .map(|m| {
                    encode(
                        m,
                        Allocation::default(),
                        Allocation::default(),
                        CONFIG_MISMATCH,
                        max_offset,
                        0,
                    )
                })
                .collect();
        }
    };
    let plan = assign(
        state,
        &owned,
        &view.connectors,
        &view.tasks,
        config.max_delay,
        std::time::Instant::now(),
    );
    let delay_ms = plan.delay.map_or(0, |d| {
        i32::try_from(d.as_millis()).unwrap_or(i32::MAX).max(1)
    });
    plan.members
        .into_iter()
        .map(|(m, p)| encode(&m, p.assigned, p.revoked, NO_ERROR, view.offset, delay_ms))
        .collect()
}
