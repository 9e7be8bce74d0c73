//! Purge rate on SQLite: 1 million job-history rows, half of them past their period.
//!
//! `palisade` = the engine (batches of 1000 — `palisade_batch_10000`: of 10 000 —, checkpoint per batch, every record re-decided);
//! `raw_delete_floor` = one `DELETE ... WHERE ended_at <= cutoff` statement, the floor that no
//! policy-aware purge can beat. Each iteration purges a fresh copy of the same database.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade::core::ManualClock;
use palisade::retention::{Policy, PurgeEngine, PurgeOptions, SqliteStore};
use time::macros::datetime;

const ROWS: i64 = 1_000_000;
const NOW: time::OffsetDateTime = datetime!(2026-06-01 00:00 UTC);

fn build(dir: &Path) -> PathBuf {
    let path = dir.join("template.sqlite");
    let mut c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE job_history (id TEXT NOT NULL, tenant TEXT NOT NULL, class TEXT NOT NULL DEFAULT 'job_history',
           started_at INTEGER NOT NULL, ended_at INTEGER, needed INTEGER NOT NULL DEFAULT 0);
         CREATE INDEX job_history_scope ON job_history (tenant, class);",
    )
    .unwrap();
    let tx = c.transaction().unwrap();
    {
        let mut st = tx
            .prepare("INSERT INTO job_history (id, tenant, started_at, ended_at) VALUES (?1, ?2, ?3, ?4)")
            .unwrap();
        let now = NOW.unix_timestamp();
        for i in 0..ROWS {
            // 60 days of history spread over 10 tenants: half older than 30 days.
            let ended = now - (i * 60 * 86_400 / ROWS);
            st.execute(rusqlite::params![
                format!("job-{i}"),
                format!("tenant-{}", i % 10),
                ended - 60,
                ended
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    path
}

fn fresh(template: &Path, n: u64) -> PathBuf {
    let p = template.with_file_name(format!("run-{n}.sqlite"));
    std::fs::copy(template, &p).unwrap();
    p
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let template = build(dir.path());
    let policy = Policy::from_toml(
        "classes = [\"job_history\"]\ndefault_plan = \"base\"\n[plans.base.job_history]\ndefault = \"30d\"\nmin = \"30d\"\nmax = \"30d\"\n",
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut g = c.benchmark_group("retention_purge_1M_rows");
    g.sample_size(10).measurement_time(Duration::from_secs(30)).throughput(Throughput::Elements(500_000));
    let mut n = 0u64;
    // Each iteration purges a fresh copy of the template; only `run` is timed.
    let mut on_fresh_copies = |iters: u64, run: &mut dyn FnMut(&Path) -> Duration| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            n += 1;
            let path = fresh(&template, n);
            total += run(&path);
            let _ = std::fs::remove_file(&path);
        }
        total
    };
    let engine_run = |path: &Path, batch_size: usize| {
        let store = SqliteStore::open(path).unwrap();
        let clock = ManualClock::new(NOW);
        let engine = PurgeEngine::new(&policy, &store, &clock);
        let options = PurgeOptions { batch_size, ..PurgeOptions::default() };
        let start = Instant::now();
        let s = rt.block_on(engine.run(NOW, &options, None, None)).unwrap();
        let elapsed = start.elapsed();
        assert_eq!(s.total_deleted, 500_000);
        elapsed
    };
    let default_batch = PurgeOptions::default().batch_size;
    g.bench_function("palisade", |b| {
        b.iter_custom(|iters| on_fresh_copies(iters, &mut |p| engine_run(p, default_batch)))
    });
    g.bench_function("palisade_batch_10000", |b| {
        b.iter_custom(|iters| on_fresh_copies(iters, &mut |p| engine_run(p, 10_000)))
    });
    g.bench_function("raw_delete_floor", |b| {
        b.iter_custom(|iters| {
            on_fresh_copies(iters, &mut |path| {
                let conn = rusqlite::Connection::open(path).unwrap();
                let cutoff = (NOW - time::Duration::days(30)).unix_timestamp();
                let start = Instant::now();
                let deleted = conn.execute("DELETE FROM job_history WHERE ended_at <= ?1", [cutoff]).unwrap();
                let elapsed = start.elapsed();
                assert_eq!(deleted, 500_000);
                elapsed
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
