//! Kafka Connect's `JsonConverter` reading arbitrary bytes (`to_connect`), with and
//! without `schemas.enable`, and writing back whatever it read (`from_connect`).
//!
//! The first byte picks the converter settings: bit 0 `schemas.enable`, bit 1
//! `replace.null.with.default`, bit 2 `decimal.format=NUMERIC`. The rest is the message.
//! The converters cache nothing (`schemas.cache.size=0`), so every input is decoded the
//! same way whatever ran before it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sluice_converters::JsonConverter;
use sluice_core::plugin::Converter;

fn converters() -> &'static [JsonConverter] {
    static CONVERTERS: OnceLock<Vec<JsonConverter>> = OnceLock::new();
    CONVERTERS.get_or_init(|| {
        (0u8..8)
            .map(|bits| {
                let config = [
                    ("schemas.enable", (bits & 1 != 0).to_string()),
                    ("replace.null.with.default", (bits & 2 != 0).to_string()),
                    (
                        "decimal.format",
                        if bits & 4 != 0 { "NUMERIC" } else { "BASE64" }.to_owned(),
                    ),
                    ("schemas.cache.size", "0".to_owned()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
                JsonConverter::new(&config).expect("the fuzz target's fixed configs are valid")
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&bits, message)) = data.split_first() else {
        return;
    };
    let converter = &converters()[usize::from(bits & 7)];
    if let Ok(read) = converter.to_connect("fuzz", Some(message)) {
        let _ = converter.from_connect("fuzz", &read);
    }
});
