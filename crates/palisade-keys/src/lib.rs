//! # palisade-keys
//!
//! Tenant key management for a multi-tenant service: everything it stores, encrypted at rest
//! with AES-256-GCM under a key hierarchy that lets a tenant's data be crypto-shredded.
//!
//! * **Hierarchy.** A root key in a [`KmsProvider`] ([`LocalKms`], PKCS#11 with the `pkcs11`
//!   feature, or a cloud KMS adapter) wraps versioned 256-bit key-encryption keys, one keyring
//!   per tenant plus a global keyring, stored only wrapped in a [`KeyringStore`]. Every object
//!   gets a fresh random data key, wrapped under the keyring's primary version with the object's
//!   context (tenant, purpose, record, layer, version) as associated data.
//! * **Format.** A versioned binary format with a key commitment (HKDF-SHA-256; AES-GCM alone
//!   is not key-committing) and 64 KiB segments, so memory stays bounded and truncation or
//!   reordering is detected (`docs/formats.md`).
//! * **Double encryption.** [`KeyManager::seal_double`] seals under the tenant hierarchy, then
//!   again under the global hierarchy: either hierarchy alone reveals nothing.
//! * **Lifecycle.** Create, import (BYOK), rotate, minimum decryption version, resumable
//!   re-wrap, disable/enable, scheduled destruction, crypto-shredding, each emitting a
//!   [`KeyEvent`]. Wraps per key version are counted and rotation forced below 2^32.
//! * **Cache.** Unwrapped keys are cached with max age, max uses and capacity, loaded
//!   single-flight.
//! * **Credential vault.** [`vault::CredentialVault`] stores connection credentials per
//!   tenant, sealed, in memory or SQLite (feature `sqlite`).
//! * [`KeyManager`] implements [`palisade_core::SecretSealer`].
//!
//! ```
//! use std::sync::Arc;
//! use palisade_core::SealContext;
//! use palisade_keys::{KeyManager, LocalKms, MemoryKeyringStore};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let keys = KeyManager::builder(Arc::new(LocalKms::ephemeral()?), Arc::new(MemoryKeyringStore::new())).build()?;
//! let acme = "acme".parse()?;
//! keys.create_tenant(&acme).await?;
//! let ctx = SealContext::new(acme, "connection-credential", "conn-1");
//! let sealed = keys.seal(&ctx, b"api-key-123").await?;
//! assert_eq!(keys.open(&ctx, &sealed).await?.expose_secret(), b"api-key-123");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod backend;
#[cfg(feature = "aws-lc")]
pub mod byok;
mod cache;
pub mod error;
pub mod event;
pub mod format;
pub mod keyring;
pub mod kms;
mod manager;
pub mod policy;
pub mod stream;
pub mod vault;

pub use backend::Backend;
pub use error::{Error, Result};
pub use event::{KeyEvent, KeyEventSink, KeyOp, MemoryEventSink, TracingEventSink};
pub use keyring::dir::DirKeyringStore;
pub use keyring::{KeyOwner, KeyringStore, MemoryKeyringStore, PeriodId};
pub use kms::{KmsContext, KmsError, KmsProvider, LocalKms};
pub use manager::{
    KeyManager, KeyManagerBuilder, KeyringStatus, RewrapProgress, RewrapSource, StoredCiphertext,
    VersionStatus,
};
pub use policy::KeyPolicy;
pub use stream::{StreamOpener, StreamSealer};
