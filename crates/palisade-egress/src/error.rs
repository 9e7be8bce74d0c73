//! Errors of palisade-egress.

use palisade_core::ErrorClass;
use palisade_core::net::NetError;
use thiserror::Error;

/// Errors of this crate. A *denied* request is not an error: it is a [`crate::Decision`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL does not parse (WHATWG URL Standard).
    #[error("{url:?} is not a valid URL: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// The parser's reason.
        reason: String,
    },
    /// The URL has no host (e.g. `mailto:` or `file:`).
    #[error("{0:?} has no host to connect to")]
    NoHost(String),
    /// Policy problems; every one is listed.
    #[error("invalid egress policy: {}", .0.join("; "))]
    Policy(Vec<String>),
    /// A rule's network is malformed.
    #[error("rule {rule}: {error}")]
    BadNetwork {
        /// Which rule (e.g. `allow[3]`).
        rule: String,
        /// What was wrong.
        error: NetError,
    },
    /// A `--resolve`-style pin is malformed.
    #[error("bad resolve pin {0:?}: write HOST=ADDR[,ADDR...]")]
    BadPin(String),
    /// Name resolution failed.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The host name.
        host: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// How a caller should treat the error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Resolve { .. } => ErrorClass::Unavailable,
            _ => ErrorClass::Usage,
        }
    }
}

/// Result with this crate's [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;
