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

/// Tamper-evident, per-tenant audit log: hash-chained JSONL segments, Ed25519-signed checkpoints, durable spooled streaming to SIEMs.
#[cfg(feature = "audit")]
pub use palisade_audit as audit;

/// Outbound allowlists for connections and agents: SSRF-proof URL decisions that hold at connect time.
#[cfg(feature = "egress")]
pub use palisade_egress as egress;

/// IP allowlists per tenant: strict CIDR parsing, trusted-proxy client resolution, O(log n) lookups, a tower layer.
#[cfg(feature = "ipfilter")]
pub use palisade_ipfilter as ipfilter;

/// Tenant key management: envelope AES-256-GCM with key commitment, global + tenant double encryption, rotation, crypto-shredding, a credential vault.
#[cfg(feature = "keys")]
pub use palisade_keys as keys;

/// Data masking before anything is displayed or stored: field rules, value detectors, keyed pseudonyms, a streaming JSON masker.
#[cfg(feature = "mask")]
pub use palisade_mask as mask;

/// Sign in with OpenID Connect (Google, Microsoft 365, any certified OP) and OAuth2 connections with sealed, refreshed, revocable tokens.
#[cfg(feature = "oauth")]
pub use palisade_oauth as oauth;

/// Password policy (NIST SP 800-63B presets), Argon2id storage with legacy upgrade, expiry, history and login throttling.
#[cfg(feature = "password")]
pub use palisade_password as password;

/// Role-based access control for multi-tenant services: workspaces, environments, system and custom roles, folder-scoped grants; fast and explainable checks.
#[cfg(feature = "rbac")]
pub use palisade_rbac as rbac;

/// Retention periods per tenant and data class, legal holds, a resumable purge engine, crypto-shredding, a SQLite store.
#[cfg(feature = "retention")]
pub use palisade_retention as retention;

/// SAML 2.0 service provider: a strict XML reader, exclusive c14n, XML-DSig, SSO/SLO, metadata and JIT provisioning.
#[cfg(feature = "saml")]
pub use palisade_saml as saml;

/// Sessions for multi-tenant services: per-organization timeouts, hashed tokens, rotation, revocation, in-memory and Redis stores, a tower Layer.
#[cfg(feature = "session")]
pub use palisade_session as session;

/// Two-factor authentication with authenticator apps (RFC 6238 TOTP): enrollment, verification, replay guard, recovery codes, remembered devices and the organization mandate.
#[cfg(feature = "totp")]
pub use palisade_totp as totp;
