//! The REST API over TLS: `listeners=https://host:port` with Kafka Connect's worker keys
//! `listeners.https.ssl.*` (or the un-prefixed `ssl.*`, which Kafka Connect also reads
//! for its REST server), in PEM only:
//! - the server's key and certificate chain: `ssl.keystore.location`, a PEM file holding
//!   both, or the inline PEM of `ssl.keystore.certificate.chain` and `ssl.keystore.key`;
//! - optional client certificates: `ssl.client.authentication=requested|required`,
//!   checked against the CAs of `ssl.truststore.location` (a PEM file) or the inline
//!   `ssl.truststore.certificates`.
//!
//! The same truststore is what a worker trusts when it calls another worker (a
//! follower forwarding a write to the leader, [`RestTls::client_tls`]), as Kafka Connect
//! does; with client authentication on, the worker presents its own keystore there.
//! JKS and PKCS12 stores are refused with the command that converts them to PEM.

use std::sync::Arc;

use sluice_core::config::{ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The prefix Kafka Connect gives the REST server's TLS keys.
pub const HTTPS_PREFIX: &str = "listeners.https.";

/// Why the REST TLS settings are unusable; names the key, the value and what to do.
#[derive(Debug, thiserror::Error)]
#[error("Invalid value {value} for configuration {key}: {reason}")]
pub struct TlsError {
    /// The worker key at fault.
    pub key: String,
    /// Its value (a path or a setting, never key material).
    pub value: String,
    /// What is wrong, and what to do.
    pub reason: String,
}

/// `ssl.*` keys of the REST server: (name, type, default, doc). Each is accepted both as
/// `listeners.https.<name>` and as `<name>`; the prefixed one wins.
const SSL_KEYS: &[(&str, ConfigType, Option<&str>, &str)] = &[
    ("ssl.keystore.type", ConfigType::String, None, "Format of the REST server's key store: PEM (the only one supported; JKS and PKCS12 stores must be converted to PEM)."),
    ("ssl.keystore.location", ConfigType::String, None, "PEM file with the REST server's private key (unencrypted PKCS#8, PKCS#1 or SEC1) and its certificate chain, server certificate first."),
    ("ssl.keystore.certificate.chain", ConfigType::String, None, "The REST server's certificate chain as PEM text, server certificate first (instead of ssl.keystore.location)."),
    ("ssl.keystore.key", ConfigType::Password, None, "The REST server's private key as unencrypted PEM text (instead of ssl.keystore.location)."),
    ("ssl.keystore.password", ConfigType::Password, None, "Password of a JKS/PKCS12 key store; not used with PEM stores (accepted so existing worker files load)."),
    ("ssl.key.password", ConfigType::Password, None, "Password of an encrypted private key; encrypted keys are not supported: decrypt the key (openssl pkcs8 -topk8 -nocrypt) and leave this unset."),
    ("ssl.truststore.type", ConfigType::String, None, "Format of the trust store: PEM (the only one supported)."),
    ("ssl.truststore.location", ConfigType::String, None, "PEM file of CA certificates: the CAs client certificates must chain to (ssl.client.authentication), and the CAs this worker trusts when it calls other workers over https."),
    ("ssl.truststore.certificates", ConfigType::String, None, "CA certificates as PEM text (instead of ssl.truststore.location)."),
    ("ssl.truststore.password", ConfigType::Password, None, "Password of a JKS/PKCS12 trust store; not used with PEM stores."),
    ("ssl.client.authentication", ConfigType::String, None, "Client certificates on the REST API: none (default), requested (checked when given) or required."),
    ("ssl.enabled.protocols", ConfigType::List, None, "TLS versions to accept: TLSv1.2 and/or TLSv1.3 (default both)."),
    ("ssl.protocol", ConfigType::String, None, "Accepted for compatibility; the versions come from ssl.enabled.protocols."),
    ("ssl.endpoint.identification.algorithm", ConfigType::String, None, "Host name check when this worker calls other workers: https (the default, and the only value supported: a worker's certificate must name the host it is reached by, rest.advertised.host.name)."),
];

/// The worker keys of the REST server's TLS, for the worker's config definition.
pub fn ssl_config_keys() -> Vec<ConfigKey> {
    let mut keys = Vec::new();
    for (name, ty, default, doc) in SSL_KEYS {
        for full in [format!("{HTTPS_PREFIX}{name}"), (*name).to_owned()] {
            let mut k = ConfigKey::new(&full, *ty)
                .importance(Importance::Medium)
                .doc(*doc);
            k = match default {
                Some(d) => k.default(*d),
                None => k.optional(),
            };
            if *name == "ssl.client.authentication" {
                k = k.validator(Validator::OneOf(&["none", "requested", "required"]));
            }
            keys.push(k);
        }
    }
    keys
}

/// The REST server's TLS, read from the worker's keys.
pub struct RestTls {
    /// What the server accepts.
    pub server: Arc<rustls::ServerConfig>,
    chain: Vec<CertificateDer<'static>>,
    client_key: ureq::tls::PrivateKey<'static>,
    trusted: Vec<CertificateDer<'static>>,
    client_auth: bool,
}

impl std::fmt::Debug for RestTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestTls")
            .field("chain", &self.chain.len())
            .field("trusted", &self.trusted.len())
            .field("client_auth", &self.client_auth)
            .finish()
    }
}

fn setting<'a>(props: &'a ConfigMap, name: &str) -> Option<(String, &'a str)> {
    [format!("{HTTPS_PREFIX}{name}"), name.to_owned()]
        .into_iter()
        .find_map(|k| {
            let v = props.get(&k)?.trim();
            (!v.is_empty()).then_some((k, v))
        })
}

const TO_PEM: &str = "convert it to PEM: `keytool -importkeystore -srckeystore <store.jks> -destkeystore store.p12 -deststoretype PKCS12` then `openssl pkcs12 -in store.p12 -nodes -out store.pem`";

fn refuse_binary(key: &str, value: &str, bytes: &[u8]) -> Result<(), TlsError> {
    let kind = match bytes {
        [0xFE, 0xED, 0xFE, 0xED, ..] => "a JKS store",
        [0xCE, 0xCE, 0xCE, 0xCE, ..] => "a JCEKS store",
        [0x30, ..] => "binary DER (a PKCS12 store or a DER certificate)",
        _ => return Ok(()),
    };
    Err(TlsError {
        key: key.into(),
        value: value.into(),
        reason: format!("the file is {kind}; only PEM is supported: {TO_PEM}"),
    })
}

/// PEM text of `name`'s inline key, or the content of `location_name`'s file.
fn pem_source(
    props: &ConfigMap,
    inline: &str,
    location: &str,
) -> Result<Option<(String, String, Vec<u8>)>, TlsError> {
    if let Some((key, text)) = setting(props, inline) {
        return Ok(Some((key, "(inline PEM)".into(), text.as_bytes().to_vec())));
    }
    let Some((key, path)) = setting(props, location) else {
        return Ok(None);
    };
    let bytes = std::fs::read(path).map_err(|e| TlsError {
        key: key.clone(),
        value: path.into(),
        reason: format!("cannot read the file ({e}): give a PEM file readable by the worker"),
    })?;
    refuse_binary(&key, path, &bytes)?;
    Ok(Some((key, path.into(), bytes)))
}

fn certificates(
    key: &str,
    value: &str,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError {
            key: key.into(),
            value: value.into(),
            reason: format!("the PEM certificates cannot be read ({e})"),
        })?;
    if certs.is_empty() {
        return Err(TlsError {
            key: key.into(),
            value: value.into(),
            reason: "no PEM certificate (-----BEGIN CERTIFICATE-----) found".into(),
        });
    }
    Ok(certs)
}

fn store_type(props: &ConfigMap, name: &str) -> Result<(), TlsError> {
    if let Some((key, t)) = setting(props, name) {
        if !t.eq_ignore_ascii_case("PEM") {
            return Err(TlsError {
                key,
                value: t.into(),
                reason: format!("only PEM stores are supported; set PEM and {TO_PEM}"),
            });
        }
    }
    Ok(())
}

impl RestTls {
    /// The REST server's TLS from the worker's `props`; an error names the key at fault.
    pub fn from_worker(props: &ConfigMap) -> Result<RestTls, TlsError> {
        store_type(props, "ssl.keystore.type")?;
        for k in [
            format!("{HTTPS_PREFIX}ssl.endpoint.identification.algorithm"),
            "ssl.endpoint.identification.algorithm".to_owned(),
        ] {
            if let Some(v) = props
                .get(&k)
                .filter(|v| !v.trim().eq_ignore_ascii_case("https"))
            {
                return Err(TlsError {
                    key: k,
                    value: v.clone(),
                    reason: "only https (host name checked) is supported: give each worker a certificate naming the host others reach it by (rest.advertised.host.name), and remove the key or set https".into(),
                });
            }
        }
        store_type(props, "ssl.truststore.type")?;
        if let Some((key, _)) = setting(props, "ssl.key.password") {
            return Err(TlsError {
                key,
                value: "[hidden]".into(),
                reason: "encrypted private keys are not supported: decrypt the key with `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key-plain.pem` and remove this key".into(),
            });
        }
        let (key_name, where_, pem) =
            pem_source(props, "ssl.keystore.certificate.chain", "ssl.keystore.location")?
                .ok_or_else(|| TlsError {
                    key: format!("{HTTPS_PREFIX}ssl.keystore.location"),
                    value: String::new(),
                    reason: "an https listener needs the server's key and certificate: set listeners.https.ssl.keystore.location to a PEM file holding both, or listeners.https.ssl.keystore.certificate.chain and listeners.https.ssl.keystore.key".into(),
                })?;
        let chain = certificates(&key_name, &where_, &pem)?;
        let key_pem = match setting(props, "ssl.keystore.key") {
            Some((_, text)) => text.as_bytes().to_vec(),
            None => pem.clone(),
        };
        let key_key = setting(props, "ssl.keystore.key").map_or(key_name.clone(), |(k, _)| k);
        if String::from_utf8_lossy(&key_pem).contains("ENCRYPTED PRIVATE KEY") {
            return Err(TlsError {
                key: key_key,
                value: where_,
                reason: "the private key is encrypted, which is not supported: decrypt it with `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key-plain.pem`".into(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError {
            key: key_key.clone(),
            value: where_.clone(),
            reason: format!(
                "no usable PEM private key (-----BEGIN PRIVATE KEY-----, RSA or EC) found ({e})"
            ),
        })?;
        let client_key = ureq::tls::PrivateKey::from_pem(&key_pem).map_err(|e| TlsError {
            key: key_key.clone(),
            value: where_.clone(),
            reason: format!("the private key cannot be read ({e})"),
        })?;
        let trusted = match pem_source(
            props,
            "ssl.truststore.certificates",
            "ssl.truststore.location",
        )? {
            Some((k, w, bytes)) => certificates(&k, &w, &bytes)?,
            None => Vec::new(),
        };
        let auth = setting(props, "ssl.client.authentication").map_or("none", |(_, v)| v);
        let client_auth = !auth.eq_ignore_ascii_case("none");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions = protocol_versions(props)?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| TlsError {
                key: "listeners.https.ssl.enabled.protocols".into(),
                value: String::new(),
                reason: e.to_string(),
            })?;
        let builder = if client_auth {
            let (k, _) = setting(props, "ssl.client.authentication").unwrap_or_default();
            if trusted.is_empty() {
                return Err(TlsError {
                    key: k,
                    value: auth.into(),
                    reason: "client authentication needs the CAs client certificates chain to: set listeners.https.ssl.truststore.location to a PEM file of them".into(),
                });
            }
            let mut roots = rustls::RootCertStore::empty();
            for c in &trusted {
                roots.add(c.clone()).map_err(|e| TlsError {
                    key: "listeners.https.ssl.truststore.location".into(),
                    value: String::new(),
                    reason: format!("a certificate is not a usable CA certificate ({e})"),
                })?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            );
            let verifier = if auth.eq_ignore_ascii_case("requested") {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| TlsError {
                key: k,
                value: auth.into(),
                reason: e.to_string(),
            })?)
        } else {
            builder.with_no_client_auth()
        };
        let mut server = builder
            .with_single_cert(chain.clone(), key)
            .map_err(|e| TlsError {
                key: key_key,
                value: where_,
                reason: format!("the private key does not fit the first certificate of the chain, or is unusable ({e})"),
            })?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(RestTls {
            server: Arc::new(server),
            chain,
            client_key,
            trusted,
            client_auth,
        })
    }

    /// What this worker's calls to other workers trust and present: the truststore's
    /// CAs (else the usual public roots), and its own certificate when the cluster
    /// requires client certificates.
    pub fn client_tls(&self) -> ureq::tls::TlsConfig {
        let mut b = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::Rustls);
        if !self.trusted.is_empty() {
            let certs: Vec<ureq::tls::Certificate<'static>> = self
                .trusted
                .iter()
                .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
                .collect();
            b = b.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        if self.client_auth {
            let chain: Vec<ureq::tls::Certificate<'static>> = self
                .chain
                .iter()
                .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
                .collect();
            b = b.client_cert(Some(ureq::tls::ClientCert::new_with_certs(
                &chain,
                self.client_key.to_owned(),
            )));
        }
        b.build()
    }
}

fn protocol_versions(
    props: &ConfigMap,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, TlsError> {
    let Some((key, list)) = setting(props, "ssl.enabled.protocols") else {
        return Ok(rustls::DEFAULT_VERSIONS.to_vec());
    };
    let mut out = Vec::new();
    for p in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match p {
            "TLSv1.3" => out.push(&rustls::version::TLS13),
            "TLSv1.2" => out.push(&rustls::version::TLS12),
            other => {
                return Err(TlsError {
                    key,
                    value: list.into(),
                    reason: format!("{other} is not supported: use TLSv1.2 and/or TLSv1.3"),
                })
            }
        }
    }
    Ok(out)
}
