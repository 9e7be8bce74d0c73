//! The durable spool between the log and one destination.
//!
//! Entries are offered in each tenant's chain order (a per-tenant reorder buffer restores the
//! order when concurrent appends finish out of order), filtered, appended to spool files
//! (`<first index, 20 digits>.spool`, one entry line each) and kept in memory for the delivery
//! worker. `cursor.json` records what was delivered (the next index and, per tenant, the last
//! delivered sequence number); it is replaced atomically after each delivery, so a crash
//! re-delivers at most the batch in flight (at-least-once; events carry their id for
//! de-duplication). On restart the spool reloads undelivered entries from its files and the
//! streamer catches up from the store for anything appended but not yet spooled.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use palisade_core::TenantId;
use serde::{Deserialize, Serialize};

use crate::chain::{Record, StoredEntry, parse_line};
use crate::error::{Error, Result};

/// What happens when a destination's spool is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// `record` waits until the destination catches up (at most `block_timeout_secs`, then fails).
    Block,
    /// `record` fails at once with [`Error::SpoolFull`]; nothing is recorded.
    Fail,
}

/// Which events go to a destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Filter {
    /// Only these tenants (empty = all).
    pub tenants: Vec<TenantId>,
    /// Only actions under one of these dotted prefixes (empty = all).
    pub action_prefixes: Vec<String>,
}

impl Filter {
    /// Whether `entry` goes to the destination.
    pub fn accepts(&self, entry: &StoredEntry) -> bool {
        (self.tenants.is_empty() || self.tenants.contains(&entry.event.tenant))
            && (self.action_prefixes.is_empty()
                || self.action_prefixes.iter().any(|p| entry.event.action.matches_prefix(p)))
    }
}

/// Settings of one destination's spool and delivery.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoolConfig {
    /// Bytes of undelivered entries before the spool counts as full. Default 64 MiB.
    pub capacity_bytes: u64,
    /// What `record` does when the spool is full. Default `block`.
    pub when_full: WhenFull,
    /// How long `block` waits before failing, in seconds. Default 30.
    pub block_timeout_secs: u64,
    /// Start a new spool file after this many bytes. Default 8 MiB.
    pub file_bytes: u64,
    /// Most entries per delivery. Default 500.
    pub batch_max: usize,
    /// First retry delay, milliseconds. Default 200.
    pub retry_base_ms: u64,
    /// Longest retry delay, milliseconds. Default 60 000.
    pub retry_max_ms: u64,
    /// Raise an alarm after this many failed deliveries in a row. Default 5.
    pub alarm_after_failures: u32,
    /// Which events go there.
    pub filter: Filter,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        Self {
            capacity_bytes: 64 << 20,
            when_full: WhenFull::Block,
            block_timeout_secs: 30,
            file_bytes: 8 << 20,
            batch_max: 500,
            retry_base_ms: 200,
            retry_max_ms: 60_000,
            alarm_after_failures: 5,
            filter: Filter::default(),
        }
    }
}

impl SpoolConfig {
    /// Every problem with the settings.
    pub fn validate(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.capacity_bytes < 64 << 10 {
            out.push(format!("capacity_bytes is {}, use at least 65536", self.capacity_bytes));
        }
        if self.batch_max == 0 || self.batch_max > 10_000 {
            out.push(format!("batch_max is {}, use 1 to 10000", self.batch_max));
        }
        if self.retry_base_ms == 0 || self.retry_max_ms < self.retry_base_ms {
            out.push("retry_base_ms must be positive and at most retry_max_ms".into());
        }
        if self.file_bytes < 4096 {
            out.push("file_bytes must be at least 4096".into());
        }
        for p in &self.filter.action_prefixes {
            if p.is_empty() || p.starts_with('.') {
                out.push(format!("filter action prefix {p:?} is empty or starts with a dot"));
            }
        }
        out
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CursorFile {
    next: u64,
    delivered: BTreeMap<String, u64>,
}

pub(crate) struct Queued {
    pub idx: u64,
    pub bytes: u64,
    pub entry: StoredEntry,
}

struct State {
    queue: VecDeque<Queued>,
    used: u64,
    reserved: u64,
    next_idx: u64,
    /// Per tenant: the highest sequence number offered (delivered, queued or filtered out).
    hwm: HashMap<TenantId, u64>,
    /// Per tenant: entries that arrived before their predecessor.
    reorder: HashMap<TenantId, BTreeMap<u64, StoredEntry>>,
    delivered: BTreeMap<String, u64>,
    files: VecDeque<(u64, PathBuf)>,
    current: Option<(File, u64)>,
    unsynced: bool,
}

/// One destination's spool. Shared between the recording path and the delivery worker.
pub struct Spool {
    dir: PathBuf,
    config: SpoolConfig,
    state: Mutex<State>,
    /// Signalled when entries are queued.
    pub(crate) data: tokio::sync::Notify,
    /// Signalled when space is freed.
    pub(crate) space: tokio::sync::Notify,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl Spool {
    /// Opens the spool in `dir`, reloading undelivered entries.
    pub fn open(dir: &Path, config: SpoolConfig) -> Result<Self> {
        let problems = config.validate();
        if !problems.is_empty() {
            return Err(Error::Config(problems));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        let cursor_path = dir.join("cursor.json");
        let cursor: CursorFile = match std::fs::read(&cursor_path) {
            Ok(d) => serde_json::from_slice(&d).map_err(|e| Error::Corrupt {
                path: cursor_path.clone(),
                line: 1,
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CursorFile::default(),
            Err(e) => return Err(Error::io("read", &cursor_path, e)),
        };
        let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
            .map_err(|e| Error::io("list", dir, e))?
            .filter_map(|d| d.ok())
            .filter_map(|d| {
                let name = d.file_name().to_str()?.to_owned();
                let idx = name.strip_suffix(".spool")?.parse().ok()?;
                Some((idx, d.path()))
            })
            .collect();
        files.sort();
        let mut state = State {
            queue: VecDeque::new(),
            used: 0,
            reserved: 0,
            next_idx: cursor.next,
            hwm: HashMap::new(),
            reorder: HashMap::new(),
            delivered: cursor.delivered.clone(),
            files: VecDeque::new(),
            current: None,
            unsynced: false,
        };
        for (t, s) in &cursor.delivered {
            if let Ok(t) = TenantId::new(t.as_str()) {
                state.hwm.insert(t, *s);
            }
        }
        for (first, path) in files {
            let data = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            let mut idx = first;
            let mut any_live = false;
            for line in data.split(|b| *b == b'\n') {
                // A torn last line (crash while spooling) is dropped: the store catch-up refills it.
                let Ok(Record::Entry(raw)) = parse_line(line) else { continue };
                let Ok(entry) = raw.to_stored() else { continue };
                if idx >= cursor.next {
                    let h = state.hwm.entry(entry.event.tenant.clone()).or_insert(0);
                    *h = (*h).max(entry.seq);
                    let bytes = line.len() as u64 + 1;
                    state.used += bytes;
                    state.queue.push_back(Queued { idx, bytes, entry });
                    any_live = true;
                }
                idx += 1;
            }
            state.next_idx = state.next_idx.max(idx);
            if any_live {
                state.files.push_back((first, path));
            } else {
                let _ = std::fs::remove_file(&path);
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            config,
            state: Mutex::new(state),
            data: Default::default(),
            space: Default::default(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &SpoolConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes queued and reserved.
    pub fn used(&self) -> u64 {
        let s = self.lock();
        s.used + s.reserved
    }

    /// Entries waiting for delivery.
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// Whether nothing waits for delivery.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The highest sequence number offered for `tenant`.
    pub fn high_water(&self, tenant: &TenantId) -> u64 {
        self.lock().hwm.get(tenant).copied().unwrap_or(0)
    }

    /// Declares that `tenant`'s entries up to `seq` are gone from the store (retention), so the
    /// spool does not wait for them.
    pub(crate) fn skip_to(&self, tenant: &TenantId, seq: u64) {
        let mut s = self.lock();
        let h = s.hwm.entry(tenant.clone()).or_insert(0);
        *h = (*h).max(seq);
    }

    /// Tries to reserve `bytes` of capacity. Returns false if the spool is full.
    pub(crate) fn try_reserve(&self, bytes: u64) -> bool {
        let mut s = self.lock();
        if s.used + s.reserved + bytes > self.config.capacity_bytes && (s.used + s.reserved) > 0 {
            return false;
        }
        s.reserved += bytes;
        true
    }

    pub(crate) fn release(&self, bytes: u64) {
        let mut s = self.lock();
        s.reserved = s.reserved.saturating_sub(bytes);
    }

    /// Offers entries (of any tenants, each tenant's in any order); queues those that pass the
    /// filter once their predecessors have been offered.
    pub(crate) fn offer(&self, entries: &[StoredEntry]) -> Result<()> {
        let mut s = self.lock();
        let mut lines = Vec::new();
        for e in entries {
            let tenant = e.event.tenant.clone();
            let hwm = s.hwm.get(&tenant).copied().unwrap_or(0);
            if e.seq <= hwm {
                continue;
            }
            if e.seq > hwm + 1 {
                s.reorder.entry(tenant).or_default().insert(e.seq, e.clone());
                continue;
            }
            let mut ready = vec![e.clone()];
            let mut next = e.seq + 1;
            if let Some(buf) = s.reorder.get_mut(&tenant) {
                while let Some(n) = buf.remove(&next) {
                    ready.push(n);
                    next += 1;
                }
            }
            s.hwm.insert(tenant, next - 1);
            for r in ready {
                if self.config.filter.accepts(&r) {
                    let line = r.to_line()?;
                    lines.push((line, r));
                }
            }
        }
        for (line, entry) in lines {
            let bytes = line.len() as u64;
            let idx = s.next_idx;
            self.write_line(&mut s, idx, &line)?;
            s.next_idx += 1;
            s.used += bytes;
            s.queue.push_back(Queued { idx, bytes, entry });
        }
        drop(s);
        self.data.notify_one();
        Ok(())
    }

    fn write_line(&self, s: &mut State, idx: u64, line: &[u8]) -> Result<()> {
        let rotate = s.current.as_ref().is_none_or(|(_, len)| *len >= self.config.file_bytes);
        if rotate {
            let path = self.dir.join(format!("{idx:020}.spool"));
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| Error::io("create", &path, e))?;
            s.files.push_back((idx, path));
            s.current = Some((f, 0));
        }
        if let Some((f, len)) = s.current.as_mut() {
            f.write_all(line).map_err(|e| Error::io("write", &self.dir, e))?;
            *len += line.len() as u64;
        }
        s.unsynced = true;
        Ok(())
    }

    /// Up to `max` queued entries, oldest first (fsyncs the spool first).
    pub(crate) fn peek(&self, max: usize) -> Result<Vec<StoredEntry>> {
        let mut s = self.lock();
        if s.unsynced {
            if let Some((f, _)) = &s.current {
                f.sync_data().map_err(|e| Error::io("fsync", &self.dir, e))?;
            }
            s.unsynced = false;
        }
        Ok(s.queue.iter().take(max).map(|q| q.entry.clone()).collect())
    }

    /// Marks the first `n` queued entries delivered: records the cursor, frees space.
    pub(crate) fn ack(&self, n: usize) -> Result<()> {
        let mut s = self.lock();
        let mut freed = 0;
        let mut next = None;
        for _ in 0..n {
            let Some(q) = s.queue.pop_front() else { break };
            freed += q.bytes;
            next = Some(q.idx + 1);
            let t = q.entry.event.tenant.as_str().to_owned();
            let d = s.delivered.entry(t).or_insert(0);
            *d = (*d).max(q.entry.seq);
        }
        s.used = s.used.saturating_sub(freed);
        let next = s.queue.front().map(|q| q.idx).or(next).unwrap_or(s.next_idx);
        let cursor = CursorFile { next, delivered: s.delivered.clone() };
        let tmp = self.dir.join("cursor.json.tmp");
        let path = self.dir.join("cursor.json");
        let data = serde_json::to_vec(&cursor)?;
        std::fs::write(&tmp, &data)
            .and_then(|()| File::open(&tmp).and_then(|f| f.sync_all()))
            .and_then(|()| std::fs::rename(&tmp, &path))
            .and_then(|()| File::open(&self.dir).and_then(|d| d.sync_all()))
            .map_err(|e| Error::io("write", &path, e))?;
        // Drop spool files whose entries are all delivered.
        while s.files.len() > 1 && s.files.get(1).is_some_and(|(first, _)| *first <= next) {
            if let Some((_, p)) = s.files.pop_front() {
                let _ = std::fs::remove_file(p);
            }
        }
        drop(s);
        self.space.notify_waiters();
        Ok(())
    }
}
