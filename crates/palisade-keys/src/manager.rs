//! [`KeyManager`]: the key hierarchy, its lifecycle, and sealing and opening data under it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use palisade_core::{
    SealContext, SecretArray, SecretBytes, SharedClock, SystemClock, TenantId, ct_eq, wipe_vec,
};
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::backend::{AeadKey, Backend, NONCE_LEN, TAG_LEN};
use crate::cache::{KeyCache, Loaded};
use crate::error::{Error, Result};
use crate::event::{KeyEvent, KeyEventSink, KeyOp, TracingEventSink};
use crate::format::{
    COMMITMENT_LEN, HKDF_INFO, Header, Layer, MESSAGE_ID_LEN, NONCE_PREFIX_LEN, PeriodRef, WRAPPED_DEK_LEN,
    dek_aad,
};
use crate::keyring::{
    KeyOrigin, KeyOwner, KeyVersion, Keyring, KeyringState, KeyringStore, PeriodId, StoreError,
};
use crate::kms::{KmsContext, KmsProvider};
use crate::policy::KeyPolicy;
use crate::stream::{SegmentKey, StreamOpener, StreamSealer};

/// The key hierarchy of a host: a root key in a [`KmsProvider`], a global keyring and one
/// keyring per tenant in a [`KeyringStore`], a cache of unwrapped keys, and the operations that
/// seal and open data under them. Cheap to clone (an `Arc` inside).
///
/// ```
/// use std::sync::Arc;
/// use palisade_core::SealContext;
/// use palisade_keys::{KeyManager, LocalKms, MemoryKeyringStore};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let keys = KeyManager::builder(Arc::new(LocalKms::ephemeral()?), Arc::new(MemoryKeyringStore::new())).build()?;
/// keys.init_global().await?;
/// let acme = "acme".parse()?;
/// keys.create_tenant(&acme).await?;
///
/// let ctx = SealContext::new(acme.clone(), "job-history", "job-42");
/// let sealed = keys.seal_double(&ctx, b"step 1 ok").await?;
/// assert_eq!(keys.open(&ctx, &sealed).await?.expose_secret(), b"step 1 ok");
///
/// // Bound to its context: another record does not open it.
/// assert!(keys.open(&SealContext::new(acme.clone(), "job-history", "job-43"), &sealed).await.is_err());
///
/// // Crypto-shredding: once the tenant's keys are destroyed, its data is unreadable.
/// keys.destroy_now(&acme).await?;
/// assert!(keys.open(&ctx, &sealed).await.is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct KeyManager {
    inner: Arc<Inner>,
}

struct Inner {
    kms: Arc<dyn KmsProvider>,
    store: Arc<dyn KeyringStore>,
    clock: SharedClock,
    policy: KeyPolicy,
    backend: Backend,
    events: Arc<dyn KeyEventSink>,
    cache: KeyCache,
}

impl fmt::Debug for KeyManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyManager")
            .field("kms", &self.inner.kms.id())
            .field("store", &self.inner.store)
            .field("backend", &self.inner.backend)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

/// Builds a [`KeyManager`].
#[derive(Debug)]
pub struct KeyManagerBuilder {
    kms: Arc<dyn KmsProvider>,
    store: Arc<dyn KeyringStore>,
    clock: SharedClock,
    policy: KeyPolicy,
    backend: Backend,
    events: Arc<dyn KeyEventSink>,
}

impl KeyManagerBuilder {
    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The policy (default: [`KeyPolicy::default`]).
    pub fn policy(mut self, policy: KeyPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The crypto backend (default: [`Backend::default`]).
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Where key events go (default: [`TracingEventSink`]).
    pub fn events(mut self, sink: Arc<dyn KeyEventSink>) -> Self {
        self.events = sink;
        self
    }

    /// Validates the policy and builds the manager.
    pub fn build(self) -> Result<KeyManager> {
        self.policy.validate().map_err(|p| Error::Invalid(p.join("; ")))?;
        let id = self.kms.id();
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Invalid(format!("KMS provider id {id:?} must be 1-64 printable ASCII bytes")));
        }
        let max_age = Duration::seconds(i64::try_from(self.policy.cache_max_age_secs).unwrap_or(i64::MAX));
        let cache = KeyCache::new(max_age, self.policy.cache_max_uses, self.policy.cache_capacity);
        Ok(KeyManager {
            inner: Arc::new(Inner {
                kms: self.kms,
                store: self.store,
                clock: self.clock,
                policy: self.policy,
                backend: self.backend,
                events: self.events,
                cache,
            }),
        })
    }
}

/// The status of one keyring, without key material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyringStatus {
    /// `global` or `tenant:<id>`.
    pub owner: String,
    /// `enabled`, `disabled`, `pending-destruction` or `destroyed`.
    pub state: &'static str,
    /// When a pending destruction is due, or when the keys were destroyed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub state_at: Option<OffsetDateTime>,
    /// The primary version.
    pub primary: u32,
    /// The minimum decryption version.
    pub min_decryption_version: u32,
    /// Every version.
    pub versions: Vec<VersionStatus>,
}

/// The status of one key version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionStatus {
    /// The version.
    pub version: u32,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// `generated` or `imported`.
    pub origin: KeyOrigin,
    /// The KMS provider that wraps it.
    pub provider: String,
    /// `primary`, `decrypt-only`, `retired` or `destroyed`.
    pub role: &'static str,
    /// Data-key wraps reserved so far.
    pub wraps_reserved: u64,
}

fn status_of(k: &Keyring) -> KeyringStatus {
    let (state, state_at) = match k.state {
        KeyringState::Enabled => ("enabled", None),
        KeyringState::Disabled => ("disabled", None),
        KeyringState::PendingDestruction { at } => ("pending-destruction", Some(at)),
        KeyringState::Destroyed { at } => ("destroyed", Some(at)),
    };
    KeyringStatus {
        owner: k.owner.to_string(),
        state,
        state_at,
        primary: k.primary,
        min_decryption_version: k.min_decryption_version,
        versions: k
            .versions
            .iter()
            .map(|v| VersionStatus {
                version: v.version,
                created: v.created,
                origin: v.origin,
                provider: v.provider.clone(),
                role: if v.wrapped.is_none() {
                    "destroyed"
                } else if v.version == k.primary {
                    "primary"
                } else if v.version < k.min_decryption_version {
                    "retired"
                } else {
                    "decrypt-only"
                },
                wraps_reserved: v.wraps_reserved,
            })
            .collect(),
    }
}

/// A stored ciphertext handed to [`KeyManager::rewrap_batch`].
#[derive(Debug, Clone)]
pub struct StoredCiphertext {
    /// The host's id of the stored item (also the resume cursor).
    pub id: String,
    /// Its context.
    pub context: SealContext,
    /// Its bytes.
    pub sealed: Vec<u8>,
}

/// Where [`KeyManager::rewrap_batch`] reads and replaces stored ciphertexts.
#[async_trait::async_trait]
pub trait RewrapSource: Send + Sync {
    /// Up to `limit` items with ids after `after` (in a stable order), for one tenant.
    async fn page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> std::result::Result<Vec<StoredCiphertext>, String>;
    /// Replaces item `id` if it still holds `old`; returns whether it did.
    async fn replace(&self, id: &str, old: &[u8], new: Vec<u8>) -> std::result::Result<bool, String>;
}

/// What one call of [`KeyManager::rewrap_batch`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RewrapProgress {
    /// Items re-wrapped.
    pub rewrapped: u64,
    /// Items already under the primary versions.
    pub unchanged: u64,
    /// Items that could not be re-wrapped: (id, reason).
    pub failed: Vec<(String, String)>,
    /// The cursor to resume from; `None` when the source is exhausted.
    pub next_cursor: Option<String>,
}

fn store_err(owner: &KeyOwner) -> impl Fn(StoreError) -> Error + '_ {
    move |e| match e {
        StoreError::Conflict => Error::Conflict(owner.to_string()),
        StoreError::Backend(m) => Error::Store(m),
    }
}

impl KeyManager {
    /// Starts building a manager over a root key provider and a keyring store.
    pub fn builder(kms: Arc<dyn KmsProvider>, store: Arc<dyn KeyringStore>) -> KeyManagerBuilder {
        KeyManagerBuilder {
            kms,
            store,
            clock: Arc::new(SystemClock),
            policy: KeyPolicy::default(),
            backend: Backend::default(),
            events: Arc::new(TracingEventSink),
        }
    }

    /// The crypto backend in use.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The policy in use.
    pub fn policy(&self) -> &KeyPolicy {
        &self.inner.policy
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    fn emit(&self, op: KeyOp, owner: &KeyOwner, version: Option<u32>, detail: Option<String>) {
        self.inner.events.record(&KeyEvent { at: self.now(), op, owner: owner.to_string(), version, detail });
    }

    // ----- lifecycle -------------------------------------------------------------------------

    async fn new_version(
        &self,
        owner: &KeyOwner,
        version: u32,
        origin: KeyOrigin,
        key: &SecretArray<32>,
    ) -> Result<KeyVersion> {
        let wrapped = self.inner.kms.wrap(key, &KmsContext::new(owner.to_string(), version)).await?;
        Ok(KeyVersion {
            version,
            created: self.now(),
            origin,
            provider: self.inner.kms.id().to_owned(),
            wrapped: Some(hex::encode(wrapped)),
            wraps_reserved: 0,
        })
    }

    async fn create(&self, owner: KeyOwner, key: Option<SecretArray<32>>) -> Result<u32> {
        if self.inner.store.get(&owner).await.map_err(store_err(&owner))?.is_some() {
            return Err(Error::AlreadyExists(owner.to_string()));
        }
        let origin = if key.is_some() { KeyOrigin::Imported } else { KeyOrigin::Generated };
        let key = match key {
            Some(k) => k,
            None => SecretArray::random()?,
        };
        let v = self.new_version(&owner, 1, origin, &key).await?;
        let kr = Keyring {
            owner: owner.clone(),
            revision: 1,
            primary: 1,
            min_decryption_version: 1,
            state: KeyringState::Enabled,
            versions: vec![v],
        };
        self.inner.store.put(&kr, None).await.map_err(|e| match e {
            StoreError::Conflict => Error::AlreadyExists(owner.to_string()),
            StoreError::Backend(m) => Error::Store(m),
        })?;
        self.inner.cache.evict(&owner);
        let op = if origin == KeyOrigin::Imported { KeyOp::Import } else { KeyOp::Create };
        self.emit(op, &owner, Some(1), None);
        Ok(1)
    }

    /// Creates the global keyring (the outer layer of double encryption). Fails with
    /// [`Error::AlreadyExists`] if it exists.
    pub async fn init_global(&self) -> Result<u32> {
        self.create(KeyOwner::Global, None).await
    }

    /// Creates the keyring of `tenant` with a fresh random version 1.
    pub async fn create_tenant(&self, tenant: &TenantId) -> Result<u32> {
        self.create(KeyOwner::Tenant(tenant.clone()), None).await
    }

    /// Creates the keyring of `tenant` from a customer-supplied 256-bit key (bring your own key),
    /// already unwrapped by the host.
    pub async fn import_tenant_key(&self, tenant: &TenantId, key: SecretArray<32>) -> Result<u32> {
        let owner = KeyOwner::Tenant(tenant.clone());
        match self.inner.store.get(&owner).await.map_err(store_err(&owner))? {
            None => self.create(owner, Some(key)).await,
            Some(_) => self.add_version(&owner, KeyOrigin::Imported, Some(key), KeyOp::Import).await,
        }
    }

    async fn modify<F>(&self, owner: &KeyOwner, mut f: F) -> Result<Keyring>
    where
        F: FnMut(&mut Keyring) -> Result<()>,
    {
        for _ in 0..5 {
            let mut kr = self.get_keyring(owner).await?;
            let expected = kr.revision;
            f(&mut kr)?;
            kr.revision = expected.saturating_add(1);
            match self.inner.store.put(&kr, Some(expected)).await {
                Ok(()) => {
                    self.inner.cache.evict(owner);
                    return Ok(kr);
                }
                Err(StoreError::Conflict) => continue,
                Err(StoreError::Backend(m)) => return Err(Error::Store(m)),
            }
        }
        Err(Error::Conflict(owner.to_string()))
    }

    async fn get_keyring(&self, owner: &KeyOwner) -> Result<Keyring> {
        self.inner.store.get(owner).await.map_err(store_err(owner))?.ok_or_else(|| match owner {
            KeyOwner::Global => Error::NotInitialised,
            KeyOwner::Tenant(t) => Error::NoSuchTenant(t.clone()),
            KeyOwner::Period(p) => Error::NoSuchPeriodKey(p.to_string()),
        })
    }

    fn require_enabled(kr: &Keyring) -> Result<()> {
        if kr.state == KeyringState::Enabled {
            return Ok(());
        }
        let owner = kr.owner.to_string();
        match kr.state {
            KeyringState::Enabled => Ok(()),
            KeyringState::Disabled => Err(Error::KeyDisabled { owner }),
            KeyringState::PendingDestruction { at } => Err(Error::PendingDestruction { owner, at }),
            KeyringState::Destroyed { .. } => Err(Error::KeyDestroyed { owner, version: kr.primary }),
        }
    }

    async fn add_version(
        &self,
        owner: &KeyOwner,
        origin: KeyOrigin,
        key: Option<SecretArray<32>>,
        op: KeyOp,
    ) -> Result<u32> {
        let key = match key {
            Some(k) => k,
            None => SecretArray::random()?,
        };
        for _ in 0..5 {
            let kr = self.get_keyring(owner).await?;
            Self::require_enabled(&kr)?;
            let next = kr
                .versions
                .iter()
                .map(|v| v.version)
                .max()
                .unwrap_or(0)
                .checked_add(1)
                .ok_or_else(|| Error::Invalid(format!("{owner} has used every key version number")))?;
            let v = self.new_version(owner, next, origin, &key).await?;
            let mut updated = kr.clone();
            updated.versions.push(v);
            updated.primary = next;
            updated.revision = kr.revision.saturating_add(1);
            match self.inner.store.put(&updated, Some(kr.revision)).await {
                Ok(()) => {
                    self.inner.cache.evict(owner);
                    self.emit(op, owner, Some(next), None);
                    return Ok(next);
                }
                Err(StoreError::Conflict) => continue,
                Err(StoreError::Backend(m)) => return Err(Error::Store(m)),
            }
        }
        Err(Error::Conflict(owner.to_string()))
    }

    /// Rotates the tenant's key: a new random version becomes primary; older versions keep
    /// decrypting. Returns the new version.
    pub async fn rotate_tenant(&self, tenant: &TenantId) -> Result<u32> {
        self.add_version(&KeyOwner::Tenant(tenant.clone()), KeyOrigin::Generated, None, KeyOp::Rotate).await
    }

    /// Rotates the global key.
    pub async fn rotate_global(&self) -> Result<u32> {
        self.add_version(&KeyOwner::Global, KeyOrigin::Generated, None, KeyOp::Rotate).await
    }

    /// Versions below `version` stop decrypting (after a [`rewrap_batch`](Self::rewrap_batch)
    /// moved the data off them). `version` must not exceed the primary version.
    pub async fn set_min_decryption_version(&self, tenant: &TenantId, version: u32) -> Result<()> {
        let owner = KeyOwner::Tenant(tenant.clone());
        self.modify(&owner, |kr| {
            if version == 0 || version > kr.primary {
                return Err(Error::Invalid(format!(
                    "minimum decryption version {version} must be between 1 and the primary version {}",
                    kr.primary
                )));
            }
            kr.min_decryption_version = version;
            Ok(())
        })
        .await?;
        self.emit(KeyOp::SetMinDecryptionVersion, &owner, Some(version), None);
        Ok(())
    }

    /// Disables the tenant's keys: nothing seals or opens until [`enable`](Self::enable).
    pub async fn disable(&self, tenant: &TenantId) -> Result<()> {
        self.set_enabled(tenant, KeyringState::Disabled, KeyOp::Disable).await
    }

    /// Enables disabled keys again.
    pub async fn enable(&self, tenant: &TenantId) -> Result<()> {
        self.set_enabled(tenant, KeyringState::Enabled, KeyOp::Enable).await
    }

    /// Moves enabled or disabled keys to `state` (`Enabled` or `Disabled`); keys scheduled for
    /// destruction or destroyed stay as they are, with the error that says so.
    async fn set_enabled(&self, tenant: &TenantId, state: KeyringState, op: KeyOp) -> Result<()> {
        let owner = KeyOwner::Tenant(tenant.clone());
        self.modify(&owner, |kr| match kr.state {
            KeyringState::Enabled | KeyringState::Disabled => {
                kr.state = state;
                Ok(())
            }
            _ => Self::require_enabled(kr),
        })
        .await?;
        self.emit(op, &owner, None, None);
        Ok(())
    }

    /// Schedules destruction after the policy's window; the keys are unusable meanwhile.
    /// Returns when destruction becomes due ([`destroy_due`](Self::destroy_due) performs it).
    pub async fn schedule_destroy(&self, tenant: &TenantId) -> Result<OffsetDateTime> {
        let owner = KeyOwner::Tenant(tenant.clone());
        let at = self.now() + Duration::days(i64::from(self.inner.policy.destruction_window_days));
        self.modify(&owner, |kr| match kr.state {
            KeyringState::Enabled | KeyringState::Disabled => {
                kr.state = KeyringState::PendingDestruction { at };
                Ok(())
            }
            _ => Self::require_enabled(kr),
        })
        .await?;
        self.emit(KeyOp::ScheduleDestroy, &owner, None, Some(format!("due {at}")));
        Ok(at)
    }

    /// Cancels a scheduled destruction; the keys are enabled again.
    pub async fn cancel_destroy(&self, tenant: &TenantId) -> Result<()> {
        let owner = KeyOwner::Tenant(tenant.clone());
        self.modify(&owner, |kr| match kr.state {
            KeyringState::PendingDestruction { .. } => {
                kr.state = KeyringState::Enabled;
                Ok(())
            }
            KeyringState::Destroyed { .. } => Self::require_enabled(kr),
            _ => Err(Error::Invalid(format!("{} is not scheduled for destruction", kr.owner))),
        })
        .await?;
        self.emit(KeyOp::CancelDestroy, &owner, None, None);
        Ok(())
    }

    /// Destroys the tenant's keys now (crypto-shredding): the wrapped keys are deleted from the
    /// store and the cache entry is dropped. Every ciphertext of the tenant becomes unreadable.
    /// Backups of the keyring store hold the wrapped keys until they expire; other processes
    /// drop their cached copy within the cache max age, or at once on [`evict`](Self::evict).
    ///
    /// The tenant's period keys ([`seal_in_period`](Self::seal_in_period)) are destroyed too.
    pub async fn destroy_now(&self, tenant: &TenantId) -> Result<()> {
        let owner = KeyOwner::Tenant(tenant.clone());
        let kr = self.shred(&owner).await?;
        self.emit(KeyOp::Destroy, &owner, None, Some(format!("{} versions shredded", kr.versions.len())));
        // Period keys cannot be used once the tenant is destroyed (their loads check the tenant's
        // state); shredding them removes their wrapped keys from the store as well.
        for o in self.inner.store.list().await.map_err(store_err(&owner))? {
            if let KeyOwner::Period(p) = &o
                && &p.tenant == tenant
            {
                self.destroy_period(p).await?;
            }
        }
        Ok(())
    }

    /// Marks a keyring destroyed and deletes its wrapped keys (idempotent).
    async fn shred(&self, owner: &KeyOwner) -> Result<Keyring> {
        let now = self.now();
        self.modify(owner, |kr| {
            if let KeyringState::Destroyed { .. } = kr.state {
                return Ok(());
            }
            kr.state = KeyringState::Destroyed { at: now };
            for v in &mut kr.versions {
                v.wrapped = None;
            }
            Ok(())
        })
        .await
    }

    // ----- period keys -----------------------------------------------------------------------

    /// The period of `class` for `tenant` that contains the clock's current time, with the
    /// policy's period length ([`KeyPolicy::period_secs`], default one hour).
    pub fn current_period(&self, tenant: &TenantId, class: &str) -> PeriodId {
        PeriodId::containing(tenant.clone(), class, self.now(), self.inner.policy.period_secs)
    }

    fn period_ref_now(&self) -> PeriodRef {
        let secs = self.inner.policy.period_secs.max(1);
        PeriodRef { start: crate::keyring::period_start(self.now(), secs), secs }
    }

    /// Creates the key of `period` if it does not exist yet (first seal of the period).
    async fn ensure_period(&self, period: &PeriodId) -> Result<()> {
        let tenant = KeyOwner::Tenant(period.tenant.clone());
        Self::require_enabled(&self.get_keyring(&tenant).await?)?;
        match self.create(KeyOwner::Period(period.clone()), None).await {
            Ok(_) | Err(Error::AlreadyExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Destroys the key of one period (crypto-shredding exactly the data sealed under it with
    /// [`seal_in_period`](Self::seal_in_period) or
    /// [`seal_double_in_period`](Self::seal_double_in_period) during that period); other
    /// periods, and data sealed under the tenant key, stay readable. Irreversible: the wrapped
    /// key is deleted from the store, the cache entry dropped, and the period can no longer be
    /// sealed into. Returns `false` when the period never had a key (nothing to destroy).
    pub async fn destroy_period(&self, period: &PeriodId) -> Result<bool> {
        let owner = KeyOwner::Period(period.clone());
        if self.inner.store.get(&owner).await.map_err(store_err(&owner))?.is_none() {
            return Ok(false);
        }
        self.shred(&owner).await?;
        self.emit(KeyOp::Destroy, &owner, None, Some("period key shredded".to_owned()));
        Ok(true)
    }

    /// Destroys every period key of `tenant` (of one data class, or all with `None`) whose
    /// period ended at or before `cutoff`: what a retention job calls with
    /// `cutoff = now - retention`. Returns the periods destroyed now (already destroyed ones
    /// are skipped).
    pub async fn destroy_periods_before(
        &self,
        tenant: &TenantId,
        class: Option<&str>,
        cutoff: OffsetDateTime,
    ) -> Result<Vec<PeriodId>> {
        let mut done = Vec::new();
        for owner in self.inner.store.list().await.map_err(store_err(&KeyOwner::Global))? {
            let KeyOwner::Period(p) = &owner else { continue };
            if &p.tenant != tenant || class.is_some_and(|c| c != p.class) || p.ends_at() > cutoff {
                continue;
            }
            let Some(kr) = self.inner.store.get(&owner).await.map_err(store_err(&owner))? else { continue };
            if matches!(kr.state, KeyringState::Destroyed { .. }) {
                continue;
            }
            self.destroy_period(p).await?;
            done.push(p.clone());
        }
        Ok(done)
    }

    /// The period keys of `tenant` that exist (destroyed ones included), oldest first.
    pub async fn periods(&self, tenant: &TenantId) -> Result<Vec<(PeriodId, KeyringStatus)>> {
        let mut out = Vec::new();
        for owner in self.inner.store.list().await.map_err(store_err(&KeyOwner::Global))? {
            let KeyOwner::Period(p) = &owner else { continue };
            if &p.tenant != tenant {
                continue;
            }
            if let Some(kr) = self.inner.store.get(&owner).await.map_err(store_err(&owner))? {
                out.push((p.clone(), status_of(&kr)));
            }
        }
        out.sort_by(|a, b| (a.0.start, &a.0.class).cmp(&(b.0.start, &b.0.class)));
        Ok(out)
    }

    /// Destroys every tenant whose scheduled destruction is due; returns them.
    pub async fn destroy_due(&self) -> Result<Vec<TenantId>> {
        let now = self.now();
        let mut done = Vec::new();
        for owner in self.inner.store.list().await.map_err(store_err(&KeyOwner::Global))? {
            let KeyOwner::Tenant(t) = &owner else { continue };
            let Some(kr) = self.inner.store.get(&owner).await.map_err(store_err(&owner))? else { continue };
            if let KeyringState::PendingDestruction { at } = kr.state
                && at <= now
            {
                self.destroy_now(t).await?;
                done.push(t.clone());
            }
        }
        Ok(done)
    }

    /// Drops the cached keys of `tenant` in this process (call it when another node broadcasts a
    /// lifecycle change).
    /// Period keys of the tenant are dropped as well.
    pub fn evict(&self, tenant: &TenantId) {
        self.inner.cache.evict(&KeyOwner::Tenant(tenant.clone()));
    }

    /// The status of the tenant's keyring.
    pub async fn tenant_status(&self, tenant: &TenantId) -> Result<KeyringStatus> {
        Ok(status_of(&self.get_keyring(&KeyOwner::Tenant(tenant.clone())).await?))
    }

    /// The status of every keyring (global first).
    pub async fn status(&self) -> Result<Vec<KeyringStatus>> {
        let mut out = Vec::new();
        for owner in self.inner.store.list().await.map_err(store_err(&KeyOwner::Global))? {
            if let Some(kr) = self.inner.store.get(&owner).await.map_err(store_err(&owner))? {
                out.push(status_of(&kr));
            }
        }
        Ok(out)
    }

    /// How many keyring loads (KMS unwrap rounds) the cache has done; for monitoring and tests.
    pub fn cache_loads(&self) -> u64 {
        self.inner.cache.loads()
    }

    /// How many keyrings are cached.
    pub fn cache_len(&self) -> usize {
        self.inner.cache.len()
    }

    // ----- cache ---------------------------------------------------------------------------

    async fn load(&self, owner: &KeyOwner) -> Result<Loaded> {
        if let KeyOwner::Period(p) = owner {
            // A period key is usable only while its tenant's keys are; tenant lifecycle changes
            // evict the tenant's period entries from the cache.
            Self::require_enabled(&self.get_keyring(&KeyOwner::Tenant(p.tenant.clone())).await?)?;
        }
        let kr = self.get_keyring(owner).await?;
        let mut keks: BTreeMap<u32, Box<dyn AeadKey>> = BTreeMap::new();
        if kr.state == KeyringState::Enabled {
            for v in &kr.versions {
                let Some(wrapped) = &v.wrapped else { continue };
                if v.version < kr.min_decryption_version {
                    continue;
                }
                let bytes = hex::decode(wrapped).map_err(|_| {
                    Error::Store(format!("{owner} version {} has a damaged wrapped key", v.version))
                })?;
                let key =
                    self.inner.kms.unwrap(&bytes, &KmsContext::new(owner.to_string(), v.version)).await?;
                let k = self
                    .inner
                    .backend
                    .aead_key(key.expose_secret())
                    .map_err(|_| Error::Crypto("bad key length"))?;
                keks.insert(v.version, k);
            }
            self.emit(
                KeyOp::Load,
                owner,
                Some(kr.primary),
                Some(format!("{} versions unwrapped", keks.len())),
            );
        }
        Ok(Loaded::new(kr, keks, self.now()))
    }

    async fn loaded(&self, owner: &KeyOwner) -> Result<Arc<Loaded>> {
        self.inner.cache.get(owner, self.now(), || self.load(owner)).await
    }

    /// Reserves wraps for the primary version of `entry`; `Ok(false)` means the entry is stale
    /// (the primary changed, possibly by a forced rotation) and the caller must reload.
    async fn reserve_wraps(&self, owner: &KeyOwner, entry: &Loaded) -> Result<bool> {
        let _guard = entry.reserve.lock().await;
        if entry.has_wraps() {
            return Ok(true);
        }
        let p = &self.inner.policy;
        for _ in 0..5 {
            let kr = self.get_keyring(owner).await?;
            Self::require_enabled(&kr)?;
            if kr.primary != entry.keyring.primary {
                self.inner.cache.evict(owner);
                return Ok(false);
            }
            let reserved = kr.version(kr.primary).map(|v| v.wraps_reserved).unwrap_or(u64::MAX);
            if reserved.saturating_add(p.wrap_reservation) > p.max_wraps_per_version {
                let v = self.add_version(owner, KeyOrigin::Generated, None, KeyOp::ForcedRotate).await?;
                tracing::warn!(owner = %owner, version = v, "wrap limit reached: rotated the key");
                return Ok(false);
            }
            let mut updated = kr.clone();
            if let Some(v) = updated.version_mut(kr.primary) {
                v.wraps_reserved = reserved.saturating_add(p.wrap_reservation);
            }
            updated.revision = kr.revision.saturating_add(1);
            match self.inner.store.put(&updated, Some(kr.revision)).await {
                Ok(()) => {
                    entry.add_wraps(p.wrap_reservation);
                    return Ok(true);
                }
                Err(StoreError::Conflict) => continue,
                Err(StoreError::Backend(m)) => return Err(Error::Store(m)),
            }
        }
        Err(Error::Conflict(owner.to_string()))
    }

    /// The primary key of `owner`, with one wrap taken from its budget.
    async fn primary_for_wrap(&self, owner: &KeyOwner) -> Result<Arc<Loaded>> {
        for _ in 0..4 {
            let entry = self.loaded(owner).await?;
            Self::require_enabled(&entry.keyring)?;
            if entry.take_wrap() {
                return Ok(entry);
            }
            if self.reserve_wraps(owner, &entry).await? && entry.take_wrap() {
                return Ok(entry);
            }
            self.inner.cache.evict(owner);
        }
        Err(Error::Conflict(owner.to_string()))
    }

    fn kek_for_open<'a>(&self, entry: &'a Loaded, version: u32) -> Result<&'a dyn AeadKey> {
        let kr = &entry.keyring;
        Self::require_enabled(kr).map_err(|e| match e {
            Error::KeyDestroyed { owner, .. } => Error::KeyDestroyed { owner, version },
            other => other,
        })?;
        if version >= kr.min_decryption_version
            && let Some(k) = entry.keks.get(&version)
        {
            // Fast path: only usable versions were unwrapped into the cache entry.
            return Ok(k.as_ref());
        }
        let owner = kr.owner.to_string();
        match kr.version(version) {
            None => Err(Error::UnknownVersion { owner, version }),
            Some(v) if v.wrapped.is_none() => Err(Error::KeyDestroyed { owner, version }),
            Some(_) if version < kr.min_decryption_version => {
                Err(Error::VersionRetired { owner, version, min: kr.min_decryption_version })
            }
            Some(_) => {
                entry.keks.get(&version).map(|k| k.as_ref()).ok_or(Error::UnknownVersion { owner, version })
            }
        }
    }

    // ----- sealing ---------------------------------------------------------------------------

    fn derive(&self, dek: &[u8], message_id: &[u8]) -> Result<(Box<dyn AeadKey>, [u8; COMMITMENT_LEN])> {
        let mut okm = Zeroizing::new([0u8; 32 + COMMITMENT_LEN]);
        self.inner
            .backend
            .hkdf_sha256(message_id, dek, HKDF_INFO, okm.as_mut())
            .map_err(|_| Error::Crypto("HKDF failed"))?;
        let (enc, commit) = okm.split_at(32);
        let key = self.inner.backend.aead_key(enc).map_err(|_| Error::Crypto("bad key length"))?;
        let commit: [u8; COMMITMENT_LEN] =
            commit.try_into().map_err(|_| Error::Crypto("HKDF output length"))?;
        Ok((key, commit))
    }

    /// Starts a sealed message: a fresh data key wrapped under the owner's primary key.
    async fn begin_seal(
        &self,
        ctx: &SealContext,
        layer: Layer,
        period: Option<PeriodRef>,
    ) -> Result<SegmentKey> {
        let owner = owner_of(ctx, layer, period);
        let entry = match (self.primary_for_wrap(&owner).await, &owner) {
            (Err(Error::NoSuchPeriodKey(_)), KeyOwner::Period(p)) => {
                self.ensure_period(p).await?;
                self.primary_for_wrap(&owner).await?
            }
            (other, _) => other?,
        };
        let version = entry.keyring.primary;
        let kek = entry
            .keks
            .get(&version)
            .ok_or_else(|| Error::UnknownVersion { owner: owner.to_string(), version })?;
        // One CSPRNG call: data key, message id, nonce prefix, wrap nonce.
        let mut rnd = Zeroizing::new([0u8; 32 + MESSAGE_ID_LEN + NONCE_PREFIX_LEN + NONCE_LEN]);
        self.inner.backend.fill_random(rnd.as_mut()).map_err(|_| Error::Crypto("random generator failed"))?;
        let (dek, rest) = rnd.split_at(32);
        let (message_id, rest) = rest.split_at(MESSAGE_ID_LEN);
        let (nonce_prefix, wrap_nonce) = rest.split_at(NONCE_PREFIX_LEN);
        let message_id: [u8; MESSAGE_ID_LEN] = message_id.try_into().map_err(|_| Error::Crypto("length"))?;
        let nonce_prefix: [u8; NONCE_PREFIX_LEN] =
            nonce_prefix.try_into().map_err(|_| Error::Crypto("length"))?;
        let (data_key, commitment) = self.derive(dek, &message_id)?;
        let mut wrapped = Vec::with_capacity(WRAPPED_DEK_LEN);
        wrapped.extend_from_slice(wrap_nonce);
        wrapped.extend_from_slice(dek);
        let aad = dek_aad(layer, period, version, self.inner.kms.id(), &message_id, ctx)?;
        let tag = kek
            .seal_detached(wrap_nonce, &aad, wrapped.get_mut(NONCE_LEN..).unwrap_or_default())
            .map_err(|_| Error::Crypto("data key wrap failed"))?;
        wrapped.extend_from_slice(&tag);
        let header = Header {
            layer,
            period,
            key_version: version,
            provider: self.inner.kms.id().to_owned(),
            wrapped_dek: wrapped,
            message_id,
            commitment,
            segment_size: self.inner.policy.segment_size,
            nonce_prefix,
        };
        let aad = header.data_aad(ctx)?;
        Ok(SegmentKey::new(data_key, header, aad))
    }

    /// Unwraps the data key of `header` and checks the commitment.
    async fn begin_open(&self, ctx: &SealContext, header: Header) -> Result<SegmentKey> {
        let owner = owner_of(ctx, header.layer, header.period);
        let version = header.key_version;
        let result = self.begin_open_inner(&owner, ctx, header).await;
        if let Err(e) = &result
            && e.class() == palisade_core::ErrorClass::Rejected
        {
            self.emit(KeyOp::OpenRejected, &owner, Some(version), Some(e.to_string()));
        }
        result
    }

    async fn begin_open_inner(
        &self,
        owner: &KeyOwner,
        ctx: &SealContext,
        header: Header,
    ) -> Result<SegmentKey> {
        let entry = match self.loaded(owner).await {
            Err(Error::NoSuchTenant(t)) => return Err(Error::NoSuchTenant(t)),
            other => other?,
        };
        let dek = self.unwrap_dek(&entry, ctx, &header)?;
        let (data_key, commitment) = self.derive(&dek, &header.message_id)?;
        if !ct_eq(&commitment, &header.commitment) {
            return Err(Error::DoesNotOpen);
        }
        let aad = header.data_aad(ctx)?;
        Ok(SegmentKey::new(data_key, header, aad))
    }

    fn unwrap_dek(&self, entry: &Loaded, ctx: &SealContext, header: &Header) -> Result<Zeroizing<Vec<u8>>> {
        let kek = self.kek_for_open(entry, header.key_version)?;
        let (nonce, body) = header.wrapped_dek.split_at_checked(NONCE_LEN).ok_or(Error::DoesNotOpen)?;
        let mut dek = Zeroizing::new(body.to_vec());
        let n = kek.open_in_place(nonce, &header.dek_aad(ctx)?, &mut dek).map_err(|_| Error::DoesNotOpen)?;
        dek.truncate(n);
        if dek.len() != 32 {
            return Err(Error::DoesNotOpen);
        }
        Ok(dek)
    }

    async fn seal_layer(
        &self,
        ctx: &SealContext,
        layer: Layer,
        period: Option<PeriodRef>,
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let key = self.begin_seal(ctx, layer, period).await?;
        let header = key.header();
        let seg = usize::try_from(header.segment_size).map_err(|_| Error::Crypto("segment size"))?;
        let segments = plaintext.len().div_ceil(seg).max(1);
        let mut out = Vec::with_capacity(header.len() + plaintext.len() + segments * TAG_LEN);
        header.write_to(&mut out);
        key.seal_all(plaintext, &mut out)?;
        Ok(out)
    }

    async fn open_layer(
        &self,
        ctx: &SealContext,
        input: &[u8],
        expect: &[Layer],
    ) -> Result<(Layer, SecretBytes)> {
        let (header, used) = Header::parse(input)?;
        if !expect.contains(&header.layer) {
            return Err(Error::Malformed(format!("unexpected layer {:?} here", header.layer)));
        }
        let layer = header.layer;
        let key = self.begin_open(ctx, header).await?;
        let body = input.get(used..).unwrap_or_default();
        let mut out = Vec::with_capacity(body.len());
        if let Err(e) = key.open_all(body, &mut out) {
            // Segments before a bad one were decrypted: wipe them.
            wipe_vec(&mut out);
            return Err(e);
        }
        Ok((layer, SecretBytes::new(out)))
    }

    /// Seals `plaintext` for `ctx` under the tenant's primary key (single envelope encryption).
    pub async fn seal(&self, ctx: &SealContext, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.seal_layer(ctx, Layer::Single, None, plaintext).await
    }

    /// Seals `plaintext` twice: an inner layer under the tenant hierarchy, then an outer layer
    /// under the global hierarchy. Reading it needs both the global and the tenant key.
    pub async fn seal_double(&self, ctx: &SealContext, plaintext: &[u8]) -> Result<Vec<u8>> {
        let inner = self.seal_layer(ctx, Layer::Inner, None, plaintext).await?;
        self.seal_layer(ctx, Layer::Outer, None, &inner).await
    }

    /// Seals `plaintext` for `ctx` under the key of the current period of the data class
    /// `ctx.purpose` (see [`current_period`](Self::current_period)), created on first use.
    /// [`destroy_period`](Self::destroy_period) later crypto-shreds exactly what was sealed in
    /// that period. [`open`](Self::open) reads it like any other ciphertext.
    pub async fn seal_in_period(&self, ctx: &SealContext, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.seal_layer(ctx, Layer::Single, Some(self.period_ref_now()), plaintext).await
    }

    /// [`seal_double`](Self::seal_double) whose inner (tenant) layer is sealed under the key of
    /// the current period, as [`seal_in_period`](Self::seal_in_period) does.
    pub async fn seal_double_in_period(&self, ctx: &SealContext, plaintext: &[u8]) -> Result<Vec<u8>> {
        let inner = self.seal_layer(ctx, Layer::Inner, Some(self.period_ref_now()), plaintext).await?;
        self.seal_layer(ctx, Layer::Outer, None, &inner).await
    }

    /// Opens a single- or double-encrypted ciphertext sealed for `ctx`.
    pub async fn open(&self, ctx: &SealContext, sealed: &[u8]) -> Result<SecretBytes> {
        let (layer, plain) = self.open_layer(ctx, sealed, &[Layer::Single, Layer::Outer]).await?;
        if layer == Layer::Outer {
            let (_, inner) = self.open_layer(ctx, plain.expose_secret(), &[Layer::Inner]).await?;
            return Ok(inner);
        }
        Ok(plain)
    }

    /// Starts a streaming seal under the tenant's primary key, for payloads too large to hold in
    /// memory. Write [`StreamSealer::header`] first, then what `update` and `finish` produce.
    pub async fn stream_sealer(&self, ctx: &SealContext) -> Result<StreamSealer> {
        let key = self.begin_seal(ctx, Layer::Single, None).await?;
        Ok(StreamSealer::new(key))
    }

    /// [`stream_sealer`](Self::stream_sealer) under the key of the current period (see
    /// [`seal_in_period`](Self::seal_in_period)).
    pub async fn stream_sealer_in_period(&self, ctx: &SealContext) -> Result<StreamSealer> {
        let key = self.begin_seal(ctx, Layer::Single, Some(self.period_ref_now())).await?;
        Ok(StreamSealer::new(key))
    }

    /// Starts a streaming open. `header` must start with the ciphertext's header (read at least
    /// [`Header::parse`]'s length); returns the opener and how many bytes of `header` it used.
    pub async fn stream_opener(&self, ctx: &SealContext, header: &[u8]) -> Result<(StreamOpener, usize)> {
        let (h, used) = Header::parse(header)?;
        if h.layer != Layer::Single {
            return Err(Error::Malformed("streaming supports single-layer ciphertexts only".to_owned()));
        }
        let key = self.begin_open(ctx, h).await?;
        Ok((StreamOpener::new(key), used))
    }

    // ----- re-wrapping ---------------------------------------------------------------------

    async fn rewrap_layer(&self, ctx: &SealContext, sealed: &[u8], layer: Layer) -> Result<Option<Vec<u8>>> {
        let (mut header, used) = Header::parse(sealed)?;
        if header.layer != layer {
            return Err(Error::Malformed(format!("unexpected layer {:?} here", header.layer)));
        }
        let owner = owner_of(ctx, layer, header.period);
        let entry = self.loaded(&owner).await?;
        if header.key_version == entry.keyring.primary {
            return Ok(None);
        }
        let dek = self.unwrap_dek(&entry, ctx, &header)?;
        let (_, commitment) = self.derive(&dek, &header.message_id)?;
        if !ct_eq(&commitment, &header.commitment) {
            return Err(Error::DoesNotOpen);
        }
        let entry = self.primary_for_wrap(&owner).await?;
        let version = entry.keyring.primary;
        let kek = entry
            .keks
            .get(&version)
            .ok_or_else(|| Error::UnknownVersion { owner: owner.to_string(), version })?;
        let mut nonce = [0u8; NONCE_LEN];
        self.inner.backend.fill_random(&mut nonce).map_err(|_| Error::Crypto("random generator failed"))?;
        let mut wrapped = Vec::with_capacity(WRAPPED_DEK_LEN);
        wrapped.extend_from_slice(&nonce);
        wrapped.extend_from_slice(&dek);
        let aad = dek_aad(layer, header.period, version, self.inner.kms.id(), &header.message_id, ctx)?;
        let tag = kek
            .seal_detached(&nonce, &aad, wrapped.get_mut(NONCE_LEN..).unwrap_or_default())
            .map_err(|_| Error::Crypto("data key wrap failed"))?;
        wrapped.extend_from_slice(&tag);
        header.key_version = version;
        header.provider = self.inner.kms.id().to_owned();
        header.wrapped_dek = wrapped;
        let mut out = header.to_bytes();
        out.extend_from_slice(sealed.get(used..).unwrap_or_default());
        Ok(Some(out))
    }

    /// Re-wraps the data key(s) of one ciphertext under the current primary versions, without
    /// re-encrypting the data. Returns `None` when it already uses the primary versions.
    ///
    /// For a double-encrypted ciphertext whose inner (tenant) layer must move, the outer layer
    /// is opened and sealed again under a fresh global data key (the plaintext is never exposed:
    /// the outer layer only ever holds the inner ciphertext).
    pub async fn rewrap(&self, ctx: &SealContext, sealed: &[u8]) -> Result<Option<Vec<u8>>> {
        let (header, _) = Header::parse(sealed)?;
        match header.layer {
            Layer::Single => self.rewrap_layer(ctx, sealed, Layer::Single).await,
            Layer::Outer => {
                let (_, inner) = self.open_layer(ctx, sealed, &[Layer::Outer]).await?;
                match self.rewrap_layer(ctx, inner.expose_secret(), Layer::Inner).await? {
                    Some(new_inner) => Ok(Some(self.seal_layer(ctx, Layer::Outer, None, &new_inner).await?)),
                    None => self.rewrap_layer(ctx, sealed, Layer::Outer).await,
                }
            }
            Layer::Inner => Err(Error::Malformed("an inner layer cannot stand alone".to_owned())),
        }
    }

    /// Re-wraps one page of stored ciphertexts, resumably: pass the returned
    /// [`RewrapProgress::next_cursor`] to the next call until it is `None`. Then
    /// [`set_min_decryption_version`](Self::set_min_decryption_version) retires the old versions.
    pub async fn rewrap_batch(
        &self,
        source: &dyn RewrapSource,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<RewrapProgress> {
        let page = source.page(cursor, limit.max(1)).await.map_err(Error::Store)?;
        let mut progress = RewrapProgress::default();
        let mut owners = std::collections::BTreeSet::new();
        for item in &page {
            match self.rewrap(&item.context, &item.sealed).await {
                Ok(None) => progress.unchanged += 1,
                Ok(Some(new)) => match source.replace(&item.id, &item.sealed, new).await {
                    Ok(true) => {
                        progress.rewrapped += 1;
                        owners.insert(KeyOwner::Tenant(item.context.tenant.clone()));
                    }
                    Ok(false) => {
                        progress.failed.push((item.id.clone(), "changed concurrently; run again".to_owned()))
                    }
                    Err(e) => return Err(Error::Store(e)),
                },
                Err(e) => progress.failed.push((item.id.clone(), e.to_string())),
            }
        }
        progress.next_cursor =
            if page.len() >= limit.max(1) { page.last().map(|i| i.id.clone()) } else { None };
        for owner in owners {
            self.emit(
                KeyOp::Rewrap,
                &owner,
                None,
                Some(format!("{} data keys re-wrapped", progress.rewrapped)),
            );
        }
        Ok(progress)
    }
}

fn owner_of(ctx: &SealContext, layer: Layer, period: Option<PeriodRef>) -> KeyOwner {
    match (layer, period) {
        (Layer::Outer, _) => KeyOwner::Global,
        (_, Some(p)) => KeyOwner::Period(PeriodId {
            tenant: ctx.tenant.clone(),
            class: ctx.purpose.clone(),
            start: p.start,
            secs: p.secs,
        }),
        (_, None) => KeyOwner::Tenant(ctx.tenant.clone()),
    }
}

#[async_trait::async_trait]
impl palisade_core::SecretSealer for KeyManager {
    async fn seal(
        &self,
        context: &SealContext,
        plaintext: &[u8],
    ) -> std::result::Result<palisade_core::SealedSecret, palisade_core::SealError> {
        Ok(palisade_core::SealedSecret(KeyManager::seal(self, context, plaintext).await?))
    }

    async fn open(
        &self,
        context: &SealContext,
        sealed: &palisade_core::SealedSecret,
    ) -> std::result::Result<palisade_core::SecretBytes, palisade_core::SealError> {
        let plain = KeyManager::open(self, context, &sealed.0).await?;
        Ok(plain)
    }
}
