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

/// The SP's private key for encrypted assertions (RSA, PKCS#8, 2048-8192 bits).
pub struct DecryptionKey {
    key: PrivateDecryptingKey,
}

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptionKey").field("bits", &self.key.key_size_bits()).finish_non_exhaustive()
    }
}

impl DecryptionKey {
    /// From PKCS#8 DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let key = PrivateDecryptingKey::from_pkcs8(der).map_err(|e| {
            Error::Key(format!("decryption key must be an RSA PKCS#8 key of 2048-8192 bits ({e})"))
        })?;
        Ok(Self { key })
    }

    /// From PEM (`PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self> {
        Self::from_pkcs8_der(&pem_decode(pem, "PRIVATE KEY")?)
    }

    fn unwrap_key(&self, method: Element<'_>, cipher: &[u8], allow_rsa1_5: bool) -> Result<Vec<u8>> {
        let alg =
            method.attr("Algorithm").ok_or(Error::Missing("EncryptedKey EncryptionMethod Algorithm"))?;
        let fail = |_| Error::Decryption("key transport decryption failed".into());
        let mut out = vec![0u8; self.key.key_size_bytes()];
        let n = match alg {
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
                let params = match (digest, mgf) {
                    (crate::keys::DIGEST_SHA1, "http://www.w3.org/2009/xmlenc11#mgf1sha1") => {
                        &OAEP_SHA1_MGF1SHA1
                    }
                    (crate::keys::DIGEST_SHA256, "http://www.w3.org/2009/xmlenc11#mgf1sha256") => {
                        &OAEP_SHA256_MGF1SHA256
                    }
                    (d, m) => {
                        return Err(Error::Decryption(format!(
                            "OAEP digest {d} with MGF {m} is not supported"
                        )));
                    }
                };
                let k = OaepPrivateDecryptingKey::new(self.key.clone()).map_err(fail)?;
                k.decrypt(params, cipher, &mut out, None).map_err(fail)?.len()
            }
            "http://www.w3.org/2001/04/xmlenc#rsa-1_5" if allow_rsa1_5 => {
                let k = Pkcs1PrivateDecryptingKey::new(self.key.clone()).map_err(fail)?;
                k.decrypt(cipher, &mut out).map_err(fail)?.len()
            }
            other => return Err(Error::AlgorithmNotAllowed(other.to_owned())),
        };
        out.truncate(n);
        Ok(out)
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
