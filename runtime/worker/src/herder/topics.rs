//! Active topics (KIP-558): the topics a connector produced to or consumed from, for
//! `GET /connectors/{n}/topics`.
//!
//! A [`TopicRecorder`] sees every record's topic: a source's executor shows it the topic
//! of each record it hands to the producer (after every transform that may rename it,
//! as Kafka Connect records at delivery); for a sink it is the first stage of the
//! transform chain (the topic the record was consumed from, before a transform renames
//! it). It touches the shared set only when a record's topic differs from the previous
//! record's, so the per-record cost is one string comparison.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use sluice_core::plugin::Transform;
use sluice_core::{ConnectError, Record};

/// The recorded topics of one connector.
#[derive(Debug, Default)]
pub struct ActiveTopics {
    topics: Mutex<BTreeSet<String>>,
    /// Bumped by every reset, so recorders forget what they last saw.
    generation: std::sync::atomic::AtomicU64,
    /// Told each newly seen topic (distributed mode writes it to the status topic).
    notify: Option<tokio::sync::mpsc::UnboundedSender<String>>,
}

impl ActiveTopics {
    /// A set that also sends each newly seen topic to `notify`.
    pub fn notifying(notify: tokio::sync::mpsc::UnboundedSender<String>) -> Self {
        ActiveTopics {
            notify: Some(notify),
            ..ActiveTopics::default()
        }
    }

    /// Every recorded topic, sorted.
    pub fn list(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }

    /// Forgets every topic.
    pub fn reset(&self) {
        self.lock().clear();
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    fn record(&self, topic: &str) {
        let mut topics = self.lock();
        if !topics.contains(topic) {
            tracing::debug!(topic, "connector uses a new topic");
            topics.insert(topic.to_owned());
            if let Some(n) = &self.notify {
                let _ = n.send(topic.to_owned());
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.topics.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A pass-through transform that records each record's topic in an [`ActiveTopics`].
pub struct TopicRecorder {
    topics: Arc<ActiveTopics>,
    last: String,
    generation: u64,
}

impl TopicRecorder {
    /// A recorder writing to `topics`.
    pub fn new(topics: Arc<ActiveTopics>) -> Self {
        TopicRecorder {
            topics,
            last: String::new(),
            generation: u64::MAX,
        }
    }
}

impl TopicRecorder {
    /// Records `topic` (cheaply, when it is the previous record's topic).
    pub fn observe(&mut self, topic: &str) {
        let generation = self
            .topics
            .generation
            .load(std::sync::atomic::Ordering::Acquire);
        if topic != self.last || generation != self.generation {
            self.topics.record(topic);
            topic.clone_into(&mut self.last);
            self.generation = generation;
        }
    }
}

impl Transform for TopicRecorder {
    fn apply(&mut self, record: Record) -> Result<Option<Record>, ConnectError> {
        self.observe(&record.topic);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(topic: &str) -> Record {
        Record {
            topic: topic.into(),
            partition: None,
            key: sluice_core::SchemaAndValue::NULL,
            value: sluice_core::SchemaAndValue::NULL,
            timestamp: None,
            headers: Default::default(),
        }
    }

    #[test]
    fn records_each_topic_once_and_forgets_on_reset() {
        let topics = Arc::new(ActiveTopics::default());
        let mut recorder = TopicRecorder::new(topics.clone());
        for t in ["b", "b", "a", "b"] {
            let out = recorder.apply(record(t)).expect("apply");
            assert_eq!(out.map(|r| r.topic), Some(t.to_owned()), "passes through");
        }
        assert_eq!(topics.list(), ["a", "b"]);
        topics.reset();
        assert!(topics.list().is_empty());
        recorder.apply(record("b")).expect("apply");
        assert_eq!(topics.list(), ["b"], "the same topic again after a reset");
    }
}
