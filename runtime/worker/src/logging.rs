//! Log levels changed at run time (KIP-495's `/admin/loggers`), over a
//! `tracing-subscriber` reload layer.
//!
//! Loggers are `tracing` targets: Rust module paths such as `sluice_worker::source` or
//! `sluice_connector_mysql`, plus `rdkafka`; Kafka Connect's root logger is `root`. The
//! filter is always rebuilt from one table (`root` level plus `target=level` for every
//! named logger) and swapped in whole, so what `GET /admin/loggers` shows is exactly
//! what filters events: a level set on `sluice_worker` also replaces the levels of its
//! named children (`sluice_worker::source`), as setting a log4j logger does in Kafka
//! Connect; a level set on `root` replaces every level. Kafka Connect's level names map
//! onto tracing's: FATAL → ERROR, ALL → TRACE, OFF → OFF.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{reload, Registry};

/// Kafka Connect's name of the root logger.
pub const ROOT: &str = "root";

/// A logger's level as `/admin/loggers` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoggerLevel {
    /// `ERROR`, `WARN`, `INFO`, `DEBUG`, `TRACE` or `OFF`.
    pub level: &'static str,
    /// When the REST API last set it (ms since the epoch), `null` if never.
    pub last_modified: Option<u64>,
}

/// Why a level change was refused.
#[derive(Debug, thiserror::Error)]
pub enum LevelError {
    /// Not a Kafka Connect / log4j level name.
    #[error("invalid log level '{0}'.")]
    UnknownLevel(String),
    /// The logger name cannot be a tracing target.
    #[error("Logger name '{0}' is not a valid logger: use a Rust module path such as sluice_worker::source, or root")]
    BadName(String),
    /// The process did not install the reloadable subscriber.
    #[error(
        "log levels cannot be changed in this process: it did not install Sluice's log subscriber"
    )]
    NotInstalled,
    /// The rebuilt filter was refused.
    #[error("applying log levels {directives}: {reason}")]
    Apply {
        /// The directives.
        directives: String,
        /// What tracing-subscriber said.
        reason: String,
    },
}

#[derive(Debug, Clone)]
struct Entry {
    level: LevelFilter,
    last_modified: Option<u64>,
}

#[derive(Debug)]
struct Table {
    root: Entry,
    loggers: BTreeMap<String, Entry>,
    /// Directives we do not model (spans, fields), kept verbatim after ours.
    extra: Vec<String>,
}

impl Table {
    fn parse(directives: &str) -> Table {
        let mut table = Table {
            root: Entry {
                level: LevelFilter::ERROR,
                last_modified: None,
            },
            loggers: BTreeMap::new(),
            extra: Vec::new(),
        };
        for d in directives
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            match d.split_once('=') {
                None => match d.parse::<LevelFilter>() {
                    Ok(level) => table.root.level = level,
                    Err(_) => {
                        table
                            .loggers
                            .insert(d.to_owned(), entry(LevelFilter::TRACE));
                    }
                },
                Some((target, level)) if valid_target(target) => match level.parse::<LevelFilter>()
                {
                    Ok(level) => {
                        table.loggers.insert(target.to_owned(), entry(level));
                    }
                    Err(_) => table.extra.push(d.to_owned()),
                },
                Some(_) => table.extra.push(d.to_owned()),
            }
        }
        table
    }

    fn directives(&self) -> String {
        let mut out = vec![self.root.level.to_string().to_ascii_lowercase()];
        for (target, e) in &self.loggers {
            out.push(format!(
                "{target}={}",
                e.level.to_string().to_ascii_lowercase()
            ));
        }
        out.extend(self.extra.iter().cloned());
        out.join(",")
    }

    /// The level in effect for `target`: its own, its nearest named ancestor's, or root's.
    fn effective(&self, target: &str) -> &Entry {
        let mut best: Option<(&String, &Entry)> = None;
        for (name, e) in &self.loggers {
            if is_within(target, name) && best.is_none_or(|(b, _)| name.len() > b.len()) {
                best = Some((name, e));
            }
        }
        best.map_or(&self.root, |(_, e)| e)
    }
}

fn entry(level: LevelFilter) -> Entry {
    Entry {
        level,
        last_modified: None,
    }
}

/// `target` is `ancestor` or inside it (`ancestor::…`).
fn is_within(target: &str, ancestor: &str) -> bool {
    target == ancestor
        || target
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with("::"))
}

fn valid_target(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-' | '.'))
}

/// Kafka Connect's (log4j's) level names.
fn kafka_name(level: LevelFilter) -> &'static str {
    match level {
        LevelFilter::OFF => "OFF",
        LevelFilter::ERROR => "ERROR",
        LevelFilter::WARN => "WARN",
        LevelFilter::INFO => "INFO",
        LevelFilter::DEBUG => "DEBUG",
        _ => "TRACE",
    }
}

/// Reads a Kafka Connect level name, in any case.
pub fn parse_level(name: &str) -> Option<LevelFilter> {
    match name.trim().to_ascii_uppercase().as_str() {
        "OFF" => Some(LevelFilter::OFF),
        "FATAL" | "ERROR" => Some(LevelFilter::ERROR),
        "WARN" => Some(LevelFilter::WARN),
        "INFO" => Some(LevelFilter::INFO),
        "DEBUG" => Some(LevelFilter::DEBUG),
        "TRACE" | "ALL" => Some(LevelFilter::TRACE),
        _ => None,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The process's log levels and the handle that swaps the filter.
pub struct LogLevels {
    table: Mutex<Table>,
    handle: reload::Handle<EnvFilter, Registry>,
}

static LEVELS: OnceLock<LogLevels> = OnceLock::new();

/// Installs the global subscriber: stderr, ANSI colours on a terminal, levels from
/// `directives` (`SLUICE_LOG` syntax, e.g. `info,rdkafka=warn`), changeable at run time.
pub fn init(directives: &str) {
    use std::io::IsTerminal as _;
    let table = Table::parse(directives);
    let filter = EnvFilter::try_new(table.directives())
        .or_else(|_| EnvFilter::try_new(directives))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (layer, handle) = reload::Layer::new(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if tracing_subscriber::registry()
        .with(layer)
        .with(fmt)
        .try_init()
        .is_ok()
    {
        let _ = LEVELS.set(LogLevels {
            table: Mutex::new(table),
            handle,
        });
    }
}

/// The installed levels, if [`init`] ran in this process.
pub fn levels() -> Option<&'static LogLevels> {
    LEVELS.get()
}

impl LogLevels {
    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `root` and every named logger with its level.
    pub fn all(&self) -> BTreeMap<String, LoggerLevel> {
        let table = self.lock();
        let show = |e: &Entry| LoggerLevel {
            level: kafka_name(e.level),
            last_modified: e.last_modified,
        };
        let mut out: BTreeMap<String, LoggerLevel> = table
            .loggers
            .iter()
            .filter(|(_, e)| e.level != LevelFilter::OFF)
            .map(|(k, e)| (k.clone(), show(e)))
            .collect();
        out.insert(ROOT.to_owned(), show(&table.root));
        out
    }

    /// The level in effect for `name` (`root`, or any target).
    pub fn level(&self, name: &str) -> Result<LoggerLevel, LevelError> {
        if !name.eq_ignore_ascii_case(ROOT) && !valid_target(name) {
            return Err(LevelError::BadName(name.to_owned()));
        }
        let table = self.lock();
        let e = if name.eq_ignore_ascii_case(ROOT) {
            &table.root
        } else {
            table.effective(name)
        };
        Ok(LoggerLevel {
            level: kafka_name(e.level),
            last_modified: e.last_modified,
        })
    }

    /// Sets `name` (and its named children; every logger for `root`) to `level`;
    /// answers the names changed, sorted.
    pub fn set(&self, name: &str, level: &str) -> Result<Vec<String>, LevelError> {
        let filter =
            parse_level(level).ok_or_else(|| LevelError::UnknownLevel(level.to_owned()))?;
        let is_root = name.eq_ignore_ascii_case(ROOT);
        if !is_root && !valid_target(name) {
            return Err(LevelError::BadName(name.to_owned()));
        }
        let mut table = self.lock();
        let stamp = Entry {
            level: filter,
            last_modified: Some(now_ms()),
        };
        let mut changed = Vec::new();
        if is_root {
            table.root = stamp.clone();
            changed.push(ROOT.to_owned());
        }
        for (target, e) in table.loggers.iter_mut() {
            if is_root || is_within(target, name) {
                *e = stamp.clone();
                changed.push(target.clone());
            }
        }
        if !is_root && !table.loggers.contains_key(name) {
            table.loggers.insert(name.to_owned(), stamp);
            changed.push(name.to_owned());
        }
        changed.sort();
        let directives = table.directives();
        let filter = EnvFilter::try_new(&directives).map_err(|e| LevelError::Apply {
            directives: directives.clone(),
            reason: e.to_string(),
        })?;
        self.handle.reload(filter).map_err(|e| LevelError::Apply {
            directives: directives.clone(),
            reason: e.to_string(),
        })?;
        tracing::info!(logger = %name, level = kafka_name(stamp_level(&table, name)), "log level changed");
        Ok(changed)
    }
}

fn stamp_level(table: &Table, name: &str) -> LevelFilter {
    if name.eq_ignore_ascii_case(ROOT) {
        table.root.level
    } else {
        table.effective(name).level
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_env_directives_into_root_and_loggers() {
        let t = Table::parse("info,rdkafka=warn,sluice_worker=debug");
        assert_eq!(t.root.level, LevelFilter::INFO);
        assert_eq!(t.directives(), "info,rdkafka=warn,sluice_worker=debug");
        assert_eq!(
            t.effective("sluice_worker::source").level,
            LevelFilter::DEBUG
        );
        assert_eq!(t.effective("sluice_workers").level, LevelFilter::INFO);
        assert_eq!(
            t.effective("sluice_connector_mysql").level,
            LevelFilter::INFO
        );
    }

    #[test]
    fn kafka_connect_level_names() {
        assert_eq!(parse_level("fatal"), Some(LevelFilter::ERROR));
        assert_eq!(parse_level("ALL"), Some(LevelFilter::TRACE));
        assert_eq!(parse_level("Debug"), Some(LevelFilter::DEBUG));
        assert_eq!(parse_level("verbose"), None);
        assert_eq!(kafka_name(LevelFilter::WARN), "WARN");
    }
}
