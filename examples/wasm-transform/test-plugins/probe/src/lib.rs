//! Test plugin: calls every function of the `message` resource, steered by `value.op`.
//!
//! Always: headers `topic`, `ts` and `key` get the topic, the timestamp and the key as
//! JSON; header `drop-me` goes; the topic gets `.probed` appended. Then by `value.op`:
//! `widen` adds `value.after.added` (int) and `value.after.doc` (JSON object);
//! `narrow` removes `value.after.email` (header `removed` says whether it existed);
//! `replace` sets the whole value from JSON; `tombstone` clears it; `bad` sets text
//! into `value.after.id` and returns the host's error; `echo` copies header `in` into
//! `value.after.from_header` and logs at info. Counts ops in a `HashMap`.

use std::collections::HashMap;

use sluice_transform_sdk::{log, Config, Level, Message, Transform, Value, Verdict};

struct Probe {
    /// Records seen per op (a HashMap: its seed is the one WASI call the host allows).
    ops: HashMap<String, u64>,
}

impl Transform for Probe {
    fn init(_: &Config) -> Result<Self, String> {
        Ok(Probe {
            ops: HashMap::new(),
        })
    }

    fn transform(&mut self, msg: &dyn Message) -> Result<Verdict, String> {
        let topic = msg.topic();
        msg.set_header("topic", topic.as_bytes());
        let ts = msg
            .timestamp_ms()
            .map_or("none".to_owned(), |t| t.to_string());
        msg.set_header("ts", ts.as_bytes());
        msg.set_header("key", msg.key_json().unwrap_or("null".into()).as_bytes());
        msg.remove_header("drop-me");
        msg.set_topic(&format!("{topic}.probed"));
        let op = msg.get("value.op");
        let op = op.as_ref().and_then(Value::as_text);
        *self.ops.entry(op.unwrap_or("").to_owned()).or_default() += 1;
        match op {
            Some("widen") => {
                msg.set("value.after.added", Value::Int(7))?;
                msg.set(
                    "value.after.doc",
                    Value::Json(r#"{"a":1,"b":[true]}"#.into()),
                )?;
            }
            Some("narrow") => {
                let removed = msg.remove("value.after.email");
                msg.set_header("removed", removed.to_string().as_bytes());
            }
            Some("replace") => {
                let old = msg.value_json().unwrap_or_default();
                let new = format!(r#"{{"replaced":true,"old_len":{}}}"#, old.len());
                msg.set_value_json(Some(&new))?;
            }
            Some("tombstone") => msg.set_value_json(None)?,
            Some("bad") => msg.set("value.after.id", Value::Text("not a number".into()))?,
            Some("echo") => {
                let header = msg.header("in").unwrap_or_default();
                let text = String::from_utf8_lossy(&header).into_owned();
                msg.set("value.after.from_header", Value::Text(text))?;
                let n = self.ops.get("echo").copied().unwrap_or(0);
                log(Level::Info, &format!("hello from probe, echo #{n}"));
            }
            _ => {}
        }
        Ok(Verdict::Keep)
    }
}

sluice_transform_sdk::export!(Probe);
