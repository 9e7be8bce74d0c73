//! Data masking before anything is displayed or stored.
//!
//! A [`Policy`] (serde-loadable) says what is sensitive: a whole step (every payload replaced by a
//! placeholder), field rules by JSON path (`customer.ssn`, `items[*].card`, `**.password`),
//! field-name patterns (case-insensitive, with a default set), and value detectors (cards,
//! e-mail, US SSN, IBAN, JWT, Bearer/Basic credentials, PEM private keys, cloud access keys,
//! passwords in connection-string URLs). A
//! [`Masker`] compiles it and masks `serde_json::Value`s, raw JSON in one streaming pass from any
//! `Read` to any `Write` with bounded memory ([`Masker::mask_json_stream`]; [`Masker::mask_json`]
//! for bytes in memory), text lines and header maps, returning a [`Report`] of paths and rule
//! names (never values).
//!
//! ```
//! use palisade_mask::{Masker, Policy};
//! let policy: Policy = serde_json::from_str(r#"{
//!     "fields": [{"path": "items[*].card", "operator": {"op": "partial", "keep_last": 4}}],
//!     "detectors": [{"kind": "email"}]
//! }"#)?;
//! let masker = Masker::new(policy, None)?;
//! let mut out = Vec::new();
//! let report = masker.mask_json(br#"{"items":[{"card":"4111111111111111"}],"to":"jo@example.com"}"#, &mut out)?;
//! assert_eq!(out, br#"{"items":[{"card":"************1111"}],"to":"[REDACTED:email]"}"#);
//! assert_eq!(report.masked.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod detect;
mod error;
mod fields;
mod masker;
mod named;
mod names;
pub mod path;
pub mod policy;
mod sensitive;
mod stream;
mod text;

pub use detect::DetectorKind;
pub use error::{Error, Result};
pub use masker::{MAX_DEPTH, Masker, PseudonymKey, REDACTED, Report, ReportEntry, STEP_PLACEHOLDER};
pub use policy::{DetectorRule, FieldNames, FieldRule, Keep, Operator, Policy, WholeStep};
pub use sensitive::{Masked, Sensitive};
pub use stream::{StreamLimits, StreamStats};
