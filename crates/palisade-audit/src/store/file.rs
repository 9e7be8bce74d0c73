//! The embedded default store: append-only JSONL segment files, one chain per tenant, with
//! rotation and group-commit fsync.
//!
//! Layout of the directory (see `docs/audit-format.md`):
//! * `<tenant>.<first seq, 20 digits>.jsonl` — a segment: entry lines, in chain order;
//! * `<tenant>.checkpoints.jsonl` — that tenant's signed checkpoints;
//! * `.lock` — held (advisory `flock`) by the one process that writes.
//!
//! One writer thread owns the files. Appends queue up while it is busy; it takes every queued
//! append, writes them, calls `fdatasync` once per touched file, and only then acknowledges them
//! (group commit). A crash can therefore only lose appends that were never acknowledged. On
//! open, a torn last line (no newline) is moved to `<segment>.torn-<unix time>` and cut off; any
//! other line that does not check out makes `open` fail with [`Error::Corrupt`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use async_trait::async_trait;
use palisade_core::{SharedClock, TenantId};
use serde::Deserialize;
use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::chain::{ChainHead, Prepared, Record, StoredEntry, parse_line};
use crate::checkpoint::SignedCheckpoint;
use crate::error::{Error, Result};
use crate::event::AuditEvent;
use crate::store::{AuditStore, Checkpointing, Cursor, Page, Query};

/// Settings of a [`FileAuditStore`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileStoreConfig {
    /// Start a new segment once the current one reaches this size (bytes). Default 64 MiB.
    pub max_segment_bytes: u64,
    /// The most appends committed by one fsync. Default 4096.
    pub max_batch: usize,
    /// When to sign checkpoints (used when a signer is given).
    pub checkpoint: crate::store::CheckpointPolicy,
}

impl Default for FileStoreConfig {
    fn default() -> Self {
        Self { max_segment_bytes: 64 << 20, max_batch: 4096, checkpoint: Default::default() }
    }
}

impl FileStoreConfig {
    /// Every problem with the settings.
    pub fn validate(&self) -> Vec<String> {
        let mut out = self.checkpoint.validate();
        if self.max_segment_bytes < 4096 {
            out.push(format!("max_segment_bytes is {}, use at least 4096", self.max_segment_bytes));
        }
        if self.max_batch == 0 {
            out.push("max_batch must be at least 1".into());
        }
        out
    }
}

/// Validates and canonicalizes events on the caller's thread, so the writer thread only chains,
/// writes and syncs them.
fn prepare(events: Vec<AuditEvent>) -> Result<Vec<Prepared>> {
    events
        .into_iter()
        .map(|e| {
            e.validate()?;
            Prepared::new(e)
        })
        .collect()
}

enum Cmd {
    Append(Vec<Prepared>, oneshot::Sender<Result<Vec<StoredEntry>>>),
    Checkpoint(TenantId, oneshot::Sender<Result<Option<ChainHead>>>),
}

/// Append-only JSONL segment files with group commit. See the module docs.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use palisade_audit::{Actor, AuditEvent, AuditStore, FileAuditStore, FileStoreConfig, Query};
/// use palisade_core::SystemClock;
/// use std::sync::Arc;
///
/// let dir = std::env::temp_dir().join(format!("audit-doc-{}", std::process::id()));
/// let store = FileAuditStore::open(&dir, FileStoreConfig::default(), Arc::new(SystemClock), None)?;
/// let event = AuditEvent::new(&SystemClock, "acme".parse()?, Actor::system("ops"), "user.mfa.reset")?;
/// store.append(vec![event]).await?; // on disk when this returns
/// assert_eq!(store.query(&Query::new("acme".parse()?)).await?.entries.len(), 1);
/// # drop(store); std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct FileAuditStore {
    dir: PathBuf,
    tx: Option<mpsc::Sender<Cmd>>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FileAuditStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileAuditStore").field("dir", &self.dir).finish_non_exhaustive()
    }
}

struct TenantFiles {
    head: ChainHead,
    segment: Option<(PathBuf, File, u64)>,
    last_cp: Option<(u64, OffsetDateTime)>,
}

struct Writer {
    dir: PathBuf,
    config: FileStoreConfig,
    clock: SharedClock,
    checkpointing: Option<Checkpointing>,
    tenants: HashMap<TenantId, TenantFiles>,
    _lock: File,
}

/// Lists the segments of each tenant in `dir`, ordered by first sequence number.
pub fn list_segments(dir: &Path) -> Result<BTreeMap<String, Vec<(u64, PathBuf)>>> {
    let mut out: BTreeMap<String, Vec<(u64, PathBuf)>> = BTreeMap::new();
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))?;
    for item in rd {
        let item = item.map_err(|e| Error::io("list", dir, e))?;
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".jsonl") else { continue };
        let Some((tenant, seq)) = stem.rsplit_once('.') else { continue };
        if seq.len() != 20 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(seq) = seq.parse::<u64>() else { continue };
        out.entry(tenant.to_owned()).or_default().push((seq, item.path()));
    }
    for segs in out.values_mut() {
        segs.sort();
    }
    Ok(out)
}

fn segment_path(dir: &Path, tenant: &TenantId, first_seq: u64) -> PathBuf {
    dir.join(format!("{}.{first_seq:020}.jsonl", tenant.as_str()))
}

fn checkpoint_path(dir: &Path, tenant: &TenantId) -> PathBuf {
    dir.join(format!("{}.checkpoints.jsonl", tenant.as_str()))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io("sync directory", dir, e))
}

impl FileAuditStore {
    /// Opens (creating if needed) the store in `dir`, recovering from a crash if the last write
    /// was torn. Fails with [`Error::Locked`] if another process has it open.
    pub fn open(
        dir: impl AsRef<Path>,
        config: FileStoreConfig,
        clock: SharedClock,
        checkpointing: Option<Checkpointing>,
    ) -> Result<Self> {
        let problems = config.validate();
        if !problems.is_empty() {
            return Err(Error::Config(problems));
        }
        let dir = dir.as_ref().to_owned();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        let lock_path = dir.join(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io("open", &lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::Locked(dir)),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", &lock_path, e)),
        }
        let mut tenants = HashMap::new();
        for (name, segs) in list_segments(&dir)? {
            let tenant = TenantId::new(name.as_str()).map_err(|e| Error::Corrupt {
                path: dir.join(&name),
                line: 0,
                reason: format!("segment file for an invalid tenant id: {e}"),
            })?;
            let mut head = ChainHead::EMPTY;
            let mut segment = None;
            for (first, path) in segs.iter().rev() {
                let (h, len) = recover(path, *first)?;
                if let Some(h) = h {
                    head = h;
                    if segment.is_none() {
                        let f = OpenOptions::new()
                            .append(true)
                            .open(path)
                            .map_err(|e| Error::io("open", path, e))?;
                        segment = Some((path.clone(), f, len));
                    }
                    break;
                }
                // An empty segment (crash right after rotation): remove it, look at the one before.
                std::fs::remove_file(path).map_err(|e| Error::io("remove empty segment", path, e))?;
            }
            let last_cp = last_checkpoint(&checkpoint_path(&dir, &tenant))?.map(|s| (s, clock.now()));
            tenants.insert(tenant, TenantFiles { head, segment, last_cp });
        }
        let writer = Writer { dir: dir.clone(), config, clock, checkpointing, tenants, _lock: lock };
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("palisade-audit-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| Error::io("start writer thread for", &dir, e))?;
        Ok(Self { dir, tx: Some(tx), writer: Some(handle) })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn send(&self, cmd: Cmd) -> Result<()> {
        self.tx.as_ref().ok_or(Error::Closed)?.send(cmd).map_err(|_| Error::Closed)
    }

    /// [`AuditStore::append`] for callers without an async runtime.
    pub fn append_blocking(&self, events: Vec<AuditEvent>) -> Result<Vec<StoredEntry>> {
        let (tx, rx) = oneshot::channel();
        self.send(Cmd::Append(prepare(events)?, tx))?;
        rx.blocking_recv().map_err(|_| Error::Closed)?
    }

    /// [`AuditStore::checkpoint`] for callers without an async runtime.
    pub fn checkpoint_blocking(&self, tenant: &TenantId) -> Result<Option<ChainHead>> {
        let (tx, rx) = oneshot::channel();
        self.send(Cmd::Checkpoint(tenant.clone(), tx))?;
        rx.blocking_recv().map_err(|_| Error::Closed)?
    }

    /// Reads a page from the store in `dir` without opening it for writing (works while another
    /// process writes). Entries that do not check out fail the query with [`Error::Corrupt`].
    pub fn query_dir(dir: &Path, query: &Query) -> Result<Page> {
        let limit = query.checked_limit()?;
        let segs = list_segments(dir)?.remove(query.tenant.as_str()).unwrap_or_default();
        let start = query.start_seq();
        let skip = segs.iter().rposition(|(first, _)| *first <= start).unwrap_or(0);
        let mut entries = Vec::new();
        for (_, path) in segs.iter().skip(skip) {
            let data = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
            // Only complete lines: the writer may be in the middle of one.
            let complete =
                data.iter().rposition(|b| *b == b'\n').and_then(|i| data.get(..i)).unwrap_or_default();
            if complete.is_empty() {
                continue;
            }
            for (i, line) in complete.split(|b| *b == b'\n').enumerate() {
                let corrupt =
                    |reason: String| Error::Corrupt { path: path.clone(), line: i as u64 + 1, reason };
                let raw = match parse_line(line) {
                    Ok(Record::Entry(raw)) => raw,
                    Ok(Record::Checkpoint(_)) => continue,
                    Err(why) => return Err(corrupt(why)),
                };
                if raw.seq < start {
                    continue;
                }
                if !raw.hash_ok() {
                    return Err(corrupt(format!("entry {} does not match its hash", raw.seq)));
                }
                if entries.len() == limit {
                    return Ok(Page { entries, next: Some(Cursor(raw.seq)) });
                }
                let entry = raw.to_stored().map_err(|e| corrupt(e.to_string()))?;
                if query.matches(&entry) {
                    entries.push(entry);
                }
            }
        }
        Ok(Page { entries, next: None })
    }
}

impl Drop for FileAuditStore {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
    }
}

/// Checks a segment and cuts off a torn last line. Returns the head (None if empty) and length.
fn recover(path: &Path, first_seq: u64) -> Result<(Option<ChainHead>, u64)> {
    let data = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    let valid_len = data.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let mut head = None;
    if let Some(body) = data.get(..valid_len.saturating_sub(1)).filter(|_| valid_len > 0) {
        let mut prev = None;
        for (i, line) in body.split(|b| *b == b'\n').enumerate() {
            let expect = first_seq + i as u64;
            let corrupt =
                |reason: String| Error::Corrupt { path: path.to_owned(), line: i as u64 + 1, reason };
            let raw = match parse_line(line) {
                Ok(Record::Entry(raw)) => raw,
                Ok(Record::Checkpoint(_)) => return Err(corrupt("a checkpoint inside a segment".into())),
                Err(why) => return Err(corrupt(why)),
            };
            if !raw.hash_ok() {
                return Err(corrupt(format!("entry {} does not match its hash", raw.seq)));
            }
            if raw.seq != expect || prev.is_some_and(|p| p != raw.prev) {
                return Err(corrupt(format!(
                    "entry {} is out of chain order (expected entry {expect})",
                    raw.seq
                )));
            }
            prev = Some(raw.hash);
            head = Some(ChainHead { seq: raw.seq, hash: raw.hash });
        }
    }
    if valid_len < data.len() {
        let torn = data.get(valid_len..).unwrap_or_default();
        let stamp = OffsetDateTime::now_utc().unix_timestamp();
        let keep = path.with_extension(format!("jsonl.torn-{stamp}"));
        std::fs::write(&keep, torn).map_err(|e| Error::io("save torn tail to", &keep, e))?;
        let f = OpenOptions::new().write(true).open(path).map_err(|e| Error::io("open", path, e))?;
        f.set_len(valid_len as u64)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io("truncate torn tail of", path, e))?;
        tracing::warn!(path = %path.display(), bytes = torn.len(), saved = %keep.display(), "audit segment had a torn last line (crash during an unacknowledged write); cut off");
    }
    Ok((head, valid_len as u64))
}

fn last_checkpoint(path: &Path) -> Result<Option<u64>> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    Ok(data
        .split(|b| *b == b'\n')
        .filter_map(|l| match parse_line(l) {
            Ok(Record::Checkpoint(c)) => Some(c.seq),
            _ => None,
        })
        .max())
}

/// Per tenant, what to restore if a batch fails: head, last checkpoint, segment and its length.
type Saved = HashMap<TenantId, (ChainHead, Option<(u64, OffsetDateTime)>, Option<(PathBuf, u64)>)>;

/// What to undo if a batch fails half-way.
enum Undo {
    Truncate(PathBuf, u64),
    Remove(PathBuf),
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Cmd>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while batch.len() < self.config.max_batch {
                match rx.try_recv() {
                    Ok(c) => batch.push(c),
                    Err(_) => break,
                }
            }
            self.commit(batch);
        }
    }

    fn commit(&mut self, batch: Vec<Cmd>) {
        let saved: Saved = self
            .tenants
            .iter()
            .map(|(t, f)| {
                (t.clone(), (f.head, f.last_cp, f.segment.as_ref().map(|(p, _, l)| (p.clone(), *l))))
            })
            .collect();
        let mut undo = Vec::new();
        let mut replies = Vec::with_capacity(batch.len());
        let result = self.write_batch(batch, &mut undo, &mut replies);
        match result {
            Ok(()) => {
                for r in replies {
                    r.send_ok();
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "audit store: batch failed, rolling back");
                self.rollback(undo, saved);
                let msg = e.to_string();
                for r in replies {
                    r.send_err(&msg);
                }
            }
        }
    }

    fn write_batch(&mut self, batch: Vec<Cmd>, undo: &mut Vec<Undo>, replies: &mut Vec<Reply>) -> Result<()> {
        let mut dirty: HashSet<PathBuf> = HashSet::new();
        let mut new_files = false;
        let mut pending: HashMap<TenantId, Vec<u8>> = HashMap::new();
        let mut forced: Vec<TenantId> = Vec::new();
        let mut touched: Vec<TenantId> = Vec::new();
        for cmd in batch {
            match cmd {
                Cmd::Append(events, tx) => {
                    let mut out = Vec::with_capacity(events.len());
                    for e in events {
                        let tenant = e.tenant().clone();
                        if !touched.contains(&tenant) {
                            touched.push(tenant.clone());
                        }
                        let t = self.tenants.entry(tenant.clone()).or_insert(TenantFiles {
                            head: ChainHead::EMPTY,
                            segment: None,
                            last_cp: None,
                        });
                        let (entry, line) = e.seal(t.head)?;
                        let buf = pending.entry(tenant.clone()).or_default();
                        let seg_len = t.segment.as_ref().map_or(0, |(_, _, l)| *l) + buf.len() as u64;
                        if t.segment.is_none() || (seg_len >= self.config.max_segment_bytes && t.head.seq > 0)
                        {
                            // Flush what belongs to the old segment, then start a new one.
                            if let Some((path, file, len)) = t.segment.as_mut()
                                && !buf.is_empty()
                            {
                                undo.push(Undo::Truncate(path.clone(), *len));
                                file.write_all(buf).map_err(|e| Error::io("write", path.as_path(), e))?;
                                *len += buf.len() as u64;
                                dirty.insert(path.clone());
                                buf.clear();
                            }
                            let path = segment_path(&self.dir, &tenant, entry.seq);
                            let file = OpenOptions::new()
                                .append(true)
                                .create_new(true)
                                .open(&path)
                                .map_err(|e| Error::io("create", &path, e))?;
                            undo.push(Undo::Remove(path.clone()));
                            dirty.insert(path.clone());
                            new_files = true;
                            t.segment = Some((path, file, 0));
                        }
                        buf.extend_from_slice(&line);
                        t.head = ChainHead { seq: entry.seq, hash: entry.hash };
                        out.push(entry);
                    }
                    replies.push(Reply::Append(tx, out));
                }
                Cmd::Checkpoint(tenant, tx) => {
                    forced.push(tenant.clone());
                    replies.push(Reply::Checkpoint(tx, tenant, None));
                }
            }
        }
        for (tenant, buf) in &pending {
            if buf.is_empty() {
                continue;
            }
            if let Some(t) = self.tenants.get_mut(tenant)
                && let Some((path, file, len)) = t.segment.as_mut()
            {
                undo.push(Undo::Truncate(path.clone(), *len));
                file.write_all(buf).map_err(|e| Error::io("write", path.as_path(), e))?;
                *len += buf.len() as u64;
                dirty.insert(path.clone());
            }
        }
        // Checkpoints.
        let mut signed: HashMap<TenantId, ChainHead> = HashMap::new();
        if let Some(cp) = self.checkpointing.clone() {
            let now = self.clock.now();
            let mut candidates = touched.clone();
            candidates.extend(forced.iter().cloned());
            for tenant in candidates {
                let Some(t) = self.tenants.get_mut(&tenant) else { continue };
                let moved = t.head.seq > 0 && t.last_cp.is_none_or(|(s, _)| t.head.seq > s);
                let due =
                    if forced.contains(&tenant) { moved } else { cp.policy.due(t.head, t.last_cp, now) };
                if !due || signed.contains_key(&tenant) {
                    continue;
                }
                let (_, line) = SignedCheckpoint::sign(cp.signer.as_ref(), &tenant, t.head, now)?;
                let path = checkpoint_path(&self.dir, &tenant);
                match std::fs::metadata(&path) {
                    Ok(m) => undo.push(Undo::Truncate(path.clone(), m.len())),
                    Err(_) => {
                        undo.push(Undo::Remove(path.clone()));
                        new_files = true;
                    }
                }
                let mut f = OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&path)
                    .map_err(|e| Error::io("open", &path, e))?;
                f.write_all(&line).map_err(|e| Error::io("write", &path, e))?;
                dirty.insert(path);
                t.last_cp = Some((t.head.seq, now));
                signed.insert(tenant, t.head);
            }
        }
        // One fsync per touched file, then the directory if files were created.
        for path in &dirty {
            let f = OpenOptions::new().append(true).open(path).map_err(|e| Error::io("open", path, e))?;
            f.sync_data().map_err(|e| Error::io("fsync", path, e))?;
        }
        if new_files {
            sync_dir(&self.dir)?;
        }
        for r in replies.iter_mut() {
            if let Reply::Checkpoint(_, tenant, head) = r {
                *head = signed.get(tenant).copied();
            }
        }
        Ok(())
    }

    fn rollback(&mut self, undo: Vec<Undo>, saved: Saved) {
        for u in undo.into_iter().rev() {
            let r = match &u {
                Undo::Truncate(p, len) => OpenOptions::new()
                    .write(true)
                    .open(p)
                    .and_then(|f| f.set_len(*len).and_then(|()| f.sync_all())),
                Undo::Remove(p) => std::fs::remove_file(p),
            };
            if let Err(e) = r {
                tracing::error!(error = %e, "audit store: rollback step failed; reopen the store to recover");
            }
        }
        self.tenants.retain(|t, _| saved.contains_key(t));
        for (tenant, (head, last_cp, seg)) in saved {
            if let Some(t) = self.tenants.get_mut(&tenant) {
                t.head = head;
                t.last_cp = last_cp;
                t.segment = seg
                    .and_then(|(p, len)| OpenOptions::new().append(true).open(&p).ok().map(|f| (p, f, len)));
            }
        }
    }
}

enum Reply {
    Append(oneshot::Sender<Result<Vec<StoredEntry>>>, Vec<StoredEntry>),
    Checkpoint(oneshot::Sender<Result<Option<ChainHead>>>, TenantId, Option<ChainHead>),
}

impl Reply {
    fn send_ok(self) {
        match self {
            Reply::Append(tx, out) => drop(tx.send(Ok(out))),
            Reply::Checkpoint(tx, _, head) => drop(tx.send(Ok(head))),
        }
    }
    fn send_err(self, msg: &str) {
        let err = || Error::Io {
            op: "append to",
            path: PathBuf::from("audit store"),
            source: std::io::Error::other(msg.to_owned()),
        };
        match self {
            Reply::Append(tx, _) => drop(tx.send(Err(err()))),
            Reply::Checkpoint(tx, _, _) => drop(tx.send(Err(err()))),
        }
    }
}

#[async_trait]
impl AuditStore for FileAuditStore {
    async fn append(&self, events: Vec<AuditEvent>) -> Result<Vec<StoredEntry>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (tx, rx) = oneshot::channel();
        self.send(Cmd::Append(prepare(events)?, tx))?;
        rx.await.map_err(|_| Error::Closed)?
    }

    async fn query(&self, query: &Query) -> Result<Page> {
        let dir = self.dir.clone();
        let query = query.clone();
        tokio::task::spawn_blocking(move || Self::query_dir(&dir, &query)).await.map_err(|_| Error::Closed)?
    }

    async fn head(&self, tenant: &TenantId) -> Result<ChainHead> {
        // The last entry of the last segment, read from disk.
        let segs = list_segments(&self.dir)?.remove(tenant.as_str()).unwrap_or_default();
        for (_, path) in segs.iter().rev() {
            let data = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
            let complete =
                data.iter().rposition(|b| *b == b'\n').and_then(|i| data.get(..i)).unwrap_or_default();
            if let Some(last) = complete.rsplit(|b| *b == b'\n').next().filter(|l| !l.is_empty())
                && let Ok(Record::Entry(raw)) = parse_line(last)
            {
                return Ok(ChainHead { seq: raw.seq, hash: raw.hash });
            }
        }
        Ok(ChainHead::EMPTY)
    }

    async fn tenants(&self) -> Result<Vec<TenantId>> {
        Ok(list_segments(&self.dir)?.into_keys().filter_map(|t| TenantId::new(t).ok()).collect())
    }

    async fn checkpoint(&self, tenant: &TenantId) -> Result<Option<ChainHead>> {
        let (tx, rx) = oneshot::channel();
        self.send(Cmd::Checkpoint(tenant.clone(), tx))?;
        rx.await.map_err(|_| Error::Closed)?
    }
}
