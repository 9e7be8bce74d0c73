//! [`SecretSealer`]: how a crate stores a secret encrypted without knowing how keys are managed.
//!
//! `palisade-totp` seals authenticator secrets, `palisade-oauth` client secrets and tokens;
//! `palisade-keys` implements the trait with its tenant key hierarchy. The [`SealContext`] is bound
//! to the ciphertext (as AEAD associated data), so a sealed value copied to another tenant, purpose
//! or record does not open.
//!
//! With the `static-sealer` feature this module also offers [`StaticKeySealer`], AES-256-GCM under
//! one in-memory key: for tests and for hosts that have no key hierarchy yet.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::ErrorClass;
use crate::ids::TenantId;
use crate::secret::SecretBytes;

/// What a sealed secret belongs to. All three parts must match to open it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SealContext {
    /// The tenant that owns the secret.
    pub tenant: TenantId,
    /// What the secret is for, e.g. `totp-secret`, `oauth-client-secret`.
    pub purpose: String,
    /// Which record holds it, e.g. a user id or a connection id.
    pub record: String,
}

impl SealContext {
    /// A context for `record` of `purpose` in `tenant`.
    pub fn new(tenant: TenantId, purpose: impl Into<String>, record: impl Into<String>) -> Self {
        Self { tenant, purpose: purpose.into(), record: record.into() }
    }

    /// An unambiguous byte encoding (length-prefixed parts), for use as associated data.
    pub fn to_aad(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(16 + self.tenant.as_str().len() + self.purpose.len() + self.record.len());
        out.extend_from_slice(b"palisade-seal-v1");
        for part in [self.tenant.as_str(), &self.purpose, &self.record] {
            out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// A sealed (encrypted and authenticated) secret. Safe to store and to serialize.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret(pub Vec<u8>);

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedSecret({} bytes)", self.0.len())
    }
}

/// Why a secret could not be sealed or opened.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SealError {
    /// The sealed value does not open under this context: wrong tenant, purpose or record,
    /// tampered bytes, or a destroyed key. Do not retry.
    #[error(
        "the sealed secret does not open for this context (wrong tenant/purpose/record, tampered, or its key was destroyed)"
    )]
    Rejected,
    /// The sealed value is not in a format this sealer knows.
    #[error("the sealed secret is malformed: {0}")]
    Malformed(String),
    /// The key service failed; retry later.
    #[error("the sealer's key service is unavailable: {0}; retry later")]
    Unavailable(String),
}

impl SealError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            SealError::Rejected => ErrorClass::Rejected,
            SealError::Malformed(_) => ErrorClass::Usage,
            SealError::Unavailable(_) => ErrorClass::Unavailable,
        }
    }
}

/// Seals and opens secrets bound to a [`SealContext`].
#[async_trait]
pub trait SecretSealer: Send + Sync + fmt::Debug {
    /// Encrypts `plaintext` for `context`.
    async fn seal(&self, context: &SealContext, plaintext: &[u8]) -> Result<SealedSecret, SealError>;
    /// Decrypts `sealed`, which must have been sealed for the same `context`.
    async fn open(&self, context: &SealContext, sealed: &SealedSecret) -> Result<SecretBytes, SealError>;
}

#[cfg(feature = "static-sealer")]
pub use static_key::StaticKeySealer;

#[cfg(feature = "static-sealer")]
mod static_key {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use aes_gcm::{Aes256Gcm, Key, Nonce};
    use async_trait::async_trait;

    use super::{SealContext, SealError, SealedSecret, SecretSealer};
    use crate::secret::{SecretArray, SecretBytes};

    const VERSION: u8 = 1;
    const NONCE_LEN: usize = 12;

    /// AES-256-GCM under one in-memory key; format `0x01 || nonce(12) || ciphertext || tag(16)`.
    ///
    /// ```
    /// use palisade_core::{SealContext, SecretSealer, TenantId};
    /// use palisade_core::sealer::StaticKeySealer;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let sealer = StaticKeySealer::random()?;
    /// let ctx = SealContext::new("acme".parse()?, "totp-secret", "alice");
    /// let sealed = sealer.seal(&ctx, b"JBSWY3DPEHPK3PXP").await?;
    /// assert_eq!(sealer.open(&ctx, &sealed).await?.expose_secret(), b"JBSWY3DPEHPK3PXP");
    /// let other = SealContext::new("globex".parse()?, "totp-secret", "alice");
    /// assert!(sealer.open(&other, &sealed).await.is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[derive(Debug)]
    pub struct StaticKeySealer {
        key: SecretArray<32>,
    }

    impl StaticKeySealer {
        /// A sealer over `key`.
        pub fn new(key: SecretArray<32>) -> Self {
            Self { key }
        }

        /// A sealer over a fresh random key (secrets do not survive the process).
        pub fn random() -> Result<Self, crate::random::RandomError> {
            Ok(Self::new(SecretArray::random()?))
        }

        fn cipher(&self) -> Aes256Gcm {
            Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.key.expose_secret()))
        }
    }

    #[async_trait]
    impl SecretSealer for StaticKeySealer {
        async fn seal(&self, context: &SealContext, plaintext: &[u8]) -> Result<SealedSecret, SealError> {
            let nonce =
                crate::random::array::<NONCE_LEN>().map_err(|e| SealError::Unavailable(e.to_string()))?;
            let aad = context.to_aad();
            let ct = self
                .cipher()
                .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad })
                .map_err(|_| SealError::Unavailable("AES-GCM encryption failed".to_owned()))?;
            let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
            out.push(VERSION);
            out.extend_from_slice(&nonce);
            out.extend_from_slice(&ct);
            Ok(SealedSecret(out))
        }

        async fn open(&self, context: &SealContext, sealed: &SealedSecret) -> Result<SecretBytes, SealError> {
            let (version, rest) =
                sealed.0.split_first().ok_or_else(|| SealError::Malformed("empty".to_owned()))?;
            if *version != VERSION {
                return Err(SealError::Malformed(format!("unknown version {version}")));
            }
            if rest.len() < NONCE_LEN + 16 {
                return Err(SealError::Malformed(format!("{} bytes is too short", sealed.0.len())));
            }
            let (nonce, ct) = rest.split_at(NONCE_LEN);
            let aad = context.to_aad();
            self.cipher()
                .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
                .map(SecretBytes::new)
                .map_err(|_| SealError::Rejected)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[tokio::test]
        async fn context_binds_and_tamper_fails() {
            let s = StaticKeySealer::random().unwrap();
            let ctx = SealContext::new("acme".parse().unwrap(), "p", "r");
            let sealed = s.seal(&ctx, b"secret").await.unwrap();
            assert_eq!(s.open(&ctx, &sealed).await.unwrap().expose_secret(), b"secret");
            for other in [
                SealContext::new("acme".parse().unwrap(), "p2", "r"),
                SealContext::new("acme".parse().unwrap(), "p", "r2"),
                SealContext::new("acme2".parse().unwrap(), "p", "r"),
            ] {
                assert!(matches!(s.open(&other, &sealed).await, Err(SealError::Rejected)));
            }
            for i in 0..sealed.0.len() {
                let mut t = sealed.clone();
                t.0[i] ^= 1;
                assert!(s.open(&ctx, &t).await.is_err(), "flip at {i}");
            }
            assert!(matches!(s.open(&ctx, &SealedSecret(vec![])).await, Err(SealError::Malformed(_))));
            assert!(matches!(s.open(&ctx, &SealedSecret(vec![1; 10])).await, Err(SealError::Malformed(_))));
            let again = s.seal(&ctx, b"secret").await.unwrap();
            assert_ne!(again, sealed, "nonces are random");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_is_unambiguous() {
        let t: TenantId = "t".parse().unwrap();
        let a = SealContext::new(t.clone(), "ab", "c").to_aad();
        let b = SealContext::new(t, "a", "bc").to_aad();
        assert_ne!(a, b);
    }
}
