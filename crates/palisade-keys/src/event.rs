//! Structured key events for the host's audit log. They name owners, versions and outcomes,
//! never key material, plaintext or ciphertext.

use std::fmt;
use std::sync::Mutex;

use serde::Serialize;
use time::OffsetDateTime;

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum KeyOp {
    /// A keyring was created (version 1).
    Create,
    /// A customer key was imported as a new version (BYOK).
    Import,
    /// A new primary version was created.
    Rotate,
    /// A rotation forced by the wrap limit of the primary version.
    ForcedRotate,
    /// The minimum decryption version changed.
    SetMinDecryptionVersion,
    /// The keyring was disabled.
    Disable,
    /// The keyring was enabled.
    Enable,
    /// Destruction was scheduled.
    ScheduleDestroy,
    /// A scheduled destruction was cancelled.
    CancelDestroy,
    /// The keys were destroyed (crypto-shredded).
    Destroy,
    /// Key-encryption keys were unwrapped by the KMS into the cache.
    Load,
    /// Stored data keys were re-wrapped under the primary version.
    Rewrap,
    /// A ciphertext was rejected on open (wrong context, tampering, retired or destroyed key).
    OpenRejected,
}

/// One key event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyEvent {
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What happened.
    pub op: KeyOp,
    /// Whose key (`global` or `tenant:<id>`).
    pub owner: String,
    /// The key version concerned, if one.
    pub version: Option<u32>,
    /// Extra non-secret detail (counts, reasons).
    pub detail: Option<String>,
}

/// Receives key events. Implement it to forward events to the host's audit log.
pub trait KeyEventSink: Send + Sync + fmt::Debug {
    /// Records one event. Must not block for long: it runs on the caller's task.
    fn record(&self, event: &KeyEvent);
}

/// Logs events through `tracing` at INFO (the default sink).
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingEventSink;

impl KeyEventSink for TracingEventSink {
    fn record(&self, e: &KeyEvent) {
        tracing::info!(target: "palisade_keys::event", op = ?e.op, owner = %e.owner, version = ?e.version, detail = ?e.detail, "key event");
    }
}

/// Keeps events in memory (tests, the tour).
#[derive(Debug, Default)]
pub struct MemoryEventSink {
    events: Mutex<Vec<KeyEvent>>,
}

impl MemoryEventSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The events recorded so far.
    pub fn events(&self) -> Vec<KeyEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl KeyEventSink for MemoryEventSink {
    fn record(&self, event: &KeyEvent) {
        if let Ok(mut e) = self.events.lock() {
            e.push(event.clone());
        }
    }
}
