//! A module is compiled once per process, however many instances are built (its own
//! test binary, so no other test compiles meanwhile).

mod common;

use common::*;

#[test]
fn two_instances_compile_the_module_once() {
    let module = plugin("mask_field");
    let copy = std::env::temp_dir().join(format!("sluice-wasm-copy-{}.wasm", std::process::id()));
    std::fs::copy(&module, &copy).expect("copy");
    let build = sluice_wasm::WASM_TRANSFORM.build;
    let before = sluice_wasm::compilations();
    let _a = build(&settings(&module, &[("config.field", "value.a")])).expect("first");
    let _b = build(&settings(&module, &[("config.field", "value.b")])).expect("second");
    // The same bytes under another path are the same module.
    let _c = build(&settings(&copy, &[("config.field", "value.c")])).expect("copy");
    assert_eq!(sluice_wasm::compilations() - before, 1);
    let _d = build(&settings(
        &plugin("filter_route"),
        &[("config.field", "value.a"), ("config.value", "x")],
    ))
    .expect("other module");
    assert_eq!(sluice_wasm::compilations() - before, 2);
    let _ = std::fs::remove_file(copy);
}
