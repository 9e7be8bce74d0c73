//! Password storage: Argon2id in PHC string format, an optional pepper, `needs_rehash`, and
//! verify-and-upgrade of imported bcrypt and PBKDF2 hashes.
//!
//! * New hashes are Argon2id, version 0x13, with the OWASP Password Storage Cheat Sheet's
//!   minimum configuration as the default (m = 19456 KiB, t = 2, p = 1), a 16-byte salt from the
//!   OS CSPRNG and a 32-byte tag, written as
//!   `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<tag>` (B64 without padding, as the reference
//!   implementation, argon2-cffi and passlib write it).
//! * The password is normalized to Unicode NFKC before hashing (NIST SP 800-63B §3.1.1.2), so
//!   the same password typed on different keyboards verifies. Verification tries the NFKC form
//!   first and, only if the input was not already normalized, the bytes as given — so hashes
//!   imported from systems that did not normalize still verify.
//! * **Pepper.** A host-held secret key applied as Argon2's secret input `K` (RFC 9106 §3.1).
//!   Its id (1–8 bytes) is written in the hash as the PHC `keyid` parameter, so peppers can be
//!   rotated: keep the old ones in [`Hasher::with_old_pepper`], and hashes made with them verify
//!   and report `needs_rehash`. A peppered hash cannot be verified without the pepper — keep the
//!   pepper out of the database (in a KMS or the host's secret store).
//! * **Legacy imports.** bcrypt (`$2a$`, `$2b$`, `$2y$`, `$2x$`) and PBKDF2-SHA256/SHA512 (PHC
//!   `$pbkdf2-sha256$i=…,l=…$`, passlib's `$pbkdf2-sha256$rounds$salt$checksum` with its
//!   adapted base64, and Django's `pbkdf2_sha256$rounds$salt$hash`) verify, always report
//!   `needs_rehash`, and [`Hasher::verify_and_upgrade`] hands back the Argon2id hash to store.
//! * Comparisons of derived keys are constant-time; a forged stored hash cannot ask for more
//!   memory or iterations than [`VerifyLimits`] allow; every hash and verification takes a slot
//!   of the [`HashLimiter`].
//!
//! ## From async code
//! Hashing takes tens of milliseconds of CPU: never call [`Hasher::hash`] or [`Hasher::verify`]
//! on an async worker thread. Use [`Hasher::hash_async`], [`Hasher::verify_async`] and
//! [`Hasher::verify_and_upgrade_async`], which run the work on tokio's blocking pool after the
//! limiter grants a slot.

use std::fmt;
use std::sync::Arc;

use argon2::{Algorithm, Argon2, AssociatedData, ParamsBuilder, Version};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use palisade_core::{SecretBytes, SecretString, ct_eq};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::limiter::HashLimiter;

/// PHC's B64: the standard alphabet without padding. Decoding also accepts padding.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The longest password, in UTF-8 bytes, that is hashed (4096 scalar values of up to 4 bytes:
/// the most any [`crate::Policy`] allows). Longer input is refused by [`Hasher::hash`] and
/// never matches in [`Hasher::verify`], without hashing work.
pub const MAX_PASSWORD_BYTES: usize = 16 * 1024;

/// Argon2id cost parameters for new hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HashParams {
    /// Memory cost in KiB (`m`).
    pub memory_kib: u32,
    /// Passes over memory (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u32,
    /// Tag length in bytes.
    pub output_len: u32,
    /// Salt length in bytes.
    pub salt_len: u32,
}

impl Default for HashParams {
    /// [`HashParams::OWASP`].
    fn default() -> Self {
        Self::OWASP
    }
}

impl HashParams {
    /// The OWASP Password Storage Cheat Sheet's minimum for Argon2id: m = 19456 KiB (19 MiB),
    /// t = 2, p = 1.
    pub const OWASP: HashParams =
        HashParams { memory_kib: 19_456, iterations: 2, parallelism: 1, output_len: 32, salt_len: 16 };

    /// RFC 9106 §4's second recommended option, for memory-constrained hosts: m = 64 MiB, t = 3,
    /// p = 4.
    pub const RFC9106_SECOND: HashParams =
        HashParams { memory_kib: 65_536, iterations: 3, parallelism: 4, output_len: 32, salt_len: 16 };

    /// Every problem with these parameters (empty when usable).
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.parallelism == 0 || self.parallelism > 255 {
            p.push(format!("parallelism is {}: use 1 to 255", self.parallelism));
        }
        if u64::from(self.memory_kib) < 8 * u64::from(self.parallelism.max(1)) {
            p.push(format!(
                "memory_kib is {}: Argon2 needs at least 8 KiB per lane ({} here)",
                self.memory_kib,
                8 * u64::from(self.parallelism.max(1))
            ));
        }
        if self.iterations == 0 {
            p.push("iterations is 0: use 1 or more (OWASP: 2 at 19 MiB)".to_owned());
        }
        if !(16..=64).contains(&self.output_len) {
            p.push(format!("output_len is {}: use 16 to 64 bytes (32 recommended)", self.output_len));
        }
        if !(16..=64).contains(&self.salt_len) {
            p.push(format!("salt_len is {}: use 16 to 64 bytes (RFC 9106 recommends 16)", self.salt_len));
        }
        p
    }
}

/// Upper bounds on the work a stored hash may ask for during verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerifyLimits {
    /// Largest Argon2 memory cost, KiB.
    pub max_memory_kib: u32,
    /// Largest Argon2 pass count.
    pub max_iterations: u32,
    /// Largest Argon2 lane count.
    pub max_parallelism: u32,
    /// Largest bcrypt cost (log2 of rounds).
    pub max_bcrypt_cost: u32,
    /// Largest PBKDF2 iteration count.
    pub max_pbkdf2_iterations: u32,
}

impl Default for VerifyLimits {
    /// 2 GiB (RFC 9106's first recommended option), 64 passes, 64 lanes, bcrypt cost 18,
    /// 10 million PBKDF2 iterations.
    fn default() -> Self {
        Self {
            max_memory_kib: 2 * 1024 * 1024,
            max_iterations: 64,
            max_parallelism: 64,
            max_bcrypt_cost: 18,
            max_pbkdf2_iterations: 10_000_000,
        }
    }
}

/// A pepper: a secret key held by the host (not in the database) and its id (1–8 bytes,
/// recorded in each hash as the PHC `keyid`).
#[derive(Clone)]
pub struct Pepper {
    id: Vec<u8>,
    key: SecretBytes,
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pepper").field("id", &hex(&self.id)).field("key", &self.key).finish()
    }
}

impl Pepper {
    /// A pepper with `id` (1–8 bytes, not secret) and `key` (at least 16 bytes, secret).
    pub fn new(id: &[u8], key: SecretBytes) -> Result<Self> {
        if id.is_empty() || id.len() > 8 {
            return Err(Error::Config(format!("pepper id is {} bytes: use 1 to 8 bytes", id.len())));
        }
        if key.len() < 16 {
            return Err(Error::Config(format!(
                "pepper key is {} bytes: use at least 16 random bytes (32 recommended)",
                key.len()
            )));
        }
        Ok(Self { id: id.to_vec(), key })
    }

    /// The pepper's id.
    pub fn id(&self) -> &[u8] {
        &self.id
    }
}

/// The hashing scheme of a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Scheme {
    /// Argon2id (RFC 9106): what palisade writes.
    Argon2id,
    /// Argon2i.
    Argon2i,
    /// Argon2d.
    Argon2d,
    /// bcrypt, any of `$2a$`, `$2b$`, `$2x$`, `$2y$`.
    Bcrypt,
    /// PBKDF2 with HMAC-SHA256 (RFC 8018).
    Pbkdf2Sha256,
    /// PBKDF2 with HMAC-SHA512 (RFC 8018).
    Pbkdf2Sha512,
}

impl Scheme {
    /// The scheme's usual name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Argon2id => "argon2id",
            Scheme::Argon2i => "argon2i",
            Scheme::Argon2d => "argon2d",
            Scheme::Bcrypt => "bcrypt",
            Scheme::Pbkdf2Sha256 => "pbkdf2-sha256",
            Scheme::Pbkdf2Sha512 => "pbkdf2-sha512",
        }
    }
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Whether the password matches.
    pub matched: bool,
    /// Whether the stored hash should be replaced (legacy scheme, weaker parameters than the
    /// hasher's, or an old pepper). Meaningful whatever `matched` is; act on it only on a match.
    pub needs_rehash: bool,
    /// The stored hash's scheme.
    pub scheme: Scheme,
}

/// The result of [`Hasher::verify_and_upgrade`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Upgrade {
    /// The password is wrong.
    Mismatch,
    /// The password is right and the stored hash is current.
    Match,
    /// The password is right; store this new Argon2id hash in place of the old one.
    MatchRehashed(String),
}

/// Hashes and verifies passwords. Cheap to clone (clones share the limiter).
///
/// ```
/// use palisade_core::SecretString;
/// use palisade_password::{HashParams, Hasher, Upgrade};
///
/// // Small parameters keep the example fast; production uses `Hasher::default()` (OWASP).
/// let hasher = Hasher::new(HashParams { memory_kib: 64, iterations: 1, ..HashParams::OWASP })?;
/// let stored = hasher.hash(&SecretString::from("correct horse battery staple"))?;
/// assert!(stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
/// assert!(hasher.verify(&SecretString::from("correct horse battery staple"), &stored)?.matched);
/// assert!(!hasher.verify(&SecretString::from("Correct horse battery staple"), &stored)?.matched);
///
/// // A stronger hasher upgrades the hash on the next successful login.
/// let stronger = Hasher::new(HashParams { memory_kib: 128, iterations: 1, ..HashParams::OWASP })?;
/// match stronger.verify_and_upgrade(&SecretString::from("correct horse battery staple"), &stored)? {
///     Upgrade::MatchRehashed(new) => assert!(new.contains("m=128")),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), palisade_password::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    params: HashParams,
    pepper: Option<Pepper>,
    old_peppers: Vec<Pepper>,
    limits: VerifyLimits,
    limiter: HashLimiter,
}

impl Default for Hasher {
    /// OWASP parameters, no pepper, default limits, the process-wide [`HashLimiter::global`].
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                params: HashParams::OWASP,
                pepper: None,
                old_peppers: Vec::new(),
                limits: VerifyLimits::default(),
                limiter: HashLimiter::global(),
            }),
        }
    }
}

impl Hasher {
    /// A hasher writing Argon2id hashes with `params`.
    pub fn new(params: HashParams) -> Result<Self> {
        let problems = params.validate();
        if !problems.is_empty() {
            return Err(Error::Config(problems.join("; ")));
        }
        let mut h = Self::default();
        h.inner_mut().params = params;
        Ok(h)
    }

    fn inner_mut(&mut self) -> &mut Inner {
        // Builders run before the hasher is shared; if it already is, copy on write.
        if Arc::get_mut(&mut self.inner).is_none() {
            self.inner = Arc::new(Inner {
                params: self.inner.params,
                pepper: self.inner.pepper.clone(),
                old_peppers: self.inner.old_peppers.clone(),
                limits: self.inner.limits,
                limiter: self.inner.limiter.clone(),
            });
        }
        #[allow(clippy::expect_used)] // just made unique above
        Arc::get_mut(&mut self.inner).expect("unique")
    }

    /// Peppers new hashes with `pepper`.
    pub fn with_pepper(mut self, pepper: Pepper) -> Self {
        self.inner_mut().pepper = Some(pepper);
        self
    }

    /// Accepts hashes made with a retired `pepper` (they report `needs_rehash`).
    pub fn with_old_pepper(mut self, pepper: Pepper) -> Self {
        self.inner_mut().old_peppers.push(pepper);
        self
    }

    /// Replaces the verification limits.
    pub fn with_limits(mut self, limits: VerifyLimits) -> Self {
        self.inner_mut().limits = limits;
        self
    }

    /// Replaces the concurrency limiter (share one limiter across hashers to bound them together).
    pub fn with_limiter(mut self, limiter: HashLimiter) -> Self {
        self.inner_mut().limiter = limiter;
        self
    }

    /// The parameters of new hashes.
    pub fn params(&self) -> &HashParams {
        &self.inner.params
    }

    /// The limiter.
    pub fn limiter(&self) -> &HashLimiter {
        &self.inner.limiter
    }

    /// Hashes `password` (NFKC-normalized) into a new Argon2id PHC string. Blocks for the
    /// duration of the hash: see the module docs for async callers.
    pub fn hash(&self, password: &SecretString) -> Result<String> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(Error::PasswordTooLong { len: password.len(), max: MAX_PASSWORD_BYTES });
        }
        let _permit = self.inner.limiter.acquire()?;
        self.hash_unlimited(password)
    }

    fn hash_unlimited(&self, password: &SecretString) -> Result<String> {
        let p = &self.inner.params;
        let mut salt = vec![0u8; p.salt_len as usize];
        palisade_core::random::fill(&mut salt)?;
        let normalized = nfkc(password.expose_secret());
        let phc = Argon2Phc {
            algorithm: Algorithm::Argon2id,
            version: Version::V0x13,
            m: p.memory_kib,
            t: p.iterations,
            p: p.parallelism,
            keyid: self.inner.pepper.as_ref().map(|k| k.id.clone()).unwrap_or_default(),
            data: Vec::new(),
            salt,
            hash: vec![0u8; p.output_len as usize],
        };
        let tag = phc.compute(normalized.as_bytes(), self.inner.pepper.as_ref().map(|k| &k.key))?;
        Ok(Argon2Phc { hash: tag.to_vec(), ..phc }.encode())
    }

    /// Checks `password` against `stored` (any supported scheme). `Ok` with `matched: false` is a
    /// wrong password; `Err` is a stored hash that cannot be used (malformed, unsupported, too
    /// costly, unknown pepper) or an overloaded limiter.
    pub fn verify(&self, password: &SecretString, stored: &str) -> Result<Verification> {
        let parsed = Stored::parse(stored)?;
        self.check_limits(&parsed)?;
        let _permit = self.inner.limiter.acquire()?;
        self.verify_parsed(password, &parsed)
    }

    fn verify_parsed(&self, password: &SecretString, parsed: &Stored) -> Result<Verification> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(Verification {
                matched: false,
                needs_rehash: self.stale(parsed),
                scheme: parsed.scheme(),
            });
        }
        let raw = password.expose_secret();
        let normalized = nfkc(raw);
        let mut matched = parsed.matches(self, normalized.as_bytes())?;
        if !matched && normalized.as_str() != raw {
            matched = parsed.matches(self, raw.as_bytes())?;
        }
        Ok(Verification { matched, needs_rehash: self.stale(parsed), scheme: parsed.scheme() })
    }

    /// Verifies, and on a match of a stale hash returns a fresh Argon2id hash to store.
    pub fn verify_and_upgrade(&self, password: &SecretString, stored: &str) -> Result<Upgrade> {
        let parsed = Stored::parse(stored)?;
        self.check_limits(&parsed)?;
        let _permit = self.inner.limiter.acquire()?;
        let v = self.verify_parsed(password, &parsed)?;
        Ok(match (v.matched, v.needs_rehash) {
            (false, _) => Upgrade::Mismatch,
            (true, false) => Upgrade::Match,
            (true, true) => Upgrade::MatchRehashed(self.hash_unlimited(password)?),
        })
    }

    /// Whether `stored` should be replaced by a hash with this hasher's parameters: any
    /// non-Argon2id scheme, Argon2 version 0x10, a memory, pass or lane count below this
    /// hasher's, a shorter tag or salt, or a pepper other than the current one.
    pub fn needs_rehash(&self, stored: &str) -> Result<bool> {
        Ok(self.stale(&Stored::parse(stored)?))
    }

    /// Spends the time of one verification without a stored hash. Call it when a login names
    /// an account that does not exist, so that response times do not reveal which accounts do.
    pub fn dummy_verify(&self, password: &SecretString) -> Result<()> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(());
        }
        let _permit = self.inner.limiter.acquire()?;
        let p = &self.inner.params;
        let phc = Argon2Phc {
            algorithm: Algorithm::Argon2id,
            version: Version::V0x13,
            m: p.memory_kib,
            t: p.iterations,
            p: p.parallelism,
            keyid: Vec::new(),
            data: Vec::new(),
            salt: vec![0u8; p.salt_len as usize],
            hash: vec![0u8; p.output_len as usize],
        };
        let tag = phc
            .compute(nfkc(password.expose_secret()).as_bytes(), self.inner.pepper.as_ref().map(|k| &k.key))?;
        std::hint::black_box(tag);
        Ok(())
    }

    /// [`Hasher::hash`] on tokio's blocking pool.
    pub async fn hash_async(&self, password: SecretString) -> Result<String> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.hash(&password))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }

    /// [`Hasher::verify`] on tokio's blocking pool.
    pub async fn verify_async(&self, password: SecretString, stored: String) -> Result<Verification> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.verify(&password, &stored))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }

    /// [`Hasher::verify_and_upgrade`] on tokio's blocking pool.
    pub async fn verify_and_upgrade_async(&self, password: SecretString, stored: String) -> Result<Upgrade> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.verify_and_upgrade(&password, &stored))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }

    /// [`Hasher::dummy_verify`] on tokio's blocking pool.
    pub async fn dummy_verify_async(&self, password: SecretString) -> Result<()> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.dummy_verify(&password))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }

    fn pepper_for(&self, keyid: &[u8]) -> Result<Option<&SecretBytes>> {
        if keyid.is_empty() {
            return Ok(None);
        }
        self.inner
            .pepper
            .iter()
            .chain(self.inner.old_peppers.iter())
            .find(|p| p.id == keyid)
            .map(|p| Some(&p.key))
            .ok_or_else(|| Error::UnknownPepper { keyid: hex(keyid) })
    }

    fn check_limits(&self, parsed: &Stored) -> Result<()> {
        let l = &self.inner.limits;
        let over = |scheme, what, value: u32, limit: u32| {
            if value > limit {
                Err(Error::CostTooHigh { scheme, what, value: value.into(), limit: limit.into() })
            } else {
                Ok(())
            }
        };
        match parsed {
            Stored::Argon2(a) => {
                let s = a.scheme().as_str();
                over(s, "m (KiB)", a.m, l.max_memory_kib)?;
                over(s, "t", a.t, l.max_iterations)?;
                over(s, "p", a.p, l.max_parallelism)?;
                self.pepper_for(&a.keyid).map(drop)
            }
            Stored::Bcrypt { cost, .. } => over("bcrypt", "cost", *cost, l.max_bcrypt_cost),
            Stored::Pbkdf2(p) => over(p.scheme().as_str(), "iterations", p.rounds, l.max_pbkdf2_iterations),
        }
    }

    fn stale(&self, parsed: &Stored) -> bool {
        let want = &self.inner.params;
        match parsed {
            Stored::Argon2(a) => {
                a.algorithm != Algorithm::Argon2id
                    || a.version != Version::V0x13
                    || a.m < want.memory_kib
                    || a.t < want.iterations
                    || a.p < want.parallelism
                    || a.hash.len() < want.output_len as usize
                    || a.salt.len() < want.salt_len as usize
                    || !a.data.is_empty()
                    || a.keyid != self.inner.pepper.as_ref().map(|p| p.id.clone()).unwrap_or_default()
            }
            Stored::Bcrypt { .. } | Stored::Pbkdf2(_) => true,
        }
    }
}

fn nfkc(s: &str) -> Zeroizing<String> {
    Zeroizing::new(s.nfkc().collect())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A parsed stored hash.
#[derive(Debug)]
enum Stored {
    Argon2(Argon2Phc),
    Bcrypt { hash: String, cost: u32 },
    Pbkdf2(Pbkdf2Hash),
}

impl Stored {
    fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.starts_with("$argon2") {
            return Argon2Phc::parse(s).map(Stored::Argon2);
        }
        if let Some(rest) = s.strip_prefix("$2") {
            if !matches!(rest.get(..2), Some("a$" | "b$" | "x$" | "y$")) {
                return Err(Error::UnsupportedScheme { prefix: prefix(s) });
            }
            let cost = s
                .get(4..6)
                .and_then(|c| c.parse::<u32>().ok())
                .filter(|c| (4..=31).contains(c))
                .ok_or_else(|| Error::malformed("bcrypt", "the cost is not a number from 04 to 31"))?;
            if s.len() != 60 || !s.is_ascii() || s.get(6..7) != Some("$") {
                return Err(Error::malformed(
                    "bcrypt",
                    format!("expected 60 ASCII characters, found {}", s.len()),
                ));
            }
            return Ok(Stored::Bcrypt { hash: s.to_owned(), cost });
        }
        if s.starts_with("$pbkdf2") || s.starts_with("pbkdf2_") {
            return Pbkdf2Hash::parse(s).map(Stored::Pbkdf2);
        }
        Err(Error::UnsupportedScheme { prefix: prefix(s) })
    }

    fn scheme(&self) -> Scheme {
        match self {
            Stored::Argon2(a) => a.scheme(),
            Stored::Bcrypt { .. } => Scheme::Bcrypt,
            Stored::Pbkdf2(p) => p.scheme(),
        }
    }

    fn matches(&self, hasher: &Hasher, password: &[u8]) -> Result<bool> {
        match self {
            Stored::Argon2(a) => {
                let tag = a.compute(password, hasher.pepper_for(&a.keyid)?)?;
                Ok(ct_eq(&tag, &a.hash))
            }
            Stored::Bcrypt { hash, .. } => {
                bcrypt::verify(password, hash).map_err(|e| Error::malformed("bcrypt", e.to_string()))
            }
            Stored::Pbkdf2(p) => Ok(p.matches(password)),
        }
    }
}

/// The scheme part of a hash string, for error messages (never the digest).
fn prefix(s: &str) -> String {
    let end = s.char_indices().filter(|(_, c)| *c == '$').nth(1).map_or(s.len().min(16), |(i, _)| i);
    s.chars().take(end.min(24)).collect()
}

/// An Argon2 PHC string: `$argon2id$v=19$m=…,t=…,p=…[,keyid=…][,data=…]$salt$hash`.
#[derive(Debug, Clone)]
struct Argon2Phc {
    algorithm: Algorithm,
    version: Version,
    m: u32,
    t: u32,
    p: u32,
    keyid: Vec<u8>,
    data: Vec<u8>,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Argon2Phc {
    fn scheme(&self) -> Scheme {
        match self.algorithm {
            Algorithm::Argon2d => Scheme::Argon2d,
            Algorithm::Argon2i => Scheme::Argon2i,
            _ => Scheme::Argon2id,
        }
    }

    fn parse(s: &str) -> Result<Self> {
        let mut fields = s.split('$');
        let bad = |r: &str| Error::malformed("argon2", r.to_owned());
        if fields.next() != Some("") {
            return Err(bad("it must start with '$'"));
        }
        let algorithm = match fields.next() {
            Some("argon2id") => Algorithm::Argon2id,
            Some("argon2i") => Algorithm::Argon2i,
            Some("argon2d") => Algorithm::Argon2d,
            _ => return Err(Error::UnsupportedScheme { prefix: prefix(s) }),
        };
        let mut field = fields.next().ok_or_else(|| bad("the parameters are missing"))?;
        // A missing version field means the original version 0x10 (as in the reference code).
        let version = match field.strip_prefix("v=") {
            Some(v) => {
                let v = match v.parse::<u32>() {
                    Ok(16) => Version::V0x10,
                    Ok(19) => Version::V0x13,
                    _ => return Err(bad("the version must be v=16 or v=19")),
                };
                field = fields.next().ok_or_else(|| bad("the parameters are missing"))?;
                v
            }
            None => Version::V0x10,
        };
        let (mut m, mut t, mut p) = (None, None, None);
        let (mut keyid, mut data) = (Vec::new(), Vec::new());
        for kv in field.split(',') {
            let (k, v) = kv.split_once('=').ok_or_else(|| bad("a parameter is not name=value"))?;
            let num = || {
                v.parse::<u32>().ok().filter(|_| v.bytes().all(|b| b.is_ascii_digit())).ok_or_else(|| {
                    Error::malformed("argon2", format!("parameter {k} is not a decimal number"))
                })
            };
            let dup = |present: bool| if present { Err(bad("a parameter is repeated")) } else { Ok(()) };
            match k {
                "m" => {
                    dup(m.is_some())?;
                    m = Some(num()?);
                }
                "t" => {
                    dup(t.is_some())?;
                    t = Some(num()?);
                }
                "p" => {
                    dup(p.is_some())?;
                    p = Some(num()?);
                }
                "keyid" => {
                    dup(!keyid.is_empty())?;
                    keyid = B64.decode(v).map_err(|_| bad("keyid is not base64"))?;
                }
                "data" => {
                    dup(!data.is_empty())?;
                    data = B64.decode(v).map_err(|_| bad("data is not base64"))?;
                }
                _ => return Err(Error::malformed("argon2", format!("unknown parameter {k:?}"))),
            }
        }
        let (Some(m), Some(t), Some(p)) = (m, t, p) else {
            return Err(bad("m, t and p are all required"));
        };
        let salt = fields.next().ok_or_else(|| bad("the salt is missing"))?;
        let salt = B64.decode(salt).map_err(|_| bad("the salt is not base64"))?;
        let hash = fields.next().ok_or_else(|| bad("the hash is missing"))?;
        let hash = B64.decode(hash).map_err(|_| bad("the hash is not base64"))?;
        if fields.next().is_some() {
            return Err(bad("there are fields after the hash"));
        }
        if salt.len() < 8 {
            return Err(bad("the salt is shorter than 8 bytes"));
        }
        if hash.len() < 4 || hash.len() > 1024 {
            return Err(bad("the hash must be 4 to 1024 bytes"));
        }
        if salt.len() > 1024 {
            return Err(bad("the salt is longer than 1024 bytes"));
        }
        if keyid.len() > 8 || data.len() > 32 {
            return Err(bad("keyid is longer than 8 bytes or data longer than 32"));
        }
        if p == 0 || t == 0 || u64::from(m) < 8 * u64::from(p) {
            return Err(bad("t and p must be at least 1 and m at least 8 × p"));
        }
        Ok(Self { algorithm, version, m, t, p, keyid, data, salt, hash })
    }

    fn encode(&self) -> String {
        let id = self.scheme().as_str();
        let mut params = format!("m={},t={},p={}", self.m, self.t, self.p);
        if !self.keyid.is_empty() {
            params.push_str(&format!(",keyid={}", B64.encode(&self.keyid)));
        }
        if !self.data.is_empty() {
            params.push_str(&format!(",data={}", B64.encode(&self.data)));
        }
        format!(
            "${id}$v={}${params}${}${}",
            u32::from(self.version),
            B64.encode(&self.salt),
            B64.encode(&self.hash)
        )
    }

    /// The tag for `password` with these parameters (its length is `self.hash.len()`).
    fn compute(&self, password: &[u8], secret: Option<&SecretBytes>) -> Result<Zeroizing<Vec<u8>>> {
        let argon_err = |e: argon2::Error| Error::malformed("argon2", e.to_string());
        let mut b = ParamsBuilder::new();
        b.m_cost(self.m).t_cost(self.t).p_cost(self.p).output_len(self.hash.len());
        if !self.data.is_empty() {
            b.data(AssociatedData::new(&self.data).map_err(argon_err)?);
        }
        let params = b.build().map_err(argon_err)?;
        let ctx = match secret {
            Some(k) => Argon2::new_with_secret(k.expose_secret(), self.algorithm, self.version, params)
                .map_err(argon_err)?,
            None => Argon2::new(self.algorithm, self.version, params),
        };
        let mut out = Zeroizing::new(vec![0u8; self.hash.len()]);
        ctx.hash_password_into(password, &self.salt, &mut out).map_err(argon_err)?;
        Ok(out)
    }
}

/// A PBKDF2 hash in one of the three common encodings.
#[derive(Debug)]
struct Pbkdf2Hash {
    sha512: bool,
    rounds: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Pbkdf2Hash {
    fn scheme(&self) -> Scheme {
        if self.sha512 { Scheme::Pbkdf2Sha512 } else { Scheme::Pbkdf2Sha256 }
    }

    fn parse(s: &str) -> Result<Self> {
        let bad = |r: &str| Error::malformed("pbkdf2", r.to_owned());
        let fields: Vec<&str> = s.split('$').collect();
        let (ident, params, salt_field, hash_field, django) = match fields.as_slice() {
            ["", ident, params, salt, hash] => (*ident, *params, *salt, *hash, false),
            [ident, params, salt, hash] if ident.starts_with("pbkdf2_") => {
                (*ident, *params, *salt, *hash, true)
            }
            _ => return Err(bad("expected $pbkdf2-sha256$<rounds or i=…>$<salt>$<hash>")),
        };
        let sha512 = match ident {
            "pbkdf2-sha256" | "pbkdf2_sha256" => false,
            "pbkdf2-sha512" | "pbkdf2_sha512" => true,
            _ => return Err(Error::UnsupportedScheme { prefix: prefix(s) }),
        };
        let digits = |v: &str| v.parse::<u32>().ok().filter(|_| v.bytes().all(|b| b.is_ascii_digit()));
        let mut rounds = None;
        let mut out_len = None;
        if let Some(r) = digits(params) {
            rounds = Some(r);
        } else {
            // PHC form: i=<rounds>[,l=<length>]
            for kv in params.split(',') {
                match kv.split_once('=') {
                    Some(("i", v)) if rounds.is_none() => rounds = digits(v),
                    Some(("l", v)) if out_len.is_none() => out_len = digits(v),
                    _ => return Err(bad("parameters must be a round count or i=<rounds>[,l=<length>]")),
                }
            }
        }
        let rounds = rounds.filter(|r| *r >= 1).ok_or_else(|| bad("the round count is missing or 0"))?;
        let (salt, hash) = if django {
            // Django: the salt is used as text; the hash is standard base64 with padding.
            (
                salt_field.as_bytes().to_vec(),
                B64.decode(hash_field).map_err(|_| bad("the hash is not base64"))?,
            )
        } else {
            // PHC B64 and passlib's adapted base64 (which writes '.' for '+').
            let ab64 = |f: &str| B64.decode(f.replace('.', "+"));
            (
                ab64(salt_field).map_err(|_| bad("the salt is not base64"))?,
                ab64(hash_field).map_err(|_| bad("the hash is not base64"))?,
            )
        };
        if hash.len() < 16 || hash.len() > 64 {
            return Err(bad("the hash must be 16 to 64 bytes"));
        }
        if salt.len() > 1024 {
            return Err(bad("the salt is longer than 1024 bytes"));
        }
        if out_len.is_some_and(|l| l as usize != hash.len()) {
            return Err(bad("l= does not match the hash length"));
        }
        Ok(Self { sha512, rounds, salt, hash })
    }

    fn matches(&self, password: &[u8]) -> bool {
        let mut out = Zeroizing::new(vec![0u8; self.hash.len()]);
        if self.sha512 {
            pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, &self.salt, self.rounds, &mut out);
        } else {
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, &self.salt, self.rounds, &mut out);
        }
        ct_eq(&out, &self.hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Hasher {
        Hasher::new(HashParams { memory_kib: 32, iterations: 1, parallelism: 1, ..HashParams::OWASP })
            .unwrap()
    }

    fn pw(s: &str) -> SecretString {
        SecretString::from(s)
    }

    #[test]
    fn hash_verify_roundtrip_and_format() {
        let h = small();
        let s = h.hash(&pw("hunter2")).unwrap();
        assert!(s.starts_with("$argon2id$v=19$m=32,t=1,p=1$"), "{s}");
        let parts: Vec<_> = s.split('$').collect();
        assert_eq!(B64.decode(parts[4]).unwrap().len(), 16);
        assert_eq!(B64.decode(parts[5]).unwrap().len(), 32);
        let v = h.verify(&pw("hunter2"), &s).unwrap();
        assert!(v.matched && !v.needs_rehash);
        assert!(!h.verify(&pw("hunter3"), &s).unwrap().matched);
        // Salted: two hashes of one password differ.
        assert_ne!(s, h.hash(&pw("hunter2")).unwrap());
    }

    #[test]
    fn hashing_is_shed_when_the_limiter_is_saturated() {
        let limiter = HashLimiter::new(1, 0, std::time::Duration::from_millis(10));
        let h = small().with_limiter(limiter.clone());
        let stored = small().hash(&pw("x")).unwrap();
        let held = limiter.acquire().unwrap();
        assert!(matches!(h.hash(&pw("x")), Err(Error::Overloaded { in_flight: 1, .. })));
        assert!(matches!(h.verify(&pw("x"), &stored), Err(Error::Overloaded { .. })));
        assert_eq!(h.verify(&pw("x"), &stored).unwrap_err().class(), palisade_core::ErrorClass::Unavailable);
        drop(held);
        assert!(h.verify(&pw("x"), &stored).unwrap().matched);
    }

    #[test]
    fn megabyte_password_is_refused_cheaply() {
        let h = small();
        let big = SecretString::new("a".repeat(1 << 20));
        assert!(matches!(h.hash(&big), Err(Error::PasswordTooLong { .. })));
        let stored = h.hash(&pw("a")).unwrap();
        assert!(!h.verify(&big, &stored).unwrap().matched);
    }

    #[test]
    fn nfkc_equivalents_verify() {
        let h = small();
        // "é" precomposed vs e + COMBINING ACUTE; fullwidth "Ａ" vs "A".
        let s = h.hash(&pw("caf\u{e9}\u{ff21}")).unwrap();
        assert!(h.verify(&pw("cafe\u{301}A"), &s).unwrap().matched);
    }

    #[test]
    fn needs_rehash_when_params_raised() {
        let h = small();
        let s = h.hash(&pw("x")).unwrap();
        let stronger = Hasher::new(HashParams { memory_kib: 64, ..*h.params() }).unwrap();
        assert!(stronger.needs_rehash(&s).unwrap());
        assert!(!small().needs_rehash(&s).unwrap());
        let weaker_t = Hasher::new(HashParams { iterations: 2, ..*h.params() }).unwrap();
        assert!(weaker_t.needs_rehash(&s).unwrap());
        match stronger.verify_and_upgrade(&pw("x"), &s).unwrap() {
            Upgrade::MatchRehashed(n) => assert!(!stronger.needs_rehash(&n).unwrap()),
            o => panic!("{o:?}"),
        }
        assert_eq!(stronger.verify_and_upgrade(&pw("y"), &s).unwrap(), Upgrade::Mismatch);
        assert_eq!(small().verify_and_upgrade(&pw("x"), &s).unwrap(), Upgrade::Match);
    }

    #[test]
    fn pepper_is_required_and_rotates() {
        let k1 = Pepper::new(b"k1", SecretBytes::new(vec![7; 32])).unwrap();
        let k2 = Pepper::new(b"k2", SecretBytes::new(vec![8; 32])).unwrap();
        let h1 = small().with_pepper(k1.clone());
        let s = h1.hash(&pw("pw")).unwrap();
        assert!(s.contains(",keyid=azE$"), "{s}");
        assert!(h1.verify(&pw("pw"), &s).unwrap().matched);
        // Without the pepper the hash cannot be checked.
        assert!(matches!(small().verify(&pw("pw"), &s), Err(Error::UnknownPepper { .. })));
        // A different key under the same id does not match.
        let wrong = small().with_pepper(Pepper::new(b"k1", SecretBytes::new(vec![9; 32])).unwrap());
        assert!(!wrong.verify(&pw("pw"), &s).unwrap().matched);
        // Rotation: old pepper still verifies and asks for a rehash.
        let h2 = small().with_pepper(k2).with_old_pepper(k1);
        let v = h2.verify(&pw("pw"), &s).unwrap();
        assert!(v.matched && v.needs_rehash);
        // An unpeppered hash verifies with a peppered hasher and asks for the pepper.
        let plain = small().hash(&pw("pw")).unwrap();
        let v = h2.verify(&pw("pw"), &plain).unwrap();
        assert!(v.matched && v.needs_rehash);
        assert!(format!("{h2:?}").contains("redacted"));
        assert!(Pepper::new(b"", SecretBytes::new(vec![1; 32])).is_err());
        assert!(Pepper::new(b"k", SecretBytes::new(vec![1; 8])).is_err());
    }

    #[test]
    fn parses_foreign_argon2_forms() {
        // argon2-cffi 25.1 / reference `argon2` CLI output for "password", m=64 t=1 p=1.
        let a = Argon2Phc::parse("$argon2i$m=64,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2g").unwrap();
        assert_eq!(a.version, Version::V0x10);
        assert_eq!(a.algorithm, Algorithm::Argon2i);
        for bad in [
            "$argon2id$v=19$m=64,t=1$c29tZXNhbHQ$aGFzaGhhc2g",
            "$argon2id$v=18$m=64,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2g",
            "$argon2id$v=19$m=64,t=1,p=1,x=1$c29tZXNhbHQ$aGFzaGhhc2g",
            "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaGhhc2g",
            "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2g$",
            "$argon2id$v=19$m=4,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2g",
            "$argon2id$v=19$m=+64,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2g",
        ] {
            assert!(matches!(Argon2Phc::parse(bad), Err(Error::MalformedHash { .. })), "{bad}");
        }
        assert!(matches!(Stored::parse("$argon2x$v=19$"), Err(Error::UnsupportedScheme { .. })));
        assert!(matches!(Stored::parse("$1$abc$def"), Err(Error::UnsupportedScheme { .. })));
    }

    #[test]
    fn limits_refuse_costly_hashes() {
        let h = small();
        let huge = "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2g";
        assert!(matches!(h.verify(&pw("x"), huge), Err(Error::CostTooHigh { value: 4_194_304, .. })));
        let bc = format!("$2b$20${}", "a".repeat(53));
        assert!(matches!(h.verify(&pw("x"), &bc), Err(Error::CostTooHigh { .. })));
    }

    #[test]
    fn pbkdf2_forms() {
        // RFC 7914 §11 PBKDF2-HMAC-SHA256 vector: P="passwd", S="salt", c=1, dkLen=64.
        let dk = "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783";
        let dk = (0..dk.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&dk[i..i + 2], 16).unwrap())
            .collect::<Vec<_>>();
        let phc = format!("$pbkdf2-sha256$i=1,l=64${}${}", B64.encode(b"salt"), B64.encode(&dk));
        let h = small();
        let v = h.verify(&pw("passwd"), &phc).unwrap();
        assert!(v.matched && v.needs_rehash);
        assert_eq!(v.scheme, Scheme::Pbkdf2Sha256);
        assert!(!h.verify(&pw("passwe"), &phc).unwrap().matched);
        let passlib =
            format!("$pbkdf2-sha256$1${}${}", B64.encode(b"salt"), B64.encode(&dk).replace('+', "."));
        assert!(h.verify(&pw("passwd"), &passlib).unwrap().matched);
        let django =
            format!("pbkdf2_sha256$1$salt${}", base64::engine::general_purpose::STANDARD.encode(&dk));
        assert!(h.verify(&pw("passwd"), &django).unwrap().matched);
        assert!(h.verify(&pw("passwd"), "$pbkdf2-sha256$i=1,l=32$c2FsdA$AAAA").is_err());
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// RFC 9106 §5 test vectors (Argon2d, Argon2i, Argon2id) with secret K and associated data X,
    /// through the PHC parser: the PHC string carries `data=`, and K is the pepper.
    #[test]
    fn rfc9106_vectors() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/vectors/rfc/rfc9106_argon2.json"
        ))
        .unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let tests = doc["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 3);
        for t in tests {
            let id = t["variant"].as_str().unwrap().to_lowercase();
            let field = |k: &str| unhex(t[k].as_str().unwrap());
            let phc = format!(
                "${id}$v=19$m={},t={},p={},data={}${}${}",
                t["memoryKiB"],
                t["passes"],
                t["lanes"],
                B64.encode(field("associatedData")),
                B64.encode(field("salt")),
                B64.encode(field("tag")),
            );
            let Stored::Argon2(parsed) = Stored::parse(&phc).unwrap() else { panic!("{phc}") };
            let secret = SecretBytes::new(field("secret"));
            let tag = parsed.compute(&field("password"), Some(&secret)).unwrap();
            assert_eq!(tag.as_slice(), field("tag").as_slice(), "{id}");
            // Without K the tag differs.
            assert_ne!(parsed.compute(&field("password"), None).unwrap().as_slice(), field("tag").as_slice());
            assert_eq!(parsed.encode(), phc);
        }
    }
}
