//! A minimal HTTP/1.1 client for the registry tests: one request per connection, the
//! status, content type and JSON body of the reply.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// A reply: status, `Content-Type`, body text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    /// The body as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("reply body is not JSON ({e}): {}", self.body))
    }
}

/// Sends one request; `body` is sent as Confluent's clients send it.
pub fn request(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect to the registry");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("set timeout");
    let body = body.unwrap_or("");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Accept: application/vnd.schemaregistry.v1+json\r\n\
         Content-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send head");
    stream.write_all(body.as_bytes()).expect("send body");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read reply");
    let (head, body) = text.split_once("\r\n\r\n").expect("reply has a head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let content_type = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_string())
        })
        .unwrap_or_default();
    Reply {
        status,
        content_type,
        body: body.to_string(),
    }
}

pub fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, None)
}

pub fn post(addr: SocketAddr, path: &str, body: &Value) -> Reply {
    request(addr, "POST", path, Some(&body.to_string()))
}

pub fn put(addr: SocketAddr, path: &str, body: &Value) -> Reply {
    request(addr, "PUT", path, Some(&body.to_string()))
}

pub fn delete(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "DELETE", path, None)
}

/// `{"schema": <text>}` for a schema given as JSON.
pub fn avro(schema: &Value) -> Value {
    serde_json::json!({ "schema": schema.to_string() })
}

/// Asserts a Confluent error reply.
#[track_caller]
pub fn assert_error(reply: &Reply, status: u16, error_code: u64) {
    assert_eq!(reply.status, status, "status of {reply:?}");
    let body = reply.json();
    assert_eq!(body["error_code"], error_code, "error_code of {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message of {body}"
    );
}
