//! `io.debezium.transforms.outbox.EventRouter`: routes outbox-table inserts to
//! per-aggregate topics.
//!
//! Follows Debezium's `EventRouterDelegate`: tombstones and deletes are dropped;
//! updates are dropped with a warning or error log, or fail with
//! `table.op.invalid.behavior=fatal`; non-envelope records pass. For an insert, the
//! `after` row gives: the topic (`route.by.field`, default `aggregatetype`, rewritten
//! by `route.topic.regex` / `route.topic.replacement`, default
//! `outbox.event.${routedByValue}`), the key (`table.field.event.key`, with that
//! column's schema), an `id` header (`table.field.event.id`), the timestamp
//! (`table.field.event.timestamp` as a Debezium Timestamp/MicroTimestamp/
//! NanoTimestamp, else the event's `ts_ms`), and the value: the payload column alone,
//! or, when `table.fields.additional.placement` puts a column in the `envelope`, a
//! struct `{payload, <aliases>…}` named `<row schema namespace>.<routed value>.<row
//! schema simple name>` (versioned by `table.field.event.schema.version`). Other
//! placements add headers or set the partition (an int32 column). An empty payload
//! gives a tombstone with `route.tombstone.on.empty.payload`.
//!
//! With `table.expand.json.payload=true` a string payload holding a JSON object
//! becomes a struct with a schema inferred from it ([`super::outbox_json`], with
//! `table.json.payload.null.behavior` and `field.name.adjustment.mode`); a payload
//! that is not JSON is logged and left a string, as in Debezium. The tracing keys
//! are accepted and have no effect, and so are two Debezium 1.x keys that Debezium
//! 2.0 dropped and has ignored since (`table.field.payload.id`,
//! `debezium.op.invalid.behavior`).

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::{PluginInfo, PluginType, Transform, TransformPlugin};
use sluice_core::{ConnectError, Record, SchemaAndValue, SchemaBuilder, SchemaRef, Struct, Value};

use super::envelope::is_envelope;
use super::mongo_convert::adjuster;
use super::outbox_json::{Expanded, JsonSchemaData};
use crate::util::cache::SchemaCache;
use crate::util::javare::{FullMatch, Replacement};
use crate::util::{java_split, new_struct, parse_config, require_struct_ref, Result};

const CLASS: &str = "io.debezium.transforms.outbox.EventRouter";

/// The outbox router's keys, in Debezium's "Table" and "Router" groups.
pub fn config_def() -> ConfigDef {
    let table = |name: &str, ty, order| ConfigKey::new(name, ty).group("Table", order);
    let router = |name: &str, ty, order| ConfigKey::new(name, ty).group("Router", order);
    ConfigDef::new()
        .define(table("table.field.event.id", ConfigType::String, 1).default("id").importance(Importance::Low).doc("The column which contains the event ID within the outbox table"))
        .define(table("table.field.event.key", ConfigType::String, 2).default("aggregateid").importance(Importance::Low).doc("The column which contains the event key within the outbox table"))
        .define(table("table.field.event.type", ConfigType::String, 3).default("type").importance(Importance::Low).doc("The column which contains the event type within the outbox table"))
        .define(table("table.field.event.payload", ConfigType::String, 4).default("payload").importance(Importance::Low).doc("The column which contains the event payload within the outbox table"))
        .define(table("table.field.event.timestamp", ConfigType::String, 5).optional().importance(Importance::Medium).doc("Optionally you can override the Kafka message timestamp with a value from a chosen column, otherwise it'll be the Debezium event processed timestamp."))
        .define(table("table.fields.additional.placement", ConfigType::List, 6).optional().importance(Importance::High).doc("Extra fields can be added as part of the event envelope or a message header, format is a list of colon-delimited pairs or trios when you desire to have aliases, e.g. <code>id:header,field_name:envelope:alias,field_name:partition</code> "))
        .define(table("table.fields.additional.error.on.missing", ConfigType::Boolean, 7).default("true").importance(Importance::Medium).doc("When transforming the 'table.fields.additional.placement' fields, should the transform throw an exception if one of the fields is missing in the change data"))
        .define(table("table.field.event.schema.version", ConfigType::String, 8).optional().importance(Importance::Low).doc("The column which contains the event schema version within the outbox table"))
        .define(table("table.op.invalid.behavior", ConfigType::String, 9).default("warn").importance(Importance::Medium).validator(Validator::OneOf(&["warn", "error", "fatal"])).doc("While Debezium is capturing changes from the outbox table, it is expecting only to process 'create' or 'delete' row events; in case something else is processed this transform can log it as warning, error or stop the process."))
        .define(table("table.expand.json.payload", ConfigType::Boolean, 10).default("false").importance(Importance::Medium).doc("Whether or not to try unescaping a JSON string and make it real JSON. It will infer schema information from payload and update the record schema accordingly. If content is not JSON, it just produces a warning and emits the record unchanged"))
        .define(table("table.json.payload.null.behavior", ConfigType::String, 11).default("ignore").importance(Importance::Medium).validator(Validator::OneOf(&["ignore", "optional_bytes"])).doc("Behavior when json payload including null value, the default will ignore null, optional_bytes will keep the null value, and treat null as optional bytes of connect."))
        .define(router("route.by.field", ConfigType::String, 1).default("aggregatetype").importance(Importance::High).doc("The column which determines how the events will be routed, the value will become part of the topic name"))
        .define(router("route.topic.regex", ConfigType::String, 2).default("(?<routedByValue>.*)").importance(Importance::Low).validator(Validator::Custom(|s| FullMatch::new(s).map(|_| ()))).doc("The default regex to use within the RegexRouter, the default capture will allow to replace the routed field into a new topic name defined in 'route.topic.replacement'"))
        .define(router("route.topic.replacement", ConfigType::String, 3).default("outbox.event.${routedByValue}").importance(Importance::High).doc("The name of the topic in which the events will be routed, a replacement '${routedByValue}' is available which is the value of The column configured via 'route.by.field'"))
        .define(router("route.tombstone.on.empty.payload", ConfigType::Boolean, 4).default("false").importance(Importance::High).doc("Whether or not an empty payload should cause a tombstone event."))
        .not_needed("tracing.span.context.field", "OpenTelemetry tracing is not part of Sluice's outbox router")
        .not_needed("tracing.operation.name", "OpenTelemetry tracing is not part of Sluice's outbox router")
        .not_needed("tracing.with.context.field.only", "OpenTelemetry tracing is not part of Sluice's outbox router")
        .not_needed("table.field.payload.id", "a Debezium 1.x key (fallback record key), removed in 2.0 and ignored by Debezium since; the key is table.field.event.key")
        .not_needed("debezium.op.invalid.behavior", "a Debezium 1.x name of table.op.invalid.behavior, ignored by Debezium since 2.0")
        .define(
            ConfigKey::new("field.name.adjustment.mode", ConfigType::String)
                .default("none")
                .importance(Importance::Low)
                .validator(Validator::OneOf(&["none", "avro", "avro_unicode"]))
                .doc("Specify how field names should be adjusted for compatibility with the message converter used by the connector, including: 'avro' replaces the characters that cannot be used in the Avro type name with underscore, 'avro_unicode' replaces the underscore or characters that cannot be used in the Avro type name with corresponding unicode like _uxxxx, 'none' does not apply any adjustment (default). Used by table.expand.json.payload for the names of the payload's fields."),
        )
}

/// `io.debezium.transforms.outbox.EventRouter`.
pub const PLUGIN: TransformPlugin = TransformPlugin {
    info: PluginInfo {
        class: CLASS,
        aliases: &["EventRouter"],
        kind: PluginType::Transformation,
        config: config_def,
    },
    build,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Placement {
    Header,
    Envelope,
    Partition,
}

#[derive(Debug, Clone)]
struct Additional {
    placement: Placement,
    field: String,
    alias: String,
}

fn build(config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let cfg = parse_config(CLASS, &config_def(), config)?;
    let expand_json = cfg
        .bool("table.expand.json.payload")
        .then(|| JsonSchemaData {
            null_as_bytes: cfg
                .string_or_default("table.json.payload.null.behavior")
                .eq_ignore_ascii_case("optional_bytes"),
            adjust: adjuster(
                &cfg.string_or_default("field.name.adjustment.mode")
                    .to_ascii_lowercase(),
            ),
        });
    let placements = cfg.list("table.fields.additional.placement");
    let mut additional = Vec::new();
    for p in &placements {
        let parts = java_split(p, ':');
        let placement = match parts.get(1).map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("header") => Placement::Header,
            Some("envelope") => Placement::Envelope,
            Some("partition") => Placement::Partition,
            _ => None.ok_or_else(|| {
                ConnectError::config(
                    "table.fields.additional.placement",
                    placements.join(","),
                    format!("'{p}' is not a colon-delimited field:placement[:alias] entry with placement header, envelope or partition"),
                )
            })?,
        };
        if parts.len() > 3 {
            return Err(ConnectError::config(
                "table.fields.additional.placement",
                placements.join(","),
                format!("'{p}' has more than three parts"),
            ));
        }
        let field = parts[0].to_owned();
        let alias = parts
            .get(2)
            .map_or_else(|| field.clone(), |a| a.to_string());
        additional.push(Additional {
            placement,
            field,
            alias,
        });
    }
    let regex_text = cfg.string_or_default("route.topic.regex");
    let regex = FullMatch::new(regex_text)
        .map_err(|e| ConnectError::config("route.topic.regex", regex_text, e))?;
    let repl = cfg.string_or_default("route.topic.replacement");
    let replacement = Replacement::new(repl, &regex)
        .map_err(|e| ConnectError::config("route.topic.replacement", repl, e))?;
    Ok(Box::new(EventRouter {
        field_id: cfg.string_or_default("table.field.event.id").to_owned(),
        field_key: cfg.string_or_default("table.field.event.key").to_owned(),
        field_payload: cfg
            .string_or_default("table.field.event.payload")
            .to_owned(),
        field_timestamp: cfg.string("table.field.event.timestamp").map(str::to_owned),
        field_schema_version: cfg
            .string("table.field.event.schema.version")
            .map(str::to_owned),
        route_by: cfg.string_or_default("route.by.field").to_owned(),
        tombstone_on_empty: cfg.bool("route.tombstone.on.empty.payload"),
        error_on_missing: cfg.bool("table.fields.additional.error.on.missing"),
        invalid_op: cfg
            .string_or_default("table.op.invalid.behavior")
            .to_ascii_lowercase(),
        only_headers: !additional
            .iter()
            .any(|a| a.placement == Placement::Envelope),
        additional,
        regex,
        replacement,
        expand_json,
        schemas: SchemaCache::new(10_000),
    }))
}

struct EventRouter {
    field_id: String,
    field_key: String,
    field_payload: String,
    field_timestamp: Option<String>,
    field_schema_version: Option<String>,
    route_by: String,
    tombstone_on_empty: bool,
    error_on_missing: bool,
    invalid_op: String,
    only_headers: bool,
    additional: Vec<Additional>,
    regex: FullMatch,
    replacement: Replacement,
    expand_json: Option<JsonSchemaData>,
    schemas: SchemaCache<(SchemaRef, String), SchemaRef>,
}

fn field_value<'a>(s: &'a Struct, name: &str) -> Result<&'a Value> {
    s.get(name)
        .ok_or_else(|| ConnectError::Data(format!("{name} is not a valid field name")))
}

impl EventRouter {
    fn timestamp(&self, env: &Struct, row: &Struct) -> Result<Option<i64>> {
        let ts_ms = || match env.get("ts_ms") {
            Some(Value::Int64(t)) => Some(*t),
            _ => None,
        };
        let Some(name) = &self.field_timestamp else {
            return Ok(ts_ms());
        };
        let f = row.schema().field(name).ok_or_else(|| {
            ConnectError::Data(format!("Unable to find timestamp field {name} in event"))
        })?;
        let t = match &row.values()[f.index] {
            Value::Null => return Ok(ts_ms()),
            Value::Int64(t) => *t,
            other => {
                return Err(ConnectError::Data(format!(
                    "Field '{name}' is not of type INT64 (found {})",
                    other.kind()
                )))
            }
        };
        match f.schema.name() {
            Some("io.debezium.time.Timestamp") => Ok(Some(t)),
            Some("io.debezium.time.MicroTimestamp") => Ok(Some(t / 1_000)),
            Some("io.debezium.time.NanoTimestamp") => Ok(Some(t / 1_000_000)),
            Some(n) => Err(ConnectError::Data(format!(
                "Unsupported field type {n} for event timestamp"
            ))),
            None => Err(ConnectError::Data(format!(
                "Unsupported field type {} (without logical schema name) for event timestamp",
                f.schema.ty.json_name().to_ascii_uppercase()
            ))),
        }
    }

    fn value_schema(
        &mut self,
        payload: &SchemaRef,
        row_schema: &SchemaRef,
        routed: &str,
        version: Option<i32>,
    ) -> Result<SchemaRef> {
        let key = (payload.clone(), format!("{routed}\u{0}{version:?}"));
        let additional = &self.additional;
        self.schemas.get_or_try_insert(&key, || {
            let name = match row_schema.name() {
                Some(n) => match n.rfind('.') {
                    Some(i) => format!("{}{routed}.{}", &n[..=i], &n[i + 1..]),
                    None => format!("{routed}.{n}"),
                },
                None => routed.to_owned(),
            };
            let mut b = SchemaBuilder::struct_()
                .name(name)
                .field("payload", payload.clone());
            if let Some(v) = version {
                b = b.version(v);
            }
            for a in additional
                .iter()
                .filter(|a| a.placement == Placement::Envelope)
            {
                if let Some(f) = row_schema.field(&a.field) {
                    b = b.field(a.alias.clone(), f.schema.clone());
                }
            }
            Ok(b.build())
        })
    }
}

impl Transform for EventRouter {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        if record.value.value.is_null() {
            return Ok(None);
        }
        if !is_envelope(record.value.schema.as_ref()) {
            return Ok(Some(record));
        }
        let env = require_struct_ref(&record.value.value, "Detect Debezium Operation")?;
        match env.get("op").and_then(Value::as_str) {
            Some("d") => return Ok(None),
            Some("u") => {
                match self.invalid_op.as_str() {
                    "fatal" => {
                        return Err(ConnectError::Fatal(format!(
                            "Unexpected update message received {:?}, fail.",
                            record.key.value
                        )))
                    }
                    "error" => {
                        tracing::error!(key = ?record.key.value, "Unexpected update message received and ignored")
                    }
                    _ => {
                        tracing::warn!(key = ?record.key.value, "Unexpected update message received and ignored")
                    }
                }
                return Ok(None);
            }
            _ => {}
        }
        let row = require_struct_ref(field_value(env, "after")?, "Read Outbox Event")?;
        let row_schema = row.schema().clone();
        let payload_f = row_schema.field(&self.field_payload).ok_or_else(|| {
            ConnectError::Data(format!(
                "Unable to find payload field {} in event",
                self.field_payload
            ))
        })?;
        let id_f = row_schema.field(&self.field_id).ok_or_else(|| {
            ConnectError::Data(format!(
                "Unable to find event-id field {} in event",
                self.field_id
            ))
        })?;
        let timestamp = self.timestamp(env, row)?;
        let mut payload = row.values()[payload_f.index].clone();
        let mut payload_schema = payload_f.schema.clone();
        let mut headers = std::mem::take(&mut record.headers);
        headers.add(
            "id",
            SchemaAndValue::new(id_f.schema.clone(), row.values()[id_f.index].clone()),
        );
        if let Some(json) = &self.expand_json {
            match &payload {
                Value::String(text) => match json.expand(&self.field_payload, text)? {
                    Expanded::Struct(schema, value) => {
                        payload_schema = schema;
                        payload = value;
                    }
                    Expanded::Kept(why) => {
                        tracing::warn!(key = ?record.key.value, "{why}; the outbox payload is emitted unchanged")
                    }
                },
                _ => tracing::warn!(
                    key = ?record.key.value,
                    "Expand JSON payload is turned on but payload is not a string"
                ),
            }
        }
        let routed = match field_value(row, &self.route_by)? {
            Value::String(s) => s.clone(),
            Value::Null => {
                return Err(ConnectError::Data(format!(
                    "The outbox event has a null {} (route.by.field)",
                    self.route_by
                )))
            }
            other => {
                return Err(ConnectError::Data(format!(
                    "Field '{}' is not of type STRING (found {})",
                    self.route_by,
                    other.kind()
                )))
            }
        };
        let version = match &self.field_schema_version {
            None => None,
            Some(f) => match field_value(row, f)? {
                Value::Int32(v) => Some(*v),
                _ => {
                    return Err(ConnectError::Data(format!(
                        "Field '{f}' is not of type INT32"
                    )))
                }
            },
        };
        let mut partition = None;
        let mut envelope_values = vec![payload.clone()];
        for a in &self.additional {
            let Some(f) = row_schema.field(&a.field) else {
                if !self.error_on_missing {
                    continue;
                }
                return Err(ConnectError::Data(format!(
                    "{} is not a valid field name",
                    a.field
                )));
            };
            let v = row.values()[f.index].clone();
            match a.placement {
                Placement::Envelope => envelope_values.push(v),
                Placement::Header => {
                    headers.add(a.alias.clone(), SchemaAndValue::new(f.schema.clone(), v))
                }
                Placement::Partition => match v {
                    Value::Int32(p) => partition = Some(p),
                    Value::Null => partition = None,
                    _ => {
                        return Err(ConnectError::Data(format!(
                            "Field '{}' is not of type INT32",
                            a.field
                        )))
                    }
                },
            }
        }
        let key_f = row_schema.field(&self.field_key).ok_or_else(|| {
            ConnectError::Data(format!("{} is not a valid field name", self.field_key))
        })?;
        let key = SchemaAndValue::new(key_f.schema.clone(), row.values()[key_f.index].clone());
        let empty = match &payload {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            _ => false,
        };
        let value = if empty && self.tombstone_on_empty {
            SchemaAndValue::NULL
        } else if self.only_headers {
            SchemaAndValue::new(payload_schema, payload)
        } else {
            let schema = self.value_schema(&payload_schema, &row_schema, &routed, version)?;
            envelope_values.resize(schema.fields.len(), Value::Null);
            SchemaAndValue::new(schema.clone(), new_struct(schema, envelope_values)?)
        };
        let topic = self
            .regex
            .replace(&routed, &self.replacement)
            .unwrap_or(routed);
        Ok(Some(Record {
            topic,
            partition,
            key,
            value,
            timestamp,
            headers,
        }))
    }
}
