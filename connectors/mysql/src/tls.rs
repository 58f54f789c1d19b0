//! TLS to the server, with Debezium's keys, in PEM:
//! - `database.ssl.mode`: `disabled`; `preferred` (the default: TLS when the server
//!   offers it, certificate not checked, else a plain connection); `required` (TLS or
//!   fail, certificate not checked); `verify_ca` (the certificate must chain to a
//!   trusted CA); `verify_identity` (and name the host connected to);
//! - `database.ssl.truststore`: a PEM file of the CA certificates to trust (Debezium
//!   takes a JKS file here; JKS is refused with the command that converts it). Without
//!   it, `verify_ca` / `verify_identity` trust the usual public CAs;
//! - `database.ssl.keystore`: a PEM file with the client's private key and certificate
//!   chain, for servers that require client certificates (`REQUIRE X509`).
//!
//! Used by the source ([`crate::checks::connect`]) and the sink alike.

use mysql_async::{ClientIdentity, Conn, OptsBuilder, SslOpts};
use sluice_core::config::{ConfigKey, ConfigType, Importance, ParsedConfig, Validator};

/// `database.ssl.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain connections only.
    Disabled,
    /// TLS when the server offers it, without checking its certificate.
    Preferred,
    /// TLS, without checking the certificate.
    Required,
    /// TLS with a certificate signed by a trusted CA.
    VerifyCa,
    /// TLS with a trusted certificate naming the host.
    VerifyIdentity,
}

/// The TLS settings of a connection.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// `database.ssl.mode`.
    pub mode: SslMode,
    /// `database.ssl.truststore`: PEM CA certificates.
    pub truststore: Option<String>,
    /// `database.ssl.keystore`: PEM key and certificate chain.
    pub keystore: Option<String>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            mode: SslMode::Preferred,
            truststore: None,
            keystore: None,
        }
    }
}

/// Why a connection could not be opened as `database.ssl.mode` asks.
#[derive(Debug, thiserror::Error)]
pub enum TlsConnectError {
    /// The server offers no TLS but the mode needs it: a config error, not worth retrying.
    #[error("the server does not offer TLS, but database.ssl.mode={0} requires it: enable TLS on the server (ssl_cert, ssl_key, and ssl_ca for client certificates) or set database.ssl.mode=preferred or disabled")]
    NoTlsOnServer(&'static str),
    /// The driver failed (network, credentials, certificate).
    #[error(transparent)]
    Driver(#[from] mysql_async::Error),
}

const MODES: &[&str] = &[
    "disabled",
    "preferred",
    "required",
    "verify_ca",
    "verify_identity",
];

/// The `database.ssl.*` keys, for the source's and the sink's config definitions.
pub fn config_keys(group: &str) -> Vec<ConfigKey> {
    vec![
        ConfigKey::new("database.ssl.mode", ConfigType::String)
            .default("preferred")
            .importance(Importance::Medium)
            .group(group, -1)
            .validator(Validator::OneOf(MODES))
            .doc("TLS to the server: disabled; preferred (TLS when the server offers it, certificate not checked, else plain); required (TLS, certificate not checked); verify_ca (certificate signed by a CA of database.ssl.truststore); verify_identity (and naming database.hostname)."),
        ConfigKey::new("database.ssl.truststore", ConfigType::String)
            .optional()
            .importance(Importance::Medium)
            .group(group, -1)
            .validator(Validator::Custom(pem_file))
            .doc("PEM file of the CA certificates that sign the server's certificate (for verify_ca / verify_identity). JKS trust stores must be converted: keytool -list -rfc -keystore <truststore.jks> > ca.pem. Unset: the usual public CAs."),
        ConfigKey::new("database.ssl.truststore.password", ConfigType::Password)
            .optional()
            .importance(Importance::Low)
            .group(group, -1)
            .doc("Password of a JKS trust store; PEM files have none (accepted so Debezium configs load)."),
        ConfigKey::new("database.ssl.keystore", ConfigType::String)
            .optional()
            .importance(Importance::Medium)
            .group(group, -1)
            .validator(Validator::Custom(pem_file))
            .doc("PEM file with the client's unencrypted private key and certificate chain, for users that must present a certificate (REQUIRE X509). JKS / PKCS12 key stores must be converted: openssl pkcs12 -in client.p12 -nodes -out client.pem."),
        ConfigKey::new("database.ssl.keystore.password", ConfigType::Password)
            .optional()
            .importance(Importance::Low)
            .group(group, -1)
            .doc("Password of a JKS / PKCS12 key store; PEM files with an unencrypted key have none (accepted so Debezium configs load)."),
    ]
}

/// A readable PEM file, not a Java key store.
fn pem_file(path: &str) -> Result<(), String> {
    if path.trim().is_empty() {
        return Ok(());
    }
    let bytes = std::fs::read(path.trim()).map_err(|e| {
        format!("cannot read the file ({e}): give a PEM file readable by the worker")
    })?;
    match bytes.as_slice() {
        [0xFE, 0xED, 0xFE, 0xED, ..] => Err("the file is a JKS store; only PEM is supported: convert it (keytool -list -rfc -keystore <store.jks> > ca.pem for a trust store; keytool -importkeystore to PKCS12, then openssl pkcs12 -nodes, for a key store)".into()),
        [0x30, ..] => Err("the file is binary DER (PKCS12 or a DER certificate); only PEM is supported: convert it with openssl pkcs12 -in <store.p12> -nodes -out store.pem".into()),
        _ if !String::from_utf8_lossy(&bytes).contains("-----BEGIN ") => {
            Err("the file holds no PEM block (-----BEGIN …-----)".into())
        }
        _ => Ok(()),
    }
}

impl TlsSettings {
    /// Reads the `database.ssl.*` keys of a parsed config.
    pub fn from_config(p: &ParsedConfig) -> TlsSettings {
        let mode = match p.string_or_default("database.ssl.mode") {
            "disabled" => SslMode::Disabled,
            "required" => SslMode::Required,
            "verify_ca" => SslMode::VerifyCa,
            "verify_identity" => SslMode::VerifyIdentity,
            _ => SslMode::Preferred,
        };
        let path = |k: &str| {
            p.string(k)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        TlsSettings {
            mode,
            truststore: path("database.ssl.truststore"),
            keystore: path("database.ssl.keystore"),
        }
    }

    fn mode_name(&self) -> &'static str {
        match self.mode {
            SslMode::Disabled => "disabled",
            SslMode::Preferred => "preferred",
            SslMode::Required => "required",
            SslMode::VerifyCa => "verify_ca",
            SslMode::VerifyIdentity => "verify_identity",
        }
    }

    /// The driver's TLS options for the mode; `None` for plain connections.
    fn ssl_opts(&self) -> Option<SslOpts> {
        let mut opts = SslOpts::default();
        match self.mode {
            SslMode::Disabled => return None,
            SslMode::Preferred | SslMode::Required => {
                opts = opts
                    .with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true);
            }
            SslMode::VerifyCa => opts = opts.with_danger_skip_domain_validation(true),
            SslMode::VerifyIdentity => {}
        }
        if let Some(ca) = &self.truststore {
            opts = opts
                .with_root_certs(vec![std::path::PathBuf::from(ca).into()])
                .with_disable_built_in_roots(true);
        }
        if let Some(ks) = &self.keystore {
            let path = std::path::PathBuf::from(ks);
            opts = opts
                .with_client_identity(Some(ClientIdentity::new(path.clone().into(), path.into())));
        }
        Some(opts)
    }

    /// Opens a connection with `opts` and the TLS the mode asks for. `preferred` falls
    /// back to a plain connection when the server offers no TLS.
    pub async fn connect(&self, opts: OptsBuilder) -> Result<Conn, TlsConnectError> {
        let Some(ssl) = self.ssl_opts() else {
            return Ok(Conn::new(opts).await?);
        };
        match Conn::new(opts.clone().ssl_opts(ssl)).await {
            Ok(c) => Ok(c),
            Err(mysql_async::Error::Driver(
                mysql_async::DriverError::NoClientSslFlagFromServer,
            )) => {
                if self.mode == SslMode::Preferred {
                    tracing::debug!("the server offers no TLS: connecting without (database.ssl.mode=preferred)");
                    Ok(Conn::new(opts).await?)
                } else {
                    Err(TlsConnectError::NoTlsOnServer(self.mode_name()))
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_key_stores_are_refused_with_the_conversion() {
        let dir = std::env::temp_dir().join(format!("sluice-mysql-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let jks = dir.join("t.jks");
        std::fs::write(&jks, [0xFE, 0xED, 0xFE, 0xED, 0, 0]).expect("write");
        let e = pem_file(&jks.display().to_string()).expect_err("JKS");
        assert!(e.contains("JKS") && e.contains("keytool"), "{e}");
        let pem = dir.join("ca.pem");
        std::fs::write(
            &pem,
            "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        assert_eq!(pem_file(&pem.display().to_string()), Ok(()));
        assert!(pem_file("/nonexistent/ca.pem").is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
