//! The conformance suite every [`SessionStore`] must pass (cargo feature `conformance`).
//!
//! palisade runs it against [`MemoryStore`](crate::MemoryStore) and
//! `RedisStore`; a host writing its own store (SQL, DynamoDB…)
//! runs it against that store from a test:
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use palisade_session::{MemoryStore, SessionStore, conformance};
//!
//! let make = || async { Arc::new(MemoryStore::new()) as Arc<dyn SessionStore> };
//! let start = time::OffsetDateTime::now_utc();
//! let report = conformance::run(&make, start).await;
//! assert!(report.failures.is_empty(), "{:#?}", report.failures);
//! # });
//! ```
//!
//! `start` is the time the suite pretends it is. Stores whose backend expires keys on its own
//! clock (Redis) need a `start` close to the real time.

use std::future::Future;
use std::sync::Arc;

use palisade_core::{TenantId, UserId};
use time::{Duration, OffsetDateTime};

use crate::error::Error;
use crate::policy::OverflowAction;
use crate::record::{
    AuthEvent, AuthMethod, ClientInfo, Revocation, RevocationReason, SessionDetails, SessionRecord,
};
use crate::store::{SessionLimit, SessionStore, Touch, WriteOutcome};
use crate::token::{SessionId, SessionToken};

/// What the suite found.
#[derive(Debug, Default)]
pub struct Report {
    /// Names of the checks that passed.
    pub passed: Vec<&'static str>,
    /// `check: what went wrong` for each failed check.
    pub failures: Vec<String>,
}

type Check = std::result::Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

fn store_err(e: Error) -> String {
    format!("store error: {e}")
}

/// Builds records for the checks.
struct Fixture {
    now: OffsetDateTime,
    tenant: TenantId,
}

impl Fixture {
    fn user(&self, name: &str) -> Result<UserId, String> {
        UserId::new(name).map_err(|e| e.to_string())
    }

    fn record_for(
        &self,
        tenant: &TenantId,
        user: &UserId,
        created: OffsetDateTime,
    ) -> Result<SessionRecord, String> {
        let token = SessionToken::generate().map_err(|e| e.to_string())?;
        let hash = token.hash().ok_or("generated token did not hash")?;
        Ok(SessionRecord {
            details: Arc::new(SessionDetails {
                id: hash.session_id(),
                token_hash: hash,
                tenant: tenant.clone(),
                user: user.clone(),
                created_at: created,
                idle_timeout_choice_secs: Some(3600),
                auth: vec![
                    AuthEvent { method: AuthMethod::Password, at: created },
                    AuthEvent { method: AuthMethod::Totp, at: created },
                ],
                client: ClientInfo::new("192.0.2.7".parse().ok(), Some("Mozilla/5.0 (conformance)")),
            }),
            last_seen_at: created,
            expires_at: created + Duration::hours(1),
            purge_at: created + Duration::days(1),
            revoked: None,
        })
    }

    fn record(&self, user: &UserId) -> Result<SessionRecord, String> {
        self.record_for(&self.tenant, user, self.now)
    }

    fn revocation(&self, reason: RevocationReason) -> Revocation {
        Revocation { at: self.now, reason }
    }
}

/// A tenant id unique to this run, so checks never see each other's sessions.
fn tenant_named(prefix: &str) -> Result<TenantId, String> {
    let suffix = SessionToken::generate()
        .map_err(|e| e.to_string())?
        .hash()
        .map(|h| h.session_id().to_string())
        .unwrap_or_default();
    let prefix = prefix.get(..prefix.len().min(40)).unwrap_or("t");
    TenantId::new(format!("{prefix}-{}", suffix.get(..12).unwrap_or("x"))).map_err(|e| e.to_string())
}

/// Runs every check, each against a fresh store from `make`, pretending the time is `start`.
pub async fn run<F, Fut>(make: &F, start: OffsetDateTime) -> Report
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn SessionStore>>,
{
    // Whole seconds, so that any store's timestamp precision (Redis keeps microseconds) holds them.
    let start = start.replace_nanosecond(0).unwrap_or(start);
    let mut report = Report::default();
    macro_rules! run_check {
        ($name:ident) => {{
            let store = make().await;
            let result = match tenant_named(stringify!($name)) {
                Ok(tenant) => $name(&store, &Fixture { now: start, tenant }).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => report.passed.push(stringify!($name)),
                Err(e) => report.failures.push(format!("{}: {e}", stringify!($name))),
            }
        }};
    }
    run_check!(create_then_load_round_trips);
    run_check!(unknown_and_purged_sessions_do_not_load);
    run_check!(touch_slides_and_never_goes_back);
    run_check!(revocation_is_final);
    run_check!(rotation_is_atomic);
    run_check!(revoke_user_spares_others);
    run_check!(revoke_tenant_spares_other_tenants);
    run_check!(listing_shows_active_sessions_oldest_first);
    run_check!(limit_evicts_oldest);
    run_check!(limit_refuses_without_writing);
    run_check!(limit_counts_only_active_sessions);
    run_check!(purge_forgets_dead_records);
    run_check!(concurrent_touch_cannot_resurrect);
    report
}

async fn create_then_load_round_trips(s: &Arc<dyn SessionStore>, fx: &Fixture) -> Check {
    let r = fx.record(&fx.user("alice")?)?;
    let evicted = s.create(r.clone(), None, fx.now).await.map_err(store_err)?;
    ensure!(evicted.is_empty(), "nothing to evict, got {evicted:?}");
    let back = s.load(&r.id(), fx.now).await.map_err(store_err)?;
    ensure!(back.as_ref() == Some(&r), "loaded {back:?}, stored {r:?}");
    let dup = s.create(r.clone(), None, fx.now).await;
    ensure!(dup.is_err(), "a second record with the same id was accepted");
    Ok(())
}

async fn unknown_and_purged_sessions_do_not_load(s: &Arc<dyn SessionStore>, fx: &Fixture) -> Check {
    let r = fx.record(&fx.user("alice")?)?;
    ensure!(s.load(&r.id(), fx.now).await.map_err(store_err)?.is_none(), "unknown id loaded");
    s.create(r.clone(), None, fx.now).await.map_err(store_err)?;
    ensure!(
        s.load(&r.id(), r.purge_at - Duration::seconds(1)).await.map_err(store_err)?.is_some(),
        "live record missing"
    );
    ensure!(s.load(&r.id(), r.purge_at).await.map_err(store_err)?.is_none(), "record loaded at its purge_at");
    Ok(())
}

async fn touch_slides_and_never_goes_back(s: &Arc<dyn SessionStore>, fx: &Fixture) -> Check {
    let r = fx.record(&fx.user("alice")?)?;
    s.create(r.clone(), None, fx.now).await.map_err(store_err)?;
    let later = fx.now + Duration::minutes(10);
    let t = Touch {
        seen_at: later,
        expires_at: later + Duration::hours(1),
        purge_at: r.purge_at + Duration::hours(1),
    };
    ensure!(s.touch(&r.id(), t).await.map_err(store_err)? == WriteOutcome::Applied, "touch not applied");
    let back = s.load(&r.id(), fx.now).await.map_err(store_err)?.ok_or("record vanished")?;
    ensure!(
        back.last_seen_at == later && back.expires_at == t.expires_at && back.purge_at == t.purge_at,
        "touch not stored: {back:?}"
    );
    let stale = Touch {
        seen_at: fx.now + Duration::minutes(5),
        expires_at: fx.now,
        purge_at: fx.now + Duration::hours(2),
    };
    ensure!(
        s.touch(&r.id(), stale).await.map_err(store_err)? == WriteOutcome::Applied,
        "stale touch refused"
    );
    let back = s.load(&r.id(), fx.now).await.map_err(store_err)?.ok_or("record vanished")?;
    ensure!(
        back.last_seen_at == later && back.expires_at == t.expires_at,
        "an older touch moved last_seen back"
    );
    let other = fx.record(&fx.user("bob")?)?;
    ensure!(
        s.touch(&other.id(), t).await.map_err(store_err)? == WriteOutcome::Missing,
        "touch of unknown id"
    );
    ensure!(s.load(&other.id(), fx.now).await.map_err(store_err)?.is_none(), "touch created a record");
    Ok(())
}

async fn revocation_is_final(s: &Arc<dyn SessionStore>, fx: &Fixture) -> Check {
    let r = fx.record(&fx.user("alice")?)?;
    s.create(r.clone(), None, fx.now).await.map_err(store_err)?;
    let rv = fx.revocation(RevocationReason::Logout);
    ensure!(s.revoke(&r.id(), rv).await.map_err(store_err)?, "first revoke returned false");
    ensure!(
        !s.revoke(&r.id(), fx.revocation(RevocationReason::Admin)).await.map_err(store_err)?,
        "second revoke returned true"
    );
    let back =
        s.load(&r.id(), fx.now).await.map_err(store_err)?.ok_or("revoked record vanished before purge_at")?;
    ensure!(back.revoked == Some(rv), "revocation not kept as first written: {:?}", back.revoked);
    let t = Touch { seen_at: fx.now + Duration::minutes(1), expires_at: r.expires_at, purge_at: r.purge_at };
    ensure!(
        s.touch(&r.id(), t).await.map_err(store_err)? == WriteOutcome::Revoked(rv),
        "touch of a revoked session"
    );
    let back = s.load(&r.id(), fx.now).await.map_err(store_err)?.ok_or("record vanished")?;
    ensure!(
        back.last_seen_at == r.last_seen_at && back.revoked == Some(rv),
        "touch wrote to a revoked session"
    );
    ensure!(
        !s.revoke(&fx.record(&fx.user("x")?)?.id(), rv).await.map_err(store_err)?,
        "revoke of unknown id returned true"
    );
    Ok(())
}

async fn rotation_is_atomic(s: &Arc<dyn SessionStore>, fx: &Fixture) -> Check {
    let user = fx.user("alice")?;
    let old = fx.record(&user)?;
    s.create(old.clone(), None, fx.now).await.map_err(store_err)?;
    let new = fx.record(&user)?;
    let rv = fx.revocation(RevocationReason::Rotated);
    ensure!(
        s.rotate(&old.id(), rv, new.clone()).await.map_err(store_err)? == WriteOutcome::Applied,
        "rotation refused"
    );
    let o = s.load(&old.id(), fx.now).await.map_err(store_err)?.ok_or("old record vanished")?;
    ensure!(o.revoked == Some(rv), "old session not revoked by rotation");
    ensure!(
        s.load(&new.id(), fx.now).await.map_err(store_err)?.as_ref() == Some(&new),
        "new session not stored"
    );
    let listed: Vec<SessionId> = s
        .list_user(&fx.tenant, &user, fx.now)
        .await
        .map_err(store_err)?
        .iter()
        .map(SessionRecord::id)
        .collect();
    ensure!(listed == vec![new.id()], "listing after rotation: {listed:?}");
    // Rotating the revoked old token again must not store anything.
    let third = fx.record(&user)?;
    ensure!(
        s.rotate(&old.id(), rv, third.clone()).await.map_err(store_err)? == WriteOutcome::Revoked(rv),
        "rotation of a revoked session"
    );
    ensure!(
        s.load(&third.id(), fx.now).await.map_err(store_err)?.is_none(),
        "rotation of a revoked session stored the new one"
    );
    let ghost = fx.record(&user)?;
    ensure!(
        s.rotate(&ghost.id(), rv, third.clone()).await.map_err(store_err)? == WriteOutcome::Missing,
        "rotation of an unknown session"
    );
    ensure!(
        s.load(&third.id(), fx.now).await.map_err(store_err)?.is_none(),
        "rotation of an unknown session stored the new one"
    );
    Ok(())
}

async fn revoke_user_spares_others(s: &Arc<dyn SessionStore>, fx: &Fixture) -> Check {
    let (alice, bob) = (fx.user("alice")?, fx.user("bob")?);
    let other_tenant = tenant_named("other")?;
    let a1 = fx.record(&alice)?;
    let a2 = fx.record(&alice)?;
    let a3 = fx.record(&alice)?;
    let b1 = fx.record(&bob)?;
    let alice_elsewhere = fx.record_for(&other_tenant, &alice, fx.now)?;
    for r in [&a1, &a2, &a3, &b1, &alice_elsewhere] {
        s.create(r.clone(), None, fx.now).await.map_err(store_err)?;
    }
    s.revoke(&a3.id(), fx.revocation(RevocationReason::Logout)).await.map_err(store_err)?;
    let rv = fx.revocation(RevocationReason::SignedOutElsewhere);
    let n = s.revoke_user(&fx.tenant, &alice, rv, Some(&a1.id())).await.map_err(store_err)?;
    ensure!(n == 1, "revoke_user with an exception revoked {n}, expected 1");
    let live = |r: Option<SessionRecord>| r.is_some_and(|r| r.revoked.is_none());
    ensure!(live(s.load(&a1.id(), fx.now).await.map_err(store_err)?), "the excepted session was revoked");
    ensure!(!live(s.load(&a2.id(), fx.now).await.map_err(store_err)?), "a2 still live");
    let n = s
        .revoke_user(&fx.tenant, &alice, fx.revocation(RevocationReason::PasswordChanged), None)
        .await
        .map_err(store_err)?;
    ensure!(n == 1, "revoke_user revoked {n}, expected 1 (the rest were revoked already)");
    ensure!(live(s.load(&b1.id(), fx.now).await.map_err(store_err)?), "another user's session was revoked");
    ensure!(
        live(s.load(&alice_elsewhere.id(), fx.now).await.map_err(store_err)?),
        "the same user id in another tenant was revoked"
    );
    let a3_back = s.load(&a3.id(), fx.now).await.map_err(store_err)?.ok_or("a3 vanished")?;
    ensure!(
        a3_back.revoked.map(|r| r.reason) == Some(RevocationReason::Logout),
        "an earlier revocation was overwritten"
    );
    ensure!(
        s.revoke_user(&fx.tenant, &fx.user("nobody")?, rv, None).await.map_err(store_err)? == 0,
        "revoked sessions of an unknown user"
    );
    Ok(())
}

async fn revoke_tenant_spares_other_tenants(s: &Arc<dyn SessionStore>, fx: &Fixture) -> Check {
    let other = tenant_named("other")?;
    let mine = [fx.record(&fx.user("alice")?)?, fx.record(&fx.user("alice")?)?, fx.record(&fx.user("bob")?)?];
    let theirs = fx.record_for(&other, &fx.user("alice")?, fx.now)?;
    for r in mine.iter().chain([&theirs]) {
        s.create(r.clone(), None, fx.now).await.map_err(store_err)?;
    }
    let n = s
        .revoke_tenant(&fx.tenant, fx.revocation(RevocationReason::TenantRevoked))
        .await
        .map_err(store_err)?;
    ensure!(n == 3, "revoke_tenant revoked {n}, expected 3");
    for r in &mine {
        let back = s.load(&r.id(), fx.now).await.map_err(store_err)?.ok_or("record vanished")?;
        ensure!(
            back.revoked.map(|r| r.reason) == Some(RevocationReason::TenantRevoked),
            "a session of the tenant survived"
        );
    }
    let back = s.load(&theirs.id(), fx.now).await.map_err(store_err)?.ok_or("record vanished")?;
    ensure!(back.revoked.is_none(), "another tenant's session was revoked");
    Ok(())
}

async fn listing_shows_active_sessions_oldest_first(s: &Arc<dyn SessionStore>, fx: &Fixture) -> Check {
    let alice = fx.user("alice")?;
    let older = fx.record_for(&fx.tenant, &alice, fx.now - Duration::minutes(30))?;
    let newer = fx.record(&alice)?;
    let revoked = fx.record(&alice)?;
    let mut idle = fx.record_for(&fx.tenant, &alice, fx.now - Duration::hours(3))?;
    idle.expires_at = fx.now - Duration::minutes(1);
    for r in [&newer, &older, &revoked, &idle] {
        s.create(r.clone(), None, fx.now).await.map_err(store_err)?;
    }
    s.create(fx.record(&fx.user("bob")?)?, None, fx.now).await.map_err(store_err)?;
    s.revoke(&revoked.id(), fx.revocation(RevocationReason::Logout)).await.map_err(store_err)?;
    let listed = s.list_user(&fx.tenant, &alice, fx.now).await.map_err(store_err)?;
    let ids: Vec<SessionId> = listed.iter().map(SessionRecord::id).collect();
    ensure!(ids == vec![older.id(), newer.id()], "listed {ids:?}, expected [older, newer]");
    ensure!(listed.first() == Some(&older), "listing lost details: {:?}", listed.first());
    Ok(())
}

async fn limit_evicts_oldest(s: &Arc<dyn SessionStore>, fx: &Fixture) -> Check {
    let alice = fx.user("alice")?;
    let limit = Some(SessionLimit { max: 2, overflow: OverflowAction::EvictOldest });
    let first = fx.record_for(&fx.tenant, &alice, fx.now - Duration::minutes(2))?;
    let second = fx.record_for(&fx.tenant, &alice, fx.now - Duration::minutes(1))?;
    let third = fx.record(&alice)?;
    ensure!(
        s.create(first.clone(), limit, fx.now).await.map_err(store_err)?.is_empty(),
        "evicted below the limit"
    );
    ensure!(
        s.create(second.clone(), limit, fx.now).await.map_err(store_err)?.is_empty(),
        "evicted at the limit"
    );
    let evicted = s.create(third.clone(), limit, fx.now).await.map_err(store_err)?;
    ensure!(evicted == vec![first.id()], "evicted {evicted:?}, expected the oldest");
    let back = s.load(&first.id(), fx.now).await.map_err(store_err)?.ok_or("evicted record vanished")?;
    ensure!(
        back.revoked.map(|r| r.reason) == Some(RevocationReason::Evicted),
        "eviction not recorded: {:?}",
        back.revoked
    );
    let n = s.list_user(&fx.tenant, &alice, fx.now).await.map_err(store_err)?.len();
    ensure!(n == 2, "{n} active sessions after eviction, expected 2");
    let tighter = Some(SessionLimit { max: 1, overflow: OverflowAction::EvictOldest });
    let fourth = fx.record(&alice)?;
    let evicted = s.create(fourth, tighter, fx.now).await.map_err(store_err)?;
    ensure!(evicted.len() == 2, "a lowered limit evicted {evicted:?}, expected both older sessions");
    Ok(())
}

async fn limit_refuses_without_writing(s: &Arc<dyn SessionStore>, fx: &Fixture) -> Check {
    let alice = fx.user("alice")?;
    let limit = Some(SessionLimit { max: 1, overflow: OverflowAction::Refuse });
    let first = fx.record(&alice)?;
    s.create(first.clone(), limit, fx.now).await.map_err(store_err)?;
    let second = fx.record(&alice)?;
    match s.create(second.clone(), limit, fx.now).await {
        Err(Error::SessionLimitReached { active: 1, max: 1 }) => {}
        other => return Err(format!("expected SessionLimitReached {{ active: 1, max: 1 }}, got {other:?}")),
    }
    ensure!(s.load(&second.id(), fx.now).await.map_err(store_err)?.is_none(), "a refused session was stored");
    let back = s.load(&first.id(), fx.now).await.map_err(store_err)?.ok_or("record vanished")?;
    ensure!(back.revoked.is_none(), "a refusal revoked the existing session");
    Ok(())
}

async fn limit_counts_only_active_sessions(s: &Arc<dyn SessionStore>, fx: &Fixture) -> Check {
    let alice = fx.user("alice")?;
    let limit = Some(SessionLimit { max: 1, overflow: OverflowAction::Refuse });
    let mut idle = fx.record_for(&fx.tenant, &alice, fx.now - Duration::hours(2))?;
    idle.expires_at = fx.now - Duration::seconds(1);
    s.create(idle, None, fx.now).await.map_err(store_err)?;
    let revoked = fx.record(&alice)?;
    s.create(revoked.clone(), None, fx.now).await.map_err(store_err)?;
    s.revoke(&revoked.id(), fx.revocation(RevocationReason::Logout)).await.map_err(store_err)?;
    let fresh = fx.record(&alice)?;
    let evicted = s.create(fresh, limit, fx.now).await.map_err(store_err)?;
    ensure!(evicted.is_empty(), "evicted {evicted:?}");
    Ok(())
}

async fn purge_forgets_dead_records(s: &Arc<dyn SessionStore>, fx: &Fixture) -> Check {
    let alice = fx.user("alice")?;
    let r = fx.record(&alice)?;
    s.create(r.clone(), None, fx.now).await.map_err(store_err)?;
    let after = r.purge_at + Duration::seconds(1);
    s.purge_expired(after).await.map_err(store_err)?;
    ensure!(s.load(&r.id(), after).await.map_err(store_err)?.is_none(), "record loaded after its purge_at");
    ensure!(
        s.list_user(&fx.tenant, &alice, after).await.map_err(store_err)?.is_empty(),
        "purged record listed"
    );
    // A record still before its purge_at survives a purge.
    let live = fx.record(&alice)?;
    s.create(live.clone(), None, fx.now).await.map_err(store_err)?;
    s.purge_expired(fx.now).await.map_err(store_err)?;
    ensure!(s.load(&live.id(), fx.now).await.map_err(store_err)?.is_some(), "purge removed a live record");
    Ok(())
}

async fn concurrent_touch_cannot_resurrect(s: &Arc<dyn SessionStore>, fx: &Fixture) -> Check {
    let r = fx.record(&fx.user("alice")?)?;
    s.create(r.clone(), None, fx.now).await.map_err(store_err)?;
    let id = r.id();
    let mut tasks = Vec::new();
    for i in 0..64i64 {
        let store = Arc::clone(s);
        let t = Touch {
            seen_at: fx.now + Duration::seconds(i + 1),
            expires_at: fx.now + Duration::hours(1),
            purge_at: r.purge_at,
        };
        tasks.push(tokio::spawn(async move { store.touch(&id, t).await }));
        if i == 32 {
            s.revoke(&id, fx.revocation(RevocationReason::PasswordChanged)).await.map_err(store_err)?;
        }
    }
    for t in tasks {
        t.await.map_err(|e| format!("task failed: {e}"))?.map_err(store_err)?;
    }
    let back = s.load(&id, fx.now).await.map_err(store_err)?.ok_or("record vanished")?;
    ensure!(
        back.revoked.map(|r| r.reason) == Some(RevocationReason::PasswordChanged),
        "a touch racing the revocation resurrected the session: {:?}",
        back.revoked
    );
    let after = s
        .touch(&id, Touch { seen_at: fx.now + Duration::hours(1), expires_at: fx.now, purge_at: r.purge_at })
        .await
        .map_err(store_err)?;
    ensure!(matches!(after, WriteOutcome::Revoked(_)), "touch after revocation: {after:?}");
    Ok(())
}
