//! Streaming: the log, a durable spool per destination, and a delivery worker per destination.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use serde::Serialize;

use crate::chain::StoredEntry;
use crate::error::{Error, Result};
use crate::event::AuditEvent;
use crate::spool::{Spool, SpoolConfig, WhenFull};
use crate::store::{AuditStore, Cursor, Query};

/// A place audit events are delivered to.
#[async_trait]
pub trait AuditSink: Send + Sync {
    /// Delivers a batch (one or more tenants, each tenant's entries in chain order). `Ok` means
    /// the destination has them; an error with `retryable: true` is tried again with back-off.
    async fn deliver(&self, batch: &[StoredEntry]) -> Result<()>;
}

/// An alarm raised by the streamer, for the host's monitoring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Alarm {
    /// A destination's spool is full; `record` is blocking or failing.
    SpoolFull {
        /// The destination.
        destination: String,
        /// Bytes queued.
        used: u64,
        /// Capacity.
        capacity: u64,
    },
    /// Deliveries to a destination keep failing.
    DeliveryFailing {
        /// The destination.
        destination: String,
        /// Failures in a row.
        failures: u32,
        /// The last error.
        error: String,
    },
}

/// Receives alarms.
pub type AlarmHandler = Arc<dyn Fn(&Alarm) + Send + Sync>;

/// A destination: a name, a sink and its spool settings.
pub struct Destination {
    /// A short name (used for the spool directory: letters, digits, `-`, `_`).
    pub name: String,
    /// Where events go.
    pub sink: Arc<dyn AuditSink>,
    /// Spool, filter and retry settings.
    pub config: SpoolConfig,
}

/// A destination's delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestinationStatus {
    /// The destination.
    pub name: String,
    /// Entries waiting.
    pub queued: usize,
    /// Bytes waiting.
    pub queued_bytes: u64,
    /// Entries delivered since start.
    pub delivered: u64,
    /// Failed deliveries in a row.
    pub failures: u32,
    /// The last delivery error.
    pub last_error: Option<String>,
}

struct Dest {
    name: String,
    sink: Arc<dyn AuditSink>,
    spool: Spool,
    delivered: AtomicU64,
    failures: AtomicU32,
    last_error: Mutex<Option<String>>,
}

/// The audit log with streaming: records to the store, then spools to every destination, from
/// which a worker per destination delivers with batching, retries (exponential back-off with
/// full jitter) and at-least-once semantics.
pub struct AuditLog {
    store: Arc<dyn AuditStore>,
    dests: Vec<Arc<Dest>>,
    alarm: Option<AlarmHandler>,
    stop: Arc<AtomicBool>,
    stop_notify: Arc<tokio::sync::Notify>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").field("destinations", &self.dests.len()).finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens the spools under `spool_dir` (one sub-directory per destination), catches up with
    /// what the store holds beyond them, and starts one delivery worker per destination. Call
    /// inside a tokio runtime.
    pub async fn start(
        store: Arc<dyn AuditStore>,
        spool_dir: &Path,
        destinations: Vec<Destination>,
        alarm: Option<AlarmHandler>,
    ) -> Result<Self> {
        let mut dests = Vec::new();
        for d in destinations {
            if d.name.is_empty()
                || !d.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(Error::invalid(
                    "destination name",
                    format!("{:?}: use letters, digits, '-' and '_'", d.name),
                ));
            }
            let spool = Spool::open(&spool_dir.join(&d.name), d.config)?;
            dests.push(Arc::new(Dest {
                name: d.name,
                sink: d.sink,
                spool,
                delivered: AtomicU64::new(0),
                failures: AtomicU32::new(0),
                last_error: Mutex::new(None),
            }));
        }
        // Catch up: entries in the store that a spool has not seen (crash between the store
        // append and the spool write, a new destination, or a spool on a lost disk).
        for tenant in store.tenants().await? {
            for d in &dests {
                let mut from = d.spool.high_water(&tenant) + 1;
                let mut first = true;
                loop {
                    let page =
                        store.query(&Query::new(tenant.clone()).after(Cursor(from)).limit(1000)).await?;
                    if first {
                        if let Some(e) = page.entries.first().filter(|e| e.seq > from) {
                            d.spool.skip_to(&tenant, e.seq - 1);
                        }
                        first = false;
                    }
                    d.spool.offer(&page.entries)?;
                    match page.next {
                        Some(Cursor(n)) => from = n,
                        None => break,
                    }
                }
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stop_notify = Arc::new(tokio::sync::Notify::new());
        let workers = dests
            .iter()
            .map(|d| tokio::spawn(worker(d.clone(), alarm.clone(), stop.clone(), stop_notify.clone())))
            .collect();
        Ok(Self { store, dests, alarm, stop, stop_notify, workers })
    }

    /// Records events: reserves spool space at every destination (blocking or failing by its
    /// policy), appends to the store (durable when this returns), then spools them.
    pub async fn record(&self, events: Vec<AuditEvent>) -> Result<Vec<StoredEntry>> {
        let estimate: u64 =
            events.iter().map(|e| serde_json::to_vec(e).map_or(1024, |v| v.len() as u64 + 200)).sum();
        let mut reserved: Vec<&Arc<Dest>> = Vec::new();
        for d in &self.dests {
            if let Err(e) = self.reserve(d, estimate).await {
                for r in reserved {
                    r.spool.release(estimate);
                }
                return Err(e);
            }
            reserved.push(d);
        }
        let result = self.store.append(events).await;
        for d in &self.dests {
            d.spool.release(estimate);
        }
        let stored = result?;
        for d in &self.dests {
            d.spool.offer(&stored)?;
        }
        Ok(stored)
    }

    async fn reserve(&self, d: &Dest, bytes: u64) -> Result<()> {
        let cfg = d.spool.config();
        let deadline = tokio::time::Instant::now() + StdDuration::from_secs(cfg.block_timeout_secs);
        let mut alarmed = false;
        loop {
            let notified = d.spool.space.notified();
            if d.spool.try_reserve(bytes) {
                return Ok(());
            }
            let full = Error::SpoolFull {
                destination: d.name.clone(),
                used: d.spool.used(),
                capacity: cfg.capacity_bytes,
            };
            if !alarmed {
                tracing::error!(destination = %d.name, "audit spool full: {full}");
                if let Some(a) = &self.alarm {
                    a(&Alarm::SpoolFull {
                        destination: d.name.clone(),
                        used: d.spool.used(),
                        capacity: cfg.capacity_bytes,
                    });
                }
                alarmed = true;
            }
            if cfg.when_full == WhenFull::Fail || tokio::time::Instant::now() >= deadline {
                return Err(full);
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn AuditStore> {
        &self.store
    }

    /// Each destination's state.
    pub fn status(&self) -> Vec<DestinationStatus> {
        self.dests
            .iter()
            .map(|d| DestinationStatus {
                name: d.name.clone(),
                queued: d.spool.len(),
                queued_bytes: d.spool.used(),
                delivered: d.delivered.load(Ordering::SeqCst),
                failures: d.failures.load(Ordering::Relaxed),
                last_error: d.last_error.lock().unwrap_or_else(PoisonError::into_inner).clone(),
            })
            .collect()
    }

    /// Waits until every spool is empty or `timeout` passes; returns whether all drained.
    pub async fn drain(&self, timeout: StdDuration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.dests.iter().all(|d| d.spool.is_empty()) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(StdDuration::from_millis(10)).await;
        }
    }

    /// Stops the workers. Undelivered entries stay in the spools for the next start.
    pub async fn shutdown(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.stop_notify.notify_waiters();
        for d in &self.dests {
            d.spool.data.notify_one();
        }
        for w in self.workers.drain(..) {
            let _ = w.await;
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for w in &self.workers {
            w.abort();
        }
    }
}

/// Delay before retry `attempt` (1-based): uniform in [0, min(max, base·2^(attempt-1))].
pub fn backoff(attempt: u32, base_ms: u64, max_ms: u64) -> StdDuration {
    let cap = base_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(30)).min(max_ms);
    let r = palisade_core::random::array::<8>().map(u64::from_le_bytes).unwrap_or(u64::MAX / 2);
    // Keep at least a tenth of the cap so a destination is never hammered.
    let floor = cap / 10;
    StdDuration::from_millis(floor + r % (cap - floor + 1))
}

async fn worker(
    d: Arc<Dest>,
    alarm: Option<AlarmHandler>,
    stop: Arc<AtomicBool>,
    stop_notify: Arc<tokio::sync::Notify>,
) {
    let cfg = d.spool.config().clone();
    let mut attempt: u32 = 0;
    while !stop.load(Ordering::SeqCst) {
        let notified = d.spool.data.notified();
        let batch = match d.spool.peek(cfg.batch_max) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(destination = %d.name, error = %e, "audit spool unreadable");
                Vec::new()
            }
        };
        if batch.is_empty() {
            tokio::select! {
                () = notified => {}
                () = stop_notify.notified() => {}
                () = tokio::time::sleep(StdDuration::from_millis(500)) => {}
            }
            continue;
        }
        match d.sink.deliver(&batch).await {
            Ok(()) => {
                attempt = 0;
                d.failures.store(0, Ordering::Relaxed);
                // Counted before the ack empties the spool, so a caller that sees the spool
                // drained also sees the count.
                d.delivered.fetch_add(batch.len() as u64, Ordering::SeqCst);
                if let Err(e) = d.spool.ack(batch.len()) {
                    tracing::error!(destination = %d.name, error = %e, "audit spool cursor not saved; entries may be delivered again");
                }
            }
            Err(e) => {
                attempt = attempt.saturating_add(1);
                let failures = d.failures.fetch_add(1, Ordering::Relaxed) + 1;
                let msg = e.to_string();
                tracing::warn!(destination = %d.name, attempt, error = %msg, "audit delivery failed; will retry");
                *d.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(msg.clone());
                if (failures == cfg.alarm_after_failures
                    || (failures > cfg.alarm_after_failures && failures.is_multiple_of(100)))
                    && let Some(a) = &alarm
                {
                    a(&Alarm::DeliveryFailing { destination: d.name.clone(), failures, error: msg });
                }
                let wait = backoff(attempt, cfg.retry_base_ms, cfg.retry_max_ms);
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = stop_notify.notified() => {}
                }
            }
        }
    }
}
