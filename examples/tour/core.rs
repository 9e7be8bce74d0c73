//! Chapter: palisade-core.

use std::sync::Arc;

use palisade::core::throttle::{Decision, MemoryThrottleStore, Throttle, ThrottleKey, ThrottlePolicy};
use palisade::core::{Clock, ManualClock, SecretString, TenantId, UserId};
use time::{Duration, macros::datetime};

use crate::step;

pub async fn run() -> anyhow::Result<()> {
    let tenant: TenantId = "acme".parse()?;
    let user: UserId = "alice@acme.example".parse()?;
    step(format!(
        "typed ids: tenant {tenant}, user {user} (a UserId cannot be passed where a TenantId is wanted)"
    ));
    match "acme corp".parse::<TenantId>() {
        Ok(_) => anyhow::bail!("a tenant id with a space was accepted"),
        Err(e) => step(format!("a bad id is refused with a reason: {e}")),
    }

    let secret = SecretString::from("correct horse battery staple");
    step(format!("secrets never print: {secret:?}"));

    let clock = ManualClock::new(datetime!(2026-01-01 09:00 UTC));
    let throttle = Throttle::new(
        ThrottlePolicy { max_failures: 3, ..ThrottlePolicy::default() },
        Arc::new(MemoryThrottleStore::default()),
        Arc::new(clock.clone()),
    );
    let key = ThrottleKey::new("login-account", user.as_str());
    for attempt in 1..=3 {
        let d = throttle.record_failure(&key).await?;
        step(format!("failed login {attempt} at {}: {d:?}", clock.now().time()));
    }
    clock.advance(Duration::minutes(15));
    let after = throttle.check(&key).await?;
    step(format!("15 minutes later (manual clock, no sleeping): {after:?}"));
    anyhow::ensure!(matches!(after, Decision::Allowed { .. }), "the lockout should have ended");
    Ok(())
}
