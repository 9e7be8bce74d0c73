#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! Session lifecycle scenarios through `SessionManager`, with a manual clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use palisade_core::{ManualClock, TenantId, UserId};
use palisade_session::*;
use time::{Duration, OffsetDateTime, macros::datetime};

const START: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

/// A store that counts writes, to observe touch coalescing.
#[derive(Debug, Default)]
struct CountingStore {
    inner: MemoryStore,
    touches: AtomicUsize,
}

#[async_trait]
impl SessionStore for CountingStore {
    async fn create(
        &self,
        r: SessionRecord,
        l: Option<SessionLimit>,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>> {
        self.inner.create(r, l, now).await
    }
    async fn load(&self, id: &SessionId, now: OffsetDateTime) -> Result<Option<SessionRecord>> {
        self.inner.load(id, now).await
    }
    async fn touch(&self, id: &SessionId, t: Touch) -> Result<WriteOutcome> {
        self.touches.fetch_add(1, Ordering::SeqCst);
        self.inner.touch(id, t).await
    }
    async fn rotate(&self, old: &SessionId, rv: Revocation, new: SessionRecord) -> Result<WriteOutcome> {
        self.inner.rotate(old, rv, new).await
    }
    async fn revoke(&self, id: &SessionId, rv: Revocation) -> Result<bool> {
        self.inner.revoke(id, rv).await
    }
    async fn revoke_user(
        &self,
        t: &TenantId,
        u: &UserId,
        rv: Revocation,
        e: Option<&SessionId>,
    ) -> Result<usize> {
        self.inner.revoke_user(t, u, rv, e).await
    }
    async fn revoke_tenant(&self, t: &TenantId, rv: Revocation) -> Result<usize> {
        self.inner.revoke_tenant(t, rv).await
    }
    async fn list_user(&self, t: &TenantId, u: &UserId, now: OffsetDateTime) -> Result<Vec<SessionRecord>> {
        self.inner.list_user(t, u, now).await
    }
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<usize> {
        self.inner.purge_expired(now).await
    }
}

struct World {
    clock: ManualClock,
    policies: Arc<Policies>,
    store: Arc<CountingStore>,
    manager: SessionManager,
    acme: TenantId,
    alice: UserId,
}

fn world(policy: SessionPolicy) -> World {
    let clock = ManualClock::new(START);
    let policies = Arc::new(Policies::new(policy));
    let store = Arc::new(CountingStore::default());
    let manager = SessionManager::new(store.clone(), policies.clone(), Arc::new(clock.clone()));
    World { clock, policies, store, manager, acme: "acme".parse().unwrap(), alice: "alice".parse().unwrap() }
}

impl World {
    async fn login(&self) -> Issued {
        self.manager
            .login(NewSession::new(self.acme.clone(), self.alice.clone(), AuthMethod::Password))
            .await
            .unwrap()
    }
    async fn verdict(&self, token: &SessionToken) -> std::result::Result<Session, Rejection> {
        match self.manager.validate(token, &self.acme).await {
            Ok(s) => Ok(s),
            Err(Error::Rejected(r)) => Err(r),
            Err(e) => panic!("store error: {e}"),
        }
    }
}

fn hours(h: i64) -> Duration {
    Duration::hours(h)
}

#[tokio::test]
async fn idle_expiry_slides_with_activity() {
    let w = world(SessionPolicy { idle_timeout: hours(1), ..SessionPolicy::default() });
    let issued = w.login().await;
    for _ in 0..5 {
        w.clock.advance(Duration::minutes(50));
        let s = w.verdict(&issued.token).await.unwrap();
        assert_eq!(s.idle_deadline(), w.clock.now_plus(hours(1)));
    }
    w.clock.advance(Duration::minutes(59));
    assert!(w.verdict(&issued.token).await.is_ok());
    w.clock.advance(hours(1));
    assert_eq!(w.verdict(&issued.token).await.unwrap_err(), Rejection::IdleExpired);
    // exactly at the deadline counts as expired
    let other = w.login().await;
    w.clock.advance(hours(1));
    assert_eq!(w.verdict(&other.token).await.unwrap_err(), Rejection::IdleExpired);
}

trait NowPlus {
    fn now_plus(&self, d: Duration) -> OffsetDateTime;
}
impl NowPlus for ManualClock {
    fn now_plus(&self, d: Duration) -> OffsetDateTime {
        palisade_core::Clock::now(self) + d
    }
}

#[tokio::test]
async fn absolute_lifetime_ends_even_an_active_session() {
    let w = world(SessionPolicy {
        idle_timeout: hours(8),
        absolute_lifetime: hours(24),
        ..SessionPolicy::default()
    });
    let issued = w.login().await;
    for _ in 0..23 {
        w.clock.advance(hours(1));
        assert!(w.verdict(&issued.token).await.is_ok());
    }
    w.clock.advance(Duration::minutes(59));
    let s = w.verdict(&issued.token).await.unwrap();
    assert_eq!(s.idle_deadline(), START + hours(24), "idle deadline is capped by the absolute one");
    w.clock.advance(Duration::minutes(1));
    assert_eq!(w.verdict(&issued.token).await.unwrap_err(), Rejection::AbsoluteExpired);
}

#[tokio::test]
async fn user_choice_is_clamped_to_the_organization_bounds() {
    let w = world(SessionPolicy {
        idle_timeout: hours(8),
        user_idle_timeout_min: Duration::minutes(30),
        user_idle_timeout_max: hours(12),
        ..SessionPolicy::default()
    });
    let mut new = NewSession::new(w.acme.clone(), w.alice.clone(), AuthMethod::Password);
    new.idle_timeout_choice = Some(Duration::minutes(5));
    let short = w.manager.login(new.clone()).await.unwrap();
    assert_eq!(short.session.idle_timeout(), Duration::minutes(30));
    new.idle_timeout_choice = Some(Duration::days(3));
    let long = w.manager.login(new).await.unwrap();
    assert_eq!(long.session.idle_timeout(), hours(12));
    w.clock.advance(Duration::minutes(31));
    assert_eq!(w.verdict(&short.token).await.unwrap_err(), Rejection::IdleExpired);
    w.clock.advance(hours(11));
    assert!(w.verdict(&long.token).await.is_ok());
}

#[tokio::test]
async fn policy_changes_apply_at_next_validation() {
    let w = world(SessionPolicy::default());
    let issued = w.login().await;
    w.clock.advance(hours(3));
    assert!(w.verdict(&issued.token).await.is_ok());
    w.clock.advance(hours(2));
    w.policies.set(&w.acme, SessionPolicy { idle_timeout: hours(1), ..SessionPolicy::default() }).unwrap();
    assert_eq!(w.verdict(&issued.token).await.unwrap_err(), Rejection::IdleExpired);
    // lengthening works too, for a session not yet expired under the new rule
    let second = w.login().await;
    w.clock.advance(Duration::minutes(90));
    assert_eq!(w.verdict(&second.token).await.unwrap_err(), Rejection::IdleExpired);
    w.policies.set(&w.acme, SessionPolicy { idle_timeout: hours(2), ..SessionPolicy::default() }).unwrap();
    assert!(w.verdict(&second.token).await.is_ok());
    // a shorter absolute lifetime cuts existing sessions
    w.policies
        .set(
            &w.acme,
            SessionPolicy { idle_timeout: hours(1), absolute_lifetime: hours(1), ..SessionPolicy::default() },
        )
        .unwrap();
    assert_eq!(w.verdict(&second.token).await.unwrap_err(), Rejection::AbsoluteExpired);
}

#[tokio::test]
async fn touches_are_coalesced() {
    let w = world(SessionPolicy::default());
    let issued = w.login().await;
    for _ in 0..100 {
        w.clock.advance(Duration::seconds(1));
        w.verdict(&issued.token).await.unwrap();
    }
    // one write per minute of activity: at 60s and at 120s would be 2, we ran 100s
    assert_eq!(w.store.touches.load(Ordering::SeqCst), 1);
    let stored = w.store.load(&issued.session.id(), w.clock.now_plus(Duration::ZERO)).await.unwrap().unwrap();
    assert_eq!(stored.last_seen_at, START + Duration::seconds(60));

    let eager = SessionManager::with_config(
        w.store.clone(),
        w.policies.clone(),
        Arc::new(w.clock.clone()),
        ManagerConfig { touch_interval: Duration::ZERO, ..ManagerConfig::default() },
    )
    .unwrap();
    eager.validate(&issued.token, &w.acme).await.unwrap();
    assert_eq!(w.store.touches.load(Ordering::SeqCst), 2);
    assert!(ManagerConfig { touch_interval: hours(1), ..ManagerConfig::default() }.validate().is_err());
}

#[tokio::test]
async fn unknown_malformed_and_foreign_tokens() {
    let w = world(SessionPolicy::default());
    let issued = w.login().await;
    assert_eq!(w.verdict(&SessionToken::generate().unwrap()).await.unwrap_err(), Rejection::Unknown);
    assert_eq!(w.verdict(&SessionToken::from_client("garbage")).await.unwrap_err(), Rejection::Unknown);
    assert_eq!(w.verdict(&SessionToken::from_client("")).await.unwrap_err(), Rejection::Unknown);
    let globex: TenantId = "globex".parse().unwrap();
    let err = w.manager.validate(&issued.token, &globex).await.unwrap_err();
    assert_eq!(err.rejection(), Some(&Rejection::TenantMismatch));
    assert!(w.manager.validate_any_tenant(&issued.token).await.is_ok());
    // a revoked session of another tenant still says tenant-mismatch (nothing more is revealed)
    w.manager.logout(&issued.token).await.unwrap();
    let err = w.manager.validate(&issued.token, &globex).await.unwrap_err();
    assert_eq!(err.rejection(), Some(&Rejection::TenantMismatch));
}

#[tokio::test]
async fn the_store_keeps_only_hashes() {
    let w = world(SessionPolicy::default());
    let issued = w.login().await;
    let rec = w.store.load(&issued.session.id(), START).await.unwrap().unwrap();
    let dump = format!("{rec:?} {}", serde_json::to_string(&*rec.details).unwrap());
    assert!(!dump.contains(issued.token.expose_secret()), "the token leaked into the record");
    // Presenting the stored hash (or the id) as a token gets nowhere.
    let as_hex: String = rec.details.token_hash.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(w.verdict(&SessionToken::from_client(as_hex)).await.unwrap_err(), Rejection::Unknown);
    assert_eq!(
        w.verdict(&SessionToken::from_client(rec.id().to_string())).await.unwrap_err(),
        Rejection::Unknown
    );
}

#[tokio::test]
async fn rotation_on_login_and_privilege_change() {
    let w = world(SessionPolicy::default());
    // Session fixation: a token present before sign-in is revoked by the sign-in.
    let planted = w.login().await;
    let mut new = NewSession::new(w.acme.clone(), w.alice.clone(), AuthMethod::Password);
    new.replaces = Some(planted.token.clone());
    let fresh = w.manager.login(new).await.unwrap();
    assert_eq!(w.verdict(&planted.token).await.unwrap_err(), Rejection::Revoked(RevocationReason::Rotated));

    w.clock.advance(hours(1));
    let stepped = w.manager.rotate(&fresh.token, &w.acme, Some(AuthMethod::Totp)).await.unwrap();
    assert_eq!(w.verdict(&fresh.token).await.unwrap_err(), Rejection::Revoked(RevocationReason::Rotated));
    let s = w.verdict(&stepped.token).await.unwrap();
    assert_eq!(s.created_at(), START, "the absolute lifetime still counts from sign-in");
    assert!(s.has_second_factor());
    assert_eq!(s.last_auth_with(AuthMethod::Totp), Some(START + hours(1)));
    assert_eq!(s.last_auth_with(AuthMethod::Password), Some(START));
    // A rotated-away token cannot be rotated again.
    let err = w.manager.rotate(&fresh.token, &w.acme, None).await.unwrap_err();
    assert_eq!(err.rejection(), Some(&Rejection::Revoked(RevocationReason::Rotated)));
    assert_eq!(w.manager.list_active(&w.acme, &w.alice).await.unwrap().len(), 1);
}

#[tokio::test]
async fn recent_authentication_window() {
    let w = world(SessionPolicy { reauth_window: Duration::minutes(10), ..SessionPolicy::default() });
    let issued = w.login().await;
    let s = w.verdict(&issued.token).await.unwrap();
    w.manager.require_recent_auth(&s, &[]).unwrap();
    assert!(matches!(
        w.manager.require_recent_auth(&s, &[AuthMethod::Totp]),
        Err(Error::ReauthenticationRequired { window_minutes: 10 })
    ));
    w.clock.advance(Duration::minutes(11));
    let s = w.verdict(&issued.token).await.unwrap();
    let err = w.manager.require_recent_auth(&s, &[]).unwrap_err();
    assert_eq!(err.class(), palisade_core::ErrorClass::Rejected);
    let again = w.manager.rotate(&issued.token, &w.acme, Some(AuthMethod::Password)).await.unwrap();
    w.manager.require_recent_auth(&again.session, &[AuthMethod::Password]).unwrap();
}

#[tokio::test]
async fn security_changes_sign_the_user_out_everywhere() {
    let w = world(SessionPolicy::default());
    let laptop = w.login().await;
    let phone = w.login().await;
    let bob = w
        .manager
        .login(NewSession::new(w.acme.clone(), "bob".parse().unwrap(), AuthMethod::Saml))
        .await
        .unwrap();
    // "sign out other devices" from the laptop
    let current = w.verdict(&laptop.token).await.unwrap();
    assert_eq!(w.manager.revoke_other_sessions(&current).await.unwrap(), 1);
    assert_eq!(
        w.verdict(&phone.token).await.unwrap_err(),
        Rejection::Revoked(RevocationReason::SignedOutElsewhere)
    );
    assert!(w.verdict(&laptop.token).await.is_ok());
    // password change: everything
    assert_eq!(w.manager.revoke_user(&w.acme, &w.alice, RevocationReason::PasswordChanged).await.unwrap(), 1);
    assert_eq!(
        w.verdict(&laptop.token).await.unwrap_err(),
        Rejection::Revoked(RevocationReason::PasswordChanged)
    );
    assert!(w.verdict(&bob.token).await.is_ok());
    // tenant-wide
    assert_eq!(w.manager.revoke_tenant(&w.acme).await.unwrap(), 1);
    assert_eq!(w.verdict(&bob.token).await.unwrap_err(), Rejection::Revoked(RevocationReason::TenantRevoked));
}

#[tokio::test]
async fn device_listing_and_revoking_one_device() {
    let w = world(SessionPolicy::default());
    let mut new = NewSession::new(w.acme.clone(), w.alice.clone(), AuthMethod::Password);
    new.client = ClientInfo::new("203.0.113.9".parse().ok(), Some("Firefox"));
    let laptop = w.manager.login(new.clone()).await.unwrap();
    w.clock.advance(hours(1));
    new.client = ClientInfo::new("198.51.100.4".parse().ok(), Some(&"x".repeat(1000)));
    let phone = w.manager.login(new).await.unwrap();
    w.clock.advance(hours(1));
    w.verdict(&laptop.token).await.unwrap();
    let list = w.manager.list_active(&w.acme, &w.alice).await.unwrap();
    assert_eq!(
        list.iter().map(Session::id).collect::<Vec<_>>(),
        vec![laptop.session.id(), phone.session.id()]
    );
    assert_eq!(list[0].last_seen_at(), START + hours(2));
    assert_eq!(list[0].client().user_agent.as_deref(), Some("Firefox"));
    assert_eq!(list[1].client().user_agent.as_ref().map(String::len), Some(MAX_UA));
    // another tenant cannot revoke it by id
    assert!(
        !w.manager
            .revoke(&"globex".parse().unwrap(), &phone.session.id(), RevocationReason::Admin)
            .await
            .unwrap()
    );
    assert!(w.manager.revoke(&w.acme, &phone.session.id(), RevocationReason::Admin).await.unwrap());
    assert_eq!(w.verdict(&phone.token).await.unwrap_err(), Rejection::Revoked(RevocationReason::Admin));
    assert_eq!(w.manager.list_active(&w.acme, &w.alice).await.unwrap().len(), 1);
    // idle sessions disappear from the list under the current policy
    w.policies
        .set(&w.acme, SessionPolicy { idle_timeout: Duration::minutes(30), ..SessionPolicy::default() })
        .unwrap();
    w.clock.advance(Duration::minutes(31));
    assert!(w.manager.list_active(&w.acme, &w.alice).await.unwrap().is_empty());
}

const MAX_UA: usize = palisade_session::record::MAX_USER_AGENT;

#[tokio::test]
async fn concurrent_session_limit() {
    let w = world(SessionPolicy { max_concurrent_sessions: Some(2), ..SessionPolicy::default() });
    let first = w.login().await;
    w.clock.advance(Duration::seconds(1));
    let _second = w.login().await;
    w.clock.advance(Duration::seconds(1));
    let third = w.login().await;
    assert_eq!(third.evicted, vec![first.session.id()]);
    assert_eq!(w.verdict(&first.token).await.unwrap_err(), Rejection::Revoked(RevocationReason::Evicted));

    w.policies
        .set(
            &w.acme,
            SessionPolicy {
                max_concurrent_sessions: Some(2),
                on_limit: OverflowAction::Refuse,
                ..SessionPolicy::default()
            },
        )
        .unwrap();
    let err = w
        .manager
        .login(NewSession::new(w.acme.clone(), w.alice.clone(), AuthMethod::Password))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SessionLimitReached { active: 2, max: 2 }), "{err}");
    assert_eq!(w.manager.list_active(&w.acme, &w.alice).await.unwrap().len(), 2);
}

#[tokio::test]
async fn purge_forgets_after_the_absolute_deadline() {
    let w = world(SessionPolicy {
        idle_timeout: hours(1),
        absolute_lifetime: hours(2),
        ..SessionPolicy::default()
    });
    let issued = w.login().await;
    w.clock.advance(Duration::minutes(90));
    assert_eq!(w.verdict(&issued.token).await.unwrap_err(), Rejection::IdleExpired);
    assert_eq!(w.manager.purge_expired().await.unwrap(), 0);
    w.clock.advance(hours(1));
    assert_eq!(w.verdict(&issued.token).await.unwrap_err(), Rejection::AbsoluteExpired);
    w.clock.set(START + hours(26) - Duration::seconds(1));
    assert_eq!(w.manager.purge_expired().await.unwrap(), 0, "kept for a day after the absolute deadline");
    w.clock.advance(Duration::seconds(1));
    assert_eq!(w.manager.purge_expired().await.unwrap(), 1);
    assert_eq!(w.verdict(&issued.token).await.unwrap_err(), Rejection::Unknown);
    assert!(w.store.inner.is_empty());
}

#[tokio::test]
async fn errors_say_what_to_do_and_never_carry_tokens() {
    let w = world(SessionPolicy {
        max_concurrent_sessions: Some(1),
        on_limit: OverflowAction::Refuse,
        ..SessionPolicy::default()
    });
    let issued = w.login().await;
    let err = w
        .manager
        .login(NewSession::new(w.acme.clone(), w.alice.clone(), AuthMethod::Password))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("sign out of another device"), "{msg}");
    assert!(!msg.contains(issued.token.expose_secret()));
    assert_eq!(Rejection::IdleExpired.code(), "idle-expired");
    assert_eq!(Error::from(Rejection::Unknown).class().exit_code(), 1);
}
