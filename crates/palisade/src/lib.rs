//! # palisade
//!
//! The facade over palisade's capability crates. Each capability is a cargo feature of the same
//! name that re-exports its crate as a module, so a host writes
//!
//! ```toml
//! palisade = { version = "0.1", features = ["saml", "rbac"] }
//! ```
//!
//! and uses `palisade::saml`, `palisade::rbac`. [`core`] (typed ids, the clock, secret holders) is
//! always there. `full` turns every capability on.
//!
//! ```
//! use palisade::core::{TenantId, UserId};
//! let tenant: TenantId = "acme".parse()?;
//! let user: UserId = "alice".parse()?;
//! assert_ne!(tenant.as_str(), user.as_str());
//! # Ok::<(), palisade::core::IdError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use palisade_core as core;

/// IP allowlists per tenant, trusted proxies, tower layer.
#[cfg(feature = "ipfilter")]
pub use palisade_ipfilter as ipfilter;

/// Retention periods per tenant and data class, legal holds, purge, crypto-shredding.
#[cfg(feature = "retention")]
pub use palisade_retention as retention;
