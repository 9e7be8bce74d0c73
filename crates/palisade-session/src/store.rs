//! The [`SessionStore`] trait and [`MemoryStore`], its in-memory implementation.
//!
//! A store is dumb on purpose: it keeps records, applies each write atomically, and never
//! un-revokes a session. Policy (which timeout applies, whether a session is expired) lives in
//! [`SessionManager`](crate::SessionManager), so that a policy change applies to existing
//! sessions at their next validation, whatever the store.
//!
//! Every implementation must pass the conformance suite (cargo feature `conformance`, module
//! `palisade_session::conformance`), which the crate runs against both of its stores.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use async_trait::async_trait;
use palisade_core::{TenantId, UserId};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::policy::OverflowAction;
use crate::record::{Revocation, RevocationReason, SessionRecord};
use crate::token::SessionId;

#[cfg(feature = "redis")]
pub mod redis;

/// A per-user limit on concurrent sessions, applied atomically when a session is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimit {
    /// At most this many active sessions.
    pub max: u32,
    /// What to do when a new one would exceed it.
    pub overflow: OverflowAction,
}

/// New values written by a touch (a validation that slides the idle deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    /// The new last-seen time. A store keeps the later of this and what it has.
    pub seen_at: OffsetDateTime,
    /// The new `expires_at`.
    pub expires_at: OffsetDateTime,
    /// The new `purge_at` (the absolute deadline under the current policy).
    pub purge_at: OffsetDateTime,
}

/// What a conditional write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The session was live; the write was applied.
    Applied,
    /// The session was revoked; nothing was written.
    Revoked(Revocation),
    /// No such session; nothing was written.
    Missing,
}

/// Where sessions live. Async and object-safe: hosts hold an `Arc<dyn SessionStore>`.
///
/// Atomicity contract: `touch` and `rotate` never write to a revoked session, and a revocation
/// is never undone, so a validation racing a revocation cannot resurrect the session.
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Stores a new session. With a `limit`, counts the user's active sessions (at `now`) and
    /// either revokes the oldest ones ([`RevocationReason::Evicted`]) or refuses with
    /// [`Error::SessionLimitReached`], in the same atomic step. Returns the evicted ids.
    async fn create(
        &self,
        record: SessionRecord,
        limit: Option<SessionLimit>,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>>;

    /// The session `id`, unless unknown or past its `purge_at` at `now`.
    async fn load(&self, id: &SessionId, now: OffsetDateTime) -> Result<Option<SessionRecord>>;

    /// Slides the idle deadline of a live session.
    async fn touch(&self, id: &SessionId, touch: Touch) -> Result<WriteOutcome>;

    /// Atomically revokes the live session `old` (with `revocation`) and stores `new` in its
    /// place. Nothing is written unless `old` is live.
    async fn rotate(
        &self,
        old: &SessionId,
        revocation: Revocation,
        new: SessionRecord,
    ) -> Result<WriteOutcome>;

    /// Revokes one session. `false` if it was unknown or already revoked.
    async fn revoke(&self, id: &SessionId, revocation: Revocation) -> Result<bool>;

    /// Revokes every session of a user, except `except`. Returns how many were revoked.
    async fn revoke_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        revocation: Revocation,
        except: Option<&SessionId>,
    ) -> Result<usize>;

    /// Revokes every session of a tenant. Returns how many were revoked.
    async fn revoke_tenant(&self, tenant: &TenantId, revocation: Revocation) -> Result<usize>;

    /// The user's active sessions at `now` (not revoked, not past `expires_at`), oldest first.
    async fn list_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>>;

    /// Forgets records past their `purge_at`. Returns how many were removed. (Stores with
    /// server-side expiry may only tidy their indexes here.)
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<usize>;
}

/// Session ids are SHA-256 output: their first 8 bytes are already a uniform hash.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut b = [0u8; 8];
        for (d, s) in b.iter_mut().zip(bytes) {
            *d = *s;
        }
        self.0 ^= u64::from_le_bytes(b);
    }
}

/// `slots[n % slots.len()]`; `slots` is never empty.
#[allow(clippy::indexing_slicing)] // the index is reduced modulo the length, which is not zero
fn pick<T>(slots: &[T], n: usize) -> &T {
    &slots[n % slots.len().max(1)]
}

type IdMap<V> = HashMap<SessionId, V, BuildHasherDefault<IdHasher>>;
type UserKey = (TenantId, UserId);
type UserIndex = HashMap<UserKey, Vec<SessionId>>;

const SESSION_SHARDS: usize = 64;
const USER_SHARDS: usize = 16;

/// A concurrent in-memory store: sessions in 64 independently locked shards, a per-user index
/// in 16 more. Expired records are swept one shard at a time (one shard a second while users
/// sign in, or all shards, one after the other, with [`SessionStore::purge_expired`]), so
/// sweeping never stops the whole store.
///
/// For one instance (or tests). Several instances share sessions through
/// `RedisStore` (cargo feature `redis`).
///
/// ```
/// # tokio_test();
/// # fn tokio_test() { tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use palisade_session::{MemoryStore, SessionStore};
///
/// let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
/// let now = time::OffsetDateTime::now_utc();
/// assert_eq!(store.purge_expired(now).await.unwrap(), 0);
/// # }) }
/// ```
pub struct MemoryStore {
    shards: Box<[RwLock<IdMap<SessionRecord>>]>,
    users: Box<[Mutex<UserIndex>]>,
    user_hasher: RandomState,
    sweep_cursor: AtomicUsize,
    next_sweep: AtomicI64,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").field("sessions", &self.len()).finish()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            shards: (0..SESSION_SHARDS).map(|_| RwLock::new(IdMap::default())).collect(),
            users: (0..USER_SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            user_hasher: RandomState::new(),
            sweep_cursor: AtomicUsize::new(0),
            next_sweep: AtomicI64::new(i64::MIN),
        }
    }

    /// How many records are held (live, expired or revoked, until purged).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().unwrap_or_else(PoisonError::into_inner).len()).sum()
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, id: &SessionId) -> &RwLock<IdMap<SessionRecord>> {
        let [.., last] = *id.as_bytes();
        pick(&self.shards, usize::from(last))
    }

    fn user_shard(&self, key: &UserKey) -> &Mutex<UserIndex> {
        // Truncation is fine: any bits of the hash pick a shard.
        #[allow(clippy::cast_possible_truncation)]
        pick(&self.users, self.user_hasher.hash_one(key) as usize)
    }

    fn read<T>(&self, id: &SessionId, f: impl FnOnce(Option<&SessionRecord>) -> T) -> T {
        let shard = self.shard(id).read().unwrap_or_else(PoisonError::into_inner);
        f(shard.get(id))
    }

    /// Revokes `id` if live. Caller may hold a user-index lock (lock order: index, then shard).
    fn revoke_one(&self, id: &SessionId, revocation: Revocation) -> bool {
        let mut shard = self.shard(id).write().unwrap_or_else(PoisonError::into_inner);
        match shard.get_mut(id) {
            Some(r) if r.revoked.is_none() => {
                r.revoked = Some(revocation);
                true
            }
            _ => false,
        }
    }

    fn purge_shard(&self, i: usize, now: OffsetDateTime) -> usize {
        let Some(lock) = self.shards.get(i) else { return 0 };
        let mut removed: Vec<(UserKey, SessionId)> = Vec::new();
        {
            let mut shard = lock.write().unwrap_or_else(PoisonError::into_inner);
            shard.retain(|id, r| {
                if r.purge_at > now {
                    return true;
                }
                removed.push(((r.details.tenant.clone(), r.details.user.clone()), *id));
                false
            });
        }
        for (key, id) in &removed {
            let mut users = self.user_shard(key).lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(ids) = users.get_mut(key) {
                ids.retain(|x| x != id);
                if ids.is_empty() {
                    users.remove(key);
                }
            }
        }
        removed.len()
    }

    /// Sweeps the next shard, at most once a second (whoever wins the race does it), so a
    /// store that only sees sign-ins still forgets dead records, one 1/64th at a time.
    fn sweep_step(&self, now: OffsetDateTime) {
        let second = now.unix_timestamp();
        let due = self.next_sweep.load(Ordering::Relaxed);
        if second < due
            || self
                .next_sweep
                .compare_exchange(due, second + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let i = self.sweep_cursor.fetch_add(1, Ordering::Relaxed) % SESSION_SHARDS;
        self.purge_shard(i, now);
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create(
        &self,
        record: SessionRecord,
        limit: Option<SessionLimit>,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>> {
        let id = record.id();
        let key = (record.details.tenant.clone(), record.details.user.clone());
        let mut evicted = Vec::new();
        {
            let mut users = self.user_shard(&key).lock().unwrap_or_else(PoisonError::into_inner);
            let ids = users.entry(key).or_default();
            ids.retain(|x| self.read(x, |r| r.is_some()));
            if self.read(&id, |r| r.is_some()) {
                return Err(Error::Store {
                    backend: "memory",
                    message: "session id collision; issue a new token".to_owned(),
                });
            }
            if let Some(limit) = limit {
                let mut active: Vec<(OffsetDateTime, SessionId)> = ids
                    .iter()
                    .filter_map(|x| {
                        self.read(x, |r| r.filter(|r| r.is_active(now)).map(|r| (r.details.created_at, *x)))
                    })
                    .collect();
                let max = usize::try_from(limit.max).unwrap_or(usize::MAX);
                if active.len() >= max {
                    if limit.overflow == OverflowAction::Refuse {
                        return Err(Error::SessionLimitReached { active: active.len(), max: limit.max });
                    }
                    active.sort();
                    let revocation = Revocation { at: now, reason: RevocationReason::Evicted };
                    for (_, old) in active.iter().take(active.len() + 1 - max) {
                        if self.revoke_one(old, revocation) {
                            evicted.push(*old);
                        }
                    }
                }
            }
            self.shard(&id).write().unwrap_or_else(PoisonError::into_inner).insert(id, record);
            ids.push(id);
        }
        self.sweep_step(now);
        Ok(evicted)
    }

    async fn load(&self, id: &SessionId, now: OffsetDateTime) -> Result<Option<SessionRecord>> {
        Ok(self.read(id, |r| r.filter(|r| r.purge_at > now).cloned()))
    }

    async fn touch(&self, id: &SessionId, touch: Touch) -> Result<WriteOutcome> {
        let mut shard = self.shard(id).write().unwrap_or_else(PoisonError::into_inner);
        Ok(match shard.get_mut(id) {
            None => WriteOutcome::Missing,
            Some(r) => match r.revoked {
                Some(rv) => WriteOutcome::Revoked(rv),
                None => {
                    if touch.seen_at > r.last_seen_at {
                        r.last_seen_at = touch.seen_at;
                        r.expires_at = touch.expires_at;
                        r.purge_at = touch.purge_at;
                    }
                    WriteOutcome::Applied
                }
            },
        })
    }

    async fn rotate(
        &self,
        old: &SessionId,
        revocation: Revocation,
        new: SessionRecord,
    ) -> Result<WriteOutcome> {
        let new_id = new.id();
        let key = (new.details.tenant.clone(), new.details.user.clone());
        let mut users = self.user_shard(&key).lock().unwrap_or_else(PoisonError::into_inner);
        if self.read(&new_id, |r| r.is_some()) {
            return Err(Error::Store {
                backend: "memory",
                message: "session id collision; issue a new token".to_owned(),
            });
        }
        {
            let mut shard = self.shard(old).write().unwrap_or_else(PoisonError::into_inner);
            match shard.get_mut(old) {
                None => return Ok(WriteOutcome::Missing),
                Some(r) if r.details.tenant != key.0 || r.details.user != key.1 => {
                    return Ok(WriteOutcome::Missing);
                }
                Some(r) => {
                    if let Some(rv) = r.revoked {
                        return Ok(WriteOutcome::Revoked(rv));
                    }
                    r.revoked = Some(revocation);
                }
            }
        }
        self.shard(&new_id).write().unwrap_or_else(PoisonError::into_inner).insert(new_id, new);
        let ids = users.entry(key).or_default();
        ids.retain(|x| x != old);
        ids.push(new_id);
        Ok(WriteOutcome::Applied)
    }

    async fn revoke(&self, id: &SessionId, revocation: Revocation) -> Result<bool> {
        Ok(self.revoke_one(id, revocation))
    }

    async fn revoke_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        revocation: Revocation,
        except: Option<&SessionId>,
    ) -> Result<usize> {
        let key = (tenant.clone(), user.clone());
        let users = self.user_shard(&key).lock().unwrap_or_else(PoisonError::into_inner);
        let Some(ids) = users.get(&key) else { return Ok(0) };
        Ok(ids.iter().filter(|id| Some(*id) != except).filter(|id| self.revoke_one(id, revocation)).count())
    }

    async fn revoke_tenant(&self, tenant: &TenantId, revocation: Revocation) -> Result<usize> {
        let mut n = 0;
        for shard in self.users.iter() {
            let users = shard.lock().unwrap_or_else(PoisonError::into_inner);
            for ((t, _), ids) in users.iter() {
                if t == tenant {
                    n += ids.iter().filter(|id| self.revoke_one(id, revocation)).count();
                }
            }
        }
        Ok(n)
    }

    async fn list_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>> {
        let key = (tenant.clone(), user.clone());
        let users = self.user_shard(&key).lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<SessionRecord> = users
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(|id| self.read(id, |r| r.filter(|r| r.is_active(now)).cloned()))
            .collect();
        out.sort_by_key(|r| (r.details.created_at, r.id()));
        Ok(out)
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<usize> {
        Ok((0..SESSION_SHARDS).map(|i| self.purge_shard(i, now)).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::SessionDetails;
    use crate::token::SessionToken;
    use std::sync::Arc;
    use time::{Duration, macros::datetime};

    fn record(user: &str, now: OffsetDateTime, purge_in: Duration) -> SessionRecord {
        let hash = SessionToken::generate().unwrap().hash().unwrap();
        SessionRecord {
            details: Arc::new(SessionDetails {
                id: hash.session_id(),
                token_hash: hash,
                tenant: "acme".parse().unwrap(),
                user: user.parse().unwrap(),
                created_at: now,
                idle_timeout_choice_secs: None,
                auth: Vec::new(),
                client: Default::default(),
            }),
            last_seen_at: now,
            expires_at: now + Duration::minutes(1),
            purge_at: now + purge_in,
            revoked: None,
        }
    }

    #[tokio::test]
    async fn sign_ins_sweep_one_shard_a_second() {
        let store = MemoryStore::new();
        let t0 = datetime!(2026-01-01 00:00 UTC);
        for i in 0..2000 {
            store.create(record(&format!("u{i}"), t0, Duration::minutes(5)), None, t0).await.unwrap();
        }
        assert_eq!(store.len(), 2000);
        // 64 sign-ins in the same second sweep at most one shard; 64 seconds of sign-ins sweep all.
        let later = t0 + Duration::hours(1);
        for _ in 0..64 {
            store.create(record("x", later, Duration::days(1)), None, later).await.unwrap();
        }
        let after_one_second = store.len();
        assert!(after_one_second > 2000 - 2000 / 64 * 2, "swept too much at once: {after_one_second}");
        assert!(after_one_second < 2064, "nothing swept");
        for s in 1..=64 {
            let t = later + Duration::seconds(s);
            store.create(record("x", t, Duration::days(1)), None, t).await.unwrap();
        }
        assert_eq!(store.len(), 64 + 64, "every dead record swept, every live one kept");
        // the user index forgot them too
        let users = store.users.iter().map(|s| s.lock().unwrap().len()).sum::<usize>();
        assert_eq!(users, 1);
    }

    #[test]
    fn shards_spread_sessions() {
        let store = MemoryStore::new();
        let t0 = datetime!(2026-01-01 00:00 UTC);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for i in 0..6400 {
            rt.block_on(store.create(record(&format!("u{i}"), t0, Duration::days(1)), None, t0)).unwrap();
        }
        let sizes: Vec<usize> = store.shards.iter().map(|s| s.read().unwrap().len()).collect();
        assert!(sizes.iter().all(|&n| n > 40 && n < 200), "{sizes:?}");
    }
}
