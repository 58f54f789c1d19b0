//! Bench plugin: reads `config.read` (default `value.c0`) and writes its length to
//! `config.write` (default `value.c1`). An empty setting skips that step, so the
//! bench can price a bare call, a read and a write apart.

use sluice_transform_sdk::{Config, Message, Transform, Value, Verdict};

struct Touch {
    read: String,
    write: String,
}

impl Transform for Touch {
    fn init(config: &Config) -> Result<Self, String> {
        Ok(Touch {
            read: config.get_or("read", "value.c0").to_owned(),
            write: config.get_or("write", "value.c1").to_owned(),
        })
    }

    fn transform(&mut self, msg: &dyn Message) -> Result<Verdict, String> {
        let n = match (self.read.is_empty(), || msg.get(&self.read)) {
            (true, _) => -1,
            (false, get) => match get() {
                Some(Value::Text(s)) => s.len() as i64,
                _ => -1,
            },
        };
        if !self.write.is_empty() {
            msg.set(&self.write, Value::Int(n))?;
        }
        Ok(Verdict::Keep)
    }
}

sluice_transform_sdk::export!(Touch);
