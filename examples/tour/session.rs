//! Chapter: palisade-session.

use std::sync::Arc;

use palisade::core::{Clock, ManualClock, TenantId, UserId};
use palisade::session::{
    AuthMethod, MemoryStore, NewSession, Policies, RevocationReason, SessionManager, SessionPolicy,
};
use time::{Duration, macros::datetime};

use crate::step;

fn verdict<T>(r: &Result<T, palisade::session::Error>) -> String {
    match r {
        Ok(_) => "valid".to_owned(),
        Err(e) => match e.rejection() {
            Some(r) => format!("rejected ({})", r.code()),
            None => format!("error: {e}"),
        },
    }
}

pub async fn run() -> anyhow::Result<()> {
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    let acme: TenantId = "acme".parse()?;
    let alice: UserId = "alice@acme.example".parse()?;
    let policy: SessionPolicy = toml::from_str(
        r#"
        idle_timeout = "1h"
        absolute_lifetime = "12h"
        max_concurrent_sessions = 3
        "#,
    )?;
    policy.validate()?;
    step(format!(
        "acme's policy: idle {}m, absolute {}h, users may pick {}m..{}d, at most 3 sessions per user",
        policy.idle_timeout.whole_minutes(),
        policy.absolute_lifetime.whole_hours(),
        policy.user_idle_timeout_min.whole_minutes(),
        policy.user_idle_timeout_max.whole_days()
    ));
    let policies = Arc::new(Policies::default());
    policies.set(&acme, policy)?;
    let manager =
        SessionManager::new(Arc::new(MemoryStore::new()), policies.clone(), Arc::new(clock.clone()));

    let issued = manager.login(NewSession::new(acme.clone(), alice.clone(), AuthMethod::Password)).await?;
    step(format!(
        "alice signs in: a {}-character token goes to her browser; the store keeps only its SHA-256 (session id {})",
        issued.token.expose_secret().len(),
        issued.session.id()
    ));

    clock.advance(Duration::minutes(50));
    step(format!(
        "50 minutes later a request comes in: {}",
        verdict(&manager.validate(&issued.token, &acme).await)
    ));
    clock.advance(Duration::minutes(61));
    step(format!(
        "61 minutes without activity (idle timeout 1h): {}",
        verdict(&manager.validate(&issued.token, &acme).await)
    ));

    let busy = manager.login(NewSession::new(acme.clone(), alice.clone(), AuthMethod::Saml)).await?;
    let signed_in = clock.now();
    let mut last = String::new();
    for _ in 0..20 {
        clock.advance(Duration::minutes(59));
        last = verdict(&manager.validate(&busy.token, &acme).await);
        if last != "valid" {
            break;
        }
    }
    step(format!(
        "a busy SAML session, used every 59 minutes, still ends at its 12h absolute lifetime: {last} after {}h{:02}m",
        (clock.now() - signed_in).whole_hours(),
        (clock.now() - signed_in).whole_minutes() % 60
    ));

    let laptop = manager.login(NewSession::new(acme.clone(), alice.clone(), AuthMethod::Password)).await?;
    let stepped = manager.rotate(&laptop.token, &acme, Some(AuthMethod::Totp)).await?;
    step(format!(
        "step-up with TOTP rotates the token: old one {}, new one {} (second factor: {})",
        verdict(&manager.validate(&laptop.token, &acme).await),
        verdict(&manager.validate(&stepped.token, &acme).await),
        stepped.session.has_second_factor()
    ));

    let globex: TenantId = "globex".parse()?;
    step(format!(
        "the same token presented to another tenant: {}",
        verdict(&manager.validate(&stepped.token, &globex).await)
    ));

    let phone = manager.login(NewSession::new(acme.clone(), alice.clone(), AuthMethod::Password)).await?;
    let devices = manager.list_active(&acme, &alice).await?;
    step(format!("alice's devices page lists {} active sessions (the expired ones are gone)", devices.len()));
    let n = manager.revoke_user(&acme, &alice, RevocationReason::PasswordChanged).await?;
    step(format!(
        "she changes her password: {n} stored sessions revoked; her phone's next request is {}",
        verdict(&manager.validate(&phone.token, &acme).await)
    ));
    Ok(())
}
