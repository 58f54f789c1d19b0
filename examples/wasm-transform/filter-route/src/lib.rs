//! Drops records whose `config.field` equals `config.value`, and routes the rest by
//! table: topic = `config.prefix` + `value.source.table` (unchanged without a table).

use sluice_transform_sdk::{Config, Message, Transform, Value, Verdict};

struct FilterRoute {
    field: String,
    value: String,
    prefix: String,
}

impl Transform for FilterRoute {
    fn init(config: &Config) -> Result<Self, String> {
        Ok(FilterRoute {
            field: config.require("field")?.to_owned(),
            value: config.require("value")?.to_owned(),
            prefix: config.get_or("prefix", "").to_owned(),
        })
    }

    fn transform(&mut self, msg: &dyn Message) -> Result<Verdict, String> {
        if msg
            .get(&self.field)
            .is_some_and(|v| v.matches_text(&self.value))
        {
            return Ok(Verdict::Drop);
        }
        if let Some(Value::Text(table)) = msg.get("value.source.table") {
            msg.set_topic(&format!("{}{table}", self.prefix));
        }
        Ok(Verdict::Keep)
    }
}

sluice_transform_sdk::export!(FilterRoute);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_transform_sdk::MemoryMessage;

    #[test]
    fn drops_matches_and_routes_the_rest() {
        let config = Config::new([("field", "value.op"), ("value", "d"), ("prefix", "cdc.")]);
        let mut plugin = FilterRoute::init(&config).expect("config");
        let delete = MemoryMessage::new("t", r#"{"op":"d","source":{"table":"users"}}"#);
        assert_eq!(plugin.transform(&delete), Ok(Verdict::Drop));
        let insert = MemoryMessage::new("t", r#"{"op":"c","source":{"table":"users"}}"#);
        assert_eq!(plugin.transform(&insert), Ok(Verdict::Keep));
        assert_eq!(insert.topic(), "cdc.users");
    }
}
