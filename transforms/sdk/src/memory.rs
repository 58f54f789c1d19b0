//! [`MemoryMessage`]: an in-memory [`Message`] for unit-testing plugin logic natively.
//!
//! It holds schemaless JSON, so it behaves like the host does for schemaless records:
//! paths walk objects and array indexes, `set` creates missing parents, composites
//! come back as `Value::Json`. Schema checks (a text into an int32 column) are the
//! host's and are not simulated.

use std::cell::RefCell;

use serde_json::{Map, Number, Value as Json};

use crate::types::{Message, Value};

/// A record in memory: topic, timestamp, JSON key and value, headers.
#[derive(Debug, Default)]
pub struct MemoryMessage {
    inner: RefCell<Inner>,
}

#[derive(Debug, Default, Clone)]
struct Inner {
    topic: String,
    timestamp: Option<i64>,
    key: Option<Json>,
    value: Option<Json>,
    headers: Vec<(String, Vec<u8>)>,
}

impl MemoryMessage {
    /// A message on `topic` whose value is the JSON `value`.
    ///
    /// # Panics
    /// When `value` is not JSON (a bug in the test).
    pub fn new(topic: &str, value: &str) -> Self {
        let value = match serde_json::from_str(value) {
            Ok(v) => v,
            Err(e) => panic!("MemoryMessage::new: invalid JSON value: {e}"),
        };
        MemoryMessage {
            inner: RefCell::new(Inner {
                topic: topic.to_owned(),
                value: Some(value),
                ..Inner::default()
            }),
        }
    }

    /// Sets the key to the JSON `key`.
    ///
    /// # Panics
    /// When `key` is not JSON (a bug in the test).
    pub fn with_key(self, key: &str) -> Self {
        match serde_json::from_str(key) {
            Ok(k) => self.inner.borrow_mut().key = Some(k),
            Err(e) => panic!("MemoryMessage::with_key: invalid JSON key: {e}"),
        }
        self
    }

    /// Adds a header.
    pub fn with_header(self, name: &str, v: &[u8]) -> Self {
        self.inner
            .borrow_mut()
            .headers
            .push((name.to_owned(), v.to_vec()));
        self
    }

    /// Sets the timestamp.
    pub fn with_timestamp(self, ms: i64) -> Self {
        self.inner.borrow_mut().timestamp = Some(ms);
        self
    }
}

/// Splits `path` into root (true for key) and segments.
fn split(path: &str) -> Option<(bool, Vec<&str>)> {
    let mut segs = path.split('.');
    let key = match segs.next()? {
        "key" => true,
        "value" => false,
        _ => return None,
    };
    Some((key, segs.collect()))
}

fn child<'a>(json: &'a Json, seg: &str) -> Option<&'a Json> {
    match json {
        Json::Object(o) => o.get(seg),
        Json::Array(a) => a.get(seg.parse::<usize>().ok()?),
        _ => None,
    }
}

fn to_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Text(s.clone()),
        other => Value::Json(other.to_string()),
    }
}

fn to_json(v: Value) -> Result<Json, String> {
    Ok(match v {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(b),
        Value::Int(n) => Json::from(n),
        Value::Float(f) => Number::from_f64(f).map_or(Json::Null, Json::Number),
        Value::Text(s) => Json::String(s),
        Value::Bytes(b) => Json::String(base64(&b)),
        Value::Json(s) => serde_json::from_str(&s).map_err(|e| format!("invalid JSON: {e}"))?,
    })
}

/// Standard base64 with padding, as the host writes bytes in JSON.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Message for MemoryMessage {
    fn topic(&self) -> String {
        self.inner.borrow().topic.clone()
    }

    fn set_topic(&self, topic: &str) {
        self.inner.borrow_mut().topic = topic.to_owned();
    }

    fn timestamp_ms(&self) -> Option<i64> {
        self.inner.borrow().timestamp
    }

    fn get(&self, path: &str) -> Option<Value> {
        let (key, segs) = split(path)?;
        let inner = self.inner.borrow();
        let root = if key { &inner.key } else { &inner.value };
        let mut json = match root {
            Some(j) => j,
            None => return segs.is_empty().then_some(Value::Null),
        };
        for seg in segs {
            json = child(json, seg)?;
        }
        Some(to_value(json))
    }

    fn set(&self, path: &str, v: Value) -> Result<(), String> {
        let (key, segs) =
            split(path).ok_or_else(|| format!("path {path:?} must start with key or value"))?;
        let mut inner = self.inner.borrow_mut();
        let root = if key {
            &mut inner.key
        } else {
            &mut inner.value
        };
        let Some((last, parents)) = segs.split_last() else {
            *root = Some(to_json(v)?);
            return Ok(());
        };
        let mut json = root.get_or_insert_with(|| Json::Object(Map::new()));
        for seg in parents {
            json = match json {
                Json::Object(o) => o
                    .entry((*seg).to_owned())
                    .or_insert_with(|| Json::Object(Map::new())),
                Json::Array(a) => seg
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get_mut(i))
                    .ok_or_else(|| format!("cannot set {path}: {seg} is not an index"))?,
                _ => {
                    return Err(format!(
                        "cannot set {path}: the parent of {seg} is not an object"
                    ))
                }
            };
        }
        match json {
            Json::Object(o) => {
                o.insert((*last).to_owned(), to_json(v)?);
            }
            Json::Array(a) => {
                let slot = last
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get_mut(i))
                    .ok_or_else(|| format!("cannot set {path}: {last} is not an index"))?;
                *slot = to_json(v)?;
            }
            _ => return Err(format!("cannot set {path}: its parent is not an object")),
        }
        Ok(())
    }

    fn remove(&self, path: &str) -> bool {
        let Some((key, segs)) = split(path) else {
            return false;
        };
        let mut inner = self.inner.borrow_mut();
        let root = if key {
            &mut inner.key
        } else {
            &mut inner.value
        };
        let Some((last, parents)) = segs.split_last() else {
            return root.take().is_some_and(|j| !j.is_null());
        };
        let mut json = match root {
            Some(j) => j,
            None => return false,
        };
        for seg in parents {
            json = match json {
                Json::Object(o) => match o.get_mut(*seg) {
                    Some(j) => j,
                    None => return false,
                },
                Json::Array(a) => match seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                    Some(j) => j,
                    None => return false,
                },
                _ => return false,
            };
        }
        match json {
            Json::Object(o) => o.shift_remove(*last).is_some(),
            Json::Array(a) => match last.parse::<usize>() {
                Ok(i) if i < a.len() => {
                    a.remove(i);
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }

    fn header(&self, name: &str) -> Option<Vec<u8>> {
        let inner = self.inner.borrow();
        inner
            .headers
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn set_header(&self, name: &str, v: &[u8]) {
        let mut inner = self.inner.borrow_mut();
        inner.headers.retain(|(k, _)| k != name);
        inner.headers.push((name.to_owned(), v.to_vec()));
    }

    fn remove_header(&self, name: &str) {
        self.inner.borrow_mut().headers.retain(|(k, _)| k != name);
    }

    fn key_json(&self) -> Option<String> {
        let inner = self.inner.borrow();
        inner
            .key
            .as_ref()
            .filter(|j| !j.is_null())
            .map(Json::to_string)
    }

    fn value_json(&self) -> Option<String> {
        let inner = self.inner.borrow();
        inner
            .value
            .as_ref()
            .filter(|j| !j.is_null())
            .map(Json::to_string)
    }

    fn set_value_json(&self, json: Option<&str>) -> Result<(), String> {
        let value = match json {
            Some(text) => {
                Some(serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?)
            }
            None => None,
        };
        self.inner.borrow_mut().value = value;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_and_edit_json() {
        let m = MemoryMessage::new(
            "t",
            r#"{"after":{"id":1,"email":"a@b.c","tags":["x"]},"op":"c"}"#,
        )
        .with_key(r#"{"id":1}"#);
        assert_eq!(
            m.get("value.after.email"),
            Some(Value::Text("a@b.c".into()))
        );
        assert_eq!(
            m.get("value.after.tags"),
            Some(Value::Json(r#"["x"]"#.into()))
        );
        assert_eq!(m.get("value.after.tags.0"), Some(Value::Text("x".into())));
        assert_eq!(m.get("key.id"), Some(Value::Int(1)));
        assert_eq!(m.get("value.nope"), None);
        assert_eq!(m.get("other"), None);
        m.set("value.after.email", "****".into()).expect("set");
        m.set("value.extra.flag", true.into()).expect("set nested");
        assert_eq!(m.get("value.extra.flag"), Some(Value::Boolean(true)));
        assert!(m.remove("value.op"));
        assert!(!m.remove("value.op"));
        assert_eq!(
            m.value_json().as_deref(),
            Some(r#"{"after":{"id":1,"email":"****","tags":["x"]},"extra":{"flag":true}}"#)
        );
        m.set_value_json(None).expect("tombstone");
        assert_eq!(m.value_json(), None);
    }

    #[test]
    fn headers_and_bytes() {
        let m = MemoryMessage::new("t", "{}").with_header("h", b"1");
        m.set_header("h", b"2");
        assert_eq!(m.header("h"), Some(b"2".to_vec()));
        m.remove_header("h");
        assert_eq!(m.header("h"), None);
        m.set("value.b", Value::Bytes(b"hello".to_vec()))
            .expect("set");
        assert_eq!(m.get("value.b"), Some(Value::Text("aGVsbG8=".into())));
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b""), "");
    }
}
