//! Errors of palisade-mask.

use thiserror::Error;

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The policy is invalid; every problem is listed.
    #[error("invalid masking policy: {}", .0.join("; "))]
    Policy(Vec<String>),
    /// The input is not well-formed JSON. Nothing was produced: discard any partial output.
    #[error("malformed JSON at byte offset {offset}: {reason}; fix the input and retry")]
    Malformed {
        /// Byte offset (0-based) in the input where the problem was found.
        offset: usize,
        /// What was wrong there.
        reason: &'static str,
    },
    /// Writing the masked output failed.
    #[error("cannot write masked output: {0}")]
    Io(String),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;
