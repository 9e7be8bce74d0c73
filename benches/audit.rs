//! palisade-audit: durable appends per second (group commit vs one fsync per event) and
//! verification speed.
//!
//! `cargo bench --bench audit`. The stores write under `target/tmp` (a real disk, not tmpfs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade::audit::{
    Actor, AuditEvent, AuditStore, FileAuditStore, FileStoreConfig, MemoryAuditStore, Verifier, chain,
};
use palisade::core::SystemClock;

/// The floor for verification: SHA-256 of each line's bytes, with no parsing, canonicalization
/// or chain checks.
fn sha256_all(lines: &[Vec<u8>]) -> u8 {
    use sha2::Digest as _;
    lines.iter().fold(0u8, |acc, l| acc ^ sha2::Sha256::digest(l)[0])
}

fn event(i: usize) -> AuditEvent {
    AuditEvent::new(
        &SystemClock,
        "acme".parse().unwrap(),
        Actor::system(format!("worker-{i}")),
        "recipe.job.started",
    )
    .unwrap()
    .with_request_id(format!("req-{i}"))
}

/// Appends `total` single-event appends from `concurrency` tasks; returns the elapsed time.
fn concurrent_appends(
    rt: &tokio::runtime::Runtime,
    store: Arc<dyn AuditStore>,
    total: usize,
    concurrency: usize,
) -> Duration {
    rt.block_on(async move {
        let start = Instant::now();
        let per = total / concurrency;
        let mut tasks = Vec::with_capacity(concurrency);
        for t in 0..concurrency {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..per {
                    store.append(vec![event(t * per + i)]).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        start.elapsed()
    })
}

fn bench_append(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let base = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&base).unwrap();
    let mut g = c.benchmark_group("audit_append_durable");
    g.sample_size(10).measurement_time(Duration::from_secs(8));

    const N: usize = 20_000;
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("file_group_commit_512_concurrent", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir_in(&base).unwrap();
                let store: Arc<dyn AuditStore> = Arc::new(
                    FileAuditStore::open(dir.path(), FileStoreConfig::default(), Arc::new(SystemClock), None)
                        .unwrap(),
                );
                total += concurrent_appends(&rt, store, N, 512);
            }
            total
        })
    });
    g.bench_function("file_batches_of_1000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir_in(&base).unwrap();
                let store =
                    FileAuditStore::open(dir.path(), FileStoreConfig::default(), Arc::new(SystemClock), None)
                        .unwrap();
                let batches: Vec<Vec<AuditEvent>> =
                    (0..N / 1000).map(|b| (0..1000).map(|i| event(b * 1000 + i)).collect()).collect();
                let start = Instant::now();
                for batch in batches {
                    store.append_blocking(batch).unwrap();
                }
                total += start.elapsed();
            }
            total
        })
    });
    g.bench_function("memory_store_512_concurrent", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let store: Arc<dyn AuditStore> = Arc::new(MemoryAuditStore::new(Arc::new(SystemClock), None));
                total += concurrent_appends(&rt, store, N, 512);
            }
            total
        })
    });
    // The peer: one fsync per event (max_batch = 1), fewer events so it finishes.
    const M: usize = 1_000;
    g.throughput(Throughput::Elements(M as u64));
    g.bench_function("file_one_fsync_per_event", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir_in(&base).unwrap();
                let config = FileStoreConfig { max_batch: 1, ..Default::default() };
                let store: Arc<dyn AuditStore> =
                    Arc::new(FileAuditStore::open(dir.path(), config, Arc::new(SystemClock), None).unwrap());
                total += concurrent_appends(&rt, store, M, 16);
            }
            total
        })
    });
    g.finish();
}

fn bench_verify(c: &mut Criterion) {
    const N: usize = 10_000;
    let mut head = chain::ChainHead::EMPTY;
    let mut lines = Vec::with_capacity(N);
    for i in 0..N {
        let (e, l) = chain::seal(head, event(i)).unwrap();
        head = chain::ChainHead { seq: e.seq, hash: e.hash };
        lines.push(l);
    }
    let mut g = c.benchmark_group("audit_verify");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10);
    g.bench_function("verify_chain", |b| {
        b.iter(|| {
            let r = Verifier::new().verify_lines("bench", lines.iter().map(|l| l.as_slice()));
            assert!(r.intact);
        })
    });
    g.bench_function("floor_sha256_of_lines", |b| b.iter(|| sha256_all(&lines)));
    g.finish();
}

criterion_group!(benches, bench_append, bench_verify);
criterion_main!(benches);
