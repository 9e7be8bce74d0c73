//! [`TokenStore`]: where a connection's sealed tokens live, with [`MemoryTokenStore`] beside it
//! and [`SqliteTokenStore`](sqlite::SqliteTokenStore) behind the `sqlite` feature.
//!
//! Writes are compare-and-swap on a version number, so two processes refreshing the same
//! connection cannot silently overwrite each other's rotated refresh token.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use palisade_core::{SealedSecret, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};

#[cfg(feature = "sqlite")]
pub mod sqlite;

/// A connection's tokens as stored: sealed, with the metadata needed to decide on a refresh
/// without opening them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTokens {
    /// The OAuth profile the tokens were issued to (refreshes must use the same client).
    pub profile_id: String,
    /// Access and refresh token, sealed for (tenant, `oauth-tokens`, connection).
    pub sealed: SealedSecret,
    /// When the access token expires, if known.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Whether a refresh token is inside.
    pub has_refresh_token: bool,
    /// Granted scopes.
    pub scope: Option<String>,
    /// Incremented by every write.
    pub version: u64,
    /// When last written.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Stores sealed tokens per (tenant, connection).
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The tokens of a connection, if any.
    async fn get(&self, tenant: &TenantId, connection: &str) -> Result<Option<StoredTokens>>;
    /// Writes `tokens` if the stored version is `expected_version` (`None`: nothing stored).
    /// Otherwise fails with [`Error::Conflict`] and changes nothing.
    async fn put(
        &self,
        tenant: &TenantId,
        connection: &str,
        tokens: StoredTokens,
        expected_version: Option<u64>,
    ) -> Result<()>;
    /// Deletes the tokens if the stored version is `expected_version`; returns whether
    /// something was deleted. A version mismatch is [`Error::Conflict`].
    async fn delete(&self, tenant: &TenantId, connection: &str, expected_version: u64) -> Result<bool>;
}

/// An in-memory [`TokenStore`].
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    inner: Mutex<HashMap<(TenantId, String), StoredTokens>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn get(&self, tenant: &TenantId, connection: &str) -> Result<Option<StoredTokens>> {
        let map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(map.get(&(tenant.clone(), connection.to_owned())).cloned())
    }

    async fn put(
        &self,
        tenant: &TenantId,
        connection: &str,
        tokens: StoredTokens,
        expected_version: Option<u64>,
    ) -> Result<()> {
        let mut map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (tenant.clone(), connection.to_owned());
        if map.get(&key).map(|t| t.version) != expected_version {
            return Err(Error::Conflict);
        }
        map.insert(key, tokens);
        Ok(())
    }

    async fn delete(&self, tenant: &TenantId, connection: &str, expected_version: u64) -> Result<bool> {
        let mut map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (tenant.clone(), connection.to_owned());
        match map.get(&key).map(|t| t.version) {
            None => Ok(false),
            Some(v) if v == expected_version => Ok(map.remove(&key).is_some()),
            Some(_) => Err(Error::Conflict),
        }
    }
}
