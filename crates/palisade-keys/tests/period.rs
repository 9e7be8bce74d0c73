//! Per-period data keys: one key per tenant, data class and period (an hour by default) that a
//! retention job destroys to crypto-shred exactly the data sealed in that period.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may

use std::sync::Arc;

use palisade_core::{Clock as _, ManualClock, SealContext, TenantId};
use palisade_keys::format::{Header, PeriodRef};
use palisade_keys::keyring::KeyringStore as _;
use palisade_keys::{
    Backend, DirKeyringStore, Error, KeyManager, KeyOp, KeyOwner, KeyPolicy, KmsProvider, LocalKms,
    MemoryEventSink, MemoryKeyringStore, PeriodId,
};
use time::macros::datetime;

const HOUR: time::Duration = time::Duration::hours(1);

struct World {
    keys: KeyManager,
    clock: Arc<ManualClock>,
    events: Arc<MemoryEventSink>,
    store: Arc<MemoryKeyringStore>,
    kms: Arc<LocalKms>,
    acme: TenantId,
}

async fn world(backend: Backend) -> World {
    let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 10:15 UTC)));
    let events = Arc::new(MemoryEventSink::new());
    let store = Arc::new(MemoryKeyringStore::new());
    let kms =
        Arc::new(LocalKms::with_backend(palisade_core::SecretArray::random().unwrap(), backend).unwrap());
    let keys = manager(kms.clone(), store.clone(), clock.clone(), events.clone(), backend);
    keys.init_global().await.unwrap();
    let acme: TenantId = "acme".parse().unwrap();
    keys.create_tenant(&acme).await.unwrap();
    World { keys, clock, events, store, kms, acme }
}

fn manager(
    kms: Arc<dyn KmsProvider>,
    store: Arc<dyn palisade_keys::KeyringStore>,
    clock: Arc<ManualClock>,
    events: Arc<MemoryEventSink>,
    backend: Backend,
) -> KeyManager {
    KeyManager::builder(kms, store)
        .clock(clock)
        .events(events)
        .backend(backend)
        .policy(KeyPolicy { segment_size: 16, ..KeyPolicy::default() })
        .build()
        .unwrap()
}

fn job(t: &TenantId, record: &str) -> SealContext {
    SealContext::new(t.clone(), "job-history", record)
}

fn period_of(sealed: &[u8]) -> Option<PeriodRef> {
    Header::parse(sealed).unwrap().0.period
}

#[test]
fn destroying_one_hour_shreds_exactly_that_hour() {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        for backend in Backend::all() {
            let w = world(*backend).await;
            let hour1 = w.keys.current_period(&w.acme, "job-history");
            assert_eq!(hour1.starts_at(), datetime!(2026-01-01 10:00 UTC));
            assert_eq!(hour1.ends_at(), datetime!(2026-01-01 11:00 UTC));
            assert_eq!(hour1.to_string(), "tenant:acme/period:1767261600+3600/job-history");

            // Hour 1: single and double, and a long (multi-segment) record; plus tenant-key data.
            let a = w.keys.seal_in_period(&job(&w.acme, "a"), b"hour one").await.unwrap();
            let a2 = w.keys.seal_double_in_period(&job(&w.acme, "a2"), b"hour one, double").await.unwrap();
            let long: Vec<u8> = (0..100u8).collect();
            let a3 = w.keys.seal_in_period(&job(&w.acme, "a3"), &long).await.unwrap();
            let t = w.keys.seal(&job(&w.acme, "t"), b"tenant key").await.unwrap();
            assert_eq!(period_of(&a), Some(PeriodRef { start: hour1.start, secs: 3600 }));
            assert_eq!(period_of(&t), None);

            // Hour 2.
            w.clock.advance(HOUR);
            let hour2 = w.keys.current_period(&w.acme, "job-history");
            assert_eq!(hour2.start, hour1.start + 3600);
            let b = w.keys.seal_in_period(&job(&w.acme, "b"), b"hour two").await.unwrap();
            let b2 = w.keys.seal_double_in_period(&job(&w.acme, "b2"), b"hour two, double").await.unwrap();
            assert_eq!(period_of(&b).unwrap().start, hour2.start);

            // Everything opens; each period has its own key.
            assert_eq!(w.keys.open(&job(&w.acme, "a"), &a).await.unwrap().expose_secret(), b"hour one");
            assert_eq!(w.keys.open(&job(&w.acme, "a3"), &a3).await.unwrap().expose_secret(), long.as_slice());
            assert_eq!(w.keys.periods(&w.acme).await.unwrap().len(), 2);

            // A period ciphertext is bound to its context like any other.
            assert!(w.keys.open(&job(&w.acme, "b"), &a).await.is_err());
            let other_class = SealContext::new(w.acme.clone(), "audit", "a");
            assert!(matches!(w.keys.open(&other_class, &a).await, Err(Error::NoSuchPeriodKey(_))));

            // Retention destroys hour 1.
            assert!(w.keys.destroy_period(&hour1).await.unwrap());
            for (ctx, sealed) in
                [(job(&w.acme, "a"), &a), (job(&w.acme, "a2"), &a2), (job(&w.acme, "a3"), &a3)]
            {
                match w.keys.open(&ctx, sealed).await {
                    Err(e @ Error::KeyDestroyed { .. }) => {
                        let msg = e.to_string();
                        assert!(msg.contains("period:1767261600+3600/job-history"), "{msg}");
                        assert!(msg.contains("can no longer be read"), "{msg}");
                    }
                    other => panic!("hour-1 data still opens: {other:?}"),
                }
            }
            // Hour 2 and the tenant-key data are untouched.
            assert_eq!(w.keys.open(&job(&w.acme, "b"), &b).await.unwrap().expose_secret(), b"hour two");
            assert_eq!(
                w.keys.open(&job(&w.acme, "b2"), &b2).await.unwrap().expose_secret(),
                b"hour two, double"
            );
            assert_eq!(w.keys.open(&job(&w.acme, "t"), &t).await.unwrap().expose_secret(), b"tenant key");

            // The wrapped key is gone from the store; the events say what happened.
            let stored = w.store.get(&KeyOwner::Period(hour1.clone())).await.unwrap().unwrap();
            assert!(stored.versions.iter().all(|v| v.wrapped.is_none()));
            let events = w.events.events();
            let created: Vec<_> =
                events.iter().filter(|e| e.op == KeyOp::Create && e.owner.contains("/period:")).collect();
            assert_eq!(created.len(), 2, "one create per period");
            assert!(events.iter().any(|e| e.op == KeyOp::Destroy && e.owner == hour1.to_string()));

            // A period that never had a key: nothing to destroy.
            let never = PeriodId { start: hour1.start - 3600, ..hour1.clone() };
            assert!(!w.keys.destroy_period(&never).await.unwrap());
        }
    });
}

#[test]
fn destroy_is_irreversible_and_evicts_caches() {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let w = world(Backend::default()).await;
        let c = job(&w.acme, "r");
        let sealed = w.keys.seal_in_period(&c, b"x").await.unwrap();
        // A second node sharing the store, with the period key cached.
        let node2 =
            manager(w.kms.clone(), w.store.clone(), w.clock.clone(), w.events.clone(), Backend::default());
        assert_eq!(node2.open(&c, &sealed).await.unwrap().expose_secret(), b"x");
        let loads = w.keys.cache_loads();
        assert_eq!(w.keys.open(&c, &sealed).await.unwrap().expose_secret(), b"x");
        assert_eq!(w.keys.cache_loads(), loads, "served from the cache");

        let now = w.keys.current_period(&w.acme, "job-history");
        assert!(w.keys.destroy_period(&now).await.unwrap());
        // This node's cache is evicted at once.
        assert!(matches!(w.keys.open(&c, &sealed).await, Err(Error::KeyDestroyed { .. })));
        // The other node drops it on an eviction broadcast.
        node2.evict(&w.acme);
        assert!(matches!(node2.open(&c, &sealed).await, Err(Error::KeyDestroyed { .. })));
        // The destroyed period is not re-created, even while it is still the current period.
        assert!(matches!(w.keys.seal_in_period(&c, b"y").await, Err(Error::KeyDestroyed { .. })));
        // The next period gets a fresh key.
        w.clock.advance(HOUR);
        let next = w.keys.seal_in_period(&c, b"z").await.unwrap();
        assert_eq!(w.keys.open(&c, &next).await.unwrap().expose_secret(), b"z");
    });
}

#[test]
fn retention_cutoff_and_tenant_lifecycle() {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let w = world(Backend::default()).await;
        let mut sealed = Vec::new();
        for h in 0..4 {
            for class in ["job-history", "audit"] {
                let ctx = SealContext::new(w.acme.clone(), class, format!("r{h}"));
                sealed.push((ctx.clone(), w.keys.seal_in_period(&ctx, b"data").await.unwrap()));
            }
            w.clock.advance(HOUR);
        }
        // Now 14:15; keep two hours of job history: periods ending at or before 12:15 go.
        let cutoff = w.clock.now() - 2 * HOUR;
        let gone = w.keys.destroy_periods_before(&w.acme, Some("job-history"), cutoff).await.unwrap();
        let mut starts: Vec<_> = gone.iter().map(|p| p.starts_at()).collect();
        starts.sort();
        assert_eq!(starts, [datetime!(2026-01-01 10:00 UTC), datetime!(2026-01-01 11:00 UTC)]);
        assert!(
            w.keys.destroy_periods_before(&w.acme, Some("job-history"), cutoff).await.unwrap().is_empty()
        );
        for (i, (ctx, s)) in sealed.iter().enumerate() {
            let hour = i / 2;
            let shredded = ctx.purpose == "job-history" && hour < 2;
            assert_eq!(w.keys.open(ctx, s).await.is_err(), shredded, "{} hour {hour}", ctx.purpose);
        }

        // Tenant lifecycle applies to its period keys.
        let (ctx, s) = sealed.last().unwrap().clone();
        w.keys.disable(&w.acme).await.unwrap();
        assert!(matches!(w.keys.open(&ctx, &s).await, Err(Error::KeyDisabled { .. })));
        assert!(matches!(w.keys.seal_in_period(&ctx, b"y").await, Err(Error::KeyDisabled { .. })));
        w.keys.enable(&w.acme).await.unwrap();
        assert!(w.keys.open(&ctx, &s).await.is_ok());
        // Destroying the tenant destroys its period keys too.
        w.keys.destroy_now(&w.acme).await.unwrap();
        assert!(w.keys.open(&ctx, &s).await.is_err());
        for (_, status) in w.keys.periods(&w.acme).await.unwrap() {
            assert_eq!(status.state, "destroyed");
        }
        // Another tenant is not affected.
        let other: TenantId = "globex".parse().unwrap();
        w.keys.create_tenant(&other).await.unwrap();
        let c = job(&other, "r");
        let s = w.keys.seal_in_period(&c, b"ok").await.unwrap();
        assert_eq!(w.keys.open(&c, &s).await.unwrap().expose_secret(), b"ok");
    });
}

#[test]
fn period_keys_survive_a_restart_and_so_does_their_destruction() {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root.key");
        let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 10:15 UTC)));
        let events = Arc::new(MemoryEventSink::new());
        let open_node = |create: bool| {
            let kms: Arc<dyn KmsProvider> = Arc::new(if create {
                LocalKms::create_file(&root).unwrap()
            } else {
                LocalKms::from_file(&root).unwrap()
            });
            let store = Arc::new(DirKeyringStore::new(dir.path().join("keys")).unwrap());
            manager(kms, store, clock.clone(), events.clone(), Backend::default())
        };
        let acme: TenantId = "acme:eu".parse().unwrap();
        let c = SealContext::new(acme.clone(), "job history/v2", "r");
        let keys = open_node(true);
        keys.create_tenant(&acme).await.unwrap();
        let h1 = keys.seal_in_period(&c, b"one").await.unwrap();
        let hour1 = keys.current_period(&acme, "job history/v2");
        clock.advance(HOUR);
        let h2 = keys.seal_in_period(&c, b"two").await.unwrap();
        drop(keys);

        let keys = open_node(false);
        assert_eq!(keys.open(&c, &h1).await.unwrap().expose_secret(), b"one");
        let listed = keys.periods(&acme).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].0, hour1);
        assert!(keys.destroy_period(&hour1).await.unwrap());
        drop(keys);

        let keys = open_node(false);
        assert!(matches!(keys.open(&c, &h1).await, Err(Error::KeyDestroyed { .. })));
        assert_eq!(keys.open(&c, &h2).await.unwrap().expose_secret(), b"two");
        let files: Vec<String> = std::fs::read_dir(dir.path().join("keys"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(files.iter().filter(|f| f.starts_with("period-acme%3Aeu~")).count(), 2, "{files:?}");
    });
}

#[test]
fn policy_bounds_the_period_length() {
    let p = KeyPolicy { period_secs: 59, ..KeyPolicy::default() };
    assert_eq!(p.validate().unwrap_err().len(), 1);
    let p: KeyPolicy = serde_json::from_str(r#"{ "period_secs": 86400 }"#).unwrap();
    assert!(p.validate().is_ok());
}
