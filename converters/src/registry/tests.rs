//! Unit tests of the registry client's pure parts: subject names, settings, messages.

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_core::config::{ConfigDef, ConfigMap};
use sluice_core::ConnectError;

use super::client::encode_path_segment;
use super::*;

fn config(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect::<BTreeMap<_, _>>()
}

fn err_text(pairs: &[(&str, &str)]) -> String {
    match RegistrySettings::from_config(&config(pairs)) {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn subject_names_follow_confluent_strategies() {
    let topic = "dbserver1.inventory.customers";
    let record = "dbserver1.inventory.customers.Envelope";
    assert_eq!(
        SubjectNameStrategy::TopicName.subject(topic, false, record),
        "dbserver1.inventory.customers-value"
    );
    assert_eq!(
        SubjectNameStrategy::TopicName.subject(topic, true, record),
        "dbserver1.inventory.customers-key"
    );
    assert_eq!(
        SubjectNameStrategy::RecordName.subject(topic, false, record),
        record
    );
    assert_eq!(
        SubjectNameStrategy::TopicRecordName.subject(topic, true, record),
        "dbserver1.inventory.customers-dbserver1.inventory.customers.Envelope"
    );
}

#[test]
fn strategy_class_names_are_confluents() {
    for (name, expected) in [
        (
            "io.confluent.kafka.serializers.subject.TopicNameStrategy",
            SubjectNameStrategy::TopicName,
        ),
        (
            "io.confluent.kafka.serializers.subject.RecordNameStrategy",
            SubjectNameStrategy::RecordName,
        ),
        (
            "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy",
            SubjectNameStrategy::TopicRecordName,
        ),
        (
            "TopicRecordNameStrategy",
            SubjectNameStrategy::TopicRecordName,
        ),
    ] {
        assert_eq!(SubjectNameStrategy::from_class_name(name), Some(expected));
    }
    assert_eq!(
        SubjectNameStrategy::from_class_name("com.example.TopicNameStrategy"),
        None
    );
    assert_eq!(SubjectNameStrategy::from_class_name("Nope"), None);
}

#[test]
fn defaults_match_confluent() -> anyhow::Result<()> {
    let s = RegistrySettings::from_config(&config(&[(
        "schema.registry.url",
        "http://localhost:8081/",
    )]))?;
    assert_eq!(s.endpoints.len(), 1);
    assert_eq!(s.endpoints[0].base, "http://localhost:8081");
    assert_eq!(s.endpoints[0].user_info, None);
    assert!(s.auto_register);
    assert!(!s.use_latest_version);
    assert_eq!(s.latest_cache_ttl, None);
    assert_eq!(s.subject_strategy(), SubjectNameStrategy::TopicName);
    assert!(!s.is_key);
    assert_eq!(s.subject("t", "r"), "t-value");
    Ok(())
}

#[test]
fn settings_parse_every_key() -> anyhow::Result<()> {
    let s = RegistrySettings::from_config(&config(&[
        ("schema.registry.url", "http://a:1, http://b:2/prefix"),
        ("basic.auth.credentials.source", "USER_INFO"),
        ("basic.auth.user.info", "fred:letmein"),
        ("auto.register.schemas", "false"),
        ("use.latest.version", "true"),
        ("latest.cache.ttl.sec", "30"),
        (
            "key.subject.name.strategy",
            "io.confluent.kafka.serializers.subject.RecordNameStrategy",
        ),
        ("converter.type", "key"),
        // A key of the converter, not of the registry: left alone.
        ("enhanced.avro.schema.support", "true"),
    ]))?;
    let bases: Vec<&str> = s.endpoints.iter().map(|e| e.base.as_str()).collect();
    assert_eq!(bases, ["http://a:1", "http://b:2/prefix"]);
    for e in &s.endpoints {
        assert_eq!(e.user_info.as_deref(), Some("fred:letmein"));
    }
    assert!(!s.auto_register);
    assert!(s.use_latest_version);
    assert_eq!(s.latest_cache_ttl, Some(Duration::from_secs(30)));
    assert!(s.is_key);
    assert_eq!(s.subject_strategy(), SubjectNameStrategy::RecordName);
    assert_eq!(s.subject("t", "a.b.C"), "a.b.C");
    Ok(())
}

#[test]
fn registry_prefixed_user_info_is_an_alias() -> anyhow::Result<()> {
    let s = RegistrySettings::from_config(&config(&[
        ("schema.registry.url", "http://a:1"),
        ("basic.auth.credentials.source", "USER_INFO"),
        ("schema.registry.basic.auth.user.info", "u:p"),
    ]))?;
    assert_eq!(s.endpoints[0].user_info.as_deref(), Some("u:p"));
    Ok(())
}

#[test]
fn url_source_takes_user_info_from_each_url() -> anyhow::Result<()> {
    let s = RegistrySettings::from_config(&config(&[
        ("schema.registry.url", "http://fred:p%40ss@a:1,http://b:2"),
        // Ignored with the URL source, as in Confluent's UrlBasicAuthCredentialProvider.
        ("basic.auth.user.info", "other:x"),
    ]))?;
    assert_eq!(s.endpoints[0].base, "http://a:1");
    assert_eq!(s.endpoints[0].user_info.as_deref(), Some("fred:p@ss"));
    assert_eq!(s.endpoints[1].user_info, None);
    assert!(!format!("{s:?}").contains("p@ss"), "Debug hides passwords");
    Ok(())
}

#[test]
fn https_urls_are_accepted_with_mozillas_roots_by_default() -> anyhow::Result<()> {
    let s = RegistrySettings::from_config(&config(&[(
        "schema.registry.url",
        "https://user:secret@reg.example:8081/",
    )]))?;
    assert_eq!(s.endpoints[0].base, "https://reg.example:8081");
    assert_eq!(s.endpoints[0].user_info.as_deref(), Some("user:secret"));
    assert_eq!(s.truststore, None);
    Ok(())
}

/// A file under a fresh temporary directory holding `bytes`.
fn file_with(bytes: &[u8]) -> anyhow::Result<(tempfile::TempDir, String)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("truststore");
    std::fs::write(&path, bytes)?;
    let path = path
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("non-UTF-8 temp path"))?
        .to_owned();
    Ok((dir, path))
}

fn truststore_error(bytes: &[u8]) -> anyhow::Result<String> {
    let (_dir, path) = file_with(bytes)?;
    let msg = err_text(&[
        ("schema.registry.url", "https://reg:8081"),
        ("schema.registry.ssl.truststore.location", &path),
    ]);
    assert!(
        msg.contains("schema.registry.ssl.truststore.location"),
        "{msg}"
    );
    assert!(msg.contains(&path), "names the file: {msg}");
    Ok(msg)
}

#[test]
fn a_pem_truststore_is_read_when_parsed() -> anyhow::Result<()> {
    let first = rcgen::generate_simple_self_signed(vec!["ca-one".to_owned()])?;
    let second = rcgen::generate_simple_self_signed(vec!["ca-two".to_owned()])?;
    let pem = format!("# two CAs\n{}{}", first.cert.pem(), second.cert.pem());
    let (_dir, path) = file_with(pem.as_bytes())?;
    let s = RegistrySettings::from_config(&config(&[
        ("schema.registry.url", "https://reg:8081"),
        ("schema.registry.ssl.truststore.location", &path),
        ("schema.registry.ssl.truststore.type", "PEM"),
    ]))?;
    let store = s
        .truststore
        .ok_or_else(|| anyhow::anyhow!("no truststore"))?;
    assert_eq!(store.location, path);
    assert_eq!(
        store.certificates,
        [first.cert.der().to_vec(), second.cert.der().to_vec()]
    );
    Ok(())
}

#[test]
fn java_truststores_are_refused_with_how_to_convert_them() -> anyhow::Result<()> {
    let msg = truststore_error(&[0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2])?;
    assert!(
        msg.contains("JKS trust store; only PEM is supported"),
        "{msg}"
    );
    assert!(msg.contains("keytool -list -rfc"), "{msg}");
    let msg = truststore_error(&[0x30, 0x82, 0x0A, 0x1B, 0x02, 0x01, 0x03])?;
    assert!(msg.contains("PKCS12"), "{msg}");
    assert!(msg.contains("openssl pkcs12"), "{msg}");

    let msg = err_text(&[
        ("schema.registry.url", "https://reg:8081"),
        ("schema.registry.ssl.truststore.type", "JKS"),
    ]);
    assert!(msg.contains("schema.registry.ssl.truststore.type"), "{msg}");
    assert!(msg.contains("only PEM truststores are supported"), "{msg}");
    Ok(())
}

#[test]
fn unusable_truststore_files_are_config_errors() -> anyhow::Result<()> {
    let msg = truststore_error(b"just some text\n")?;
    assert!(msg.contains("holds no PEM certificate"), "{msg}");
    let msg = truststore_error(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")?;
    assert!(msg.contains("certificate #1"), "{msg}");
    assert!(msg.contains("not a usable X.509 CA certificate"), "{msg}");

    let msg = err_text(&[
        ("schema.registry.url", "https://reg:8081"),
        (
            "schema.registry.ssl.truststore.location",
            "/nonexistent/ca.pem",
        ),
    ]);
    assert!(
        msg.contains("schema.registry.ssl.truststore.location"),
        "{msg}"
    );
    assert!(msg.contains("/nonexistent/ca.pem"), "{msg}");
    assert!(msg.contains("cannot read the trust store file"), "{msg}");
    Ok(())
}

#[test]
fn host_name_checking_cannot_be_turned_off() -> anyhow::Result<()> {
    let msg = err_text(&[
        ("schema.registry.url", "https://reg:8081"),
        ("schema.registry.ssl.endpoint.identification.algorithm", ""),
    ]);
    assert!(
        msg.contains("schema.registry.ssl.endpoint.identification.algorithm"),
        "{msg}"
    );
    assert!(
        msg.contains("turning off only the host name check is not supported"),
        "{msg}"
    );
    assert!(msg.contains("subjectAltName"), "{msg}");
    let s = RegistrySettings::from_config(&config(&[
        ("schema.registry.url", "https://reg:8081"),
        (
            "schema.registry.ssl.endpoint.identification.algorithm",
            "HTTPS",
        ),
    ]))?;
    assert_eq!(s.endpoints[0].base, "https://reg:8081");
    Ok(())
}

#[test]
fn bad_settings_say_what_to_do() {
    let msg = err_text(&[]);
    assert!(msg.contains("schema.registry.url"), "{msg}");
    let msg = err_text(&[("schema.registry.url", "localhost:8081")]);
    assert!(msg.contains("must start with http:// or https://"), "{msg}");
    let msg = err_text(&[
        ("schema.registry.url", "http://a:1"),
        ("basic.auth.credentials.source", "USER_INFO"),
    ]);
    assert!(msg.contains("basic.auth.user.info"), "{msg}");
    let msg = err_text(&[
        ("schema.registry.url", "http://a:1"),
        ("value.subject.name.strategy", "com.example.Mine"),
    ]);
    assert!(msg.contains("value.subject.name.strategy"), "{msg}");
    assert!(msg.contains("TopicRecordNameStrategy"), "{msg}");
    let msg = err_text(&[
        ("schema.registry.url", "http://a:1"),
        ("basic.auth.credentials.source", "SASL_INHERIT"),
    ]);
    assert!(msg.contains("basic.auth.credentials.source"), "{msg}");
    assert!(msg.contains("USER_INFO"), "{msg}");
}

#[test]
fn config_keys_declare_every_key_with_a_doc() {
    let def = config_keys(ConfigDef::new());
    for key in [
        "schema.registry.url",
        "basic.auth.credentials.source",
        "basic.auth.user.info",
        "schema.registry.basic.auth.user.info",
        "auto.register.schemas",
        "use.latest.version",
        "latest.cache.ttl.sec",
        "max.schemas.per.subject",
        "key.subject.name.strategy",
        "value.subject.name.strategy",
        "schema.registry.ssl.truststore.location",
        "schema.registry.ssl.truststore.type",
        "schema.registry.ssl.endpoint.identification.algorithm",
    ] {
        let k = def.key(key).unwrap_or_else(|| panic!("{key} declared"));
        assert!(!k.doc.is_empty(), "{key} has a doc");
    }
}

#[test]
fn subjects_are_percent_encoded_in_paths() {
    assert_eq!(encode_path_segment("a.b-value"), "a.b-value");
    assert_eq!(encode_path_segment("a/b c:d"), "a%2Fb%20c%3Ad");
}

#[test]
fn errors_map_to_how_the_runtime_reacts() {
    let rejected = |status: u16| RegistryError::Rejected {
        url: "http://r".into(),
        method: "GET",
        path: "/schemas/ids/7".into(),
        status,
        error_code: 40403,
        message: "Schema 7 not found".into(),
        hint: String::new(),
    };
    let e = rejected(404);
    assert_eq!(e.error_code(), Some(40403));
    assert_eq!(
        e.to_string(),
        "schema registry http://r refused GET /schemas/ids/7: HTTP 404, error code 40403: Schema 7 not found"
    );
    assert!(matches!(ConnectError::from(e), ConnectError::Data(_)));
    assert!(matches!(
        ConnectError::from(rejected(503)),
        ConnectError::Retriable(_)
    ));
    assert!(matches!(
        ConnectError::from(rejected(401)),
        ConnectError::Fatal(_)
    ));
    let unreachable = RegistryError::Unreachable {
        method: "POST",
        path: "/subjects/t-value/versions".into(),
        urls: "http://a:1, http://b:2".into(),
        last_error: "connection refused".into(),
    };
    let text = unreachable.to_string();
    assert!(text.contains("http://a:1, http://b:2"), "{text}");
    assert!(text.contains("schema.registry.url"), "{text}");
    assert!(matches!(
        ConnectError::from(unreachable),
        ConnectError::Retriable(_)
    ));
}

#[test]
fn schema_types_on_the_wire() {
    assert_eq!(SchemaType::from_wire_name(None), Some(SchemaType::Avro));
    assert_eq!(
        SchemaType::from_wire_name(Some("PROTOBUF")),
        Some(SchemaType::Protobuf)
    );
    assert_eq!(
        SchemaType::from_wire_name(Some("JSON")),
        Some(SchemaType::Json)
    );
    assert_eq!(SchemaType::from_wire_name(Some("XML")), None);
    assert_eq!(SchemaType::Protobuf.wire_name(), "PROTOBUF");
}
