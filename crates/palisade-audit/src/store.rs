//! The [`AuditStore`] trait, queries, checkpoint policy, and the in-memory store.

pub mod file;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use palisade_core::{SharedClock, TenantId};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::chain::{self, ChainHead, StoredEntry};
use crate::checkpoint::{CheckpointSigner, SignedCheckpoint};
use crate::error::{Error, Result};
use crate::event::AuditEvent;

/// The most entries one query page returns.
pub const MAX_PAGE: usize = 10_000;

/// Where an audit log is kept. Appends are all-or-nothing and durable when they return; entries
/// are never changed or removed through this trait.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends `events` (any tenants) to their tenants' chains, in order. When this returns
    /// `Ok`, every event is stored durably; on `Err`, none is.
    async fn append(&self, events: Vec<AuditEvent>) -> Result<Vec<StoredEntry>>;
    /// One page of a tenant's entries matching `query`, oldest first.
    async fn query(&self, query: &Query) -> Result<Page>;
    /// The head of a tenant's chain.
    async fn head(&self, tenant: &TenantId) -> Result<ChainHead>;
    /// The tenants that have entries.
    async fn tenants(&self) -> Result<Vec<TenantId>>;
    /// Signs a checkpoint over the tenant's current head now (if a signer is configured and the
    /// head moved since the last one). Returns the head it covers.
    async fn checkpoint(&self, tenant: &TenantId) -> Result<Option<ChainHead>>;
}

/// A query over one tenant's log. Filters combine with AND.
///
/// ```
/// use palisade_audit::Query;
/// let q = Query::new("acme".parse()?).action_prefix("user.login").limit(50);
/// assert_eq!(q.limit, 50);
/// # Ok::<(), palisade_core::IdError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Query {
    /// The tenant.
    pub tenant: TenantId,
    /// Events at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Events before this time.
    pub until: Option<OffsetDateTime>,
    /// Events by this actor id.
    pub actor: Option<String>,
    /// Events whose action is this or under it (`user.login` matches `user.login.failed`).
    pub action_prefix: Option<String>,
    /// Continue after a previous page.
    pub cursor: Option<Cursor>,
    /// Page size (1 to [`MAX_PAGE`]).
    pub limit: usize,
}

impl Query {
    /// All of a tenant's events, 100 per page.
    pub fn new(tenant: TenantId) -> Self {
        Self { tenant, since: None, until: None, actor: None, action_prefix: None, cursor: None, limit: 100 }
    }
    /// Events at or after `t`.
    pub fn since(mut self, t: OffsetDateTime) -> Self {
        self.since = Some(t);
        self
    }
    /// Events before `t`.
    pub fn until(mut self, t: OffsetDateTime) -> Self {
        self.until = Some(t);
        self
    }
    /// Events by `actor`.
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }
    /// Events whose action starts with the dotted `prefix`.
    pub fn action_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.action_prefix = Some(prefix.into());
        self
    }
    /// Continue from `cursor`.
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.cursor = Some(cursor);
        self
    }
    /// Page size.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = n;
        self
    }

    /// Whether `entry` passes the filters.
    pub fn matches(&self, e: &StoredEntry) -> bool {
        e.event.tenant == self.tenant
            && self.since.is_none_or(|t| e.event.ts >= t)
            && self.until.is_none_or(|t| e.event.ts < t)
            && self.actor.as_deref().is_none_or(|a| e.event.actor.id == a)
            && self.action_prefix.as_deref().is_none_or(|p| e.event.action.matches_prefix(p))
    }

    pub(crate) fn start_seq(&self) -> u64 {
        self.cursor.map_or(1, |c| c.0)
    }

    pub(crate) fn checked_limit(&self) -> Result<usize> {
        if self.limit == 0 || self.limit > MAX_PAGE {
            return Err(Error::invalid("query limit", format!("{} is outside 1..={MAX_PAGE}", self.limit)));
        }
        Ok(self.limit)
    }
}

/// Where the next page starts: an opaque token (the next sequence number to read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub u64);

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for Cursor {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        s.parse()
            .map(Cursor)
            .map_err(|_| Error::invalid("cursor", format!("{s:?} is not a cursor from a previous page")))
    }
}

/// One page of results.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// Matching entries, oldest first.
    pub entries: Vec<StoredEntry>,
    /// Where the next page starts; `None` when there is no more.
    pub next: Option<Cursor>,
}

/// When stores sign checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointPolicy {
    /// After this many new entries in a tenant's chain.
    pub every_entries: u64,
    /// After this much time, if the chain grew.
    #[serde(with = "crate::serde_secs")]
    pub every: Duration,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self { every_entries: 1000, every: Duration::seconds(60) }
    }
}

impl CheckpointPolicy {
    /// Every problem with the policy.
    pub fn validate(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.every_entries == 0 {
            out.push("checkpoint.every_entries must be at least 1".into());
        }
        if self.every <= Duration::ZERO {
            out.push("checkpoint.every must be positive".into());
        }
        out
    }

    pub(crate) fn due(
        &self,
        head: ChainHead,
        last: Option<(u64, OffsetDateTime)>,
        now: OffsetDateTime,
    ) -> bool {
        match last {
            None => head.seq > 0,
            Some((seq, at)) => {
                head.seq > seq && (head.seq - seq >= self.every_entries || now - at >= self.every)
            }
        }
    }
}

/// The signer and policy for checkpoints.
#[derive(Debug, Clone)]
pub struct Checkpointing {
    /// Signs checkpoints.
    pub signer: Arc<dyn CheckpointSigner>,
    /// When.
    pub policy: CheckpointPolicy,
}

#[derive(Default)]
struct MemTenant {
    entries: Vec<StoredEntry>,
    lines: Vec<Vec<u8>>,
    checkpoints: Vec<Vec<u8>>,
    last_cp: Option<(u64, OffsetDateTime)>,
}

/// An in-memory store, for tests and for hosts that stream everything out and keep nothing.
/// Chained and checkpointed exactly like the file store; [`MemoryAuditStore::lines`] gives the
/// lines a file store would have written.
///
/// ```
/// # tokio_test_block(async {
/// use palisade_audit::{Actor, AuditEvent, AuditStore, MemoryAuditStore, Query};
/// use palisade_core::{ManualClock, SystemClock};
/// use std::sync::Arc;
///
/// let store = MemoryAuditStore::new(Arc::new(SystemClock), None);
/// let event = AuditEvent::new(&SystemClock, "acme".parse()?, Actor::system("cron"), "retention.purged")?;
/// let stored = store.append(vec![event]).await?;
/// assert_eq!(stored[0].seq, 1);
/// let page = store.query(&Query::new("acme".parse()?)).await?;
/// assert_eq!(page.entries.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// # fn tokio_test_block<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub struct MemoryAuditStore {
    clock: SharedClock,
    checkpointing: Option<Checkpointing>,
    tenants: Mutex<HashMap<TenantId, MemTenant>>,
}

impl std::fmt::Debug for MemoryAuditStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryAuditStore").finish_non_exhaustive()
    }
}

impl MemoryAuditStore {
    /// An empty store.
    pub fn new(clock: SharedClock, checkpointing: Option<Checkpointing>) -> Self {
        Self { clock, checkpointing, tenants: Mutex::new(HashMap::new()) }
    }

    /// The tenant's log as lines: entries, then checkpoints.
    pub fn lines(&self, tenant: &TenantId) -> Vec<Vec<u8>> {
        let map = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(tenant).map(|t| t.lines.iter().chain(&t.checkpoints).cloned().collect()).unwrap_or_default()
    }

    fn sign(&self, tenant: &TenantId, t: &mut MemTenant, force: bool) -> Result<Option<ChainHead>> {
        let Some(cp) = &self.checkpointing else { return Ok(None) };
        let head = t.entries.last().map_or(ChainHead::EMPTY, |e| ChainHead { seq: e.seq, hash: e.hash });
        let now = self.clock.now();
        let moved = t.last_cp.is_none_or(|(s, _)| head.seq > s);
        if !(if force { moved && head.seq > 0 } else { cp.policy.due(head, t.last_cp, now) }) {
            return Ok(None);
        }
        let (_, line) = SignedCheckpoint::sign(cp.signer.as_ref(), tenant, head, now)?;
        t.checkpoints.push(line);
        t.last_cp = Some((head.seq, now));
        Ok(Some(head))
    }
}

#[async_trait]
impl AuditStore for MemoryAuditStore {
    async fn append(&self, events: Vec<AuditEvent>) -> Result<Vec<StoredEntry>> {
        let mut prepared = Vec::with_capacity(events.len());
        for e in events {
            e.validate()?;
            prepared.push(chain::Prepared::new(e)?);
        }
        let mut map = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        // Seal everything first so that a failure leaves the store as it was.
        let mut heads: HashMap<TenantId, ChainHead> = HashMap::new();
        let mut sealed = Vec::with_capacity(prepared.len());
        for e in prepared {
            let head = *heads.entry(e.tenant().clone()).or_insert_with(|| {
                map.get(e.tenant())
                    .and_then(|t| t.entries.last())
                    .map_or(ChainHead::EMPTY, |l| ChainHead { seq: l.seq, hash: l.hash })
            });
            let tenant = e.tenant().clone();
            let (entry, line) = e.seal(head)?;
            heads.insert(tenant, ChainHead { seq: entry.seq, hash: entry.hash });
            sealed.push((entry, line));
        }
        let mut out = Vec::with_capacity(sealed.len());
        for (entry, line) in sealed {
            let t = map.entry(entry.event.tenant.clone()).or_default();
            t.entries.push(entry.clone());
            t.lines.push(line);
            out.push(entry);
        }
        for tenant in heads.keys() {
            if let Some(t) = map.get_mut(tenant) {
                self.sign(tenant, t, false)?;
            }
        }
        Ok(out)
    }

    async fn query(&self, query: &Query) -> Result<Page> {
        let limit = query.checked_limit()?;
        let map = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(t) = map.get(&query.tenant) else { return Ok(Page { entries: Vec::new(), next: None }) };
        let start = usize::try_from(query.start_seq().saturating_sub(1)).unwrap_or(usize::MAX);
        let mut entries = Vec::new();
        let mut next = None;
        for e in t.entries.iter().skip(start) {
            if entries.len() == limit {
                next = Some(Cursor(e.seq));
                break;
            }
            if query.matches(e) {
                entries.push(e.clone());
            }
        }
        Ok(Page { entries, next })
    }

    async fn head(&self, tenant: &TenantId) -> Result<ChainHead> {
        let map = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(map
            .get(tenant)
            .and_then(|t| t.entries.last())
            .map_or(ChainHead::EMPTY, |l| ChainHead { seq: l.seq, hash: l.hash }))
    }

    async fn tenants(&self) -> Result<Vec<TenantId>> {
        let map = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<TenantId> = map.keys().cloned().collect();
        out.sort();
        Ok(out)
    }

    async fn checkpoint(&self, tenant: &TenantId) -> Result<Option<ChainHead>> {
        let mut map = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get_mut(tenant) {
            Some(t) => self.sign(tenant, t, true),
            None => Ok(None),
        }
    }
}
