//! The host side of `wit/transform.wit`: the `message` resource (a host-owned
//! [`Record`] in the store's resource table) and the `log` import (to `tracing`).

use std::sync::Arc;

use sluice_core::{Record, SchemaAndValue, Value};
use wasmtime::component::{Resource, ResourceTable};
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

use crate::convert::{derive_json_schema, from_json, parse_json, to_json_text};
use crate::path::{self, SchemaCache};

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/transform.wit",
        world: "transformer",
        with: { "sluice:transform/types.message": sluice_core::Record },
        imports: { default: trappable },
        additional_derives: [PartialEq],
    });
}

use bindings::sluice;
pub(crate) use bindings::sluice::transform::types::{Level, Value as WitValue};
pub(crate) use bindings::{Transformer, TransformerPre, Verdict};

/// Longest log line kept from a guest; the rest is cut.
const MAX_LOG: usize = 4096;

/// What a store holds besides the instance: the records in flight, limits, caches.
pub(crate) struct HostState {
    pub(crate) table: ResourceTable,
    pub(crate) limits: Limits,
    schemas: SchemaCache,
    /// The plugin's name in logs.
    plugin: Arc<str>,
    /// The last error the guest logged during the current call (a panic message, with
    /// the SDK), to explain a trap.
    pub(crate) last_error: Option<String>,
}

impl HostState {
    pub(crate) fn new(plugin: Arc<str>, memory_max: usize) -> Self {
        HostState {
            table: ResourceTable::new(),
            limits: Limits {
                inner: StoreLimitsBuilder::new().memory_size(memory_max).build(),
                memory_denied: false,
            },
            schemas: SchemaCache::default(),
            plugin,
            last_error: None,
        }
    }

    fn record(&self, msg: &Resource<Record>) -> wasmtime::Result<&Record> {
        Ok(self.table.get(msg)?)
    }

    fn record_mut(&mut self, msg: &Resource<Record>) -> wasmtime::Result<&mut Record> {
        Ok(self.table.get_mut(msg)?)
    }
}

/// [`StoreLimits`] that remember a denied memory growth, to name it in the error.
pub(crate) struct Limits {
    inner: StoreLimits,
    pub(crate) memory_denied: bool,
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        self.memory_denied |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }
}

impl sluice::transform::types::Host for HostState {}

impl sluice::transform::types::HostMessage for HostState {
    fn topic(&mut self, msg: Resource<Record>) -> wasmtime::Result<String> {
        Ok(self.record(&msg)?.topic.clone())
    }

    fn set_topic(&mut self, msg: Resource<Record>, topic: String) -> wasmtime::Result<()> {
        self.record_mut(&msg)?.topic = topic;
        Ok(())
    }

    fn timestamp_ms(&mut self, msg: Resource<Record>) -> wasmtime::Result<Option<i64>> {
        Ok(self.record(&msg)?.timestamp)
    }

    fn get(&mut self, msg: Resource<Record>, path: String) -> wasmtime::Result<Option<WitValue>> {
        Ok(path::get(self.record(&msg)?, &path))
    }

    fn set(
        &mut self,
        msg: Resource<Record>,
        path: String,
        v: WitValue,
    ) -> wasmtime::Result<Result<(), String>> {
        let record = self.table.get_mut(&msg)?;
        Ok(path::set(record, &path, v, &mut self.schemas))
    }

    fn remove(&mut self, msg: Resource<Record>, path: String) -> wasmtime::Result<bool> {
        let record = self.table.get_mut(&msg)?;
        Ok(path::remove(record, &path, &mut self.schemas))
    }

    fn header(&mut self, msg: Resource<Record>, name: String) -> wasmtime::Result<Option<Vec<u8>>> {
        let header = self.record(&msg)?.headers.last_with_name(&name);
        Ok(header.and_then(|h| match &h.value.value {
            Value::Null => None,
            Value::String(s) => Some(s.as_bytes().to_vec()),
            Value::Bytes(b) => Some(b.clone()),
            Value::Decimal(d) => Some(d.to_string().into_bytes()),
            other => Some(to_json_text(other).into_bytes()),
        }))
    }

    fn set_header(
        &mut self,
        msg: Resource<Record>,
        name: String,
        v: Vec<u8>,
    ) -> wasmtime::Result<()> {
        let headers = &mut self.record_mut(&msg)?.headers;
        headers.remove(&name);
        let value = match String::from_utf8(v) {
            Ok(s) => Value::String(s),
            Err(e) => Value::Bytes(e.into_bytes()),
        };
        headers.add(name, SchemaAndValue::schemaless(value));
        Ok(())
    }

    fn remove_header(&mut self, msg: Resource<Record>, name: String) -> wasmtime::Result<()> {
        self.record_mut(&msg)?.headers.remove(&name);
        Ok(())
    }

    fn key_json(&mut self, msg: Resource<Record>) -> wasmtime::Result<Option<String>> {
        let key = &self.record(&msg)?.key.value;
        Ok((!key.is_null()).then(|| to_json_text(key)))
    }

    fn value_json(&mut self, msg: Resource<Record>) -> wasmtime::Result<Option<String>> {
        let value = &self.record(&msg)?.value.value;
        Ok((!value.is_null()).then(|| to_json_text(value)))
    }

    fn set_value_json(
        &mut self,
        msg: Resource<Record>,
        json: Option<String>,
    ) -> wasmtime::Result<Result<(), String>> {
        let record = self.record_mut(&msg)?;
        Ok(set_value_json(&mut record.value, json.as_deref()))
    }

    fn drop(&mut self, msg: Resource<Record>) -> wasmtime::Result<()> {
        // The host owns every message: the guest only ever borrows one.
        let _ = msg;
        Ok(())
    }
}

/// Replaces a whole value from JSON: `None` or `null` makes a tombstone; JSON that
/// still fits the old schema keeps it (and its logical types), other JSON gets a
/// schema derived from its shape; a schemaless value stays schemaless.
fn set_value_json(sv: &mut SchemaAndValue, json: Option<&str>) -> Result<(), String> {
    let Some(text) = json else {
        *sv = SchemaAndValue::NULL;
        return Ok(());
    };
    let json = parse_json(text)?;
    if json.is_null() {
        *sv = SchemaAndValue::NULL;
        return Ok(());
    }
    let Some(old) = &sv.schema else {
        sv.value = from_json(&json, None)?;
        return Ok(());
    };
    if let Ok(value) = from_json(&json, Some(old)) {
        sv.value = value;
        return Ok(());
    }
    let schema = derive_json_schema(&json);
    let value = from_json(&json, Some(&schema))?;
    *sv = SchemaAndValue {
        schema: Some(schema),
        value,
    };
    Ok(())
}

impl sluice::transform::host::Host for HostState {
    fn log(&mut self, level: Level, msg: String) -> wasmtime::Result<()> {
        let mut msg = msg;
        if msg.len() > MAX_LOG {
            let mut cut = MAX_LOG;
            while !msg.is_char_boundary(cut) {
                cut -= 1;
            }
            msg.truncate(cut);
            msg.push('…');
        }
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(target: "sluice_wasm::plugin", plugin, "{msg}"),
            Level::Debug => tracing::debug!(target: "sluice_wasm::plugin", plugin, "{msg}"),
            Level::Info => tracing::info!(target: "sluice_wasm::plugin", plugin, "{msg}"),
            Level::Warn => tracing::warn!(target: "sluice_wasm::plugin", plugin, "{msg}"),
            Level::Error => {
                tracing::error!(target: "sluice_wasm::plugin", plugin, "{msg}");
                self.last_error = Some(msg);
            }
        }
        Ok(())
    }
}
