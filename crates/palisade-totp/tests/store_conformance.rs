//! One suite per storage trait, run against every implementation in this crate (a backend added
//! later — Redis, SQL — adds one line here).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use palisade_core::{SealedSecret, TenantId, UserId};
use palisade_totp::*;
use time::{Duration, macros::datetime};

fn ids() -> (TenantId, UserId, TenantId, UserId) {
    ("acme".parse().unwrap(), "alice".parse().unwrap(), "globex".parse().unwrap(), "bob".parse().unwrap())
}

async fn used_step_suite(store: Arc<dyn UsedStepStore>) {
    let (t, u, t2, u2) = ids();
    assert_eq!(store.last_step(&t, &u).await.unwrap(), None);
    assert!(store.advance(&t, &u, 0).await.unwrap(), "step 0 is a valid first step");
    assert!(!store.advance(&t, &u, 0).await.unwrap());
    assert!(store.advance(&t, &u, 10).await.unwrap());
    assert!(!store.advance(&t, &u, 9).await.unwrap());
    assert!(!store.advance(&t, &u, 10).await.unwrap());
    assert_eq!(store.last_step(&t, &u).await.unwrap(), Some(10));
    // Users and tenants are independent.
    assert!(store.advance(&t2, &u, 5).await.unwrap());
    assert!(store.advance(&t, &u2, 5).await.unwrap());
    store.clear(&t, &u).await.unwrap();
    assert_eq!(store.last_step(&t, &u).await.unwrap(), None);
    assert_eq!(store.last_step(&t2, &u).await.unwrap(), Some(5));
    // Concurrent advances of one step: exactly one wins.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (s, t, u) = (store.clone(), t.clone(), u.clone());
        tasks.push(tokio::spawn(async move { s.advance(&t, &u, 42).await.unwrap() }));
    }
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
}

fn record(byte: u8) -> EnrollmentRecord {
    EnrollmentRecord {
        sealed_secret: SealedSecret(vec![byte; 48]),
        params: TotpParams::default(),
        created_at: datetime!(2026-01-01 00:00 UTC),
        activated_at: None,
    }
}

async fn totp_store_suite(store: Arc<dyn TotpStore>) {
    let (t, u, t2, _) = ids();
    let now = datetime!(2026-01-01 00:00 UTC);
    assert_eq!(store.enrollment(&t, &u).await.unwrap(), None);
    store.put_pending(&t, &u, record(1)).await.unwrap();
    store.put_pending(&t, &u, record(2)).await.unwrap(); // replaces the pending one
    // Activating with the replaced secret fails and changes nothing.
    assert!(!store.activate(&t, &u, &SealedSecret(vec![1; 48]), now, vec![[9; 32]]).await.unwrap());
    assert_eq!(store.recovery_codes_remaining(&t, &u).await.unwrap(), 0);
    assert!(store.activate(&t, &u, &SealedSecret(vec![2; 48]), now, vec![[1; 32], [2; 32]]).await.unwrap());
    assert!(store.enrollment(&t, &u).await.unwrap().unwrap().is_active());
    assert!(matches!(store.put_pending(&t, &u, record(3)).await, Err(Error::AlreadyEnrolled)));
    assert_eq!(store.enrollment(&t, &u).await.unwrap().unwrap().sealed_secret, SealedSecret(vec![2; 48]));
    assert_eq!(store.enrollment(&t2, &u).await.unwrap(), None, "tenants are separate");

    // Recovery codes: each once; replacement invalidates.
    assert_eq!(store.consume_recovery_code(&t, &u, &[1; 32]).await.unwrap(), Some(1));
    assert_eq!(store.consume_recovery_code(&t, &u, &[1; 32]).await.unwrap(), None);
    assert_eq!(store.consume_recovery_code(&t2, &u, &[2; 32]).await.unwrap(), None);
    store.replace_recovery_codes(&t, &u, vec![[7; 32]]).await.unwrap();
    assert_eq!(store.consume_recovery_code(&t, &u, &[2; 32]).await.unwrap(), None);
    assert_eq!(store.recovery_codes_remaining(&t, &u).await.unwrap(), 1);
    assert!(matches!(store.replace_recovery_codes(&t2, &u, vec![[7; 32]]).await, Err(Error::NotEnrolled)));

    // Devices.
    let dev = DeviceRecord { hash: [5; 32], created_at: now, expires_at: now + Duration::days(30) };
    store.add_device(&t, &u, dev.clone()).await.unwrap();
    assert_eq!(store.device(&t, &u, &[5; 32]).await.unwrap(), Some(dev));
    assert_eq!(store.device(&t2, &u, &[5; 32]).await.unwrap(), None);
    assert_eq!(store.revoke_devices(&t, &u).await.unwrap(), 1);
    assert_eq!(store.device(&t, &u, &[5; 32]).await.unwrap(), None);

    // Reset removes everything and is recorded.
    store
        .add_device(
            &t,
            &u,
            DeviceRecord { hash: [6; 32], created_at: now, expires_at: now + Duration::days(1) },
        )
        .await
        .unwrap();
    let reset = ResetRecord { at: now, by: "admin".parse().unwrap(), reason: "lost phone".into() };
    store.reset(&t, &u, reset.clone()).await.unwrap();
    assert_eq!(store.enrollment(&t, &u).await.unwrap(), None);
    assert_eq!(store.recovery_codes_remaining(&t, &u).await.unwrap(), 0);
    assert_eq!(store.device(&t, &u, &[6; 32]).await.unwrap(), None);
    assert_eq!(store.last_reset(&t, &u).await.unwrap(), Some(reset));
    assert_eq!(store.last_reset(&t2, &u).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_used_step_store() {
    used_step_suite(Arc::new(MemoryUsedStepStore::default())).await;
}

#[tokio::test]
async fn memory_totp_store() {
    totp_store_suite(Arc::new(MemoryTotpStore::default())).await;
}
