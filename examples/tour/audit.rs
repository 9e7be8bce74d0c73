//! Chapter: the tamper-evident audit log — record, sign, tamper with one byte, detect it.

use std::sync::Arc;

use palisade::audit::{
    Actor, AuditEvent, AuditStore, CheckpointPolicy, Checkpointing, Ed25519Signer, FileAuditStore,
    FileStoreConfig, Outcome, Query, Target, Verifier, ocsf,
};
use palisade::core::{ManualClock, UserId};
use time::macros::datetime;

use crate::step;

pub async fn run() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("palisade-tour-audit-{}", std::process::id()));
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-01 09:00 UTC)));
    let signer = Arc::new(Ed25519Signer::generate()?);
    let key = signer.verifying_key();
    let policy = CheckpointPolicy { every_entries: 2, every: time::Duration::minutes(5) };
    let store = FileAuditStore::open(
        &dir,
        FileStoreConfig::default(),
        clock.clone(),
        Some(Checkpointing { signer, policy }),
    )?;
    step(format!("file store in {}; checkpoints signed with Ed25519 key {}", dir.display(), key.key_id()));

    let alice: UserId = "alice".parse()?;
    let acme = "acme".parse()?;
    let events = vec![
        AuditEvent::new(
            clock.as_ref(),
            "acme".parse()?,
            Actor::user(&alice).with_ip("203.0.113.7".parse()?),
            "user.login.succeeded",
        )?,
        AuditEvent::new(clock.as_ref(), "acme".parse()?, Actor::user(&alice), "role.assigned")?
            .with_target(Target::new("user", "bob").with_name("Bob")),
        AuditEvent::new(clock.as_ref(), "acme".parse()?, Actor::user(&alice), "user.mfa.reset")?
            .with_target(Target::new("user", "carol"))
            .with_outcome(Outcome::failure("carol has no second factor")),
        AuditEvent::new(clock.as_ref(), "acme".parse()?, Actor::system("key-rotator"), "key.rotated")?,
    ];
    let stored = store.append(events).await?;
    store.checkpoint(&acme).await?;
    step(format!(
        "recorded {} events (durable on return); chain head {}",
        stored.len(),
        stored.last().map(|e| e.hash.to_hex()).unwrap_or_default()
    ));

    let page = store.query(&Query::new("acme".parse()?).action_prefix("user")).await?;
    step(format!("query action=user.*: {} events", page.entries.len()));
    if let Some(e) = page.entries.first() {
        let o = ocsf::to_ocsf(&e.event, Some(e.seq));
        let field = |k: &str| o.get(k).map(ToString::to_string).unwrap_or_default();
        step(format!(
            "as OCSF for a SIEM: class {} ({}), activity {}",
            field("class_uid"),
            field("class_name"),
            field("activity_name")
        ));
    }
    drop(store);

    let report = Verifier::new().with_key(key).verify_files(std::slice::from_ref(&dir))?;
    step(format!(
        "verify: intact = {}, {} checkpoint(s) verified",
        report.intact,
        report.tenants.first().map_or(0, |t| t.checkpoints_verified)
    ));

    // An insider edits one byte: bob becomes rob.
    let segment = dir.join("acme.00000000000000000001.jsonl");
    let mut bytes = std::fs::read(&segment)?;
    if let Some(i) = bytes.windows(5).position(|w| w == b"\"bob\"")
        && let Some(b) = bytes.get_mut(i + 1)
    {
        *b = b'r';
    }
    std::fs::write(&segment, bytes)?;
    let report = Verifier::new().with_key(key).verify_files(std::slice::from_ref(&dir))?;
    match &report.problem {
        Some(p) => step(format!("after changing one byte: {p}")),
        None => step("after changing one byte: not detected (this should not happen)"),
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
