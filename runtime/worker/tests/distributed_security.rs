//! Two `sluice distributed` workers whose REST APIs are https-only and behind HTTP Basic
//! auth: a connector created through either worker (a follower forwards the write to the
//! leader over https, trusting the cluster CA from its truststore and carrying its own
//! credentials) runs, and its status is readable through both workers.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Child;
use std::time::Duration;

use base64::Engine;
use common::{free_port, wait_until, write, KafkaBroker};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

struct Node {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent(ca: &Path) -> ureq::Agent {
    let pem = std::fs::read(ca).unwrap();
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[
            ureq::tls::Certificate::from_pem(&pem).unwrap(),
        ]))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

const AUTH: &str = "admin:cluster-pw";

fn authorization() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(AUTH)
    )
}

/// (status, body) of a request, or `None` when nothing answered.
fn call(a: &ureq::Agent, method: &str, url: &str, body: Option<&str>) -> Option<(u16, String)> {
    let mut resp = match (method, body) {
        ("POST", Some(b)) => a
            .post(url)
            .header("authorization", &authorization())
            .header("content-type", "application/json")
            .send(b),
        _ => a.get(url).header("authorization", &authorization()).call(),
    }
    .ok()?;
    let text = resp.body_mut().read_to_string().ok()?;
    Some((resp.status().as_u16(), text))
}

fn start(root: &Path, n: usize, bootstrap: &str, ca: &Path, keystore: &Path, users: &Path) -> Node {
    let dir = root.join(format!("worker-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    write(
        &dir,
        "worker.properties",
        &format!(
            "bootstrap.servers={bootstrap}\n\
             group.id=secure-group\n\
             config.storage.topic=secure-configs\n\
             offset.storage.topic=secure-offsets\n\
             status.storage.topic=secure-status\n\
             config.storage.replication.factor=1\n\
             offset.storage.replication.factor=1\n\
             status.storage.replication.factor=1\n\
             offset.storage.partitions=2\n\
             status.storage.partitions=2\n\
             heartbeat.interval.ms=1000\n\
             key.converter.schemas.enable=false\n\
             value.converter.schemas.enable=false\n\
             listeners=https://127.0.0.1:{port}\n\
             listeners.https.ssl.keystore.type=PEM\n\
             listeners.https.ssl.keystore.location={}\n\
             listeners.https.ssl.truststore.type=PEM\n\
             listeners.https.ssl.truststore.location={}\n\
             rest.authentication.basic.users.file={}\n",
            keystore.display(),
            ca.display(),
            users.display()
        ),
    );
    let (child, log) = common::cluster::spawn(&dir);
    let mut node = Node { child, port, log };
    let a = agent(ca);
    wait_until(
        Duration::from_secs(60),
        &format!("worker {n}'s https REST API"),
        || {
            if let Ok(Some(status)) = node.child.try_wait() {
                panic!(
                    "worker {n} exited with {status}:\n{}",
                    std::fs::read_to_string(&node.log).unwrap_or_default()
                );
            }
            call(&a, "GET", &format!("https://127.0.0.1:{port}/"), None).is_some()
        },
    );
    node
}

fn logs(nodes: &[Node]) -> String {
    nodes
        .iter()
        .map(|n| std::fs::read_to_string(&n.log).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n-----\n")
}

#[test]
fn writes_are_forwarded_to_the_leader_over_https_with_credentials() {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "sluice cluster CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let ca_pem = write(root, "ca.pem", &ca.pem());
    let keystore = write(
        root,
        "worker.pem",
        &format!("{}{}", key.serialize_pem(), cert.pem()),
    );
    let users = write(root, "users.properties", &AUTH.replace(':', "="));
    let nodes = [
        start(root, 1, broker.bootstrap(), &ca_pem, &keystore, &users),
        start(root, 2, broker.bootstrap(), &ca_pem, &keystore, &users),
    ];
    let a = agent(&ca_pem);
    // Both in the group before any connector exists, so creating one is the only rebalance.
    wait_until(Duration::from_secs(90), "both workers in the group", || {
        nodes
            .iter()
            .all(|n| std::fs::read_to_string(&n.log).is_ok_and(|l| l.contains("joined the group")))
    });
    let input = write(root, "in.txt", "a\nb\n");
    // One connector through each worker: one of them is a follower and forwards.
    for (i, node) in nodes.iter().enumerate() {
        let body = serde_json::json!({
            "name": format!("src-{i}"),
            "config": {
                "connector.class": "FileStreamSource",
                "file": input.display().to_string(),
                "topic": format!("secure-out-{i}"),
            }
        })
        .to_string();
        let url = format!("https://127.0.0.1:{}/connectors", node.port);
        let mut last = None;
        let created = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_until(Duration::from_secs(60), &format!("src-{i} created"), || {
                last = call(&a, "POST", &url, Some(&body));
                matches!(last, Some((201, _)))
            })
        }));
        if created.is_err() {
            panic!("{url}: {last:?}\n{}", logs(&nodes));
        }
    }
    let logs = || logs(&nodes);
    for node in &nodes {
        for i in 0..2 {
            let url = format!("https://127.0.0.1:{}/connectors/src-{i}/status", node.port);
            let mut last = None;
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                wait_until(
                    Duration::from_secs(60),
                    &format!("src-{i}'s task running"),
                    || {
                        last = call(&a, "GET", &url, None);
                        last.as_ref().is_some_and(|(s, b)| {
                            *s == 200 && b.matches("\"RUNNING\"").count() >= 2
                        })
                    },
                )
            }));
            if ok.is_err() {
                panic!("{url}: {last:?}\n{}", logs());
            }
        }
    }
    // Without credentials: 401, on every worker.
    for node in &nodes {
        let resp = a
            .get(format!("https://127.0.0.1:{}/connectors", node.port))
            .call()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401);
    }
}
