//! The replay guard: a time step accepted once is never accepted again for that user.
//!
//! The store keeps, per user, the last accepted time step and moves it forward atomically
//! ([`UsedStepStore::advance`]): of two concurrent logins with the same code only one wins,
//! and any step at or before the recorded one is refused. One number per user is enough, because
//! codes are accepted only in increasing step order.
//!
//! ```
//! use palisade_totp::{MemoryUsedStepStore, UsedStepStore};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryUsedStepStore::default();
//! let (t, u) = ("acme".parse()?, "alice".parse()?);
//! assert!(store.advance(&t, &u, 100).await?);
//! assert!(!store.advance(&t, &u, 100).await?); // replay
//! assert!(!store.advance(&t, &u, 99).await?);  // older
//! assert_eq!(store.last_step(&t, &u).await?, Some(100));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use palisade_core::{TenantId, UserId};

use crate::error::Result;

/// Where the last accepted time step of each user is kept.
///
/// Implementations must make [`advance`](UsedStepStore::advance) atomic per user (a
/// compare-and-set, a Lua script, a conditional `UPDATE ... WHERE last_step < $1`).
#[async_trait]
pub trait UsedStepStore: Send + Sync + fmt::Debug {
    /// Records `step` as used if it is after the user's last used step; `true` when recorded,
    /// `false` when it was at or before it (a replay).
    async fn advance(&self, tenant: &TenantId, user: &UserId, step: u64) -> Result<bool>;
    /// The user's last used step, if any.
    async fn last_step(&self, tenant: &TenantId, user: &UserId) -> Result<Option<u64>>;
    /// Forgets the user (after a 2FA reset, with the secret gone).
    async fn clear(&self, tenant: &TenantId, user: &UserId) -> Result<()>;
}

/// An in-memory [`UsedStepStore`] for one process.
#[derive(Debug, Default)]
pub struct MemoryUsedStepStore {
    map: Mutex<HashMap<(TenantId, UserId), u64>>,
}

#[async_trait]
impl UsedStepStore for MemoryUsedStepStore {
    async fn advance(&self, tenant: &TenantId, user: &UserId, step: u64) -> Result<bool> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (tenant.clone(), user.clone());
        match map.get(&key) {
            Some(&last) if step <= last => Ok(false),
            _ => {
                map.insert(key, step);
                Ok(true)
            }
        }
    }

    async fn last_step(&self, tenant: &TenantId, user: &UserId) -> Result<Option<u64>> {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(map.get(&(tenant.clone(), user.clone())).copied())
    }

    async fn clear(&self, tenant: &TenantId, user: &UserId) -> Result<()> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner).remove(&(tenant.clone(), user.clone()));
        Ok(())
    }
}
