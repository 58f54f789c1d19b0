//! Group membership through a real broker's group coordinator (tansu, which expires
//! silent members): workers spread a connector's tasks, a joining worker takes only its
//! share, and a worker that goes silent loses its tasks to the others in seconds.
//! The workers here run the real coordinator with stand-in tasks that only record
//! starts and stops.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use sluice_worker::distributed::coordinator::{
    run, ConfigView, CoordinatorConfig, GroupWork, Leadership,
};
use sluice_worker::distributed::membership::MemberConfig;
use sluice_worker::distributed::protocol::{Allocation, Assignment};
use tokio::sync::watch;

const TASKS: u32 = 6;
/// `session.timeout.ms`. Tansu drops a silent member only after about twice this (it
/// expires it, then waits as long again for it in the rebalance); Apache Kafka drops it
/// after once this, but refuses less than 6 s (`group.min.session.timeout.ms`).
const SESSION: Duration = Duration::from_secs(4);

#[derive(Default)]
struct Recorded {
    running: Allocation,
    starts: usize,
    stops: usize,
}

#[derive(Default)]
struct FakeWork(Mutex<Recorded>);

impl FakeWork {
    fn running(&self) -> Allocation {
        self.0.lock().unwrap().running.clone()
    }
    fn counts(&self) -> (usize, usize) {
        let r = self.0.lock().unwrap();
        (r.starts, r.stops)
    }
}

impl GroupWork for FakeWork {
    fn config_offset(&self) -> i64 {
        TASKS as i64 + 2
    }
    fn read_config(&self, _offset: i64) -> BoxFuture<'_, Result<ConfigView, String>> {
        Box::pin(async {
            Ok(ConfigView {
                offset: TASKS as i64 + 2,
                connectors: ["c".to_owned()].into(),
                tasks: (0..TASKS).map(|t| ("c".to_owned(), t)).collect(),
            })
        })
    }
    fn apply<'a>(&'a self, a: &'a Assignment, _generation: i32) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let mut r = self.0.lock().unwrap();
            let stopped = r.running.tasks.difference(&a.assigned.tasks).count()
                + r.running
                    .connectors
                    .difference(&a.assigned.connectors)
                    .count();
            let started = a.assigned.tasks.difference(&r.running.tasks).count()
                + a.assigned
                    .connectors
                    .difference(&r.running.connectors)
                    .count();
            r.stops += stopped;
            r.starts += started;
            r.running = a.assigned.clone();
        })
    }
    fn stop_all(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {
            let mut r = self.0.lock().unwrap();
            r.stops += r.running.tasks.len() + r.running.connectors.len();
            r.running = Allocation::default();
        })
    }
}

struct TestWorker {
    work: Arc<FakeWork>,
    task: tokio::task::JoinHandle<()>,
    _leadership: watch::Receiver<Leadership>,
    _rejoin: watch::Sender<u64>,
    _shutdown: watch::Sender<bool>,
}

fn start(bootstrap: &str, n: usize) -> TestWorker {
    start_as(bootstrap, n, "group-test", None)
}

fn start_as(bootstrap: &str, n: usize, group: &str, instance: Option<&str>) -> TestWorker {
    let work = Arc::new(FakeWork::default());
    let config = CoordinatorConfig {
        member: MemberConfig {
            bootstrap: vec![bootstrap.to_owned()],
            group_id: group.into(),
            instance_id: instance.map(str::to_owned),
            session_timeout: SESSION,
            rebalance_timeout: Duration::from_secs(20),
            protocol_name: "sessioned".into(),
            client_id: format!("worker-{n}"),
        },
        url: format!("http://127.0.0.1:{}", 9000 + n),
        protocol_version: 2,
        heartbeat_interval: Duration::from_millis(1000),
        session_timeout: SESSION,
        max_delay: Duration::ZERO,
    };
    let (leadership, leadership_rx) = watch::channel(Leadership::default());
    let (rejoin, rejoin_rx) = watch::channel(0);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let w = work.clone();
    let task = tokio::spawn(async move {
        run(config, w, leadership, rejoin_rx, shutdown_rx)
            .await
            .unwrap();
    });
    TestWorker {
        work,
        task,
        _leadership: leadership_rx,
        _rejoin: rejoin,
        _shutdown: shutdown,
    }
}

/// True when the workers together run each task and the connector exactly once and
/// their task counts differ by at most one.
fn balanced(workers: &[&TestWorker]) -> bool {
    let mut tasks = BTreeSet::new();
    let mut connectors = 0;
    let mut loads = Vec::new();
    for w in workers {
        let r = w.work.running();
        loads.push(r.tasks.len());
        connectors += r.connectors.len();
        for t in r.tasks {
            if !tasks.insert(t) {
                return false;
            }
        }
    }
    let (min, max) = (loads.iter().min(), loads.iter().max());
    tasks.len() == TASKS as usize
        && connectors == 1
        && max.zip(min).is_some_and(|(a, b)| a - b <= 1)
}

async fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "{what} within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_share_tasks_take_only_their_share_and_fail_over() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            std::env::var("SLUICE_LOG").unwrap_or_else(|_| "warn".into()),
        ))
        .with_test_writer()
        .try_init();
    let broker = sluice_testkit::KafkaBroker::start_tansu();
    let bootstrap = broker.bootstrap().to_owned();
    let w1 = start(&bootstrap, 1);
    let w2 = start(&bootstrap, 2);
    let w3 = start(&bootstrap, 3);
    wait_for("3 workers sharing 6 tasks", Duration::from_secs(60), || {
        balanced(&[&w1, &w2, &w3])
    })
    .await;
    let loads: Vec<usize> = [&w1, &w2, &w3]
        .iter()
        .map(|w| w.work.running().tasks.len())
        .collect();
    assert_eq!(loads, vec![2, 2, 2]);
    let before: Vec<(usize, usize)> = [&w1, &w2, &w3].iter().map(|w| w.work.counts()).collect();

    // A 4th worker: 2+2+2 becomes 2+2+1+1, so exactly one task moves.
    let w4 = start(&bootstrap, 4);
    wait_for("4 workers sharing 6 tasks", Duration::from_secs(60), || {
        balanced(&[&w1, &w2, &w3, &w4])
    })
    .await;
    let stops: usize = [&w1, &w2, &w3]
        .iter()
        .zip(&before)
        .map(|(w, (_, stops))| w.work.counts().1 - stops)
        .sum();
    let starts_elsewhere: usize = [&w1, &w2, &w3]
        .iter()
        .zip(&before)
        .map(|(w, (starts, _))| w.work.counts().0 - starts)
        .sum();
    let (starts4, stops4) = w4.work.counts();
    println!(
        "4th worker joined: {stops} stops on the first three, {starts4} starts on the new one"
    );
    assert_eq!(stops, 1, "only the moved task stops");
    assert_eq!(starts_elsewhere, 0, "nothing else restarts");
    assert_eq!((starts4, stops4), (1, 0));

    // Worker 3 goes silent (as after kill -9: no LeaveGroup, no heartbeats).
    let lost = w3.work.running().tasks.len() + w3.work.running().connectors.len();
    assert!(lost > 0);
    w3.task.abort();
    let took = wait_for(
        "the silent worker's tasks running elsewhere",
        Duration::from_secs(30),
        || balanced(&[&w1, &w2, &w4]),
    )
    .await;
    println!(
        "failover: worker 3's {lost} task(s) ran elsewhere {:.1} s after it went silent (session.timeout.ms={})",
        took.as_secs_f64(),
        SESSION.as_millis()
    );
    assert!(took < Duration::from_secs(10), "failover took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_restarted_in_time_takes_its_tasks_back_alone() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            std::env::var("SLUICE_LOG").unwrap_or_else(|_| "warn".into()),
        ))
        .with_test_writer()
        .try_init();
    let broker = sluice_testkit::KafkaBroker::start_tansu();
    let bootstrap = broker.bootstrap().to_owned();
    let a = start_as(&bootstrap, 1, "static-test", Some("worker-a"));
    let b = start_as(&bootstrap, 2, "static-test", Some("worker-b"));
    wait_for(
        "2 static workers sharing 6 tasks",
        Duration::from_secs(60),
        || balanced(&[&a, &b]),
    )
    .await;
    let b_tasks = b.work.running();
    let a_counts = a.work.counts();
    b.task.abort();
    // Restarted under the same group.instance.id well within session.timeout.ms.
    let b2 = start_as(&bootstrap, 3, "static-test", Some("worker-b"));
    wait_for(
        "the restarted worker running its old tasks",
        Duration::from_secs(30),
        || b2.work.running() == b_tasks,
    )
    .await;
    assert_eq!(
        a.work.counts(),
        a_counts,
        "the other worker stopped or started nothing"
    );
    assert!(balanced(&[&a, &b2]));
}
