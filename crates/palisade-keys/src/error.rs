//! The crate's error type.

use palisade_core::{ErrorClass, SealError, TenantId};
use time::OffsetDateTime;

/// Why a key-management operation failed.
///
/// Messages name the tenant, key version and what to do; they never contain key material,
/// plaintext or ciphertext bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a palisade ciphertext, or its header is damaged or truncated.
    #[error(
        "not a readable palisade ciphertext: {0}; the input was damaged, truncated or is not palisade data"
    )]
    Malformed(String),
    /// The ciphertext did not authenticate for this context: it belongs to another tenant, purpose
    /// or record, or its bytes were changed, truncated or reordered.
    #[error(
        "the ciphertext does not open for this context: wrong tenant, purpose or record, or the data was tampered with, truncated or reordered"
    )]
    DoesNotOpen,
    /// The key the data was sealed under has been destroyed (crypto-shredded): the data is gone.
    #[error(
        "the key of {owner} (version {version}) was destroyed: the data sealed under it can no longer be read"
    )]
    KeyDestroyed {
        /// The key's owner (`tenant:<id>` or `global`).
        owner: String,
        /// The key version named by the ciphertext.
        version: u32,
    },
    /// The keys of this tenant are disabled; enable them to use them again.
    #[error("the keys of {owner} are disabled: enable them before sealing or opening data")]
    KeyDisabled {
        /// The key's owner.
        owner: String,
    },
    /// The keys are scheduled for destruction; cancel the destruction to use them again.
    #[error("the keys of {owner} are scheduled for destruction at {at}: cancel the destruction to use them")]
    PendingDestruction {
        /// The key's owner.
        owner: String,
        /// When the keys will be destroyed.
        at: OffsetDateTime,
    },
    /// The key version is older than the owner's minimum decryption version.
    #[error(
        "key version {version} of {owner} is retired (minimum decryption version is {min}): re-wrap the data or lower the minimum"
    )]
    VersionRetired {
        /// The key's owner.
        owner: String,
        /// The version named by the ciphertext.
        version: u32,
        /// The minimum decryption version.
        min: u32,
    },
    /// The ciphertext names a key version its owner does not have.
    #[error("{owner} has no key version {version}: the data was sealed under another keyring")]
    UnknownVersion {
        /// The key's owner.
        owner: String,
        /// The version named by the ciphertext.
        version: u32,
    },
    /// The ciphertext names a period key that does not exist in the key store (it was sealed
    /// with another key store, or the store lost it).
    #[error("there is no key {0}: the data was sealed under another key store")]
    NoSuchPeriodKey(String),
    /// The tenant has no keyring.
    #[error("tenant {0} has no keys: create them first (`palisade keys tenant create`)")]
    NoSuchTenant(TenantId),
    /// The keyring already exists.
    #[error("{0} already has keys: rotate them instead of creating them again")]
    AlreadyExists(String),
    /// The global keyring does not exist yet.
    #[error("the global keyring does not exist: initialise the key store first (`palisade keys init`)")]
    NotInitialised,
    /// An argument or configuration value is invalid.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// Another writer changed the keyring at the same time; the operation changed nothing.
    #[error("the keyring of {0} was changed concurrently: nothing was written, retry the operation")]
    Conflict(String),
    /// The key management service failed.
    #[error(transparent)]
    Kms(#[from] crate::kms::KmsError),
    /// The keyring or credential store failed.
    #[error("the key store failed: {0}; retry later")]
    Store(String),
    /// The operating system's random number generator failed.
    #[error(transparent)]
    Random(#[from] palisade_core::random::RandomError),
    /// A crypto backend failed in a way that is not an authentication failure.
    #[error("the crypto backend failed: {0}")]
    Crypto(&'static str),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The error's class (and so the CLI's exit code).
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Malformed(_)
            | Error::DoesNotOpen
            | Error::KeyDestroyed { .. }
            | Error::KeyDisabled { .. }
            | Error::PendingDestruction { .. }
            | Error::VersionRetired { .. }
            | Error::NoSuchPeriodKey(_)
            | Error::UnknownVersion { .. } => ErrorClass::Rejected,
            Error::NoSuchTenant(_)
            | Error::AlreadyExists(_)
            | Error::NotInitialised
            | Error::Invalid(_)
            | Error::Crypto(_) => ErrorClass::Usage,
            Error::Kms(e) => e.class(),
            Error::Conflict(_) | Error::Store(_) | Error::Random(_) => ErrorClass::Unavailable,
        }
    }
}

impl From<Error> for SealError {
    fn from(e: Error) -> Self {
        match e.class() {
            ErrorClass::Rejected => match e {
                Error::Malformed(m) => SealError::Malformed(m),
                _ => SealError::Rejected,
            },
            ErrorClass::Usage => SealError::Malformed(e.to_string()),
            ErrorClass::Unavailable => SealError::Unavailable(e.to_string()),
        }
    }
}
