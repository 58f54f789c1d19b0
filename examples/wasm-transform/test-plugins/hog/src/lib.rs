//! Test plugin: allocates without bound on records with `value.hog` = true, keeps the rest.

use sluice_transform_sdk::{Config, Message, Transform, Value, Verdict};

struct Hog {
    held: Vec<Vec<u8>>,
}

impl Transform for Hog {
    fn init(_: &Config) -> Result<Self, String> {
        Ok(Hog { held: Vec::new() })
    }

    fn transform(&mut self, msg: &dyn Message) -> Result<Verdict, String> {
        if msg.get("value.hog") == Some(Value::Boolean(true)) {
            loop {
                self.held.push(std::hint::black_box(vec![1u8; 1 << 20]));
            }
        }
        Ok(Verdict::Keep)
    }
}

sluice_transform_sdk::export!(Hog);
