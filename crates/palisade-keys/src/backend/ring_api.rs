//! AES-256-GCM and HKDF-SHA-256 through a crate with *ring*'s API: `ring` itself and
//! `aws-lc-rs`, which mirrors it. One body, instantiated once per crate, so both backends behave
//! identically (tag handling, zeroing the buffer when authentication fails).

/// Defines the module `$name` implementing the backend with the crate `$krate`.
macro_rules! ring_api_backend {
    ($name:ident, $krate:ident, $doc:literal) => {
        #[doc = $doc]
        pub(super) mod $name {
            use $krate::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
            use $krate::hkdf;

            use super::super::{AeadKey, CryptoError, TAG_LEN};

            struct Key(LessSafeKey);

            pub(crate) fn aead_key(key: &[u8]) -> Result<Box<dyn AeadKey>, CryptoError> {
                let unbound = UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::BadLength)?;
                Ok(Box::new(Key(LessSafeKey::new(unbound))))
            }

            fn nonce(n: &[u8]) -> Result<Nonce, CryptoError> {
                Nonce::try_assume_unique_for_key(n).map_err(|_| CryptoError::BadLength)
            }

            impl AeadKey for Key {
                fn seal_detached(
                    &self,
                    n: &[u8],
                    aad: &[u8],
                    buf: &mut [u8],
                ) -> Result<[u8; TAG_LEN], CryptoError> {
                    let n = nonce(n)?;
                    let tag = self
                        .0
                        .seal_in_place_separate_tag(n, Aad::from(aad), buf)
                        .map_err(|_| CryptoError::BadLength)?;
                    tag.as_ref().try_into().map_err(|_| CryptoError::BadLength)
                }

                fn open_in_place(&self, n: &[u8], aad: &[u8], buf: &mut [u8]) -> Result<usize, CryptoError> {
                    let n = nonce(n)?;
                    if buf.len() < TAG_LEN {
                        return Err(CryptoError::Auth);
                    }
                    match self.0.open_in_place(n, Aad::from(aad), buf) {
                        Ok(plain) => Ok(plain.len()),
                        Err(_) => {
                            buf.iter_mut().for_each(|b| *b = 0);
                            Err(CryptoError::Auth)
                        }
                    }
                }
            }

            struct Len(usize);

            impl hkdf::KeyType for Len {
                fn len(&self) -> usize {
                    self.0
                }
            }

            pub(crate) fn hkdf_sha256(
                salt: &[u8],
                ikm: &[u8],
                info: &[u8],
                out: &mut [u8],
            ) -> Result<(), CryptoError> {
                let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
                let info = [info];
                let okm = prk.expand(&info, Len(out.len())).map_err(|_| CryptoError::BadLength)?;
                okm.fill(out).map_err(|_| CryptoError::BadLength)
            }
        }
    };
}

#[cfg(feature = "aws-lc")]
ring_api_backend!(awslc, aws_lc_rs, "AES-256-GCM and HKDF-SHA-256 through `aws-lc-rs`.");
#[cfg(feature = "ring")]
ring_api_backend!(ring, ring, "AES-256-GCM and HKDF-SHA-256 through `ring`.");
