//! Login throttling per account and per source, and that it does not reveal account existence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::net::IpAddr;
use std::sync::Arc;

use palisade_core::throttle::ThrottlePolicy;
use palisade_core::{Clock, ManualClock, SecretString};
use palisade_password::{
    HashParams, Hasher, LoginDecision, LoginGuard, LoginOutcome, LoginThrottle, LoginThrottleConfig,
    MemoryThrottleStore, ThrottleScope,
};
use time::{Duration, macros::datetime};

fn setup() -> (LoginGuard, LoginThrottle, ManualClock, Hasher) {
    let clock = ManualClock::new(datetime!(2026-02-01 09:00 UTC));
    let config = LoginThrottleConfig {
        account: ThrottlePolicy {
            max_failures: 3,
            window_seconds: 600,
            lockout_seconds: 60,
            backoff_factor: 2,
            max_lockout_seconds: 3600,
        },
        source: ThrottlePolicy {
            max_failures: 10,
            window_seconds: 600,
            lockout_seconds: 300,
            backoff_factor: 2,
            max_lockout_seconds: 3600,
        },
    };
    let throttle =
        LoginThrottle::new(config, Arc::new(MemoryThrottleStore::default()), Arc::new(clock.clone()))
            .unwrap();
    let hasher = Hasher::new(HashParams { memory_kib: 32, iterations: 1, ..HashParams::OWASP }).unwrap();
    (LoginGuard::new(hasher.clone(), throttle.clone()), throttle, clock, hasher)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pw(s: &str) -> SecretString {
    SecretString::from(s)
}

#[tokio::test]
async fn unknown_and_known_accounts_are_throttled_identically() {
    let (guard, _t, clock, hasher) = setup();
    let stored = hasher.hash(&pw("the real passphrase")).unwrap();
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..4 {
        known.push(
            guard.attempt("alice", ip(&format!("198.51.100.{i}")), Some(&stored), pw("guess")).await.unwrap(),
        );
        unknown.push(guard.attempt("ghost", ip(&format!("192.0.2.{i}")), None, pw("guess")).await.unwrap());
    }
    assert_eq!(known, unknown);
    assert!(matches!(known[0], LoginOutcome::Failure { next: LoginDecision::Allowed }));
    assert!(matches!(
        known[2],
        LoginOutcome::Failure { next: LoginDecision::Throttled { scope: ThrottleScope::Account, .. } }
    ));
    // Locked: even the right password is refused without being checked.
    let locked =
        guard.attempt("alice", ip("198.51.100.9"), Some(&stored), pw("the real passphrase")).await.unwrap();
    assert_eq!(
        locked,
        LoginOutcome::Throttled {
            until: clock.now() + Duration::seconds(60),
            retry_after: Duration::seconds(60)
        }
    );
    // After the lockout it works, and a success clears the account counter.
    clock.advance(Duration::seconds(60));
    let ok =
        guard.attempt("ALICE", ip("198.51.100.9"), Some(&stored), pw("the real passphrase")).await.unwrap();
    assert_eq!(ok, LoginOutcome::Success { rehash: None });
    assert!(matches!(
        guard.attempt("alice", ip("198.51.100.9"), Some(&stored), pw("x")).await.unwrap(),
        LoginOutcome::Failure { next: LoginDecision::Allowed }
    ));
}

#[tokio::test]
async fn lockouts_back_off_exponentially() {
    let (_g, t, clock, _h) = setup();
    let a = ip("203.0.113.1");
    for round in 0..3 {
        let mut last = LoginDecision::Allowed;
        for _ in 0..3 {
            last = t.record_failure("carol", a).await.unwrap();
        }
        let want = Duration::seconds(60 * (1 << round));
        assert!(
            matches!(last, LoginDecision::Throttled { retry_after, .. } if retry_after == want),
            "{last:?}"
        );
        clock.advance(want);
        assert_eq!(t.check("carol", a).await.unwrap(), LoginDecision::Allowed);
    }
}

#[tokio::test]
async fn source_address_is_throttled_across_accounts_and_ipv6_by_prefix() {
    let (guard, t, _clock, _h) = setup();
    for i in 0..10 {
        // Different accounts (spraying), addresses within one /64.
        let src = ip(&format!("2001:db8:aa:bb::{:x}", i + 1));
        guard.attempt(&format!("user{i}"), src, None, pw("Winter2026!")).await.unwrap();
    }
    let d = t.check("someone-new", ip("2001:db8:aa:bb:ffff::1")).await.unwrap();
    assert!(matches!(d, LoginDecision::Throttled { scope: ThrottleScope::Source, .. }), "{d:?}");
    // Another /64 and an IPv4 client are unaffected.
    assert_eq!(t.check("someone-new", ip("2001:db8:aa:bc::1")).await.unwrap(), LoginDecision::Allowed);
    assert_eq!(t.check("someone-new", ip("198.51.100.1")).await.unwrap(), LoginDecision::Allowed);
    // A success on one account does not reset the source.
    t.record_success("user1", ip("2001:db8:aa:bb::2")).await.unwrap();
    assert!(!matches!(t.check("x", ip("2001:db8:aa:bb::2")).await.unwrap(), LoginDecision::Allowed));
}

#[tokio::test]
async fn success_with_legacy_hash_returns_the_upgrade() {
    let (guard, _t, _c, _h) = setup();
    let legacy = "$2b$04$f.yM3ULeqHFsuSNQavO8Te/JBXGwHcKpJD0l6BlsSCnSDTIIZfH.q";
    match guard
        .attempt("dave", ip("192.0.2.10"), Some(legacy), pw("correct horse battery staple"))
        .await
        .unwrap()
    {
        LoginOutcome::Success { rehash: Some(h) } => assert!(h.starts_with("$argon2id$v=19$m=32,t=1,p=1$")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unlock_and_config_validation() {
    let (_g, t, _c, _h) = setup();
    let a = ip("192.0.2.77");
    for _ in 0..3 {
        t.record_failure("erin", a).await.unwrap();
    }
    assert!(!matches!(t.check("erin", a).await.unwrap(), LoginDecision::Allowed));
    t.unlock_account("Erin").await.unwrap();
    assert_eq!(t.check("erin", a).await.unwrap(), LoginDecision::Allowed);
    let bad = LoginThrottleConfig {
        account: ThrottlePolicy { max_failures: 0, ..ThrottlePolicy::default() },
        ..LoginThrottleConfig::default()
    };
    let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 00:00 UTC)));
    let e = LoginThrottle::new(bad, Arc::new(MemoryThrottleStore::default()), clock).unwrap_err().to_string();
    assert!(e.contains("account: max_failures"), "{e}");
}

#[tokio::test]
async fn async_hashing_runs_on_the_blocking_pool() {
    let h = Hasher::new(HashParams { memory_kib: 32, iterations: 1, ..HashParams::OWASP }).unwrap();
    let s = h.hash_async(pw("x")).await.unwrap();
    assert!(h.verify_async(pw("x"), s.clone()).await.unwrap().matched);
    assert!(!h.verify_async(pw("y"), s).await.unwrap().matched);
}
