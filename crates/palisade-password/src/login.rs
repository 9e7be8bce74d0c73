//! Login throttling per account and per source address, on `palisade_core::throttle`, and
//! [`LoginGuard`], which puts throttling and verification together so that neither the answers
//! nor their timing reveal whether an account exists.
//!
//! * The account key is a SHA-256 of the NFKC-lowercased identifier the client typed, whether
//!   or not such an account exists: unknown names are counted and locked exactly like real
//!   ones. (Hashing also keeps identifiers out of the store and bounds key size.)
//! * The source key is the IPv4 address, or the /64 prefix of an IPv6 address (one subscriber
//!   usually holds a whole /64); IPv4-mapped IPv6 addresses count as IPv4.
//! * A success clears the account's counter, not the source's: otherwise an attacker holding
//!   one valid account could reset their address's counter between guesses at others.
//! * [`LoginGuard::attempt`] refuses a throttled attempt before any hashing, spends one
//!   verification's time on unknown accounts ([`Hasher::dummy_verify`]), and records failures
//!   for both keys.
//!
//! ```
//! use std::{net::IpAddr, sync::Arc};
//! use palisade_core::{ManualClock, SecretString, throttle::MemoryThrottleStore};
//! use palisade_password::{HashParams, Hasher, LoginGuard, LoginOutcome, LoginThrottle, LoginThrottleConfig};
//! use time::macros::datetime;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 00:00 UTC)));
//! let throttle = LoginThrottle::new(LoginThrottleConfig::default(), Arc::new(MemoryThrottleStore::default()), clock)?;
//! let hasher = Hasher::new(HashParams { memory_kib: 64, iterations: 1, ..HashParams::OWASP })?;
//! let stored = hasher.hash(&SecretString::from("a long and private passphrase"))?;
//! let guard = LoginGuard::new(hasher, throttle);
//! let ip: IpAddr = "203.0.113.7".parse().unwrap();
//!
//! let ok = guard.attempt("alice", ip, Some(&stored), SecretString::from("a long and private passphrase")).await?;
//! assert!(matches!(ok, LoginOutcome::Success { rehash: None }));
//! // Unknown account: same kind of answer as a wrong password.
//! let no = guard.attempt("mallory", ip, None, SecretString::from("guess")).await?;
//! assert!(matches!(no, LoginOutcome::Failure { .. }));
//! # Ok::<(), palisade_password::Error>(())
//! # }).unwrap();
//! ```

use std::net::IpAddr;
use std::sync::Arc;

use palisade_core::throttle::{Decision, Throttle, ThrottleKey, ThrottlePolicy, ThrottleStore};
use palisade_core::{SecretString, SharedClock};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};
use crate::hash::{Hasher, Upgrade};

const ACCOUNT_SCOPE: &str = "password-login-account";
const SOURCE_SCOPE: &str = "password-login-source";

/// The two throttling rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginThrottleConfig {
    /// Per account: by default 5 failures in 15 minutes lock it for 15 minutes, doubling up to
    /// 24 hours.
    pub account: ThrottlePolicy,
    /// Per source address: by default 50 failures in 15 minutes (room for a shared NAT) lock it
    /// for 15 minutes, doubling up to 24 hours.
    pub source: ThrottlePolicy,
}

impl Default for LoginThrottleConfig {
    fn default() -> Self {
        Self {
            account: ThrottlePolicy::default(),
            source: ThrottlePolicy { max_failures: 50, ..ThrottlePolicy::default() },
        }
    }
}

impl LoginThrottleConfig {
    /// Every problem with the configuration.
    pub fn validate(&self) -> Vec<String> {
        let mut p: Vec<String> =
            self.account.validate().into_iter().map(|e| format!("account: {e}")).collect();
        p.extend(self.source.validate().into_iter().map(|e| format!("source: {e}")));
        p
    }
}

/// Which key is throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThrottleScope {
    /// The account name (known or not).
    Account,
    /// The source address.
    Source,
}

/// Whether a login attempt may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginDecision {
    /// Go ahead.
    Allowed,
    /// Refuse without checking the password; tell the client to wait `retry_after`.
    Throttled {
        /// Which key is locked (for the host's logs; safe to show, it does not reveal whether
        /// the account exists).
        scope: ThrottleScope,
        /// When the attempt may be made.
        until: OffsetDateTime,
        /// How long to wait.
        retry_after: Duration,
    },
}

/// Per-account and per-source throttling of password logins.
#[derive(Debug, Clone)]
pub struct LoginThrottle {
    account: Throttle,
    source: Throttle,
}

impl LoginThrottle {
    /// Throttling with `config`, state in `store` (shared by both scopes), time from `clock`.
    pub fn new(
        config: LoginThrottleConfig,
        store: Arc<dyn ThrottleStore>,
        clock: SharedClock,
    ) -> Result<Self> {
        let problems = config.validate();
        if !problems.is_empty() {
            return Err(Error::Config(problems.join("; ")));
        }
        Ok(Self {
            account: Throttle::new(config.account, store.clone(), clock.clone()),
            source: Throttle::new(config.source, store, clock),
        })
    }

    /// Whether an attempt for `account` from `source` may be made now.
    pub async fn check(&self, account: &str, source: IpAddr) -> Result<LoginDecision> {
        let a = self.account.check(&account_key(account)).await?;
        let s = self.source.check(&source_key(source)).await?;
        Ok(combine(a, s))
    }

    /// Records a failed attempt against both keys; returns the decision for the next attempt.
    pub async fn record_failure(&self, account: &str, source: IpAddr) -> Result<LoginDecision> {
        let a = self.account.record_failure(&account_key(account)).await?;
        let s = self.source.record_failure(&source_key(source)).await?;
        Ok(combine(a, s))
    }

    /// Records a success: clears the account's counter (not the source's).
    pub async fn record_success(&self, account: &str, _source: IpAddr) -> Result<()> {
        self.account.record_success(&account_key(account)).await?;
        Ok(())
    }

    /// Clears an account's lockout (an administrator's unlock).
    pub async fn unlock_account(&self, account: &str) -> Result<()> {
        self.account.record_success(&account_key(account)).await?;
        Ok(())
    }
}

fn combine(account: Decision, source: Decision) -> LoginDecision {
    let lock = |d: Decision, scope| match d {
        Decision::Locked { until, retry_after } => Some((scope, until, retry_after)),
        _ => None,
    };
    // When both are locked, report the longer wait.
    match (lock(account, ThrottleScope::Account), lock(source, ThrottleScope::Source)) {
        (None, None) => LoginDecision::Allowed,
        (Some(x), None) | (None, Some(x)) => {
            LoginDecision::Throttled { scope: x.0, until: x.1, retry_after: x.2 }
        }
        (Some(a), Some(s)) => {
            let x = if s.1 > a.1 { s } else { a };
            LoginDecision::Throttled { scope: x.0, until: x.1, retry_after: x.2 }
        }
    }
}

fn account_key(account: &str) -> ThrottleKey {
    let folded: String = account.trim().nfkc().collect::<String>().to_lowercase();
    let digest = Sha256::digest(folded.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    ThrottleKey::new(ACCOUNT_SCOPE, &hex)
}

fn source_key(source: IpAddr) -> ThrottleKey {
    let subject = match source {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    };
    ThrottleKey::new(SOURCE_SCOPE, &subject)
}

/// The result of a login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginOutcome {
    /// The password is right. If `rehash` is set, store it in place of the old hash.
    Success {
        /// A fresh Argon2id hash when the stored one was legacy or weaker.
        rehash: Option<String>,
    },
    /// Wrong password or unknown account (indistinguishable by design).
    Failure {
        /// The decision for the next attempt.
        next: LoginDecision,
    },
    /// Refused without checking: wait `retry_after`.
    Throttled {
        /// When to try again.
        until: OffsetDateTime,
        /// How long to wait.
        retry_after: Duration,
    },
}

/// Throttling plus verification, in the order that leaks nothing. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LoginGuard {
    hasher: Hasher,
    throttle: LoginThrottle,
}

impl LoginGuard {
    /// A guard verifying with `hasher` and throttling with `throttle`.
    pub fn new(hasher: Hasher, throttle: LoginThrottle) -> Self {
        Self { hasher, throttle }
    }

    /// One login attempt. `stored` is the account's hash, or `None` when no such account
    /// exists (or it has no password). Hashing runs on tokio's blocking pool.
    pub async fn attempt(
        &self,
        account: &str,
        source: IpAddr,
        stored: Option<&str>,
        password: SecretString,
    ) -> Result<LoginOutcome> {
        if let LoginDecision::Throttled { until, retry_after, .. } =
            self.throttle.check(account, source).await?
        {
            return Ok(LoginOutcome::Throttled { until, retry_after });
        }
        let verdict = match stored {
            Some(hash) => self.hasher.verify_and_upgrade_async(password, hash.to_owned()).await?,
            None => {
                self.hasher.dummy_verify_async(password).await?;
                Upgrade::Mismatch
            }
        };
        match verdict {
            Upgrade::Mismatch => {
                let next = self.throttle.record_failure(account, source).await?;
                Ok(LoginOutcome::Failure { next })
            }
            Upgrade::Match => {
                self.throttle.record_success(account, source).await?;
                Ok(LoginOutcome::Success { rehash: None })
            }
            Upgrade::MatchRehashed(h) => {
                self.throttle.record_success(account, source).await?;
                Ok(LoginOutcome::Success { rehash: Some(h) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(account_key("Alice"), account_key(" alice "));
        assert_eq!(account_key("ＡＬＩＣＥ"), account_key("alice"));
        assert_ne!(account_key("alice"), account_key("bob"));
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_key(a), source_key(b));
        assert_ne!(source_key(a), source_key(c));
        let m: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(source_key(m), source_key("192.0.2.1".parse().unwrap()));
    }
}
