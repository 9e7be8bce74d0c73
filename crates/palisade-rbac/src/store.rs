//! Policy storage: the [`PolicyStore`] trait and [`MemoryPolicyStore`].

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use palisade_core::TenantId;

use crate::Rbac;
use crate::error::{Error, Result};
use crate::policy::{PolicyCatalog, TenantPolicy};

/// A stored tenant policy and its revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    /// The policy.
    pub policy: TenantPolicy,
    /// Its revision in the store (1 for the first save).
    pub revision: u64,
}

/// Where hosts keep tenant policies (a database table, a config repository…).
///
/// Implementations must validate nothing themselves: [`save_validated`] validates first, so a
/// rejected policy never reaches the store.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// The tenants with a stored policy.
    async fn tenants(&self) -> Result<Vec<TenantId>>;
    /// One tenant's policy.
    async fn load(&self, tenant: &TenantId) -> Result<Option<StoredPolicy>>;
    /// Stores `policy` if the stored revision is `expected` (0 = absent); returns the new revision.
    async fn save(&self, policy: &TenantPolicy, expected: u64) -> Result<u64>;
}

/// Validates `policy`, then saves it: an invalid policy leaves the store as it was.
pub async fn save_validated(store: &dyn PolicyStore, policy: &TenantPolicy, expected: u64) -> Result<u64> {
    policy.validate()?;
    store.save(policy, expected).await
}

/// Loads every tenant from `store` and publishes them to `rbac` at once (all or nothing).
pub async fn publish_from(store: &dyn PolicyStore, rbac: &Rbac) -> Result<Vec<(TenantId, u64)>> {
    let mut catalog = PolicyCatalog::default();
    for t in store.tenants().await? {
        if let Some(s) = store.load(&t).await? {
            catalog.tenants.push(s.policy);
        }
    }
    rbac.publish(&catalog)
}

/// An in-memory [`PolicyStore`], for tests and single-instance hosts.
#[derive(Debug, Default)]
pub struct MemoryPolicyStore {
    inner: Mutex<BTreeMap<TenantId, StoredPolicy>>,
}

#[async_trait]
impl PolicyStore for MemoryPolicyStore {
    async fn tenants(&self) -> Result<Vec<TenantId>> {
        Ok(self.inner.lock().map_err(|_| Error::Store("poisoned lock".into()))?.keys().cloned().collect())
    }

    async fn load(&self, tenant: &TenantId) -> Result<Option<StoredPolicy>> {
        Ok(self.inner.lock().map_err(|_| Error::Store("poisoned lock".into()))?.get(tenant).cloned())
    }

    async fn save(&self, policy: &TenantPolicy, expected: u64) -> Result<u64> {
        let mut map = self.inner.lock().map_err(|_| Error::Store("poisoned lock".into()))?;
        let found = map.get(&policy.id).map(|s| s.revision).unwrap_or(0);
        if found != expected {
            return Err(Error::RevisionConflict { tenant: policy.id.to_string(), expected, found });
        }
        map.insert(policy.id.clone(), StoredPolicy { policy: policy.clone(), revision: found + 1 });
        Ok(found + 1)
    }
}
