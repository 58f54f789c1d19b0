//! Retries of retriable failures with exponential backoff: Kafka Connect's
//! `RetryWithToleranceOperator` schedule.
//!
//! Attempt `n` (1-based) that failed with a retriable error waits
//! `300 ms * 2^(n-1)`, capped at `errors.retry.delay.max.ms`, and never past the deadline
//! `errors.retry.timeout` after the first attempt; once the deadline has passed the last
//! error is returned and the tolerance decides. A timeout of 0 means no retry; -1 retries
//! forever.

use std::time::Duration;

use sluice_core::{ConnectError, ErrorClass};
use tokio::time::Instant;

/// The first delay, as Kafka Connect's `RETRIES_DELAY_MIN_MS`.
pub const MIN_DELAY: Duration = Duration::from_millis(300);

/// How long a failed operation is retried (`errors.retry.timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryTimeout {
    /// Not retried (`0`).
    None,
    /// Retried until this long after the first attempt.
    For(Duration),
    /// Retried forever (`-1`).
    Forever,
}

impl RetryTimeout {
    /// From the config value in milliseconds: 0 none, negative forever.
    pub fn from_ms(ms: i64) -> Self {
        match ms {
            0 => RetryTimeout::None,
            ms if ms < 0 => RetryTimeout::Forever,
            ms => RetryTimeout::For(Duration::from_millis(ms.unsigned_abs())),
        }
    }
}

/// `errors.retry.timeout` and `errors.retry.delay.max.ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long to retry.
    pub timeout: RetryTimeout,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            timeout: RetryTimeout::None,
            max_delay: Duration::from_millis(60_000),
        }
    }
}

impl RetryPolicy {
    /// Whether any retry happens at all.
    pub fn retries(&self) -> bool {
        self.timeout != RetryTimeout::None
    }

    /// The wait after failed attempt `attempt` (1-based), before any deadline applies.
    pub fn delay(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(31);
        MIN_DELAY
            .checked_mul(1u32 << shift)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// A schedule for one operation, starting now.
    pub fn start(&self) -> Backoff {
        Backoff::new(*self, Instant::now())
    }

    /// Runs `op` until it succeeds, fails with a non-retriable error, or the retry time is
    /// up; returns its last result. `on_retry` hears of each retry (attempt, wait, error).
    pub async fn run<T>(
        &self,
        mut op: impl FnMut() -> Result<T, ConnectError>,
        mut on_retry: impl FnMut(u32, Duration, &ConnectError),
    ) -> Result<T, ConnectError> {
        let mut backoff = self.start();
        loop {
            match op() {
                Err(e) if e.class() == ErrorClass::Retriable => match backoff.next_delay() {
                    Some(wait) => {
                        on_retry(backoff.attempts(), wait, &e);
                        tokio::time::sleep(wait).await;
                    }
                    None => return Err(e),
                },
                other => return other,
            }
        }
    }
}

/// The backoff schedule of one operation: call [`Backoff::next_delay`] after each failed
/// attempt.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    deadline: Option<Instant>,
    attempts: u32,
}

impl Backoff {
    /// A schedule whose first attempt started at `start`.
    pub fn new(policy: RetryPolicy, start: Instant) -> Self {
        let deadline = match policy.timeout {
            RetryTimeout::None => Some(start),
            RetryTimeout::For(d) => Some(start + d),
            RetryTimeout::Forever => None,
        };
        Backoff {
            policy,
            deadline,
            attempts: 0,
        }
    }

    /// Failed attempts so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Records a failed attempt: how long to wait before the next one, or `None` when the
    /// retry time is up.
    pub fn next_delay(&mut self) -> Option<Duration> {
        self.next_delay_at(Instant::now())
    }

    /// [`Backoff::next_delay`] at time `now`.
    pub fn next_delay_at(&mut self, now: Instant) -> Option<Duration> {
        self.attempts = self.attempts.saturating_add(1);
        let delay = self.policy.delay(self.attempts);
        match self.deadline {
            None => Some(delay),
            Some(deadline) if now >= deadline => None,
            Some(deadline) => Some(delay.min(deadline - now)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(timeout_ms: i64, max_ms: u64) -> RetryPolicy {
        RetryPolicy {
            timeout: RetryTimeout::from_ms(timeout_ms),
            max_delay: Duration::from_millis(max_ms),
        }
    }

    #[test]
    fn delays_double_from_300_ms_up_to_the_maximum() {
        let p = policy(-1, 5_000);
        let ms: Vec<u128> = (1..=7).map(|a| p.delay(a).as_millis()).collect();
        assert_eq!(ms, [300, 600, 1200, 2400, 4800, 5000, 5000]);
        // Far attempts do not overflow.
        assert_eq!(p.delay(200), Duration::from_millis(5_000));
    }

    #[test]
    fn no_timeout_means_no_retry() {
        let p = policy(0, 60_000);
        assert!(!p.retries());
        assert_eq!(p.start().next_delay(), None);
    }

    #[test]
    fn the_last_wait_ends_at_the_deadline_and_then_retries_stop() {
        let start = Instant::now();
        let mut b = Backoff::new(policy(1_000, 60_000), start);
        assert_eq!(b.next_delay_at(start), Some(Duration::from_millis(300)));
        let t = start + Duration::from_millis(300);
        assert_eq!(b.next_delay_at(t), Some(Duration::from_millis(600)));
        // 900 ms in: 1200 ms would pass the deadline; wait only the 100 ms left.
        let t = start + Duration::from_millis(900);
        assert_eq!(b.next_delay_at(t), Some(Duration::from_millis(100)));
        let t = start + Duration::from_millis(1_000);
        assert_eq!(b.next_delay_at(t), None);
        assert_eq!(b.attempts(), 4);
    }

    #[test]
    fn forever_never_stops() {
        let start = Instant::now();
        let mut b = Backoff::new(policy(-1, 1_000), start);
        let far = start + Duration::from_secs(86_400);
        for _ in 0..100 {
            assert!(b.next_delay_at(far).is_some());
        }
        assert_eq!(b.next_delay_at(far), Some(Duration::from_millis(1_000)));
    }

    #[tokio::test]
    async fn run_retries_retriable_errors_until_success() {
        let p = policy(10_000, 2);
        let mut calls = 0;
        let mut waits = Vec::new();
        let r = p
            .run(
                || {
                    calls += 1;
                    if calls < 4 {
                        Err(ConnectError::Retriable("down".into()))
                    } else {
                        Ok(calls)
                    }
                },
                |attempt, wait, _| waits.push((attempt, wait.as_millis())),
            )
            .await;
        assert_eq!(r.ok(), Some(4));
        assert_eq!(waits, [(1, 2), (2, 2), (3, 2)]);
    }

    #[tokio::test]
    async fn run_gives_up_at_the_timeout_and_never_retries_other_errors() {
        let p = policy(30, 5);
        let started = Instant::now();
        let mut calls = 0;
        let r: Result<(), _> = p
            .run(
                || {
                    calls += 1;
                    Err(ConnectError::Retriable("down".into()))
                },
                |_, _, _| {},
            )
            .await;
        assert!(matches!(r, Err(ConnectError::Retriable(_))));
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(calls >= 2, "{calls}");

        let mut calls = 0;
        let r: Result<(), _> = p
            .run(
                || {
                    calls += 1;
                    Err(ConnectError::BadRecord("bad".into()))
                },
                |_, _, _| {},
            )
            .await;
        assert!(matches!(r, Err(ConnectError::BadRecord(_))));
        assert_eq!(calls, 1);
    }
}
