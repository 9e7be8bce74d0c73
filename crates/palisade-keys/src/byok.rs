//! Bring your own key: import material wrapped the way the major KMSs take it
//! (RSA-OAEP-SHA-256 + AES key wrap with padding, "RSA_AES_KEY_WRAP_SHA_256").
//!
//! The host generates an [`ImportKeyPair`], hands the customer its public key (SPKI DER), and the
//! customer sends back `RSA-OAEP-SHA256(ephemeral AES-256 key) ‖ AES-KWP(ephemeral, their key)`
//! (NIST SP 800-38F, RFC 5649). [`ImportKeyPair::unwrap`] yields the 256-bit key for
//! [`KeyManager::import_tenant_key`](crate::KeyManager::import_tenant_key).
//!
//! ```
//! use palisade_keys::byok::{ImportKeyPair, wrap_for_import};
//! use palisade_core::SecretArray;
//! let pair = ImportKeyPair::generate()?;
//! let customer_key = SecretArray::<32>::random()?;
//! let material = wrap_for_import(&pair.public_key_der()?, &customer_key)?;
//! assert!(pair.unwrap(&material)? == customer_key);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::key_wrap::{AES_256, AesKek, KeyWrapPadded};
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey,
};
use palisade_core::SecretArray;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// An RSA-3072 key pair for receiving imported keys. Never printed.
pub struct ImportKeyPair {
    oaep: OaepPrivateDecryptingKey,
    public_der: Vec<u8>,
}

impl fmt::Debug for ImportKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ImportKeyPair(<redacted>)")
    }
}

impl ImportKeyPair {
    /// A fresh RSA-3072 key pair.
    pub fn generate() -> Result<Self> {
        let private = PrivateDecryptingKey::generate(KeySize::Rsa3072)
            .map_err(|_| Error::Crypto("RSA key generation failed"))?;
        Self::from_private(private)
    }

    /// Loads a key pair from PKCS#8 DER (keep it only as long as the import window lasts).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self> {
        let private = PrivateDecryptingKey::from_pkcs8(der)
            .map_err(|_| Error::Invalid("not an RSA private key in PKCS#8 DER".to_owned()))?;
        Self::from_private(private)
    }

    fn from_private(private: PrivateDecryptingKey) -> Result<Self> {
        let public_der = private
            .public_key()
            .as_der()
            .map_err(|_| Error::Crypto("public key encoding failed"))?
            .as_ref()
            .to_vec();
        let oaep =
            OaepPrivateDecryptingKey::new(private).map_err(|_| Error::Crypto("RSA-OAEP key setup failed"))?;
        Ok(Self { oaep, public_der })
    }

    /// The public key to hand to the customer (X.509 SubjectPublicKeyInfo DER).
    pub fn public_key_der(&self) -> Result<Vec<u8>> {
        Ok(self.public_der.clone())
    }

    /// Unwraps import material into the customer's 256-bit key.
    pub fn unwrap(&self, material: &[u8]) -> Result<SecretArray<32>> {
        let oaep = &self.oaep;
        let rsa_len = oaep.key_size_bytes();
        let (rsa_ct, kwp) = material.split_at_checked(rsa_len).ok_or(Error::DoesNotOpen)?;
        let mut eph = Zeroizing::new(vec![0u8; oaep.min_output_size()]);
        let eph_len = oaep
            .decrypt(&OAEP_SHA256_MGF1SHA256, rsa_ct, &mut eph, None)
            .map_err(|_| Error::DoesNotOpen)?
            .len();
        let eph_key = eph.get(..eph_len).ok_or(Error::DoesNotOpen)?;
        if eph_key.len() != 32 {
            return Err(Error::DoesNotOpen);
        }
        let kek = AesKek::new(&AES_256, eph_key).map_err(|_| Error::DoesNotOpen)?;
        let mut out = Zeroizing::new(vec![0u8; kwp.len()]);
        let n = kek.unwrap_with_padding(kwp, &mut out).map_err(|_| Error::DoesNotOpen)?.len();
        SecretArray::try_from_slice(out.get(..n).ok_or(Error::DoesNotOpen)?).ok_or_else(|| {
            Error::Invalid(format!("the imported key is {n} bytes; a 256-bit key is required"))
        })
    }
}

/// What a customer does to wrap `key` for import (also useful for tooling and tests).
pub fn wrap_for_import(public_key_der: &[u8], key: &SecretArray<32>) -> Result<Vec<u8>> {
    let public = PublicEncryptingKey::from_der(public_key_der)
        .map_err(|_| Error::Invalid("not an RSA public key in SPKI DER".to_owned()))?;
    let oaep =
        OaepPublicEncryptingKey::new(public).map_err(|_| Error::Crypto("RSA-OAEP key setup failed"))?;
    let eph = SecretArray::<32>::random()?;
    let mut rsa_ct = vec![0u8; oaep.ciphertext_size()];
    let rsa_ct = oaep
        .encrypt(&OAEP_SHA256_MGF1SHA256, eph.expose_secret(), &mut rsa_ct, None)
        .map_err(|_| Error::Crypto("RSA-OAEP encryption failed"))?
        .to_vec();
    let kek =
        AesKek::new(&AES_256, eph.expose_secret()).map_err(|_| Error::Crypto("AES-KWP setup failed"))?;
    let mut out = vec![0u8; 32 + 16];
    let wrapped =
        kek.wrap_with_padding(key.expose_secret(), &mut out).map_err(|_| Error::Crypto("AES-KWP failed"))?;
    let mut material = rsa_ct;
    material.extend_from_slice(wrapped);
    Ok(material)
}
