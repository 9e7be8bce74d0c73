//! # palisade-core
//!
//! The small set of things every palisade crate shares, and nothing more:
//!
//! * [`ids`]: typed identifiers ([`TenantId`], [`UserId`], [`EnvironmentId`]) that are validated
//!   on parse and cannot be mixed up at compile time;
//! * [`clock`]: the [`Clock`] trait, with [`SystemClock`] for production and [`ManualClock`] for
//!   tests, so every expiry rule is testable without sleeping;
//! * [`secret`]: secret holders ([`SecretBytes`], [`SecretString`], [`SecretArray`]) that are
//!   zeroized on drop, redacted in `Debug`, have no `Display`, and compare in constant time;
//! * [`net`]: strict IP address and CIDR parsing ([`net::IpNet`]) and most-specific-match
//!   lookups ([`net::PrefixMap`]), shared by the IP allowlist and egress crates;
//! * [`random`]: bytes from the operating system's CSPRNG, the only randomness palisade uses;
//! * [`throttle`]: failed-attempt counting with back-off and lockout, shared by the password and
//!   TOTP crates;
//! * [`sealer`]: the [`SecretSealer`] trait through which crates store secrets encrypted
//!   (implemented by `palisade-keys`);
//! * [`identity`]: [`ExternalIdentity`], the shape that SAML and OpenID Connect sign-ins produce
//!   for Just-in-Time provisioning;
//! * [`error`]: the error conventions (see the module docs) and [`ErrorClass`].
//!
//! ```
//! use palisade_core::{Clock, ManualClock, SecretString, TenantId};
//! use time::{Duration, macros::datetime};
//!
//! let tenant: TenantId = "acme-prod".parse()?;
//! assert_eq!(tenant.as_str(), "acme-prod");
//!
//! let clock = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
//! clock.advance(Duration::minutes(5));
//! assert_eq!(clock.now(), datetime!(2026-01-01 00:05 UTC));
//!
//! let secret = SecretString::new("hunter2".to_owned());
//! assert_eq!(format!("{secret:?}"), "SecretString(<redacted>)");
//! # Ok::<(), palisade_core::IdError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod clock;
pub mod error;
pub mod identity;
pub mod ids;
pub mod net;
pub mod random;
pub mod sealer;
pub mod secret;
pub mod throttle;

/// Re-exports for the macros of this crate; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
}

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use error::{ErrorClass, IdError};
pub use identity::ExternalIdentity;
pub use ids::{EnvironmentId, TenantId, UserId};
pub use sealer::{SealContext, SealError, SealedSecret, SecretSealer};
pub use secret::{SecretArray, SecretBytes, SecretString, ct_eq, wipe_vec};
