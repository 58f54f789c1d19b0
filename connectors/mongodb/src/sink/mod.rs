//! The MongoDB sink: replace / upsert by `_id`, delete on `op=d` or a tombstone, reading
//! Debezium MongoDB events (Extended JSON strings), Debezium relational events (structs)
//! and plain documents. [`config`] (keys), [`writes`] (records to batched, idempotent
//! writes), [`extjson_in`] (Extended JSON back to BSON), [`task`].

pub mod config;
pub mod extjson_in;
pub mod task;
pub mod writes;
