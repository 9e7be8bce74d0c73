//! Signed checkpoints: an Ed25519 signature over a tenant's chain head and entry count.
//!
//! A checkpoint line is the canonical JSON of
//! `{"v":1,"checkpoint":{"tenant":T,"seq":N,"head":"<hex>","ts":"<RFC 3339>","key_id":"<hex>"},"sig":"<base64>"}`.
//! The signature is Ed25519 (RFC 8032) over the bytes `palisade-audit-checkpoint-v1\n` followed
//! by the canonical JSON (RFC 8785) of the `checkpoint` member as stored. `key_id` is the first 8
//! bytes of SHA-256 of the raw 32-byte public key, in hex; it only picks the key, it is not
//! trusted.
//!
//! Ed25519 is computed by `aws-lc-rs`, the workspace's crypto backend (also behind rustls), so
//! the whole workspace has one audited, FIPS-capable implementation rather than two.

use std::fmt;

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use palisade_core::TenantId;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::chain::{ChainHead, Digest, FORMAT_VERSION};
use crate::error::{Error, Result};
use crate::jcs;

/// The domain-separation prefix of every checkpoint signature.
pub const SIGNATURE_CONTEXT: &[u8] = b"palisade-audit-checkpoint-v1\n";

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), followed by the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// What signs checkpoints. [`Ed25519Signer`] holds a key in memory; a host with an HSM or KMS
/// implements this trait over it.
pub trait CheckpointSigner: Send + Sync + fmt::Debug {
    /// The raw 32-byte Ed25519 public key.
    fn public_key(&self) -> [u8; 32];
    /// An Ed25519 signature over `message`.
    fn sign(&self, message: &[u8]) -> Result<[u8; 64]>;
}

/// An Ed25519 key pair held in memory (by aws-lc-rs, which zeroizes it on drop).
pub struct Ed25519Signer {
    pair: Ed25519KeyPair,
}

impl fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519Signer(key_id={})", key_id(&self.public_key()))
    }
}

impl Ed25519Signer {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Result<Self> {
        let seed = palisade_core::SecretArray::<32>::random()?;
        Self::from_seed(seed.expose_secret())
    }

    /// From a 32-byte RFC 8032 seed.
    pub fn from_seed(seed: &[u8]) -> Result<Self> {
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(|pair| Self { pair })
            .map_err(|_| Error::Key("an Ed25519 seed is exactly 32 bytes".into()))
    }

    /// From a private key file's content: PKCS#8 PEM (`openssl genpkey -algorithm ed25519`),
    /// PKCS#8 DER, or the 32-byte seed in hex or base64.
    pub fn from_private_key(data: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(data).ok().map(str::trim);
        if let Some(der) = text.and_then(|t| pem_body(t, "PRIVATE KEY")) {
            return Self::from_pkcs8(&der);
        }
        if let Some(seed) = text.and_then(decode_text).filter(|b| b.len() == 32) {
            return Self::from_seed(&seed);
        }
        if data.len() == 32 {
            return Self::from_seed(data);
        }
        Self::from_pkcs8(data)
    }

    fn from_pkcs8(der: &[u8]) -> Result<Self> {
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map(|pair| Self { pair }).map_err(|_| {
            Error::Key(
                "not an Ed25519 private key (expected PKCS#8 PEM/DER or a 32-byte seed in hex/base64)".into(),
            )
        })
    }

    /// The private key as PKCS#8 v1 PEM, for saving to a file only the writer can read.
    pub fn to_pkcs8_pem(&self) -> Result<palisade_core::SecretString> {
        let doc = self.pair.to_pkcs8v1().map_err(|_| Error::Key("cannot encode the key".into()))?;
        Ok(palisade_core::SecretString::new(pem("PRIVATE KEY", doc.as_ref())))
    }

    /// The public key, for verifiers.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.public_key())
    }
}

impl CheckpointSigner for Ed25519Signer {
    fn public_key(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.pair.public_key().as_ref());
        out
    }
    fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        let sig = self.pair.sign(message);
        let mut out = [0u8; 64];
        if sig.as_ref().len() != 64 {
            return Err(Error::Key("unexpected Ed25519 signature length".into()));
        }
        out.copy_from_slice(sig.as_ref());
        Ok(out)
    }
}

/// An Ed25519 public key that checkpoints are verified against.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(pub [u8; 32]);

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", self.key_id())
    }
}

impl VerifyingKey {
    /// Parses a public key: SubjectPublicKeyInfo PEM (`openssl pkey -pubout`), SPKI DER, or the
    /// raw 32 bytes in hex or base64.
    pub fn parse(data: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(data).ok().map(str::trim);
        if text.is_some_and(|t| t.contains("PRIVATE KEY")) {
            return Err(Error::Key(
                "this is a private key; give the public key (`openssl pkey -pubout`)".into(),
            ));
        }
        let bytes = text
            .and_then(|t| pem_body(t, "PUBLIC KEY"))
            .or_else(|| text.and_then(decode_text))
            .unwrap_or_else(|| data.to_vec());
        match bytes.len() {
            32 => Ok(Self(bytes.try_into().map_err(|_| Error::Key("bad length".into()))?)),
            44 if bytes.starts_with(&SPKI_PREFIX) => {
                let mut k = [0u8; 32];
                k.copy_from_slice(bytes.get(12..).unwrap_or_default());
                Ok(Self(k))
            }
            _ => Err(Error::Key(
                "not an Ed25519 public key (expected SPKI PEM/DER or 32 raw bytes in hex/base64)".into(),
            )),
        }
    }

    /// The key id written in checkpoints.
    pub fn key_id(&self) -> String {
        key_id(&self.0)
    }

    /// SubjectPublicKeyInfo PEM.
    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.0);
        pem("PUBLIC KEY", &der)
    }

    /// Whether `sig` is this key's signature over `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.0).verify(message, sig).is_ok()
    }
}

/// The key id of a raw public key: hex of the first 8 bytes of its SHA-256.
pub fn key_id(public_key: &[u8; 32]) -> String {
    let d = Sha256::digest(public_key);
    hex::encode(d.get(..8).unwrap_or_default())
}

/// What a checkpoint asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The tenant whose chain it covers.
    pub tenant: TenantId,
    /// The chain head it commits to.
    pub head: ChainHead,
    /// When it was made.
    pub ts: OffsetDateTime,
    /// Which key signed it.
    pub key_id: String,
}

/// A checkpoint with its signature, as stored.
#[derive(Debug, Clone)]
pub struct SignedCheckpoint {
    /// The tenant, as written.
    pub tenant: String,
    /// `seq` as written.
    pub seq: u64,
    /// `head` as written.
    pub head: Digest,
    /// `key_id` as written.
    pub key_id: String,
    /// `ts` as written.
    pub ts: String,
    /// The signature.
    pub sig: Vec<u8>,
    /// The exact signed message (context + canonical checkpoint member).
    message: Vec<u8>,
}

impl SignedCheckpoint {
    /// Signs `checkpoint` and returns the record with its line (canonical JSON + `\n`).
    pub fn sign(
        signer: &dyn CheckpointSigner,
        tenant: &TenantId,
        head: ChainHead,
        ts: OffsetDateTime,
    ) -> Result<(Self, Vec<u8>)> {
        let ts = ts
            .to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| Error::invalid("checkpoint time", e.to_string()))?;
        let kid = key_id(&signer.public_key());
        let mut cp = Map::new();
        cp.insert("tenant".into(), Value::String(tenant.as_str().to_owned()));
        cp.insert("seq".into(), Value::from(head.seq));
        cp.insert("head".into(), Value::String(head.hash.to_hex()));
        cp.insert("ts".into(), Value::String(ts.clone()));
        cp.insert("key_id".into(), Value::String(kid.clone()));
        let cp = Value::Object(cp);
        let mut message = SIGNATURE_CONTEXT.to_vec();
        jcs::write(&cp, &mut message);
        let sig = signer.sign(&message)?;
        let mut line_obj = Map::new();
        line_obj.insert("v".into(), Value::from(FORMAT_VERSION));
        line_obj.insert("checkpoint".into(), cp);
        line_obj.insert("sig".into(), Value::String(STANDARD.encode(sig)));
        let mut line = jcs::to_vec(&Value::Object(line_obj));
        line.push(b'\n');
        Ok((
            Self {
                tenant: tenant.as_str().to_owned(),
                seq: head.seq,
                head: head.hash,
                key_id: kid,
                ts,
                sig: sig.to_vec(),
                message,
            },
            line,
        ))
    }

    /// Reads a parsed checkpoint line.
    pub(crate) fn from_value(value: &Value) -> std::result::Result<Self, String> {
        let cp =
            value.get("checkpoint").filter(|c| c.is_object()).ok_or("\"checkpoint\" is not an object")?;
        let text = |k: &str| {
            cp.get(k).and_then(Value::as_str).map(str::to_owned).ok_or(format!("checkpoint has no {k:?}"))
        };
        let tenant = text("tenant")?;
        let seq = cp.get("seq").and_then(Value::as_u64).ok_or("checkpoint has no valid \"seq\"")?;
        let head = Digest::from_hex(&text("head")?).ok_or("checkpoint \"head\" is not 64 hex digits")?;
        let sig = value.get("sig").and_then(Value::as_str).ok_or("checkpoint line has no \"sig\"")?;
        let sig = STANDARD
            .decode(sig)
            .or_else(|_| URL_SAFE_NO_PAD.decode(sig.trim_end_matches('=')))
            .map_err(|_| "checkpoint \"sig\" is not base64")?;
        let mut message = SIGNATURE_CONTEXT.to_vec();
        jcs::write(cp, &mut message);
        Ok(Self {
            tenant,
            seq,
            head,
            key_id: text("key_id").unwrap_or_default(),
            ts: text("ts").unwrap_or_default(),
            sig,
            message,
        })
    }

    /// Whether one of `keys` signed this checkpoint.
    pub fn verify(&self, keys: &[VerifyingKey]) -> bool {
        keys.iter().any(|k| k.verify(&self.message, &self.sig))
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn pem_body(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = text.get(start..)?.find(&end)? + start;
    let body: String = text.get(start..stop)?.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(body).ok()
}

fn decode_text(t: &str) -> Option<Vec<u8>> {
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hex::decode(t).ok();
    }
    STANDARD.decode(t).ok().or_else(|| URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')).ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::chain::{Record, parse_line};
    use time::macros::datetime;

    #[test]
    fn rfc8032_test_vector_1() {
        // RFC 8032 §7.1, TEST 1: empty message.
        let seed = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
        let signer = Ed25519Signer::from_seed(&seed).unwrap();
        assert_eq!(
            hex::encode(signer.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = signer.sign(b"").unwrap();
        assert_eq!(
            hex::encode(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }

    #[test]
    fn sign_parse_verify_and_tamper() {
        let signer = Ed25519Signer::generate().unwrap();
        let head = ChainHead { seq: 7, hash: Digest([9; 32]) };
        let (_, line) =
            SignedCheckpoint::sign(&signer, &"acme".parse().unwrap(), head, datetime!(2026-01-01 0:00 UTC))
                .unwrap();
        let Record::Checkpoint(cp) = parse_line(line.trim_ascii_end()).unwrap() else { panic!() };
        assert_eq!(cp.seq, 7);
        assert!(cp.verify(&[signer.verifying_key()]));
        assert!(!cp.verify(&[Ed25519Signer::generate().unwrap().verifying_key()]));
        let forged = String::from_utf8(line).unwrap().replace("\"seq\":7", "\"seq\":6");
        let Record::Checkpoint(cp) = parse_line(forged.trim_end().as_bytes()).unwrap() else { panic!() };
        assert!(!cp.verify(&[signer.verifying_key()]));
    }

    #[test]
    fn key_formats() {
        let signer = Ed25519Signer::generate().unwrap();
        let vk = signer.verifying_key();
        assert_eq!(VerifyingKey::parse(vk.to_pem().as_bytes()).unwrap(), vk);
        assert_eq!(VerifyingKey::parse(hex::encode(vk.0).as_bytes()).unwrap(), vk);
        assert_eq!(VerifyingKey::parse(STANDARD.encode(vk.0).as_bytes()).unwrap(), vk);
        let pem = signer.to_pkcs8_pem().unwrap();
        let again = Ed25519Signer::from_private_key(pem.expose_secret().as_bytes()).unwrap();
        assert_eq!(again.public_key(), signer.public_key());
        assert!(VerifyingKey::parse(pem.expose_secret().as_bytes()).is_err());
        // An OpenSSL-generated key (`openssl genpkey -algorithm ed25519`), RFC 8410 §10.3.
        let openssl = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
        let k = Ed25519Signer::from_private_key(openssl.as_bytes()).unwrap();
        let spki = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
        assert_eq!(VerifyingKey::parse(spki.as_bytes()).unwrap().0, k.public_key());
    }
}
