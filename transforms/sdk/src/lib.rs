//! Write Sluice WASM transform plugins in Rust.
//!
//! A plugin is a type implementing [`Transform`], exported with [`export!`], in a
//! `cdylib` crate built for `wasm32-wasip2`:
//!
//! ```
//! use sluice_transform_sdk::{Config, Message, Transform, Value, Verdict};
//!
//! struct Upper { field: String }
//!
//! impl Transform for Upper {
//!     fn init(config: &Config) -> Result<Self, String> {
//!         Ok(Upper { field: config.require("field")?.to_owned() })
//!     }
//!     fn transform(&mut self, msg: &dyn Message) -> Result<Verdict, String> {
//!         if let Some(Value::Text(s)) = msg.get(&self.field) {
//!             msg.set(&self.field, Value::Text(s.to_uppercase()))?;
//!         }
//!         Ok(Verdict::Keep)
//!     }
//! }
//!
//! sluice_transform_sdk::export!(Upper);
//! ```
//!
//! Natively (any target but `wasm32`) the same logic runs against a
//! [`MemoryMessage`], so plugins are unit-tested with `cargo test`. The WIT glue
//! (wit-bindgen) exists only on `wasm32`.

mod config;
mod types;

#[cfg(not(target_arch = "wasm32"))]
mod memory;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use config::Config;
#[cfg(not(target_arch = "wasm32"))]
pub use memory::MemoryMessage;
pub use types::{Level, Message, Value, Verdict};

/// The glue [`export!`] expands to; not part of the API.
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub use wasm::{__rt, bindings};

// Lets the generated bindings name this crate the way plugin crates do.
#[cfg(target_arch = "wasm32")]
extern crate self as sluice_transform_sdk;

/// A transform plugin: built once per task with its config, then called per message.
pub trait Transform: 'static {
    /// Builds the plugin from its config (the `transforms.<alias>.config.*` keys, prefix
    /// stripped). An `Err` fails the task with that message.
    fn init(config: &Config) -> Result<Self, String>
    where
        Self: Sized;

    /// Reads and edits one message, and keeps or drops it. An `Err` fails that record;
    /// the connector's `errors.tolerance` decides what follows.
    fn transform(&mut self, msg: &dyn Message) -> Result<Verdict, String>;
}

/// Logs through the host (to its `tracing` output, tagged with the plugin's name).
/// Natively, writes to stderr.
pub fn log(level: Level, msg: &str) {
    #[cfg(target_arch = "wasm32")]
    wasm::log(level, msg);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {msg}");
}

/// Exports a [`Transform`] as the plugin's component exports (on `wasm32`; natively it
/// only checks the type). Use once per plugin crate: `sluice_transform_sdk::export!(MyPlugin);`
#[macro_export]
macro_rules! export {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct SluiceExport;

            impl $crate::bindings::Guest for SluiceExport {
                fn init(
                    config: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
                ) -> ::std::result::Result<(), ::std::string::String> {
                    $crate::__rt::init::<$plugin>(config)
                }

                fn apply(
                    msg: &$crate::bindings::Message,
                ) -> ::std::result::Result<$crate::bindings::Verdict, ::std::string::String>
                {
                    $crate::__rt::apply(msg)
                }
            }

            $crate::bindings::export! { SluiceExport with_types_in $crate::bindings }
        };

        // Natively nothing is exported: this only checks the type is a Transform (and
        // keeps it from counting as dead code).
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            let _ = <$plugin as $crate::Transform>::init;
        };
    };
}
