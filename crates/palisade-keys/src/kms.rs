//! The root of the key hierarchy: [`KmsProvider`], and [`LocalKms`], its embedded implementation.
//!
//! A provider holds one root key that never leaves it and wraps (encrypts) the 256-bit
//! key-encryption keys of the keyrings below it. The [`KmsContext`] is a required argument of
//! both `wrap` and `unwrap`: providers bind it to the wrapped key (as AEAD associated data, or as
//! the *encryption context* / *additional authenticated data* of AWS KMS, GCP KMS, Azure Key
//! Vault or Vault Transit), so a wrapped key copied to another keyring or version does not unwrap.
//!
//! # Writing an adapter
//! An adapter for a cloud KMS is a small crate: implement [`KmsProvider`] by calling the service's
//! `Encrypt`/`Decrypt` (AWS KMS: `EncryptionContext` = [`KmsContext::pairs`]; GCP KMS and Vault
//! Transit: `additionalAuthenticatedData`/`context` = [`KmsContext::to_bytes`]), map an
//! authentication failure to [`KmsError::Rejected`] and a transport failure to
//! [`KmsError::Unavailable`]. The [`KeyManager`](crate::KeyManager) caches unwrapped keys, so the
//! provider is called once per keyring version per cache period, not per record.

use std::fmt;
use std::path::Path;

use async_trait::async_trait;
use palisade_core::{ErrorClass, SecretArray};

use crate::backend::{AeadKey, Backend, NONCE_LEN};

#[cfg(feature = "pkcs11")]
pub mod pkcs11;

/// What a wrapped key-encryption key belongs to: its keyring and version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KmsContext {
    keyring: String,
    version: u32,
}

impl KmsContext {
    /// The context of version `version` of keyring `keyring` (`global` or `tenant:<id>`).
    pub fn new(keyring: impl Into<String>, version: u32) -> Self {
        Self { keyring: keyring.into(), version }
    }

    /// The keyring.
    pub fn keyring(&self) -> &str {
        &self.keyring
    }

    /// The key version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Canonical bytes: `"palisade-keys/v1/kek" ‖ u16 len ‖ keyring ‖ u32 version` (big-endian).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.keyring.len());
        out.extend_from_slice(b"palisade-keys/v1/kek");
        out.extend_from_slice(&u16::try_from(self.keyring.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(self.keyring.as_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        out
    }

    /// The context as key/value pairs, for services that take an encryption context map.
    pub fn pairs(&self) -> [(&'static str, String); 2] {
        [("palisade:keyring", self.keyring.clone()), ("palisade:version", self.version.to_string())]
    }
}

/// Why a KMS operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmsError {
    /// The wrapped key does not unwrap under this root key and context (wrong context, wrong root
    /// key, or damaged bytes).
    #[error("the KMS refused to unwrap the key: wrong context or root key, or damaged wrapped key")]
    Rejected,
    /// The KMS is misconfigured (missing key, bad permissions, bad key file).
    #[error("KMS configuration error: {0}")]
    Config(String),
    /// The KMS could not be reached or failed; retry later.
    #[error("the KMS is unavailable: {0}; retry later")]
    Unavailable(String),
}

impl KmsError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            KmsError::Rejected => ErrorClass::Rejected,
            KmsError::Config(_) => ErrorClass::Usage,
            KmsError::Unavailable(_) => ErrorClass::Unavailable,
        }
    }
}

/// The holder of the root key. Object-safe: hold it as `Arc<dyn KmsProvider>`.
#[async_trait]
pub trait KmsProvider: Send + Sync + fmt::Debug {
    /// A short stable id written into keyrings and ciphertext headers (`local`, `pkcs11`,
    /// `aws-kms`…): printable ASCII, 1–64 bytes.
    fn id(&self) -> &str;
    /// Encrypts a 256-bit key under the root key, bound to `context`.
    async fn wrap(&self, key: &SecretArray<32>, context: &KmsContext) -> Result<Vec<u8>, KmsError>;
    /// Decrypts a wrapped key; fails with [`KmsError::Rejected`] unless `context` is the one it
    /// was wrapped with.
    async fn unwrap(&self, wrapped: &[u8], context: &KmsContext) -> Result<SecretArray<32>, KmsError>;
}

/// A root key held in process memory, loaded from a file or an environment variable: the
/// embedded default.
///
/// Wrapping is AES-256-GCM: `nonce (12) ‖ ciphertext (32) ‖ tag (16)` with the
/// [`KmsContext::to_bytes`] as associated data.
///
/// ```
/// use palisade_keys::kms::{KmsContext, KmsProvider, LocalKms};
/// use palisade_core::SecretArray;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir()?;
/// let kms = LocalKms::create_file(dir.path().join("root.key"))?;
/// let kek = SecretArray::<32>::random()?;
/// let wrapped = kms.wrap(&kek, &KmsContext::new("tenant:acme", 1)).await?;
/// assert!(kms.unwrap(&wrapped, &KmsContext::new("tenant:acme", 1)).await? == kek);
/// assert!(kms.unwrap(&wrapped, &KmsContext::new("tenant:globex", 1)).await.is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct LocalKms {
    key: Box<dyn AeadKey>,
    backend: Backend,
}

impl fmt::Debug for LocalKms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKms").field("backend", &self.backend).finish_non_exhaustive()
    }
}

fn parse_hex_key(text: &str, source: &str) -> Result<SecretArray<32>, KmsError> {
    let trimmed = text.trim();
    let bytes = zeroize::Zeroizing::new(hex::decode(trimmed).map_err(|_| {
        KmsError::Config(format!("{source} does not hold a hex-encoded key (expected 64 hex digits)"))
    })?);
    SecretArray::try_from_slice(&bytes).ok_or_else(|| {
        KmsError::Config(format!("{source} holds {} bytes, expected a 32-byte key", bytes.len()))
    })
}

impl LocalKms {
    /// A provider over `key` with the default backend.
    pub fn new(key: SecretArray<32>) -> Result<Self, KmsError> {
        Self::with_backend(key, Backend::default())
    }

    /// A provider over `key` with the given backend.
    pub fn with_backend(key: SecretArray<32>, backend: Backend) -> Result<Self, KmsError> {
        let key = backend
            .aead_key(key.expose_secret())
            .map_err(|_| KmsError::Config("the root key is not a 256-bit key".to_owned()))?;
        Ok(Self { key, backend })
    }

    /// A provider over a fresh random key that lives only in memory (tests, demos).
    pub fn ephemeral() -> Result<Self, KmsError> {
        let key = SecretArray::random().map_err(|e| KmsError::Unavailable(e.to_string()))?;
        Self::new(key)
    }

    /// Creates a new random root key in `path` (hex, file mode 0600, never overwriting).
    pub fn create_file(path: impl AsRef<Path>) -> Result<Self, KmsError> {
        let path = path.as_ref();
        let key = SecretArray::<32>::random().map_err(|e| KmsError::Unavailable(e.to_string()))?;
        let text = zeroize::Zeroizing::new(format!("{}\n", hex::encode(key.expose_secret())));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts
            .open(path)
            .map_err(|e| KmsError::Config(format!("cannot create root key file {}: {e}", path.display())))?;
        std::io::Write::write_all(&mut file, text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| KmsError::Config(format!("cannot write root key file {}: {e}", path.display())))?;
        Self::new(key)
    }

    /// Loads the root key from `path`, refusing a file that group or others may read or write.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, KmsError> {
        let path = path.as_ref();
        let meta = std::fs::metadata(path)
            .map_err(|e| KmsError::Config(format!("cannot read root key file {}: {e}", path.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KmsError::Config(format!(
                    "root key file {} has permissions {mode:o}: it must be readable by its owner only (chmod 600)",
                    path.display()
                )));
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        let text =
            zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                KmsError::Config(format!("cannot read root key file {}: {e}", path.display()))
            })?);
        Self::new(parse_hex_key(&text, &format!("root key file {}", path.display()))?)
    }

    /// Loads the root key (64 hex digits) from the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Self, KmsError> {
        let text = zeroize::Zeroizing::new(
            std::env::var(var)
                .map_err(|_| KmsError::Config(format!("environment variable {var} is not set")))?,
        );
        Self::new(parse_hex_key(&text, &format!("environment variable {var}"))?)
    }
}

#[async_trait]
impl KmsProvider for LocalKms {
    fn id(&self) -> &str {
        "local"
    }

    async fn wrap(&self, key: &SecretArray<32>, context: &KmsContext) -> Result<Vec<u8>, KmsError> {
        let nonce =
            palisade_core::random::array::<NONCE_LEN>().map_err(|e| KmsError::Unavailable(e.to_string()))?;
        let mut buf = Vec::with_capacity(NONCE_LEN + 48);
        buf.extend_from_slice(&nonce);
        buf.extend_from_slice(key.expose_secret());
        let tag = self
            .key
            .seal_detached(&nonce, &context.to_bytes(), buf.get_mut(NONCE_LEN..).unwrap_or_default())
            .map_err(|_| KmsError::Unavailable("AES-GCM wrap failed".to_owned()))?;
        buf.extend_from_slice(&tag);
        Ok(buf)
    }

    async fn unwrap(&self, wrapped: &[u8], context: &KmsContext) -> Result<SecretArray<32>, KmsError> {
        if wrapped.len() != NONCE_LEN + 48 {
            return Err(KmsError::Rejected);
        }
        let (nonce, body) = wrapped.split_at(NONCE_LEN);
        let mut buf = zeroize::Zeroizing::new(body.to_vec());
        let n =
            self.key.open_in_place(nonce, &context.to_bytes(), &mut buf).map_err(|_| KmsError::Rejected)?;
        SecretArray::try_from_slice(buf.get(..n).unwrap_or_default()).ok_or(KmsError::Rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_loose_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("root.key");
        LocalKms::create_file(&p).unwrap();
        assert!(LocalKms::create_file(&p).is_err(), "never overwrites");
        LocalKms::from_file(&p).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = LocalKms::from_file(&p).unwrap_err().to_string();
            assert!(err.contains("644"), "{err}");
        }
    }

    #[tokio::test]
    async fn context_and_key_bind() {
        let a = LocalKms::ephemeral().unwrap();
        let b = LocalKms::ephemeral().unwrap();
        let k = SecretArray::<32>::random().unwrap();
        let ctx = KmsContext::new("tenant:acme", 2);
        let w = a.wrap(&k, &ctx).await.unwrap();
        assert!(a.unwrap(&w, &ctx).await.unwrap() == k);
        assert!(matches!(b.unwrap(&w, &ctx).await, Err(KmsError::Rejected)));
        assert!(matches!(a.unwrap(&w, &KmsContext::new("tenant:acme", 3)).await, Err(KmsError::Rejected)));
        assert!(matches!(a.unwrap(&w[1..], &ctx).await, Err(KmsError::Rejected)));
    }

    #[test]
    fn env_key() {
        let name = "PALISADE_KEYS_TEST_ROOT_KEY_UNSET";
        assert!(LocalKms::from_env(name).is_err());
    }
}
