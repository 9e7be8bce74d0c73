//! HOTP (RFC 4226) and TOTP (RFC 6238): code generation and constant-time verification.
//!
//! Implemented directly over RustCrypto's `hmac`, `sha1` and `sha2` (see the crate README for why
//! not `totp-rs`): the algorithm is a few lines, checked here against the RFC vectors, and owning
//! it lets the key stay in a zeroizing holder, lets verification return the matched time step that
//! the replay guard needs, and lets every candidate in the skew window be compared without an
//! early exit.
//!
//! ```
//! use palisade_totp::{Algorithm, Totp, TotpParams};
//! use palisade_core::SecretBytes;
//!
//! let params = TotpParams { algorithm: Algorithm::Sha1, digits: 8, period: 30 };
//! let totp = Totp::new(SecretBytes::from_slice(b"12345678901234567890"), params)?;
//! assert_eq!(totp.code_at(59)?, "94287082"); // RFC 6238, Appendix B
//!
//! let m = totp.verify("94287082", 59 + 30, 1, None)?.expect("in the window");
//! assert_eq!((m.step, m.drift), (1, -1));
//! assert!(totp.verify("94287082", 59 + 30, 1, Some(1))?.is_none()); // step 1 already used
//! # Ok::<(), palisade_totp::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use palisade_core::SecretBytes;
use serde::{Deserialize, Serialize};
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The HMAC hash function. SHA-1 is the default and the only one every app honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Algorithm {
    /// HMAC-SHA-1 (RFC 4226's function; supported by every authenticator app).
    #[default]
    #[serde(rename = "SHA1", alias = "sha1")]
    Sha1,
    /// HMAC-SHA-256.
    #[serde(rename = "SHA256", alias = "sha256")]
    Sha256,
    /// HMAC-SHA-512.
    #[serde(rename = "SHA512", alias = "sha512")]
    Sha512,
}

impl Algorithm {
    /// The name used in key URIs: `SHA1`, `SHA256`, `SHA512`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;
    /// Case-insensitive, with or without a dash: `sha1`, `SHA-256`, `Sha512`.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_uppercase().replace('-', "").as_str() {
            "SHA1" => Ok(Algorithm::Sha1),
            "SHA256" => Ok(Algorithm::Sha256),
            "SHA512" => Ok(Algorithm::Sha512),
            _ => Err(Error::InvalidParameter(format!("unknown algorithm {s:?}: use SHA1, SHA256 or SHA512"))),
        }
    }
}

/// The shape of the codes: hash, number of digits, time step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TotpParams {
    /// HMAC hash function.
    pub algorithm: Algorithm,
    /// Digits per code: 6 to 8 (RFC 4226 allows 6 to 8; 6 is what every app supports).
    pub digits: u8,
    /// Time step in seconds (30 is what every app supports). T0 is always the Unix epoch.
    pub period: u32,
}

impl Default for TotpParams {
    /// SHA-1, 6 digits, 30 seconds: what every mainstream app supports.
    fn default() -> Self {
        Self { algorithm: Algorithm::Sha1, digits: 6, period: 30 }
    }
}

/// The longest time step accepted, in seconds.
pub const MAX_PERIOD: u32 = 3600;

impl TotpParams {
    /// Every problem with the parameters (empty when they are valid).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(6..=8).contains(&self.digits) {
            out.push(format!("digits is {}: use 6, 7 or 8", self.digits));
        }
        if self.period == 0 || self.period > MAX_PERIOD {
            out.push(format!(
                "period is {} s: use 1 to {MAX_PERIOD} seconds (30 is the standard)",
                self.period
            ));
        }
        out
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        let problems = self.problems();
        if problems.is_empty() { Ok(()) } else { Err(Error::InvalidParameter(problems.join("; "))) }
    }

    /// Warnings for parameters that some authenticator apps ignore. Google Authenticator (older
    /// versions), Microsoft Authenticator and Authy read only the secret and silently use
    /// SHA-1 / 6 digits / 30 s, so a user enrolled with other parameters gets codes that never work.
    pub fn compatibility_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.algorithm != Algorithm::Sha1 {
            out.push(format!(
                "algorithm {}: several authenticator apps ignore it and use SHA1, so their codes will not verify",
                self.algorithm
            ));
        }
        if self.digits != 6 {
            out.push(format!(
                "{} digits: several authenticator apps ignore it and show 6 digits",
                self.digits
            ));
        }
        if self.period != 30 {
            out.push(format!("period {} s: several authenticator apps ignore it and use 30 s", self.period));
        }
        out
    }

    /// The time step containing `unix_seconds` (`floor(t / period)`, T0 = 0).
    pub fn step_at(&self, unix_seconds: i64) -> Result<u64> {
        let t = u64::try_from(unix_seconds).map_err(|_| Error::TimeOutOfRange(unix_seconds))?;
        let period = u64::from(self.period);
        t.checked_div(period).ok_or_else(|| Error::InvalidParameter("period is 0".to_owned()))
    }
}

type HmacSha1 = Hmac<sha1::Sha1>;
type HmacSha256 = Hmac<sha2::Sha256>;
type HmacSha512 = Hmac<sha2::Sha512>;

/// An HMAC keyed once, cloned for each counter: the key schedule is not repeated for every step
/// of the window.
#[derive(Clone)]
enum Keyed {
    Sha1(HmacSha1),
    Sha256(HmacSha256),
    Sha512(HmacSha512),
}

impl Keyed {
    fn new(algorithm: Algorithm, key: &[u8]) -> Result<Self> {
        let bad = |_| Error::BadSecret("the key length is not usable".to_owned());
        Ok(match algorithm {
            Algorithm::Sha1 => Keyed::Sha1(<HmacSha1 as Mac>::new_from_slice(key).map_err(bad)?),
            Algorithm::Sha256 => Keyed::Sha256(<HmacSha256 as Mac>::new_from_slice(key).map_err(bad)?),
            Algorithm::Sha512 => Keyed::Sha512(<HmacSha512 as Mac>::new_from_slice(key).map_err(bad)?),
        })
    }

    /// RFC 4226 dynamic truncation of HMAC(key, counter): a 31-bit value.
    fn truncated(&self, counter: u64) -> u32 {
        fn run<M: Mac + Clone>(m: &M, counter: u64) -> u32 {
            let mut m = m.clone();
            m.update(&counter.to_be_bytes());
            let mut out = m.finalize().into_bytes();
            let offset = usize::from(out.last().copied().unwrap_or(0) & 0x0f);
            let mut window = [0u8; 4];
            if let Some(w) = out.get(offset..offset + 4) {
                window.copy_from_slice(w);
            }
            zeroize::Zeroize::zeroize(out.as_mut_slice());
            u32::from_be_bytes(window) & 0x7fff_ffff
        }
        match self {
            Keyed::Sha1(m) => run(m, counter),
            Keyed::Sha256(m) => run(m, counter),
            Keyed::Sha512(m) => run(m, counter),
        }
    }

    fn value(&self, counter: u64, digits: u8) -> u32 {
        self.truncated(counter) % 10u32.pow(u32::from(digits))
    }
}

/// The HOTP value (RFC 4226 section 5.3) of `counter`, as a number below `10^digits`.
pub fn hotp(algorithm: Algorithm, key: &[u8], counter: u64, digits: u8) -> Result<u32> {
    if !(6..=8).contains(&digits) {
        return Err(Error::InvalidParameter(format!("digits is {digits}: use 6, 7 or 8")));
    }
    Ok(Keyed::new(algorithm, key)?.value(counter, digits))
}

/// Where in the skew window a code matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StepMatch {
    /// The matched time step (`floor(t / period)`); record it to refuse replays.
    pub step: u64,
    /// Matched step minus the current step: negative when the device is behind.
    pub drift: i64,
}

/// A TOTP generator and verifier for one key.
#[derive(Clone)]
pub struct Totp {
    key: SecretBytes,
    params: TotpParams,
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp").field("key", &self.key).field("params", &self.params).finish()
    }
}

impl Totp {
    /// A TOTP over `key` (any non-empty length up to [`crate::secret::MAX_SECRET_LEN`]; secrets
    /// palisade generates are 160 bits) with `params`.
    pub fn new(key: SecretBytes, params: TotpParams) -> Result<Self> {
        params.validate()?;
        if key.is_empty() {
            return Err(Error::BadSecret("it is empty".to_owned()));
        }
        if key.len() > crate::secret::MAX_SECRET_LEN {
            return Err(Error::BadSecret(format!(
                "it is {} bytes long, the limit is {}",
                key.len(),
                crate::secret::MAX_SECRET_LEN
            )));
        }
        Ok(Self { key, params })
    }

    /// The parameters.
    pub fn params(&self) -> TotpParams {
        self.params
    }

    /// The code for time step `step`.
    pub fn code_for_step(&self, step: u64) -> Result<String> {
        let value = hotp(self.params.algorithm, self.key.expose_secret(), step, self.params.digits)?;
        Ok(format!("{value:0width$}", width = usize::from(self.params.digits)))
    }

    /// The code at `unix_seconds`.
    pub fn code_at(&self, unix_seconds: i64) -> Result<String> {
        self.code_for_step(self.params.step_at(unix_seconds)?)
    }

    /// Checks `code` at `unix_seconds`, accepting the steps `current - skew ..= current + skew`
    /// that are after `last_step` (the user's last accepted step, if any).
    ///
    /// Spaces in the code are ignored (apps display `123 456`). Every candidate step is computed
    /// and compared in constant time, with no early exit; if several match, the one nearest the
    /// current step wins (earlier first on a tie). Returns `None` when nothing matches.
    pub fn verify(
        &self,
        code: &str,
        unix_seconds: i64,
        skew: u32,
        last_step: Option<u64>,
    ) -> Result<Option<StepMatch>> {
        let current = self.params.step_at(unix_seconds)?;
        let given: Zeroizing<Vec<u8>> =
            Zeroizing::new(code.bytes().filter(|b| !b.is_ascii_whitespace()).collect());
        // The length and the character class of a code are not secret.
        if given.len() != usize::from(self.params.digits) || !given.iter().all(u8::is_ascii_digit) {
            return Ok(None);
        }
        let skew = u64::from(skew);
        let first = current.saturating_sub(skew);
        let last = current.saturating_add(skew);
        // Exactly `digits` ASCII digits (at most 8), so the number fits and the comparison of
        // numbers is the comparison of codes.
        let given_value =
            Zeroizing::new(given.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d.wrapping_sub(b'0'))));
        let keyed = Keyed::new(self.params.algorithm, self.key.expose_secret())?;
        let mut best: Option<StepMatch> = None;
        for step in first..=last {
            if last_step.is_some_and(|used| step <= used) {
                continue;
            }
            let expected = Zeroizing::new(keyed.value(step, self.params.digits));
            let hit: Choice = expected.ct_eq(&*given_value);
            let drift = i64::try_from(step).unwrap_or(i64::MAX) - i64::try_from(current).unwrap_or(i64::MAX);
            let candidate = StepMatch { step, drift };
            // Which step matched is not secret once it matched; the comparison itself is.
            if bool::from(hit) && best.is_none_or(|b| drift.unsigned_abs() < b.drift.unsigned_abs()) {
                best = Some(candidate);
            }
        }
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn generated_codes_verify_at_their_step_only(
            key in proptest::collection::vec(any::<u8>(), 1..80),
            t in 0i64..4_000_000_000,
            alg in prop_oneof![Just(Algorithm::Sha1), Just(Algorithm::Sha256), Just(Algorithm::Sha512)],
            digits in 6u8..=8,
            period in 1u32..=120,
            skew in 0u32..3,
        ) {
            let params = TotpParams { algorithm: alg, digits, period };
            let totp = Totp::new(SecretBytes::new(key), params).unwrap();
            let code = totp.code_at(t).unwrap();
            prop_assert_eq!(code.len(), usize::from(digits));
            let step = params.step_at(t).unwrap();
            let m = totp.verify(&code, t, skew, None).unwrap().unwrap();
            prop_assert!(m.step.abs_diff(step) <= u64::from(skew));
            prop_assert!(totp.verify(&code, t, skew, Some(step + u64::from(skew))).unwrap().is_none());
        }
    }

    #[test]
    fn known_app_secret() {
        // "JBSWY3DPEHPK3PXP" is the classic example key of Google's key URI documentation.
        let key = crate::secret::decode_base32("JBSWY3DPEHPK3PXP").unwrap();
        let t = Totp::new(key, TotpParams::default()).unwrap();
        assert_eq!(t.code_at(0).unwrap().len(), 6);
        assert_eq!(t.code_at(29).unwrap(), t.code_at(0).unwrap());
        assert!(t.code_at(-1).is_err());
    }

    #[test]
    fn params_validation() {
        assert!(TotpParams::default().problems().is_empty());
        assert!(TotpParams::default().compatibility_warnings().is_empty());
        let p = TotpParams { algorithm: Algorithm::Sha512, digits: 9, period: 0 };
        assert_eq!(p.problems().len(), 2);
        assert_eq!(p.compatibility_warnings().len(), 3);
        assert!(Totp::new(SecretBytes::from_slice(b"k"), p).is_err());
        assert!(Totp::new(SecretBytes::new(vec![]), TotpParams::default()).is_err());
        assert_eq!("sha-256".parse::<Algorithm>().unwrap(), Algorithm::Sha256);
        assert!("md5".parse::<Algorithm>().is_err());
    }

    #[test]
    fn malformed_codes_do_not_match() {
        let t = Totp::new(SecretBytes::from_slice(b"12345678901234567890"), TotpParams::default()).unwrap();
        let good = t.code_at(1_000_000).unwrap();
        assert!(t.verify(&good, 1_000_000, 0, None).unwrap().is_some());
        let spaced = format!("{} {}", &good[..3], &good[3..]);
        assert!(t.verify(&spaced, 1_000_000, 0, None).unwrap().is_some());
        for bad in ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "+12345", "-12345"] {
            assert!(t.verify(bad, 1_000_000, 1, None).unwrap().is_none(), "{bad}");
        }
    }
}
