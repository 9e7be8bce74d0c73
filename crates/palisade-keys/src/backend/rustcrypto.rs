//! AES-256-GCM and HKDF-SHA-256 through the pure-Rust RustCrypto crates.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use hkdf::Hkdf;
use sha2::Sha256;

use super::{AeadKey, CryptoError, NONCE_LEN, TAG_LEN};

struct Key(Aes256Gcm);

pub(super) fn aead_key(key: &[u8]) -> Result<Box<dyn AeadKey>, CryptoError> {
    Aes256Gcm::new_from_slice(key)
        .map(|k| Box::new(Key(k)) as Box<dyn AeadKey>)
        .map_err(|_| CryptoError::BadLength)
}

impl AeadKey for Key {
    fn seal_detached(&self, n: &[u8], aad: &[u8], buf: &mut [u8]) -> Result<[u8; TAG_LEN], CryptoError> {
        if n.len() != NONCE_LEN {
            return Err(CryptoError::BadLength);
        }
        let tag = self
            .0
            .encrypt_in_place_detached(Nonce::from_slice(n), aad, buf)
            .map_err(|_| CryptoError::BadLength)?;
        Ok(tag.into())
    }

    fn open_in_place(&self, n: &[u8], aad: &[u8], buf: &mut [u8]) -> Result<usize, CryptoError> {
        if n.len() != NONCE_LEN {
            return Err(CryptoError::BadLength);
        }
        let Some(plain_len) = buf.len().checked_sub(TAG_LEN) else {
            return Err(CryptoError::Auth);
        };
        let (body, tag) = buf.split_at_mut(plain_len);
        let tag = Tag::clone_from_slice(tag);
        match self.0.decrypt_in_place_detached(Nonce::from_slice(n), aad, body, &tag) {
            Ok(()) => Ok(plain_len),
            Err(_) => {
                buf.iter_mut().for_each(|b| *b = 0);
                Err(CryptoError::Auth)
            }
        }
    }
}

pub(super) fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
    Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, out).map_err(|_| CryptoError::BadLength)
}
