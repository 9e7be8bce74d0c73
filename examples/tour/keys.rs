//! Chapter: palisade-keys — encrypt job history, rotate, read old data, shred an hour, shred a tenant.

use std::sync::Arc;

use palisade::core::{Clock as _, ManualClock, SealContext, SecretString, TenantId};
use palisade::keys::format::Header;
use palisade::keys::vault::{Credential, CredentialVault, MemoryCredentialStore};
use palisade::keys::{KeyManager, LocalKms, MemoryEventSink, MemoryKeyringStore};
use time::macros::datetime;

use crate::step;

pub async fn run() -> anyhow::Result<()> {
    let events = Arc::new(MemoryEventSink::new());
    let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 09:00 UTC)));
    let keys = KeyManager::builder(Arc::new(LocalKms::ephemeral()?), Arc::new(MemoryKeyringStore::new()))
        .clock(clock.clone())
        .events(events.clone())
        .build()?;
    keys.init_global().await?;
    let acme: TenantId = "acme".parse()?;
    let globex: TenantId = "globex".parse()?;
    keys.create_tenant(&acme).await?;
    keys.create_tenant(&globex).await?;
    step(
        "a root key (LocalKms) wraps a global keyring and one keyring per tenant; keys are stored only wrapped",
    );

    let job = SealContext::new(acme.clone(), "job-history", "job-1001");
    let history = br#"{"step":"map contacts","records":1742,"status":"ok"}"#;
    let sealed = keys.seal_double(&job, history).await?;
    let (outer, _) = Header::parse(&sealed)?;
    step(format!(
        "job history sealed twice (tenant layer inside, global layer outside): {} bytes for {} of data, outer key v{} via {:?}",
        sealed.len(),
        history.len(),
        outer.key_version,
        outer.provider
    ));
    let elsewhere = SealContext::new(globex.clone(), "job-history", "job-1001");
    match keys.open(&elsewhere, &sealed).await {
        Ok(_) => anyhow::bail!("another tenant opened acme's data"),
        Err(e) => step(format!("copied to globex it does not open: {e}")),
    }

    let v2 = keys.rotate_tenant(&acme).await?;
    let newer = keys.seal(&job, b"run 2: ok").await?;
    step(format!(
        "rotated acme to v{v2}; new data uses v{}, the old record still opens: {}",
        Header::parse(&newer)?.0.key_version,
        String::from_utf8_lossy(keys.open(&job, &sealed).await?.expose_secret())
    ));
    if let Some(moved) = keys.rewrap(&job, &sealed).await? {
        step(format!(
            "re-wrapped the old record's tenant data key to v{v2} ({} bytes; the plaintext is never re-encrypted, the outer layer is resealed)",
            moved.len()
        ));
    }

    let vault = CredentialVault::new(keys.clone(), Arc::new(MemoryCredentialStore::new()));
    vault.put(&acme, "salesforce", &Credential::ApiKey { key: SecretString::from("sf-live-9c1f") }).await?;
    let cred = vault.get(&acme, "salesforce").await?.ok_or_else(|| anyhow::anyhow!("missing"))?;
    step(format!("a connection credential sealed in the vault; Debug shows {:?}", cred.credential));

    // Per-period keys: one key per tenant, data class and hour, that retention can destroy.
    let hourly = |h: u32| SealContext::new(globex.clone(), "job-history", format!("job-{h}"));
    let at_nine = keys.seal_double_in_period(&hourly(9), b"09:00 run").await?;
    clock.advance(time::Duration::hours(1));
    let at_ten = keys.seal_double_in_period(&hourly(10), b"10:00 run").await?;
    let gone = keys.destroy_periods_before(&globex, Some("job-history"), clock.now()).await?;
    match keys.open(&hourly(9), &at_nine).await {
        Ok(_) => anyhow::bail!("a destroyed period opened"),
        Err(e) => step(format!(
            "retention destroyed {} hourly key(s) of globex ({}): the 09:00 run is gone ({e}); the 10:00 run still opens: {}",
            gone.len(),
            gone.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            String::from_utf8_lossy(keys.open(&hourly(10), &at_ten).await?.expose_secret())
        )),
    }

    keys.destroy_now(&acme).await?;
    match keys.open(&job, &sealed).await {
        Ok(_) => anyhow::bail!("shredded data opened"),
        Err(e) => step(format!("acme's keys destroyed (crypto-shredding): {e}")),
    }
    step(format!(
        "key events for the audit log: {}",
        events.events().iter().map(|e| format!("{:?} {}", e.op, e.owner)).collect::<Vec<_>>().join(", ")
    ));
    Ok(())
}
