//! Limits: CPU deadline, memory cap, traps and errors fail one record, and the
//! instance keeps working afterwards.

mod common;

use std::time::{Duration, Instant};

use common::*;
use sluice_core::{ErrorClass, Value};

#[test]
fn a_plugin_that_loops_fails_its_record_within_the_deadline() {
    let mut spin = transform("test_spin", &[("timeout.ms", "50")]);
    let start = Instant::now();
    let err = spin
        .apply(flag_record(&[("spin", Value::Boolean(true))]))
        .expect_err("times out");
    let took = start.elapsed();
    assert_eq!(err.class(), ErrorClass::BadRecord);
    assert!(
        err.to_string()
            .contains("exceeded its time limit of 50 ms (timeout.ms)"),
        "{err}"
    );
    assert!(took >= Duration::from_millis(50), "stopped early: {took:?}");
    assert!(took < Duration::from_millis(500), "stopped late: {took:?}");
    let ok = spin
        .apply(flag_record(&[("spin", Value::Boolean(false))]))
        .expect("next record");
    assert!(ok.is_some());
    // And again: a second timeout on the rebuilt instance.
    assert!(spin
        .apply(flag_record(&[("spin", Value::Boolean(true))]))
        .is_err());
    assert!(spin.apply(flag_record(&[])).expect("next record").is_some());
}

#[test]
fn a_plugin_that_allocates_without_bound_hits_the_memory_limit() {
    let mut hog = transform("test_hog", &[("memory.max.bytes", "16777216")]);
    let err = hog
        .apply(flag_record(&[("hog", Value::Boolean(true))]))
        .expect_err("out of memory");
    assert_eq!(err.class(), ErrorClass::BadRecord);
    assert!(
        err.to_string()
            .contains("exceeded its memory limit of 16777216 bytes (memory.max.bytes)"),
        "{err}"
    );
    assert!(hog.apply(flag_record(&[])).expect("next record").is_some());
}

#[test]
fn a_trap_fails_its_record_and_the_next_runs_on_a_fresh_instance() {
    let mut trap = transform("test_trap", &[]);
    let seen = |r: sluice_core::Record| match r.value.value {
        Value::Map(entries) => entries
            .into_iter()
            .find(|(k, _)| k.as_str() == Some("seen"))
            .map(|(_, v)| v),
        _ => None,
    };
    let out = trap.apply(flag_record(&[])).expect("apply").expect("kept");
    assert_eq!(seen(out), Some(Value::Int64(1)));

    let err = trap
        .apply(flag_record(&[("trap", Value::Boolean(true))]))
        .expect_err("traps");
    assert_eq!(err.class(), ErrorClass::BadRecord);
    let text = err.to_string();
    assert!(
        text.contains("trapped") && text.contains("boom on record 2"),
        "{text}"
    );

    let out = trap.apply(flag_record(&[])).expect("apply").expect("kept");
    assert_eq!(seen(out), Some(Value::Int64(1)), "a fresh instance");

    let err = trap
        .apply(flag_record(&[("fail", Value::Boolean(true))]))
        .expect_err("fails");
    assert_eq!(err.class(), ErrorClass::BadRecord);
    assert!(err.to_string().contains("record 2 is not welcome"), "{err}");
    let out = trap.apply(flag_record(&[])).expect("apply").expect("kept");
    assert_eq!(
        seen(out),
        Some(Value::Int64(3)),
        "an Err keeps the instance"
    );
}

#[test]
fn a_wasi_call_fails_its_record_with_a_clear_message() {
    let mut trap = transform("test_trap", &[]);
    let err = trap
        .apply(flag_record(&[("print", Value::Boolean(true))]))
        .expect_err("no stdout");
    assert_eq!(err.class(), ErrorClass::BadRecord);
    let text = err.to_string();
    assert!(
        text.contains("wasi:cli/stdout") && text.contains("plugins get no WASI"),
        "{text}"
    );
    assert!(trap.apply(flag_record(&[])).expect("next record").is_some());
}
