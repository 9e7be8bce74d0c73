#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! The purge engine against every store: plan, run, holds, crash and resume, cancellation,
//! failing batches, crypto-shredding.

use std::sync::Mutex;

use palisade_core::{ManualClock, TenantId};
use palisade_retention::{
    CancelToken, MemoryShredder, MemoryStore, PeriodKey, Policy, PurgeEngine, PurgeOptions, RetentionStore,
    Scope, SqliteStore,
};
use time::{Duration, OffsetDateTime, macros::datetime};

const POLICY: &str = r#"
classes = ["job_history"]
default_plan = "base"
[plans.base.job_history]
default = "30d"
min = "30d"
max = "30d"
[exceptions.job_history]
hard_max = "90d"
[[holds]]
id = "case-1"
tenant = "held"
placed_by = "counsel"
reason = "litigation"
placed_at = "2026-01-01T00:00:00Z"
"#;

const NOW: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);

/// Rows: (tenant, id, ended days ago or None for running, started days ago, needed)
fn rows() -> Vec<(&'static str, String, Option<i64>, i64, bool)> {
    let mut v = Vec::new();
    for i in 0..50 {
        v.push(("acme", format!("old-{i}"), Some(31 + i), 32 + i, false));
        v.push(("acme", format!("new-{i}"), Some(i % 30), 30, false));
    }
    v.push(("acme", "needed-young".into(), Some(60), 61, true));
    v.push(("acme", "needed-old".into(), Some(91), 92, true));
    v.push(("acme", "running-young".into(), None, 10, false));
    v.push(("acme", "running-ancient".into(), None, 100, false));
    for i in 0..20 {
        v.push(("held", format!("h-{i}"), Some(100), 101, false));
        v.push(("bravo", format!("b-{i}"), Some(40), 41, false));
    }
    v
}

fn memory() -> MemoryStore {
    let s = MemoryStore::new();
    for (tenant, id, ended, started, needed) in rows() {
        let scope = Scope { tenant: tenant.parse().unwrap(), class: "job_history".into() };
        s.insert(scope, id, NOW - Duration::days(started), ended.map(|e| NOW - Duration::days(e)), needed)
            .unwrap();
    }
    s
}

fn sqlite(dir: &tempfile::TempDir) -> SqliteStore {
    let path = dir.path().join("jobs.sqlite");
    let conn = rusqlite_conn(&path);
    for (tenant, id, ended, started, needed) in rows() {
        conn.execute(
            "INSERT INTO job_history (id, tenant, class, started_at, ended_at, needed) VALUES (?1, ?2, 'job_history', ?3, ?4, ?5)",
            rusqlite::params![
                id,
                tenant,
                (NOW - Duration::days(started)).unix_timestamp(),
                ended.map(|e| (NOW - Duration::days(e)).unix_timestamp()),
                needed
            ],
        )
        .unwrap();
    }
    drop(conn);
    SqliteStore::open(&path).unwrap()
}

fn rusqlite_conn(path: &std::path::Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(
        "CREATE TABLE job_history (id TEXT NOT NULL, tenant TEXT NOT NULL, class TEXT NOT NULL DEFAULT 'job_history', \
         started_at INTEGER NOT NULL, ended_at INTEGER, needed INTEGER NOT NULL DEFAULT 0);
         CREATE INDEX job_history_scope ON job_history (tenant, class);",
    )
    .unwrap();
    c
}

// Expected: acme deletes 50 old + needed-old + running-ancient = 52; bravo 20; held 0 (20 held).
async fn suite(store: &dyn RetentionStore, count: &dyn Fn() -> usize) {
    let policy = Policy::from_toml(POLICY).unwrap();
    let clock = ManualClock::new(NOW);
    let engine = PurgeEngine::new(&policy, store, &clock);
    let before = count();
    let plan = engine.plan(NOW, 7).await.unwrap();
    assert!(plan.dry_run);
    assert_eq!(plan.total_deleted, 72);
    assert_eq!(count(), before, "plan changed the store");
    let acme = plan.scopes.iter().find(|s| s.tenant.as_str() == "acme").unwrap();
    assert_eq!(acme.deleted, 52);
    assert_eq!(acme.kept_needed, 1);
    assert_eq!(acme.newest, Some(NOW - Duration::days(31)));
    assert_eq!(acme.oldest, Some(NOW - Duration::days(100)));
    let held = plan.scopes.iter().find(|s| s.tenant.as_str() == "held").unwrap();
    assert_eq!((held.deleted, held.held_by.as_deref()), (0, Some("case-1")));

    // Cancel after the first committed batch, then resume: same totals, nothing counted twice.
    let cancel = CancelToken::new();
    let seen = Mutex::new(Vec::new());
    let cb = |p: &palisade_retention::Progress<'_>| {
        seen.lock().unwrap().push(p.total_deleted);
        cancel.cancel();
    };
    let opts = PurgeOptions { run_id: "nightly".into(), batch_size: 5, ..PurgeOptions::default() };
    let first = engine.run(NOW, &opts, Some(&cb), Some(&cancel)).await.unwrap();
    assert!(first.cancelled && !first.is_complete());
    assert_eq!(count(), before - usize::try_from(first.total_deleted).unwrap());
    assert!(first.total_deleted > 0 && first.total_deleted < 72);
    // Resume later: the stopped run's `now` is kept.
    let second = engine.run(NOW + Duration::days(5), &opts, None, None).await.unwrap();
    assert!(second.resumed && second.is_complete());
    assert_eq!(second.now, NOW);
    assert_eq!(second.total_deleted, 72);
    assert_eq!(count(), before - 72);
    let after = engine.plan(NOW, 100).await.unwrap();
    assert_eq!(after.total_deleted, 0);
    // A new run with the same id starts afresh (the checkpoint was cleared).
    let third = engine.run(NOW, &opts, None, None).await.unwrap();
    assert!(!third.resumed);
    assert_eq!(third.total_deleted, 0);
}

#[tokio::test]
async fn memory_store() {
    let s = memory();
    suite(&s, &|| s.len()).await;
}

#[tokio::test]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let s = sqlite(&dir);
    let path = dir.path().join("jobs.sqlite");
    let count = move || -> usize {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.query_row("SELECT count(*) FROM job_history", [], |r| r.get::<_, i64>(0)).unwrap() as usize
    };
    suite(&s, &count).await;
    // The young and needed records are still there.
    let c = rusqlite::Connection::open(dir.path().join("jobs.sqlite")).unwrap();
    let ids: Vec<String> = c
        .prepare("SELECT id FROM job_history WHERE tenant = 'acme' AND id NOT LIKE 'new-%' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids, ["needed-young", "running-young"]);
}

#[tokio::test]
async fn crash_mid_run_leaves_store_consistent_and_resumes_without_double_counting() {
    let s = memory();
    let before = s.len();
    let policy = Policy::from_toml(POLICY).unwrap();
    let clock = ManualClock::new(NOW);
    let engine = PurgeEngine::new(&policy, &s, &clock);
    let opts = PurgeOptions { run_id: "r".into(), batch_size: 4, max_retries: 1, ..PurgeOptions::default() };
    // Three batches commit, then every write fails (the process "crashes").
    s.fail_deletes_after(Some(3));
    // The run either reports the failed scopes or stops with the store error.
    match engine.run(NOW, &opts, None, None).await {
        Ok(broken) => {
            assert!(!broken.is_complete());
            assert!(broken.scopes.iter().any(|x| x.error.is_some()));
        }
        Err(e) => assert!(e.to_string().contains("simulated failure")),
    }
    let deleted_so_far = before - s.len();
    assert!(deleted_so_far > 0 && deleted_so_far < 72);
    s.fail_deletes_after(None);
    let resumed = engine.run(NOW, &opts, None, None).await.unwrap();
    assert!(resumed.resumed && resumed.is_complete(), "{resumed:?}");
    assert_eq!(resumed.total_deleted, 72);
    assert_eq!(before - s.len(), 72);
}

#[tokio::test]
async fn shredding_destroys_only_expired_unheld_keys() {
    let s = memory();
    let policy = Policy::from_toml(POLICY).unwrap();
    let clock = ManualClock::new(NOW);
    let shredder = MemoryShredder::new();
    let key = |id: &str, tenant: &str, ended_days: i64| PeriodKey {
        key_id: id.into(),
        tenant: tenant.parse::<TenantId>().unwrap(),
        class: "job_history".into(),
        not_before: NOW - Duration::days(ended_days) - Duration::hours(1),
        not_after: NOW - Duration::days(ended_days),
    };
    // Hard max 90d > period 30d: keys go only once past 90 days.
    shredder.add(key("acme-old", "acme", 95));
    shredder.add(key("acme-60", "acme", 60));
    shredder.add(key("held-old", "held", 200));
    let engine = PurgeEngine::new(&policy, &s, &clock).with_shredder(&shredder);
    let plan = engine.plan(NOW, 100).await.unwrap();
    assert_eq!(plan.keys_destroyed.len(), 1);
    assert!(shredder.exists("acme-old"));
    let run = engine.run(NOW, &PurgeOptions::default(), None, None).await.unwrap();
    let ids: Vec<_> = run.keys_destroyed.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(ids, ["acme-old"]);
    assert!(!shredder.exists("acme-old") && shredder.exists("acme-60") && shredder.exists("held-old"));
    let json = serde_json::to_value(&run).unwrap();
    assert_eq!(json["scopes"][0]["tenant"], "acme");
    assert!(json["scopes"][0]["cutoff"].is_string());
}

#[test]
fn sqlite_rejects_bad_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.sqlite");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("CREATE TABLE job_history (id TEXT, tenant TEXT)").unwrap();
    drop(c);
    let err = SqliteStore::open(&path).unwrap_err().to_string();
    assert!(err.contains("started_at") && err.contains("ended_at"), "{err}");
    assert!(SqliteStore::open(&dir.path().join("missing.sqlite")).is_err());
}

#[tokio::test]
async fn transient_batch_failure_is_retried() {
    let s = memory();
    let before = s.len();
    let policy = Policy::from_toml(POLICY).unwrap();
    let clock = ManualClock::new(NOW);
    let engine = PurgeEngine::new(&policy, &s, &clock);
    // Without retries the failing batch is reported and the store is untouched.
    s.fail_next_deletes(1);
    let opts =
        PurgeOptions { run_id: "t".into(), batch_size: 1000, max_retries: 0, ..PurgeOptions::default() };
    let failed = engine.run(NOW, &opts, None, None).await.unwrap();
    assert!(!failed.is_complete());
    let acme = failed.scopes.iter().find(|x| x.tenant.as_str() == "acme").unwrap();
    assert_eq!((acme.failed_attempts, acme.deleted), (1, 0));
    assert!(acme.error.as_deref().unwrap().contains("transient"));
    assert_eq!(before - s.len(), 20, "only bravo's batch committed");
    // The next run resumes; with retries a transient failure is absorbed.
    s.fail_next_deletes(1);
    let opts = PurgeOptions { max_retries: 2, ..opts };
    let ok = engine.run(NOW, &opts, None, None).await.unwrap();
    assert!(ok.is_complete() && ok.resumed, "{ok:?}");
    assert_eq!(ok.total_deleted, 72);
    assert_eq!(before - s.len(), 72);
    assert_eq!(ok.scopes.iter().map(|x| x.failed_attempts).sum::<u64>(), 1);
}
