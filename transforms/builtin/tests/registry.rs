//! Every plugin is registered under its Java class name and short alias, declares
//! documented config keys, and builds (or refuses) through its ConfigDef.

mod common;

use sluice_core::plugin::PluginType;
use sluice_transforms::{PREDICATES, TRANSFORMS};

#[test]
fn class_names_and_aliases() {
    let classes: Vec<&str> = TRANSFORMS.iter().map(|p| p.info.class).collect();
    for c in [
        "org.apache.kafka.connect.transforms.Cast$Key",
        "org.apache.kafka.connect.transforms.Cast$Value",
        "org.apache.kafka.connect.transforms.DropHeaders",
        "org.apache.kafka.connect.transforms.ExtractField$Key",
        "org.apache.kafka.connect.transforms.Filter",
        "org.apache.kafka.connect.transforms.Flatten$Value",
        "org.apache.kafka.connect.transforms.HeaderFrom$Key",
        "org.apache.kafka.connect.transforms.HoistField$Value",
        "org.apache.kafka.connect.transforms.InsertField$Value",
        "org.apache.kafka.connect.transforms.InsertHeader",
        "org.apache.kafka.connect.transforms.MaskField$Key",
        "org.apache.kafka.connect.transforms.RegexRouter",
        "org.apache.kafka.connect.transforms.ReplaceField$Value",
        "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value",
        "org.apache.kafka.connect.transforms.TimestampConverter$Value",
        "org.apache.kafka.connect.transforms.TimestampRouter",
        "org.apache.kafka.connect.transforms.ValueToKey",
        "io.debezium.transforms.ExtractNewRecordState",
        "io.debezium.connector.mongodb.transforms.ExtractNewDocumentState",
        "io.debezium.transforms.ByLogicalTableRouter",
        "io.debezium.transforms.ToLogicalTopicRouter",
        "io.debezium.transforms.outbox.EventRouter",
    ] {
        assert!(classes.contains(&c), "{c} missing");
    }
    assert_eq!(TRANSFORMS.len(), 31);
    for p in TRANSFORMS {
        assert_eq!(p.info.kind, PluginType::Transformation);
        assert!(!p.info.aliases.is_empty(), "{} has no alias", p.info.class);
        assert!(sluice_transforms::transform(p.info.aliases[0])
            .is_some_and(|q| q.info.class == p.info.class));
    }
    let preds: Vec<&str> = PREDICATES.iter().map(|p| p.info.class).collect();
    assert_eq!(
        preds,
        [
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
            "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
        ]
    );
    assert!(PREDICATES
        .iter()
        .all(|p| p.info.kind == PluginType::Predicate));
}

#[test]
fn every_key_is_documented_and_classes_are_unique() {
    let mut seen = std::collections::HashSet::new();
    for info in TRANSFORMS
        .iter()
        .map(|p| p.info)
        .chain(PREDICATES.iter().map(|p| p.info))
    {
        assert!(seen.insert(info.class), "duplicate {}", info.class);
        for a in info.aliases {
            assert!(seen.insert(a), "duplicate alias {a}");
        }
        for k in (info.config)().keys() {
            assert!(!k.doc.is_empty(), "{}: {} has no doc", info.class, k.name);
        }
    }
}

#[test]
fn unknown_and_bad_keys_fail_naming_key_and_allowed_values() {
    let e = common::transform_err(
        "ExtractNewRecordState",
        &[("delete.tombstone.handling.mode", "explode")],
    );
    assert!(
        e.contains("Invalid value explode for configuration delete.tombstone.handling.mode"),
        "{e}"
    );
    assert!(
        e.contains("drop, tombstone, rewrite, rewrite-with-tombstone, delete-to-tombstone"),
        "{e}"
    );
    let e = common::transform_err(
        "RegexRouter",
        &[("regex", "a"), ("replacement", "b"), ("replacemnt", "c")],
    );
    assert!(e.contains("did you mean \"replacement\""), "{e}");
    let e = common::transform_err(
        "io.debezium.transforms.outbox.EventRouter",
        &[("field.name.adjustment.mode", "snake")],
    );
    assert!(
        e.contains("field.name.adjustment.mode") && e.contains("avro_unicode"),
        "{e}"
    );
}

#[test]
fn config_defs_validate_for_rest() {
    let def = (sluice_transforms::transform("RegexRouter")
        .map(|p| p.info.config)
        .unwrap_or_else(|| panic!()))();
    let values = def.validate(&common::cfg(&[("regex", "(")]));
    let regex = values
        .iter()
        .find(|v| v.name == "regex")
        .unwrap_or_else(|| panic!());
    assert!(
        regex.errors.iter().any(|e| e.contains("Invalid regex")),
        "{:?}",
        regex.errors
    );
    let repl = values
        .iter()
        .find(|v| v.name == "replacement")
        .unwrap_or_else(|| panic!());
    assert!(
        repl.errors
            .iter()
            .any(|e| e.contains("Missing required configuration")),
        "{:?}",
        repl.errors
    );
    let def = (sluice_transforms::transform("TimestampConverter$Value")
        .map(|p| p.info.config)
        .unwrap_or_else(|| panic!()))();
    let values = def.validate(&common::cfg(&[("target.type", "Date")]));
    let unix = values
        .iter()
        .find(|v| v.name == "unix.precision")
        .unwrap_or_else(|| panic!());
    assert_eq!(unix.value.as_deref(), Some("milliseconds"));
    assert_eq!(
        unix.recommended_values,
        ["nanoseconds", "microseconds", "milliseconds", "seconds"]
    );
}
