//! The crate's error type.

use palisade_core::throttle::ThrottleError;
use palisade_core::{ErrorClass, SealError};
use thiserror::Error;
use time::{Duration, OffsetDateTime};

/// Everything that can go wrong in `palisade-totp`.
///
/// Messages never contain a secret, a code, a recovery code or a device token.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The base32 text of a secret could not be decoded.
    #[error(
        "the secret is not valid base32 ({0}): use the letters A-Z and digits 2-7, as shown by the enrolling app"
    )]
    BadSecret(String),
    /// A parameter (digits, period, skew, issuer, account...) is out of range or malformed.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// An `otpauth://` key URI could not be understood.
    #[error("invalid otpauth key URI: {0}")]
    BadUri(String),
    /// The time is before the Unix epoch (T0) or too far away to be a TOTP time.
    #[error("the time {0} is outside the range TOTP covers (from 1970-01-01 UTC): check the clock")]
    TimeOutOfRange(i64),
    /// The QR code could not be rendered (the key URI is too long for a QR code).
    #[error("the QR code could not be rendered: {0}")]
    Qr(String),
    /// The code is wrong (or outside the skew window). Counted as a failed attempt.
    #[error("the code is not valid for this user now; {remaining} attempts left before a lockout")]
    InvalidCode {
        /// Failed attempts left before the lockout.
        remaining: u32,
    },
    /// The code is right but its time step was already used (or an earlier one was): a replay.
    #[error("this code (time step {step}) was already used; wait for the next code")]
    Replayed {
        /// The time step of the replayed code.
        step: u64,
    },
    /// Too many failed attempts: TOTP is locked for this user until `until`.
    #[error(
        "too many failed codes: two-factor authentication is locked until {until} (retry in {retry_after})"
    )]
    LockedOut {
        /// When the lockout ends.
        until: OffsetDateTime,
        /// How long to wait.
        retry_after: Duration,
    },
    /// The recovery code is not one of the user's unused codes.
    #[error(
        "the recovery code is not valid (unknown or already used); {remaining} attempts left before a lockout"
    )]
    InvalidRecoveryCode {
        /// Failed attempts left before the lockout.
        remaining: u32,
    },
    /// The remembered-device token is unknown, expired, revoked, or for another user.
    #[error("the remembered-device token is not valid for this user: ask for a code")]
    InvalidDeviceToken,
    /// The user has no active two-factor enrollment.
    #[error("the user has no active two-factor enrollment: enroll first")]
    NotEnrolled,
    /// The user has no pending enrollment to confirm, or it expired.
    #[error(
        "there is no pending enrollment to confirm (none started, or it expired): start enrollment again"
    )]
    NoPendingEnrollment,
    /// The user already has an active enrollment; reset it first.
    #[error(
        "the user already has an active two-factor enrollment: an admin reset (or the user's own removal) comes first"
    )]
    AlreadyEnrolled,
    /// The organization's policy does not allow this (e.g. remembered devices are off).
    #[error("not allowed by the organization's policy: {0}")]
    PolicyForbids(String),
    /// A configuration or policy is invalid; every problem is listed.
    #[error("invalid configuration: {}", .0.join("; "))]
    Config(Vec<String>),
    /// A storage backend failed; nothing was changed. Retry later.
    #[error("the two-factor store failed: {0}; retry later")]
    Store(String),
    /// The throttle store failed; the attempt is refused (fail closed).
    #[error(transparent)]
    Throttle(#[from] ThrottleError),
    /// The sealed secret could not be sealed or opened.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The OS random number generator failed.
    #[error(transparent)]
    Random(#[from] palisade_core::random::RandomError),
}

impl Error {
    /// How a caller should treat the error (and the CLI exit code).
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::InvalidCode { .. }
            | Error::Replayed { .. }
            | Error::LockedOut { .. }
            | Error::InvalidRecoveryCode { .. }
            | Error::InvalidDeviceToken
            | Error::NotEnrolled
            | Error::NoPendingEnrollment
            | Error::AlreadyEnrolled
            | Error::PolicyForbids(_) => ErrorClass::Rejected,
            Error::BadSecret(_)
            | Error::InvalidParameter(_)
            | Error::BadUri(_)
            | Error::TimeOutOfRange(_)
            | Error::Qr(_)
            | Error::Config(_) => ErrorClass::Usage,
            Error::Store(_) | Error::Throttle(_) | Error::Random(_) => ErrorClass::Unavailable,
            Error::Seal(e) => e.class(),
        }
    }
}

/// `Result` with [`Error`](enum@Error).
pub type Result<T> = std::result::Result<T, Error>;
