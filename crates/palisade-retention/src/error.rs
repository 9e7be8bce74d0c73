//! Errors of palisade-retention.

use thiserror::Error;

/// Errors of this crate.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The policy is invalid; every problem is listed.
    #[error("invalid retention policy: {}", .0.join("; "))]
    InvalidPolicy(Vec<String>),
    /// A period string could not be parsed.
    #[error(
        "invalid period {0:?}: write a whole number of hours or days such as \"12h\" or \"30d\", or \"do_not_store\""
    )]
    InvalidPeriod(String),
    /// A tenant's setting is outside what its plan allows.
    #[error("{0}")]
    OutOfBounds(Box<BoundsError>),
    /// A name (tenant, plan, class) that the policy does not know.
    #[error("unknown {kind} {name:?}: {hint}")]
    Unknown {
        /// What kind of name.
        kind: &'static str,
        /// The name.
        name: String,
        /// What to do.
        hint: &'static str,
    },
    /// The policy file could not be read or parsed.
    #[error("policy file {path}: {message}")]
    PolicyFile {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The store failed; the failed batch left it unchanged.
    #[error("retention store: {0}")]
    Store(String),
    /// Destroying a key failed.
    #[error("key shredder: {0}")]
    Shredder(String),
    /// A checkpoint in the store could not be read; delete it to start over.
    #[error("corrupt purge checkpoint for run {run}: {message}")]
    Checkpoint {
        /// The run.
        run: String,
        /// What was wrong.
        message: String,
    },
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A tenant's period outside its plan's bounds.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "tenant {tenant}: {class} period {requested} is outside plan {plan}'s bounds {min}..={max}; choose a period within them"
)]
pub struct BoundsError {
    /// The tenant.
    pub tenant: String,
    /// The data class.
    pub class: String,
    /// The plan.
    pub plan: String,
    /// What was asked for.
    pub requested: String,
    /// The plan's minimum.
    pub min: String,
    /// The plan's maximum.
    pub max: String,
}
