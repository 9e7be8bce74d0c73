//! The crate's error type.

use palisade_core::ErrorClass;
use thiserror::Error;

/// What went wrong in palisade-rbac.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A name (role, privilege, asset type, project, folder, asset, group) is malformed.
    #[error("invalid {kind} {value:?}: {reason}")]
    InvalidName {
        /// Which kind of name.
        kind: &'static str,
        /// The value given (truncated to 80 characters).
        value: String,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// A resource string does not follow `[TENANT/]workspace | [TENANT/]TYPE:ID`.
    #[error(
        "invalid resource {value:?}: {reason}; write `workspace`, `project:ID`, `folder:ID` or `TYPE:ID`, optionally prefixed by `TENANT/`"
    )]
    InvalidResource {
        /// The value given (truncated to 80 characters).
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The policy catalog failed validation; every problem found is listed.
    #[error("the policy is invalid ({} problem(s)):\n  - {}", .0.len(), .0.join("\n  - "))]
    InvalidPolicy(Vec<String>),
    /// A policy file could not be parsed.
    #[error("cannot load the policy ({format}): {message}")]
    Parse {
        /// `json` or `toml`.
        format: &'static str,
        /// The parser's message, with its line and column.
        message: String,
    },
    /// A policy file is YAML, which palisade does not read.
    #[error("unsupported policy file extension {0:?}: use .json or .toml (YAML is not supported)")]
    UnsupportedFormat(String),
    /// A role name is not defined in the tenant's catalog (role names are case-sensitive).
    #[error(
        "unknown role {role:?} in tenant {tenant}: use Admin, Analyst, Operator, NoAccess or a custom role defined in the catalog (names are case-sensitive)"
    )]
    UnknownRole {
        /// The tenant.
        tenant: String,
        /// The role name as given.
        role: String,
    },
    /// A JIT sign-in maps to no role for an environment and the tenant has no default role.
    #[error(
        "no role is mapped for environment {environment} in tenant {tenant} and no `default_role` is set: add a mapping rule or a default role (NoAccess to deny)"
    )]
    Unmapped {
        /// The tenant.
        tenant: String,
        /// The environment.
        environment: String,
    },
    /// A tenant is not known to the engine or the store.
    #[error("unknown tenant {0}: publish its policy first")]
    UnknownTenant(String),
    /// An optimistic update found a different revision than expected.
    #[error("revision conflict for tenant {tenant}: expected {expected}, found {found}; reload and retry")]
    RevisionConflict {
        /// The tenant.
        tenant: String,
        /// The revision the caller based its update on.
        expected: u64,
        /// The current revision.
        found: u64,
    },
    /// A policy store failed.
    #[error("policy store unavailable: {0}")]
    Store(String),
}

impl Error {
    /// How the CLI and hosts should treat this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Store(_) => ErrorClass::Unavailable,
            Error::RevisionConflict { .. } => ErrorClass::Rejected,
            _ => ErrorClass::Usage,
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}
