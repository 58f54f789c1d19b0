//! The WIT glue, on `wasm32` only: generated bindings, the [`Message`] impl for the
//! host's resource, and the runtime [`export!`](crate::export) calls into.

#![allow(unsafe_code)] // wit-bindgen's generated ABI glue

use crate::types::{Level, Message, Value};

/// Generated from `transforms/wasm/wit/transform.wit`.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wasm/wit/transform.wit",
        world: "transformer",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "sluice_transform_sdk::bindings",
        runtime_path: "sluice_transform_sdk::__rt::wit_bindgen::rt",
    });
}

use bindings::sluice::transform::host;
use bindings::sluice::transform::types as wit;

pub(crate) fn log(level: Level, msg: &str) {
    let level = match level {
        Level::Trace => wit::Level::Trace,
        Level::Debug => wit::Level::Debug,
        Level::Info => wit::Level::Info,
        Level::Warn => wit::Level::Warn,
        Level::Error => wit::Level::Error,
    };
    host::log(level, msg);
}

fn to_wit(v: Value) -> wit::Value {
    match v {
        Value::Null => wit::Value::Null,
        Value::Boolean(b) => wit::Value::Boolean(b),
        Value::Int(n) => wit::Value::Int(n),
        Value::Float(f) => wit::Value::Float(f),
        Value::Text(s) => wit::Value::Text(s),
        Value::Bytes(b) => wit::Value::Bytes(b),
        Value::Json(s) => wit::Value::Json(s),
    }
}

fn from_wit(v: wit::Value) -> Value {
    match v {
        wit::Value::Null => Value::Null,
        wit::Value::Boolean(b) => Value::Boolean(b),
        wit::Value::Int(n) => Value::Int(n),
        wit::Value::Float(f) => Value::Float(f),
        wit::Value::Text(s) => Value::Text(s),
        wit::Value::Bytes(b) => Value::Bytes(b),
        wit::Value::Json(s) => Value::Json(s),
    }
}

impl Message for wit::Message {
    fn topic(&self) -> String {
        wit::Message::topic(self)
    }
    fn set_topic(&self, topic: &str) {
        wit::Message::set_topic(self, topic)
    }
    fn timestamp_ms(&self) -> Option<i64> {
        wit::Message::timestamp_ms(self)
    }
    fn get(&self, path: &str) -> Option<Value> {
        wit::Message::get(self, path).map(from_wit)
    }
    fn set(&self, path: &str, v: Value) -> Result<(), String> {
        wit::Message::set(self, path, &to_wit(v))
    }
    fn remove(&self, path: &str) -> bool {
        wit::Message::remove(self, path)
    }
    fn header(&self, name: &str) -> Option<Vec<u8>> {
        wit::Message::header(self, name)
    }
    fn set_header(&self, name: &str, v: &[u8]) {
        wit::Message::set_header(self, name, v)
    }
    fn remove_header(&self, name: &str) {
        wit::Message::remove_header(self, name)
    }
    fn key_json(&self) -> Option<String> {
        wit::Message::key_json(self)
    }
    fn value_json(&self) -> Option<String> {
        wit::Message::value_json(self)
    }
    fn set_value_json(&self, json: Option<&str>) -> Result<(), String> {
        wit::Message::set_value_json(self, json)
    }
}

/// What [`export!`](crate::export) expands to calls.
pub mod __rt {
    use std::cell::RefCell;

    use super::bindings;
    use crate::{Config, Level, Transform, Verdict};

    pub use wit_bindgen;

    thread_local! {
        static PLUGIN: RefCell<Option<Box<dyn Transform>>> = const { RefCell::new(None) };
    }

    /// Builds the plugin; panics are logged at error level (the host reports the last
    /// one with the trap).
    pub fn init<P: Transform>(config: Vec<(String, String)>) -> Result<(), String> {
        std::panic::set_hook(Box::new(|info| {
            let place = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let what = info.payload_as_str().unwrap_or("(no message)");
            crate::log(Level::Error, &format!("panicked{place}: {what}"));
        }));
        let plugin = P::init(&Config::from(config))?;
        PLUGIN.with(|slot| *slot.borrow_mut() = Some(Box::new(plugin)));
        Ok(())
    }

    /// Runs the plugin on one message.
    pub fn apply(msg: &bindings::Message) -> Result<bindings::Verdict, String> {
        PLUGIN.with(|slot| {
            let mut slot = slot.borrow_mut();
            let plugin = slot.as_mut().ok_or("apply called before init")?;
            Ok(match plugin.transform(msg)? {
                Verdict::Keep => bindings::Verdict::Keep,
                Verdict::Drop => bindings::Verdict::Drop,
            })
        })
    }
}
