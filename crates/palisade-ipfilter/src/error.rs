//! Errors of palisade-ipfilter.

use std::net::IpAddr;

use palisade_core::ErrorClass;
use thiserror::Error;

pub use palisade_core::net::NetError as EntryError;

/// An entry that failed to parse, with where it was.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {error}")]
pub struct LineError {
    /// 1-based line number (or position in a list).
    pub line: usize,
    /// What was wrong.
    pub error: EntryError,
}

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// One or more entries are malformed; every problem is listed.
    #[error("{} malformed entr{}: {}", .0.len(), if .0.len() == 1 { "y" } else { "ies" },
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Malformed(Vec<LineError>),
    /// The change would deny the administrator making it.
    #[error(
        "refusing to enforce this allowlist: it does not allow your own address {admin}, so it would lock you out; \
         add your address, or force the change if you really mean it"
    )]
    WouldLockOut {
        /// The administrator's current client address.
        admin: IpAddr,
    },
    /// A peer address given as text could not be parsed.
    #[error("{0:?} is not an IP address (with an optional port)")]
    BadPeer(String),
}

impl Error {
    /// How a caller should treat the error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::WouldLockOut { .. } => ErrorClass::Rejected,
            Error::Malformed(_) | Error::BadPeer(_) => ErrorClass::Usage,
        }
    }
}

/// Result with this crate's [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;
