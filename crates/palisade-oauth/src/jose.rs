//! JOSE primitives: JSON Web Keys (RFC 7517), key sets, and compact JWS verification (RFC 7515)
//! for the asymmetric algorithms of RFC 7518 and RFC 8037, through aws-lc-rs.
//!
//! Only asymmetric algorithms exist here: `none` and the HMAC algorithms (`HS256`…) are not
//! representable as an [`Algorithm`], so a token that names them can never reach a verifier, and
//! symmetric (`oct`) keys in a key set are ignored. Public keys are parsed once, when a key set is
//! loaded, so verifying a token costs one signature check.
//!
//! ```
//! use palisade_oauth::jose::{Algorithm, KeySet};
//!
//! let jwks = r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"EC","crv":"P-256","kid":"k1",
//!   "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}"#;
//! let keys = KeySet::from_json(jwks.as_bytes())?;
//! assert_eq!(keys.len(), 1, "the symmetric key is ignored");
//! assert!(keys.summaries()[0].algorithms.contains(&Algorithm::Es256));
//! # Ok::<(), palisade_oauth::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::signature::{self as sig, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result, TokenRejection};

/// An asymmetric JWS algorithm this crate verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[serde(rename = "RS256")]
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    #[serde(rename = "RS384")]
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    #[serde(rename = "RS512")]
    Rs512,
    /// RSASSA-PSS with SHA-256.
    #[serde(rename = "PS256")]
    Ps256,
    /// RSASSA-PSS with SHA-384.
    #[serde(rename = "PS384")]
    Ps384,
    /// RSASSA-PSS with SHA-512.
    #[serde(rename = "PS512")]
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    #[serde(rename = "ES256")]
    Es256,
    /// ECDSA on P-384 with SHA-384.
    #[serde(rename = "ES384")]
    Es384,
    /// ECDSA on P-521 with SHA-512.
    #[serde(rename = "ES512")]
    Es512,
    /// EdDSA on Ed25519 (`EdDSA` or the fully specified `Ed25519`).
    #[serde(rename = "EdDSA", alias = "Ed25519")]
    EdDsa,
}

impl Algorithm {
    /// Every algorithm, strongest families first.
    pub const ALL: [Algorithm; 10] = [
        Algorithm::EdDsa,
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Es512,
        Algorithm::Ps256,
        Algorithm::Ps384,
        Algorithm::Ps512,
        Algorithm::Rs256,
        Algorithm::Rs384,
        Algorithm::Rs512,
    ];

    /// Parses a JOSE `alg` name. `none`, `HS*` and unknown names give `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            "PS256" => Self::Ps256,
            "PS384" => Self::Ps384,
            "PS512" => Self::Ps512,
            "ES256" => Self::Es256,
            "ES384" => Self::Es384,
            "ES512" => Self::Es512,
            "EdDSA" | "Ed25519" => Self::EdDsa,
            _ => return None,
        })
    }

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
            Self::EdDsa => "EdDSA",
        }
    }

    fn is_rsa(self) -> bool {
        matches!(self, Self::Rs256 | Self::Rs384 | Self::Rs512 | Self::Ps256 | Self::Ps384 | Self::Ps512)
    }

    fn rsa_params(self) -> Option<&'static sig::RsaParameters> {
        Some(match self {
            Self::Rs256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            Self::Rs384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            Self::Rs512 => &sig::RSA_PKCS1_2048_8192_SHA512,
            Self::Ps256 => &sig::RSA_PSS_2048_8192_SHA256,
            Self::Ps384 => &sig::RSA_PSS_2048_8192_SHA384,
            Self::Ps512 => &sig::RSA_PSS_2048_8192_SHA512,
            _ => return None,
        })
    }

    /// The digest used for OpenID Connect's `at_hash` and `c_hash` with this algorithm.
    pub(crate) fn hash_digest(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            Self::Rs256 | Self::Ps256 | Self::Es256 => &aws_lc_rs::digest::SHA256,
            Self::Rs384 | Self::Ps384 | Self::Es384 => &aws_lc_rs::digest::SHA384,
            Self::Rs512 | Self::Ps512 | Self::Es512 | Self::EdDsa => &aws_lc_rs::digest::SHA512,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Decodes unpadded, canonical base64url (RFC 7515 §2).
pub(crate) fn b64d(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// Encodes unpadded base64url.
pub(crate) fn b64e(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JSON object whose members are unique (a duplicate member name is an error, not
/// "last one wins", so two parsers cannot disagree about a claim).
#[derive(Debug, Clone, Default)]
pub(crate) struct UniqueObject(pub Map<String, Value>);

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<UniqueObject, A::Error> {
                let mut out = Map::new();
                while let Some(k) = map.next_key::<String>()? {
                    if out.contains_key(&k) {
                        return Err(de::Error::custom(format!("duplicate member {k:?}")));
                    }
                    let v: Value = map.next_value()?;
                    out.insert(k, v);
                }
                Ok(UniqueObject(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A JSON Web Key as published in a provider's key set (public members only).
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct Jwk {
    /// Key type: `RSA`, `EC`, `OKP` (others are ignored).
    pub kty: String,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended use: `sig` or `enc`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// The one algorithm this key is for, if restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Permitted operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// EC / OKP curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate / OKP public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

/// What a key set holds, for display (`palisade oidc discover`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeySummary {
    /// Key id.
    pub kid: Option<String>,
    /// Key type.
    pub kty: String,
    /// Curve (EC/OKP) or modulus size in bits (RSA).
    pub size: String,
    /// Algorithms this key verifies here.
    pub algorithms: Vec<Algorithm>,
}

struct PreparedKey {
    kid: Option<String>,
    kty: String,
    size: String,
    verifiers: Vec<(Algorithm, ParsedPublicKey)>,
}

impl PreparedKey {
    fn verifier(&self, alg: Algorithm) -> Option<&ParsedPublicKey> {
        self.verifiers.iter().find(|(a, _)| *a == alg).map(|(_, k)| k)
    }
}

/// A provider's verification keys, parsed and ready.
#[derive(Default)]
pub struct KeySet {
    keys: Vec<PreparedKey>,
    skipped: Vec<String>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet").field("keys", &self.summaries()).field("skipped", &self.skipped).finish()
    }
}

#[derive(Deserialize)]
struct JwkSetDoc {
    keys: Vec<Value>,
}

/// Where a token's key was looked for, and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyLookup {
    /// No key with this kid: refreshing the key set may help.
    UnknownKid(String),
    /// Settled: this rejection stands whatever the key set.
    Rejected(TokenRejection),
}

impl KeySet {
    /// Parses a JWK Set document (`{"keys":[...]}`). Keys that are not usable signature
    /// verification keys (symmetric, encryption-only, unsupported curve, RSA below 2048 bits,
    /// malformed) are skipped and listed by [`KeySet::skipped`]; a document that is not a JWK Set
    /// is an error. A single JWK object is accepted as a set of one.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| Error::Jwks(format!("not a JWK Set document: {e}")))?;
        // A lone JWK (an object with `kty`) is accepted as a set of one.
        let value = match value {
            Value::Object(o) if o.contains_key("kty") && !o.contains_key("keys") => {
                serde_json::json!({ "keys": [Value::Object(o)] })
            }
            other => other,
        };
        let doc: JwkSetDoc =
            serde_json::from_value(value).map_err(|e| Error::Jwks(format!("not a JWK Set document: {e}")))?;
        let mut set = KeySet::default();
        for (i, raw) in doc.keys.into_iter().enumerate() {
            let parsed: std::result::Result<Jwk, _> = serde_json::from_value(raw);
            match parsed.map_err(|e| e.to_string()).and_then(|jwk| prepare(&jwk).map(|p| (jwk, p))) {
                Ok((_, p)) => set.keys.push(p),
                Err(why) => set.skipped.push(format!("key #{i}: {why}")),
            }
        }
        Ok(set)
    }

    /// Builds a set from keys.
    pub fn from_jwks(jwks: &[Jwk]) -> Result<Self> {
        let mut set = KeySet::default();
        for (i, jwk) in jwks.iter().enumerate() {
            match prepare(jwk) {
                Ok(p) => set.keys.push(p),
                Err(why) => set.skipped.push(format!("key #{i}: {why}")),
            }
        }
        Ok(set)
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Why keys of the document were not loaded.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// Whether a key with this id is present.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// A summary of every usable key.
    pub fn summaries(&self) -> Vec<KeySummary> {
        self.keys
            .iter()
            .map(|k| KeySummary {
                kid: k.kid.clone(),
                kty: k.kty.clone(),
                size: k.size.clone(),
                algorithms: k.verifiers.iter().map(|(a, _)| *a).collect(),
            })
            .collect()
    }

    pub(crate) fn lookup(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> std::result::Result<&ParsedPublicKey, KeyLookup> {
        match kid {
            Some(kid) => {
                let mut found_kid = false;
                for k in self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid)) {
                    found_kid = true;
                    if let Some(v) = k.verifier(alg) {
                        return Ok(v);
                    }
                }
                if found_kid {
                    Err(KeyLookup::Rejected(TokenRejection::KeyAlgorithmMismatch {
                        kid: kid.to_owned(),
                        alg: alg.name().to_owned(),
                    }))
                } else {
                    Err(KeyLookup::UnknownKid(kid.to_owned()))
                }
            }
            None => {
                let candidates: Vec<&ParsedPublicKey> =
                    self.keys.iter().filter_map(|k| k.verifier(alg)).collect();
                match candidates.as_slice() {
                    [one] => Ok(one),
                    _ => Err(KeyLookup::Rejected(TokenRejection::KidMissing {
                        alg: alg.name().to_owned(),
                        candidates: candidates.len(),
                    })),
                }
            }
        }
    }
}

fn field<'a>(v: &'a Option<String>, name: &str) -> std::result::Result<Vec<u8>, String> {
    let s: &'a str = v.as_deref().ok_or_else(|| format!("member {name:?} is missing"))?;
    b64d(s).ok_or_else(|| format!("member {name:?} is not canonical base64url"))
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or_default()
}

fn prepare(jwk: &Jwk) -> std::result::Result<PreparedKey, String> {
    if let Some(u) = &jwk.use_
        && u != "sig"
    {
        return Err(format!("use is {u:?}, not \"sig\""));
    }
    if let Some(ops) = &jwk.key_ops
        && !ops.iter().any(|o| o == "verify")
    {
        return Err("key_ops does not include \"verify\"".to_owned());
    }
    let declared = match &jwk.alg {
        Some(name) => {
            Some(Algorithm::from_name(name).ok_or_else(|| format!("alg {name:?} is not supported"))?)
        }
        None => None,
    };
    let wanted = |family: &[Algorithm]| -> std::result::Result<Vec<Algorithm>, String> {
        match declared {
            Some(a) if family.contains(&a) => Ok(vec![a]),
            Some(a) => Err(format!("alg {a} does not fit kty {:?}", jwk.kty)),
            None => Ok(family.to_vec()),
        }
    };
    let mut verifiers = Vec::new();
    let size;
    match jwk.kty.as_str() {
        "RSA" => {
            let n = field(&jwk.n, "n")?;
            let e = field(&jwk.e, "e")?;
            let n_bits = strip_leading_zeros(&n).len() * 8;
            if n_bits < 2048 {
                return Err(format!("RSA modulus of about {n_bits} bits is below 2048"));
            }
            size = format!("{n_bits} bits");
            let comps = RsaPublicKeyComponents { n: strip_leading_zeros(&n), e: strip_leading_zeros(&e) };
            let family: Vec<Algorithm> = Algorithm::ALL.into_iter().filter(|a| a.is_rsa()).collect();
            for alg in wanted(&family)? {
                let params = alg.rsa_params().ok_or("internal: no RSA parameters")?;
                let key = comps.to_parsed_public_key(params).map_err(|e| format!("RSA key rejected: {e}"))?;
                verifiers.push((alg, key));
            }
        }
        "EC" => {
            let crv = jwk.crv.as_deref().ok_or("member \"crv\" is missing")?;
            let (alg, valg, len): (Algorithm, &'static sig::EcdsaVerificationAlgorithm, usize) = match crv {
                "P-256" => (Algorithm::Es256, &sig::ECDSA_P256_SHA256_FIXED, 32),
                "P-384" => (Algorithm::Es384, &sig::ECDSA_P384_SHA384_FIXED, 48),
                "P-521" => (Algorithm::Es512, &sig::ECDSA_P521_SHA512_FIXED, 66),
                other => return Err(format!("curve {other:?} is not supported")),
            };
            wanted(&[alg])?;
            let x = field(&jwk.x, "x")?;
            let y = field(&jwk.y, "y")?;
            if x.len() != len || y.len() != len {
                return Err(format!("{crv} coordinates must be {len} bytes each"));
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let key = ParsedPublicKey::new(valg, &point).map_err(|e| format!("EC key rejected: {e}"))?;
            size = crv.to_owned();
            verifiers.push((alg, key));
        }
        "OKP" => {
            let crv = jwk.crv.as_deref().ok_or("member \"crv\" is missing")?;
            if crv != "Ed25519" {
                return Err(format!("OKP curve {crv:?} is not supported"));
            }
            wanted(&[Algorithm::EdDsa])?;
            let x = field(&jwk.x, "x")?;
            if x.len() != 32 {
                return Err("Ed25519 public key must be 32 bytes".to_owned());
            }
            let key =
                ParsedPublicKey::new(&sig::ED25519, &x).map_err(|e| format!("Ed25519 key rejected: {e}"))?;
            size = crv.to_owned();
            verifiers.push((Algorithm::EdDsa, key));
        }
        "oct" => return Err("symmetric keys are never used to verify ID tokens".to_owned()),
        other => return Err(format!("kty {other:?} is not supported")),
    }
    Ok(PreparedKey { kid: jwk.kid.clone(), kty: jwk.kty.clone(), size, verifiers })
}

/// The protected header of a compact JWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwsHeader {
    /// The algorithm.
    pub alg: Algorithm,
    /// The key id, if any.
    pub kid: Option<String>,
    /// The `typ`, if any.
    pub typ: Option<String>,
}

/// A compact JWS split and decoded, signature not yet checked.
#[derive(Debug)]
pub(crate) struct Compact<'a> {
    pub header: JwsHeader,
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
    pub payload: Map<String, Value>,
}

/// Splits and decodes a compact JWS, applying the header rules (allowed algorithms, no `crit`).
pub(crate) fn parse_compact<'a>(
    token: &'a str,
    allowed: &[Algorithm],
    max_len: usize,
) -> std::result::Result<Compact<'a>, TokenRejection> {
    if token.len() > max_len {
        return Err(TokenRejection::TooLarge { len: token.len(), max: max_len });
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenRejection::Malformed(
            "expected three dot-separated parts (a JWE or JSON serialization is not an ID token here)"
                .to_owned(),
        ));
    };
    let signing_input =
        token.get(..h.len() + 1 + p.len()).ok_or_else(|| TokenRejection::Malformed("split".into()))?;
    let header_bytes =
        b64d(h).ok_or_else(|| TokenRejection::Malformed("header is not base64url".to_owned()))?;
    let header: UniqueObject = serde_json::from_slice(&header_bytes)
        .map_err(|e| TokenRejection::Malformed(format!("header is not a JSON object: {e}")))?;
    let header = header.0;
    let alg_name = header.get("alg").and_then(Value::as_str).ok_or(TokenRejection::MissingClaim("alg"))?;
    let alg = Algorithm::from_name(alg_name)
        .filter(|a| allowed.contains(a))
        .ok_or_else(|| TokenRejection::AlgorithmNotAllowed(alg_name.to_owned()))?;
    if let Some(crit) = header.get("crit") {
        let names = crit
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap_or("?").to_owned()).collect())
            .unwrap_or_else(|| vec![crit.to_string()]);
        return Err(TokenRejection::CriticalHeader(names));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(TokenRejection::Malformed("kid is not a string".to_owned())),
    };
    let typ = match header.get("typ") {
        None => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return Err(TokenRejection::Malformed("typ is not a string".to_owned())),
    };
    let signature =
        b64d(s).ok_or_else(|| TokenRejection::Malformed("signature is not base64url".to_owned()))?;
    let payload_bytes =
        b64d(p).ok_or_else(|| TokenRejection::Malformed("payload is not base64url".to_owned()))?;
    let payload: UniqueObject = serde_json::from_slice(&payload_bytes)
        .map_err(|e| TokenRejection::Malformed(format!("payload is not a JSON object: {e}")))?;
    Ok(Compact { header: JwsHeader { alg, kid, typ }, signing_input, signature, payload: payload.0 })
}

/// Checks the signature of `compact` with `key`.
pub(crate) fn verify_signature(
    compact: &Compact<'_>,
    key: &ParsedPublicKey,
) -> std::result::Result<(), TokenRejection> {
    key.verify_sig(compact.signing_input.as_bytes(), &compact.signature)
        .map_err(|_| TokenRejection::BadSignature)
}

/// Claims of a token, for display: every member as given.
pub type Claims = BTreeMap<String, Value>;
