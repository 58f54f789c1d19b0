//! WASM transform plugins: a transform whose logic is a WebAssembly component
//! implementing `wit/transform.wit` (built for `wasm32-wasip2`, e.g. with
//! `sluice-transform-sdk`).
//!
//! ```properties
//! transforms=mask
//! transforms.mask.type=wasm
//! transforms.mask.module=/plugins/mask_field.wasm
//! transforms.mask.config.field=value.after.email
//! ```
//!
//! The module is compiled once per process and instantiated once per task. The guest
//! reads and edits the host-owned record by path, so untouched fields are never
//! copied. It gets no WASI (no files, network, environment or clock): other imports
//! link but trap when called. Memory is capped per instance (`memory.max.bytes`) and
//! each call has a CPU deadline (`timeout.ms`, by epoch interruption). A trap, a
//! timeout or an `Err` from the guest fails that record as
//! [`ConnectError::BadRecord`], so `errors.tolerance` decides what follows; after a
//! trap the instance is rebuilt, so the next record runs on a fresh one.

mod convert;
mod engine;
mod host;
mod path;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_core::error::Result;
use sluice_core::plugin::{PluginInfo, PluginType, Transform, TransformPlugin};
use sluice_core::{ConnectError, Record};
use wasmtime::component::Resource;
use wasmtime::{Store, Trap};

pub use engine::compilations;
use engine::{deadline_ticks, engine, Plugin};
use host::{HostState, Transformer, Verdict};

const CLASS: &str = "sluice.transforms.Wasm";

/// `sluice.transforms.Wasm` (alias `wasm`).
pub static WASM_TRANSFORM: TransformPlugin = TransformPlugin {
    info: PluginInfo {
        class: CLASS,
        aliases: &["wasm"],
        kind: PluginType::Transformation,
        config: config_def,
    },
    build,
};

/// `module`, `memory.max.bytes`, `timeout.ms` and the `config.` prefix.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("module", ConfigType::String)
                .importance(Importance::High)
                .validator(Validator::NonEmpty)
                .doc("Path to the plugin: a WebAssembly component built for wasm32-wasip2."),
        )
        .define(
            ConfigKey::new("memory.max.bytes", ConfigType::Long)
                .default("67108864")
                .importance(Importance::Medium)
                .validator(Validator::Range {
                    min: Some(1 << 20),
                    max: Some(1 << 32),
                })
                .doc("The most linear memory one plugin instance may use."),
        )
        .define(
            ConfigKey::new("timeout.ms", ConfigType::Long)
                .default("100")
                .importance(Importance::Medium)
                .validator(Validator::Range {
                    min: Some(1),
                    max: Some(3_600_000),
                })
                .doc("The most time one call into the plugin may take; past it the record fails."),
        )
        .prefix(
            "config.",
            "Passed to the plugin's init, with the prefix stripped.",
        )
}

fn build(props: &ConfigMap) -> Result<Box<dyn Transform>> {
    let cfg = config_def()
        .parse(props)
        .map_err(|e| ConnectError::Fatal(format!("{CLASS}: {e}")))?;
    let module = cfg.string("module").unwrap_or_default();
    let memory_max = usize::try_from(cfg.long("memory.max.bytes")).map_err(|_| {
        ConnectError::config(
            "memory.max.bytes",
            cfg.long("memory.max.bytes").to_string(),
            "too large for this machine",
        )
    })?;
    let timeout_ms = cfg.long("timeout.ms").unsigned_abs();
    let config = cfg.with_prefix("config.").into_iter().collect();
    let transform = WasmTransform::new(Path::new(module), config, memory_max, timeout_ms)?;
    Ok(Box::new(transform))
}

/// One instance of a plugin (per task).
struct WasmTransform {
    plugin: Arc<Plugin>,
    settings: Settings,
    /// `None` only when rebuilding the instance after a trap failed.
    live: Option<Live>,
}

/// What an instance is built with.
struct Settings {
    /// The module's file name, for logs and errors.
    name: Arc<str>,
    config: Vec<(String, String)>,
    memory_max: usize,
    timeout_ms: u64,
}

struct Live {
    store: Store<HostState>,
    bindings: Transformer,
    /// The table slot each call's record is moved into (one slot for the instance's
    /// life: no table entry is created per record).
    slot: Resource<Record>,
}

impl WasmTransform {
    fn new(
        module: &Path,
        config: Vec<(String, String)>,
        memory_max: usize,
        timeout_ms: u64,
    ) -> Result<Self> {
        let plugin = engine::load(module)?;
        let name = module.file_name().map_or_else(
            || module.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut transform = WasmTransform {
            plugin,
            settings: Settings {
                name: name.into(),
                config,
                memory_max,
                timeout_ms,
            },
            live: None,
        };
        transform.live = Some(transform.instantiate()?);
        Ok(transform)
    }

    /// A fresh instance, initialized with the plugin's config.
    fn instantiate(&self) -> Result<Live> {
        let s = &self.settings;
        let mut store = Store::new(engine()?, HostState::new(s.name.clone(), s.memory_max));
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(deadline_ticks(s.timeout_ms));
        let bindings = match self.plugin.pre.instantiate(&mut store) {
            Ok(b) => b,
            Err(e) => {
                let why = s.describe(&e, store.data());
                return Err(ConnectError::Fatal(format!("cannot instantiate: {why}")));
            }
        };
        let slot = store
            .data_mut()
            .table
            .push(Record::default())
            .map_err(|e| ConnectError::Fatal(format!("resource table: {e}")))?;
        match bindings.call_init(&mut store, &s.config) {
            Ok(Ok(())) => Ok(Live {
                store,
                bindings,
                slot,
            }),
            Ok(Err(msg)) => Err(ConnectError::Fatal(format!(
                "WASM transform {} refused its config: {msg}",
                s.name
            ))),
            Err(e) => Err(ConnectError::Fatal(format!(
                "init: {}",
                s.describe(&e, store.data())
            ))),
        }
    }

    fn call(&mut self, record: Record) -> Result<Option<Record>> {
        if self.live.is_none() {
            self.live = Some(self.instantiate()?);
        }
        let Some(live) = self.live.as_mut() else {
            return Err(ConnectError::Fatal("no plugin instance".into()));
        };
        live.store
            .set_epoch_deadline(deadline_ticks(self.settings.timeout_ms));
        let state = live.store.data_mut();
        state.last_error = None;
        state.limits.memory_denied = false;
        let rep = live.slot.rep();
        match state.table.get_mut(&live.slot) {
            Ok(slot) => *slot = record,
            Err(e) => return Err(ConnectError::Fatal(format!("resource table: {e}"))),
        }
        let borrowed = Resource::<Record>::new_borrow(rep);
        let result = live.bindings.call_apply(&mut live.store, borrowed);
        let record = live
            .store
            .data_mut()
            .table
            .get_mut(&live.slot)
            .map(std::mem::take);
        match (result, record) {
            (Ok(Ok(Verdict::Keep)), Ok(record)) => Ok(Some(record)),
            (Ok(Ok(Verdict::Drop)), Ok(_)) => Ok(None),
            (Ok(Err(msg)), _) => Err(ConnectError::BadRecord(format!(
                "WASM transform {} failed the record: {msg}",
                self.settings.name
            ))),
            (Err(e), _) => {
                let why = self.settings.describe(&e, live.store.data());
                // A trapped instance cannot be entered again: start a fresh one now,
                // so the next record does not pay for it (or retry then).
                self.live = None;
                match self.instantiate() {
                    Ok(live) => self.live = Some(live),
                    Err(e) => tracing::warn!("WASM transform {}: {e}", self.settings.name),
                }
                Err(ConnectError::BadRecord(why))
            }
            (Ok(Ok(_)), Err(e)) => Err(ConnectError::Fatal(format!("resource table: {e}"))),
        }
    }
}

impl Settings {
    /// Why a call failed, in the user's terms.
    fn describe(&self, e: &wasmtime::Error, state: &HostState) -> String {
        let name = &self.name;
        if state.limits.memory_denied {
            return format!(
                "WASM transform {name} exceeded its memory limit of {} bytes (memory.max.bytes)",
                self.memory_max
            );
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => format!(
                "WASM transform {name} exceeded its time limit of {} ms (timeout.ms)",
                self.timeout_ms
            ),
            Some(trap) => match &state.last_error {
                Some(logged) => format!("WASM transform {name} trapped ({trap}): {logged}"),
                None => format!("WASM transform {name} trapped: {trap}"),
            },
            None => {
                let text = format!("{e:#}");
                match text.find("unknown import") {
                    // A stubbed WASI import: name it, without the wasm backtrace.
                    Some(i) => format!(
                        "WASM transform {name} called an import Sluice does not provide ({}); \
                         plugins get no WASI (no files, network, environment, clocks or \
                         stdio): log through the host instead",
                        &text[i..]
                    ),
                    None => format!("WASM transform {name} failed: {text}"),
                }
            }
        }
    }
}

impl Transform for WasmTransform {
    fn apply(&mut self, record: Record) -> Result<Option<Record>> {
        self.call(record)
    }
}
