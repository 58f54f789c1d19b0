//! The plugin-facing types: field values, verdicts, log levels, and the [`Message`]
//! trait a plugin reads and edits records through.

/// A field value, as `wit/transform.wit` defines it: every integer width is `Int`,
/// both float widths `Float`; Date, Time and Timestamp are the integer their schema
/// uses; decimals are `Text`; arrays, maps and structs are `Json` text.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    Json(String),
}

impl Value {
    /// The text inside a `Text`.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside an `Int`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// True for `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// True when this value, written as config text would be, equals `text`:
    /// `Text` compares as is, `Int`, `Float` and `Boolean` by their decimal form.
    pub fn matches_text(&self, text: &str) -> bool {
        match self {
            Value::Text(s) | Value::Json(s) => s == text,
            Value::Int(n) => text.trim().parse::<i64>().is_ok_and(|t| t == *n),
            Value::Float(f) => text.trim().parse::<f64>().is_ok_and(|t| t == *f),
            Value::Boolean(b) => {
                text.trim()
                    .eq_ignore_ascii_case(if *b { "true" } else { "false" })
            }
            Value::Bytes(b) => b == text.as_bytes(),
            Value::Null => text == "null",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Boolean(b)
    }
}

/// What a transform decided for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Pass it on (with any edits).
    Keep,
    /// Drop it.
    Drop,
}

/// A log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// One record, owned by the host: read and edited in place by dotted path rooted at
/// `key` or `value` (`value.after.email`, `key.id`).
pub trait Message {
    /// The topic.
    fn topic(&self) -> String;
    /// Changes the topic (routing).
    fn set_topic(&self, topic: &str);
    /// The timestamp in milliseconds since the epoch, if any.
    fn timestamp_ms(&self) -> Option<i64>;
    /// A field by path; `None` when absent, `Some(Value::Null)` when present but null.
    fn get(&self, path: &str) -> Option<Value>;
    /// Sets a field, adding it (as optional, widening the schema) when absent; fails
    /// when the schema cannot hold the value.
    fn set(&self, path: &str, v: Value) -> Result<(), String>;
    /// Removes a field; true when it existed.
    fn remove(&self, path: &str) -> bool;
    /// The last header named `name`.
    fn header(&self, name: &str) -> Option<Vec<u8>>;
    /// Replaces every header named `name` with one holding `v`.
    fn set_header(&self, name: &str, v: &[u8]);
    /// Removes every header named `name`.
    fn remove_header(&self, name: &str);
    /// The whole key as schemaless JSON; `None` when null.
    fn key_json(&self) -> Option<String>;
    /// The whole value as schemaless JSON; `None` when null (a tombstone).
    fn value_json(&self) -> Option<String>;
    /// Replaces the whole value; `None` makes a tombstone.
    fn set_value_json(&self, json: Option<&str>) -> Result<(), String>;
}
