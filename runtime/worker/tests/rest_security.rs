//! The REST API over TLS and behind authentication, as a user checks it with an https
//! client that trusts the cluster's CA: `listeners=https://…` with Kafka Connect's
//! `listeners.https.ssl.*` PEM keys, HTTP Basic users and bearer tokens (401 with
//! `WWW-Authenticate` and Kafka Connect's error body without them), client certificates
//! when required, and a JKS key store refused with a message saying to use PEM.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use common::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// A private CA, and PEM files it signed, in `dir`.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
    ca_pem: PathBuf,
}

impl Pki {
    fn new(dir: &Path) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "sluice test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let ca_pem = write(dir, "ca.pem", &ca.pem());
        Pki { ca, ca_pem }
    }

    /// (certificate PEM, key PEM) for `names`.
    fn issue(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.ca)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// An https client trusting `ca` (when given), presenting `client` (cert, key PEM).
fn agent(ca: Option<&Path>, client: Option<&(String, String)>) -> ureq::Agent {
    let mut tls = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::Rustls);
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).unwrap();
        let cert = ureq::tls::Certificate::from_pem(&pem).unwrap();
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]));
    }
    if let Some((cert, key)) = client {
        let cert = ureq::tls::Certificate::from_pem(cert.as_bytes()).unwrap();
        let key = ureq::tls::PrivateKey::from_pem(key.as_bytes()).unwrap();
        tls = tls.client_cert(Some(ureq::tls::ClientCert::new_with_certs(&[cert], key)));
    }
    ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// GET `url` with an optional `Authorization` → (status, WWW-Authenticate, body), or
/// the transport error's text.
fn get(
    agent: &ureq::Agent,
    url: &str,
    authorization: Option<&str>,
) -> Result<(u16, String, String), String> {
    let mut req = agent.get(url);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let mut resp = req.call().map_err(|e| e.to_string())?;
    let challenge = resp
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap_or("").to_owned())
        .collect::<Vec<_>>()
        .join(", ");
    let body = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((resp.status().as_u16(), challenge, body))
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A running `sluice standalone` with its log file; killed when dropped.
struct Sluice {
    child: Child,
    log: PathBuf,
}

impl Drop for Sluice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sluice {
    /// Starts `sluice standalone worker.properties` in `dir` and waits until `url`
    /// answers over https (any status) with a client trusting `ca`.
    fn start(dir: &Path, url: &str, ca: &Path, client: Option<&(String, String)>) -> Sluice {
        let log = dir.join("sluice.log");
        let child = Command::new(sluice_bin())
            .current_dir(dir)
            .arg("standalone")
            .arg("worker.properties")
            .env("SLUICE_LOG", "info,sluice_worker=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut s = Sluice { child, log };
        let a = agent(Some(ca), client);
        wait_until(
            Duration::from_secs(30),
            "the https REST API to answer",
            || {
                if let Ok(Some(status)) = s.child.try_wait() {
                    panic!(
                        "sluice exited early with {status}:\n{}",
                        std::fs::read_to_string(&s.log).unwrap_or_default()
                    );
                }
                get(&a, url, None).is_ok()
            },
        );
        s
    }
}

#[test]
fn https_with_basic_users_and_bearer_tokens() {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = Pki::new(dir);
    let (cert, key) = pki.issue(&["127.0.0.1", "localhost"]);
    // Kafka Connect's keystore layout: one PEM file with the key and the chain.
    let keystore = write(dir, "rest.pem", &format!("{key}{cert}"));
    let users = write(dir, "users.properties", "alice: wonderland\nbob=builder\n");
    let tokens = write(dir, "tokens.txt", "# automation\nsecret-token-1\n");
    let port = free_port();
    worker_properties(dir, broker.bootstrap(), port, "");
    let text = std::fs::read_to_string(dir.join("worker.properties"))
        .unwrap()
        .replace(
            &format!("listeners=http://127.0.0.1:{port}"),
            &format!(
                "listeners=https://127.0.0.1:{port}\n\
                 listeners.https.ssl.keystore.type=PEM\n\
                 listeners.https.ssl.keystore.location={}\n\
                 rest.authentication.basic.users.file={}\n\
                 rest.authentication.bearer.tokens.file={}",
                keystore.display(),
                users.display(),
                tokens.display()
            ),
        );
    write(dir, "worker.properties", &text);
    let url = format!("https://127.0.0.1:{port}/");
    let _sluice = Sluice::start(dir, &url, &pki.ca_pem, None);
    let trusted = agent(Some(&pki.ca_pem), None);

    let (status, challenge, body) = get(&trusted, &url, None).unwrap();
    assert_eq!(status, 401, "{body}");
    assert!(challenge.contains("Basic realm="), "{challenge}");
    assert!(challenge.contains("Bearer realm="), "{challenge}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error_code"], 401);
    assert_eq!(body["message"], "User cannot access the resource.");

    let (status, _, _) = get(&trusted, &url, Some(&basic("alice", "nope"))).unwrap();
    assert_eq!(status, 401);
    let (status, _, _) = get(&trusted, &url, Some("Bearer wrong")).unwrap();
    assert_eq!(status, 401);

    let (status, _, body) = get(&trusted, &url, Some(&basic("alice", "wonderland"))).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"version\""), "{body}");
    let (status, _, body) = get(
        &trusted,
        &format!("{url}connectors"),
        Some("Bearer secret-token-1"),
    )
    .unwrap();
    assert_eq!((status, body.as_str()), (200, "[]"));

    // A client that does not trust the CA, and plain http, get no answer.
    let e = get(&agent(None, None), &url, Some(&basic("bob", "builder"))).expect_err("untrusted");
    assert!(
        e.to_lowercase().contains("certificate") || e.to_lowercase().contains("issuer"),
        "{e}"
    );
    assert_ne!(http(port, "GET", "/", None).map(|r| r.0), Some(200));
}

#[test]
fn client_certificates_are_checked_when_required() {
    let broker = KafkaBroker::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = Pki::new(dir);
    let (cert, key) = pki.issue(&["127.0.0.1"]);
    let client = pki.issue(&["client"]);
    let other = dir.join("other");
    std::fs::create_dir(&other).unwrap();
    let stranger = Pki::new(&other).issue(&["client"]);
    let port = free_port();
    // The inline PEM keys, un-prefixed as Kafka Connect also reads them.
    let inline = |pem: &str| pem.trim().replace('\n', "\\n");
    worker_properties(
        dir,
        broker.bootstrap(),
        port,
        &format!(
            "ssl.keystore.type=PEM\n\
             ssl.keystore.certificate.chain={}\n\
             ssl.keystore.key={}\n\
             listeners.https.ssl.truststore.type=PEM\n\
             listeners.https.ssl.truststore.location={}\n\
             listeners.https.ssl.client.authentication=required\n",
            inline(&cert),
            inline(&key),
            pki.ca_pem.display()
        ),
    );
    let text = std::fs::read_to_string(dir.join("worker.properties"))
        .unwrap()
        .replace("listeners=http://", "listeners=https://");
    write(dir, "worker.properties", &text);
    let url = format!("https://127.0.0.1:{port}/connectors");
    let _sluice = Sluice::start(dir, &url, &pki.ca_pem, Some(&client));

    let (status, _, body) = get(&agent(Some(&pki.ca_pem), Some(&client)), &url, None).unwrap();
    assert_eq!((status, body.as_str()), (200, "[]"));
    get(&agent(Some(&pki.ca_pem), None), &url, None).expect_err("no client certificate");
    get(&agent(Some(&pki.ca_pem), Some(&stranger)), &url, None)
        .expect_err("a client certificate from another CA");
}

#[test]
fn a_jks_key_store_is_refused_with_the_way_to_pem() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let jks = dir.join("keystore.jks");
    std::fs::write(&jks, [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2]).unwrap();
    let worker = worker_properties(
        dir,
        "127.0.0.1:1",
        free_port(),
        &format!("listeners.https.ssl.keystore.location={}\n", jks.display()),
    );
    let text = std::fs::read_to_string(&worker)
        .unwrap()
        .replace("listeners=http://", "listeners=https://");
    write(dir, "worker.properties", &text);
    let (status, stderr) = run_to_end(&[&worker]);
    assert!(!status.success());
    assert!(
        stderr.contains("listeners.https.ssl.keystore.location")
            && stderr.contains("JKS")
            && stderr.contains("only PEM is supported"),
        "{stderr}"
    );

    let text = text.replace(
        &format!("listeners.https.ssl.keystore.location={}", jks.display()),
        "listeners.https.ssl.keystore.type=PKCS12",
    );
    write(dir, "worker.properties", &text);
    let (status, stderr) = run_to_end(&[&worker]);
    assert!(!status.success());
    assert!(
        stderr.contains("listeners.https.ssl.keystore.type") && stderr.contains("PEM"),
        "{stderr}"
    );
}
