//! # palisade-session
//!
//! Sessions for a multi-tenant service: issue, validate, expire, rotate and revoke them, on one
//! machine ([`MemoryStore`]) or across many (`RedisStore`, cargo feature `redis`), with an HTTP
//! layer for tower/axum services (`SessionLayer`, cargo feature `tower`).
//!
//! * Each organization has a [`SessionPolicy`]: idle timeout, absolute lifetime, the range users
//!   may pick their own idle timeout from, a concurrent-session limit, a re-authentication
//!   window. Deadlines are computed at validation from the policy in force, so a policy change
//!   applies to existing sessions at their next request.
//! * Tokens are 256 random bits; stores keep only their SHA-256 ([`TokenHash`]), so a leaked
//!   store cannot be replayed. Sign-in and privilege changes rotate the token.
//! * Validation returns the [`Session`] or a typed [`Rejection`]: unknown, idle-expired,
//!   absolute-expired, revoked (with the reason), tenant mismatch. Store writes for sliding the
//!   idle deadline are coalesced ([`ManagerConfig::touch_interval`]).
//! * Revocation of one session, of every session of a user (password or 2FA change,
//!   deprovisioning), of a whole tenant; listing a user's active sessions with created,
//!   last-seen, IP and user agent.
//! * Sessions record how and when the user authenticated, so hosts can demand a second factor
//!   or a recent sign-in ([`SessionManager::require_recent_auth`]).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use palisade_core::ManualClock;
//! use palisade_session::*;
//! use time::{Duration, macros::datetime};
//!
//! let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
//! let policies = Arc::new(Policies::default()); // 7-day idle timeout, 30-day lifetime
//! let manager = SessionManager::new(Arc::new(MemoryStore::new()), policies.clone(), Arc::new(clock.clone()));
//! let acme: palisade_core::TenantId = "acme".parse()?;
//!
//! let issued = manager.login(NewSession::new(acme.clone(), "alice".parse()?, AuthMethod::Saml)).await?;
//! // Send `issued.token` to the client (e.g. a `__Host-` cookie); the store has only its hash.
//! clock.advance(Duration::days(2));
//! assert!(manager.validate(&issued.token, &acme).await.is_ok());
//!
//! // The admin shortens the idle timeout: it applies at the next validation.
//! policies.set(&acme, SessionPolicy { idle_timeout: Duration::hours(1), ..Default::default() })?;
//! clock.advance(Duration::hours(2));
//! let err = manager.validate(&issued.token, &acme).await.unwrap_err();
//! assert_eq!(err.rejection(), Some(&Rejection::IdleExpired));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod error;
mod intern;
pub mod manager;
pub mod policy;
pub mod record;
pub mod store;
pub mod token;
#[cfg(feature = "tower")]
pub mod tower;

pub use error::{Error, Rejection, Result};
pub use manager::{Issued, ManagerConfig, NewSession, Session, SessionManager};
pub use policy::{OverflowAction, Policies, PolicyProblem, PolicySource, SessionPolicy};
pub use record::{
    AuthEvent, AuthMethod, ClientInfo, Revocation, RevocationReason, SessionDetails, SessionRecord,
};
#[cfg(feature = "redis")]
pub use store::redis::RedisStore;
pub use store::{MemoryStore, SessionLimit, SessionStore, Touch, WriteOutcome};
pub use token::{SessionId, SessionToken, TokenHash};
#[cfg(feature = "tower")]
pub use tower::{CookieConfig, CurrentToken, SessionLayer};
