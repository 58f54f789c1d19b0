//! `FileStreamSource`: one record per line of a file (or stdin), like Kafka Connect's.
//!
//! The source partition is `{"filename": <file>}` and the offset `{"position": <byte
//! offset just past the line's terminator>}`, so a restart seeks to the first line not
//! yet acknowledged. A line ends at `\n`, `\r\n` or `\r`; a last line without a
//! terminator is held back until its terminator arrives (the file may still be growing).
//! Reads are plain blocking reads of a local file between `.await`s, so `poll` can be
//! dropped at its only await point (the idle wait) without losing data.

mod config;
mod task;

pub use config::config_def;
pub use task::FileStreamSourceTask;

use async_trait::async_trait;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{PluginInfo, PluginType, SourceConnector};
use sluice_core::ConnectError;

/// The plugin's identity.
pub const INFO: PluginInfo = PluginInfo {
    class: "org.apache.kafka.connect.file.FileStreamSourceConnector",
    aliases: &[
        "FileStreamSource",
        "FileStreamSourceConnector",
        "file-source",
    ],
    kind: PluginType::Source,
    config: config_def,
};

/// The connector: one task, since one input stream makes sense.
#[derive(Debug, Default)]
pub struct FileStreamSourceConnector {
    config: ConfigMap,
}

#[async_trait]
impl SourceConnector for FileStreamSourceConnector {
    async fn start(&mut self, config: &ConfigMap) -> Result<(), ConnectError> {
        crate::parse_config("FileStreamSource", &config_def(), config)?;
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<ConfigMap>, ConnectError> {
        Ok(vec![self.config.clone()])
    }
}
