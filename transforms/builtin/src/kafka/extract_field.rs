//! `ExtractField$Key` / `ExtractField$Value`: replaces the key/value with one of its
//! fields (a struct field with a schema, a map entry without).
//!
//! As in Kafka Connect: a null key/value passes through (with the field's schema when
//! there is one); an unknown field is an error with a schema ("Unknown field: x") and
//! null without; with `replace.null.with.default` (default true) a null field reads as
//! its default. `field.syntax.version=V2` (KIP-821) makes `field` a dotted path into
//! nested structs/maps, with backticks around names that contain dots
//! (`` `a.b`.c ``); V1 (the default) takes the name literally.

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::plugin::Transform;
use sluice_core::{ConnectError, Field, Record, Schema, Value};

use crate::util::{
    map_get, parse_config, replace_null_with_default_key, require_map_ref, require_struct_ref,
    with_default, Result, Side,
};

const PURPOSE: &str = "field extraction";

/// `field`, `field.syntax.version`, `replace.null.with.default`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("field", ConfigType::String)
                .importance(Importance::Medium)
                .doc("Field name to extract."),
        )
        .define(field_syntax_version_key())
        .define(replace_null_with_default_key())
}

/// KIP-821's `field.syntax.version`.
pub(crate) fn field_syntax_version_key() -> ConfigKey {
    ConfigKey::new("field.syntax.version", ConfigType::String)
        .default("V1")
        .importance(Importance::High)
        .validator(Validator::OneOf(&["V1", "V2"]))
        .doc("Defines the version of the syntax to access fields. If set to <code>V1</code>, then the field paths are limited to access the elements at the root level of the struct or map. If set to <code>V2</code>, the syntax will support accessing nested elements. To access nested elements, dotted notation is used. If dots are already included in the field name, then backtick pairs can be used to wrap field names containing dots. E.g. to access the subfield <code>baz</code> from a field named \"foo.bar\" in a struct/map the following format can be used to access its elements: \"<code>foo.bar</code>.baz\".")
}

side_plugins!("ExtractField", config_def, build);

fn build(side: Side, config: &ConfigMap) -> Result<Box<dyn Transform>> {
    let class = if side == Side::Key {
        KEY.info.class
    } else {
        VALUE.info.class
    };
    let cfg = parse_config(class, &config_def(), config)?;
    let field = cfg.string("field").unwrap_or_default().to_owned();
    let path = if cfg
        .string_or_default("field.syntax.version")
        .eq_ignore_ascii_case("V2")
    {
        path_v2(&field).map_err(|e| ConnectError::config("field", &field, e))?
    } else {
        vec![field.clone()]
    };
    Ok(Box::new(ExtractField {
        side,
        field,
        path,
        replace_null_with_default: cfg.bool("replace.null.with.default"),
    }))
}

/// KIP-821 V2 path syntax: dots separate steps; a step in backticks may contain dots;
/// `` \` `` before a closing-looking backtick keeps it in the name.
pub(crate) fn path_v2(path: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = path.chars().collect();
    let incomplete = |at: usize| {
        format!("Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick at position {at} to escape it")
    };
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            let start = i;
            while i < chars.len() && chars[i] != '.' {
                i += 1;
            }
            steps.push(chars[start..i].iter().collect());
            i += 1;
            continue;
        }
        let opened = i;
        i += 1;
        let mut start = i;
        let mut field = String::new();
        loop {
            let Some(rel) = chars[i..].iter().position(|c| *c == '`') else {
                return Err(incomplete(opened));
            };
            i += rel;
            let escaped = chars[i - 1] == '\\';
            if i >= chars.len() - 1 {
                if escaped {
                    return Err(incomplete(opened));
                }
                field.extend(&chars[start..i]);
                steps.push(std::mem::take(&mut field));
                i += 1;
                break;
            }
            if chars[i + 1] != '.' {
                i += 1;
                continue;
            }
            if escaped {
                field.extend(&chars[start..i - 1]);
                field.push('`');
                i += 1;
                start = i;
                continue;
            }
            field.extend(&chars[start..i]);
            steps.push(std::mem::take(&mut field));
            i += 2;
            break;
        }
    }
    if path.ends_with('.') {
        steps.push(String::new());
    }
    Ok(steps)
}

struct ExtractField {
    side: Side,
    field: String,
    path: Vec<String>,
    replace_null_with_default: bool,
}

impl ExtractField {
    fn field_from<'a>(&self, schema: &'a Schema) -> Option<&'a Field> {
        let (last, init) = self.path.split_last()?;
        let mut current = schema;
        for step in init {
            current = &current.field(step)?.schema;
        }
        current.field(last)
    }

    fn value_from_struct(&self, value: &Value) -> Result<Value> {
        let Some((last, init)) = self.path.split_last() else {
            return Ok(Value::Null);
        };
        let replace = self.replace_null_with_default;
        let read = |s: &'_ sluice_core::Struct, f: &'_ Field| -> Option<Value> {
            let v = &s.values()[f.index];
            match (v, &f.schema.default) {
                (Value::Null, Some(d)) if replace => Some(d.clone()),
                _ => None,
            }
        };
        let mut current = require_struct_ref(value, PURPOSE)?;
        for step in init {
            let Some(f) = current.schema().field(step) else {
                return Ok(Value::Null);
            };
            let v = &current.values()[f.index];
            let v = match (v, &f.schema.default) {
                (Value::Null, Some(d)) if replace => d,
                _ => v,
            };
            match v {
                Value::Struct(s) => current = s,
                Value::Null => return Ok(Value::Null),
                other => {
                    require_struct_ref(other, "nested field access")?;
                }
            }
        }
        Ok(match current.schema().field(last) {
            Some(f) => read(current, f).unwrap_or_else(|| current.values()[f.index].clone()),
            None => Value::Null,
        })
    }

    fn value_from_map(&self, value: &Value) -> Result<Value> {
        let Some((last, init)) = self.path.split_last() else {
            return Ok(Value::Null);
        };
        let mut current = require_map_ref(value, PURPOSE)?;
        for step in init {
            match map_get(current, step) {
                None | Some(Value::Null) => return Ok(Value::Null),
                Some(v) => current = require_map_ref(v, "nested field access")?,
            }
        }
        Ok(map_get(current, last).cloned().unwrap_or(Value::Null))
    }
}

impl Transform for ExtractField {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let part = self.side.part_mut(&mut record);
        match part.schema.clone() {
            None => {
                if !part.value.is_null() {
                    part.value = self.value_from_map(&part.value)?;
                }
            }
            Some(schema) => {
                let field = self
                    .field_from(&schema)
                    .ok_or_else(|| ConnectError::Data(format!("Unknown field: {}", self.field)))?;
                let field_schema = field.schema.clone();
                if !part.value.is_null() {
                    part.value = if self.path.len() == 1 {
                        let s = require_struct_ref(&part.value, PURPOSE)?;
                        match s.schema().field(&self.path[0]) {
                            Some(f) => {
                                let f = f.clone();
                                let mut value = std::mem::replace(&mut part.value, Value::Null);
                                let taken = match &mut value {
                                    Value::Struct(s) => {
                                        std::mem::replace(&mut s.values_mut()[f.index], Value::Null)
                                    }
                                    _ => Value::Null,
                                };
                                with_default(taken, &f, self.replace_null_with_default)
                            }
                            None => Value::Null,
                        }
                    } else {
                        self.value_from_struct(&part.value)?
                    };
                }
                part.schema = Some(field_schema);
            }
        }
        Ok(Some(record))
    }
}
