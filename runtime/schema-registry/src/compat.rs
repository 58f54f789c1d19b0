//! Compatibility of a new Avro schema with a subject's earlier versions, by Avro's schema
//! resolution rules (the specification's "Schema Resolution", as Avro's Java
//! `SchemaCompatibility` and Confluent's `AvroSchema.isCompatible` apply them):
//! - BACKWARD: the new schema (reader) must read data written with the old one (writer);
//!   FORWARD: the old schema (reader) must read data written with the new one; FULL: both.
//!   The plain levels check against the latest live version, the `_TRANSITIVE` ones against
//!   every live version; NONE checks nothing.
//! - A reader record field missing from the writer needs a default (so adding a field
//!   without a default breaks BACKWARD, and removing one without a default breaks
//!   FORWARD); writer fields the reader lacks are skipped. Fields match by name or by the
//!   reader field's aliases; named types match by unqualified name or reader aliases.
//! - Promotions: int → long, float, double; long → float, double; float → double;
//!   string ↔ bytes. A writer union needs every branch readable; a reader union needs one
//!   branch that reads the writer. An enum reader needs every writer symbol unless it has
//!   a default; fixed sizes must match.
//! - Recursive named types: a (reader, writer) pair already being compared further up
//!   is taken as compatible, which is what makes the recursion finish (as Avro does).
//!
//! Messages follow Confluent's `{errorType:'…', description:'…', additionalInfo:'…'}`
//! items, followed by `{oldSchemaVersion: N}`, `{oldSchema: '…'}` and
//! `{compatibility: 'LEVEL'}`, and name the field and what to do.
//!
//! Not checked (accepted as under NONE): PROTOBUF and JSON schemas, and Avro schemas with
//! `references` (their named types live in other subjects).

use std::collections::HashSet;

use crate::avro::{AvroSchema, AvroType, NamedType};
use crate::model::{CompatibilityLevel, SchemaType, StoredSchema, SubjectVersion};

/// The incompatibilities of `new` with `previous` (a subject's live versions, oldest
/// first) under `level`; empty when compatible. Stops at the newest incompatible version.
pub fn check(
    level: CompatibilityLevel,
    new: &StoredSchema,
    previous: &[SubjectVersion],
) -> Vec<String> {
    if level == CompatibilityLevel::None
        || new.schema_type != SchemaType::Avro
        || !new.references.is_empty()
    {
        return Vec::new();
    }
    let Some(new_schema) = parse(new) else {
        return Vec::new();
    };
    let checked: Vec<&SubjectVersion> = if level.is_transitive() {
        previous.iter().rev().collect()
    } else {
        previous.last().into_iter().collect()
    };
    for old in checked {
        let mut found = Vec::new();
        if old.schema.schema_type != SchemaType::Avro {
            found.push(format!(
                "{{errorType:'TYPE_MISMATCH', description:'The new schema is AVRO but version {} is {}; a subject keeps one schema type', additionalInfo:'schemaType'}}",
                old.version,
                old.schema.schema_type.name()
            ));
        } else if !old.schema.references.is_empty() {
            continue;
        } else if let Some(old_schema) = parse(&old.schema) {
            if level.checks_backward() {
                found.extend(incompatibilities(
                    &new_schema,
                    &old_schema,
                    Direction::Backward,
                ));
            }
            if level.checks_forward() {
                found.extend(incompatibilities(
                    &old_schema,
                    &new_schema,
                    Direction::Forward,
                ));
            }
        }
        if !found.is_empty() {
            found.push(format!("{{oldSchemaVersion: {}}}", old.version));
            found.push(format!("{{oldSchema: '{}'}}", old.schema.schema));
            found.push(format!("{{compatibility: '{}'}}", level.name()));
            return found;
        }
    }
    Vec::new()
}

fn parse(schema: &StoredSchema) -> Option<AvroSchema> {
    let json = serde_json::from_str(&schema.schema).ok()?;
    AvroSchema::parse(&json).ok()
}

/// Which schema reads: the new one (BACKWARD) or the old one (FORWARD).
#[derive(Clone, Copy)]
enum Direction {
    Backward,
    Forward,
}

impl Direction {
    fn reader(self) -> &'static str {
        match self {
            Direction::Backward => "new",
            Direction::Forward => "old",
        }
    }

    fn writer(self) -> &'static str {
        match self {
            Direction::Backward => "old",
            Direction::Forward => "new",
        }
    }
}

/// The incompatibilities of reading data written with `writer` using `reader`.
fn incompatibilities(
    reader: &AvroSchema,
    writer: &AvroSchema,
    direction: Direction,
) -> Vec<String> {
    let mut resolver = Resolver {
        reader,
        writer,
        direction,
        in_progress: HashSet::new(),
        found: Vec::new(),
    };
    resolver.resolve(&reader.root, &writer.root, "", None);
    resolver.found
}

struct Resolver<'a> {
    reader: &'a AvroSchema,
    writer: &'a AvroSchema,
    direction: Direction,
    in_progress: HashSet<(String, String)>,
    found: Vec<String>,
}

fn type_name(t: &AvroType) -> String {
    match t {
        AvroType::Null => "null".into(),
        AvroType::Boolean => "boolean".into(),
        AvroType::Int => "int".into(),
        AvroType::Long => "long".into(),
        AvroType::Float => "float".into(),
        AvroType::Double => "double".into(),
        AvroType::Bytes => "bytes".into(),
        AvroType::String => "string".into(),
        AvroType::Array(_) => "array".into(),
        AvroType::Map(_) => "map".into(),
        AvroType::Union(_) => "union".into(),
        AvroType::Named(name) => name.clone(),
    }
}

/// Whether a reader of type `reader` reads a writer primitive `writer` (same or promoted).
fn primitive_reads(reader: &AvroType, writer: &AvroType) -> bool {
    use AvroType::*;
    matches!(
        (reader, writer),
        (Null, Null)
            | (Boolean, Boolean)
            | (Int, Int)
            | (Long, Int | Long)
            | (Float, Int | Long | Float)
            | (Double, Int | Long | Float | Double)
            | (Bytes, Bytes | String)
            | (String, String | Bytes)
    )
}

impl Resolver<'_> {
    fn report(&mut self, error_type: &str, description: String, info: &str) {
        self.found.push(format!(
            "{{errorType:'{error_type}', description:'{description}', additionalInfo:'{info}'}}"
        ));
    }

    fn where_(path: &str, field: Option<&str>) -> String {
        let path = if path.is_empty() { "/" } else { path };
        match field {
            Some(field) => format!("at path '{path}' (field '{field}')"),
            None => format!("at path '{path}'"),
        }
    }

    /// Whether `reader` reads `writer`, without reporting.
    fn reads(&self, reader: &AvroType, writer: &AvroType) -> bool {
        let mut trial = Resolver {
            reader: self.reader,
            writer: self.writer,
            direction: self.direction,
            in_progress: self.in_progress.clone(),
            found: Vec::new(),
        };
        trial.resolve(reader, writer, "", None);
        trial.found.is_empty()
    }

    fn resolve(&mut self, reader: &AvroType, writer: &AvroType, path: &str, field: Option<&str>) {
        let (r, w) = (self.direction.reader(), self.direction.writer());
        if let AvroType::Union(branches) = writer {
            if !matches!(reader, AvroType::Union(_)) {
                for (i, branch) in branches.iter().enumerate() {
                    if !self.reads(reader, branch) {
                        self.report(
                            "TYPE_MISMATCH",
                            format!(
                                "The {r} schema has type '{}' {} but the {w} schema has a union whose branch {i} ('{}') it cannot read",
                                type_name(reader),
                                Self::where_(path, field),
                                type_name(branch)
                            ),
                            field.unwrap_or(path),
                        );
                        return;
                    }
                }
                return;
            }
        }
        match (reader, writer) {
            (AvroType::Union(reader_branches), _) => {
                let writer_branches: Vec<&AvroType> = match writer {
                    AvroType::Union(branches) => branches.iter().collect(),
                    other => vec![other],
                };
                for (i, branch) in writer_branches.into_iter().enumerate() {
                    if !reader_branches.iter().any(|rb| self.reads(rb, branch)) {
                        self.report(
                            "MISSING_UNION_BRANCH",
                            format!(
                                "The {r} schema is missing a type inside a union {}: the {w} schema can write '{}' (branch {i}), which no branch of the {r} union reads",
                                Self::where_(path, field),
                                type_name(branch)
                            ),
                            field.unwrap_or(path),
                        );
                    }
                }
            }
            (AvroType::Array(ri), AvroType::Array(wi)) => {
                self.resolve(ri, wi, &format!("{path}/items"), field)
            }
            (AvroType::Map(rv), AvroType::Map(wv)) => {
                self.resolve(rv, wv, &format!("{path}/values"), field)
            }
            (AvroType::Named(rn), AvroType::Named(wn)) => self.named(rn, wn, path, field),
            _ if primitive_reads(reader, writer) => {}
            _ => self.report(
                "TYPE_MISMATCH",
                format!(
                    "The type {} is '{}' in the {r} schema and '{}' in the {w} schema, which Avro cannot resolve (promotions allowed: int to long, float, double; long to float, double; float to double; string and bytes)",
                    Self::where_(path, field),
                    type_name(reader),
                    type_name(writer)
                ),
                field.unwrap_or(path),
            ),
        }
    }

    fn named(&mut self, reader_name: &str, writer_name: &str, path: &str, field: Option<&str>) {
        let (r, w) = (self.direction.reader(), self.direction.writer());
        let (Some(rdef), Some(wdef)) = (
            self.reader.named.get(reader_name),
            self.writer.named.get(writer_name),
        ) else {
            return;
        };
        let same_name = AvroSchema::simple_name(reader_name)
            == AvroSchema::simple_name(writer_name)
            || rdef.aliases().iter().any(|a| a == writer_name);
        let kinds_match = matches!(
            (rdef, wdef),
            (NamedType::Record { .. }, NamedType::Record { .. })
                | (NamedType::Enum { .. }, NamedType::Enum { .. })
                | (NamedType::Fixed { .. }, NamedType::Fixed { .. })
        );
        if !kinds_match {
            self.report(
                "TYPE_MISMATCH",
                format!(
                    "The type {} is '{reader_name}' in the {r} schema and '{writer_name}' in the {w} schema, which are different kinds of named type",
                    Self::where_(path, field)
                ),
                field.unwrap_or(path),
            );
            return;
        }
        if !same_name {
            self.report(
                "NAME_MISMATCH",
                format!(
                    "The name {} is '{reader_name}' in the {r} schema and '{writer_name}' in the {w} schema; keep the name or add the other as an alias",
                    Self::where_(&format!("{path}/name"), field)
                ),
                writer_name,
            );
            return;
        }
        if !self
            .in_progress
            .insert((reader_name.to_string(), writer_name.to_string()))
        {
            return;
        }
        match (rdef, wdef) {
            (NamedType::Record { fields: rf, .. }, NamedType::Record { fields: wf, .. }) => {
                for (i, reader_field) in rf.iter().enumerate() {
                    let field_path = format!("{path}/fields/{i}");
                    let writer_field = wf
                        .iter()
                        .find(|f| f.name == reader_field.name)
                        .or_else(|| wf.iter().find(|f| reader_field.aliases.contains(&f.name)));
                    match writer_field {
                        Some(writer_field) => self.resolve(
                            &reader_field.field_type,
                            &writer_field.field_type,
                            &format!("{field_path}/type"),
                            Some(&reader_field.name),
                        ),
                        None if reader_field.default.is_some() => {}
                        None => {
                            let name = &reader_field.name;
                            let description = match self.direction {
                                Direction::Backward => format!(
                                    "The field '{name}' at path '{field_path}' in the new schema has no default value and is missing in the old schema: field '{name}' was added without a default value, so data written with the old schema cannot be read; give '{name}' a default"
                                ),
                                Direction::Forward => format!(
                                    "The field '{name}' at path '{field_path}' in the old schema has no default value and is missing in the new schema: field '{name}' was removed but has no default value in the old schema, so readers using the old schema cannot read new data; keep '{name}'"
                                ),
                            };
                            self.report("READER_FIELD_MISSING_DEFAULT_VALUE", description, name);
                        }
                    }
                }
            }
            (
                NamedType::Enum {
                    symbols: rs,
                    default,
                    ..
                },
                NamedType::Enum { symbols: ws, .. },
            ) => {
                let missing: Vec<&String> = ws.iter().filter(|s| !rs.contains(s)).collect();
                if !missing.is_empty() && default.is_none() {
                    let list = missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.report(
                        "MISSING_ENUM_SYMBOLS",
                        format!(
                            "The {r} schema is missing enum symbols '[{list}]' {} that the {w} schema can write; add them or give the enum a default",
                            Self::where_(&format!("{path}/symbols"), field)
                        ),
                        &list,
                    );
                }
            }
            (NamedType::Fixed { size: rs, .. }, NamedType::Fixed { size: ws, .. }) if rs != ws => {
                self.report(
                    "FIXED_SIZE_MISMATCH",
                    format!(
                        "The fixed type {} has size {rs} in the {r} schema and {ws} in the {w} schema",
                        Self::where_(&format!("{path}/size"), field)
                    ),
                    reader_name,
                );
            }
            _ => {}
        }
        self.in_progress
            .remove(&(reader_name.to_string(), writer_name.to_string()));
    }
}
