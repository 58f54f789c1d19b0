//! The leader's assignment: balanced, sticky, incremental and cooperative, like Kafka
//! Connect's `IncrementalCooperativeAssignor`.
//!
//! Why no connector or task ever runs on two workers because of an assignment:
//! 1. Something a member reports running is given to no other member in the same round;
//!    work that must move is only *revoked* from its owner this round. The owner stops
//!    it before it rejoins, and only in a later round — when no member reports it any
//!    more — is it handed to someone else.
//! 2. Work no member reports is either new, or was revoked and stopped (1.), or belonged
//!    to a member the coordinator dropped from the group. A dropped member stops all its
//!    work itself once its heartbeats have failed for `session.timeout.ms` (see
//!    `membership`), the same span after which the coordinator drops it.
//! 3. Two members reporting the same work (only possible after such a drop) keep it on
//!    the first member and revoke it from the others.
//!
//! Why it moves only what must move: members keep what they report (less deleted or
//! duplicated work); unowned work goes to the least loaded members; and only members
//! above their balanced share (⌈n/m⌉ for the `n mod m` most loaded, ⌊n/m⌋ for the rest)
//! give up exactly their excess. Connectors and tasks are balanced separately.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::protocol::{Allocation, TaskKey};

/// One round's result for one member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberPlan {
    /// Everything it is to run after this round.
    pub assigned: Allocation,
    /// What it must stop.
    pub revoked: Allocation,
}

/// What the leader remembers between rounds, to hold a departed member's work for
/// `scheduled.rebalance.max.delay.ms`.
#[derive(Debug, Default)]
pub struct AssignorState {
    /// Work given out in the previous round.
    previous: Allocation,
    /// Work whose member left, and when it may be handed out.
    held_connectors: BTreeMap<String, Instant>,
    held_tasks: BTreeMap<TaskKey, Instant>,
}

/// The result of one round.
#[derive(Debug, Default)]
pub struct Plan {
    /// Per member id.
    pub members: BTreeMap<String, MemberPlan>,
    /// How long until held work may be given out (members rejoin then), if any is held.
    pub delay: Option<Duration>,
}

/// Computes one round. `members` maps member id to what it reports running; `connectors`
/// and `tasks` are everything that exists at the leader's config offset.
pub fn assign(
    state: &mut AssignorState,
    members: &BTreeMap<String, Allocation>,
    connectors: &BTreeSet<String>,
    tasks: &BTreeSet<TaskKey>,
    max_delay: Duration,
    now: Instant,
) -> Plan {
    let mut plan = Plan::default();
    if members.is_empty() {
        return plan;
    }
    let owned_c: BTreeMap<&String, BTreeSet<String>> = members
        .iter()
        .map(|(m, a)| (m, a.connectors.clone()))
        .collect();
    let owned_t: BTreeMap<&String, BTreeSet<TaskKey>> =
        members.iter().map(|(m, a)| (m, a.tasks.clone())).collect();
    let (held_c, delay_c) = hold(
        &mut state.held_connectors,
        &state.previous.connectors,
        &owned_c,
        connectors,
        max_delay,
        now,
    );
    let (held_t, delay_t) = hold(
        &mut state.held_tasks,
        &state.previous.tasks,
        &owned_t,
        tasks,
        max_delay,
        now,
    );
    let conn = balance(&owned_c, connectors, &held_c);
    let task = balance(&owned_t, tasks, &held_t);
    let mut given = Allocation::default();
    for m in members.keys() {
        let (ca, cr) = conn.get(m).cloned().unwrap_or_default();
        let (ta, tr) = task.get(m).cloned().unwrap_or_default();
        given.connectors.extend(ca.iter().cloned());
        given.tasks.extend(ta.iter().cloned());
        plan.members.insert(
            m.clone(),
            MemberPlan {
                assigned: Allocation {
                    connectors: ca,
                    tasks: ta,
                },
                revoked: Allocation {
                    connectors: cr,
                    tasks: tr,
                },
            },
        );
    }
    // Held work counts as given, so it is still "previous" next round.
    given.connectors.extend(held_c);
    given.tasks.extend(held_t);
    state.previous = given;
    plan.delay = delay_c.into_iter().chain(delay_t).min();
    plan
}

/// Work that was given out last round, is unowned now and still exists, is held until
/// `max_delay` after it was first seen unowned. Returns what is held now and the time
/// until the earliest release.
fn hold<T: Ord + Clone>(
    held: &mut BTreeMap<T, Instant>,
    previous: &BTreeSet<T>,
    owned: &BTreeMap<&String, BTreeSet<T>>,
    existing: &BTreeSet<T>,
    max_delay: Duration,
    now: Instant,
) -> (BTreeSet<T>, Option<Duration>) {
    if max_delay.is_zero() {
        held.clear();
        return (BTreeSet::new(), None);
    }
    let reported: BTreeSet<&T> = owned.values().flatten().collect();
    held.retain(|item, _| existing.contains(item) && !reported.contains(item));
    for item in previous {
        if existing.contains(item) && !reported.contains(item) && !held.contains_key(item) {
            held.insert(item.clone(), now + max_delay);
        }
    }
    held.retain(|_, release| *release > now);
    let delay = held
        .values()
        .min()
        .map(|r| r.saturating_duration_since(now));
    (held.keys().cloned().collect(), delay)
}

/// Balances one kind of work: per member, (assigned after this round, revoked now).
fn balance<T: Ord + Clone>(
    owned: &BTreeMap<&String, BTreeSet<T>>,
    existing: &BTreeSet<T>,
    held: &BTreeSet<T>,
) -> BTreeMap<String, (BTreeSet<T>, BTreeSet<T>)> {
    let mut keep: BTreeMap<&String, BTreeSet<T>> = BTreeMap::new();
    let mut revoke: BTreeMap<&String, BTreeSet<T>> = BTreeMap::new();
    let mut claimed: BTreeSet<T> = BTreeSet::new();
    for (m, items) in owned {
        let k = keep.entry(m).or_default();
        let r = revoke.entry(m).or_default();
        for item in items {
            if existing.contains(item) && claimed.insert(item.clone()) {
                k.insert(item.clone());
            } else {
                r.insert(item.clone());
            }
        }
    }
    // Members above their share give up the excess now; it is handed out next round.
    let total = existing.len() - held.len().min(existing.len());
    let n = owned.len();
    let (floor, extra) = (total / n, total % n);
    let mut by_load: Vec<&String> = keep.keys().copied().collect();
    by_load.sort_by(|a, b| keep[b].len().cmp(&keep[a].len()).then(a.cmp(b)));
    for (i, m) in by_load.iter().enumerate() {
        let share = floor + usize::from(i < extra);
        let k = keep.get_mut(m).map(std::mem::take).unwrap_or_default();
        let (stay, excess): (Vec<T>, Vec<T>) = {
            let mut all: Vec<T> = k.into_iter().collect();
            let cut = share.min(all.len());
            let excess = all.split_off(cut);
            (all, excess)
        };
        keep.insert(m, stay.into_iter().collect());
        revoke.entry(m).or_default().extend(excess);
    }
    // Unowned work (new, or stopped by its last owner) goes to the least loaded.
    let revoked_now: BTreeSet<&T> = revoke.values().flatten().collect();
    let unowned: Vec<T> = existing
        .iter()
        .filter(|i| !claimed.contains(*i) && !held.contains(*i) && !revoked_now.contains(i))
        .cloned()
        .collect();
    for item in unowned {
        // Revoking members still run what they give up this round: count it as load.
        let least = keep
            .iter()
            .min_by(|(ma, a), (mb, b)| {
                let la = a.len() + revoke.get(*ma).map_or(0, BTreeSet::len);
                let lb = b.len() + revoke.get(*mb).map_or(0, BTreeSet::len);
                la.cmp(&lb).then(ma.cmp(mb))
            })
            .map(|(m, _)| *m);
        if let Some(m) = least {
            keep.entry(m).or_default().insert(item);
        }
    }
    owned
        .keys()
        .map(|m| {
            (
                (*m).clone(),
                (
                    keep.remove(m).unwrap_or_default(),
                    revoke.remove(m).unwrap_or_default(),
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks(n: u32) -> BTreeSet<TaskKey> {
        (0..n).map(|t| ("c".to_owned(), t)).collect()
    }

    fn members(list: &[(&str, &[u32])]) -> BTreeMap<String, Allocation> {
        list.iter()
            .map(|(m, ts)| {
                (
                    (*m).to_owned(),
                    Allocation {
                        connectors: BTreeSet::new(),
                        tasks: ts.iter().map(|t| ("c".to_owned(), *t)).collect(),
                    },
                )
            })
            .collect()
    }

    fn counts(plan: &Plan) -> Vec<(usize, usize)> {
        plan.members
            .values()
            .map(|p| (p.assigned.tasks.len(), p.revoked.tasks.len()))
            .collect()
    }

    /// Runs rounds (members report what they were assigned) until nothing is revoked.
    fn settle(
        mut m: BTreeMap<String, Allocation>,
        all: &BTreeSet<TaskKey>,
    ) -> (BTreeMap<String, Allocation>, usize) {
        let mut state = AssignorState::default();
        let mut moved = 0;
        for _ in 0..5 {
            let plan = assign(
                &mut state,
                &m,
                &BTreeSet::new(),
                all,
                Duration::ZERO,
                Instant::now(),
            );
            let revoked: usize = plan.members.values().map(|p| p.revoked.tasks.len()).sum();
            moved += revoked;
            // No task is given to one member while another still reports it.
            for (id, p) in &plan.members {
                for t in &p.assigned.tasks {
                    for (other, a) in &m {
                        assert!(
                            other == id || !a.tasks.contains(t),
                            "{t:?} on {id} and {other}"
                        );
                    }
                }
            }
            m = plan
                .members
                .into_iter()
                .map(|(k, p)| (k, p.assigned))
                .collect();
            if revoked == 0 {
                return (m, moved);
            }
        }
        panic!("did not settle")
    }

    #[test]
    fn new_tasks_spread_evenly() {
        let (m, moved) = settle(members(&[("a", &[]), ("b", &[]), ("c", &[])]), &tasks(7));
        let loads: Vec<usize> = m.values().map(|a| a.tasks.len()).collect();
        assert_eq!(loads, vec![3, 2, 2]);
        assert_eq!(moved, 0);
    }

    #[test]
    fn a_joining_member_takes_only_its_share() {
        let start = members(&[
            ("a", &[0, 1, 2]),
            ("b", &[3, 4, 5]),
            ("c", &[6, 7, 8]),
            ("d", &[]),
        ]);
        let plan = assign(
            &mut AssignorState::default(),
            &start,
            &BTreeSet::new(),
            &tasks(9),
            Duration::ZERO,
            Instant::now(),
        );
        assert_eq!(counts(&plan), vec![(3, 0), (2, 1), (2, 1), (0, 0)]);
        let (end, moved) = settle(start, &tasks(9));
        assert_eq!(moved, 2, "9 tasks over 4 workers: only 2 move");
        let loads: Vec<usize> = end.values().map(|a| a.tasks.len()).collect();
        assert_eq!(loads, vec![3, 2, 2, 2]);
    }

    #[test]
    fn a_departed_members_tasks_move_at_once_or_after_the_delay() {
        let all = tasks(4);
        let mut state = AssignorState::default();
        let t0 = Instant::now();
        let before = members(&[("a", &[0, 1]), ("b", &[2, 3])]);
        let delay = Duration::from_secs(10);
        assign(&mut state, &before, &BTreeSet::new(), &all, delay, t0);
        let after = members(&[("a", &[0, 1])]);
        let plan = assign(&mut state, &after, &BTreeSet::new(), &all, delay, t0);
        assert_eq!(counts(&plan), vec![(2, 0)], "held for the delay");
        assert_eq!(plan.delay, Some(delay));
        let later = t0 + delay + Duration::from_millis(1);
        let plan = assign(&mut state, &after, &BTreeSet::new(), &all, delay, later);
        assert_eq!(counts(&plan), vec![(4, 0)]);
        let plan = assign(
            &mut AssignorState::default(),
            &after,
            &BTreeSet::new(),
            &all,
            Duration::ZERO,
            t0,
        );
        assert_eq!(counts(&plan), vec![(4, 0)], "no delay: at once");
    }

    #[test]
    fn deleted_and_duplicated_work_is_revoked() {
        let m = members(&[("a", &[0, 1, 5]), ("b", &[1])]);
        let plan = assign(
            &mut AssignorState::default(),
            &m,
            &BTreeSet::new(),
            &tasks(2),
            Duration::ZERO,
            Instant::now(),
        );
        let a = &plan.members["a"];
        let b = &plan.members["b"];
        assert!(a.revoked.tasks.contains(&("c".to_owned(), 5)));
        assert!(b.revoked.tasks.contains(&("c".to_owned(), 1)));
        assert!(!b.assigned.tasks.contains(&("c".to_owned(), 1)));
    }
}
