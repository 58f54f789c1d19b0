//! The registry client over real HTTP: against the in-memory `TestRegistry`, and against a
//! one-shot stub server where the request itself (its `Authorization` header) is the point.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;

use anyhow::Result;
use sluice_converters::registry::{
    RegistryClient, RegistryError, RegistrySchema, RegistrySettings,
};
use sluice_schema_registry::TestRegistry;

const RECORD: &str =
    r#"{"type":"record","name":"Row","namespace":"test","fields":[{"name":"a","type":"int"}]}"#;

fn client(pairs: &[(&str, &str)]) -> Result<RegistryClient> {
    let config: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Ok(RegistryClient::new(&RegistrySettings::from_config(
        &config,
    )?)?)
}

#[test]
fn registers_once_then_answers_from_the_cache() -> Result<()> {
    let registry = TestRegistry::start();
    let url = registry.url();
    let c = client(&[("schema.registry.url", &url)])?;
    let schema = RegistrySchema::avro(RECORD);

    let id = c.register("t-value", &schema)?;
    assert_eq!(c.http_calls(), 1);
    assert_eq!(c.register("t-value", &schema)?, id, "same schema, same id");
    assert_eq!(c.http_calls(), 1, "the second register made no HTTP call");
    assert_eq!(
        c.schema_by_id(id)?.schema,
        RECORD,
        "registering cached id → schema"
    );
    assert_eq!(c.http_calls(), 1);

    // Another client learns the schema by id once.
    let reader = client(&[("schema.registry.url", &url)])?;
    let fetched = reader.schema_by_id(id)?;
    assert_eq!(*fetched, schema);
    assert_eq!(reader.schema_by_id(id)?, fetched);
    assert_eq!(reader.http_calls(), 1, "schema_by_id is cached");

    let (latest_id, latest) = reader.latest("t-value")?;
    assert_eq!((latest_id, latest.schema.as_str()), (id, RECORD));
    reader.latest("t-value")?;
    assert_eq!(
        reader.http_calls(),
        2,
        "latest is cached (latest.cache.ttl.sec=-1)"
    );
    Ok(())
}

#[test]
fn lookup_only_when_auto_register_is_off() -> Result<()> {
    let registry = TestRegistry::start();
    let url = registry.url();
    let lookup = client(&[
        ("schema.registry.url", &url),
        ("auto.register.schemas", "false"),
    ])?;
    let schema = RegistrySchema::avro(RECORD);
    let err = match lookup.register("t-value", &schema) {
        Ok(id) => anyhow::bail!("lookup of an unregistered schema returned id {id}"),
        Err(e) => e,
    };
    assert_eq!(err.status(), Some(404), "{err}");
    let text = err.to_string();
    assert!(text.contains("auto.register.schemas=false"), "{text}");
    assert!(text.contains("t-value"), "{text}");

    let id = client(&[("schema.registry.url", &url)])?.register("t-value", &schema)?;
    assert_eq!(lookup.register("t-value", &schema)?, id, "found by lookup");
    let calls = lookup.http_calls();
    assert_eq!(lookup.register("t-value", &schema)?, id);
    assert_eq!(lookup.http_calls(), calls, "lookups are cached too");
    Ok(())
}

#[test]
fn unknown_id_is_a_clear_error() -> Result<()> {
    let registry = TestRegistry::start();
    let c = client(&[("schema.registry.url", &registry.url())])?;
    let err = match c.schema_by_id(4242) {
        Ok(s) => anyhow::bail!("id 4242 answered {s:?}"),
        Err(e) => e,
    };
    assert_eq!(err.error_code(), Some(40403), "{err}");
    let text = err.to_string();
    assert!(text.contains("/schemas/ids/4242"), "{text}");
    assert!(
        text.contains("schema id 4242 is not in this registry"),
        "{text}"
    );
    Ok(())
}

/// A port nothing listens on.
fn dead_url() -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    drop(listener);
    Ok(format!("http://{addr}"))
}

#[test]
fn fails_over_to_the_next_url_and_names_them_all_when_none_answers() -> Result<()> {
    let registry = TestRegistry::start();
    let dead = dead_url()?;
    let c = client(&[("schema.registry.url", &format!("{dead},{}", registry.url()))])?;
    c.register("t-value", &RegistrySchema::avro(RECORD))?;
    assert_eq!(c.http_calls(), 2, "one refused attempt, one answered");

    let c = client(&[("schema.registry.url", &dead)])?;
    let err = match c.schema_by_id(1) {
        Ok(s) => anyhow::bail!("a dead registry answered {s:?}"),
        Err(e) => e,
    };
    assert!(matches!(err, RegistryError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&dead), "{err}");
    Ok(())
}

/// Serves one request with `{"id":7}` and hands back the request head.
fn stub_server() -> Result<(String, mpsc::Receiver<Vec<String>>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || -> std::io::Result<()> {
        let (stream, _) = listener.accept()?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut head = Vec::new();
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end().to_owned();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                content_length = v.trim().parse().unwrap_or(0);
            }
            head.push(line);
        }
        let mut body = vec![0; content_length];
        std::io::Read::read_exact(&mut reader, &mut body)?;
        let reply = "{\"id\":7}";
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
            reply.len()
        )?;
        let _ = tx.send(head);
        Ok(())
    });
    Ok((url, rx))
}

fn authorization(head: &[String]) -> Option<String> {
    head.iter()
        .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
        .map(|l| l["authorization:".len()..].trim().to_owned())
}

#[test]
fn basic_auth_from_user_info() -> Result<()> {
    let (url, rx) = stub_server()?;
    let c = client(&[
        ("schema.registry.url", &url),
        ("basic.auth.credentials.source", "USER_INFO"),
        ("basic.auth.user.info", "fred:letmein"),
    ])?;
    assert_eq!(c.register("t-value", &RegistrySchema::avro(RECORD))?, 7);
    let head = rx.recv()?;
    assert!(
        head[0].starts_with("POST /subjects/t-value/versions "),
        "{head:?}"
    );
    // base64("fred:letmein")
    assert_eq!(
        authorization(&head).as_deref(),
        Some("Basic ZnJlZDpsZXRtZWlu")
    );
    Ok(())
}

#[test]
fn basic_auth_from_the_url() -> Result<()> {
    let (url, rx) = stub_server()?;
    let with_user = url.replacen("http://", "http://fred:p%40ss@", 1);
    let c = client(&[("schema.registry.url", &with_user)])?;
    assert_eq!(c.register("a/b", &RegistrySchema::avro(RECORD))?, 7);
    let head = rx.recv()?;
    assert!(
        head[0].starts_with("POST /subjects/a%2Fb/versions "),
        "{head:?}"
    );
    // base64("fred:p@ss")
    assert_eq!(authorization(&head).as_deref(), Some("Basic ZnJlZDpwQHNz"));
    Ok(())
}

#[test]
fn no_authorization_header_without_credentials() -> Result<()> {
    let (url, rx) = stub_server()?;
    let c = client(&[("schema.registry.url", &url)])?;
    c.register("t-value", &RegistrySchema::avro(RECORD))?;
    assert_eq!(authorization(&rx.recv()?), None);
    Ok(())
}
