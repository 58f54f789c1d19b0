//! Reading and editing a record by dotted path (`value.after.email`, `key.id`).
//!
//! A path is rooted at `key` or `value` and walks struct fields, string-keyed map
//! entries and array indexes. Setting a field a struct lacks adds it as optional and
//! widens the schemas from the root down to it; removing a struct field narrows them.
//! Either way the new root schema is cached per (input schema, path), so every record
//! of one input schema gets the same output `Arc`. Paths cannot name fields that
//! contain a dot.

use std::sync::Arc;

use sluice_core::{Field, Record, SchemaAndValue, SchemaRef, Struct, Type, Value};

use crate::convert::{derive_schema, from_wit, to_wit};
use crate::host::WitValue;

/// Splits `path` into its root (true for `key`) and the rest (empty for the root itself).
fn split_root(path: &str) -> Result<(bool, &str), String> {
    let (root, rest) = path.split_once('.').unwrap_or((path, ""));
    match root {
        "key" => Ok((true, rest)),
        "value" => Ok((false, rest)),
        _ => Err(format!(
            "path {path:?} must start with \"key\" or \"value\""
        )),
    }
}

fn root_mut(record: &mut Record, key: bool) -> &mut SchemaAndValue {
    if key {
        &mut record.key
    } else {
        &mut record.value
    }
}

/// The value at `path`, or `None` when absent (a present null is `Some(null)`).
pub(crate) fn get(record: &Record, path: &str) -> Option<WitValue> {
    let (key, rest) = split_root(path).ok()?;
    let mut value = if key {
        &record.key.value
    } else {
        &record.value.value
    };
    if !rest.is_empty() {
        for seg in rest.split('.') {
            value = child(value, seg)?;
        }
    }
    Some(to_wit(value))
}

fn child<'a>(value: &'a Value, seg: &str) -> Option<&'a Value> {
    match value {
        Value::Struct(s) => s.get(seg),
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(seg))
            .map(|(_, v)| v),
        Value::Array(items) => items.get(seg.parse::<usize>().ok()?),
        _ => None,
    }
}

/// Sets the value at `path`, adding a missing struct field as optional.
pub(crate) fn set(
    record: &mut Record,
    path: &str,
    v: WitValue,
    cache: &mut SchemaCache,
) -> Result<(), String> {
    let (key, rest) = split_root(path)?;
    let sv = root_mut(record, key);
    let wrap = |e: String| format!("cannot set {path}: {e}");
    if rest.is_empty() {
        sv.value = from_wit(v, sv.schema.as_ref()).map_err(wrap)?;
        return Ok(());
    }
    if sv.value.is_null() && sv.schema.is_none() {
        sv.value = Value::Map(Vec::new());
    }
    with_segments(rest, |segs| {
        match set_in(&mut sv.value, sv.schema.clone(), segs, v).map_err(wrap)? {
            None => Ok(()),
            Some(v) => add_field(sv, path, segs, v, cache).map_err(wrap),
        }
    })
}

/// Calls `f` with the dot-separated segments of `rest`, kept on the stack when few.
fn with_segments<R>(rest: &str, f: impl FnOnce(&[&str]) -> R) -> R {
    let mut buf = [""; 16];
    let mut n = 0;
    for seg in rest.split('.') {
        if n == buf.len() {
            let all: Vec<&str> = rest.split('.').collect();
            return f(&all);
        }
        buf[n] = seg;
        n += 1;
    }
    f(&buf[..n])
}

/// Sets `segs` below `value`; gives `v` back when the last segment names a field its
/// struct lacks (the caller widens the schema).
fn set_in(
    value: &mut Value,
    schema: Option<SchemaRef>,
    segs: &[&str],
    v: WitValue,
) -> Result<Option<WitValue>, String> {
    let Some((seg, rest)) = segs.split_first() else {
        *value = from_wit(v, schema.as_ref())?;
        return Ok(None);
    };
    match value {
        Value::Struct(s) => {
            let Some(field) = s.schema().field(seg) else {
                if rest.is_empty() {
                    return Ok(Some(v));
                }
                return Err(format!("{seg} is not a field of its struct"));
            };
            let (index, field_schema) = (field.index, field.schema.clone());
            set_in(&mut s.values_mut()[index], Some(field_schema), rest, v)
        }
        Value::Map(entries) => {
            let item_schema = schema.as_ref().and_then(|s| s.value_schema.clone());
            if let Some((_, slot)) = entries.iter_mut().find(|(k, _)| k.as_str() == Some(seg)) {
                return set_in(slot, item_schema, rest, v);
            }
            let key_schema = schema.as_ref().and_then(|s| s.key_schema.as_ref());
            if key_schema.is_some_and(|k| k.ty != Type::String) {
                return Err(format!("{seg}: the map's keys are not strings"));
            }
            let mut fresh = match (rest.is_empty(), &item_schema) {
                (true, _) => Value::Null,
                (false, None) => Value::Map(Vec::new()),
                (false, Some(_)) => return Err(format!("{seg} is absent")),
            };
            let back = set_in(&mut fresh, item_schema, rest, v)?;
            entries.push((Value::String((*seg).to_owned()), fresh));
            Ok(back)
        }
        Value::Array(items) => {
            let item_schema = schema.as_ref().and_then(|s| s.value_schema.clone());
            let len = items.len();
            let item = seg
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get_mut(i))
                .ok_or_else(|| format!("{seg} is not an index of an array of {len}"))?;
            set_in(item, item_schema, rest, v)
        }
        Value::Null => Err(format!("{seg}: its parent is null")),
        other => Err(format!(
            "{seg}: its parent is a {}, not a struct or map",
            other.kind()
        )),
    }
}

/// Adds the missing field at `segs` holding `v`, widening the schemas on the way.
fn add_field(
    sv: &mut SchemaAndValue,
    path: &str,
    segs: &[&str],
    v: WitValue,
    cache: &mut SchemaCache,
) -> Result<(), String> {
    let Value::Struct(root) = &sv.value else {
        return Err("the root is not a struct".into());
    };
    let input = root.schema().clone();
    check_chain(&sv.value, &input, &segs[..segs.len() - 1])?;
    let leaf_schema = derive_schema(&v)?;
    let output = match cache.get(&input, path, Some(&leaf_schema)) {
        Some(s) => s,
        None => {
            let s = with_field(&input, segs, leaf_schema.clone())?;
            cache.put(input, path, Some(leaf_schema), s.clone());
            s
        }
    };
    let leaf_schema = schema_at(&output, segs).ok_or("the widened schema lost the field")?;
    let mut leaf = Some(from_wit(v, Some(&leaf_schema))?);
    rebuild(&mut sv.value, &output, segs, &mut |_, values| {
        values.extend(leaf.take());
    })?;
    if sv.schema.is_some() {
        sv.schema = Some(output);
    }
    Ok(())
}

/// Removes the value at `path`; true when it existed. Removing `key` or `value` itself
/// makes it null.
pub(crate) fn remove(record: &mut Record, path: &str, cache: &mut SchemaCache) -> bool {
    let Ok((key, rest)) = split_root(path) else {
        return false;
    };
    let sv = root_mut(record, key);
    if rest.is_empty() {
        let existed = !sv.value.is_null();
        *sv = SchemaAndValue::NULL;
        return existed;
    }
    with_segments(rest, |segs| match remove_in(&mut sv.value, segs) {
        Removal::Done(existed) => existed,
        Removal::StructField => match remove_field(sv, path, segs, cache) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("cannot remove {path}: {e}");
                false
            }
        },
    })
}

enum Removal {
    /// Removed (true) or absent (false).
    Done(bool),
    /// The path names a struct field: the schema must narrow.
    StructField,
}

fn remove_in(value: &mut Value, segs: &[&str]) -> Removal {
    let Some((seg, rest)) = segs.split_first() else {
        return Removal::Done(false);
    };
    match value {
        Value::Struct(s) => match s.schema().field(seg).map(|f| f.index) {
            None => Removal::Done(false),
            Some(_) if rest.is_empty() => Removal::StructField,
            Some(i) => remove_in(&mut s.values_mut()[i], rest),
        },
        Value::Map(entries) => {
            let Some(i) = entries.iter().position(|(k, _)| k.as_str() == Some(seg)) else {
                return Removal::Done(false);
            };
            if rest.is_empty() {
                entries.remove(i);
                return Removal::Done(true);
            }
            remove_in(&mut entries[i].1, rest)
        }
        Value::Array(items) => match seg.parse::<usize>().ok().filter(|i| *i < items.len()) {
            None => Removal::Done(false),
            Some(i) if rest.is_empty() => {
                items.remove(i);
                Removal::Done(true)
            }
            Some(i) => remove_in(&mut items[i], rest),
        },
        _ => Removal::Done(false),
    }
}

/// Removes the struct field at `segs`, narrowing the schemas on the way.
fn remove_field(
    sv: &mut SchemaAndValue,
    path: &str,
    segs: &[&str],
    cache: &mut SchemaCache,
) -> Result<(), String> {
    let Value::Struct(root) = &sv.value else {
        return Err("the root is not a struct".into());
    };
    let input = root.schema().clone();
    check_chain(&sv.value, &input, &segs[..segs.len() - 1])?;
    let output = match cache.get(&input, path, None) {
        Some(s) => s,
        None => {
            let s = without_field(&input, segs)?;
            cache.put(input, path, None, s.clone());
            s
        }
    };
    let name = segs[segs.len() - 1];
    rebuild(&mut sv.value, &output, segs, &mut |old, values| {
        if let Some(f) = old.field(name) {
            values.remove(f.index);
        }
    })?;
    if sv.schema.is_some() {
        sv.schema = Some(output);
    }
    Ok(())
}

/// Checks that `segs` walks structs only (each matching its schema), so a rebuild
/// cannot fail halfway.
fn check_chain(value: &Value, schema: &SchemaRef, segs: &[&str]) -> Result<(), String> {
    let Value::Struct(s) = value else {
        return Err(format!("expected a struct, found a {}", value.kind()));
    };
    if s.values().len() != schema.fields.len() {
        return Err("a struct does not match its schema".into());
    }
    let Some((seg, rest)) = segs.split_first() else {
        return Ok(());
    };
    let field = schema
        .field(seg)
        .ok_or_else(|| format!("{seg} is not a field"))?;
    check_chain(&s.values()[field.index], &field.schema, rest).map_err(|e| format!("{seg}: {e}"))
}

/// The schema at `segs` below a struct schema.
fn schema_at(schema: &SchemaRef, segs: &[&str]) -> Option<SchemaRef> {
    segs.iter().try_fold(schema.clone(), |s, seg| {
        s.field(seg).map(|f| f.schema.clone())
    })
}

/// `schema` with an optional field added at `segs`.
fn with_field(schema: &SchemaRef, segs: &[&str], leaf: SchemaRef) -> Result<SchemaRef, String> {
    let mut out = (**schema).clone();
    match segs {
        [name] => {
            let index = out.fields.len();
            out.fields.push(Field {
                name: (*name).to_owned(),
                index,
                schema: leaf,
            });
        }
        [seg, rest @ ..] => {
            let field = out
                .fields
                .iter_mut()
                .find(|f| f.name == *seg)
                .ok_or_else(|| format!("{seg} is not a field"))?;
            field.schema = with_field(&field.schema, rest, leaf)?;
        }
        [] => return Err("empty path".into()),
    }
    Ok(Arc::new(out))
}

/// `schema` without the field at `segs` (later fields move up one index).
fn without_field(schema: &SchemaRef, segs: &[&str]) -> Result<SchemaRef, String> {
    let mut out = (**schema).clone();
    match segs {
        [name] => {
            out.fields.retain(|f| f.name != *name);
            for (i, f) in out.fields.iter_mut().enumerate() {
                f.index = i;
            }
        }
        [seg, rest @ ..] => {
            let field = out
                .fields
                .iter_mut()
                .find(|f| f.name == *seg)
                .ok_or_else(|| format!("{seg} is not a field"))?;
            field.schema = without_field(&field.schema, rest)?;
        }
        [] => return Err("empty path".into()),
    }
    Ok(Arc::new(out))
}

/// Gives every struct on `segs` its schema from `schema` (the widened or narrowed
/// root); `leaf` edits the values of the last struct, given its old schema.
fn rebuild(
    value: &mut Value,
    schema: &SchemaRef,
    segs: &[&str],
    leaf: &mut dyn FnMut(&SchemaRef, &mut Vec<Value>),
) -> Result<(), String> {
    let Value::Struct(s) = value else {
        return Err("expected a struct".into());
    };
    let mut values: Vec<Value> = s
        .values_mut()
        .iter_mut()
        .map(|v| std::mem::replace(v, Value::Null))
        .collect();
    match segs {
        [_] => leaf(s.schema(), &mut values),
        [seg, rest @ ..] => {
            let field = schema.field(seg).ok_or("the schema lost a field")?;
            rebuild(&mut values[field.index], &field.schema, rest, leaf)?;
        }
        [] => return Err("empty path".into()),
    }
    *s = Struct::from_values(schema.clone(), values).map_err(|e| e.to_string())?;
    Ok(())
}

/// Widened and narrowed schemas, per (input schema, path, added field's schema).
#[derive(Default)]
pub(crate) struct SchemaCache {
    entries: Vec<CacheEntry>,
}

struct CacheEntry {
    /// Kept alive so its address is never reused by another schema.
    input: SchemaRef,
    path: Box<str>,
    added: Option<SchemaRef>,
    output: SchemaRef,
}

impl SchemaCache {
    /// Entries kept; the oldest goes first past this.
    const CAPACITY: usize = 64;

    fn get(&self, input: &SchemaRef, path: &str, added: Option<&SchemaRef>) -> Option<SchemaRef> {
        self.entries
            .iter()
            .find(|e| {
                Arc::ptr_eq(&e.input, input)
                    && &*e.path == path
                    && match (&e.added, added) {
                        (None, None) => true,
                        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
                        _ => false,
                    }
            })
            .map(|e| e.output.clone())
    }

    fn put(&mut self, input: SchemaRef, path: &str, added: Option<SchemaRef>, output: SchemaRef) {
        if self.entries.len() >= Self::CAPACITY {
            self.entries.remove(0);
        }
        self.entries.push(CacheEntry {
            input,
            path: path.into(),
            added,
            output,
        });
    }
}
