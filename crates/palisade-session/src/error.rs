//! The crate's error type.

use palisade_core::ErrorClass;
use palisade_core::random::RandomError;
use thiserror::Error;

use crate::policy::PolicyProblem;
use crate::record::RevocationReason;

/// Why a presented session token was not accepted. Every variant is a verdict on the request,
/// never a fault of the service; the tower layer sends [`Rejection::code`] in a response header.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Rejection {
    /// No session has this token: it was never issued, is malformed, or was purged.
    #[error("unknown session: sign in again")]
    Unknown,
    /// The session was idle for longer than its effective idle timeout.
    #[error("the session expired after inactivity: sign in again")]
    IdleExpired,
    /// The session reached its absolute lifetime, counted from sign-in.
    #[error("the session reached its maximum lifetime: sign in again")]
    AbsoluteExpired,
    /// The session was revoked (signed out, rotated, evicted, or a security change).
    #[error("the session was revoked ({0}): sign in again")]
    Revoked(RevocationReason),
    /// The session belongs to another tenant than the one the request addresses.
    #[error("the session belongs to another organization: sign in to this one")]
    TenantMismatch,
}

impl Rejection {
    /// A short stable code for headers, logs and metrics: `unknown`, `idle-expired`,
    /// `absolute-expired`, `revoked`, `tenant-mismatch`.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Unknown => "unknown",
            Rejection::IdleExpired => "idle-expired",
            Rejection::AbsoluteExpired => "absolute-expired",
            Rejection::Revoked(_) => "revoked",
            Rejection::TenantMismatch => "tenant-mismatch",
        }
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The presented token was not accepted (see [`Rejection`]).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The user already has the maximum number of concurrent sessions and the organization's
    /// policy refuses new ones.
    #[error(
        "the user already has {active} active sessions and the organization allows {max}: sign out of another device first"
    )]
    SessionLimitReached {
        /// Sessions active now.
        active: usize,
        /// The organization's limit.
        max: u32,
    },
    /// The action needs an authentication more recent than the policy's re-authentication window.
    #[error("this action needs a sign-in within the last {window_minutes} minutes: authenticate again")]
    ReauthenticationRequired {
        /// The window, in minutes.
        window_minutes: i64,
    },
    /// A policy or configuration is invalid; every problem is listed.
    #[error("invalid session configuration: {}", join(.0))]
    InvalidConfig(Vec<PolicyProblem>),
    /// The session store failed. Nothing was changed by the failed call; retry later.
    #[error("session store ({backend}) failed: {message}; retry later")]
    Store {
        /// Which backend.
        backend: &'static str,
        /// What the backend said (never a token).
        message: String,
    },
    /// The store holds a record this version cannot read.
    #[error("session store ({backend}) holds a malformed record: {message}")]
    CorruptRecord {
        /// Which backend.
        backend: &'static str,
        /// What was wrong.
        message: String,
    },
    /// The operating system's random generator failed; no token was issued.
    #[error(transparent)]
    Random(#[from] RandomError),
}

fn join(problems: &[PolicyProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl Error {
    /// How a caller (and the CLI) should treat this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Rejected(_)
            | Error::SessionLimitReached { .. }
            | Error::ReauthenticationRequired { .. } => ErrorClass::Rejected,
            Error::InvalidConfig(_) => ErrorClass::Usage,
            Error::Store { .. } | Error::CorruptRecord { .. } | Error::Random(_) => ErrorClass::Unavailable,
        }
    }

    /// The rejection, when this error is one.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Error::Rejected(r) => Some(r),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`](enum@Error).
pub type Result<T> = std::result::Result<T, Error>;
