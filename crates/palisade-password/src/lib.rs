//! # palisade-password
//!
//! Everything a multi-tenant service needs for passwords:
//!
//! * [`Policy`]: a per-organization, serde-loadable password policy — length counted after NFKC
//!   normalization, composition, a zxcvbn strength score with user-specific words, no username
//!   or e-mail, a breached list, history, expiry — with the presets
//!   [`Policy::nist_800_63b`] (the default) and [`Policy::enterprise`]. [`Policy::validate`]
//!   reports every [`Violation`] at once, each with a stable [`ViolationCode`];
//! * [`BreachedPasswords`] and [`HibpList`], an offline Have I Been Pwned list at 12 bytes per
//!   entry;
//! * [`Hasher`]: Argon2id in PHC format with OWASP defaults, an optional pepper,
//!   `needs_rehash`, and verify-and-upgrade from bcrypt and PBKDF2; bounded by a
//!   [`HashLimiter`];
//! * [`ExpiryStatus`]: maximum and minimum age, warning window, forced change;
//! * [`LoginThrottle`] and [`LoginGuard`]: throttling per account and per source address that
//!   does not reveal whether an account exists.
//!
//! ```
//! use palisade_core::SecretString;
//! use palisade_password::{Context, HashParams, Hasher, Policy};
//!
//! let policy = Policy::nist_800_63b();
//! let candidate = SecretString::from("violet harbor engine drizzle");
//! policy.validate(&candidate, &Context::new().username("dana").email("dana@acme.example"))?;
//!
//! let hasher = Hasher::new(HashParams { memory_kib: 64, iterations: 1, ..HashParams::OWASP })?; // tests only: use Hasher::default()
//! let stored = hasher.hash(&candidate)?;
//! assert!(hasher.verify(&candidate, &stored)?.matched);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod breached;
pub mod error;
pub mod expiry;
pub mod hash;
pub mod limiter;
pub mod login;
pub mod policy;

pub use breached::{BreachedPasswords, HibpList, sha1_digest};
pub use error::{Error, Result};
pub use expiry::ExpiryStatus;
pub use hash::{HashParams, Hasher, MAX_PASSWORD_BYTES, Pepper, Scheme, Upgrade, Verification, VerifyLimits};
pub use limiter::{HashLimiter, HashPermit};
pub use login::{LoginDecision, LoginGuard, LoginOutcome, LoginThrottle, LoginThrottleConfig, ThrottleScope};
pub use palisade_core::throttle::{MemoryThrottleStore, ThrottleStore};
pub use policy::{CharClass, Context, Policy, Violation, ViolationCode, Violations};
