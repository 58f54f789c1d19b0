//! Masks one field: `config.field` (a path such as `value.after.email`) is replaced by
//! `config.mask` (default `****`) wherever it is present and not null.

use sluice_transform_sdk::{Config, Message, Transform, Value, Verdict};

struct MaskField {
    field: String,
    mask: String,
}

impl Transform for MaskField {
    fn init(config: &Config) -> Result<Self, String> {
        let field = config.require("field")?.to_owned();
        let mask = config.get_or("mask", "****").to_owned();
        Ok(MaskField { field, mask })
    }

    fn transform(&mut self, msg: &dyn Message) -> Result<Verdict, String> {
        if msg.get(&self.field).is_some_and(|v| !v.is_null()) {
            msg.set(&self.field, Value::Text(self.mask.clone()))?;
        }
        Ok(Verdict::Keep)
    }
}

sluice_transform_sdk::export!(MaskField);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_transform_sdk::MemoryMessage;

    #[test]
    fn masks_only_the_field() {
        let config = Config::new([("field", "value.after.email")]);
        let mut plugin = MaskField::init(&config).expect("config");
        let msg = MemoryMessage::new("t", r#"{"after":{"id":1,"email":"a@b.c"},"op":"c"}"#);
        assert_eq!(plugin.transform(&msg), Ok(Verdict::Keep));
        assert_eq!(
            msg.value_json().as_deref(),
            Some(r#"{"after":{"id":1,"email":"****"},"op":"c"}"#)
        );
        let deleted = MemoryMessage::new("t", r#"{"after":null,"op":"d"}"#);
        assert_eq!(plugin.transform(&deleted), Ok(Verdict::Keep));
        assert_eq!(
            deleted.value_json().as_deref(),
            Some(r#"{"after":null,"op":"d"}"#)
        );
    }

    #[test]
    fn needs_a_field() {
        assert!(MaskField::init(&Config::default()).is_err());
    }
}
