//! Test plugin: loops forever on records with `value.spin` = true, keeps the rest.

use sluice_transform_sdk::{Config, Message, Transform, Value, Verdict};

struct Spin;

impl Transform for Spin {
    fn init(_: &Config) -> Result<Self, String> {
        Ok(Spin)
    }

    fn transform(&mut self, msg: &dyn Message) -> Result<Verdict, String> {
        if msg.get("value.spin") == Some(Value::Boolean(true)) {
            let mut n = 0u64;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        Ok(Verdict::Keep)
    }
}

sluice_transform_sdk::export!(Spin);
