//! `HoistField$Key` / `HoistField$Value`: wraps the key/value in a one-field struct
//! (with a schema) or a one-entry map (schemaless).
//!
//! As in Kafka Connect the wrapping struct schema is unnamed and required, its only
//! field has the original schema, and a null value is wrapped too (`{field: null}`).

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_core::plugin::Transform;
use sluice_core::{Record, SchemaBuilder, SchemaRef, Value};

use crate::util::cache::SchemaCache;
use crate::util::{new_struct, parse_config, Result, Side};

/// `field`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new("field", ConfigType::String)
            .importance(Importance::Medium)
            .doc("Field name for the single field that will be created in the resulting Struct or Map."),
    )
}

side_plugins!("HoistField", config_def, build);

fn build(side: Side, config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let class = if side == Side::Key {
        KEY.info.class
    } else {
        VALUE.info.class
    };
    let cfg = parse_config(class, &config_def(), config)?;
    Ok(Box::new(HoistField {
        side,
        field: cfg.string("field").unwrap_or_default().to_owned(),
        cache: SchemaCache::default(),
    }))
}

struct HoistField {
    side: Side,
    field: String,
    cache: SchemaCache<SchemaRef, SchemaRef>,
}

impl Transform for HoistField {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let part = self.side.part_mut(&mut record);
        let value = std::mem::replace(&mut part.value, Value::Null);
        match &part.schema {
            None => {
                part.value = Value::Map(vec![(Value::String(self.field.clone()), value)]);
            }
            Some(schema) => {
                let field = &self.field;
                let updated = self.cache.get_or_try_insert(schema, || {
                    Ok(SchemaBuilder::struct_()
                        .field(field.clone(), schema.clone())
                        .build())
                })?;
                part.value = Value::Struct(new_struct(updated.clone(), vec![value])?);
                part.schema = Some(updated);
            }
        }
        Ok(Some(record))
    }
}
