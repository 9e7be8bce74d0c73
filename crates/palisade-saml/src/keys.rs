//! Certificates that are trusted to sign, keys that sign, and the algorithm allow-list.
//!
//! Trust comes only from configured certificates ([`TrustedCert`], several at once for rollover).
//! A certificate found in a message's `KeyInfo` is never trusted by itself.

use aws_lc_rs::rand::SystemRandom;
use std::sync::{Arc, OnceLock};

use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, ParsedPublicKey, RsaKeyPair};
use base64::Engine;
use palisade_core::SecretBytes;
use serde::Deserialize;
use x509_cert::der::Decode;

use crate::error::{Error, Result};

/// `rsa-sha1` (legacy; only with the per-IdP SHA-1 opt-in).
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
/// `rsa-sha256`.
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// `rsa-sha384`.
pub const RSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
/// `rsa-sha512`.
pub const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
/// `ecdsa-sha256`.
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
/// `ecdsa-sha384`.
pub const ECDSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";
/// `ecdsa-sha512`.
pub const ECDSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512";
/// SHA-1 digest (legacy).
pub const DIGEST_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
/// SHA-256 digest.
pub const DIGEST_SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
/// SHA-384 digest.
pub const DIGEST_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#sha384";
/// SHA-512 digest.
pub const DIGEST_SHA512: &str = "http://www.w3.org/2001/04/xmlenc#sha512";

/// Which algorithms a verifier accepts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlgorithmPolicy {
    /// Accept `rsa-sha1` and the SHA-1 digest (default false).
    pub allow_sha1: bool,
    /// Accept RSA keys below 2048 bits, down to 1024 (default false).
    pub allow_weak_rsa_keys: bool,
}

/// A digest algorithm of the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Digest {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Digest {
    pub(crate) fn from_uri(uri: &str, policy: &AlgorithmPolicy) -> Result<Self> {
        match uri {
            DIGEST_SHA256 => Ok(Digest::Sha256),
            DIGEST_SHA384 => Ok(Digest::Sha384),
            DIGEST_SHA512 => Ok(Digest::Sha512),
            DIGEST_SHA1 if policy.allow_sha1 => Ok(Digest::Sha1),
            other => Err(Error::AlgorithmNotAllowed(other.to_owned())),
        }
    }

    pub(crate) fn algorithm(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            Digest::Sha1 => &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            Digest::Sha256 => &aws_lc_rs::digest::SHA256,
            Digest::Sha384 => &aws_lc_rs::digest::SHA384,
            Digest::Sha512 => &aws_lc_rs::digest::SHA512,
        }
    }

    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        aws_lc_rs::digest::digest(self.algorithm(), data).as_ref().to_vec()
    }
}

/// A signature algorithm of the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// RSA PKCS#1 v1.5 with SHA-1 (legacy, opt-in only).
    RsaSha1,
    /// RSA PKCS#1 v1.5 with SHA-256.
    RsaSha256,
    /// RSA PKCS#1 v1.5 with SHA-384.
    RsaSha384,
    /// RSA PKCS#1 v1.5 with SHA-512.
    RsaSha512,
    /// ECDSA with SHA-256.
    EcdsaSha256,
    /// ECDSA with SHA-384.
    EcdsaSha384,
    /// ECDSA with SHA-512.
    EcdsaSha512,
}

impl SignatureAlgorithm {
    /// From an XML-DSig algorithm URI, checked against `policy`.
    pub fn from_uri(uri: &str, policy: &AlgorithmPolicy) -> Result<Self> {
        Ok(match uri {
            RSA_SHA256 => Self::RsaSha256,
            RSA_SHA384 => Self::RsaSha384,
            RSA_SHA512 => Self::RsaSha512,
            ECDSA_SHA256 => Self::EcdsaSha256,
            ECDSA_SHA384 => Self::EcdsaSha384,
            ECDSA_SHA512 => Self::EcdsaSha512,
            RSA_SHA1 if policy.allow_sha1 => Self::RsaSha1,
            other => return Err(Error::AlgorithmNotAllowed(other.to_owned())),
        })
    }

    /// The XML-DSig URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::RsaSha1 => RSA_SHA1,
            Self::RsaSha256 => RSA_SHA256,
            Self::RsaSha384 => RSA_SHA384,
            Self::RsaSha512 => RSA_SHA512,
            Self::EcdsaSha256 => ECDSA_SHA256,
            Self::EcdsaSha384 => ECDSA_SHA384,
            Self::EcdsaSha512 => ECDSA_SHA512,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PublicKeyKind {
    Rsa { bits: usize },
    Ec { curve: EcCurve },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EcCurve {
    P256,
    P384,
    P521,
}

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";

/// Number of distinct verification algorithms a key can be used with (see [`verification_params`]).
const PARAM_SLOTS: usize = 7;

/// A certificate configured as trusted to sign for an IdP (or, in the other direction, the SP).
///
/// The public key is parsed into the crypto backend's key object once, when the certificate is
/// configured (for the key's usual algorithm; other allowed algorithms on first use), and the
/// parsed objects are shared by clones — a verification never re-parses the key.
#[derive(Clone)]
pub struct TrustedCert {
    der: Vec<u8>,
    /// The subjectPublicKey bits (PKCS#1 RSAPublicKey or an EC point).
    public_key: Vec<u8>,
    kind: PublicKeyKind,
    subject: String,
    /// Parsed keys, one slot per verification algorithm; `None` when the backend refused the key.
    parsed: Arc<[OnceLock<Option<ParsedPublicKey>>; PARAM_SLOTS]>,
}

impl PartialEq for TrustedCert {
    fn eq(&self, other: &Self) -> bool {
        // Everything else is derived from the DER.
        self.der == other.der
    }
}

impl Eq for TrustedCert {}

/// The backend algorithm for `kind` verifying `alg`, and its cache slot. Key-size policy is
/// checked by the caller.
fn verification_params(
    kind: &PublicKeyKind,
    alg: SignatureAlgorithm,
) -> Result<(usize, &'static dyn signature::VerificationAlgorithm)> {
    Ok(match (kind, alg) {
        (PublicKeyKind::Rsa { bits }, a) => {
            let weak = *bits < 2048;
            match (a, weak) {
                (SignatureAlgorithm::RsaSha1, true) => {
                    (0, &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY)
                }
                (SignatureAlgorithm::RsaSha1, false) => {
                    (1, &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY)
                }
                (SignatureAlgorithm::RsaSha256, true) => {
                    (2, &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY)
                }
                (SignatureAlgorithm::RsaSha256, false) => (3, &signature::RSA_PKCS1_2048_8192_SHA256),
                (SignatureAlgorithm::RsaSha384, _) => (4, &signature::RSA_PKCS1_2048_8192_SHA384),
                (SignatureAlgorithm::RsaSha512, true) => {
                    (5, &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY)
                }
                (SignatureAlgorithm::RsaSha512, false) => (6, &signature::RSA_PKCS1_2048_8192_SHA512),
                _ => return Err(Error::Key("an RSA key cannot verify an ECDSA signature".into())),
            }
        }
        (PublicKeyKind::Ec { curve }, a) => match (curve, a) {
            (EcCurve::P256, SignatureAlgorithm::EcdsaSha256) => (0, &signature::ECDSA_P256_SHA256_FIXED),
            (EcCurve::P384, SignatureAlgorithm::EcdsaSha384) => (0, &signature::ECDSA_P384_SHA384_FIXED),
            (EcCurve::P521, SignatureAlgorithm::EcdsaSha512) => (0, &signature::ECDSA_P521_SHA512_FIXED),
            _ => return Err(Error::Key("EC key and signature algorithm do not match".into())),
        },
    })
}

impl std::fmt::Debug for TrustedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedCert").field("subject", &self.subject).field("kind", &self.kind).finish()
    }
}

impl TrustedCert {
    /// From DER bytes.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|e| Error::Key(format!("certificate not parseable: {e}")))?;
        let spki = &cert.tbs_certificate.subject_public_key_info;
        let public_key = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| Error::Key("certificate public key has unused bits".into()))?
            .to_vec();
        let oid = spki.algorithm.oid.to_string();
        let kind = match oid.as_str() {
            OID_RSA => PublicKeyKind::Rsa { bits: rsa_modulus_bits(&public_key)? },
            OID_EC => {
                let curve_oid = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<x509_cert::der::asn1::ObjectIdentifier>().ok())
                    .map(|o| o.to_string())
                    .unwrap_or_default();
                let curve = match curve_oid.as_str() {
                    OID_P256 => EcCurve::P256,
                    OID_P384 => EcCurve::P384,
                    OID_P521 => EcCurve::P521,
                    other => return Err(Error::Key(format!("unsupported EC curve {other}"))),
                };
                PublicKeyKind::Ec { curve }
            }
            other => return Err(Error::Key(format!("unsupported public key algorithm {other}"))),
        };
        let this = Self {
            der: der.to_vec(),
            public_key,
            kind,
            subject: cert.tbs_certificate.subject.to_string(),
            parsed: Arc::new(std::array::from_fn(|_| OnceLock::new())),
        };
        // Parse the key for its usual algorithm now, at configuration time.
        let usual = match this.kind {
            PublicKeyKind::Rsa { .. } => SignatureAlgorithm::RsaSha256,
            PublicKeyKind::Ec { curve: EcCurve::P256 } => SignatureAlgorithm::EcdsaSha256,
            PublicKeyKind::Ec { curve: EcCurve::P384 } => SignatureAlgorithm::EcdsaSha384,
            PublicKeyKind::Ec { curve: EcCurve::P521 } => SignatureAlgorithm::EcdsaSha512,
        };
        if let Ok((slot, params)) = verification_params(&this.kind, usual) {
            this.parsed_key(slot, params);
        }
        Ok(this)
    }

    /// The backend key object for `params` (parsed on first use, then cached).
    fn parsed_key(
        &self,
        slot: usize,
        params: &'static dyn signature::VerificationAlgorithm,
    ) -> Option<&ParsedPublicKey> {
        self.parsed.get(slot)?.get_or_init(|| ParsedPublicKey::new(params, &self.public_key).ok()).as_ref()
    }

    /// From PEM text (the first `CERTIFICATE` block) or bare base64 (as in metadata).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let der = pem_decode(pem, "CERTIFICATE").or_else(|_| b64_decode_ws(pem))?;
        Self::from_der(&der)
    }

    /// From the base64 text of a `ds:X509Certificate` element.
    pub fn from_base64(b64: &str) -> Result<Self> {
        if b64.contains("-----BEGIN") {
            return Self::from_pem(b64);
        }
        let der = b64_decode_ws(b64)?;
        // Some metadata publishers base64-encode a whole PEM file; accept that double encoding.
        if der.starts_with(b"-----BEGIN CERTIFICATE-----") {
            let pem =
                std::str::from_utf8(&der).map_err(|_| Error::Key("certificate PEM is not UTF-8".into()))?;
            return Self::from_pem(pem);
        }
        Self::from_der(&der)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Base64 of the DER (for metadata and KeyInfo).
    pub fn base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.der)
    }

    /// The subject DN (for messages).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// RSA modulus size, if RSA.
    pub fn rsa_bits(&self) -> Option<usize> {
        match self.kind {
            PublicKeyKind::Rsa { bits } => Some(bits),
            PublicKeyKind::Ec { .. } => None,
        }
    }

    /// Verifies `sig` over `msg` with `alg`, enforcing the key-size policy.
    pub fn verify(
        &self,
        alg: SignatureAlgorithm,
        msg: &[u8],
        sig: &[u8],
        policy: &AlgorithmPolicy,
    ) -> Result<()> {
        match &self.kind {
            PublicKeyKind::Rsa { bits } if *bits < 1024 => return Err(Error::WeakKey { bits: *bits }),
            PublicKeyKind::Rsa { bits } if *bits < 2048 && !policy.allow_weak_rsa_keys => {
                return Err(Error::WeakKey { bits: *bits });
            }
            _ => {}
        }
        let (slot, params) = verification_params(&self.kind, alg)?;
        let key = self.parsed_key(slot, params).ok_or(Error::BadSignature)?;
        key.verify_sig(msg, sig).map_err(|_| Error::BadSignature)
    }
}

enum KeyInner {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair, SignatureAlgorithm),
}

/// A private key that signs SP messages (AuthnRequest, LogoutRequest/Response, metadata), with its
/// certificate.
pub struct SigningKey {
    inner: KeyInner,
    cert: Option<TrustedCert>,
    pkcs8: SecretBytes,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// From a PKCS#8 DER private key (RSA ≥ 2048 bits, or ECDSA P-256/P-384).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let inner = if let Ok(k) = RsaKeyPair::from_pkcs8(der) {
            KeyInner::Rsa(k)
        } else if let Ok(k) = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der) {
            KeyInner::Ec(k, SignatureAlgorithm::EcdsaSha256)
        } else if let Ok(k) = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, der) {
            KeyInner::Ec(k, SignatureAlgorithm::EcdsaSha384)
        } else {
            return Err(Error::Key(
                "private key is not a PKCS#8 RSA (2048-8192 bit) or ECDSA P-256/P-384 key".into(),
            ));
        };
        Ok(Self { inner, cert: None, pkcs8: SecretBytes::from_slice(der) })
    }

    /// From PEM (`PRIVATE KEY`, PKCS#8).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let der = pem_decode(pem, "PRIVATE KEY")?;
        Self::from_pkcs8_der(&der)
    }

    /// Generates a throw-away RSA-2048 key (tests, the tour's built-in IdP).
    pub fn generate_rsa_2048() -> Result<Self> {
        let k = aws_lc_rs::rsa::KeySize::Rsa2048;
        let pair = RsaKeyPair::generate(k).map_err(|e| Error::Key(e.to_string()))?;
        let der = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
            .map_err(|e| Error::Key(e.to_string()))?;
        Self::from_pkcs8_der(der.as_ref())
    }

    /// Generates a throw-away ECDSA P-256 key.
    pub fn generate_p256() -> Result<Self> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|e| Error::Key(e.to_string()))?;
        Self::from_pkcs8_der(doc.as_ref())
    }

    /// Attaches the certificate to publish in KeyInfo and metadata.
    pub fn with_certificate(mut self, cert: TrustedCert) -> Self {
        self.cert = Some(cert);
        self
    }

    /// The attached certificate.
    pub fn certificate(&self) -> Option<&TrustedCert> {
        self.cert.as_ref()
    }

    /// The PKCS#8 DER (secret).
    pub fn pkcs8(&self) -> &SecretBytes {
        &self.pkcs8
    }

    /// The signature algorithm this key uses.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        match &self.inner {
            KeyInner::Rsa(_) => SignatureAlgorithm::RsaSha256,
            KeyInner::Ec(_, a) => *a,
        }
    }

    /// The digest used with this key's algorithm.
    pub(crate) fn digest(&self) -> (Digest, &'static str) {
        match self.algorithm() {
            SignatureAlgorithm::EcdsaSha384 => (Digest::Sha384, DIGEST_SHA384),
            _ => (Digest::Sha256, DIGEST_SHA256),
        }
    }

    /// The public key bytes (PKCS#1 for RSA, the point for EC).
    pub fn public_key_bytes(&self) -> Vec<u8> {
        match &self.inner {
            KeyInner::Rsa(k) => k.public_key().as_ref().to_vec(),
            KeyInner::Ec(k, _) => k.public_key().as_ref().to_vec(),
        }
    }

    /// Signs `msg`.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        let rng = SystemRandom::new();
        match &self.inner {
            KeyInner::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .map_err(|e| Error::Key(e.to_string()))?;
                Ok(sig)
            }
            KeyInner::Ec(k, _) => {
                Ok(k.sign(&rng, msg).map_err(|e| Error::Key(e.to_string()))?.as_ref().to_vec())
            }
        }
    }
}

/// Reads one DER tag-length header; returns (tag, content, rest).
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, r) = rest.split_at_checked(n)?;
        rest = r;
        bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let (content, rest) = rest.split_at_checked(len)?;
    Some((tag, content, rest))
}

/// Size in bits of the modulus of a PKCS#1 `RSAPublicKey`.
fn rsa_modulus_bits(pkcs1: &[u8]) -> Result<usize> {
    let bad = || Error::Key("RSA public key is not a valid PKCS#1 RSAPublicKey".into());
    let (tag, seq, _) = der_tlv(pkcs1).ok_or_else(bad)?;
    let (itag, modulus, _) = der_tlv(seq).ok_or_else(bad)?;
    if tag != 0x30 || itag != 0x02 {
        return Err(bad());
    }
    let m: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(i) => modulus.get(i..).ok_or_else(bad)?,
        None => return Err(bad()),
    };
    let lead = m.first().map_or(0, |b| 8 - b.leading_zeros() as usize);
    Ok((m.len() - 1) * 8 + lead)
}

/// Decodes base64 ignoring whitespace.
pub(crate) fn b64_decode_ws(s: &str) -> Result<Vec<u8>> {
    let engine = base64::engine::general_purpose::STANDARD;
    let decoded = if s.bytes().any(|b| b.is_ascii_whitespace()) {
        let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        engine.decode(&clean)
    } else {
        engine.decode(s.as_bytes())
    };
    decoded.map_err(|e| Error::Encoding(format!("base64: {e}")))
}

/// The DER of the first PEM block with `label`.
pub fn pem_decode(pem: &str, label: &str) -> Result<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).ok_or_else(|| Error::Key(format!("no PEM block {label:?} found")))?;
    let body = pem.get(start + begin.len()..).unwrap_or_default();
    let stop = body.find(&end).ok_or_else(|| Error::Key(format!("PEM block {label:?} not terminated")))?;
    b64_decode_ws(body.get(..stop).unwrap_or_default())
}
