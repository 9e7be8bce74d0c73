//! The cache of unwrapped key-encryption keys: max age, max uses, capacity, single-flight loading.
//!
//! One entry per keyring owner holds the keyring's metadata and the expanded AES key schedules
//! of its usable versions. Loading an entry calls the KMS; concurrent requests for the same owner
//! wait for that one load (`tokio::sync::OnceCell`), so a cold cache costs one KMS round trip per
//! key version however many requests arrive together. Evicted entries are dropped, which zeroizes
//! the raw key bytes (held only in `SecretArray` until the schedule is built) and the schedules
//! (aws-lc cleanses its AEAD context on drop; RustCrypto's `aes` zeroizes with its `zeroize`
//! feature, which this crate enables).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};
use tokio::sync::OnceCell;

use crate::backend::AeadKey;
use crate::error::{Error, Result};
use crate::keyring::{KeyOwner, Keyring};

/// A loaded keyring.
pub(crate) struct Loaded {
    pub(crate) keyring: Keyring,
    pub(crate) keks: BTreeMap<u32, Box<dyn AeadKey>>,
    pub(crate) loaded_at: OffsetDateTime,
    uses: AtomicU64,
    wraps_left: AtomicU64,
    pub(crate) reserve: tokio::sync::Mutex<()>,
}

impl Loaded {
    pub(crate) fn new(
        keyring: Keyring,
        keks: BTreeMap<u32, Box<dyn AeadKey>>,
        loaded_at: OffsetDateTime,
    ) -> Self {
        Self {
            keyring,
            keks,
            loaded_at,
            uses: AtomicU64::new(0),
            wraps_left: AtomicU64::new(0),
            reserve: tokio::sync::Mutex::new(()),
        }
    }

    /// Takes one wrap from the reserved budget.
    pub(crate) fn take_wrap(&self) -> bool {
        self.wraps_left.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok()
    }

    pub(crate) fn has_wraps(&self) -> bool {
        self.wraps_left.load(Ordering::Acquire) > 0
    }

    pub(crate) fn add_wraps(&self, n: u64) {
        self.wraps_left.fetch_add(n, Ordering::AcqRel);
    }
}

type Cell = Arc<OnceCell<Arc<Loaded>>>;

pub(crate) struct KeyCache {
    map: Mutex<HashMap<KeyOwner, Cell>>,
    max_age: Duration,
    max_uses: u64,
    capacity: usize,
    loads: AtomicU64,
}

impl KeyCache {
    pub(crate) fn new(max_age: Duration, max_uses: u64, capacity: usize) -> Self {
        Self { map: Mutex::new(HashMap::new()), max_age, max_uses, capacity, loads: AtomicU64::new(0) }
    }

    fn cell(&self, owner: &KeyOwner) -> Result<Cell> {
        let mut map =
            self.map.lock().map_err(|_| Error::Store("the key cache lock is poisoned".to_owned()))?;
        if let Some(c) = map.get(owner) {
            return Ok(c.clone());
        }
        if map.len() >= self.capacity {
            // Evict the oldest loaded entry (entries still loading are kept).
            let victim = map
                .iter()
                .filter_map(|(k, c)| c.get().map(|l| (k.clone(), l.loaded_at)))
                .min_by_key(|(_, at)| *at)
                .map(|(k, _)| k);
            if let Some(v) = victim {
                map.remove(&v);
            }
        }
        let c: Cell = Arc::new(OnceCell::new());
        map.insert(owner.clone(), c.clone());
        Ok(c)
    }

    /// The loaded keyring of `owner`, loading it with `load` if missing, expired or used up.
    pub(crate) async fn get<F, Fut>(
        &self,
        owner: &KeyOwner,
        now: OffsetDateTime,
        load: F,
    ) -> Result<Arc<Loaded>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Loaded>>,
    {
        for _ in 0..4 {
            let cell = self.cell(owner)?;
            let mut fresh = false;
            let loaded = cell
                .get_or_try_init(|| {
                    fresh = true;
                    self.loads.fetch_add(1, Ordering::Relaxed);
                    async { load().await.map(Arc::new) }
                })
                .await?
                .clone();
            let uses = loaded.uses.fetch_add(1, Ordering::AcqRel).saturating_add(1);
            let expired =
                now - loaded.loaded_at >= self.max_age || now < loaded.loaded_at - Duration::minutes(5);
            if fresh || (!expired && uses <= self.max_uses) {
                return Ok(loaded);
            }
            self.evict_cell(owner, &cell);
        }
        Err(Error::Store("the key cache could not load a fresh entry; retry".to_owned()))
    }

    fn evict_cell(&self, owner: &KeyOwner, cell: &Cell) {
        if let Ok(mut map) = self.map.lock()
            && map.get(owner).is_some_and(|c| Arc::ptr_eq(c, cell))
        {
            map.remove(owner);
        }
    }

    /// Drops the entry of `owner` (after a lifecycle change, or on an eviction broadcast). For
    /// a tenant, its period keys' entries are dropped too.
    pub(crate) fn evict(&self, owner: &KeyOwner) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(owner);
            if let KeyOwner::Tenant(t) = owner {
                map.retain(|o, _| !matches!(o, KeyOwner::Period(p) if &p.tenant == t));
            }
        }
    }

    /// How many loads (KMS round trips per keyring) happened.
    pub(crate) fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}
