//! XML Encryption for `EncryptedAssertion`: RSA-OAEP key transport (MGF1-SHA1 and SHA-256;
//! RSA-1_5 only behind a per-IdP opt-in), AES-128/256-GCM and AES-128/192/256-CBC content.
//! `RetrievalMethod` resolves only to an `EncryptedKey` inside the same `EncryptedAssertion`.
//! The decrypted assertion is parsed by the same strict reader; its signature is then verified on
//! that decrypted tree by the caller.

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, Pkcs1PrivateDecryptingKey,
    PrivateDecryptingKey,
};

use crate::dsig::DSIG_NS;
use crate::error::{Error, Result};
use crate::keys::{b64_decode_ws, pem_decode};
use crate::xml::{Document, Element, Limits, escape_attr};

/// The XML Encryption namespace.
pub const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
/// The XML Encryption 1.1 namespace.
pub const XENC11_NS: &str = "http://www.w3.org/2009/xmlenc11#";

/// The SP's private key for encrypted assertions: RSA, PKCS#8, 2048-8192 bits — or, only through
/// the explicit [`DecryptionKey::from_pem_allowing_weak_rsa`] opt-in, a legacy 1024-2047-bit key.
pub struct DecryptionKey {
    inner: KeyInner,
}

enum KeyInner {
    /// 2048-8192 bits: aws-lc-rs (the default and only path for sound keys).
    Standard(PrivateDecryptingKey),
    /// 1024-2047 bits, opted into: RustCrypto `rsa` 0.10, because aws-lc-rs refuses keys below
    /// 2048 bits for decryption. Its arithmetic is constant-time with blinding, and PKCS#1 v1.5
    /// uses implicit rejection, so a failed unwrap gives no padding oracle.
    Weak(Box<rsa::PrivateKey>),
}

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptionKey").field("bits", &self.bits()).finish_non_exhaustive()
    }
}

/// Key transport algorithms, resolved from `EncryptionMethod` before the key is touched.
enum KeyTransport {
    OaepSha1,
    OaepSha256,
    Pkcs1v15,
}

impl DecryptionKey {
    /// From PKCS#8 DER (RSA, 2048-8192 bits).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let key = PrivateDecryptingKey::from_pkcs8(der).map_err(|e| {
            Error::Key(format!("decryption key must be an RSA PKCS#8 key of 2048-8192 bits ({e})"))
        })?;
        Ok(Self { inner: KeyInner::Standard(key) })
    }

    /// From PEM (`PRIVATE KEY`, PKCS#8; RSA, 2048-8192 bits).
    pub fn from_pem(pem: &str) -> Result<Self> {
        Self::from_pkcs8_der(&pem_decode(pem, "PRIVATE KEY")?)
    }

    /// Like [`DecryptionKey::from_pem`], but also accepts a **legacy RSA key of 1024-2047 bits**
    /// (PKCS#8 or PKCS#1, under a `PRIVATE KEY` or `RSA PRIVATE KEY` label), for an SP that must
    /// keep interoperating with an IdP configured with such a key. A key below 2048 bits no longer
    /// protects assertions against a well-funded attacker: rotate it. Keys of 2048 bits and more
    /// take the same path as `from_pem`; keys below 1024 bits are refused.
    ///
    /// ```
    /// # let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"),
    /// #     "/../../../shared/conformance/saml/python3-saml/sp_key_settings8.pem")).unwrap();
    /// use palisade_saml::DecryptionKey;
    /// assert!(DecryptionKey::from_pem(&pem).is_err()); // RSA-1024: refused by default
    /// let key = DecryptionKey::from_pem_allowing_weak_rsa(&pem)?;
    /// assert_eq!(key.bits(), 1024);
    /// # Ok::<(), palisade_saml::Error>(())
    /// ```
    pub fn from_pem_allowing_weak_rsa(pem: &str) -> Result<Self> {
        if let Ok(k) = Self::from_pem(pem) {
            return Ok(k);
        }
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::traits::PublicKeyParts;
        let parsed = match pem_decode(pem, "PRIVATE KEY") {
            Ok(der) => rsa::PrivateKey::from_pkcs8_der(&der)
                .ok()
                .or_else(|| rsa::PrivateKey::from_pkcs1_der(&der).ok()),
            Err(_) => pem_decode(pem, "RSA PRIVATE KEY")
                .ok()
                .and_then(|der| rsa::PrivateKey::from_pkcs1_der(&der).ok()),
        };
        let key = parsed.ok_or_else(|| {
            Error::Key("decryption key is not an RSA private key (PKCS#8 or PKCS#1 PEM)".into())
        })?;
        let bits = key.n().bit_width_vartime() as usize;
        if !(1024..2048).contains(&bits) {
            return Err(Error::Key(format!(
                "decryption key of {bits} bits: legacy keys must have 1024-2047 bits, sound ones 2048-8192"
            )));
        }
        tracing::warn!(bits, "SAML SP decryption key below 2048 bits accepted by explicit opt-in");
        Ok(Self { inner: KeyInner::Weak(Box::new(key)) })
    }

    /// The key size in bits.
    pub fn bits(&self) -> usize {
        use rsa::traits::PublicKeyParts;
        match &self.inner {
            KeyInner::Standard(k) => k.key_size_bits(),
            KeyInner::Weak(k) => k.n().bit_width_vartime() as usize,
        }
    }

    fn unwrap_key(&self, method: Element<'_>, cipher: &[u8], allow_rsa1_5: bool) -> Result<Vec<u8>> {
        let alg =
            method.attr("Algorithm").ok_or(Error::Missing("EncryptedKey EncryptionMethod Algorithm"))?;
        let transport = match alg {
            "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
            | "http://www.w3.org/2009/xmlenc11#rsa-oaep" => {
                if method.child(XENC_NS, "OAEPparams").is_some_and(|p| !p.text().trim().is_empty()) {
                    return Err(Error::Decryption("OAEPparams are not supported".into()));
                }
                let digest = method
                    .child(DSIG_NS, "DigestMethod")
                    .and_then(|d| d.attr("Algorithm"))
                    .unwrap_or(crate::keys::DIGEST_SHA1);
                let mgf = method
                    .child(XENC11_NS, "MGF")
                    .and_then(|m| m.attr("Algorithm"))
                    .unwrap_or("http://www.w3.org/2009/xmlenc11#mgf1sha1");
                match (digest, mgf) {
                    (crate::keys::DIGEST_SHA1, "http://www.w3.org/2009/xmlenc11#mgf1sha1") => {
                        KeyTransport::OaepSha1
                    }
                    (crate::keys::DIGEST_SHA256, "http://www.w3.org/2009/xmlenc11#mgf1sha256") => {
                        KeyTransport::OaepSha256
                    }
                    (d, m) => {
                        return Err(Error::Decryption(format!(
                            "OAEP digest {d} with MGF {m} is not supported"
                        )));
                    }
                }
            }
            "http://www.w3.org/2001/04/xmlenc#rsa-1_5" if allow_rsa1_5 => KeyTransport::Pkcs1v15,
            other => return Err(Error::AlgorithmNotAllowed(other.to_owned())),
        };
        let fail = || Error::Decryption("key transport decryption failed".into());
        match &self.inner {
            KeyInner::Standard(key) => {
                let mut out = vec![0u8; key.key_size_bytes()];
                let n = match transport {
                    KeyTransport::OaepSha1 | KeyTransport::OaepSha256 => {
                        let params = match transport {
                            KeyTransport::OaepSha256 => &OAEP_SHA256_MGF1SHA256,
                            _ => &OAEP_SHA1_MGF1SHA1,
                        };
                        let k = OaepPrivateDecryptingKey::new(key.clone()).map_err(|_| fail())?;
                        k.decrypt(params, cipher, &mut out, None).map_err(|_| fail())?.len()
                    }
                    KeyTransport::Pkcs1v15 => {
                        let k = Pkcs1PrivateDecryptingKey::new(key.clone()).map_err(|_| fail())?;
                        k.decrypt(cipher, &mut out).map_err(|_| fail())?.len()
                    }
                };
                out.truncate(n);
                Ok(out)
            }
            KeyInner::Weak(key) => match transport {
                KeyTransport::OaepSha1 => key.decrypt(rsa::Oaep::<rsa_sha1::Sha1>::new(), cipher),
                KeyTransport::OaepSha256 => key.decrypt(rsa::Oaep::<rsa::sha2::Sha256>::new(), cipher),
                KeyTransport::Pkcs1v15 => key.decrypt(rsa::Pkcs1v15Encrypt, cipher),
            }
            .map_err(|_| fail()),
        }
    }
}

fn decrypt_content(alg: &str, key: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    let fail = || Error::Decryption("content decryption failed".into());
    match alg {
        "http://www.w3.org/2009/xmlenc11#aes128-gcm" | "http://www.w3.org/2009/xmlenc11#aes256-gcm" => {
            let want = if alg.ends_with("aes128-gcm") { 16 } else { 32 };
            if key.len() != want || data.len() < 12 + 16 {
                return Err(fail());
            }
            let (iv, ct) = data.split_at(12);
            let unbound = UnboundKey::new(if want == 16 { &AES_128_GCM } else { &AES_256_GCM }, key)
                .map_err(|_| fail())?;
            let nonce = Nonce::try_assume_unique_for_key(iv).map_err(|_| fail())?;
            let mut buf = ct.to_vec();
            let plain =
                LessSafeKey::new(unbound).open_in_place(nonce, Aad::empty(), &mut buf).map_err(|_| fail())?;
            Ok(plain.to_vec())
        }
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
        | "http://www.w3.org/2001/04/xmlenc#aes192-cbc"
        | "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => {
            if data.len() < 32 || !data.len().is_multiple_of(16) {
                return Err(fail());
            }
            let (iv, ct) = data.split_at(16);
            let mut buf = ct.to_vec();
            let plain = match (alg, key.len()) {
                (a, 16) if a.ends_with("aes128-cbc") => {
                    cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
                        .map_err(|_| fail())?
                        .decrypt_padded_mut::<NoPadding>(&mut buf)
                        .map_err(|_| fail())?
                        .to_vec()
                }
                (a, 24) if a.ends_with("aes192-cbc") => {
                    cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
                        .map_err(|_| fail())?
                        .decrypt_padded_mut::<NoPadding>(&mut buf)
                        .map_err(|_| fail())?
                        .to_vec()
                }
                (a, 32) if a.ends_with("aes256-cbc") => {
                    cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
                        .map_err(|_| fail())?
                        .decrypt_padded_mut::<NoPadding>(&mut buf)
                        .map_err(|_| fail())?
                        .to_vec()
                }
                _ => return Err(fail()),
            };
            // XML Encryption padding: the last byte is the pad length (1..=16), other pad bytes arbitrary.
            let pad = usize::from(*plain.last().ok_or_else(fail)?);
            if pad == 0 || pad > 16 || pad > plain.len() {
                return Err(fail());
            }
            Ok(plain.get(..plain.len() - pad).ok_or_else(fail)?.to_vec())
        }
        other => Err(Error::AlgorithmNotAllowed(other.to_owned())),
    }
}

/// Finds the EncryptedKey for `data` inside `container` (KeyInfo child, same-container
/// RetrievalMethod, or a sibling EncryptedKey).
fn find_encrypted_key<'d>(container: Element<'d>, data: Element<'d>) -> Result<Element<'d>> {
    if let Some(ki) = data.child(DSIG_NS, "KeyInfo") {
        if let Some(k) = ki.child(XENC_NS, "EncryptedKey") {
            return Ok(k);
        }
        if let Some(rm) = ki.child(DSIG_NS, "RetrievalMethod") {
            let uri = rm.attr("URI").unwrap_or_default();
            let id = uri.strip_prefix('#').filter(|s| !s.is_empty()).ok_or_else(|| {
                Error::Decryption(format!("RetrievalMethod URI {uri:?} is not a same-document reference"))
            })?;
            return container
                .descendants()
                .into_iter()
                .find(|e| e.is(XENC_NS, "EncryptedKey") && e.attr("Id") == Some(id))
                .ok_or_else(|| {
                    Error::Decryption(format!(
                        "RetrievalMethod target #{id} not found inside the EncryptedAssertion"
                    ))
                });
        }
    }
    container.child(XENC_NS, "EncryptedKey").ok_or(Error::Missing("EncryptedKey"))
}

/// Decrypts the `EncryptedAssertion` (or `EncryptedID`) `container` and parses the plaintext
/// with the strict reader. The plaintext is parsed inside a wrapper element that carries the
/// namespace declarations in scope at `container`, so prefixes inherited from the envelope
/// resolve as they did for the IdP.
pub fn decrypt_element(
    container: Element<'_>,
    key: &DecryptionKey,
    allow_rsa1_5: bool,
    limits: &Limits,
) -> Result<Document> {
    let data = container.child(XENC_NS, "EncryptedData").ok_or(Error::Missing("EncryptedData"))?;
    let alg = data
        .child(XENC_NS, "EncryptionMethod")
        .and_then(|m| m.attr("Algorithm"))
        .ok_or(Error::Missing("EncryptedData EncryptionMethod"))?;
    let ek = find_encrypted_key(container, data)?;
    let ek_method =
        ek.child(XENC_NS, "EncryptionMethod").ok_or(Error::Missing("EncryptedKey EncryptionMethod"))?;
    let ek_cipher = cipher_value(ek)?;
    let cek = key.unwrap_key(ek_method, &ek_cipher, allow_rsa1_5)?;
    let plain = decrypt_content(alg, &cek, &cipher_value(data)?)?;
    let text = String::from_utf8(plain).map_err(|_| Error::Decryption("plaintext is not UTF-8".into()))?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    if text.trim_start().starts_with("<?xml") {
        return Err(Error::Decryption("plaintext must be an element, not a document".into()));
    }
    let mut wrapper = String::from("<palisade-decrypted");
    for d in container.in_scope_namespaces() {
        match d.prefix {
            Some(p) => wrapper.push_str(&format!(" xmlns:{p}=\"{}\"", escape_attr(&d.uri))),
            None => wrapper.push_str(&format!(" xmlns=\"{}\"", escape_attr(&d.uri))),
        }
    }
    wrapper.push('>');
    wrapper.push_str(text);
    wrapper.push_str("</palisade-decrypted>");
    Ok(Document::parse(&wrapper, limits)?)
}

fn cipher_value(e: Element<'_>) -> Result<Vec<u8>> {
    let cd = e.child(XENC_NS, "CipherData").ok_or(Error::Missing("CipherData"))?;
    if cd.child(XENC_NS, "CipherReference").is_some() {
        return Err(Error::Decryption("CipherReference is not supported".into()));
    }
    let cv = cd.child(XENC_NS, "CipherValue").ok_or(Error::Missing("CipherValue"))?;
    b64_decode_ws(&cv.text())
}
