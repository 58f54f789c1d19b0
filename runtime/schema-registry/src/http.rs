//! The HTTP API: Confluent Schema Registry's paths, verbs, JSON shapes and status codes
//! (Confluent's "Schema Registry API reference"), so Confluent's own clients (Java
//! `CachedSchemaRegistryClient`, Python `SchemaRegistryClient`, `curl` recipes) work
//! unchanged.
//!
//! - Responses carry `Content-Type: application/vnd.schemaregistry.v1+json`. Request bodies
//!   are read as JSON whatever their content type (Confluent accepts the v1, the
//!   unversioned vnd type, `application/json` and `application/octet-stream`).
//! - Errors are `{"error_code": N, "message": "..."}` with Confluent's codes (`error`).
//! - `schemaType` is omitted for AVRO and `references` when empty, as Confluent's
//!   entities do (Jackson `NON_EMPTY`, AVRO converted to null).
//! - `?format=serialized` on the schema-by-id and subject-version reads serves a PROTOBUF
//!   schema as a base64 `FileDescriptorProto` ([`protobuf`]); other formats are served as
//!   stored.
//! - Path parameters are taken as text and parsed here, so a bad id or version gets
//!   Confluent's error body rather than a framework rejection.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::error::RegistryError;
use crate::model::{CompatibilityLevel, SchemaType, StoredSchema, SubjectVersion};
use crate::protobuf;
use crate::schema::SchemaRequest;
use crate::store::{SchemaStore, VersionSpec};

/// The media type of every response.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

type Reply = Result<Response, RegistryError>;
type Params = Query<HashMap<String, String>>;

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(error = %self, "schema registry request failed");
        }
        let body = json!({"error_code": self.error_code(), "message": self.to_string()});
        (
            status,
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            body.to_string(),
        )
            .into_response()
    }
}

fn reply(body: &Value) -> Reply {
    Ok(raw(body.to_string()))
}

fn raw(body: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

fn flag(params: &HashMap<String, String>, name: &str) -> bool {
    params
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn parse_id(text: &str) -> Result<i32, RegistryError> {
    text.parse()
        .map_err(|_| RegistryError::SchemaNotFound(text.to_string()))
}

/// The router of the registry API over a store.
pub fn router(store: SchemaStore) -> Router {
    Router::new()
        .route("/", get(|| async { reply(&json!({})) }))
        .route("/schemas/types", get(schema_types))
        .route("/schemas/ids/{id}", get(schema_by_id))
        .route("/schemas/ids/{id}/schema", get(schema_text_by_id))
        .route("/schemas/ids/{id}/subjects", get(subjects_by_id))
        .route("/schemas/ids/{id}/versions", get(versions_by_id))
        .route("/subjects", get(list_subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route(
            "/subjects/{subject}/versions",
            get(list_versions).post(register),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            get(get_version).delete(delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(get_version_schema),
        )
        .route(
            "/subjects/{subject}/versions/{version}/referencedby",
            get(referenced_by),
        )
        .route("/config", get(get_global_config).put(put_global_config))
        .route(
            "/config/{subject}",
            get(get_subject_config)
                .put(put_subject_config)
                .delete(delete_subject_config),
        )
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(test_against_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(test_against_version),
        )
        .route(
            "/mode",
            get(|| async { reply(&json!({"mode": "READWRITE"})) }),
        )
        .route("/contexts", get(|| async { reply(&json!(["."])) }))
        .fallback(|| async {
            let body = json!({"error_code": 404, "message": "HTTP 404 Not Found"});
            (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, CONTENT_TYPE)],
                body.to_string(),
            )
        })
        .with_state(store)
}

/// `schemaType` and `references` as Confluent adds them to a schema body.
fn add_type_and_references(out: &mut Map<String, Value>, schema: &StoredSchema) {
    if schema.schema_type != SchemaType::Avro {
        out.insert("schemaType".into(), json!(schema.schema_type.name()));
    }
    if !schema.references.is_empty() {
        out.insert("references".into(), json!(schema.references));
    }
}

fn version_body(version: &SubjectVersion, schema_text: String) -> Value {
    let mut out = Map::new();
    out.insert("subject".into(), json!(version.subject));
    out.insert("version".into(), json!(version.version));
    out.insert("id".into(), json!(version.id));
    add_type_and_references(&mut out, &version.schema);
    out.insert("schema".into(), json!(schema_text));
    Value::Object(out)
}

/// The schema text in the `format` the query asks for (see [`protobuf::formatted`]).
fn formatted(
    store: &SchemaStore,
    schema: &StoredSchema,
    params: &HashMap<String, String>,
) -> Result<String, RegistryError> {
    protobuf::formatted(store, schema, params.get("format").map(String::as_str))
}

async fn schema_types() -> Reply {
    reply(&json!(["JSON", "PROTOBUF", "AVRO"]))
}

async fn schema_by_id(
    State(store): State<SchemaStore>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Reply {
    let schema = store.schema_by_id(parse_id(&id)?)?;
    let mut out = Map::new();
    add_type_and_references(&mut out, &schema);
    out.insert("schema".into(), json!(formatted(&store, &schema, &params)?));
    reply(&Value::Object(out))
}

async fn schema_text_by_id(
    State(store): State<SchemaStore>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Reply {
    let schema = store.schema_by_id(parse_id(&id)?)?;
    Ok(raw(formatted(&store, &schema, &params)?))
}

async fn subjects_by_id(
    State(store): State<SchemaStore>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Reply {
    let mut subjects: Vec<String> = store
        .uses_of(parse_id(&id)?, flag(&params, "deleted"))?
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    subjects.dedup();
    reply(&json!(page(subjects, &params)))
}

async fn versions_by_id(
    State(store): State<SchemaStore>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Reply {
    let uses: Vec<Value> = store
        .uses_of(parse_id(&id)?, flag(&params, "deleted"))?
        .into_iter()
        .map(|(subject, version)| json!({"subject": subject, "version": version}))
        .collect();
    reply(&json!(page(uses, &params)))
}

/// `offset` and `limit` (negative: no limit) as Confluent pages lists.
fn page<T>(items: Vec<T>, params: &HashMap<String, String>) -> Vec<T> {
    let number = |name: &str| params.get(name).and_then(|v| v.parse::<i64>().ok());
    let offset = number("offset").unwrap_or(0).max(0) as usize;
    let limit = number("limit")
        .filter(|&l| l >= 0)
        .map_or(usize::MAX, |l| l as usize);
    items.into_iter().skip(offset).take(limit).collect()
}

async fn list_subjects(State(store): State<SchemaStore>, Query(params): Params) -> Reply {
    let prefix = params
        .get("subjectPrefix")
        .map(String::as_str)
        .unwrap_or("");
    let subjects: Vec<String> = if flag(&params, "deleted_only") {
        let live = store.subjects(false);
        store
            .subjects(true)
            .into_iter()
            .filter(|s| !live.contains(s))
            .collect()
    } else {
        store.subjects(flag(&params, "deleted"))
    };
    let subjects: Vec<String> = subjects
        .into_iter()
        .filter(|s| s.starts_with(prefix))
        .collect();
    reply(&json!(page(subjects, &params)))
}

async fn list_versions(
    State(store): State<SchemaStore>,
    Path(subject): Path<String>,
    Query(params): Params,
) -> Reply {
    let versions = store.version_numbers(&subject, flag(&params, "deleted"))?;
    reply(&json!(page(versions, &params)))
}

async fn register(
    State(store): State<SchemaStore>,
    Path(subject): Path<String>,
    body: Bytes,
) -> Reply {
    let schema = SchemaRequest::from_body(&body)?.to_stored()?;
    let id = store.register(&subject, schema).await?;
    reply(&json!({ "id": id }))
}

async fn lookup(
    State(store): State<SchemaStore>,
    Path(subject): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Reply {
    let schema = SchemaRequest::from_body(&body)?.to_stored()?;
    let found = store.lookup(&subject, &schema, flag(&params, "deleted"))?;
    let text = found.schema.schema.clone();
    reply(&version_body(&found, text))
}

async fn delete_subject(
    State(store): State<SchemaStore>,
    Path(subject): Path<String>,
    Query(params): Params,
) -> Reply {
    let versions = store
        .delete_subject(&subject, flag(&params, "permanent"))
        .await?;
    reply(&json!(versions))
}

async fn get_version(
    State(store): State<SchemaStore>,
    Path((subject, version)): Path<(String, String)>,
    Query(params): Params,
) -> Reply {
    let spec = VersionSpec::parse(&version)?;
    let found = store.version(&subject, spec, flag(&params, "deleted"))?;
    let text = formatted(&store, &found.schema, &params)?;
    reply(&version_body(&found, text))
}

async fn get_version_schema(
    State(store): State<SchemaStore>,
    Path((subject, version)): Path<(String, String)>,
    Query(params): Params,
) -> Reply {
    let spec = VersionSpec::parse(&version)?;
    let found = store.version(&subject, spec, flag(&params, "deleted"))?;
    Ok(raw(formatted(&store, &found.schema, &params)?))
}

async fn referenced_by(
    State(store): State<SchemaStore>,
    Path((subject, version)): Path<(String, String)>,
) -> Reply {
    let spec = VersionSpec::parse(&version)?;
    reply(&json!(store.referenced_by(&subject, spec)?))
}

async fn delete_version(
    State(store): State<SchemaStore>,
    Path((subject, version)): Path<(String, String)>,
    Query(params): Params,
) -> Reply {
    let spec = VersionSpec::parse(&version)?;
    let deleted = store
        .delete_version(&subject, spec, flag(&params, "permanent"))
        .await?;
    reply(&json!(deleted))
}

/// The level named by a `{"compatibility": "..."}` body, or 42203.
fn level_from_body(body: &[u8]) -> Result<CompatibilityLevel, RegistryError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        RegistryError::UnprocessableBody(format!(
            "expected {{\"compatibility\": \"<level>\"}}: {e}"
        ))
    })?;
    match value.get("compatibility").and_then(Value::as_str) {
        Some(name) => CompatibilityLevel::parse(name),
        None => Err(RegistryError::InvalidCompatibility(
            value
                .get("compatibility")
                .map_or_else(|| "(missing)".to_string(), Value::to_string),
        )),
    }
}

async fn get_global_config(State(store): State<SchemaStore>) -> Reply {
    reply(&json!({"compatibilityLevel": store.global_level().name()}))
}

async fn put_global_config(State(store): State<SchemaStore>, body: Bytes) -> Reply {
    let level = level_from_body(&body)?;
    store.set_level(None, level).await?;
    reply(&json!({"compatibility": level.name()}))
}

async fn get_subject_config(
    State(store): State<SchemaStore>,
    Path(subject): Path<String>,
    Query(params): Params,
) -> Reply {
    let level = match store.subject_level(&subject) {
        Some(level) => level,
        None if flag(&params, "defaultToGlobal") => store.global_level(),
        None => return Err(RegistryError::SubjectConfigNotFound(subject)),
    };
    reply(&json!({"compatibilityLevel": level.name()}))
}

async fn put_subject_config(
    State(store): State<SchemaStore>,
    Path(subject): Path<String>,
    body: Bytes,
) -> Reply {
    let level = level_from_body(&body)?;
    store.set_level(Some(&subject), level).await?;
    reply(&json!({"compatibility": level.name()}))
}

async fn delete_subject_config(
    State(store): State<SchemaStore>,
    Path(subject): Path<String>,
) -> Reply {
    let level = store.delete_subject_level(&subject).await?;
    reply(&json!({"compatibilityLevel": level.name()}))
}

fn compatibility_body(messages: Vec<String>, verbose: bool) -> Value {
    if verbose {
        json!({"is_compatible": messages.is_empty(), "messages": messages})
    } else {
        json!({"is_compatible": messages.is_empty()})
    }
}

async fn test_against_all(
    State(store): State<SchemaStore>,
    Path(subject): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Reply {
    let schema = SchemaRequest::from_body(&body)?.to_stored()?;
    let messages = store.test_compatibility(&subject, None, &schema)?;
    reply(&compatibility_body(messages, flag(&params, "verbose")))
}

async fn test_against_version(
    State(store): State<SchemaStore>,
    Path((subject, version)): Path<(String, String)>,
    Query(params): Params,
    body: Bytes,
) -> Reply {
    let spec = VersionSpec::parse(&version)?;
    let schema = SchemaRequest::from_body(&body)?.to_stored()?;
    let messages = store.test_compatibility(&subject, Some(spec), &schema)?;
    reply(&compatibility_body(messages, flag(&params, "verbose")))
}
