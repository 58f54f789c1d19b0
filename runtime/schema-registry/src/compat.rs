//! Compatibility checks (placeholder until the Avro resolution rules land).

use crate::model::{CompatibilityLevel, StoredSchema, SubjectVersion};

/// The incompatibilities of `new` with the `previous` versions (oldest first) under `level`.
pub fn check(
    _level: CompatibilityLevel,
    _new: &StoredSchema,
    _previous: &[SubjectVersion],
) -> Vec<String> {
    Vec::new()
}
