//! Errors of palisade-mask.

use thiserror::Error;

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The policy (or the stream limits) is invalid; every problem is listed.
    #[error("invalid masking policy: {}", .0.join("; "))]
    Policy(Vec<String>),
    /// The input is not well-formed JSON (or not UTF-8 text). Any partial output must be discarded.
    #[error("malformed input at byte offset {offset}: {reason}; fix the input and retry")]
    Malformed {
        /// Byte offset (0-based, from the start of the whole input) where the problem was found.
        offset: usize,
        /// What was wrong there.
        reason: &'static str,
    },
    /// A token that must be held whole to decide masking is longer than
    /// `StreamLimits::max_token_bytes`. Any partial output must be discarded.
    #[error(
        "the token starting at byte offset {offset} is longer than the limit of {limit} bytes; raise max_token_bytes or reject the payload"
    )]
    TooLarge {
        /// Byte offset (0-based) where the token starts.
        offset: usize,
        /// The limit in force.
        limit: usize,
    },
    /// Reading the input failed. Any partial output must be discarded.
    #[error("cannot read the input at byte offset {offset}: {message}")]
    Read {
        /// Bytes read successfully before the failure.
        offset: usize,
        /// The I/O error.
        message: String,
    },
    /// Writing the masked output failed.
    #[error("cannot write masked output: {0}")]
    Io(String),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;
