//! The purge engine: plans (dry run) and executes deletions in batches, resumably.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use palisade_core::{Clock, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::policy::{Decision, KeepReason, Policy, RecordMeta};
use crate::shred::{KeyShredder, PeriodKey};
use crate::store::{CandidateQuery, RetentionStore, Scope};

/// How a run behaves.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PurgeOptions {
    /// Identifies the run; a run stopped midway resumes when started again with the same id.
    pub run_id: String,
    /// Records examined per batch (1..=100 000).
    pub batch_size: usize,
    /// At most this many rows deleted per second (`None`: no limit).
    pub max_rows_per_second: Option<u32>,
    /// How many times a failing batch is retried before the scope is reported as failed.
    pub max_retries: u32,
}

impl Default for PurgeOptions {
    fn default() -> Self {
        Self { run_id: "purge".into(), batch_size: 1000, max_rows_per_second: None, max_retries: 2 }
    }
}

impl PurgeOptions {
    /// Checks the options, returning every problem.
    pub fn validate(&self) -> Result<()> {
        let mut p = Vec::new();
        if self.run_id.is_empty() {
            p.push("run_id must not be empty".to_owned());
        }
        if self.batch_size == 0 || self.batch_size > 100_000 {
            p.push(format!("batch_size {} must be within 1..=100000", self.batch_size));
        }
        if self.max_rows_per_second == Some(0) {
            p.push("max_rows_per_second must be above 0 (omit it for no limit)".to_owned());
        }
        if p.is_empty() { Ok(()) } else { Err(Error::InvalidPolicy(p)) }
    }
}

/// Cancels a run between batches; the run resumes later from its checkpoint.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }
    /// Requests cancellation.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What one tenant/class saw in a plan or a run. Serializes as an audit-log event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeSummary {
    /// The tenant.
    pub tenant: TenantId,
    /// The class.
    pub class: String,
    /// The effective period (`None`: no plan covers the scope; nothing is deleted).
    pub period: Option<String>,
    /// Records that ended at or before this instant are past their period.
    #[serde(with = "time::serde::rfc3339::option")]
    pub cutoff: Option<OffsetDateTime>,
    /// Records deleted (in a plan: that would be deleted).
    pub deleted: u64,
    /// Oldest end (start, for running records) among them.
    #[serde(with = "time::serde::rfc3339::option")]
    pub oldest: Option<OffsetDateTime>,
    /// Newest end among them.
    #[serde(with = "time::serde::rfc3339::option")]
    pub newest: Option<OffsetDateTime>,
    /// Past their period but kept under a legal hold.
    pub kept_held: u64,
    /// Past their period but still needed, within the hard maximum.
    pub kept_needed: u64,
    /// A hold covering the whole scope (nothing examined).
    pub held_by: Option<String>,
    /// Batches committed.
    pub batches: u64,
    /// Batch attempts that failed (and left the store unchanged).
    pub failed_attempts: u64,
    /// Set when the scope stopped on a batch that kept failing.
    pub error: Option<String>,
}

impl ScopeSummary {
    fn new(scope: &Scope) -> Self {
        Self {
            tenant: scope.tenant.clone(),
            class: scope.class.clone(),
            period: None,
            cutoff: None,
            deleted: 0,
            oldest: None,
            newest: None,
            kept_held: 0,
            kept_needed: 0,
            held_by: None,
            batches: 0,
            failed_attempts: 0,
            error: None,
        }
    }
}

/// The structured summary of a plan or a run, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeSummary {
    /// The run id.
    pub run_id: String,
    /// True for a plan (nothing was changed).
    pub dry_run: bool,
    /// The instant periods were measured from.
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    /// When the run started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it finished or stopped.
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// True when it continued an earlier run's checkpoint.
    pub resumed: bool,
    /// True when it stopped on cancellation (run again with the same id to finish).
    pub cancelled: bool,
    /// Total records deleted (or that would be).
    pub total_deleted: u64,
    /// Per tenant and class.
    pub scopes: Vec<ScopeSummary>,
    /// Keys destroyed (or that would be) by crypto-shredding.
    pub keys_destroyed: Vec<PeriodKey>,
}

impl PurgeSummary {
    /// True when every scope completed without error and the run was not cancelled.
    pub fn is_complete(&self) -> bool {
        !self.cancelled && self.scopes.iter().all(|s| s.error.is_none())
    }
}

/// Progress reported after every committed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress<'a> {
    /// The scope being purged.
    pub scope: &'a Scope,
    /// Its running summary.
    pub summary: &'a ScopeSummary,
    /// Total deleted so far in the run.
    pub total_deleted: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Checkpoint {
    #[serde(with = "time::serde::rfc3339")]
    now: OffsetDateTime,
    done: Vec<ScopeSummary>,
    pending: Vec<(ScopeSummary, i64)>,
    keys: Vec<CheckpointKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointKey {
    key_id: String,
    tenant: TenantId,
    class: String,
    #[serde(with = "time::serde::rfc3339")]
    not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    not_after: OffsetDateTime,
}

impl From<&PeriodKey> for CheckpointKey {
    fn from(k: &PeriodKey) -> Self {
        Self {
            key_id: k.key_id.clone(),
            tenant: k.tenant.clone(),
            class: k.class.clone(),
            not_before: k.not_before,
            not_after: k.not_after,
        }
    }
}

impl From<CheckpointKey> for PeriodKey {
    fn from(k: CheckpointKey) -> Self {
        Self {
            key_id: k.key_id,
            tenant: k.tenant,
            class: k.class,
            not_before: k.not_before,
            not_after: k.not_after,
        }
    }
}

/// Plans and runs purges of a [`RetentionStore`] under a [`Policy`].
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use palisade_core::ManualClock;
/// use palisade_retention::{MemoryStore, Policy, PurgeEngine, PurgeOptions, Scope};
/// use time::{macros::datetime, Duration};
///
/// let policy = Policy::from_toml(r#"
///     classes = ["job_history"]
///     default_plan = "base"
///     [plans.base.job_history]
///     default = "30d"
///     min = "30d"
///     max = "30d"
/// "#)?;
/// let now = datetime!(2026-06-01 00:00 UTC);
/// let store = MemoryStore::new();
/// let scope = Scope { tenant: "acme".parse()?, class: "job_history".into() };
/// store.insert(scope.clone(), "old", now - Duration::days(41), Some(now - Duration::days(40)), false)?;
/// store.insert(scope, "recent", now - Duration::days(3), Some(now - Duration::days(2)), false)?;
///
/// let clock = ManualClock::new(now);
/// let engine = PurgeEngine::new(&policy, &store, &clock);
/// assert_eq!(engine.plan(now, 1000).await?.total_deleted, 1);
/// let summary = engine.run(now, &PurgeOptions::default(), None, None).await?;
/// assert_eq!(summary.total_deleted, 1);
/// assert_eq!(store.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct PurgeEngine<'a> {
    policy: &'a Policy,
    store: &'a dyn RetentionStore,
    clock: &'a dyn Clock,
    shredder: Option<&'a dyn KeyShredder>,
}

impl std::fmt::Debug for PurgeEngine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PurgeEngine").field("shredder", &self.shredder.is_some()).finish_non_exhaustive()
    }
}

/// A progress callback.
pub type ProgressFn<'a> = &'a (dyn Fn(&Progress<'_>) + Send + Sync);

impl<'a> PurgeEngine<'a> {
    /// An engine over `store` deciding with `policy`; `clock` stamps summaries.
    pub fn new(policy: &'a Policy, store: &'a dyn RetentionStore, clock: &'a dyn Clock) -> Self {
        Self { policy, store, clock, shredder: None }
    }

    /// Also destroys expired per-period keys through `shredder`.
    pub fn with_shredder(mut self, shredder: &'a dyn KeyShredder) -> Self {
        self.shredder = Some(shredder);
        self
    }

    fn query_for<'s>(
        &self,
        scope: &'s Scope,
        now: OffsetDateTime,
        after: Option<i64>,
        limit: usize,
    ) -> Option<CandidateQuery<'s>> {
        let cutoff = self.policy.cutoff(&scope.tenant, &scope.class, now)?;
        let running = self.policy.hard_max(&scope.class).map(|m| now - m.duration());
        Some(CandidateQuery { scope, ended_before: cutoff, running_started_before: running, after, limit })
    }

    fn shred_cutoff(&self, scope: &Scope, now: OffsetDateTime) -> Option<OffsetDateTime> {
        if self.policy.any_hold(&scope.tenant, &scope.class, now) {
            return None;
        }
        let period = self.policy.effective_period(&scope.tenant, &scope.class)?;
        let longest = match self.policy.hard_max(&scope.class) {
            Some(m) => m.max(period),
            None => period,
        };
        Some(now - longest.duration())
    }

    fn start_scope(&self, scope: &Scope, now: OffsetDateTime) -> ScopeSummary {
        let mut s = ScopeSummary::new(scope);
        s.period = self.policy.effective_period(&scope.tenant, &scope.class).map(|p| p.to_string());
        s.cutoff = self.policy.cutoff(&scope.tenant, &scope.class, now);
        s.held_by = self.policy.scope_hold(&scope.tenant, &scope.class, now).map(|h| h.id.clone());
        s
    }

    /// Examines one batch: returns positions to delete, the updated summary and the new cursor.
    fn judge(
        &self,
        scope: &Scope,
        now: OffsetDateTime,
        batch: &[crate::store::StoredRecord],
        summary: &ScopeSummary,
    ) -> (Vec<i64>, ScopeSummary) {
        let mut s = summary.clone();
        let mut delete = Vec::new();
        for r in batch {
            let meta = RecordMeta {
                tenant: &scope.tenant,
                class: &scope.class,
                id: &r.id,
                started_at: r.started_at,
                ended_at: r.ended_at,
                needed: r.needed,
            };
            match self.policy.decide(&meta, now) {
                Decision::Delete => {
                    delete.push(r.position);
                    s.deleted += 1;
                    let t = r.ended_at.unwrap_or(r.started_at);
                    s.oldest = Some(s.oldest.map_or(t, |o| o.min(t)));
                    s.newest = Some(s.newest.map_or(t, |o| o.max(t)));
                }
                Decision::Keep(KeepReason::Held { .. }) => s.kept_held += 1,
                Decision::Keep(KeepReason::Needed) => s.kept_needed += 1,
                Decision::Keep(_) => {}
            }
        }
        (delete, s)
    }

    /// Dry run: what a run at `now` would delete, per tenant and class, without changing anything.
    pub async fn plan(&self, now: OffsetDateTime, batch_size: usize) -> Result<PurgeSummary> {
        let started_at = self.clock.now();
        let limit = batch_size.clamp(1, 100_000);
        let mut scopes = self.store.scopes().await?;
        scopes.sort();
        let mut out = Vec::new();
        let mut keys = Vec::new();
        for scope in &scopes {
            let mut s = self.start_scope(scope, now);
            if s.held_by.is_none() {
                let mut after = None;
                while let Some(q) = self.query_for(scope, now, after, limit) {
                    let batch = self.store.candidates(&q).await?;
                    let Some(last) = batch.last() else { break };
                    after = Some(last.position);
                    s = self.judge(scope, now, &batch, &s).1;
                    s.batches += 1;
                }
            }
            if let (Some(sh), Some(cut)) = (self.shredder, self.shred_cutoff(scope, now)) {
                keys.extend(sh.keys_ending_before(scope, cut).await?);
            }
            out.push(s);
        }
        Ok(PurgeSummary {
            run_id: "plan".into(),
            dry_run: true,
            now,
            started_at,
            finished_at: self.clock.now(),
            resumed: false,
            cancelled: false,
            total_deleted: out.iter().map(|s| s.deleted).sum(),
            scopes: out,
            keys_destroyed: keys,
        })
    }

    /// Runs the purge: deletes in batches, saving a checkpoint with every batch (atomically), so a
    /// run that stopped (crash, cancellation) resumes with the same `run_id` without deleting or
    /// counting anything twice. When resuming, the stopped run's `now` is used.
    pub async fn run(
        &self,
        now: OffsetDateTime,
        opts: &PurgeOptions,
        progress: Option<ProgressFn<'_>>,
        cancel: Option<&CancelToken>,
    ) -> Result<PurgeSummary> {
        opts.validate()?;
        let started_at = self.clock.now();
        let run = opts.run_id.as_str();
        let mut ck = match self.store.load_checkpoint(run).await? {
            Some(text) => serde_json::from_str::<Checkpoint>(&text)
                .map_err(|e| Error::Checkpoint { run: run.to_owned(), message: e.to_string() })?,
            None => Checkpoint { now, done: Vec::new(), pending: Vec::new(), keys: Vec::new() },
        };
        let resumed = ck.now != now || !ck.done.is_empty() || !ck.pending.is_empty();
        let now = ck.now;
        let mut scopes = self.store.scopes().await?;
        scopes.sort();
        for s in ck.done.iter().chain(ck.pending.iter().map(|(s, _)| s)) {
            let sc = Scope { tenant: s.tenant.clone(), class: s.class.clone() };
            if !scopes.contains(&sc) {
                scopes.push(sc);
            }
        }
        scopes.sort();
        scopes.dedup();
        let mut cancelled = false;
        let mut failed: Vec<ScopeSummary> = Vec::new();
        for scope in &scopes {
            if ck.done.iter().any(|s| s.tenant == scope.tenant && s.class == scope.class) {
                continue;
            }
            let (mut s, mut after) =
                match ck.pending.iter().position(|(p, _)| p.tenant == scope.tenant && p.class == scope.class)
                {
                    Some(i) => {
                        let (mut p, a) = ck.pending.remove(i);
                        p.error = None;
                        (p, Some(a))
                    }
                    None => (self.start_scope(scope, now), None),
                };
            if s.held_by.is_none() {
                loop {
                    if cancel.is_some_and(CancelToken::is_cancelled) {
                        cancelled = true;
                        break;
                    }
                    let Some(q) = self.query_for(scope, now, after, opts.batch_size) else { break };
                    let batch = self.store.candidates(&q).await?;
                    let Some(last) = batch.last() else { break };
                    let cursor = last.position;
                    let (positions, mut next) = self.judge(scope, now, &batch, &s);
                    next.batches += 1;
                    let mut attempt = 0;
                    let committed = loop {
                        let mut pending = ck.pending.clone();
                        pending.push((next.clone(), cursor));
                        let snapshot =
                            Checkpoint { now, done: ck.done.clone(), pending, keys: ck.keys.clone() };
                        let text = serde_json::to_string(&snapshot)
                            .map_err(|e| Error::Checkpoint { run: run.to_owned(), message: e.to_string() })?;
                        match self.store.delete_batch(scope, &positions, run, Some(&text)).await {
                            Ok(_) => break Ok(()),
                            Err(e) => {
                                next.failed_attempts += 1;
                                s.failed_attempts += 1;
                                if attempt >= opts.max_retries {
                                    break Err(e);
                                }
                                attempt += 1;
                            }
                        }
                    };
                    if let Err(e) = committed {
                        s.error = Some(e.to_string());
                        break;
                    }
                    s = next;
                    after = Some(cursor);
                    let total = ck.done.iter().map(|d| d.deleted).sum::<u64>() + s.deleted;
                    if let Some(cb) = progress {
                        cb(&Progress { scope, summary: &s, total_deleted: total });
                    }
                    if let Some(rate) = opts.max_rows_per_second {
                        let secs = positions.len() as f64 / f64::from(rate);
                        tokio::time::sleep(std::time::Duration::from_secs_f64(secs)).await;
                    }
                }
            }
            if cancelled {
                if let Some(a) = after {
                    ck.pending.push((s.clone(), a));
                }
                failed.push(s);
                break;
            }
            if s.error.is_some() {
                if let Some(a) = after {
                    ck.pending.push((s.clone(), a));
                }
                failed.push(s);
                continue;
            }
            {
                if let (Some(sh), Some(cut)) = (self.shredder, self.shred_cutoff(scope, now)) {
                    for key in sh.keys_ending_before(scope, cut).await? {
                        sh.destroy(&key).await?;
                        ck.keys.push(CheckpointKey::from(&key));
                    }
                }
            }
            ck.done.push(s);
            let text = serde_json::to_string(&ck)
                .map_err(|e| Error::Checkpoint { run: run.to_owned(), message: e.to_string() })?;
            self.store.delete_batch(scope, &[], run, Some(&text)).await?;
        }
        let complete = !cancelled && failed.is_empty();
        if complete && let Some(first) = scopes.first() {
            self.store.delete_batch(first, &[], run, None).await?;
        }
        let mut out = ck.done.clone();
        out.extend(failed);
        out.sort_by(|a, b| (&a.tenant, &a.class).cmp(&(&b.tenant, &b.class)));
        Ok(PurgeSummary {
            run_id: run.to_owned(),
            dry_run: false,
            now,
            started_at,
            finished_at: self.clock.now(),
            resumed,
            cancelled,
            total_deleted: out.iter().map(|s| s.deleted).sum(),
            scopes: out,
            keys_destroyed: ck.keys.into_iter().map(PeriodKey::from).collect(),
        })
    }
}
