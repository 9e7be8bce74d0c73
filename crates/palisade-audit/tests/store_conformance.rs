//! One suite, run against every `AuditStore`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use palisade_audit::{
    Actor, AuditEvent, AuditStore, FileAuditStore, FileStoreConfig, MemoryAuditStore, Outcome, Query, Target,
};
use palisade_core::{Clock, ManualClock, TenantId};
use time::macros::datetime;

fn ev(clock: &dyn Clock, tenant: &str, actor: &str, action: &str) -> AuditEvent {
    AuditEvent::new(clock, tenant.parse().unwrap(), Actor::system(actor), action).unwrap()
}

async fn suite(store: &dyn AuditStore, clock: &ManualClock) {
    let acme: TenantId = "acme".parse().unwrap();
    let globex: TenantId = "globex".parse().unwrap();
    // Interleaved tenants: each gets its own chain.
    for i in 0..25 {
        let action = if i % 5 == 0 { "user.login.failed" } else { "user.login.succeeded" };
        let a = ev(clock, "acme", &format!("u{}", i % 3), action)
            .with_target(Target::new("user", format!("u{i}")));
        let g = ev(clock, "globex", "ops", "key.rotated").with_outcome(Outcome::failure("kms down"));
        let out = store.append(vec![a, g]).await.unwrap();
        assert_eq!(out[0].seq, i + 1);
        assert_eq!(out[1].seq, i + 1);
        clock.advance(time::Duration::minutes(1));
    }
    assert_eq!(store.head(&acme).await.unwrap().seq, 25);
    assert_eq!(store.tenants().await.unwrap(), vec![acme.clone(), globex.clone()]);

    // Pagination walks every entry once, in order.
    let mut seen = Vec::new();
    let mut q = Query::new(acme.clone()).limit(7);
    loop {
        let page = store.query(&q).await.unwrap();
        seen.extend(page.entries.iter().map(|e| e.seq));
        match page.next {
            Some(c) => q = q.after(c),
            None => break,
        }
    }
    assert_eq!(seen, (1..=25).collect::<Vec<_>>());

    // Filters.
    let failed = store.query(&Query::new(acme.clone()).action_prefix("user.login.failed")).await.unwrap();
    assert_eq!(failed.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 6, 11, 16, 21]);
    assert_eq!(
        store.query(&Query::new(acme.clone()).action_prefix("user.log")).await.unwrap().entries.len(),
        0
    );
    let by_actor = store.query(&Query::new(acme.clone()).actor("u1")).await.unwrap();
    assert!(by_actor.entries.iter().all(|e| e.event.actor.id == "u1"));
    assert_eq!(by_actor.entries.len(), 8);
    let t0 = datetime!(2026-03-01 09:10 UTC);
    let window = store
        .query(&Query::new(acme.clone()).since(t0).until(t0 + time::Duration::minutes(5)))
        .await
        .unwrap();
    assert_eq!(window.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![11, 12, 13, 14, 15]);
    let g = store.query(&Query::new(globex)).await.unwrap();
    assert_eq!(g.entries.len(), 25);
    assert!(g.entries.iter().all(|e| !e.event.outcome.is_success()));
    // Chain links.
    let all = store.query(&Query::new(acme.clone()).limit(100)).await.unwrap().entries;
    for w in all.windows(2) {
        assert_eq!(w[1].prev, w[0].hash);
    }
    // Bad input leaves the store as it was.
    let mut bad = ev(clock, "acme", "x", "user.logout");
    bad.actor.id = "bad\nid".into();
    assert!(store.append(vec![ev(clock, "acme", "ok", "user.logout"), bad]).await.is_err());
    assert_eq!(store.head(&acme).await.unwrap().seq, 25);
    assert!(store.query(&Query::new(acme).limit(0)).await.is_err());
}

#[tokio::test]
async fn memory_store() {
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-01 09:00 UTC)));
    let store = MemoryAuditStore::new(clock.clone(), None);
    suite(&store, &clock).await;
}

#[tokio::test]
async fn file_store() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-01 09:00 UTC)));
    let store = FileAuditStore::open(dir.path(), FileStoreConfig::default(), clock.clone(), None).unwrap();
    suite(&store, &clock).await;
}

#[tokio::test]
async fn file_store_with_tiny_segments() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-01 09:00 UTC)));
    let config = FileStoreConfig { max_segment_bytes: 4096, ..Default::default() };
    let store = FileAuditStore::open(dir.path(), config, clock.clone(), None).unwrap();
    suite(&store, &clock).await;
    let segs = palisade_audit::store::file::list_segments(dir.path()).unwrap();
    assert!(segs["acme"].len() > 2, "rotation happened: {:?}", segs["acme"]);
}
