//! `FileStreamSink`: appends each record's value as one line to a file (or stdout),
//! like Kafka Connect's.
//!
//! `flush` writes the buffer and `fsync`s the file before the runtime commits the Kafka
//! offsets, so every committed record is on disk. A crash after a partial write leaves
//! an unterminated last line; since it was written after the last flush its records
//! were not committed and will be delivered again, so `start` cuts that partial line
//! off instead of gluing the redelivered line onto it.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};

use async_trait::async_trait;
use sluice_core::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_core::plugin::{PluginInfo, PluginType, SinkConnector, SinkTask};
use sluice_core::{ConnectError, SinkRecord, TopicPartition, Value};

/// The plugin's identity.
pub const INFO: PluginInfo = PluginInfo {
    class: "org.apache.kafka.connect.file.FileStreamSinkConnector",
    aliases: &["FileStreamSink", "FileStreamSinkConnector", "file-sink"],
    kind: PluginType::Sink,
    config: config_def,
};

/// `file`.
pub fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new("file", ConfigType::String)
            .optional()
            .importance(Importance::High)
            .doc("Destination filename. If not specified, the standard output will be used"),
    )
}

/// The connector: `tasks.max` identical tasks.
#[derive(Debug, Default)]
pub struct FileStreamSinkConnector {
    config: ConfigMap,
}

#[async_trait]
impl SinkConnector for FileStreamSinkConnector {
    async fn start(&mut self, config: &ConfigMap) -> Result<(), ConnectError> {
        crate::parse_config("FileStreamSink", &config_def(), config)?;
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<ConfigMap>, ConnectError> {
        Ok(vec![self.config.clone(); max_tasks.max(1)])
    }
}

enum Output {
    File {
        path: String,
        writer: BufWriter<File>,
    },
    Stdout(BufWriter<std::io::Stdout>),
}

/// Writes record values as lines.
#[derive(Default)]
pub struct FileStreamSinkTask {
    output: Option<Output>,
    line: Vec<u8>,
}

impl std::fmt::Debug for FileStreamSinkTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileStreamSinkTask")
    }
}

/// Cuts an unterminated last line off `file`; returns how many bytes were cut.
fn cut_partial_line(file: &mut File) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    let mut end = len;
    let mut buf = [0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            let keep = start + i as u64 + 1;
            if keep < len {
                file.set_len(keep)?;
                file.sync_data()?;
            }
            return Ok(len - keep);
        }
        end = start;
    }
    if len > 0 {
        file.set_len(0)?;
        file.sync_data()?;
    }
    Ok(len)
}

/// A value's text as Kafka Connect's file sink prints it (`String.valueOf`).
fn write_text(out: &mut Vec<u8>, value: &Value) {
    use std::io::Write as _;
    let _ = match value {
        Value::Null => write!(out, "null"),
        Value::String(s) => write!(out, "{s}"),
        Value::Int8(n) => write!(out, "{n}"),
        Value::Int16(n) => write!(out, "{n}"),
        Value::Int32(n) => write!(out, "{n}"),
        Value::Int64(n) => write!(out, "{n}"),
        Value::Float32(x) => write!(out, "{x:?}"),
        Value::Float64(x) => write!(out, "{x:?}"),
        Value::Boolean(b) => write!(out, "{b}"),
        Value::Bytes(b) => write!(out, "{}", String::from_utf8_lossy(b)),
        Value::Decimal(d) => write!(out, "{d}"),
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_text(out, v);
            }
            write!(out, "]")
        }
        Value::Map(entries) => {
            out.push(b'{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_text(out, k);
                out.push(b'=');
                write_text(out, v);
            }
            write!(out, "}}")
        }
        Value::Struct(s) => {
            out.extend_from_slice(b"Struct{");
            let mut first = true;
            for (field, v) in s.schema().fields.iter().zip(s.values()) {
                if v.is_null() {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                write!(out, "{}=", field.name).ok();
                write_text(out, v);
            }
            write!(out, "}}")
        }
    };
}

#[async_trait]
impl SinkTask for FileStreamSinkTask {
    async fn start(&mut self, config: &ConfigMap) -> Result<(), ConnectError> {
        let parsed = crate::parse_config("FileStreamSink", &config_def(), config)?;
        self.output = Some(match parsed.string("file").filter(|f| !f.is_empty()) {
            Some(path) => {
                let mut file = OpenOptions::new()
                    .create(true)
                    .read(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        ConnectError::io(
                            format!("Couldn't find or create file '{path}' for FileStreamSinkTask"),
                            e,
                        )
                    })?;
                let cut = cut_partial_line(&mut file)
                    .map_err(|e| ConnectError::io(format!("checking the end of {path}"), e))?;
                if cut > 0 {
                    tracing::warn!(file = %path, bytes = cut, "cut an unfinished last line left by a crash; its records are delivered again");
                }
                Output::File {
                    path: path.to_owned(),
                    writer: BufWriter::with_capacity(256 * 1024, file),
                }
            }
            None => Output::Stdout(BufWriter::new(std::io::stdout())),
        });
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), ConnectError> {
        let out = self
            .output
            .as_mut()
            .ok_or_else(|| ConnectError::Fatal("file sink written before start".into()))?;
        for r in &records {
            self.line.clear();
            write_text(&mut self.line, &r.record.value.value);
            self.line.push(b'\n');
            let res = match out {
                Output::File { writer, .. } => writer.write_all(&self.line),
                Output::Stdout(w) => w.write_all(&self.line),
            };
            res.map_err(|e| ConnectError::io("writing the file sink's output", e))?;
        }
        Ok(())
    }

    async fn flush(
        &mut self,
        _offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<(), ConnectError> {
        match self.output.as_mut() {
            Some(Output::File { path, writer }) => {
                writer
                    .flush()
                    .and_then(|_| writer.get_ref().sync_data())
                    .map_err(|e| ConnectError::io(format!("flushing {path}"), e))?;
            }
            Some(Output::Stdout(w)) => w
                .flush()
                .map_err(|e| ConnectError::io("flushing stdout", e))?,
            None => {}
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        self.flush(&BTreeMap::new()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::{Record, SchemaAndValue};

    fn record(line: &str) -> SinkRecord {
        SinkRecord {
            record: Record::new("t", SchemaAndValue::schemaless(line)),
            kafka_partition: 0,
            kafka_offset: 0,
        }
    }

    #[tokio::test]
    async fn appends_lines_and_cuts_a_crash_leftover() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.txt");
        std::fs::write(&path, "one\ntw").expect("write");
        let mut config = ConfigMap::new();
        config.insert("file".into(), path.display().to_string());
        let mut task = FileStreamSinkTask::default();
        task.start(&config).await.expect("start");
        task.put(vec![record("two"), record("three")])
            .await
            .expect("put");
        task.flush(&BTreeMap::new()).await.expect("flush");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "one\ntwo\nthree\n"
        );
    }
}
