//! Chapter: palisade-totp — two-factor authentication with authenticator apps, org-mandated.

use std::sync::Arc;

use palisade::core::sealer::StaticKeySealer;
use palisade::core::{Clock, ManualClock, TenantId, UserId};
use palisade::totp::{
    Backends, LoginFacts, LoginMethod, MfaDecision, MfaMode, MfaPolicy, Totp, TotpConfig, TotpService, secret,
};
use time::{Duration, macros::datetime};

use crate::step;

pub async fn run() -> anyhow::Result<()> {
    let clock = ManualClock::new(datetime!(2026-05-04 09:00 UTC));
    // palisade-keys (or the host's KMS) seals secrets in production; the tour uses an in-memory key.
    let backends = Backends::in_memory(Arc::new(StaticKeySealer::random()?), Arc::new(clock.clone()))?;
    let service = TotpService::new(TotpConfig::new("Acme Integrations"), backends)?;
    let tenant: TenantId = "acme".parse()?;
    let user: UserId = "dana".parse()?;
    let admin: UserId = "it-admin".parse()?;

    let policy: MfaPolicy = serde_json::from_str(
        r#"{"mode": "required", "required_since": "2026-05-01T00:00:00Z", "grace_period_days": 7,
            "sso_exempt": true, "remember_device_days": 30}"#,
    )?;
    anyhow::ensure!(policy.validate().is_empty(), "the tour's policy is valid");
    step(format!("org policy: 2FA {:?}, 7 days of grace, SSO exempt, remember devices 30 days", policy.mode));
    anyhow::ensure!(policy.mode == MfaMode::Required);

    let joined = datetime!(2025-02-01 00:00 UTC);
    let login = |status| LoginFacts {
        method: LoginMethod::Password,
        user_joined_at: joined,
        status,
        remembered_device: false,
    };
    let status = service.status(&tenant, &user).await?;
    step(format!(
        "dana signs in with a password, not enrolled: {:?}",
        policy.decide(&login(&status), clock.now())
    ));
    let sso = LoginFacts { method: LoginMethod::SamlSso, ..login(&status) };
    step(format!("the same user through SAML SSO: {:?}", policy.decide(&sso, clock.now())));

    let pending = service.begin_enrollment(&tenant, &user, "dana@acme.example").await?;
    let png = pending.qr_png()?;
    step(format!(
        "enrollment started: a 160-bit secret, a key URI and a {}-byte QR PNG (also SVG); pending until a code proves possession",
        png.len()
    ));
    // The user's phone: it decodes the same secret from the QR code.
    let phone = Totp::new(secret::decode_base32(pending.secret_base32().expose_secret())?, pending.params())?;
    let now = || clock.now().unix_timestamp();
    let activated = service.confirm_enrollment(&tenant, &user, &phone.code_at(now())?).await?;
    step(format!(
        "first code accepted (step {}): enrollment active, {} recovery codes shown once, stored only as keyed hashes",
        activated.step.step,
        activated.recovery_codes.len()
    ));

    clock.advance(Duration::hours(20));
    let status = service.status(&tenant, &user).await?;
    let decision = policy.decide(&login(&status), clock.now());
    step(format!("next day's login: {decision:?}"));
    anyhow::ensure!(decision == MfaDecision::NeedsCode);
    let code = phone.code_at(now())?;
    let m = service.verify_code(&tenant, &user, &code).await?;
    step(format!("code accepted at step {} (drift {})", m.step, m.drift));
    match service.verify_code(&tenant, &user, &code).await {
        Ok(_) => anyhow::bail!("a replayed code was accepted"),
        Err(e) => step(format!("the same code again (a replay): refused: {e}")),
    }
    let device = service.remember_device(&tenant, &user, &policy).await?;
    let remembered =
        service.check_remembered_device(&tenant, &user, device.token.expose_secret(), &policy).await?;
    let facts = LoginFacts { remembered_device: remembered, ..login(&status) };
    step(format!(
        "\"trust this device\" until {}: next login {:?}",
        device.expires_at.date(),
        policy.decide(&facts, clock.now())
    ));

    clock.advance(Duration::seconds(30));
    for _ in 0..5 {
        let _ = service.verify_code(&tenant, &user, "000000").await;
    }
    match service.verify_code(&tenant, &user, &phone.code_at(now())?).await {
        Ok(_) => anyhow::bail!("a locked-out user got in"),
        Err(e) => step(format!("after 5 wrong codes even the right one is refused: {e}")),
    }
    clock.advance(Duration::minutes(15));
    let first = activated.recovery_codes.first().ok_or_else(|| anyhow::anyhow!("no recovery codes"))?;
    let used = service.verify_recovery_code(&tenant, &user, first.expose_secret()).await?;
    step(format!("15 minutes later a recovery code works once; {} remain", used.remaining));

    let record = service.admin_reset(&tenant, &user, &admin, "lost phone, ticket 4411").await?;
    step(format!(
        "admin reset by {} ({:?}): secret, recovery codes and devices gone",
        record.by, record.reason
    ));
    let status = service.status(&tenant, &user).await?;
    step(format!(
        "dana's next login: {:?} (a new grace period)",
        policy.decide(&login(&status), clock.now())
    ));
    clock.advance(Duration::days(8));
    step(format!("8 days later, still not enrolled: {:?}", policy.decide(&login(&status), clock.now())));
    Ok(())
}
