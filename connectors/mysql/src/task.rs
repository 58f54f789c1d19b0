//! The source task: decides between snapshot and streaming, checks the server, then runs
//! the reader in the background and hands its batches to `poll`.
//!
//! Why this is right: every decision is taken in `start`, before any record exists, from
//! `snapshot.mode` and the stored offset — so a failed start-up check or a lost position
//! fails the task at once with its guided message, and `when_needed` turns a lost
//! position into a new snapshot. `poll` only awaits a channel receive, which is
//! cancel-safe: dropping an in-flight `poll` loses nothing. `stop` (and dropping the task)
//! aborts the reader, which closes its connections.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{Progress, SourceTask, SourceTaskContext};
use sluice_core::{ConnectError, SourceRecord};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::checks::{self, ServerInfo};
use crate::config::{self, MySqlConfig, SnapshotMode};
use crate::envelope::SourceSchemas;
use crate::error::{MySqlError, Result};
use crate::offsets::Offset;
use crate::replication::stream::{lost_position_message, Streamer};
use crate::snapshot;
use sluice_core::output::{Batch, Output};

/// What the reader does.
#[derive(Debug, Clone)]
enum Plan {
    /// Snapshot (resuming when the offset has progress), then stream unless `initial_only`.
    Snapshot {
        resume: Option<Offset>,
        then_stream: bool,
    },
    /// Stream from this offset.
    Stream(Offset),
    /// Nothing left to do (`initial_only` after its snapshot).
    Idle,
}

/// The MySQL / MariaDB source task.
#[derive(Debug, Default)]
pub struct MySqlTask {
    rx: Option<mpsc::Receiver<Batch>>,
    reader: Option<JoinHandle<()>>,
}

impl Drop for MySqlTask {
    fn drop(&mut self) {
        if let Some(h) = self.reader.take() {
            h.abort();
        }
    }
}

fn plan(cfg: &MySqlConfig, stored: Option<Offset>) -> Plan {
    let then_stream = cfg.snapshot_mode != SnapshotMode::InitialOnly;
    match (cfg.snapshot_mode, stored) {
        (SnapshotMode::Always, _) => Plan::Snapshot {
            resume: None,
            then_stream,
        },
        (_, Some(o)) if o.snapshot.is_some() => Plan::Snapshot {
            resume: Some(o),
            then_stream,
        },
        (SnapshotMode::InitialOnly, Some(_)) => Plan::Idle,
        (_, Some(o)) => Plan::Stream(o),
        (SnapshotMode::NoData | SnapshotMode::Never, None) => Plan::Stream(Offset::default()),
        (_, None) => Plan::Snapshot {
            resume: None,
            then_stream,
        },
    }
}

async fn prepare(cfg: &MySqlConfig, stored: Option<Offset>) -> Result<(ServerInfo, Plan)> {
    let mut plan = plan(cfg, stored);
    let mut conn = checks::connect(cfg).await?;
    let server = checks::check(&mut conn, cfg, matches!(plan, Plan::Snapshot { .. })).await?;
    if let Plan::Stream(o) = &plan {
        let files = checks::binary_logs(&mut conn).await?;
        if o.file.is_empty() {
            // No offset: no_data streams from now, never from the oldest binlog.
            let start = if cfg.snapshot_mode == SnapshotMode::Never {
                Offset {
                    file: files.first().cloned().unwrap_or_default(),
                    pos: 4,
                    ..Offset::default()
                }
            } else {
                let (file, pos, gtids) =
                    checks::current_position(&mut conn, server.mariadb).await?;
                Offset {
                    file,
                    pos,
                    gtids,
                    ..Offset::default()
                }
            };
            tracing::info!(file = %start.file, pos = start.pos, mode = ?cfg.snapshot_mode, "no stored offset: streaming without a snapshot");
            plan = Plan::Stream(start);
        } else {
            // MySQL by GTID: the position is lost when the server purged transactions the
            // stored set lacks, whatever files remain.
            let by_gtid = match o.gtids.as_deref() {
                Some(text) if server.gtid_mode && !server.mariadb => {
                    crate::gtid::GtidSet::parse(text).ok()
                }
                _ => None,
            };
            let lost = match &by_gtid {
                Some(set) => {
                    let missing = checks::gtid_purged(&mut conn).await?.minus(set);
                    (!missing.is_empty()).then(|| {
                        format!("the server purged GTIDs {missing} that the stored GTID set lacks")
                    })
                }
                None => (!files.contains(&o.file))
                    .then(|| format!("binlog file {} is not in SHOW BINARY LOGS", o.file)),
            };
            if let Some(said) = lost {
                if cfg.snapshot_mode == SnapshotMode::WhenNeeded {
                    tracing::warn!(file = %o.file, pos = o.pos, reason = %said, "the stored binlog position is gone; snapshot.mode=when_needed: taking a new snapshot");
                    plan = Plan::Snapshot {
                        resume: None,
                        then_stream: true,
                    };
                } else {
                    return Err(MySqlError::LostPosition(lost_position_message(
                        cfg,
                        o,
                        &said,
                        files.first().map(String::as_str),
                    )));
                }
            }
        }
    }
    drop(conn.disconnect().await);
    Ok((server, plan))
}

async fn read(
    cfg: Arc<MySqlConfig>,
    source: Arc<SourceSchemas>,
    server: ServerInfo,
    plan: Plan,
    out: &mut Output,
    progress: Progress,
) -> Result<()> {
    let start = match plan {
        Plan::Idle => {
            progress.set(Some(serde_json::json!({"phase": "done"})));
            tracing::info!(
                "snapshot.mode=initial_only and the snapshot is complete: nothing to read"
            );
            return Ok(());
        }
        Plan::Stream(o) => o,
        Plan::Snapshot {
            resume,
            then_stream,
        } => {
            let mut conn = checks::connect(&cfg).await?;
            let point = match resume {
                Some(p) => {
                    snapshot::resume(&mut conn).await?;
                    p
                }
                None => snapshot::begin(&mut conn, &server).await?,
            };
            let start = snapshot::run(&mut conn, &cfg, &source, point, out, &progress).await?;
            snapshot::end(&mut conn).await;
            drop(conn.disconnect().await);
            if !then_stream {
                progress.set(Some(serde_json::json!({"phase": "done"})));
                tracing::info!("snapshot.mode=initial_only: snapshot complete, not streaming");
                return Ok(());
            }
            start
        }
    };
    let meta = checks::connect(&cfg).await?;
    Streamer::new(cfg, source, server, Some(meta), start)
        .with_progress(progress)
        .run(out)
        .await
}

#[async_trait]
impl SourceTask for MySqlTask {
    async fn start(
        &mut self,
        config: &ConfigMap,
        context: SourceTaskContext,
    ) -> Result<(), ConnectError> {
        let cfg = Arc::new(config::parse(config)?);
        config::log_not_needed(config);
        let source = Arc::new(SourceSchemas::new(cfg.connector_name, &cfg.topic_prefix));
        let stored = context
            .offset(&source.partition)
            .map(Offset::from_map)
            .transpose()?;
        if let Some(o) = &stored {
            tracing::info!(offset = %serde_json::Value::Object(o.to_map()), "resuming from the stored offset");
        }
        let (server, plan) = prepare(&cfg, stored).await?;
        tracing::info!(plan = ?plan, server = %cfg.topic_prefix, "mysql source starting");
        let (tx, rx) = mpsc::channel(2);
        let mut out = Output::new(tx, cfg.max_batch_size);
        let progress = context.progress().clone();
        self.reader = Some(tokio::spawn(async move {
            if let Err(e) = read(cfg, source, server, plan, &mut out, progress).await {
                tracing::error!(error = %e, "mysql source failed");
                out.fail(e.into()).await;
            } else {
                let _ = out.flush().await;
            }
        }));
        self.rx = Some(rx);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        let Some(rx) = self.rx.as_mut() else {
            return Err(ConnectError::Fatal("mysql: polled before start".into()));
        };
        match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
            Ok(Some(batch)) => batch,
            Ok(None) => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                Ok(Vec::new())
            }
            Err(_) => Ok(Vec::new()),
        }
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        if let Some(h) = self.reader.take() {
            h.abort();
            let _ = h.await;
        }
        self.rx = None;
        Ok(())
    }
}
