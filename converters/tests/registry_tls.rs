//! The registry client over https: the built-in `TestRegistry` behind a TLS proxy whose
//! certificate is signed by a private CA made for the test (rcgen), as a hosted or
//! company registry would be. The proxy is test code only (tokio-rustls, copying bytes
//! both ways to the registry's plain port); the client under test is the real one, with
//! its real settings parsing.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sluice_converters::registry::{RegistryClient, RegistrySchema, RegistrySettings};
use sluice_schema_registry::TestRegistry;

const RECORD: &str =
    r#"{"type":"record","name":"Row","namespace":"test","fields":[{"name":"a","type":"int"}]}"#;

/// A private CA: its certificate (to trust) and its key (to sign server certificates).
fn private_ca(name: &str) -> Result<CertifiedIssuer<'static, KeyPair>> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(CertifiedIssuer::self_signed(params, KeyPair::generate()?)?)
}

/// A server certificate for `names` (DNS names or IP addresses) signed by `ca`.
fn server_cert(
    ca: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>)> {
    let key = KeyPair::generate()?;
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let cert = CertificateParams::new(names)?.signed_by(&key, ca)?;
    Ok((
        cert.der().clone(),
        PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    ))
}

/// Serves TLS on `127.0.0.1:<free port>` and forwards each connection's plaintext to
/// `backend`; stops when dropped (dropping the runtime ends its tasks).
struct TlsProxy {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl TlsProxy {
    fn start(
        backend: SocketAddr,
        cert: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsProxy> {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        runtime.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses our certificate ends the handshake: nothing to
                    // forward then.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        });
        Ok(TlsProxy {
            addr,
            _runtime: runtime,
        })
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

/// A PEM file in a fresh temporary directory (kept while the directory lives).
fn pem_file(pem: &str) -> Result<(tempfile::TempDir, String)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, pem)?;
    let path = path.to_str().context("non-UTF-8 temp path")?.to_owned();
    Ok((dir, path))
}

fn client(pairs: &[(&str, &str)]) -> Result<RegistryClient> {
    let config: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Ok(RegistryClient::new(&RegistrySettings::from_config(
        &config,
    )?)?)
}

/// The error text of registering [`RECORD`] with a client for `pairs`.
fn register_error(pairs: &[(&str, &str)]) -> Result<String> {
    match client(pairs)?.register("t-value", &RegistrySchema::avro(RECORD)) {
        Ok(id) => anyhow::bail!("registering succeeded (id {id}) where it should have failed"),
        Err(e) => Ok(e.to_string()),
    }
}

#[test]
fn registers_and_fetches_over_https_trusting_a_private_ca_from_a_pem_file() -> Result<()> {
    let registry = TestRegistry::start();
    let ca = private_ca("Sluice test CA")?;
    let (cert, key) = server_cert(&ca, &["localhost", "127.0.0.1"])?;
    let proxy = TlsProxy::start(registry.addr(), cert, key)?;
    let (_dir, ca_pem) = pem_file(&ca.pem())?;
    let settings = [
        ("schema.registry.url", proxy.url()),
        ("schema.registry.ssl.truststore.location", ca_pem),
    ];
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let writer = client(&settings)?;
    let schema = RegistrySchema::avro(RECORD);
    let id = writer.register("t-value", &schema)?;
    assert_eq!(writer.register("t-value", &schema)?, id);
    assert_eq!(writer.http_calls(), 1, "registered once, over https");

    let reader = client(&settings)?;
    assert_eq!(
        *reader.schema_by_id(id)?,
        schema,
        "fetched by id over https"
    );
    assert_eq!(reader.latest("t-value")?.0, id);

    // The plain registry behind the proxy holds what went through it.
    let direct = client(&[("schema.registry.url", &registry.url())])?;
    assert_eq!(*direct.schema_by_id(id)?, schema);
    Ok(())
}

#[test]
fn a_certificate_from_an_untrusted_ca_is_refused_naming_the_truststore_key() -> Result<()> {
    let registry = TestRegistry::start();
    let ca = private_ca("Sluice test CA")?;
    let (cert, key) = server_cert(&ca, &["127.0.0.1"])?;
    let proxy = TlsProxy::start(registry.addr(), cert, key)?;
    let url = proxy.url();

    // No truststore: Mozilla's roots do not include our private CA.
    let msg = register_error(&[("schema.registry.url", &url)])?;
    assert!(msg.contains(&url), "names the URL: {msg}");
    assert!(
        msg.contains("the registry's TLS certificate is not signed by any of Mozilla's root certificates (schema.registry.ssl.truststore.location is not set)"),
        "{msg}"
    );
    assert!(
        msg.contains("set schema.registry.ssl.truststore.location to a PEM file holding the CA certificate that signed it"),
        "{msg}"
    );

    // A truststore holding another CA.
    let other = private_ca("Some other CA")?;
    let (_dir, other_pem) = pem_file(&other.pem())?;
    let msg = register_error(&[
        ("schema.registry.url", &url),
        ("schema.registry.ssl.truststore.location", &other_pem),
    ])?;
    assert!(
        msg.contains(&format!(
            "not signed by any of the CA certificates in schema.registry.ssl.truststore.location ({other_pem})"
        )),
        "{msg}"
    );
    Ok(())
}

#[test]
fn the_host_name_is_checked_against_the_certificate() -> Result<()> {
    let registry = TestRegistry::start();
    let ca = private_ca("Sluice test CA")?;
    let (cert, key) = server_cert(&ca, &["registry.example.com"])?;
    let proxy = TlsProxy::start(registry.addr(), cert, key)?;
    let (_dir, ca_pem) = pem_file(&ca.pem())?;
    let msg = register_error(&[
        ("schema.registry.url", &proxy.url()),
        ("schema.registry.ssl.truststore.location", &ca_pem),
    ])?;
    assert!(
        msg.contains(
            "the registry's TLS certificate does not name the host in schema.registry.url"
        ),
        "{msg}"
    );
    Ok(())
}

#[test]
fn an_https_url_at_a_plain_http_registry_says_so() -> Result<()> {
    let registry = TestRegistry::start();
    let url = format!("https://{}", registry.addr());
    let msg = register_error(&[("schema.registry.url", &url)])?;
    assert!(
        msg.contains("is the registry serving https on this port? Use an http:// URL"),
        "{msg}"
    );
    Ok(())
}
