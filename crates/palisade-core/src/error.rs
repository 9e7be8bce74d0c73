//! Error conventions shared by every palisade crate.
//!
//! * Each crate has its own `Error` enum (`thiserror`, `#[non_exhaustive]`) in `src/error.rs` and a
//!   `pub type Result<T> = std::result::Result<T, Error>`.
//! * A message says what was wrong, carries the values that help (a limit and the value found, a
//!   line number, an id) and what to do about it. It never contains a secret: not a password, a
//!   token, a key, a TOTP code, nor a ciphertext.
//! * Every error knows its [`ErrorClass`], which the `palisade` CLI turns into its exit code:
//!   a verdict on the input (`Rejected`, exit 1) or a problem with the call itself (`Usage`, exit 2).

use thiserror::Error;

/// How an error should be treated by a caller, and which exit code the CLI uses for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The input was understood and judged not acceptable (bad signature, wrong password,
    /// denied request). The CLI exits with 1.
    Rejected,
    /// The call itself was wrong: malformed input, bad configuration, unreadable file.
    /// The CLI exits with 2.
    Usage,
    /// A backend (store, KMS, network peer) failed; trying again later may succeed.
    /// The CLI exits with 2.
    Unavailable,
}

impl ErrorClass {
    /// The `palisade` CLI's exit code for this class.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorClass::Rejected => 1,
            ErrorClass::Usage | ErrorClass::Unavailable => 2,
        }
    }
}

/// Why a string is not a valid palisade id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IdError {
    /// The value was empty.
    #[error("{kind} is empty: give a non-empty id")]
    Empty {
        /// Which kind of id.
        kind: &'static str,
    },
    /// The value was longer than allowed.
    #[error("{kind} is {len} bytes long, the limit is {max}: use a shorter id")]
    TooLong {
        /// Which kind of id.
        kind: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The first character is not an ASCII letter or digit.
    #[error("{kind} starts with {found:?}: an id must start with an ASCII letter or digit")]
    BadStart {
        /// Which kind of id.
        kind: &'static str,
        /// The character found.
        found: char,
    },
    /// A character outside the allowed set.
    #[error("{kind} has {found:?} at byte {at}: use only ASCII letters, digits and the characters - _ . @ :")]
    BadChar {
        /// Which kind of id.
        kind: &'static str,
        /// The character found.
        found: char,
        /// Its byte offset.
        at: usize,
    },
}

impl IdError {
    /// Always [`ErrorClass::Usage`]: a malformed id is a malformed call.
    pub fn class(&self) -> ErrorClass {
        ErrorClass::Usage
    }
}
