//! Scenarios over `TotpService` with a `ManualClock`: enrollment, replay, skew edges, lockout,
//! recovery codes, remembered devices, admin reset, sealing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use palisade_core::sealer::StaticKeySealer;
use palisade_core::throttle::ThrottlePolicy;
use palisade_core::{Clock, ManualClock, TenantId, UserId};
use palisade_totp::*;
use time::{Duration, OffsetDateTime, macros::datetime};

struct World {
    clock: ManualClock,
    service: TotpService,
    store: Arc<MemoryTotpStore>,
    tenant: TenantId,
    user: UserId,
}

const START: OffsetDateTime = datetime!(2026-05-01 09:00:00 UTC); // a step boundary

fn world_with(config: TotpConfig) -> World {
    let clock = ManualClock::new(START);
    let mut backends =
        Backends::in_memory(Arc::new(StaticKeySealer::random().unwrap()), Arc::new(clock.clone())).unwrap();
    let store = Arc::new(MemoryTotpStore::default());
    backends.store = store.clone();
    World {
        clock,
        service: TotpService::new(config, backends).unwrap(),
        store,
        tenant: "acme".parse().unwrap(),
        user: "alice".parse().unwrap(),
    }
}

fn world() -> World {
    world_with(TotpConfig::new("Acme"))
}

impl World {
    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// Enrolls and returns the app's view of the secret.
    async fn enroll(&self) -> (Totp, Vec<String>) {
        let pending =
            self.service.begin_enrollment(&self.tenant, &self.user, "alice@acme.example").await.unwrap();
        let app = Totp::new(
            secret::decode_base32(pending.secret_base32().expose_secret()).unwrap(),
            pending.params(),
        )
        .unwrap();
        let code = app.code_at(self.now()).unwrap();
        let activated = self.service.confirm_enrollment(&self.tenant, &self.user, &code).await.unwrap();
        let codes = activated.recovery_codes.iter().map(|c| c.expose_secret().to_owned()).collect();
        (app, codes)
    }
}

#[tokio::test]
async fn enrollment_is_pending_until_a_code_proves_possession() {
    let w = world();
    let pending = w.service.begin_enrollment(&w.tenant, &w.user, "alice@acme.example").await.unwrap();
    assert!(pending.warnings.is_empty());
    assert_eq!(secret::decode_base32(pending.secret_base32().expose_secret()).unwrap().len(), 20);
    assert!(pending.uri().expose_secret().starts_with("otpauth://totp/Acme:alice%40acme.example?secret="));
    assert!(format!("{pending:?}").find(pending.secret_base32().expose_secret()).is_none());
    assert!(matches!(w.service.status(&w.tenant, &w.user).await.unwrap().state, TotpState::Pending { .. }));
    // Pending is not enough to log in.
    let app =
        Totp::new(secret::decode_base32(pending.secret_base32().expose_secret()).unwrap(), pending.params())
            .unwrap();
    let code = app.code_at(w.now()).unwrap();
    assert!(matches!(w.service.verify_code(&w.tenant, &w.user, &code).await, Err(Error::NotEnrolled)));
    // A wrong code does not activate.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(matches!(
        w.service.confirm_enrollment(&w.tenant, &w.user, wrong).await,
        Err(Error::InvalidCode { .. })
    ));
    let activated = w.service.confirm_enrollment(&w.tenant, &w.user, &code).await.unwrap();
    assert_eq!(activated.recovery_codes.len(), 10);
    assert!(matches!(w.service.status(&w.tenant, &w.user).await.unwrap().state, TotpState::Active { .. }));
    // Active: cannot start again without a reset.
    assert!(matches!(
        w.service.begin_enrollment(&w.tenant, &w.user, "alice").await,
        Err(Error::AlreadyEnrolled)
    ));
}

#[tokio::test]
async fn pending_enrollment_expires() {
    let w = world();
    let pending = w.service.begin_enrollment(&w.tenant, &w.user, "alice").await.unwrap();
    let app =
        Totp::new(secret::decode_base32(pending.secret_base32().expose_secret()).unwrap(), pending.params())
            .unwrap();
    w.clock.advance(Duration::seconds(901));
    let code = app.code_at(w.now()).unwrap();
    assert!(matches!(
        w.service.confirm_enrollment(&w.tenant, &w.user, &code).await,
        Err(Error::NoPendingEnrollment)
    ));
    assert_eq!(w.service.status(&w.tenant, &w.user).await.unwrap().state, TotpState::NotEnrolled);
    // Restarting replaces the old secret: the old app's codes do not confirm the new one.
    let again = w.service.begin_enrollment(&w.tenant, &w.user, "alice").await.unwrap();
    assert_ne!(again.secret_base32(), pending.secret_base32());
}

#[tokio::test]
async fn secret_is_stored_sealed_and_bound_to_the_user() {
    let w = world();
    let pending = w.service.begin_enrollment(&w.tenant, &w.user, "alice").await.unwrap();
    let raw = secret::decode_base32(pending.secret_base32().expose_secret()).unwrap();
    let rec = w.store.enrollment(&w.tenant, &w.user).await.unwrap().unwrap();
    let sealed = &rec.sealed_secret.0;
    assert!(!sealed.windows(raw.len()).any(|win| win == raw.expose_secret()), "secret stored in clear");
    assert!(!String::from_utf8_lossy(sealed).contains(pending.secret_base32().expose_secret()));
    // Moving the sealed secret to another user makes it unusable.
    let mallory: UserId = "mallory".parse().unwrap();
    w.store.put_pending(&w.tenant, &mallory, rec.clone()).await.unwrap();
    let app = Totp::new(raw, pending.params()).unwrap();
    let r = w.service.confirm_enrollment(&w.tenant, &mallory, &app.code_at(w.now()).unwrap()).await;
    assert!(matches!(r, Err(Error::Seal(_))), "{r:?}");
}

#[tokio::test]
async fn replay_is_refused_even_within_the_window() {
    let w = world();
    let (app, _) = w.enroll().await;
    // The enrollment code's step is used; the same code cannot log in.
    let enroll_code = app.code_at(w.now()).unwrap();
    assert!(matches!(
        w.service.verify_code(&w.tenant, &w.user, &enroll_code).await,
        Err(Error::Replayed { .. })
    ));
    w.clock.advance(Duration::seconds(30));
    let code = app.code_at(w.now()).unwrap();
    let m = w.service.verify_code(&w.tenant, &w.user, &code).await.unwrap();
    assert_eq!(m.drift, 0);
    assert!(
        matches!(w.service.verify_code(&w.tenant, &w.user, &code).await, Err(Error::Replayed { step }) if step == m.step)
    );
    // An older (still in-window) code is refused too: steps only move forward.
    w.clock.advance(Duration::seconds(30));
    let previous = app.code_at(w.now() - 60).unwrap();
    assert!(w.service.verify_code(&w.tenant, &w.user, &previous).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_logins_with_one_code_succeed_once() {
    let w = Arc::new(world());
    let (app, _) = w.enroll().await;
    w.clock.advance(Duration::seconds(30));
    let code = app.code_at(w.now()).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (w, code) = (w.clone(), code.clone());
        tasks.push(tokio::spawn(
            async move { w.service.verify_code(&w.tenant, &w.user, &code).await.is_ok() },
        ));
    }
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap());
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn skew_window_edges() {
    let w = world();
    let (app, _) = w.enroll().await;
    let base = w.now() + 300;
    w.clock.set(OffsetDateTime::from_unix_timestamp(base).unwrap());
    // One step behind and one ahead are accepted (default skew 1); two are not.
    let behind2 = app.code_at(base - 60).unwrap();
    let ahead2 = app.code_at(base + 60).unwrap();
    for c in [&behind2, &ahead2] {
        assert!(matches!(w.service.verify_code(&w.tenant, &w.user, c).await, Err(Error::InvalidCode { .. })));
    }
    let behind1 = app.code_at(base - 30).unwrap();
    assert_eq!(w.service.verify_code(&w.tenant, &w.user, &behind1).await.unwrap().drift, -1);
    let ahead1 = app.code_at(base + 30).unwrap();
    assert_eq!(w.service.verify_code(&w.tenant, &w.user, &ahead1).await.unwrap().drift, 1);
    // The last second of a step and the first of the next.
    let t = base + 89; // step boundary + 29
    w.clock.set(OffsetDateTime::from_unix_timestamp(t).unwrap());
    let next = app.code_at(t + 1).unwrap(); // step + 1 (accepted as +1 drift)
    assert_eq!(w.service.verify_code(&w.tenant, &w.user, &next).await.unwrap().drift, 1);
}

#[tokio::test]
async fn zero_skew_accepts_only_the_current_step() {
    let w = world_with(TotpConfig { skew_steps: 0, ..TotpConfig::new("Acme") });
    let (app, _) = w.enroll().await;
    w.clock.advance(Duration::seconds(60));
    let t = w.now();
    assert!(w.service.verify_code(&w.tenant, &w.user, &app.code_at(t + 30).unwrap()).await.is_err());
    assert!(w.service.verify_code(&w.tenant, &w.user, &app.code_at(t).unwrap()).await.is_ok());
}

#[tokio::test]
async fn lockout_after_failures_then_recovery_after_the_period() {
    let policy = ThrottlePolicy {
        max_failures: 3,
        window_seconds: 600,
        lockout_seconds: 900,
        backoff_factor: 2,
        max_lockout_seconds: 3600,
    };
    let w = world_with(TotpConfig { throttle: policy, ..TotpConfig::new("Acme") });
    let (app, recovery) = w.enroll().await;
    w.clock.advance(Duration::seconds(30));
    let good = app.code_at(w.now()).unwrap();
    let bad = if good == "123456" { "654321" } else { "123456" };
    let mut remaining = Vec::new();
    for _ in 0..3 {
        match w.service.verify_code(&w.tenant, &w.user, bad).await {
            Err(Error::InvalidCode { remaining: r }) => remaining.push(r),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(remaining, [2, 1, 0]);
    // Locked: even the right code and a recovery code are refused without being checked.
    assert!(matches!(w.service.verify_code(&w.tenant, &w.user, &good).await, Err(Error::LockedOut { .. })));
    assert!(matches!(
        w.service.verify_recovery_code(&w.tenant, &w.user, &recovery[0]).await,
        Err(Error::LockedOut { .. })
    ));
    assert_eq!(w.service.recovery_codes_remaining(&w.tenant, &w.user).await.unwrap(), 10, "not consumed");
    w.clock.advance(Duration::seconds(900));
    let good = app.code_at(w.now()).unwrap();
    assert!(w.service.verify_code(&w.tenant, &w.user, &good).await.is_ok());
    // Success cleared the count.
    w.clock.advance(Duration::seconds(30));
    assert!(matches!(
        w.service.verify_code(&w.tenant, &w.user, bad).await,
        Err(Error::InvalidCode { remaining: 2 })
    ));
}

#[tokio::test]
async fn lockouts_are_per_user_and_tenant() {
    let w = world_with(TotpConfig {
        throttle: ThrottlePolicy { max_failures: 1, ..ThrottlePolicy::default() },
        ..TotpConfig::new("Acme")
    });
    w.enroll().await;
    let _ = w.service.verify_code(&w.tenant, &w.user, "000000").await;
    assert!(matches!(
        w.service.verify_code(&w.tenant, &w.user, "000000").await,
        Err(Error::LockedOut { .. })
    ));
    let other: TenantId = "globex".parse().unwrap();
    assert!(matches!(w.service.verify_code(&other, &w.user, "000000").await, Err(Error::NotEnrolled)));
}

#[tokio::test]
async fn recovery_codes_work_once_and_regeneration_invalidates() {
    let w = world();
    let (_app, codes) = w.enroll().await;
    assert_eq!(codes.len(), 10);
    let first = &codes[0];
    // Typed sloppily: lower case, spaces instead of dashes.
    let typed = first.to_lowercase().replace('-', " ");
    assert_eq!(w.service.verify_recovery_code(&w.tenant, &w.user, &typed).await.unwrap().remaining, 9);
    assert!(matches!(
        w.service.verify_recovery_code(&w.tenant, &w.user, first).await,
        Err(Error::InvalidRecoveryCode { .. })
    ));
    assert_eq!(w.service.recovery_codes_remaining(&w.tenant, &w.user).await.unwrap(), 9);
    // Another user's code does not work for this user (hashes are bound to the user).
    let bob: UserId = "bob".parse().unwrap();
    assert!(w.service.verify_recovery_code(&w.tenant, &bob, &codes[1]).await.is_err());

    let fresh = w.service.regenerate_recovery_codes(&w.tenant, &w.user).await.unwrap();
    assert_eq!(w.service.recovery_codes_remaining(&w.tenant, &w.user).await.unwrap(), 10);
    assert!(w.service.verify_recovery_code(&w.tenant, &w.user, &codes[1]).await.is_err(), "old set revoked");
    assert!(w.service.verify_recovery_code(&w.tenant, &w.user, fresh[3].expose_secret()).await.is_ok());
    // Garbage is a failed attempt, not a panic.
    for junk in ["", "x", "ABCD-EFGH-JKMN-PQRS", "💥"] {
        assert!(matches!(
            w.service.verify_recovery_code(&w.tenant, &w.user, junk).await,
            Err(Error::InvalidRecoveryCode { .. }) | Err(Error::LockedOut { .. })
        ));
    }
}

#[tokio::test]
async fn recovery_codes_are_stored_hashed_only() {
    let w = world();
    let (_app, codes) = w.enroll().await;
    let dump = format!("{:?}", w.store);
    for c in &codes {
        assert!(!dump.contains(c.as_str()) && !dump.contains(&c.replace('-', "")));
    }
}

#[tokio::test]
async fn remembered_devices_follow_policy_and_revocation() {
    let w = world();
    w.enroll().await;
    let off = MfaPolicy::default();
    assert!(matches!(
        w.service.remember_device(&w.tenant, &w.user, &off).await,
        Err(Error::PolicyForbids(_))
    ));
    let policy = MfaPolicy { remember_device_days: 30, ..MfaPolicy::default() };
    let dev = w.service.remember_device(&w.tenant, &w.user, &policy).await.unwrap();
    assert_eq!(dev.expires_at, w.clock.now() + Duration::days(30));
    let token = dev.token.expose_secret().to_owned();
    assert!(w.service.check_remembered_device(&w.tenant, &w.user, &token, &policy).await.unwrap());
    // Bound to the user and the tenant.
    let bob: UserId = "bob".parse().unwrap();
    let globex: TenantId = "globex".parse().unwrap();
    assert!(!w.service.check_remembered_device(&w.tenant, &bob, &token, &policy).await.unwrap());
    assert!(!w.service.check_remembered_device(&globex, &w.user, &token, &policy).await.unwrap());
    // The org turning the feature off or shortening it applies at once.
    assert!(!w.service.check_remembered_device(&w.tenant, &w.user, &token, &off).await.unwrap());
    w.clock.advance(Duration::days(10));
    let short = MfaPolicy { remember_device_days: 7, ..MfaPolicy::default() };
    assert!(!w.service.check_remembered_device(&w.tenant, &w.user, &token, &short).await.unwrap());
    assert!(w.service.check_remembered_device(&w.tenant, &w.user, &token, &policy).await.unwrap());
    // Expiry.
    w.clock.advance(Duration::days(20));
    assert!(!w.service.check_remembered_device(&w.tenant, &w.user, &token, &policy).await.unwrap());
    // Revocation with the sessions.
    let dev2 = w.service.remember_device(&w.tenant, &w.user, &policy).await.unwrap();
    assert_eq!(w.service.revoke_remembered_devices(&w.tenant, &w.user).await.unwrap(), 1);
    assert!(
        !w.service
            .check_remembered_device(&w.tenant, &w.user, dev2.token.expose_secret(), &policy)
            .await
            .unwrap()
    );
    assert!(!w.service.check_remembered_device(&w.tenant, &w.user, "pdt1_junk", &policy).await.unwrap());
}

#[tokio::test]
async fn admin_reset_clears_everything_and_is_recorded() {
    let w = world();
    let (app, codes) = w.enroll().await;
    let policy = MfaPolicy { remember_device_days: 30, ..MfaPolicy::default() };
    let dev = w.service.remember_device(&w.tenant, &w.user, &policy).await.unwrap();
    let admin: UserId = "root-admin".parse().unwrap();
    assert!(matches!(
        w.service.admin_reset(&w.tenant, &w.user, &admin, "  ").await,
        Err(Error::InvalidParameter(_))
    ));
    w.clock.advance(Duration::minutes(5));
    let rec = w.service.admin_reset(&w.tenant, &w.user, &admin, "lost phone, ticket #4411").await.unwrap();
    assert_eq!(
        (rec.by.as_str(), rec.reason.as_str(), rec.at),
        ("root-admin", "lost phone, ticket #4411", w.clock.now())
    );
    let status = w.service.status(&w.tenant, &w.user).await.unwrap();
    assert_eq!(status.state, TotpState::NotEnrolled);
    assert_eq!(status.last_reset, Some(rec));
    assert!(matches!(
        w.service.verify_code(&w.tenant, &w.user, &app.code_at(w.now()).unwrap()).await,
        Err(Error::NotEnrolled)
    ));
    assert!(w.service.verify_recovery_code(&w.tenant, &w.user, &codes[0]).await.is_err());
    assert!(
        !w.service
            .check_remembered_device(&w.tenant, &w.user, dev.token.expose_secret(), &policy)
            .await
            .unwrap()
    );
    // The user can enroll again (with a new secret).
    w.enroll().await;
}

#[tokio::test]
async fn config_is_validated_with_every_problem() {
    let cfg: TotpConfig = serde_json::from_str(
        r#"{"issuer": "", "digits": 9, "period_seconds": 0, "skew_steps": 50, "recovery_code_count": 0}"#,
    )
    .unwrap();
    let problems = cfg.validate();
    assert_eq!(problems.len(), 5, "{problems:?}");
    let clock = ManualClock::new(START);
    let b = Backends::in_memory(Arc::new(StaticKeySealer::random().unwrap()), Arc::new(clock)).unwrap();
    assert!(matches!(TotpService::new(cfg, b), Err(Error::Config(p)) if p.len() == 5));
    assert!(serde_json::from_str::<TotpConfig>(r#"{"issuer": "x", "skew": 1}"#).is_err());
    let toml_cfg: TotpConfig =
        toml::from_str("issuer = \"Acme\"\nalgorithm = \"SHA256\"\ndigits = 8").unwrap();
    assert!(toml_cfg.validate().is_empty());
    assert_eq!(toml_cfg.params().compatibility_warnings().len(), 2);
}

#[tokio::test]
async fn non_default_parameters_warn_and_work() {
    let w = world_with(TotpConfig {
        algorithm: Algorithm::Sha512,
        digits: 8,
        period_seconds: 60,
        ..TotpConfig::new("Acme")
    });
    let pending = w.service.begin_enrollment(&w.tenant, &w.user, "alice").await.unwrap();
    assert_eq!(pending.warnings.len(), 3);
    assert!(pending.uri().expose_secret().ends_with("&algorithm=SHA512&digits=8&period=60"));
    let (_, k) = KeyUri::parse(pending.uri().expose_secret()).unwrap();
    let app = Totp::new(k, pending.params()).unwrap();
    let code = app.code_at(w.now()).unwrap();
    assert_eq!(code.len(), 8);
    assert!(w.service.confirm_enrollment(&w.tenant, &w.user, &code).await.is_ok());
}
