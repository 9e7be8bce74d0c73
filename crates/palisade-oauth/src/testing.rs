//! [`TestIssuer`]: a local token signer standing in for an OpenID Provider in tests, examples and
//! benches. It is not an OpenID Provider (no endpoints); production code never needs it.
//!
//! ```
//! use palisade_oauth::testing::TestIssuer;
//! let op = TestIssuer::rs256("https://op.example")?;
//! let jwks = op.jwks_json();
//! assert!(jwks.contains("\"kty\":\"RSA\""));
//! # Ok::<(), palisade_oauth::Error>(())
//! ```

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::jose::{Algorithm, Jwk, KeySet, b64e};

enum Signer {
    Rsa(Box<aws_lc_rs::rsa::KeyPair>),
    Ec(Box<EcdsaKeyPair>),
    Ed(Box<Ed25519KeyPair>),
}

/// A signing key with its key id and public JWK, for tests.
pub struct TestIssuer {
    issuer: String,
    kid: String,
    alg: Algorithm,
    signer: Signer,
    jwk: Jwk,
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

fn keygen_failed(_: impl std::fmt::Debug) -> Error {
    Error::Jwks("key generation failed".to_owned())
}

impl TestIssuer {
    /// An issuer signing with a fresh RSA 2048-bit key (RS256).
    pub fn rs256(issuer: &str) -> Result<Self> {
        Self::rsa(issuer, Algorithm::Rs256)
    }

    /// An issuer signing with a fresh RSA 2048-bit key and an RSA algorithm (`RS*` or `PS*`).
    pub fn rsa(issuer: &str, alg: Algorithm) -> Result<Self> {
        let kp = aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048).map_err(keygen_failed)?;
        let pk = kp.public_key();
        let jwk = Jwk {
            kty: "RSA".into(),
            n: Some(b64e(pk.modulus().big_endian_without_leading_zero())),
            e: Some(b64e(pk.exponent().big_endian_without_leading_zero())),
            ..Default::default()
        };
        Ok(Self::finish(issuer, alg, Signer::Rsa(Box::new(kp)), jwk))
    }

    /// An issuer signing with a fresh P-256 key (ES256).
    pub fn es256(issuer: &str) -> Result<Self> {
        let kp = EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_FIXED_SIGNING).map_err(keygen_failed)?;
        let point = kp.public_key().as_ref().to_vec();
        let x = point.get(1..33).ok_or_else(|| keygen_failed(()))?;
        let y = point.get(33..65).ok_or_else(|| keygen_failed(()))?;
        let jwk = Jwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some(b64e(x)),
            y: Some(b64e(y)),
            ..Default::default()
        };
        Ok(Self::finish(issuer, Algorithm::Es256, Signer::Ec(Box::new(kp)), jwk))
    }

    /// An issuer signing with a fresh Ed25519 key (EdDSA).
    pub fn eddsa(issuer: &str) -> Result<Self> {
        let kp = Ed25519KeyPair::generate().map_err(keygen_failed)?;
        let jwk = Jwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            x: Some(b64e(kp.public_key().as_ref())),
            ..Default::default()
        };
        Ok(Self::finish(issuer, Algorithm::EdDsa, Signer::Ed(Box::new(kp)), jwk))
    }

    fn finish(issuer: &str, alg: Algorithm, signer: Signer, mut jwk: Jwk) -> Self {
        let kid = b64e(&crate::pkce::random_bytes::<9>().unwrap_or([7; 9]));
        jwk.kid = Some(kid.clone());
        jwk.use_ = Some("sig".into());
        jwk.alg = Some(alg.name().into());
        TestIssuer { issuer: issuer.to_owned(), kid, alg, signer, jwk }
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK.
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The public key set (`{"keys":[jwk]}`) as JSON.
    pub fn jwks_json(&self) -> String {
        json!({ "keys": [self.jwk] }).to_string()
    }

    /// The public key set, parsed.
    pub fn key_set(&self) -> KeySet {
        KeySet::from_jwks(std::slice::from_ref(&self.jwk)).unwrap_or_default()
    }

    /// The standard claims of an ID token for `aud`/`sub`, issued at `now`, valid 10 minutes.
    pub fn claims(
        &self,
        aud: &str,
        sub: &str,
        nonce: Option<&str>,
        now: OffsetDateTime,
    ) -> Map<String, Value> {
        let t = now.unix_timestamp();
        let mut c = Map::new();
        c.insert("iss".into(), json!(self.issuer));
        c.insert("sub".into(), json!(sub));
        c.insert("aud".into(), json!(aud));
        c.insert("iat".into(), json!(t));
        c.insert("exp".into(), json!(t + 600));
        c.insert("auth_time".into(), json!(t));
        if let Some(n) = nonce {
            c.insert("nonce".into(), json!(n));
        }
        c
    }

    /// A signed ID token with [`Self::claims`].
    pub fn id_token(&self, aud: &str, sub: &str, nonce: Option<&str>, now: OffsetDateTime) -> Result<String> {
        self.sign(&self.claims(aud, sub, nonce, now))
    }

    /// Signs `claims` with the standard header (`alg`, `kid`, `typ: JWT`).
    pub fn sign(&self, claims: &Map<String, Value>) -> Result<String> {
        let header = json!({ "alg": self.alg.name(), "kid": self.kid, "typ": "JWT" });
        self.sign_raw(header.to_string().as_bytes(), Value::Object(claims.clone()).to_string().as_bytes())
    }

    /// Signs arbitrary header and payload bytes (for attack tests: any header is allowed).
    pub fn sign_raw(&self, header: &[u8], payload: &[u8]) -> Result<String> {
        let input = format!("{}.{}", b64e(header), b64e(payload));
        let signature = match &self.signer {
            Signer::Rsa(kp) => {
                let enc: &'static dyn sig::RsaEncoding = match self.alg {
                    Algorithm::Rs384 => &sig::RSA_PKCS1_SHA384,
                    Algorithm::Rs512 => &sig::RSA_PKCS1_SHA512,
                    Algorithm::Ps256 => &sig::RSA_PSS_SHA256,
                    Algorithm::Ps384 => &sig::RSA_PSS_SHA384,
                    Algorithm::Ps512 => &sig::RSA_PSS_SHA512,
                    _ => &sig::RSA_PKCS1_SHA256,
                };
                let mut out = vec![0u8; kp.public_modulus_len()];
                kp.sign(enc, &SystemRandom::new(), input.as_bytes(), &mut out).map_err(keygen_failed)?;
                out
            }
            Signer::Ec(kp) => {
                kp.sign(&SystemRandom::new(), input.as_bytes()).map_err(keygen_failed)?.as_ref().to_vec()
            }
            Signer::Ed(kp) => kp.sign(input.as_bytes()).as_ref().to_vec(),
        };
        Ok(format!("{input}.{}", b64e(&signature)))
    }
}
