//! # palisade-audit
//!
//! A tamper-evident activity log for a multi-tenant service, and its delivery to the places
//! where security teams read it.
//!
//! * [`AuditEvent`]: a versioned event (UUIDv7 id, time, tenant, actor, dotted action, target,
//!   outcome, request id, masked details);
//! * [`chain`]: each tenant's log is a SHA-256 hash chain over RFC 8785 canonical JSON;
//!   [`checkpoint`]: Ed25519-signed checkpoints over the chain head and count;
//! * [`Verifier`]: says whether a log is intact and, if not, where and what kind of tampering
//!   (modified, deleted, inserted, reordered, truncated, malformed, bad signature);
//! * [`AuditStore`]: append and query with cursors; [`MemoryAuditStore`] and
//!   [`FileAuditStore`] (JSONL segments, rotation, group-commit fsync);
//! * [`ocsf`]: mapping to OCSF classes for SIEMs.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use palisade_audit::{Actor, AuditEvent, AuditStore, Checkpointing, Ed25519Signer, MemoryAuditStore, Verifier};
//! use palisade_core::{ManualClock, UserId};
//! use time::macros::datetime;
//!
//! let clock = Arc::new(ManualClock::new(datetime!(2026-03-01 09:00 UTC)));
//! let signer = Arc::new(Ed25519Signer::generate()?);
//! let key = signer.verifying_key();
//! let store = MemoryAuditStore::new(clock.clone(), Some(Checkpointing { signer, policy: Default::default() }));
//!
//! let alice: UserId = "alice".parse()?;
//! let event = AuditEvent::new(clock.as_ref(), "acme".parse()?, Actor::user(&alice), "user.login.succeeded")?;
//! store.append(vec![event]).await?;
//!
//! let lines = store.lines(&"acme".parse()?);
//! let report = Verifier::new().with_key(key).verify_lines("acme", lines.iter().map(|l| l.as_slice()));
//! assert!(report.intact);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod actions;
pub mod chain;
pub mod checkpoint;
mod error;
pub mod event;
mod jcs;
pub mod ocsf;
pub mod sink;
pub mod spool;
pub mod store;
pub mod stream;
pub mod verify;

pub use chain::{ChainHead, Digest, StoredEntry};
pub use checkpoint::{CheckpointSigner, Ed25519Signer, VerifyingKey};
pub use error::{Error, Result};
pub use event::{Action, Actor, ActorKind, AuditEvent, EventId, Outcome, Target};
pub use spool::{Filter, SpoolConfig, WhenFull};
pub use store::file::{FileAuditStore, FileStoreConfig};
pub use store::{AuditStore, CheckpointPolicy, Checkpointing, Cursor, MemoryAuditStore, Page, Query};
pub use stream::{Alarm, AuditLog, AuditSink, Destination, DestinationStatus};
pub use verify::{Finding, Report, TamperKind, Verifier};

/// Canonical JSON (RFC 8785) of a value, as hashed and signed by this crate.
pub fn canonical_json(value: &serde_json::Value) -> Vec<u8> {
    jcs::to_vec(value)
}

/// Serde for durations given as whole seconds in configuration files.
mod serde_secs {
    use serde::{Deserialize, Deserializer};
    use time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::seconds(i64::deserialize(d)?))
    }
}
