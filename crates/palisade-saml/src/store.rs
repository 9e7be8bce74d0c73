//! The two pieces of state an SP keeps: pending AuthnRequest IDs ([`RequestStore`], consumed once)
//! and used assertion/response IDs ([`ReplayCache`], kept until they could no longer be valid).
//! In-memory implementations here; a multi-node host plugs in a shared store.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::Result;

/// Remembers AuthnRequest IDs until the response comes back.
#[async_trait]
pub trait RequestStore: Send + Sync {
    /// Records a pending request, valid until `expires`.
    async fn put(&self, request_id: &str, expires: OffsetDateTime) -> Result<()>;
    /// Removes and returns whether the request was pending and not expired at `now`. A second call
    /// for the same ID returns false.
    async fn take(&self, request_id: &str, now: OffsetDateTime) -> Result<bool>;
}

/// Records message IDs so each can be used once.
#[async_trait]
pub trait ReplayCache: Send + Sync {
    /// Inserts `key` (kept until `until`); returns false if it was already there (a replay).
    /// Must be atomic: two concurrent inserts of one key cannot both return true.
    async fn insert_once(&self, key: &str, until: OffsetDateTime, now: OffsetDateTime) -> Result<bool>;
}

/// In-memory [`RequestStore`].
#[derive(Debug, Default)]
pub struct MemoryRequestStore {
    inner: Mutex<HashMap<String, OffsetDateTime>>,
}

impl MemoryRequestStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl RequestStore for MemoryRequestStore {
    async fn put(&self, request_id: &str, expires: OffsetDateTime) -> Result<()> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).insert(request_id.to_owned(), expires);
        Ok(())
    }

    async fn take(&self, request_id: &str, now: OffsetDateTime) -> Result<bool> {
        let mut map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, exp| *exp > now);
        Ok(map.remove(request_id).is_some())
    }
}

/// In-memory [`ReplayCache`]; expired entries are purged on insert.
#[derive(Debug, Default)]
pub struct MemoryReplayCache {
    inner: Mutex<HashMap<String, OffsetDateTime>>,
}

impl MemoryReplayCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl ReplayCache for MemoryReplayCache {
    async fn insert_once(&self, key: &str, until: OffsetDateTime, now: OffsetDateTime) -> Result<bool> {
        let mut map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, u| *u > now);
        if map.contains_key(key) {
            return Ok(false);
        }
        map.insert(key.to_owned(), until);
        Ok(true)
    }
}
