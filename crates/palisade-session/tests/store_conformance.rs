#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! The shared conformance suite, run against every store this crate ships.

use std::sync::Arc;

use palisade_session::{MemoryStore, SessionStore, conformance};
use time::OffsetDateTime;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_conforms() {
    let make = || async { Arc::new(MemoryStore::new()) as Arc<dyn SessionStore> };
    let report = conformance::run(&make, OffsetDateTime::now_utc()).await;
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    assert_eq!(report.passed.len(), 13);
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_conforms() {
    let Some(url) = redis_url() else { return };
    let make = || {
        let url = url.clone();
        async move {
            let prefix = format!(
                "palisade-test:{}:",
                palisade_session::SessionToken::generate().unwrap().hash().unwrap().session_id()
            );
            Arc::new(palisade_session::RedisStore::connect(&url, &prefix).await.unwrap())
                as Arc<dyn SessionStore>
        }
    };
    let report = conformance::run(&make, OffsetDateTime::now_utc()).await;
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    assert_eq!(report.passed.len(), 13);
}

/// The address of the test Redis (`scripts/services/redis.sh`); required under CI.
#[cfg(feature = "redis")]
fn redis_url() -> Option<String> {
    match std::env::var("PALISADE_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PALISADE_TEST_REDIS_URL is not set under CI: run the tests through scripts/test")
        }
        _ => {
            eprintln!("skipping: PALISADE_TEST_REDIS_URL is not set (scripts/test starts a redis-server)");
            None
        }
    }
}

/// The manager over Redis: the same lifecycle as over memory, with concurrent validations
/// racing a revocation. The manual clock starts at the real time, because Redis expires keys
/// on its own clock.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_over_redis() {
    use palisade_core::ManualClock;
    use palisade_session::*;
    use time::Duration;

    let Some(url) = redis_url() else { return };
    let prefix = format!("palisade-test:{}:", SessionToken::generate().unwrap().hash().unwrap().session_id());
    let store = Arc::new(RedisStore::connect(&url, &prefix).await.unwrap());
    let clock = ManualClock::new(OffsetDateTime::now_utc().replace_nanosecond(0).unwrap());
    let policies = Arc::new(Policies::new(SessionPolicy {
        idle_timeout: Duration::hours(1),
        max_concurrent_sessions: Some(2),
        ..SessionPolicy::default()
    }));
    let manager = SessionManager::new(store.clone(), policies, Arc::new(clock.clone()));
    let acme: palisade_core::TenantId = "acme".parse().unwrap();
    let alice: palisade_core::UserId = "alice".parse().unwrap();
    let login = || manager.login(NewSession::new(acme.clone(), alice.clone(), AuthMethod::Password));

    let first = login().await.unwrap();
    clock.advance(Duration::minutes(50));
    let s = manager.validate(&first.token, &acme).await.unwrap();
    assert_eq!(s.last_seen_at(), palisade_core::Clock::now(&clock), "the touch reached Redis");
    clock.advance(Duration::minutes(61));
    assert_eq!(
        manager.validate(&first.token, &acme).await.unwrap_err().rejection(),
        Some(&Rejection::IdleExpired)
    );

    let a = login().await.unwrap();
    clock.advance(Duration::seconds(1));
    let b = login().await.unwrap();
    clock.advance(Duration::seconds(1));
    let c = login().await.unwrap();
    assert_eq!(c.evicted, vec![a.session.id()]);
    let rotated = manager.rotate(&b.token, &acme, Some(AuthMethod::Totp)).await.unwrap();
    assert_eq!(
        manager.validate(&b.token, &acme).await.unwrap_err().rejection(),
        Some(&Rejection::Revoked(RevocationReason::Rotated))
    );
    let listed: Vec<SessionId> =
        manager.list_active(&acme, &alice).await.unwrap().iter().map(Session::id).collect();
    assert_eq!(listed, vec![rotated.session.id(), c.session.id()]);

    // Validations (each writing, touch_interval 0) racing a password change: afterwards the
    // session is revoked, whatever the interleaving.
    let eager = SessionManager::with_config(
        store.clone(),
        Arc::new(Policies::default()),
        Arc::new(palisade_core::SystemClock),
        ManagerConfig { touch_interval: Duration::ZERO, ..ManagerConfig::default() },
    )
    .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (eager, token, acme) = (eager.clone(), c.token.clone(), acme.clone());
        tasks.push(tokio::spawn(async move { eager.validate(&token, &acme).await.map(|_| ()) }));
    }
    let n = eager.revoke_user(&acme, &alice, RevocationReason::PasswordChanged).await.unwrap();
    assert_eq!(n, 3, "c, the rotated b, and the idle-expired first one (still held)");
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) | Err(Error::Rejected(Rejection::Revoked(_))) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    for token in [&c.token, &rotated.token] {
        assert_eq!(
            manager.validate(token, &acme).await.unwrap_err().rejection(),
            Some(&Rejection::Revoked(RevocationReason::PasswordChanged))
        );
    }
    assert!(manager.list_active(&acme, &alice).await.unwrap().is_empty());
}
