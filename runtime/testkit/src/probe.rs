//! Tiny hand-encoded protocol probes used as readiness checks: a Kafka `ApiVersions`
//! request and a MongoDB `hello` command. No client library is needed.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Largest response a probe accepts, to fail fast on a peer speaking another protocol.
const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// One entry of a Kafka `ApiVersions` response: the versions a broker supports for an API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiVersionRange {
    /// The API key (0 Produce, 1 Fetch, 3 Metadata, 18 ApiVersions, ...).
    pub api_key: i16,
    /// The lowest supported version.
    pub min_version: i16,
    /// The highest supported version.
    pub max_version: i16,
}

/// The fields of a MongoDB `hello` reply the kit looks at.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HelloReply {
    /// `ok: 1`.
    pub ok: bool,
    /// `isWritablePrimary` (or the legacy `ismaster`).
    pub is_writable_primary: bool,
    /// `setName`: the replica set's name, absent on a standalone server.
    pub set_name: Option<String>,
    /// `hosts`: the replica set members' addresses.
    pub hosts: Vec<String>,
    /// `maxWireVersion`.
    pub max_wire_version: Option<i32>,
}

/// Connects to the first address of `addr` (`host:port`; for a comma-separated
/// bootstrap list, the first entry) with `timeout` for connecting, reading and writing.
fn connect(addr: &str, timeout: Duration) -> io::Result<TcpStream> {
    let first = addr.split(',').next().unwrap_or(addr).trim();
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, format!("no address for {first}"));
    for socket_addr in first.to_socket_addrs()? {
        match TcpStream::connect_timeout(&socket_addr, timeout) {
            Ok(stream) => {
                stream.set_read_timeout(Some(timeout))?;
                stream.set_write_timeout(Some(timeout))?;
                return Ok(stream);
            }
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Converts a length field, rejecting negative values.
fn length(value: i32) -> io::Result<usize> {
    usize::try_from(value).map_err(|_| invalid(format!("negative length {value}")))
}

/// Reads exactly `len` bytes after checking `len` against [`MAX_RESPONSE`].
fn read_body(stream: &mut TcpStream, len: usize) -> io::Result<Vec<u8>> {
    if len > MAX_RESPONSE {
        return Err(invalid(format!(
            "response of {len} bytes is implausibly large"
        )));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    Ok(body)
}

/// A cursor over big- or little-endian fields of a byte slice.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(invalid("response ends early"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut bytes = [0u8; N];
        bytes.copy_from_slice(self.take(N)?);
        Ok(bytes)
    }

    fn i16_be(&mut self) -> io::Result<i16> {
        self.array().map(i16::from_be_bytes)
    }

    fn i32_be(&mut self) -> io::Result<i32> {
        self.array().map(i32::from_be_bytes)
    }

    fn i32_le(&mut self) -> io::Result<i32> {
        self.array().map(i32::from_le_bytes)
    }

    fn cstring(&mut self) -> io::Result<&'a str> {
        let end = self
            .0
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| invalid("unterminated BSON name"))?;
        let text = std::str::from_utf8(&self.0[..end]).map_err(|e| invalid(e.to_string()))?;
        self.0 = &self.0[end + 1..];
        Ok(text)
    }
}

/// Sends a Kafka `ApiVersions` v0 request to `addr` and returns the supported API ranges.
/// Fails if the broker cannot be reached, does not answer within `timeout`, or answers
/// with an error code.
pub fn kafka_api_versions(addr: &str, timeout: Duration) -> io::Result<Vec<ApiVersionRange>> {
    const API_VERSIONS: i16 = 18;
    const CORRELATION_ID: i32 = 0x51ce;
    const CLIENT_ID: &[u8] = b"sluice-testkit";
    let mut request = Vec::with_capacity(32);
    request.extend_from_slice(&API_VERSIONS.to_be_bytes());
    request.extend_from_slice(&0i16.to_be_bytes()); // request version
    request.extend_from_slice(&CORRELATION_ID.to_be_bytes());
    request.extend_from_slice(&(CLIENT_ID.len() as i16).to_be_bytes());
    request.extend_from_slice(CLIENT_ID);
    let mut frame = (request.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&request);

    let mut stream = connect(addr, timeout)?;
    stream.write_all(&frame)?;
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = length(i32::from_be_bytes(len))?;
    let body = read_body(&mut stream, len)?;

    let mut cursor = Cursor(&body);
    if cursor.i32_be()? != CORRELATION_ID {
        return Err(invalid("ApiVersions response has another correlation id"));
    }
    let error_code = cursor.i16_be()?;
    if error_code != 0 {
        return Err(invalid(format!(
            "ApiVersions answered error code {error_code}"
        )));
    }
    let count = cursor.i32_be()?;
    (0..count)
        .map(|_| {
            Ok(ApiVersionRange {
                api_key: cursor.i16_be()?,
                min_version: cursor.i16_be()?,
                max_version: cursor.i16_be()?,
            })
        })
        .collect()
}

/// Sends `{hello: 1, $db: "admin"}` to the MongoDB-protocol server at `addr` in an
/// `OP_MSG` and returns the interesting fields of its reply.
pub fn mongo_hello(addr: &str, timeout: Duration) -> io::Result<HelloReply> {
    const OP_MSG: i32 = 2013;
    const REQUEST_ID: i32 = 0x51ce;
    let mut document = Vec::with_capacity(32);
    document.push(0x10); // int32
    document.extend_from_slice(b"hello\0");
    document.extend_from_slice(&1i32.to_le_bytes());
    document.push(0x02); // string
    document.extend_from_slice(b"$db\0");
    document.extend_from_slice(&6i32.to_le_bytes());
    document.extend_from_slice(b"admin\0");
    document.push(0x00);
    let document_len = (document.len() + 4) as i32;
    let message_len = (16 + 4 + 1 + document.len() + 4) as i32;

    let mut message = Vec::with_capacity(message_len as usize);
    for field in [message_len, REQUEST_ID, 0, OP_MSG] {
        message.extend_from_slice(&field.to_le_bytes());
    }
    message.extend_from_slice(&0u32.to_le_bytes()); // flag bits
    message.push(0); // section kind 0: one body document
    message.extend_from_slice(&document_len.to_le_bytes());
    message.extend_from_slice(&document);

    let mut stream = connect(addr, timeout)?;
    stream.write_all(&message)?;
    let mut header = [0u8; 16];
    stream.read_exact(&mut header)?;
    let mut cursor = Cursor(&header);
    let len = length(cursor.i32_le()?)?;
    let _request_id = cursor.i32_le()?;
    if cursor.i32_le()? != REQUEST_ID {
        return Err(invalid("hello reply answers another request"));
    }
    if cursor.i32_le()? != OP_MSG {
        return Err(invalid("hello reply is not an OP_MSG"));
    }
    let body = read_body(
        &mut stream,
        len.checked_sub(16).ok_or_else(|| invalid("short"))?,
    )?;
    let mut cursor = Cursor(&body);
    let _flags = cursor.array::<4>()?;
    if cursor.array::<1>()? != [0] {
        return Err(invalid("hello reply does not start with a body section"));
    }
    parse_hello(cursor.0)
}

/// A BSON value, as far as `hello` replies need one.
enum Bson<'a> {
    Double(f64),
    String(&'a str),
    Array(&'a [u8]),
    Bool(bool),
    Int32(i32),
    Int64(i64),
    Other,
}

impl Bson<'_> {
    fn truthy(&self) -> bool {
        match self {
            Bson::Double(v) => *v != 0.0,
            Bson::Bool(v) => *v,
            Bson::Int32(v) => *v != 0,
            Bson::Int64(v) => *v != 0,
            _ => false,
        }
    }
}

/// Splits a BSON document into its top-level `(name, value)` elements.
fn elements(document: &[u8]) -> io::Result<Vec<(&str, Bson<'_>)>> {
    let mut cursor = Cursor(document);
    let len = length(cursor.i32_le()?)?;
    let mut cursor = Cursor(
        document
            .get(4..len.saturating_sub(1))
            .ok_or_else(|| invalid("BSON document ends early"))?,
    );
    let mut out = Vec::new();
    while !cursor.0.is_empty() {
        let kind = cursor.array::<1>()?[0];
        let name = cursor.cstring()?;
        let value = match kind {
            0x01 => Bson::Double(f64::from_le_bytes(cursor.array()?)),
            0x02 | 0x0D | 0x0E => {
                let n = length(cursor.i32_le()?)?;
                let bytes = cursor.take(n)?;
                let text = bytes.strip_suffix(b"\0").unwrap_or(bytes);
                Bson::String(std::str::from_utf8(text).map_err(|e| invalid(e.to_string()))?)
            }
            0x03 | 0x04 | 0x0F => {
                // The length of an embedded document counts its own four bytes.
                let n = length(Cursor(cursor.0).i32_le()?)?;
                let bytes = cursor.take(n)?;
                if kind == 0x04 {
                    Bson::Array(bytes)
                } else {
                    Bson::Other
                }
            }
            0x05 => {
                let n = length(cursor.i32_le()?)?;
                cursor.take(n + 1)?; // the subtype byte, then the data
                Bson::Other
            }
            0x06 | 0x0A | 0x7F | 0xFF => Bson::Other,
            0x07 => {
                cursor.take(12)?;
                Bson::Other
            }
            0x08 => Bson::Bool(cursor.array::<1>()?[0] != 0),
            0x09 | 0x11 => {
                cursor.take(8)?;
                Bson::Other
            }
            0x0B => {
                cursor.cstring()?;
                cursor.cstring()?;
                Bson::Other
            }
            0x10 => Bson::Int32(cursor.i32_le()?),
            0x12 => Bson::Int64(i64::from_le_bytes(cursor.array()?)),
            0x13 => {
                cursor.take(16)?;
                Bson::Other
            }
            other => return Err(invalid(format!("unsupported BSON type {other:#x}"))),
        };
        out.push((name, value));
    }
    Ok(out)
}

fn parse_hello(document: &[u8]) -> io::Result<HelloReply> {
    let mut reply = HelloReply::default();
    for (name, value) in elements(document)? {
        match (name, value) {
            ("ok", value) => reply.ok = value.truthy(),
            ("isWritablePrimary" | "ismaster", value) => {
                reply.is_writable_primary |= value.truthy();
            }
            ("setName", Bson::String(text)) => reply.set_name = Some(text.to_owned()),
            ("maxWireVersion", Bson::Int32(version)) => reply.max_wire_version = Some(version),
            ("hosts", Bson::Array(array)) => {
                reply.hosts = elements(array)?
                    .into_iter()
                    .filter_map(|(_, host)| match host {
                        Bson::String(text) => Some(text.to_owned()),
                        _ => None,
                    })
                    .collect();
            }
            _ => {}
        }
    }
    Ok(reply)
}
