//! Test plugin: panics (a trap) on records with `value.trap` = true, fails records with
//! `value.fail` = true with an error, prints to stdout (a WASI call the host does not
//! provide) on `value.print` = true, and keeps the rest, counting them in `value.seen`.

use sluice_transform_sdk::{Config, Message, Transform, Value, Verdict};

struct Trap {
    seen: u64,
}

impl Transform for Trap {
    fn init(_: &Config) -> Result<Self, String> {
        Ok(Trap { seen: 0 })
    }

    fn transform(&mut self, msg: &dyn Message) -> Result<Verdict, String> {
        self.seen += 1;
        if msg.get("value.trap") == Some(Value::Boolean(true)) {
            panic!("boom on record {}", self.seen);
        }
        if msg.get("value.print") == Some(Value::Boolean(true)) {
            println!("hello from a plugin");
        }
        if msg.get("value.fail") == Some(Value::Boolean(true)) {
            return Err(format!("record {} is not welcome", self.seen));
        }
        msg.set("value.seen", Value::Int(self.seen as i64))?;
        Ok(Verdict::Keep)
    }
}

sluice_transform_sdk::export!(Trap);
