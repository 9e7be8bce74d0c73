//! palisade-keys: seal and open of 64 B, 1 KiB, 16 KiB and 1 MiB with a cached tenant key,
//! single and double, both backends (`aws-lc`, `rustcrypto`), against the raw AES-256-GCM of the
//! same backend (the floor) in the same group; plus the per-record overhead (an empty record,
//! next to a raw AES-256-GCM seal of 0 bytes) and a 16 KiB seal under a period key.
//!
//! ```sh
//! cargo bench --bench keys                          # everything (~2 min)
//! cargo bench --bench keys -- 'aws-lc/(16KiB|empty)' # the goals only
//! ```
//!
//! Per-record overhead = `seal-single/<backend>/empty` − `raw-aes-256-gcm/<backend>/empty`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benches may

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use palisade::core::{SealContext, SecretArray};
use palisade_keys::backend::Backend;
use palisade_keys::{KeyManager, LocalKms, MemoryKeyringStore};

const SIZES: [(usize, &str); 4] = [(64, "64B"), (1024, "1KiB"), (16 * 1024, "16KiB"), (1024 * 1024, "1MiB")];

/// Polls a future that completes without waiting (a cache hit) without a runtime's overhead;
/// falls back to the runtime if it does wait.
fn run<F: Future>(rt: &tokio::runtime::Runtime, f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => rt.block_on(f),
    }
}

fn world(rt: &tokio::runtime::Runtime, backend: Backend) -> (KeyManager, SealContext) {
    rt.block_on(async {
        let kms = LocalKms::with_backend(SecretArray::random().unwrap(), backend).unwrap();
        let keys = KeyManager::builder(Arc::new(kms), Arc::new(MemoryKeyringStore::new()))
            .backend(backend)
            .build()
            .unwrap();
        keys.init_global().await.unwrap();
        let t = "acme".parse().unwrap();
        keys.create_tenant(&t).await.unwrap();
        let ctx = SealContext::new(t, "job-history", "job-000042");
        // Warm the cache and the wrap reservation.
        keys.seal_double(&ctx, b"warm").await.unwrap();
        (keys, ctx)
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut g = c.benchmark_group("keys");
    g.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_millis(1500)).sample_size(20);
    for backend in Backend::all() {
        let (keys, ctx) = world(&rt, *backend);
        let raw = backend.aead_key(&[7u8; 32]).unwrap();
        let name = backend.name();
        for (size, label) in SIZES {
            let plain = vec![0x5au8; size];
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_with_input(BenchmarkId::new(format!("raw-aes-256-gcm/{name}"), label), &plain, |b, p| {
                let mut buf = p.clone();
                b.iter(|| black_box(raw.seal_detached(&[1u8; 12], b"aad", &mut buf).unwrap()))
            });
            g.bench_with_input(BenchmarkId::new(format!("seal-single/{name}"), label), &plain, |b, p| {
                b.iter(|| black_box(run(&rt, keys.seal(&ctx, p)).unwrap()))
            });
            g.bench_with_input(BenchmarkId::new(format!("seal-double/{name}"), label), &plain, |b, p| {
                b.iter(|| black_box(run(&rt, keys.seal_double(&ctx, p)).unwrap()))
            });
            let single = rt.block_on(keys.seal(&ctx, &plain)).unwrap();
            let double = rt.block_on(keys.seal_double(&ctx, &plain)).unwrap();
            g.bench_with_input(BenchmarkId::new(format!("open-single/{name}"), label), &single, |b, s| {
                b.iter(|| black_box(run(&rt, keys.open(&ctx, s)).unwrap()))
            });
            g.bench_with_input(BenchmarkId::new(format!("open-double/{name}"), label), &double, |b, s| {
                b.iter(|| black_box(run(&rt, keys.open(&ctx, s)).unwrap()))
            });
        }
        // A period key (one per tenant, class and hour) costs the same as the tenant key.
        let plain = vec![0x5au8; 16 * 1024];
        g.throughput(Throughput::Bytes(plain.len() as u64));
        g.bench_with_input(BenchmarkId::new(format!("seal-period/{name}"), "16KiB"), &plain, |b, p| {
            b.iter(|| black_box(run(&rt, keys.seal_in_period(&ctx, p)).unwrap()))
        });
        // Per-record overhead: sealing and opening an empty record (data key, wrap, header,
        // commitment, cache lookup; no data), next to a raw AES-256-GCM seal of nothing.
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new(format!("raw-aes-256-gcm/{name}"), "empty"), |b| {
            b.iter(|| black_box(raw.seal_detached(&[1u8; 12], b"aad", &mut []).unwrap()))
        });
        // The randomness of one record (data key, message id, nonce prefix, wrap nonce).
        g.bench_function(BenchmarkId::new(format!("random-67B/{name}"), "empty"), |b| {
            let mut buf = [0u8; 67];
            b.iter(|| {
                backend.fill_random(&mut buf).unwrap();
                black_box(buf)
            })
        });
        g.bench_function(BenchmarkId::new(format!("seal-single/{name}"), "empty"), |b| {
            b.iter(|| black_box(run(&rt, keys.seal(&ctx, b"")).unwrap()))
        });
        let empty = rt.block_on(keys.seal(&ctx, b"")).unwrap();
        g.bench_function(BenchmarkId::new(format!("open-single/{name}"), "empty"), |b| {
            b.iter(|| black_box(run(&rt, keys.open(&ctx, &empty)).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
