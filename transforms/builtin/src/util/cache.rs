//! A small schema-keyed cache, the counterpart of Kafka Connect's
//! `SynchronizedCache<>(new LRUCache<>(16))` in front of every schema rebuild.
//!
//! Records of one table share one `Arc<Schema>`, so a lookup is a pointer comparison
//! over a handful of entries; the cached key `Arc` is kept alive, so a pointer can
//! never be reused for another schema while it is in the cache. A schema that is
//! equal but not the same allocation (a converter that builds a schema per record)
//! still hits, through a deep comparison after the pointer scan.

use sluice_core::SchemaRef;

use super::Result;

/// A cache key made of schemas (and, for a few transforms, strings).
pub(crate) trait CacheKey {
    /// Same allocation(s): the fast path.
    fn same(&self, other: &Self) -> bool;
    /// Equal content.
    fn equal(&self, other: &Self) -> bool;
}

impl CacheKey for SchemaRef {
    #[inline]
    fn same(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(self, other)
    }
    fn equal(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl CacheKey for Option<SchemaRef> {
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Some(a), Some(b)) => a.same(b),
            (None, None) => true,
            _ => false,
        }
    }
    fn equal(&self, other: &Self) -> bool {
        match (self, other) {
            (Some(a), Some(b)) => a.equal(b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl CacheKey for String {
    fn same(&self, other: &Self) -> bool {
        self == other
    }
    fn equal(&self, other: &Self) -> bool {
        self == other
    }
}

impl<A: CacheKey, B: CacheKey> CacheKey for (A, B) {
    fn same(&self, other: &Self) -> bool {
        self.0.same(&other.0) && self.1.same(&other.1)
    }
    fn equal(&self, other: &Self) -> bool {
        self.0.equal(&other.0) && self.1.equal(&other.1)
    }
}

/// Up to `capacity` entries; the oldest is evicted first.
#[derive(Debug)]
pub(crate) struct SchemaCache<K, V> {
    entries: Vec<(K, V)>,
    capacity: usize,
}

impl<K: CacheKey + Clone, V: Clone> Default for SchemaCache<K, V> {
    fn default() -> Self {
        Self::new(16)
    }
}

impl<K: CacheKey + Clone, V: Clone> SchemaCache<K, V> {
    /// An empty cache of `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        SchemaCache {
            entries: Vec::new(),
            capacity: capacity.max(1),
        }
    }

    /// The cached value for `key`, computing (and caching) it on a miss.
    pub(crate) fn get_or_try_insert(
        &mut self,
        key: &K,
        build: impl FnOnce() -> Result<V>,
    ) -> Result<V> {
        if let Some(v) = self.get(key) {
            return Ok(v);
        }
        let v = build()?;
        self.insert(key, v.clone());
        Ok(v)
    }

    /// The cached value for `key`, if any.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        self.get_ref(key).cloned()
    }

    /// The cached value for `key`, borrowed (no clone of the value on a hit).
    #[inline]
    pub(crate) fn get_ref(&self, key: &K) -> Option<&V> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    /// The cached value for `key`, borrowed, computing (and caching) it on a miss.
    #[inline]
    pub(crate) fn get_or_try_insert_ref(
        &mut self,
        key: &K,
        build: impl FnOnce() -> Result<V>,
    ) -> Result<&V> {
        let i = match self.position(key) {
            Some(i) => i,
            None => {
                let v = build()?;
                self.insert(key, v);
                self.entries.len() - 1
            }
        };
        Ok(&self.entries[i].1)
    }

    /// As [`SchemaCache::get_or_try_insert_ref`], probing with `same` (the pointer
    /// comparison, tried on every entry first) and `equal` (the deep one) instead of
    /// a key, so a lookup need not build (and clone the parts of) a key; `key` makes
    /// it only on a miss.
    pub(crate) fn get_or_try_insert_by(
        &mut self,
        same: impl Fn(&K) -> bool,
        equal: impl Fn(&K) -> bool,
        key: impl FnOnce() -> K,
        build: impl FnOnce() -> Result<V>,
    ) -> Result<&V> {
        let found = self
            .entries
            .iter()
            .position(|(k, _)| same(k))
            .or_else(|| self.entries.iter().position(|(k, _)| equal(k)));
        let i = match found {
            Some(i) => i,
            None => {
                let v = build()?;
                if self.entries.len() >= self.capacity {
                    self.entries.remove(0);
                }
                self.entries.push((key(), v));
                self.entries.len() - 1
            }
        };
        Ok(&self.entries[i].1)
    }

    /// Where `key` is cached: a pointer scan over every entry first (the common
    /// case), a deep comparison only when no entry is the same allocation.
    #[inline]
    fn position(&self, key: &K) -> Option<usize> {
        self.entries
            .iter()
            .position(|(k, _)| k.same(key))
            .or_else(|| self.entries.iter().position(|(k, _)| k.equal(key)))
    }

    /// Caches `value` for `key`, evicting the oldest entry when full.
    pub(crate) fn insert(&mut self, key: &K, value: V) {
        if self.entries.len() >= self.capacity {
            self.entries.remove(0);
        }
        self.entries.push((key.clone(), value));
    }
}
