//! The file source task's read loop.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{SourceTask, SourceTaskContext};
use sluice_core::record::OffsetMap;
use sluice_core::schema::{Schema, Type};
use sluice_core::{ConnectError, Record, SchemaAndValue, SchemaRef, SourceRecord};
use tokio::sync::mpsc;

use super::config::config_def;

/// Longest wait at the end of the input before `poll` returns an empty batch.
const IDLE_WAIT: Duration = Duration::from_millis(100);
const READ_CHUNK: usize = 64 * 1024;

enum Input {
    File { path: String, file: Option<File> },
    Stdin(mpsc::Receiver<std::io::Result<Vec<u8>>>),
}

/// Reads lines from a file or stdin.
pub struct FileStreamSourceTask {
    input: Option<Input>,
    topic: String,
    batch_size: usize,
    partition: Arc<OffsetMap>,
    schema: SchemaRef,
    /// Bytes read but not yet emitted (an unfinished line).
    pending: Vec<u8>,
    /// File position of `pending[0]`.
    position: u64,
    eof: bool,
}

impl Default for FileStreamSourceTask {
    fn default() -> Self {
        FileStreamSourceTask {
            input: None,
            topic: String::new(),
            batch_size: 2000,
            partition: Arc::new(OffsetMap::new()),
            schema: Schema::primitive(Type::String, false),
            pending: Vec::new(),
            position: 0,
            eof: false,
        }
    }
}

impl std::fmt::Debug for FileStreamSourceTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStreamSourceTask")
            .field("topic", &self.topic)
            .field("position", &self.position)
            .finish()
    }
}

fn stdin_reader() -> mpsc::Receiver<std::io::Result<Vec<u8>>> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::Builder::new()
        .name("sluice-stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            loop {
                let mut buf = vec![0u8; READ_CHUNK];
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        buf.truncate(n);
                        if tx.blocking_send(Ok(buf)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        break;
                    }
                }
            }
        })
        .map(|_| ())
        .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the stdin reader thread"));
    rx
}

impl FileStreamSourceTask {
    /// Splits complete lines off `pending` into records, up to the batch size.
    fn take_lines(&mut self, out: &mut Vec<SourceRecord>) {
        let mut start = 0usize;
        let bytes = &self.pending;
        let mut i = 0usize;
        let now = crate::now_ms();
        while i < bytes.len() && out.len() < self.batch_size {
            let b = bytes[i];
            if b != b'\n' && b != b'\r' {
                i += 1;
                continue;
            }
            let line_end = i;
            let next = if b == b'\r' {
                match bytes.get(i + 1) {
                    Some(b'\n') => i + 2,
                    Some(_) => i + 1,
                    // A `\r` at the end of what was read: wait to see if `\n` follows.
                    None if !self.eof => break,
                    None => i + 1,
                }
            } else {
                i + 1
            };
            let line = String::from_utf8_lossy(&bytes[start..line_end]).into_owned();
            let offset_pos = self.position + next as u64;
            let mut offset = OffsetMap::new();
            offset.insert("position".into(), offset_pos.into());
            let mut record = Record::new(
                self.topic.clone(),
                SchemaAndValue::new(self.schema.clone(), line),
            );
            record.timestamp = Some(now);
            out.push(SourceRecord {
                source_partition: self.partition.clone(),
                source_offset: offset.into(),
                record,
            });
            start = next;
            i = next;
        }
        self.pending.drain(..start);
        self.position += start as u64;
    }

    /// Reads what is available; returns false at the end of the input.
    async fn fill(&mut self) -> Result<bool, ConnectError> {
        match &mut self.input {
            Some(Input::File { path, file }) => {
                if file.is_none() {
                    match File::open(&*path) {
                        Ok(mut f) => {
                            f.seek(SeekFrom::Start(self.position)).map_err(|e| {
                                ConnectError::io(format!("seeking {path} to {}", self.position), e)
                            })?;
                            *file = Some(f);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            tracing::warn!(file = %path, "couldn't find the file; waiting for it to be created");
                            return Ok(false);
                        }
                        Err(e) => return Err(ConnectError::io(format!("opening {path}"), e)),
                    }
                }
                let Some(f) = file.as_mut() else {
                    return Ok(false);
                };
                let old = self.pending.len();
                self.pending.resize(old + READ_CHUNK, 0);
                let n = f
                    .read(&mut self.pending[old..])
                    .map_err(|e| ConnectError::io(format!("reading {path}"), e))?;
                self.pending.truncate(old + n);
                Ok(n > 0)
            }
            Some(Input::Stdin(rx)) => match rx.recv().await {
                Some(Ok(chunk)) => {
                    self.pending.extend_from_slice(&chunk);
                    Ok(true)
                }
                Some(Err(e)) => Err(ConnectError::io("reading stdin", e)),
                None => {
                    self.eof = true;
                    Ok(false)
                }
            },
            None => Err(ConnectError::Fatal(
                "file source polled before start".into(),
            )),
        }
    }
}

#[async_trait]
impl SourceTask for FileStreamSourceTask {
    async fn start(
        &mut self,
        config: &ConfigMap,
        context: SourceTaskContext,
    ) -> Result<(), ConnectError> {
        let parsed = crate::parse_config("FileStreamSource", &config_def(), config)?;
        self.topic = parsed.string("topic").unwrap_or_default().to_owned();
        self.batch_size = usize::try_from(parsed.long("batch.size"))
            .unwrap_or(2000)
            .max(1);
        let file = parsed
            .string("file")
            .filter(|f| !f.is_empty())
            .map(str::to_owned);
        let mut partition = OffsetMap::new();
        partition.insert(
            "filename".into(),
            file.clone().map_or(serde_json::Value::Null, Into::into),
        );
        if let Some(path) = &file {
            if let Some(offset) = context.offset(&partition) {
                self.position = match offset.get("position") {
                    Some(p) => p.as_u64().ok_or_else(|| {
                        ConnectError::Fatal(format!(
                            "the stored offset position {p} for {path} is not a byte position; reset the connector's offsets"
                        ))
                    })?,
                    None => 0,
                };
                tracing::info!(file = %path, position = self.position, "resuming file source from the committed offset");
            }
        }
        self.partition = Arc::new(partition);
        self.input = Some(match file {
            Some(path) => Input::File { path, file: None },
            None => Input::Stdin(stdin_reader()),
        });
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        let mut out = Vec::new();
        loop {
            self.take_lines(&mut out);
            if out.len() >= self.batch_size {
                return Ok(out);
            }
            if !self.fill().await? {
                if out.is_empty() && !self.eof {
                    tokio::time::sleep(IDLE_WAIT).await;
                }
                self.take_lines(&mut out);
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn task_for(path: &std::path::Path, context: SourceTaskContext) -> FileStreamSourceTask {
        let mut config = ConfigMap::new();
        config.insert("file".into(), path.display().to_string());
        config.insert("topic".into(), "t".into());
        config.insert("batch.size".into(), "2".into());
        let mut task = FileStreamSourceTask::default();
        task.start(&config, context).await.expect("start");
        task
    }

    fn lines(batch: &[SourceRecord]) -> Vec<(String, u64)> {
        batch
            .iter()
            .map(|r| {
                (
                    r.record.value.value.as_str().unwrap_or_default().to_owned(),
                    r.source_offset.to_map()["position"]
                        .as_u64()
                        .unwrap_or(u64::MAX),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn reads_lines_with_byte_offsets_and_resumes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "a\r\nbé\rc\nunfinished").expect("write");
        let mut task = task_for(&path, SourceTaskContext::default()).await;
        assert_eq!(
            lines(&task.poll().await.expect("poll")),
            vec![("a".into(), 3), ("bé".into(), 7)]
        );
        assert_eq!(
            lines(&task.poll().await.expect("poll")),
            vec![("c".into(), 9)]
        );
        assert!(
            task.poll().await.expect("poll").is_empty(),
            "an unterminated line waits"
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b" now\n"))
            .expect("append");
        assert_eq!(
            lines(&task.poll().await.expect("poll")),
            vec![("unfinished now".into(), 24)]
        );

        let mut partition = OffsetMap::new();
        partition.insert("filename".into(), path.display().to_string().into());
        let mut offset = OffsetMap::new();
        offset.insert("position".into(), 7.into());
        let mut resumed = task_for(&path, SourceTaskContext::new([(partition, offset)])).await;
        assert_eq!(
            lines(&resumed.poll().await.expect("poll")),
            vec![("c".into(), 9), ("unfinished now".into(), 24)]
        );
    }
}
