//! Retention for multi-tenant data: periods per tenant and data class bounded by plan tiers,
//! exceptions for records still needed, legal holds, a resumable batched purge engine with
//! structured summaries for the audit log, crypto-shredding of per-period keys, and a SQLite
//! store over a job-history table (feature `sqlite`).
//!
//! The decision is pure and sync ([`Policy::decide`]); storage and key destruction go through
//! async, object-safe traits ([`RetentionStore`], [`KeyShredder`]).
//!
//! ```
//! use palisade_retention::{Decision, KeepReason, Policy, Period, RecordMeta};
//! use time::{macros::datetime, Duration};
//!
//! let mut policy = Policy::from_toml(r#"
//!     classes = ["job_history"]
//!     [plans.enterprise.job_history]
//!     default = "30d"
//!     min = "1h"
//!     max = "90d"
//!     [tenants.acme]
//!     plan = "enterprise"
//! "#)?;
//! let acme = "acme".parse()?;
//! // Out of bounds: the error names the plan's bounds.
//! let err = policy.set_tenant_period(&acme, "job_history", Period::days(120)).unwrap_err();
//! assert!(err.to_string().contains("1h..=90d"));
//! policy.set_tenant_period(&acme, "job_history", Period::days(7))?;
//!
//! let now = datetime!(2026-06-01 00:00 UTC);
//! let rec = RecordMeta { tenant: &acme, class: "job_history", id: "job-1",
//!     started_at: now - Duration::days(9), ended_at: Some(now - Duration::days(6)), needed: false };
//! assert_eq!(policy.decide(&rec, now), Decision::Keep(KeepReason::NotExpired));
//! assert_eq!(policy.decide(&rec, now + Duration::days(1)), Decision::Delete);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod engine;
pub mod error;
pub mod policy;
pub mod shred;
pub mod store;

pub use engine::{CancelToken, Progress, ProgressFn, PurgeEngine, PurgeOptions, PurgeSummary, ScopeSummary};
pub use error::{BoundsError, Error, Result};
pub use policy::{
    Clamp, ClassBounds, Decision, Exception, KeepReason, LegalHold, Period, Policy, RecordMeta,
    TenantSettings,
};
pub use shred::{KeyShredder, MemoryShredder, PeriodKey};
#[cfg(feature = "sqlite")]
pub use store::sqlite::SqliteStore;
pub use store::{CandidateQuery, MemoryStore, RetentionStore, Scope, StoredRecord};
