//! Crypto-shredding: data encrypted under per-period keys becomes unreadable everywhere (backups
//! included) the moment its key is destroyed.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use palisade_core::TenantId;
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::store::Scope;

/// A data key that encrypts one tenant's records of one class for one period of time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodKey {
    /// The key's identifier in the key store (never key material).
    pub key_id: String,
    /// The tenant.
    pub tenant: TenantId,
    /// The class.
    pub class: String,
    /// Start of the period the key covers.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of the period the key covers (exclusive): every record under it ended before this.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

/// The key store side of crypto-shredding (palisade-keys implements it).
#[async_trait]
pub trait KeyShredder: Send + Sync {
    /// Keys of `scope` whose period ended at or before `ended_before`, not yet destroyed.
    async fn keys_ending_before(&self, scope: &Scope, ended_before: OffsetDateTime)
    -> Result<Vec<PeriodKey>>;
    /// Destroys a key irrevocably. Destroying an already destroyed key succeeds.
    async fn destroy(&self, key: &PeriodKey) -> Result<()>;
}

/// An in-memory [`KeyShredder`] holding key ids only, for tests and examples.
#[derive(Debug, Default)]
pub struct MemoryShredder {
    keys: Mutex<BTreeMap<String, PeriodKey>>,
}

impl MemoryShredder {
    /// An empty key list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a key.
    pub fn add(&self, key: PeriodKey) {
        if let Ok(mut g) = self.keys.lock() {
            g.insert(key.key_id.clone(), key);
        }
    }

    /// Whether a key still exists.
    pub fn exists(&self, key_id: &str) -> bool {
        self.keys.lock().map(|g| g.contains_key(key_id)).unwrap_or(false)
    }
}

#[async_trait]
impl KeyShredder for MemoryShredder {
    async fn keys_ending_before(
        &self,
        scope: &Scope,
        ended_before: OffsetDateTime,
    ) -> Result<Vec<PeriodKey>> {
        let g = self.keys.lock().map_err(|_| Error::Shredder("lock poisoned".into()))?;
        Ok(g.values()
            .filter(|k| k.tenant == scope.tenant && k.class == scope.class && k.not_after <= ended_before)
            .cloned()
            .collect())
    }

    async fn destroy(&self, key: &PeriodKey) -> Result<()> {
        let mut g = self.keys.lock().map_err(|_| Error::Shredder("lock poisoned".into()))?;
        g.remove(&key.key_id);
        Ok(())
    }
}
