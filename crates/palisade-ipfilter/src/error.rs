//! Errors of palisade-ipfilter.

use std::net::IpAddr;

use palisade_core::ErrorClass;
use thiserror::Error;

/// Why one allowlist entry is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EntryError {
    /// Nothing to parse.
    #[error("empty entry: write an address (192.0.2.7) or a range (192.0.2.0/24)")]
    Empty,
    /// The address part is neither IPv4 nor IPv6.
    #[error("{0:?} is not an IPv4 or IPv6 address")]
    BadAddress(String),
    /// An IPv6 zone id (`fe80::1%eth0`) is not meaningful across hosts.
    #[error("zone ids ({0:?}) are not allowed: remove the '%...' part")]
    ZoneId(String),
    /// The prefix length is not a number in range.
    #[error("prefix length {found:?} is not a number from 0 to {max}")]
    BadPrefix {
        /// What was written after the `/`.
        found: String,
        /// The family's maximum (32 or 128).
        max: u8,
    },
    /// Bits are set after the prefix, so the range is ambiguous.
    #[error("{entry} has host bits set: did you mean {network}? (ranges are never widened silently)")]
    HostBitsSet {
        /// The entry as written.
        entry: String,
        /// The network address with the host bits cleared.
        network: String,
    },
    /// An IPv4-mapped IPv6 range that would cover all of IPv4.
    #[error(
        "{0} covers every IPv4-mapped address, i.e. all of IPv4: write 0.0.0.0/0 if that is really meant"
    )]
    MappedRangeTooWide(String),
}

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
