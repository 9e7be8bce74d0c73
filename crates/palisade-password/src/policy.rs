//! The password policy: a serde-loadable [`Policy`], its presets, and
//! [`Policy::validate`], which reports every [`Violation`] at once.
//!
//! ## Rules, and the standard each follows
//! | rule | field | source |
//! |---|---|---|
//! | length in Unicode scalar values after NFKC | `min_length`, `max_length` | NIST SP 800-63B-4 §3.1.1.2 (min 15 single-factor / 8 with MFA; allow at least 64; normalize with NFKC) |
//! | no control characters | always | NIST SP 800-63B-4 §3.1.1.2 ("printing" characters and spaces are allowed) |
//! | required classes / minimum classes | `required_classes`, `min_classes` | PCI DSS v4.0 req. 8.3.6; CIS / Active Directory "complexity" (NIST forbids composition rules) |
//! | minimum zxcvbn strength score, with user-specific words | `min_strength` | NIST SP 800-63B-4 §3.1.1.2 (reject "expected" and context-specific words) |
//! | not containing the username or e-mail local part | `reject_user_info` | NIST SP 800-63B-4 §3.1.1.2 (context-specific words) |
//! | not on a breached list (count at or above a threshold) | `breached_threshold` | NIST SP 800-63B-4 §3.1.1.2 (blocklist of compromised passwords) |
//! | not one of the last N passwords | `history` | PCI DSS v4.0 req. 8.3.7 (N ≥ 4); CIS benchmark (N = 24) |
//! | maximum age, warning window, forced change | `max_age_days`, `expiry_warning_days` | PCI DSS v4.0 req. 8.3.9 (90 days); NIST forbids periodic rotation |
//! | minimum age (anti-cycling) | `min_age_days` | CIS benchmark (1 day) |
//!
//! ## Cost control
//! A candidate longer than `4 × max_length` scalar values (before normalization) is reported as
//! `too_long` alone: no normalization, no strength estimate, no hashing, so a 1 MB "password"
//! from an unauthenticated caller costs one linear scan. zxcvbn estimates on the first 100
//! scalar values.
//!
//! ```
//! use palisade_core::SecretString;
//! use palisade_password::{Context, Policy, ViolationCode};
//!
//! let policy = Policy::nist_800_63b();
//! let ctx = Context::new().username("alice").email("alice@example.com");
//! assert!(policy.validate(&SecretString::from("tangerine quartz lighthouse 1987"), &ctx).is_ok());
//!
//! let err = policy.validate(&SecretString::from("alice123"), &ctx).unwrap_err();
//! let codes: Vec<_> = err.iter().map(|v| v.code).collect();
//! assert_eq!(codes, [ViolationCode::TooShort, ViolationCode::TooWeak, ViolationCode::ContainsUsername, ViolationCode::ContainsEmail]);
//! assert_eq!(err.iter().next().unwrap().params["min"], 15);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use palisade_core::SecretString;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::breached::{BreachedPasswords, sha1_digest};
use crate::error::{Error, Result};
use crate::hash::Hasher;

/// A character class for composition rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CharClass {
    /// A lowercase letter (any script with case).
    Lower,
    /// An uppercase or titlecase letter.
    Upper,
    /// A numeric character.
    Digit,
    /// Anything else that is printable: punctuation, symbols, spaces, emoji.
    Symbol,
}

impl CharClass {
    fn name(self) -> &'static str {
        match self {
            CharClass::Lower => "lowercase letter",
            CharClass::Upper => "uppercase letter",
            CharClass::Digit => "digit",
            CharClass::Symbol => "symbol",
        }
    }
}

/// A password policy, per organization. Deserializes from TOML or JSON with secure defaults
/// (the NIST preset) for every field not given; unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Fewest Unicode scalar values after NFKC normalization.
    pub min_length: u32,
    /// Most Unicode scalar values after NFKC normalization (at least 64).
    pub max_length: u32,
    /// Classes that must each appear.
    pub required_classes: Vec<CharClass>,
    /// How many classes must appear (letters without case, as in most non-Latin scripts, count
    /// as a fifth class here, as in Active Directory).
    pub min_classes: u32,
    /// Lowest acceptable zxcvbn score (0–4), or none.
    #[serde(alias = "min_score")]
    pub min_strength: Option<u8>,
    /// Refuse passwords that equal or contain the username or the e-mail local part
    /// (case-insensitive, after NFKC; identifiers shorter than 3 characters are only compared
    /// for equality).
    pub reject_user_info: bool,
    /// A password seen this many times or more in breaches is refused (needs a
    /// [`BreachedPasswords`] in the [`Context`]).
    pub breached_threshold: u64,
    /// How many previous passwords may not be reused (0 = no history rule).
    pub history: u32,
    /// Passwords expire this many days after they were set (none = never).
    pub max_age_days: Option<u32>,
    /// Warn this many days before expiry.
    pub expiry_warning_days: u32,
    /// A password cannot be changed again within this many days (none = any time), unless a
    /// change is required.
    pub min_age_days: Option<u32>,
}

impl Default for Policy {
    /// [`Policy::nist_800_63b`].
    fn default() -> Self {
        Self::nist_800_63b()
    }
}

impl Policy {
    /// NIST SP 800-63B revision 4 (§3.1.1.2), the default: at least 15 characters (single-factor
    /// use), up to 128; no composition rules; no periodic expiry; the breached list (threshold 1)
    /// and context-specific words (username, e-mail) refused; zxcvbn score at least 3 as the
    /// check against "commonly used, expected" passwords when no list is loaded.
    pub fn nist_800_63b() -> Self {
        Self {
            min_length: 15,
            max_length: 128,
            required_classes: Vec::new(),
            min_classes: 0,
            min_strength: Some(3),
            reject_user_info: true,
            breached_threshold: 1,
            history: 0,
            max_age_days: None,
            expiry_warning_days: 14,
            min_age_days: None,
        }
    }

    /// [`Policy::nist_800_63b`] for passwords used only as one factor of multi-factor
    /// authentication: NIST SP 800-63B-4 §3.1.1.2 lowers the minimum length to 8.
    pub fn nist_800_63b_mfa() -> Self {
        Self { min_length: 8, ..Self::nist_800_63b() }
    }

    /// For organizations whose auditors require composition and rotation (PCI DSS v4.0 §8.3,
    /// CIS benchmarks): at least 12 characters with a lowercase and an uppercase letter, a digit
    /// and a symbol; zxcvbn score at least 3; the last 24 passwords refused; expiry after 90
    /// days with a 14-day warning; a minimum age of 1 day; breached list and user info refused.
    pub fn enterprise() -> Self {
        Self {
            min_length: 12,
            max_length: 128,
            required_classes: vec![CharClass::Lower, CharClass::Upper, CharClass::Digit, CharClass::Symbol],
            min_classes: 0,
            min_strength: Some(3),
            reject_user_info: true,
            breached_threshold: 1,
            history: 24,
            max_age_days: Some(90),
            expiry_warning_days: 14,
            min_age_days: Some(1),
        }
    }

    /// A preset by name: `nist` (or `nist_800_63b`, `nist-800-63b`), `nist-mfa` or `enterprise`.
    pub fn preset(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().replace('_', "-").as_str() {
            "nist-mfa" | "nist-800-63b-mfa" => Some(Self::nist_800_63b_mfa()),
            "nist" | "nist-800-63b" | "default" => Some(Self::nist_800_63b()),
            "enterprise" => Some(Self::enterprise()),
            _ => None,
        }
    }

    /// Parses a policy from TOML or JSON text (`format` is `"toml"` or `"json"`) and checks it.
    ///
    /// Fields not given come from the NIST preset, or from the preset named by an optional
    /// `preset` key (`"nist"`, `"nist-mfa"`, `"enterprise"`), so a file can say
    /// `preset = "enterprise"` and change only what differs.
    pub fn from_str_as(text: &str, format: &str) -> Result<Self> {
        let cfg = |e: String| Error::Config(e);
        let mut value: serde_json::Value = match format {
            "toml" => {
                let t: toml::Value = toml::from_str(text).map_err(|e| cfg(e.to_string()))?;
                serde_json::to_value(t).map_err(|e| cfg(e.to_string()))?
            }
            "json" => serde_json::from_str(text).map_err(|e| cfg(e.to_string()))?,
            other => return Err(cfg(format!("unknown policy format {other:?}: use toml or json"))),
        };
        let Some(fields) = value.as_object_mut() else {
            return Err(cfg("a policy must be a table / object of fields".to_owned()));
        };
        let base = match fields.remove("preset") {
            None => Self::nist_800_63b(),
            Some(serde_json::Value::String(name)) => Self::preset(&name)
                .ok_or_else(|| cfg(format!("unknown preset {name:?}: use nist, nist-mfa or enterprise")))?,
            Some(_) => return Err(cfg("preset must be a string: nist, nist-mfa or enterprise".to_owned())),
        };
        let mut merged = serde_json::to_value(&base).map_err(|e| cfg(e.to_string()))?;
        if let Some(m) = merged.as_object_mut() {
            for (k, v) in std::mem::take(fields) {
                let k = if k == "min_score" { "min_strength".to_owned() } else { k };
                m.insert(k, v);
            }
        }
        let policy: Policy = serde_json::from_value(merged).map_err(|e| cfg(e.to_string()))?;
        let problems = policy.validate_config();
        if problems.is_empty() { Ok(policy) } else { Err(Error::Config(problems.join("; "))) }
    }

    /// Loads a policy file, TOML or JSON by its extension (`.toml`, `.json`).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let io = |e: std::io::Error| Error::Io { path: path.display().to_string(), reason: e.to_string() };
        let text = std::fs::read_to_string(path).map_err(io)?;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match ext.as_str() {
            "toml" | "json" => Self::from_str_as(&text, &ext),
            _ => Err(Error::Config(format!("{}: a policy file must end in .toml or .json", path.display()))),
        }
    }

    /// Every problem with the policy itself (empty when it is usable). Named apart from
    /// [`Policy::validate`], which judges a candidate password.
    pub fn validate_config(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.min_length == 0 {
            p.push("min_length is 0: use at least 8 (NIST: 15 for single-factor use)".to_owned());
        }
        if self.max_length < 64 {
            p.push(format!(
                "max_length is {}: NIST SP 800-63B requires allowing at least 64",
                self.max_length
            ));
        }
        if self.max_length > 4096 {
            p.push(format!("max_length is {}: use at most 4096", self.max_length));
        }
        if self.min_length > self.max_length {
            p.push(format!("min_length ({}) exceeds max_length ({})", self.min_length, self.max_length));
        }
        if self.min_classes > 5 {
            p.push(format!("min_classes is {}: there are at most 5 classes", self.min_classes));
        }
        if self.min_strength.is_some_and(|s| s > 4) {
            p.push("min_strength must be 0 to 4 (the zxcvbn score)".to_owned());
        }
        if self.breached_threshold == 0 {
            p.push("breached_threshold is 0: use 1 to refuse any breached password".to_owned());
        }
        if self.history > 100 {
            p.push(format!("history is {}: use at most 100", self.history));
        }
        if self.max_age_days == Some(0) {
            p.push("max_age_days is 0: leave it out for no expiry".to_owned());
        }
        if let (Some(min), Some(max)) = (self.min_age_days, self.max_age_days)
            && min >= max
        {
            p.push(format!("min_age_days ({min}) must be below max_age_days ({max})"));
        }
        p
    }

    /// Judges `candidate` in `ctx`. Returns every violation at once, in a fixed order; never
    /// includes the password in the result.
    pub fn validate(
        &self,
        candidate: &SecretString,
        ctx: &Context<'_>,
    ) -> std::result::Result<(), Violations> {
        let mut out = Vec::new();
        let raw = candidate.expose_secret();
        let max = self.max_length as usize;
        let cap = max.saturating_mul(4);
        if raw.chars().nth(cap).is_some() {
            out.push(Violation::new(
                ViolationCode::TooLong,
                [("max", max as u64), ("actual", raw.chars().count() as u64)],
                format!("must be at most {max} characters"),
            ));
            return Err(Violations(out));
        }
        let normalized: Zeroizing<String> = Zeroizing::new(raw.nfkc().collect());
        let len = normalized.chars().count();
        if len < self.min_length as usize {
            out.push(Violation::new(
                ViolationCode::TooShort,
                [("min", u64::from(self.min_length)), ("actual", len as u64)],
                format!("must be at least {} characters (it has {len})", self.min_length),
            ));
        }
        if len > max {
            out.push(Violation::new(
                ViolationCode::TooLong,
                [("max", max as u64), ("actual", len as u64)],
                format!("must be at most {max} characters (it has {len})"),
            ));
        }
        let controls = normalized.chars().filter(|c| c.is_control()).count();
        if controls > 0 {
            out.push(Violation::new(
                ViolationCode::ControlCharacter,
                [("count", controls as u64)],
                format!(
                    "contains {controls} control character(s) (tab, newline, …): use printable characters"
                ),
            ));
        }
        self.check_classes(&normalized, &mut out);
        let lower = normalized.to_lowercase();
        if let Some(min) = self.min_strength {
            let inputs = ctx.dictionary_words();
            let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            // zxcvbn looks at the first 100 scalar values itself; the cap above bounds the rest.
            let score = u8::from(zxcvbn::zxcvbn(&normalized, &refs).score());
            if score < min {
                out.push(Violation::new(
                    ViolationCode::TooWeak,
                    [("min_score", u64::from(min)), ("score", u64::from(score))],
                    format!(
                        "is too easy to guess (strength {score} of 4, at least {min} needed): avoid common words, names, dates and patterns"
                    ),
                ));
            }
        }
        if self.reject_user_info {
            if let Some(user) = ctx.username.map(fold).filter(|u| contains_identifier(&lower, u)) {
                drop(user);
                out.push(Violation::new(
                    ViolationCode::ContainsUsername,
                    [],
                    "must not contain the username".to_owned(),
                ));
            }
            let local = ctx.email.map(|e| fold(e.rsplit_once('@').map_or(e, |(l, _)| l)));
            if local.is_some_and(|l| contains_identifier(&lower, &l)) {
                out.push(Violation::new(
                    ViolationCode::ContainsEmail,
                    [],
                    "must not contain the e-mail address or its part before the @".to_owned(),
                ));
            }
        }
        if let Some(list) = ctx.breached {
            match breached_count(list, raw, &normalized) {
                Ok(count) if count >= self.breached_threshold.max(1) => out.push(Violation::new(
                    ViolationCode::Breached,
                    [("count", count), ("threshold", self.breached_threshold.max(1))],
                    format!(
                        "has appeared in data breaches {count} time(s): choose a password not used elsewhere"
                    ),
                )),
                Ok(_) => {}
                Err(e) => out.push(unavailable("breached-password list", &e)),
            }
        }
        if self.history > 0
            && let Some((hasher, hashes)) = ctx.history
        {
            let mut reused = false;
            for stored in hashes.iter().take(self.history as usize) {
                match hasher.verify(candidate, stored) {
                    Ok(v) if v.matched => {
                        reused = true;
                        break;
                    }
                    Ok(_) => {}
                    Err(e @ Error::Overloaded { .. }) => {
                        out.push(unavailable("password history", &e));
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, "skipping an unusable password-history entry"),
                }
            }
            if reused {
                out.push(Violation::new(
                    ViolationCode::Reused,
                    [("history", u64::from(self.history))],
                    format!("must not be one of the last {} passwords", self.history),
                ));
            }
        }
        if let (Some(days), Some(changed), Some(now), false) =
            (self.min_age_days, ctx.last_changed, ctx.now, ctx.change_required)
        {
            let earliest = changed + Duration::days(i64::from(days));
            if now < earliest {
                out.push(Violation::new(
                    ViolationCode::TooSoon,
                    [
                        ("min_age_days", u64::from(days)),
                        ("retry_after_seconds", (earliest - now).whole_seconds().max(0) as u64),
                    ],
                    format!("the password was changed less than {days} day(s) ago: try again later"),
                ));
            }
        }
        if out.is_empty() { Ok(()) } else { Err(Violations(out)) }
    }

    fn check_classes(&self, pw: &str, out: &mut Vec<Violation>) {
        let (mut lower, mut upper, mut digit, mut symbol, mut other) = (false, false, false, false, false);
        for c in pw.chars() {
            if c.is_control() {
                continue;
            } else if c.is_lowercase() {
                lower = true;
            } else if c.is_uppercase() || (c.is_alphabetic() && c.to_lowercase().next() != Some(c)) {
                upper = true;
            } else if c.is_numeric() {
                digit = true;
            } else if c.is_alphabetic() {
                other = true;
            } else {
                symbol = true;
            }
        }
        let mut required = self.required_classes.clone();
        required.sort();
        required.dedup();
        for class in required {
            let present = match class {
                CharClass::Lower => lower,
                CharClass::Upper => upper,
                CharClass::Digit => digit,
                CharClass::Symbol => symbol,
            };
            if !present {
                let code = match class {
                    CharClass::Lower => ViolationCode::MissingLowercase,
                    CharClass::Upper => ViolationCode::MissingUppercase,
                    CharClass::Digit => ViolationCode::MissingDigit,
                    CharClass::Symbol => ViolationCode::MissingSymbol,
                };
                out.push(Violation::new(code, [], format!("must contain at least one {}", class.name())));
            }
        }
        let count = [lower, upper, digit, symbol, other].iter().filter(|b| **b).count() as u64;
        if count < u64::from(self.min_classes) {
            out.push(Violation::new(
                ViolationCode::TooFewClasses,
                [("min", u64::from(self.min_classes)), ("actual", count)],
                format!(
                    "must mix at least {} kinds of characters (lowercase, uppercase, digits, symbols); it has {count}",
                    self.min_classes
                ),
            ));
        }
    }
}

fn fold(s: &str) -> String {
    s.nfkc().collect::<String>().to_lowercase()
}

fn contains_identifier(password_lower: &str, ident: &str) -> bool {
    let ident = ident.trim();
    if ident.is_empty() {
        return false;
    }
    if ident.chars().count() < 3 { password_lower == ident } else { password_lower.contains(ident) }
}

fn breached_count(list: &dyn BreachedPasswords, raw: &str, normalized: &str) -> Result<u64> {
    let mut count = list.occurrences(&sha1_digest(raw))?;
    if normalized != raw {
        count = count.max(list.occurrences(&sha1_digest(normalized))?);
    }
    Ok(count)
}

fn unavailable(what: &str, e: &Error) -> Violation {
    Violation::new(
        ViolationCode::CheckUnavailable,
        [],
        format!("could not be checked against the {what} ({e}): try again later"),
    )
}

/// What [`Policy::validate`] knows about the user and the account.
#[derive(Clone, Default)]
pub struct Context<'a> {
    /// The account's username.
    pub username: Option<&'a str>,
    /// The account's e-mail address.
    pub email: Option<&'a str>,
    /// More user- or organization-specific words for the strength estimate (display name,
    /// organization, product names).
    pub words: Vec<&'a str>,
    /// The breached-password source.
    pub breached: Option<&'a dyn BreachedPasswords>,
    /// The hasher and the previous password hashes, newest first.
    pub history: Option<(&'a Hasher, &'a [String])>,
    /// When the current password was set (for the minimum age).
    pub last_changed: Option<OffsetDateTime>,
    /// The current time, from the host's `Clock` (for the minimum age).
    pub now: Option<OffsetDateTime>,
    /// A change is required (admin reset, expiry): the minimum age does not apply.
    pub change_required: bool,
}

impl fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("words", &self.words)
            .field("breached", &self.breached)
            .field("history", &self.history.map(|(_, h)| h.len()))
            .field("last_changed", &self.last_changed)
            .field("now", &self.now)
            .field("change_required", &self.change_required)
            .finish()
    }
}

impl<'a> Context<'a> {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the username.
    pub fn username(mut self, u: &'a str) -> Self {
        self.username = Some(u);
        self
    }
    /// Sets the e-mail address.
    pub fn email(mut self, e: &'a str) -> Self {
        self.email = Some(e);
        self
    }
    /// Adds a word for the strength estimate.
    pub fn word(mut self, w: &'a str) -> Self {
        self.words.push(w);
        self
    }
    /// Sets the breached-password source.
    pub fn breached(mut self, b: &'a dyn BreachedPasswords) -> Self {
        self.breached = Some(b);
        self
    }
    /// Sets the password history (hashes, newest first) and the hasher that verifies them.
    pub fn history(mut self, hasher: &'a Hasher, hashes: &'a [String]) -> Self {
        self.history = Some((hasher, hashes));
        self
    }
    /// Sets when the current password was set and the current time.
    pub fn changed(mut self, last_changed: OffsetDateTime, now: OffsetDateTime) -> Self {
        self.last_changed = Some(last_changed);
        self.now = Some(now);
        self
    }
    /// Marks a required change (the minimum age does not apply).
    pub fn change_required(mut self, required: bool) -> Self {
        self.change_required = required;
        self
    }

    fn dictionary_words(&self) -> Vec<String> {
        let mut words: Vec<String> = Vec::new();
        let mut add = |w: &str| {
            let w = w.trim();
            if !w.is_empty() && !words.iter().any(|x| x == w) {
                words.push(w.to_owned());
            }
        };
        if let Some(u) = self.username {
            add(u);
            u.split(|c: char| !c.is_alphanumeric()).for_each(&mut add);
        }
        if let Some(e) = self.email {
            add(e);
            e.split(|c: char| !c.is_alphanumeric()).for_each(&mut add);
        }
        for w in &self.words {
            add(w);
            w.split_whitespace().for_each(&mut add);
        }
        words
    }
}

/// A stable, machine-readable violation code. Serialized in `snake_case`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ViolationCode {
    /// Fewer than `min` characters. Params: `min`, `actual`.
    TooShort,
    /// More than `max` characters. Params: `max`, `actual`.
    TooLong,
    /// Contains control characters. Params: `count`.
    ControlCharacter,
    /// No lowercase letter.
    MissingLowercase,
    /// No uppercase letter.
    MissingUppercase,
    /// No digit.
    MissingDigit,
    /// No symbol.
    MissingSymbol,
    /// Fewer character classes than required. Params: `min`, `actual`.
    TooFewClasses,
    /// zxcvbn score below the minimum. Params: `min_score`, `score`.
    TooWeak,
    /// Equals or contains the username.
    ContainsUsername,
    /// Equals or contains the e-mail local part.
    ContainsEmail,
    /// On the breached list. Params: `count`, `threshold`.
    Breached,
    /// One of the last `history` passwords. Params: `history`.
    Reused,
    /// Changed too recently. Params: `min_age_days`, `retry_after_seconds`.
    TooSoon,
    /// A check could not run (breached list or history backend failed): fail closed.
    CheckUnavailable,
}

impl ViolationCode {
    /// The code as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationCode::TooShort => "too_short",
            ViolationCode::TooLong => "too_long",
            ViolationCode::ControlCharacter => "control_character",
            ViolationCode::MissingLowercase => "missing_lowercase",
            ViolationCode::MissingUppercase => "missing_uppercase",
            ViolationCode::MissingDigit => "missing_digit",
            ViolationCode::MissingSymbol => "missing_symbol",
            ViolationCode::TooFewClasses => "too_few_classes",
            ViolationCode::TooWeak => "too_weak",
            ViolationCode::ContainsUsername => "contains_username",
            ViolationCode::ContainsEmail => "contains_email",
            ViolationCode::Breached => "breached",
            ViolationCode::Reused => "reused",
            ViolationCode::TooSoon => "too_soon",
            ViolationCode::CheckUnavailable => "check_unavailable",
        }
    }
}

impl fmt::Display for ViolationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule: a stable code, its parameters and a message for people. Never contains
/// the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The stable code.
    pub code: ViolationCode,
    /// The rule's parameters and the measured values (`min`, `actual`, …).
    pub params: BTreeMap<&'static str, u64>,
    /// A message for the user, starting after an implied "The password …".
    pub message: String,
}

impl Violation {
    fn new<const N: usize>(code: ViolationCode, params: [(&'static str, u64); N], message: String) -> Self {
        Self { code, params: params.into_iter().collect(), message }
    }
}

/// Every violation of one candidate, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// The violations.
    pub fn iter(&self) -> std::slice::Iter<'_, Violation> {
        self.0.iter()
    }
    /// Whether `code` is among them.
    pub fn contains(&self, code: ViolationCode) -> bool {
        self.0.iter().any(|v| v.code == code)
    }
    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Always false for a returned `Violations`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The violations, owned.
    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }
}

impl<'a> IntoIterator for &'a Violations {
    type Item = &'a Violation;
    type IntoIter = std::slice::Iter<'a, Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the password ")?;
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} [{}]", v.message, v.code)?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}
