//! The crate's one error type.

use std::path::PathBuf;

use palisade_core::ErrorClass;
use thiserror::Error;

/// What went wrong in the audit log.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// An event, query or configuration value is not acceptable.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which value.
        what: &'static str,
        /// Why, and what to do.
        reason: String,
    },
    /// The configuration has problems; every one is listed.
    #[error("invalid audit configuration: {}", .0.join("; "))]
    Config(Vec<String>),
    /// A file or directory could not be read or written.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A stored log does not check out: its content, hashes or order were changed.
    #[error(
        "audit log at {path} is corrupt at line {line}: {reason}; run `palisade audit verify` on it and restore from a copy"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// Another process holds the store's writer lock.
    #[error("audit store {0} is locked by another writer: append through that process, or stop it first")]
    Locked(PathBuf),
    /// A key could not be parsed or used.
    #[error("key: {0}")]
    Key(String),
    /// The spool of a destination is full and the policy is to fail.
    #[error(
        "spool of destination {destination:?} is full ({used} of {capacity} bytes): the destination is not keeping up or is down; the event was NOT queued for it"
    )]
    SpoolFull {
        /// The destination's name.
        destination: String,
        /// Bytes queued.
        used: u64,
        /// The configured capacity.
        capacity: u64,
    },
    /// A destination refused or failed a delivery.
    #[error("destination {destination:?}: {reason}")]
    Delivery {
        /// The destination's name.
        destination: String,
        /// What failed.
        reason: String,
        /// Whether trying again may succeed.
        retryable: bool,
    },
    /// The store or streamer was shut down.
    #[error("the audit store has been closed")]
    Closed,
    /// JSON could not be written or read.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The OS random number generator failed.
    #[error(transparent)]
    Random(#[from] palisade_core::random::RandomError),
}

impl Error {
    /// How the CLI treats this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Corrupt { .. } => ErrorClass::Rejected,
            Error::Io { .. }
            | Error::Locked(_)
            | Error::Closed
            | Error::SpoolFull { .. }
            | Error::Delivery { .. } => ErrorClass::Unavailable,
            _ => ErrorClass::Usage,
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { op, path: path.into(), source }
    }

    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid { what, reason: reason.into() }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
