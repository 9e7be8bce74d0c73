#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
//! Session validation throughput: palisade-session's stores against tower-sessions' MemoryStore.
//!
//! Every store holds 100,000 live sessions and each iteration validates one of them, picked at
//! random, the way a request would: both sides start from the cookie value as text (in cache, as
//! a request's header is: see `Requests`) and parse it
//! (`SessionToken::from_client`, tower-sessions' `Id::from_str`) before validating:
//!
//! * `palisade-memory/coalesced`: `SessionManager::validate` (token decoding, SHA-256 of the
//!   token, policy lookup, expiry checks) with the default touch interval, so most validations
//!   do not write;
//! * `palisade-memory/write-every-time`: the same with `touch_interval = 0` and a clock that moves
//!   on every call, so every validation also writes the new last-seen time;
//! * `tower-sessions-memory/load+save`: tower-sessions' `MemoryStore`, `load` then `save` of a
//!   record with the same information (user, tenant, how the user authenticated);
//! * `.../2-threads`: the same work split over two threads (time per operation, both together);
//! * `palisade-redis/...`: `RedisStore` over loopback, one multiplexed connection, when
//!   `PALISADE_TEST_REDIS_URL` is set (10,000 sessions).
//!
//! `cargo bench --bench session`; `PALISADE_BENCH_NO_INTERLEAVED=1` skips the interleaved
//! rounds (to profile one side alone).

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration as StdDuration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use palisade::core::{Clock, TenantId};
use palisade::session::{
    AuthMethod, ManagerConfig, MemoryStore, NewSession, Policies, SessionManager, SessionPolicy,
    SessionStore, SessionToken,
};
use palisade_demos::BenchRng;
use time::{Duration, OffsetDateTime};
use tower_sessions::SessionStore as _;
use tower_sessions::session::{Id, Record};

const SESSIONS: usize = 100_000;
fn sessions() -> usize {
    std::env::var("XS").ok().and_then(|v| v.parse().ok()).unwrap_or(SESSIONS)
}

/// A clock that moves `step` microseconds on every reading, so every validation is a new
/// request time. With 1 µs a session picked at random from 100,000 comes back about every 0.1 s
/// of clock time (a busy user: writes coalesced); with 1 ms and `touch_interval = 0` every
/// validation writes.
#[derive(Debug)]
struct TickingClock {
    start: OffsetDateTime,
    micros: AtomicI64,
    step: i64,
}

impl TickingClock {
    fn new(step: i64) -> Self {
        Self { start: OffsetDateTime::now_utc(), micros: AtomicI64::new(0), step }
    }
}

impl Clock for TickingClock {
    fn now(&self) -> OffsetDateTime {
        let us = self.micros.fetch_add(self.step, Ordering::Relaxed);
        self.start + Duration::microseconds(us)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

fn tenant() -> TenantId {
    "acme".parse().expect("tenant")
}

async fn fill(manager: &SessionManager, n: usize) -> Cookies {
    let mut tokens = Vec::with_capacity(n);
    for i in 0..n {
        let user = format!("user{}", i % (n / 4).max(1)).parse().expect("user");
        let issued =
            manager.login(NewSession::new(tenant(), user, AuthMethod::Password)).await.expect("login");
        tokens.push(issued.token);
    }
    Cookies::new(tokens.iter().map(SessionToken::expose_secret))
}

/// Cookie values of equal width in one buffer: what requests carry, without a heap object per
/// session for the bench to chase.
struct Cookies {
    text: String,
    width: usize,
}

impl Cookies {
    fn new<T: std::fmt::Display>(values: impl IntoIterator<Item = T>) -> Self {
        let mut text = String::new();
        let mut width = 0;
        for v in values {
            let v = v.to_string();
            assert!(width == 0 || v.len() == width, "cookie values of one width");
            width = v.len();
            text.push_str(&v);
        }
        Self { text, width }
    }

    fn len(&self) -> usize {
        self.text.len() / self.width
    }

    fn pick(&self, rng: &mut BenchRng) -> &str {
        let i = rng.below(self.len() as u64) as usize;
        &self.text[i * self.width..(i + 1) * self.width]
    }
}

/// A thread's requests: cookie values picked at random. A request's cookie arrives with its
/// headers, so it is in cache when the request is handled; here each value is copied into a
/// small buffer one request ahead, so what reaches main memory during an operation is the
/// store's lookup, not the bench's own list of cookies.
struct Requests<'a> {
    cookies: &'a Cookies,
    rng: BenchRng,
    current: String,
    ahead: String,
}

impl<'a> Requests<'a> {
    fn new(cookies: &'a Cookies, seed: u64) -> Self {
        let mut r = Self { cookies, rng: BenchRng::new(seed), current: String::new(), ahead: String::new() };
        r.next();
        r
    }

    /// The next request's cookie value.
    fn next(&mut self) -> &str {
        std::mem::swap(&mut self.current, &mut self.ahead);
        self.ahead.clear();
        self.ahead.push_str(self.cookies.pick(&mut self.rng));
        &self.current
    }
}

fn manager(store: Arc<dyn SessionStore>, write_every_time: bool) -> SessionManager {
    let config = ManagerConfig {
        touch_interval: if write_every_time { Duration::ZERO } else { Duration::minutes(1) },
        ..ManagerConfig::default()
    };
    // acme has its own policy (next to others), so every validation does a real policy lookup.
    let policies = Policies::default();
    for t in ["acme", "globex", "initech", "umbrella"] {
        policies.set(&t.parse().expect("tenant"), SessionPolicy::default()).expect("policy");
    }
    let clock = TickingClock::new(if write_every_time { 1_000 } else { 1 });
    SessionManager::with_config(store, Arc::new(policies), Arc::new(clock), config).expect("config")
}

/// Runs `iters` operations split over `threads` threads, each with its own runtime and stream of
/// requests; returns the wall time.
fn on_threads(cookies: &Cookies, iters: u64, threads: u64, op: impl AsyncFn(&str) + Sync) -> StdDuration {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let op = &op;
            scope.spawn(move || {
                let rt = runtime();
                let mut requests = Requests::new(cookies, t + 1);
                rt.block_on(async {
                    for _ in 0..iters / threads {
                        op(requests.next()).await;
                    }
                });
            });
        }
    });
    start.elapsed()
}

/// `iters` validations of sessions picked at random.
fn validate_on_threads(manager: &SessionManager, cookies: &Cookies, iters: u64, threads: u64) -> StdDuration {
    let acme = tenant();
    on_threads(cookies, iters, threads, async |cookie: &str| {
        let token = SessionToken::from_client(cookie);
        black_box(manager.validate(&token, &acme).await.expect("valid"));
    })
}

fn tower_record(rng: &mut BenchRng, i: usize) -> Record {
    let mut data = HashMap::new();
    data.insert("user".to_owned(), serde_json::json!(format!("user{i}")));
    data.insert("tenant".to_owned(), serde_json::json!("acme"));
    data.insert(
        "auth".to_owned(),
        serde_json::json!([{ "method": "password", "at": "2026-03-02T09:00:00Z" }]),
    );
    Record {
        id: Id(i128::from(rng.next_u64()) << 64 | i128::from(rng.next_u64())),
        data,
        expiry_date: OffsetDateTime::now_utc() + Duration::days(7),
    }
}

/// `iters` load + save of tower-sessions records picked at random.
fn tower_on_threads(
    store: &tower_sessions::MemoryStore,
    cookies: &Cookies,
    iters: u64,
    threads: u64,
) -> StdDuration {
    on_threads(cookies, iters, threads, async |cookie: &str| {
        let id: Id = cookie.parse().expect("session id");
        let mut record = store.load(&id).await.expect("load").expect("live");
        record.expiry_date = OffsetDateTime::now_utc() + Duration::days(7);
        store.save(&record).await.expect("save");
        black_box(&record);
    })
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("session/validate");
    group.sample_size(30).measurement_time(StdDuration::from_secs(4)).warm_up_time(StdDuration::from_secs(1));

    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let coalesced = manager(store.clone(), false);
    let tokens = rt.block_on(fill(&coalesced, sessions()));
    let eager = manager(store, true);
    for threads in [1, 2] {
        group.bench_function(format!("palisade-memory/coalesced/{threads}-thread"), |b| {
            b.iter_custom(|iters| validate_on_threads(&coalesced, &tokens, iters, threads))
        });
        group.bench_function(format!("palisade-memory/write-every-time/{threads}-thread"), |b| {
            b.iter_custom(|iters| validate_on_threads(&eager, &tokens, iters, threads))
        });
    }

    let tower_store = tower_sessions::MemoryStore::default();
    let mut rng = BenchRng::new(7);
    let mut ids = Vec::with_capacity(SESSIONS);
    rt.block_on(async {
        for i in 0..sessions() {
            let mut record = tower_record(&mut rng, i);
            tower_store.create(&mut record).await.expect("create");
            ids.push(record.id);
        }
    });
    let ids = Cookies::new(ids);
    for threads in [1, 2] {
        group.bench_function(format!("tower-sessions-memory/load+save/{threads}-thread"), |b| {
            b.iter_custom(|iters| tower_on_threads(&tower_store, &ids, iters, threads))
        });
    }

    // Profiling one side alone (`perf record ... -- palisade-memory/coalesced/1`) wants no
    // interleaved rounds of the other.
    if std::env::var_os("PALISADE_BENCH_NO_INTERLEAVED").is_none() {
        interleaved_ratio(&coalesced, &tokens, &tower_store, &ids);
    }

    if let Ok(url) = std::env::var("PALISADE_TEST_REDIS_URL") {
        // The connection's driver task lives on this runtime, so the loop runs on it too.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let prefix = format!("palisade-bench:{}:", std::process::id());
        let redis: Arc<dyn SessionStore> = Arc::new(
            rt.block_on(palisade::session::RedisStore::connect(&url, &prefix)).expect("redis connect"),
        );
        let coalesced = manager(redis.clone(), false);
        let tokens = rt.block_on(fill(&coalesced, SESSIONS / 10));
        let eager = manager(redis, true);
        for (name, m) in [("coalesced", &coalesced), ("write-every-time", &eager)] {
            group.bench_function(format!("palisade-redis/{name}/1-connection"), |b| {
                b.iter_custom(|iters| {
                    let mut requests = Requests::new(&tokens, 3);
                    let acme = tenant();
                    let start = Instant::now();
                    rt.block_on(async {
                        for _ in 0..iters {
                            let token = SessionToken::from_client(requests.next());
                            black_box(m.validate(&token, &acme).await.expect("valid"));
                        }
                    });
                    start.elapsed()
                })
            });
        }
    } else {
        eprintln!("session bench: PALISADE_TEST_REDIS_URL not set, skipping the Redis store");
    }
    group.finish();
}

/// On a shared, busy machine the load changes between criterion's benchmarks. This runs the
/// two 1-thread loads in alternating rounds and prints the median of each and their ratio, which
/// the load cannot skew towards either side.
fn interleaved_ratio(
    manager: &SessionManager,
    tokens: &Cookies,
    tower_store: &tower_sessions::MemoryStore,
    ids: &Cookies,
) {
    const OPS: u64 = 20_000;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        ours.push(validate_on_threads(manager, tokens, OPS, 1).as_nanos() as f64 / OPS as f64);
        theirs.push(tower_on_threads(tower_store, ids, OPS, 1).as_nanos() as f64 / OPS as f64);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (a, b) = (median(&mut ours), median(&mut theirs));
    eprintln!(
        "session/interleaved (15 alternating rounds of {OPS} ops, medians): palisade-memory/coalesced {a:.0} ns/op, \
         tower-sessions-memory/load+save {b:.0} ns/op, ratio {:.2}x",
        b / a
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
