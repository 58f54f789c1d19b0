//! One wasmtime [`Engine`] per process, its epoch ticker, and the compiled-plugin
//! cache: a module is compiled once per process (keyed by the SHA-256 of its bytes)
//! and linked once; each transform instance then only instantiates it.
//!
//! Plugins get no WASI: the linker defines the WIT's imports, `insecure-seed` (so
//! `HashMap` works), and turns every other import into a function that traps.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use sluice_core::{ConnectError, Record};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasSelf, Linker, ResourceType};
use wasmtime::{Config, Engine};

use crate::host::{HostState, Transformer, TransformerPre};

/// How often the ticker advances the engine's epoch; deadlines are in these ticks.
pub(crate) const TICK: Duration = Duration::from_millis(5);

static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
static COMPILED: Mutex<Option<HashMap<[u8; 32], Arc<Plugin>>>> = Mutex::new(None);
static COMPILATIONS: AtomicU64 = AtomicU64::new(0);

/// The process's engine (with epoch interruption), its ticker started on first use.
pub(crate) fn engine() -> Result<&'static Engine, ConnectError> {
    let engine = ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config).map_err(|e| e.to_string())?;
        let ticker = engine.clone();
        std::thread::Builder::new()
            .name("sluice-wasm-epoch".into())
            .spawn(move || loop {
                std::thread::sleep(TICK);
                ticker.increment_epoch();
            })
            .map_err(|e| format!("cannot start the epoch ticker: {e}"))?;
        Ok(engine)
    });
    engine
        .as_ref()
        .map_err(|e| ConnectError::Fatal(format!("cannot start the WebAssembly engine: {e}")))
}

/// Epoch ticks that last at least `timeout_ms` (the current tick is partly gone).
pub(crate) fn deadline_ticks(timeout_ms: u64) -> u64 {
    let tick = TICK.as_millis().max(1) as u64;
    timeout_ms.div_ceil(tick).max(1) + 1
}

/// How many modules this process compiled (each distinct module once).
pub fn compilations() -> u64 {
    COMPILATIONS.load(Ordering::Relaxed)
}

/// A compiled, linked plugin, ready to instantiate.
pub(crate) struct Plugin {
    pub(crate) pre: TransformerPre<HostState>,
}

/// The plugin at `path`, compiled on first use in this process.
pub(crate) fn load(path: &Path) -> Result<Arc<Plugin>, ConnectError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ConnectError::io(format!("cannot read WASM module {}", path.display()), e))?;
    let hash: [u8; 32] = Sha256::digest(&bytes).into();
    // Held while compiling so two tasks starting together compile once.
    let mut cache = COMPILED.lock().unwrap_or_else(|p| p.into_inner());
    let cache = cache.get_or_insert_with(HashMap::new);
    if let Some(plugin) = cache.get(&hash) {
        return Ok(plugin.clone());
    }
    let plugin = Arc::new(compile(&bytes, path)?);
    COMPILATIONS.fetch_add(1, Ordering::Relaxed);
    cache.insert(hash, plugin.clone());
    Ok(plugin)
}

fn compile(bytes: &[u8], path: &Path) -> Result<Plugin, ConnectError> {
    let engine = engine()?;
    let fail = |what: &str, e: wasmtime::Error| {
        ConnectError::config(
            "module",
            path.display().to_string(),
            format!("{what}: {e:#}"),
        )
    };
    if is_core_module(bytes) {
        return Err(ConnectError::config(
            "module",
            path.display().to_string(),
            "this is a core WebAssembly module, not a component: build the plugin for wasm32-wasip2",
        ));
    }
    let component = Component::new(engine, bytes).map_err(|e| fail("not a valid component", e))?;
    let mut linker = Linker::<HostState>::new(engine);
    Transformer::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
        .map_err(|e| fail("cannot link the host functions", e))?;
    let ty = component.component_type();
    for (name, item) in ty.imports(engine) {
        if name == "message" && matches!(item.ty, ComponentItem::Resource(_)) {
            // The world's `use types.{message}` surfaced as a root-level import of the
            // same resource type: it must be the host's type, not a stub.
            linker
                .root()
                .resource("message", ResourceType::host::<Record>(), |_, _| Ok(()))
                .map_err(|e| fail("cannot link the message resource", e))?;
        } else if name.starts_with("wasi:random/insecure-seed@0.2.") {
            define_insecure_seed(&mut linker, name)
                .map_err(|e| fail("cannot link insecure-seed", e))?;
        }
    }
    // No WASI: whatever else the component imports (the std library's WASI imports)
    // links, but traps if called.
    linker
        .define_unknown_imports_as_traps(&component)
        .map_err(|e| fail("cannot stub the component's other imports", e))?;
    let pre = linker
        .instantiate_pre(&component)
        .map_err(|e| fail("the component does not fit the sluice:transform world", e))?;
    let pre = TransformerPre::new(pre)
        .map_err(|e| fail("the component does not export the transformer world", e))?;
    Ok(Plugin { pre })
}

/// `wasi:random/insecure-seed` (as the component names it), the one WASI function
/// plugins get: Rust's `HashMap` seeds itself with it.
fn define_insecure_seed(linker: &mut Linker<HostState>, name: &str) -> wasmtime::Result<()> {
    linker
        .instance(name)?
        .func_wrap("insecure-seed", |_, (): ()| {
            let state = RandomState::new();
            Ok(((state.hash_one(1u8), state.hash_one(2u8)),))
        })
}

/// True for a core module (version 1), which a component host cannot run.
fn is_core_module(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[4..8] == [1, 0, 0, 0]
}
