//! Debezium's transforms: event flattening (`ExtractNewRecordState`, and
//! `ExtractNewDocumentState` for MongoDB), topic routing (`ByLogicalTableRouter` /
//! `ToLogicalTopicRouter`) and the outbox `EventRouter`.

pub(crate) mod envelope;
pub mod extract_new_document_state;
pub mod extract_new_record_state;
pub mod logical_router;
pub(crate) mod mongo;
pub(crate) mod mongo_convert;
pub mod outbox;
pub(crate) mod outbox_json;
