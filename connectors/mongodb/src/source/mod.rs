//! The change-stream source, Debezium-compatible: [`config`] (keys), [`snapshot`]
//! (collection scans from a resume point taken first), [`stream`] (change streams,
//! resume tokens, lost-position guidance), [`events`] (an event to records), [`envelope`]
//! (record shapes), [`offsets`], [`output`] (the bounded hand-off to `poll`), [`task`].

pub mod config;
pub mod envelope;
pub mod events;
pub mod offsets;
pub mod snapshot;
pub mod stream;
pub mod task;
