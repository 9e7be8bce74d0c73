//! The storage trait the purge engine works through, and an in-memory implementation.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use palisade_core::TenantId;
use time::OffsetDateTime;

use crate::error::{Error, Result};

#[cfg(feature = "sqlite")]
pub mod sqlite;

/// One tenant's records of one data class.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    /// The tenant.
    pub tenant: TenantId,
    /// The data class.
    pub class: String,
}

/// A record as the store hands it to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The store's position of the record: strictly increasing within a scope, and the key it
    /// deletes by.
    pub position: i64,
    /// The host's record id (matched against hold record lists).
    pub id: String,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// When it ended; `None` while it runs.
    pub ended_at: Option<OffsetDateTime>,
    /// Still needed (failed job awaiting re-run, long transaction).
    pub needed: bool,
}

/// What the engine asks a store for: candidates in `scope` after `after`, in position order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateQuery<'a> {
    /// The scope.
    pub scope: &'a Scope,
    /// Ended records must have ended at or before this instant.
    pub ended_before: OffsetDateTime,
    /// Running records are returned only if started at or before this instant (`None`: never).
    pub running_started_before: Option<OffsetDateTime>,
    /// Only positions strictly greater than this.
    pub after: Option<i64>,
    /// At most this many records.
    pub limit: usize,
}

/// Storage of the records under retention, implemented by the host over its database.
///
/// Candidates are over-approximated by the store (cutoffs only); the engine makes the final
/// decision with [`crate::Policy::decide`], so a store can never cause a record younger than its
/// period to go.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// The distinct tenant/class pairs that have records.
    async fn scopes(&self) -> Result<Vec<Scope>>;

    /// Up to `q.limit` candidate records, ordered by position.
    async fn candidates(&self, q: &CandidateQuery<'_>) -> Result<Vec<StoredRecord>>;

    /// Atomically deletes the records at `positions` in `scope` AND saves `checkpoint` for `run`
    /// (or clears it when `None`): either both happen or neither. Returns how many rows went.
    async fn delete_batch(
        &self,
        scope: &Scope,
        positions: &[i64],
        run: &str,
        checkpoint: Option<&str>,
    ) -> Result<u64>;

    /// The checkpoint saved for `run`, if an earlier run stopped before finishing.
    async fn load_checkpoint(&self, run: &str) -> Result<Option<String>>;
}

#[derive(Debug, Default)]
struct MemoryInner {
    records: BTreeMap<Scope, BTreeMap<i64, StoredRecord>>,
    checkpoints: BTreeMap<String, String>,
    next: i64,
    fail_deletes_after: Option<usize>,
    fail_next: usize,
}

/// An in-memory [`RetentionStore`] for tests and examples.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<MemoryInner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, MemoryInner>> {
        self.inner.lock().map_err(|_| Error::Store("memory store lock poisoned".into()))
    }

    /// Adds a record; returns its position.
    pub fn insert(
        &self,
        scope: Scope,
        id: impl Into<String>,
        started_at: OffsetDateTime,
        ended_at: Option<OffsetDateTime>,
        needed: bool,
    ) -> Result<i64> {
        let mut g = self.lock()?;
        g.next += 1;
        let position = g.next;
        g.records
            .entry(scope)
            .or_default()
            .insert(position, StoredRecord { position, id: id.into(), started_at, ended_at, needed });
        Ok(position)
    }

    /// How many records the store holds.
    pub fn len(&self) -> usize {
        self.lock().map(|g| g.records.values().map(BTreeMap::len).sum()).unwrap_or(0)
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the record at `position` is still there.
    pub fn contains(&self, position: i64) -> bool {
        self.lock().map(|g| g.records.values().any(|m| m.contains_key(&position))).unwrap_or(false)
    }

    /// Makes the next `n` calls of `delete_batch` fail, then succeed again (a transient fault).
    pub fn fail_next_deletes(&self, n: usize) {
        if let Ok(mut g) = self.lock() {
            g.fail_next = n;
        }
    }

    /// Makes every `delete_batch` after the next `n` fail (simulates a crash); `None` heals.
    pub fn fail_deletes_after(&self, n: Option<usize>) {
        if let Ok(mut g) = self.lock() {
            g.fail_deletes_after = n;
        }
    }
}

#[async_trait]
impl RetentionStore for MemoryStore {
    async fn scopes(&self) -> Result<Vec<Scope>> {
        Ok(self.lock()?.records.iter().filter(|(_, m)| !m.is_empty()).map(|(s, _)| s.clone()).collect())
    }

    async fn candidates(&self, q: &CandidateQuery<'_>) -> Result<Vec<StoredRecord>> {
        let g = self.lock()?;
        let Some(m) = g.records.get(q.scope) else { return Ok(Vec::new()) };
        let from = q.after.map_or(i64::MIN, |a| a.saturating_add(1));
        Ok(m.range(from..)
            .map(|(_, r)| r)
            .filter(|r| match r.ended_at {
                Some(e) => e <= q.ended_before,
                None => q.running_started_before.is_some_and(|c| r.started_at <= c),
            })
            .take(q.limit)
            .cloned()
            .collect())
    }

    async fn delete_batch(
        &self,
        scope: &Scope,
        positions: &[i64],
        run: &str,
        checkpoint: Option<&str>,
    ) -> Result<u64> {
        let mut g = self.lock()?;
        if g.fail_next > 0 {
            g.fail_next -= 1;
            return Err(Error::Store("simulated transient failure".into()));
        }
        if let Some(n) = g.fail_deletes_after {
            if n == 0 {
                return Err(Error::Store("simulated failure".into()));
            }
            g.fail_deletes_after = Some(n - 1);
        }
        let mut deleted = 0;
        if let Some(m) = g.records.get_mut(scope) {
            for p in positions {
                if m.remove(p).is_some() {
                    deleted += 1;
                }
            }
        }
        match checkpoint {
            Some(c) => {
                g.checkpoints.insert(run.to_owned(), c.to_owned());
            }
            None => {
                g.checkpoints.remove(run);
            }
        }
        Ok(deleted)
    }

    async fn load_checkpoint(&self, run: &str) -> Result<Option<String>> {
        Ok(self.lock()?.checkpoints.get(run).cloned())
    }
}
