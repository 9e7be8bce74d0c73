//! # palisade-totp
//!
//! Two-factor authentication with authenticator apps (Google Authenticator, Microsoft
//! Authenticator, Authy, 1Password...) for a multi-tenant service, and the organization mandate
//! that requires it.
//!
//! * [`secret`], [`uri`], [`qr`]: 160-bit secrets from the OS CSPRNG, the `otpauth://` key URI,
//!   QR codes as PNG and SVG;
//! * [`otp`]: RFC 4226 HOTP and RFC 6238 TOTP with a skew window, compared in constant time;
//! * [`TotpService`]: pending → active enrollment with secrets sealed through
//!   [`palisade_core::SecretSealer`], verification with a replay guard ([`UsedStepStore`]) and
//!   attempt limiting ([`palisade_core::throttle`]), [`recovery_codes`] stored as keyed hashes,
//!   remembered-device tokens, admin reset;
//! * [`MfaPolicy`]: optional or required 2FA, grace periods, SSO exemption, and the decision for
//!   each login.
//!
//! ```
//! use std::sync::Arc;
//! use palisade_core::{Clock, ManualClock, sealer::StaticKeySealer};
//! use palisade_totp::*;
//! use time::{Duration, macros::datetime};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let clock = ManualClock::new(datetime!(2026-05-01 09:00 UTC));
//! let backends = Backends::in_memory(Arc::new(StaticKeySealer::random()?), Arc::new(clock.clone()))?;
//! let service = TotpService::new(TotpConfig::new("Acme Integrations"), backends)?;
//! let (tenant, user) = ("acme".parse()?, "bob".parse()?);
//!
//! // The organization requires 2FA from May 1st with 7 days of grace.
//! let policy = MfaPolicy {
//!     mode: MfaMode::Required,
//!     required_since: Some(datetime!(2026-05-01 00:00 UTC)),
//!     ..MfaPolicy::default()
//! };
//! let joined = datetime!(2025-01-01 00:00 UTC);
//! let status = service.status(&tenant, &user).await?;
//! let facts = LoginFacts { method: LoginMethod::Password, user_joined_at: joined, status: &status, remembered_device: false };
//! assert!(matches!(policy.decide(&facts, clock.now()), MfaDecision::MustEnroll { .. }));
//!
//! // Enroll: scan the QR code, type the first code.
//! let pending = service.begin_enrollment(&tenant, &user, "bob@acme.example").await?;
//! let png = pending.qr_png()?; // serve once, no-store
//! let app = Totp::new(secret::decode_base32(pending.secret_base32().expose_secret())?, pending.params())?;
//! service.confirm_enrollment(&tenant, &user, &app.code_at(clock.now().unix_timestamp())?).await?;
//!
//! // Next login: a code is needed.
//! clock.advance(Duration::hours(8));
//! let status = service.status(&tenant, &user).await?;
//! let facts = LoginFacts { status: &status, ..facts };
//! assert_eq!(policy.decide(&facts, clock.now()), MfaDecision::NeedsCode);
//! service.verify_code(&tenant, &user, &app.code_at(clock.now().unix_timestamp())?).await?;
//! # let _ = png;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod error;
pub mod otp;
pub mod policy;
pub mod qr;
pub mod recovery_codes;
pub mod replay;
pub mod secret;
pub mod service;
pub mod store;
pub mod uri;

pub use error::{Error, Result};
pub use otp::{Algorithm, StepMatch, Totp, TotpParams, hotp};
pub use policy::{
    DoneReason, LoginFacts, LoginMethod, MfaDecision, MfaMode, MfaPolicy, TotpConfig, TotpState, TotpStatus,
};
pub use replay::{MemoryUsedStepStore, UsedStepStore};
pub use service::{Activated, Backends, DeviceToken, PendingEnrollment, RecoveryUse, TotpService};
pub use store::{DeviceRecord, EnrollmentRecord, KeyedHash, MemoryTotpStore, ResetRecord, TotpStore};
pub use uri::KeyUri;
