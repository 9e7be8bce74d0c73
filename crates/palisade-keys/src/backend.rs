//! The small internal trait over the AES-256-GCM and HKDF-SHA-256 implementations.
//!
//! Two implementations exist, each behind a cargo feature: [`Backend::AwsLc`] (`aws-lc`, the
//! default, AWS-LC's assembly AES-GCM) and [`Backend::RustCrypto`] (`rustcrypto`, pure Rust). Both
//! are checked against the Wycheproof AES-GCM and HKDF-SHA-256 vectors. The backend never chooses
//! nonces: every caller in this crate derives or draws them itself.

#[cfg(any(feature = "aws-lc", feature = "ring"))]
mod ring_api;
#[cfg(feature = "aws-lc")]
use ring_api::awslc;
#[cfg(feature = "ring")]
use ring_api::ring;
#[cfg(feature = "rustcrypto")]
mod rustcrypto;

#[cfg(not(any(feature = "aws-lc", feature = "rustcrypto", feature = "ring")))]
compile_error!(
    "palisade-keys needs a crypto backend: enable the `aws-lc` (default), `rustcrypto` or `ring` feature"
);

/// AES-256-GCM key length in bytes.
pub const KEY_LEN: usize = 32;
/// AES-GCM nonce length in bytes (only 96-bit nonces are accepted).
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length in bytes (only full 128-bit tags are produced or accepted).
pub const TAG_LEN: usize = 16;

/// Which implementation of AES-256-GCM and HKDF-SHA-256 a [`KeyManager`](crate::KeyManager) uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Backend {
    /// `aws-lc-rs` (feature `aws-lc`, on by default).
    #[cfg(feature = "aws-lc")]
    AwsLc,
    /// RustCrypto `aes-gcm` + `hkdf` (feature `rustcrypto`): pure Rust.
    #[cfg(feature = "rustcrypto")]
    RustCrypto,
    /// `ring` (feature `ring`): BoringSSL-derived assembly, with a VAES/AVX2 AES-GCM on x86-64
    /// CPUs without AVX-512 where AWS-LC falls back to AVX1 code. Its key schedules are not
    /// zeroized on drop.
    #[cfg(feature = "ring")]
    Ring,
}

#[allow(clippy::derivable_impls)] // the default depends on the enabled features
impl Default for Backend {
    fn default() -> Self {
        #[cfg(feature = "aws-lc")]
        {
            Backend::AwsLc
        }
        #[cfg(all(not(feature = "aws-lc"), feature = "rustcrypto"))]
        {
            Backend::RustCrypto
        }
        #[cfg(all(not(feature = "aws-lc"), not(feature = "rustcrypto")))]
        {
            Backend::Ring
        }
    }
}

impl Backend {
    /// Every backend compiled into this build.
    pub fn all() -> &'static [Backend] {
        &[
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc,
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto,
            #[cfg(feature = "ring")]
            Backend::Ring,
        ]
    }

    /// A short name (`aws-lc`, `rustcrypto`).
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => "aws-lc",
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => "rustcrypto",
            #[cfg(feature = "ring")]
            Backend::Ring => "ring",
        }
    }

    /// Prepares an AES-256-GCM key (expands its schedule once, for many operations).
    ///
    /// Fails with [`CryptoError::BadLength`] when `key` is not 32 bytes long.
    pub fn aead_key(self, key: &[u8]) -> Result<Box<dyn AeadKey>, CryptoError> {
        if key.len() != KEY_LEN {
            return Err(CryptoError::BadLength);
        }
        match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => awslc::aead_key(key),
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => rustcrypto::aead_key(key),
            #[cfg(feature = "ring")]
            Backend::Ring => ring::aead_key(key),
        }
    }

    /// Fills `buf` with random bytes for data keys, message ids and nonces: from the OS CSPRNG
    /// (`getrandom`) whatever the backend, one system call per sealed layer. (AWS-LC's and
    /// ring's own generators were measured as well; AWS-LC's user-space DRBG saves the system
    /// call but is seeded from a CPU-jitter source, not only from the OS, which palisade's rule
    /// "randomness only from the OS CSPRNG" excludes.)
    pub fn fill_random(self, buf: &mut [u8]) -> Result<(), CryptoError> {
        let _ = self;
        palisade_core::random::fill(buf).map_err(|_| CryptoError::Random)
    }

    /// HKDF-SHA-256 (RFC 5869) of `ikm` with `salt` and `info` into `out`.
    ///
    /// Fails with [`CryptoError::BadLength`] when `out` is longer than 255 × 32 bytes.
    pub fn hkdf_sha256(
        self,
        salt: &[u8],
        ikm: &[u8],
        info: &[u8],
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        if out.len() > 255 * 32 {
            return Err(CryptoError::BadLength);
        }
        match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => awslc::hkdf_sha256(salt, ikm, info, out),
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => rustcrypto::hkdf_sha256(salt, ikm, info, out),
            #[cfg(feature = "ring")]
            Backend::Ring => ring::hkdf_sha256(salt, ikm, info, out),
        }
    }
}

/// A low-level failure of the crypto backend. Deliberately without detail: an authentication
/// failure must not say more than "it did not open".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The ciphertext, tag or associated data did not authenticate.
    #[error("authentication failed")]
    Auth,
    /// A key, nonce or output had a length the algorithm does not accept.
    #[error("bad key, nonce or output length")]
    BadLength,
    /// The random number generator failed.
    #[error("the random number generator failed")]
    Random,
}

/// An expanded AES-256-GCM key. Implementations hold the key schedule; the raw key bytes are
/// zeroized by the caller once the schedule exists.
pub trait AeadKey: Send + Sync {
    /// Encrypts `buf` in place and returns the 16-byte tag.
    fn seal_detached(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8]) -> Result<[u8; TAG_LEN], CryptoError>;
    /// Decrypts `buf` = ciphertext ‖ tag in place; on success the plaintext is the first
    /// `returned` bytes of `buf`. On failure `buf` is zeroed.
    fn open_in_place(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8]) -> Result<usize, CryptoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_agree() {
        let key = [7u8; 32];
        let nonce = [9u8; 12];
        let mut outs = Vec::new();
        for b in Backend::all() {
            let k = b.aead_key(&key).unwrap();
            let mut buf = b"hello world".to_vec();
            let tag = k.seal_detached(&nonce, b"aad", &mut buf).unwrap();
            buf.extend_from_slice(&tag);
            outs.push(buf.clone());
            let n = k.open_in_place(&nonce, b"aad", &mut buf).unwrap();
            assert_eq!(&buf[..n], b"hello world");
            let mut r = [0u8; 32];
            b.fill_random(&mut r).unwrap();
            assert_ne!(r, [0u8; 32]);
            let mut okm = [0u8; 42];
            b.hkdf_sha256(b"salt", b"ikm", b"info", &mut okm).unwrap();
            outs.push(okm.to_vec());
        }
        for pair in outs.chunks(2).skip(1) {
            assert_eq!(pair, &outs[..2], "every backend computes the same AES-GCM and HKDF");
        }
    }

    #[test]
    fn rejects_bad_lengths() {
        for b in Backend::all() {
            assert!(b.aead_key(&[0u8; 16]).is_err());
            let k = b.aead_key(&[0u8; 32]).unwrap();
            let mut buf = vec![1, 2, 3];
            assert_eq!(k.seal_detached(&[0u8; 8], b"", &mut buf), Err(CryptoError::BadLength));
            let mut short = vec![0u8; 15];
            assert!(k.open_in_place(&[0u8; 12], b"", &mut short).is_err());
            let mut okm = vec![0u8; 255 * 32 + 1];
            assert!(b.hkdf_sha256(b"", b"k", b"", &mut okm).is_err());
        }
    }
}
