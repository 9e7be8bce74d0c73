//! The crate's error type. Messages never contain a password, a hash's digest or a pepper.

use palisade_core::ErrorClass;
use thiserror::Error;

/// Everything that can go wrong in `palisade-password` apart from a policy verdict
/// (those are [`crate::Violations`]) and a wrong password (that is `Ok(false)`-like data).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A stored hash string could not be parsed.
    #[error("malformed {scheme} hash: {reason}; store the hash exactly as the hashing library produced it")]
    MalformedHash {
        /// The scheme recognised from the prefix (`argon2id`, `bcrypt`, `pbkdf2-sha256`, `unknown`).
        scheme: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The hash uses a scheme this crate does not verify.
    #[error(
        "unsupported hash scheme {prefix:?}: palisade verifies argon2id/argon2i/argon2d, bcrypt ($2a$/$2b$/$2y$/$2x$) and PBKDF2-SHA256/SHA512"
    )]
    UnsupportedScheme {
        /// The hash's prefix, up to its second `$` (never the digest).
        prefix: String,
    },
    /// A stored hash asks for more work than the configured limits allow (a forged hash could
    /// otherwise exhaust memory or CPU).
    #[error(
        "{scheme} hash asks for {what} = {value}, above the limit {limit}: raise `VerifyLimits` if the hash is genuine"
    )]
    CostTooHigh {
        /// The scheme.
        scheme: &'static str,
        /// The parameter.
        what: &'static str,
        /// Its value in the hash.
        value: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A hash was made with a pepper whose id is not configured.
    #[error(
        "the hash was made with pepper id {keyid:?}, which is not configured: add it to the hasher's old peppers"
    )]
    UnknownPepper {
        /// The key id found in the hash (hex).
        keyid: String,
    },
    /// The password is longer than any policy allows; it was not hashed.
    #[error("the password is {len} bytes long, above the {max}-byte limit for hashing: refuse it")]
    PasswordTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Invalid hashing parameters or configuration.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Too many hash operations were in flight or queued; the request was shed.
    #[error(
        "password hashing is saturated ({in_flight} running, {waiting} waiting): refuse the request and let the client retry later"
    )]
    Overloaded {
        /// Hash operations running.
        in_flight: usize,
        /// Hash operations waiting for a slot.
        waiting: usize,
    },
    /// The breached-password source failed.
    #[error("breached-password list: {0}")]
    Breached(String),
    /// Reading a policy or list file failed.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The throttle store failed; treat the login as refused.
    #[error(transparent)]
    Throttle(#[from] palisade_core::throttle::ThrottleError),
    /// The OS random number generator failed.
    #[error(transparent)]
    Random(#[from] palisade_core::random::RandomError),
    /// A blocking hashing task could not be joined (the runtime is shutting down).
    #[error("the hashing task did not complete: {0}")]
    Task(String),
}

impl Error {
    /// How a caller (and the CLI) should treat this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Overloaded { .. }
            | Error::Breached(_)
            | Error::Throttle(_)
            | Error::Random(_)
            | Error::Task(_) => ErrorClass::Unavailable,
            Error::PasswordTooLong { .. } => ErrorClass::Rejected,
            _ => ErrorClass::Usage,
        }
    }

    pub(crate) fn malformed(scheme: &'static str, reason: impl Into<String>) -> Self {
        Error::MalformedHash { scheme, reason: reason.into() }
    }
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
