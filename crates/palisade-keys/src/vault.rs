//! The credential vault: connection credentials (OAuth tokens, API keys, passwords) stored per
//! tenant and connection, sealed under the tenant's keys, never shown in `Debug` or logs.
//!
//! ```
//! use std::sync::Arc;
//! use palisade_core::SecretString;
//! use palisade_keys::{KeyManager, LocalKms, MemoryKeyringStore};
//! use palisade_keys::vault::{Credential, CredentialVault, MemoryCredentialStore};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let keys = KeyManager::builder(Arc::new(LocalKms::ephemeral()?), Arc::new(MemoryKeyringStore::new())).build()?;
//! let acme = "acme".parse()?;
//! keys.create_tenant(&acme).await?;
//! let vault = CredentialVault::new(keys, Arc::new(MemoryCredentialStore::new()));
//! vault.put(&acme, "salesforce", &Credential::ApiKey { key: SecretString::from("sk-123") }).await?;
//! let got = vault.get(&acme, "salesforce").await?.expect("stored");
//! assert!(matches!(&got.credential, Credential::ApiKey { key } if key.expose_secret() == "sk-123"));
//! assert!(!format!("{got:?}").contains("sk-123"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use palisade_core::{SealContext, SecretString, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::manager::KeyManager;

#[cfg(feature = "sqlite")]
pub mod sqlite;

/// The purpose under which credentials are sealed.
pub const CREDENTIAL_PURPOSE: &str = "connection-credential";

/// A connection credential. `Debug` never shows the secrets.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credential {
    /// OAuth 2.0 tokens.
    OAuth {
        /// The access token.
        access_token: SecretString,
        /// The refresh token, if any.
        refresh_token: Option<SecretString>,
        /// When the access token expires.
        expires_at: Option<OffsetDateTime>,
        /// Granted scopes.
        scopes: Vec<String>,
    },
    /// An API key.
    ApiKey {
        /// The key.
        key: SecretString,
    },
    /// A user name and password.
    Password {
        /// The user name (not secret).
        username: String,
        /// The password.
        password: SecretString,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::OAuth { refresh_token, expires_at, scopes, .. } => f
                .debug_struct("OAuth")
                .field("access_token", &"<redacted>")
                .field("refresh_token", &refresh_token.as_ref().map(|_| "<redacted>"))
                .field("expires_at", expires_at)
                .field("scopes", scopes)
                .finish(),
            Credential::ApiKey { .. } => f.debug_struct("ApiKey").field("key", &"<redacted>").finish(),
            Credential::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

// The sealed plaintext encoding (JSON inside the ciphertext; the buffer is zeroized).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum Out<'a> {
    Oauth {
        access_token: &'a str,
        refresh_token: Option<&'a str>,
        #[serde(with = "time::serde::rfc3339::option")]
        expires_at: Option<OffsetDateTime>,
        scopes: &'a [String],
    },
    ApiKey {
        key: &'a str,
    },
    Password {
        username: &'a str,
        password: &'a str,
    },
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
enum In {
    Oauth {
        access_token: SecretString,
        refresh_token: Option<SecretString>,
        #[serde(with = "time::serde::rfc3339::option")]
        expires_at: Option<OffsetDateTime>,
        scopes: Vec<String>,
    },
    ApiKey {
        key: SecretString,
    },
    Password {
        username: String,
        password: SecretString,
    },
}

impl Credential {
    fn encode(&self) -> Result<Zeroizing<Vec<u8>>> {
        let out = match self {
            Credential::OAuth { access_token, refresh_token, expires_at, scopes } => Out::Oauth {
                access_token: access_token.expose_secret(),
                refresh_token: refresh_token.as_ref().map(|r| r.expose_secret()),
                expires_at: *expires_at,
                scopes,
            },
            Credential::ApiKey { key } => Out::ApiKey { key: key.expose_secret() },
            Credential::Password { username, password } => {
                Out::Password { username, password: password.expose_secret() }
            }
        };
        serde_json::to_vec(&out).map(Zeroizing::new).map_err(|_| Error::Crypto("credential encoding failed"))
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let parsed: In = serde_json::from_slice(bytes)
            .map_err(|_| Error::Malformed("the credential is not readable".to_owned()))?;
        Ok(match parsed {
            In::Oauth { access_token, refresh_token, expires_at, scopes } => {
                Credential::OAuth { access_token, refresh_token, expires_at, scopes }
            }
            In::ApiKey { key } => Credential::ApiKey { key },
            In::Password { username, password } => Credential::Password { username, password },
        })
    }
}

/// A sealed credential as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// Incremented on every write; writes compare it.
    pub revision: u64,
    /// When it was written.
    pub updated: OffsetDateTime,
    /// The sealed credential.
    pub sealed: Vec<u8>,
}

impl fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredential")
            .field("revision", &self.revision)
            .field("updated", &self.updated)
            .field("sealed", &format_args!("{} bytes", self.sealed.len()))
            .finish()
    }
}

/// Why a credential store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialStoreError {
    /// The stored revision is not the expected one. Nothing was written.
    #[error("revision conflict")]
    Conflict,
    /// The store failed.
    #[error("{0}")]
    Backend(String),
}

impl From<CredentialStoreError> for Error {
    fn from(e: CredentialStoreError) -> Self {
        match e {
            CredentialStoreError::Conflict => Error::Conflict("a credential".to_owned()),
            CredentialStoreError::Backend(m) => Error::Store(m),
        }
    }
}

/// Persists sealed credentials by (tenant, connection). Writes are compare-and-swap.
#[async_trait]
pub trait CredentialStore: Send + Sync + fmt::Debug {
    /// The stored credential, if any.
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &str,
    ) -> std::result::Result<Option<StoredCredential>, CredentialStoreError>;
    /// Writes `sealed` as revision `expected + 1` (or 1 when `expected` is `None` and nothing is stored).
    async fn put(
        &self,
        tenant: &TenantId,
        connection: &str,
        sealed: Vec<u8>,
        updated: OffsetDateTime,
        expected: Option<u64>,
    ) -> std::result::Result<u64, CredentialStoreError>;
    /// Deletes it; returns whether something was deleted.
    async fn delete(
        &self,
        tenant: &TenantId,
        connection: &str,
    ) -> std::result::Result<bool, CredentialStoreError>;
    /// The connections of `tenant` that have credentials.
    async fn list(&self, tenant: &TenantId) -> std::result::Result<Vec<String>, CredentialStoreError>;
}

/// Credentials in process memory.
#[derive(Debug, Default)]
pub struct MemoryCredentialStore {
    inner: Mutex<BTreeMap<(TenantId, String), StoredCredential>>,
}

impl MemoryCredentialStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn poisoned<T>(_: T) -> CredentialStoreError {
    CredentialStoreError::Backend("the in-memory store's lock is poisoned".to_owned())
}

#[async_trait]
impl CredentialStore for MemoryCredentialStore {
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &str,
    ) -> std::result::Result<Option<StoredCredential>, CredentialStoreError> {
        Ok(self.inner.lock().map_err(poisoned)?.get(&(tenant.clone(), connection.to_owned())).cloned())
    }

    async fn put(
        &self,
        tenant: &TenantId,
        connection: &str,
        sealed: Vec<u8>,
        updated: OffsetDateTime,
        expected: Option<u64>,
    ) -> std::result::Result<u64, CredentialStoreError> {
        let mut map = self.inner.lock().map_err(poisoned)?;
        let key = (tenant.clone(), connection.to_owned());
        let current = map.get(&key).map(|c| c.revision);
        if current != expected {
            return Err(CredentialStoreError::Conflict);
        }
        let revision = current.unwrap_or(0).saturating_add(1);
        map.insert(key, StoredCredential { revision, updated, sealed });
        Ok(revision)
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        connection: &str,
    ) -> std::result::Result<bool, CredentialStoreError> {
        Ok(self.inner.lock().map_err(poisoned)?.remove(&(tenant.clone(), connection.to_owned())).is_some())
    }

    async fn list(&self, tenant: &TenantId) -> std::result::Result<Vec<String>, CredentialStoreError> {
        Ok(self
            .inner
            .lock()
            .map_err(poisoned)?
            .keys()
            .filter(|(t, _)| t == tenant)
            .map(|(_, c)| c.clone())
            .collect())
    }
}

/// A credential read from the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultEntry {
    /// The credential.
    pub credential: Credential,
    /// Its revision (pass it to [`CredentialVault::rotate`]).
    pub revision: u64,
    /// When it was written.
    pub updated: OffsetDateTime,
}

/// Stores, reads, rotates and deletes connection credentials, sealed per tenant and connection
/// (context: tenant, purpose [`CREDENTIAL_PURPOSE`], record = connection id).
#[derive(Debug, Clone)]
pub struct CredentialVault {
    keys: KeyManager,
    store: Arc<dyn CredentialStore>,
}

fn check_connection(connection: &str) -> Result<()> {
    if connection.is_empty() || connection.len() > 256 || connection.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "a connection id must be 1-256 bytes without control characters".to_owned(),
        ));
    }
    Ok(())
}

impl CredentialVault {
    /// A vault sealing with `keys` into `store`.
    pub fn new(keys: KeyManager, store: Arc<dyn CredentialStore>) -> Self {
        Self { keys, store }
    }

    async fn seal(&self, tenant: &TenantId, connection: &str, credential: &Credential) -> Result<Vec<u8>> {
        check_connection(connection)?;
        let ctx = SealContext::new(tenant.clone(), CREDENTIAL_PURPOSE, connection);
        self.keys.seal(&ctx, &credential.encode()?).await
    }

    /// Stores a credential for a connection that has none; returns its revision (1).
    pub async fn put(&self, tenant: &TenantId, connection: &str, credential: &Credential) -> Result<u64> {
        let sealed = self.seal(tenant, connection, credential).await?;
        match self.store.put(tenant, connection, sealed, self.keys.now(), None).await {
            Err(CredentialStoreError::Conflict) => Err(Error::AlreadyExists(format!(
                "connection {connection:?} of tenant {tenant} (use rotate to replace its credential)"
            ))),
            other => Ok(other?),
        }
    }

    /// Replaces the credential of a connection whose current revision is `revision` (e.g. after
    /// an OAuth refresh); returns the new revision. Fails with [`Error::Conflict`] if someone else
    /// replaced it first.
    pub async fn rotate(
        &self,
        tenant: &TenantId,
        connection: &str,
        revision: u64,
        credential: &Credential,
    ) -> Result<u64> {
        let sealed = self.seal(tenant, connection, credential).await?;
        Ok(self.store.put(tenant, connection, sealed, self.keys.now(), Some(revision)).await?)
    }

    /// Reads and opens a credential.
    pub async fn get(&self, tenant: &TenantId, connection: &str) -> Result<Option<VaultEntry>> {
        check_connection(connection)?;
        let Some(stored) = self.store.get(tenant, connection).await? else { return Ok(None) };
        let ctx = SealContext::new(tenant.clone(), CREDENTIAL_PURPOSE, connection);
        let plain = self.keys.open(&ctx, &stored.sealed).await?;
        Ok(Some(VaultEntry {
            credential: Credential::decode(plain.expose_secret())?,
            revision: stored.revision,
            updated: stored.updated,
        }))
    }

    /// Deletes a credential; returns whether there was one.
    pub async fn delete(&self, tenant: &TenantId, connection: &str) -> Result<bool> {
        Ok(self.store.delete(tenant, connection).await?)
    }

    /// The connections of `tenant` that have credentials.
    pub async fn connections(&self, tenant: &TenantId) -> Result<Vec<String>> {
        Ok(self.store.list(tenant).await?)
    }
}
