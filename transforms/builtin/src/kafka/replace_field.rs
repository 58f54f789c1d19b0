//! `ReplaceField$Key` / `ReplaceField$Value`: drops (`exclude`), keeps (`include`)
//! and renames (`renames`) fields.
//!
//! As in Kafka Connect: `exclude` wins over `include`; an empty `include` keeps
//! everything; the deprecated `blacklist` / `whitelist` are read when `exclude` /
//! `include` are not given; fields keep their order and schemas, the struct keeps
//! name, version, doc and parameters (not optionality); a null key/value passes
//! through. A rename mapping that is not `old:new` is a config error. Per input
//! schema the output schema and which input fields are kept are cached, so a record
//! costs dropping the removed values and shifting the kept ones down, in the input
//! struct's own vector.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_core::plugin::Transform;
use sluice_core::{ConnectError, Record, Schema, SchemaRef, Type, Value};

use crate::util::cache::SchemaCache;
use crate::util::{
    copy_basics, java_split, new_struct, not_a_struct, parse_config, push_field,
    replace_null_with_default_key, require_map, retain_flagged, with_default, Result, Side,
};

const PURPOSE: &str = "field replacement";

/// `exclude`, `blacklist`, `include`, `whitelist`, `renames`, `replace.null.with.default`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("exclude", ConfigType::List)
                .default("")
                .importance(Importance::Medium)
                .doc("Fields to exclude. This takes precedence over the fields to include."),
        )
        .define(
            ConfigKey::new("blacklist", ConfigType::List)
                .optional()
                .importance(Importance::Low)
                .doc("Deprecated. Use exclude instead."),
        )
        .define(
            ConfigKey::new("include", ConfigType::List)
                .default("")
                .importance(Importance::Medium)
                .doc("Fields to include. If specified, only these fields will be used."),
        )
        .define(
            ConfigKey::new("whitelist", ConfigType::List)
                .optional()
                .importance(Importance::Low)
                .doc("Deprecated. Use include instead."),
        )
        .define(
            ConfigKey::new("renames", ConfigType::List)
                .default("")
                .importance(Importance::Medium)
                .doc("Field rename mappings, a list of colon-delimited pairs, e.g. <code>foo:bar,abc:xyz</code>."),
        )
        .define(replace_null_with_default_key())
}

side_plugins!("ReplaceField", config_def, build);

fn build(side: Side, config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let class = if side == Side::Key {
        KEY.info.class
    } else {
        VALUE.info.class
    };
    let cfg = parse_config(class, &config_def(), config)?;
    let pick = |new: &str, old: &str| {
        if config.contains_key(new) || !config.contains_key(old) {
            cfg.list(new)
        } else {
            cfg.list(old)
        }
    };
    let exclude = pick("exclude", "blacklist");
    let include = pick("include", "whitelist");
    let mut renames = Vec::new();
    for mapping in cfg.list("renames") {
        match java_split(&mapping, ':').as_slice() {
            [from, to] => renames.push((from.to_string(), to.to_string())),
            _ => {
                return Err(ConnectError::config(
                    "renames",
                    cfg.list("renames").join(","),
                    format!("Invalid rename mapping: {mapping}"),
                ))
            }
        }
    }
    Ok(Box::new(ReplaceField::new(
        side,
        exclude,
        include,
        renames,
        cfg.bool("replace.null.with.default"),
    )))
}

/// What to do with structs of one input schema.
#[derive(Debug, Clone)]
struct Plan {
    /// The output schema.
    schema: SchemaRef,
    /// Per output field, the index of its source field.
    sources: Vec<usize>,
    /// `sources` is `0..n` for every input field: the values stay as they are.
    identity: bool,
    /// `sources` is strictly increasing (and in range): the values are kept in place,
    /// in the input's own vector, by these flags (one per input field).
    in_place: Option<Vec<bool>>,
    /// Some input field has a default.
    defaults: bool,
}

/// The field selection: which fields are kept and under which names.
struct Selection {
    exclude: Vec<String>,
    include: Vec<String>,
    renames: Vec<(String, String)>,
}

impl Selection {
    fn keep(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name)
            && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames
            .iter()
            .rev()
            .find(|(from, _)| from == name)
            .map_or(name, |(_, to)| to.as_str())
    }

    fn plan(&self, schema: &Schema) -> Result<Plan> {
        let mut out = copy_basics(schema, Type::Struct);
        let mut sources = Vec::new();
        for f in schema.fields.iter().filter(|f| self.keep(&f.name)) {
            let name = self.renamed(&f.name);
            if out.field(name).is_some() {
                return Err(ConnectError::Data(format!(
                    "Cannot create field because of field name duplication {name}"
                )));
            }
            push_field(&mut out, name.to_owned(), f.schema.clone());
            sources.push(f.index);
        }
        let n = schema.fields.len();
        let identity = sources.len() == n && sources.iter().enumerate().all(|(j, &i)| i == j);
        let in_place = (sources.windows(2).all(|w| w[0] < w[1])
            && sources.last().is_none_or(|&i| i < n))
        .then(|| {
            let mut keep = vec![false; n];
            sources.iter().for_each(|&i| keep[i] = true);
            keep
        });
        Ok(Plan {
            schema: out.into(),
            sources,
            identity,
            in_place,
            defaults: crate::util::has_defaults(schema),
        })
    }
}

/// The configured transform, also used by Debezium's `drop.fields.header.name`.
pub(crate) struct ReplaceField {
    side: Side,
    selection: Selection,
    replace_null_with_default: bool,
    cache: SchemaCache<SchemaRef, Plan>,
}

impl ReplaceField {
    pub(crate) fn new(
        side: Side,
        exclude: Vec<String>,
        include: Vec<String>,
        renames: Vec<(String, String)>,
        replace_null_with_default: bool,
    ) -> Self {
        ReplaceField {
            side,
            selection: Selection {
                exclude,
                include,
                renames,
            },
            replace_null_with_default,
            cache: SchemaCache::default(),
        }
    }

    /// Applies the field selection to the key or value of `record`.
    pub(crate) fn replace(&mut self, record: &mut Record) -> Result<()> {
        let part = self.side.part_mut(record);
        if part.value.is_null() {
            return Ok(());
        }
        let value = std::mem::replace(&mut part.value, Value::Null);
        match part.schema {
            None => {
                let map = require_map(value, PURPOSE)?;
                let mut out = Vec::with_capacity(map.len());
                for (k, v) in map {
                    let Some(name) = k.as_str() else { continue };
                    if self.selection.keep(name) {
                        let renamed = self.selection.renamed(name).to_owned();
                        crate::util::map_put(&mut out, &renamed, v);
                    }
                }
                part.value = Value::Map(out);
            }
            Some(_) => {
                // Matched here rather than through `require_struct`, so the parts move
                // straight out of the value.
                let (in_schema, mut values) = match value {
                    Value::Struct(s) => s.into_parts(),
                    other => return Err(not_a_struct(&other, PURPOSE)),
                };
                let selection = &self.selection;
                let plan = self
                    .cache
                    .get_or_try_insert_ref(&in_schema, || selection.plan(&in_schema))?;
                let replace = self.replace_null_with_default && plan.defaults;
                if let Some(keep) = &plan.in_place {
                    // The input's vector becomes the output's: drop what is not kept.
                    if !plan.identity {
                        retain_flagged(&mut values, keep);
                    }
                    if replace {
                        for (v, &i) in values.iter_mut().zip(&plan.sources) {
                            if v.is_null() {
                                let null = std::mem::replace(v, Value::Null);
                                *v = with_default(null, &in_schema.fields[i], true);
                            }
                        }
                    }
                } else {
                    let mut out = Vec::with_capacity(plan.sources.len());
                    out.extend(plan.sources.iter().map(|&i| {
                        let v = std::mem::replace(&mut values[i], Value::Null);
                        with_default(v, &in_schema.fields[i], replace)
                    }));
                    values = out;
                }
                part.schema = Some(plan.schema.clone());
                part.value = Value::Struct(new_struct(plan.schema.clone(), values)?);
            }
        }
        Ok(())
    }
}

impl Transform for ReplaceField {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        self.replace(&mut record)?;
        Ok(Some(record))
    }
}
