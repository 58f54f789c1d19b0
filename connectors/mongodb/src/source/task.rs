//! The source task: decides between snapshot and streaming, then runs the reader in the
//! background and hands its batches to `poll`.
//!
//! Why this is right: every decision is taken in `start`, before any record exists, from
//! `snapshot.mode` and the stored offset — a stored token is tried at once, so a lost
//! position fails the task with its guided message before anything is emitted, and
//! `when_needed` turns it into a new snapshot. `poll` only awaits a channel receive, which
//! is cancel-safe: dropping an in-flight `poll` loses nothing. `stop` (and dropping the
//! task) aborts the reader, which drops its cursors.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mongodb::bson::doc;
use mongodb::Client;
use sluice_core::config::ConfigMap;
use sluice_core::plugin::{Progress, SourceTask, SourceTaskContext};
use sluice_core::{ConnectError, SourceRecord};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::config::{self, MongoConfig, SnapshotMode};
use super::envelope::{self, SourceSchemas};
use super::offsets::Offset;
use super::snapshot;
use super::stream::{self, Start};
use crate::error::{Context, MongoError, Result};
use sluice_core::output::{Batch, Output};

/// What the reader does.
#[derive(Debug, Clone)]
enum Plan {
    /// Snapshot (resuming when the offset has progress), then stream unless `initial_only`.
    Snapshot {
        resume: Option<Offset>,
        then_stream: bool,
    },
    /// Stream from here.
    Stream(Start),
    /// Nothing left to do (`initial_only` after its snapshot).
    Idle,
}

fn plan(cfg: &MongoConfig, stored: Option<Offset>) -> Plan {
    let then_stream = cfg.snapshot_mode != SnapshotMode::InitialOnly;
    match (cfg.snapshot_mode, stored) {
        (SnapshotMode::Always, _) => Plan::Snapshot {
            resume: None,
            then_stream,
        },
        (_, Some(o)) if o.initsync => Plan::Snapshot {
            resume: Some(o),
            then_stream,
        },
        (SnapshotMode::InitialOnly, Some(_)) => Plan::Idle,
        (_, Some(o)) => Plan::Stream(Start::of(&o)),
        (SnapshotMode::NoData, None) => Plan::Stream(Start::Now),
        (_, None) => Plan::Snapshot {
            resume: None,
            then_stream,
        },
    }
}

/// Connects with the config's connection string and credentials.
pub async fn connect(
    uri: &str,
    user: Option<&str>,
    password: Option<&str>,
    auth_source: &str,
) -> Result<Client> {
    let mut options = mongodb::options::ClientOptions::parse(uri)
        .await
        .ctx(|| "parsing mongodb.connection.string".into())?;
    if let Some(u) = user {
        options.credential = Some(
            mongodb::options::Credential::builder()
                .username(u.to_owned())
                .password(password.map(str::to_owned))
                .source(auth_source.to_owned())
                .build(),
        );
    }
    if options.app_name.is_none() {
        options.app_name = Some("sluice".into());
    }
    Client::with_options(options).ctx(|| "creating the MongoDB client".into())
}

/// The replica set name (`hello.setName`); sharded clusters answer without one.
async fn replica_set(client: &Client) -> Result<String> {
    let hello = client
        .database("admin")
        .run_command(doc! {"hello": 1})
        .await
        .ctx(|| "asking the server hello (is it reachable?)".into())?;
    if let Ok(name) = hello.get_str("setName") {
        return Ok(name.to_owned());
    }
    if hello.get_str("msg") == Ok("isdbgrid") {
        return Ok("sharded".into());
    }
    Err(MongoError::Config(
        "the server is a standalone mongod: change streams need a replica set or a sharded cluster; \
         start it with --replSet (a single-node replica set is enough) and rs.initiate()"
            .into(),
    ))
}

async fn prepare(client: &Client, cfg: &MongoConfig, stored: Option<Offset>) -> Result<Plan> {
    let plan = plan(cfg, stored);
    if let Plan::Stream(start @ Start::After(_)) = &plan {
        match stream::open(client, cfg, start).await {
            Ok(s) => drop(s),
            Err(MongoError::LostPosition(m)) if cfg.snapshot_mode == SnapshotMode::WhenNeeded => {
                tracing::warn!(reason = %m, "the stored resume token is gone; snapshot.mode=when_needed: taking a new snapshot");
                return Ok(Plan::Snapshot {
                    resume: None,
                    then_stream: true,
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(plan)
}

async fn read(
    client: Client,
    cfg: Arc<MongoConfig>,
    s: Arc<SourceSchemas>,
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
        Plan::Stream(start) => start,
        Plan::Snapshot {
            resume,
            then_stream,
        } => {
            let point = match resume {
                Some(p) => p,
                None => snapshot::begin(&client, &cfg).await?,
            };
            let Some(from) = snapshot::run(&client, &cfg, &s, point, out, &progress).await? else {
                return Ok(());
            };
            if !then_stream {
                progress.set(Some(serde_json::json!({"phase": "done"})));
                tracing::info!("snapshot.mode=initial_only: snapshot complete, not streaming");
                return Ok(());
            }
            Start::of(&from)
        }
    };
    stream::run(&client, &cfg, &s, start, out, &progress).await
}

/// The MongoDB change-stream source task.
#[derive(Debug, Default)]
pub struct MongoSourceTask {
    rx: Option<mpsc::Receiver<Batch>>,
    reader: Option<JoinHandle<()>>,
}

impl Drop for MongoSourceTask {
    fn drop(&mut self) {
        if let Some(h) = self.reader.take() {
            h.abort();
        }
    }
}

#[async_trait]
impl SourceTask for MongoSourceTask {
    async fn start(
        &mut self,
        config: &ConfigMap,
        context: SourceTaskContext,
    ) -> Result<(), ConnectError> {
        let cfg = Arc::new(config::parse(config)?);
        config::log_not_needed(config);
        let client = connect(
            &cfg.connection_string,
            cfg.user.as_deref(),
            cfg.password.as_deref(),
            &cfg.auth_source,
        )
        .await?;
        let rs = replica_set(&client).await?;
        let s = Arc::new(SourceSchemas::new(&cfg.topic_prefix, &rs));
        let stored = context
            .offset(&s.partition)
            .or_else(|| context.offset(&envelope::legacy_partition(&cfg.topic_prefix, &rs)))
            .map(Offset::from_map)
            .transpose()?;
        if let Some(o) = &stored {
            tracing::info!(offset = %serde_json::Value::Object(o.to_map()), "resuming from the stored offset");
        }
        let plan = prepare(&client, &cfg, stored).await?;
        tracing::info!(plan = ?plan, server = %cfg.topic_prefix, rs = %rs, "mongodb source starting");
        let (tx, rx) = mpsc::channel(2);
        let mut out = Output::new(tx, cfg.max_batch_size);
        let progress = context.progress().clone();
        self.reader = Some(tokio::spawn(async move {
            if let Err(e) = read(client, cfg, s, plan, &mut out, progress).await {
                tracing::error!(error = %e, "mongodb source failed");
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
            return Err(ConnectError::Fatal("mongodb: polled before start".into()));
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
