//! Chapter: palisade-password.

use std::net::IpAddr;
use std::sync::Arc;

use palisade::core::{ManualClock, SecretString};
use palisade::password::{
    Context, ExpiryStatus, Hasher, HibpList, LoginGuard, LoginOutcome, LoginThrottle, LoginThrottleConfig,
    MemoryThrottleStore, Policy, Upgrade,
};
use time::{Duration, macros::datetime};

use crate::step;

pub async fn run() -> anyhow::Result<()> {
    // 1. Policy: the NIST SP 800-63B preset is the default; every violation comes back at once.
    let policy = Policy::nist_800_63b();
    // An offline breached list in the Have I Been Pwned download format (here: two entries).
    let pwned = HibpList::from_reader(
        "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:10434004\n\
         E6B6AFBD6D76BB5D2041542D7D2E3FAC5BB05593:2413945\n"
            .as_bytes(),
        1,
    )?;
    step(format!("breached list loaded: {pwned:?}"));
    let ctx = Context::new().username("alice").email("alice@acme.example").word("Acme").breached(&pwned);
    for candidate in ["alice2026", "password1234", "Tangerine lighthouse quartz 1987"] {
        match policy.validate(&SecretString::from(candidate), &ctx) {
            Ok(()) => step(format!("nist: {candidate:?} is acceptable")),
            Err(v) => {
                let codes: Vec<String> = v.iter().map(|x| format!("{}{:?}", x.code, x.params)).collect();
                step(format!("nist: {candidate:?} refused: {}", codes.join(", ")));
            }
        }
    }
    let enterprise = Policy::enterprise();
    if let Err(v) = enterprise.validate(&SecretString::from("tangerine lighthouse"), &Context::new()) {
        step(format!("enterprise preset (composition, 90-day expiry) also wants: {v}"));
    }

    // 2. Hashing: Argon2id with OWASP parameters, PHC strings, upgrade of imported hashes.
    let hasher = Hasher::default();
    let password = SecretString::from("Tangerine lighthouse quartz 1987");
    let stored = hasher.hash(&password)?;
    step(format!("stored hash: {stored}"));
    let v = hasher.verify(&password, &stored)?;
    step(format!("verify: match = {}, needs_rehash = {}", v.matched, v.needs_rehash));
    let imported = "$2b$04$f.yM3ULeqHFsuSNQavO8Te/JBXGwHcKpJD0l6BlsSCnSDTIIZfH.q"; // bcrypt, cost 4
    if let Upgrade::MatchRehashed(new) =
        hasher.verify_and_upgrade(&SecretString::from("correct horse battery staple"), imported)?
    {
        step(format!("imported bcrypt hash verified and upgraded to {}…", new.get(..40).unwrap_or(&new)));
    }

    // 3. Expiry under the enterprise preset, on a manual clock.
    let set = datetime!(2026-01-01 09:00 UTC);
    for days in [30, 80, 91] {
        let status = enterprise.expiry_status(set, false, set + Duration::days(days));
        let what = match status {
            ExpiryStatus::Current { .. } => "current".to_owned(),
            ExpiryStatus::ExpiringSoon { remaining, .. } => {
                format!("expiring in {} days: warn", remaining.whole_days())
            }
            ExpiryStatus::Expired { .. } => "expired: force a change".to_owned(),
            ExpiryStatus::ChangeRequired => "change required".to_owned(),
            _ => "other".to_owned(),
        };
        step(format!("enterprise expiry, day {days}: {what}"));
    }

    // 4. Login throttling: unknown accounts look exactly like known ones.
    let clock = Arc::new(ManualClock::new(set));
    let throttle =
        LoginThrottle::new(LoginThrottleConfig::default(), Arc::new(MemoryThrottleStore::default()), clock)?;
    let guard = LoginGuard::new(hasher, throttle);
    let ip: IpAddr = "203.0.113.9".parse()?;
    let mut last = (None, None);
    for _ in 0..5 {
        let a = guard.attempt("alice", ip, Some(&stored), SecretString::from("guess")).await?;
        let b = guard.attempt("nobody", ip, None, SecretString::from("guess")).await?;
        last = (Some(a), Some(b));
    }
    if let (Some(a), Some(b)) = last {
        step(format!("5th failure, real account: {a:?}"));
        step(format!("5th failure, unknown account: {b:?} (same answer)"));
    }
    if let LoginOutcome::Throttled { retry_after, .. } =
        guard.attempt("alice", ip, Some(&stored), password).await?
    {
        step(format!("even the right password waits {} minutes now", retry_after.whole_minutes()));
    }
    Ok(())
}
