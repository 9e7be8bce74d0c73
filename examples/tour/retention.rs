//! Chapter: retention periods, legal holds, purge and crypto-shredding (palisade-retention).

use palisade::core::ManualClock;
use palisade::retention::{
    CancelToken, MemoryShredder, MemoryStore, Period, PeriodKey, Policy, PurgeEngine, PurgeOptions, Scope,
};
use time::{Duration, macros::datetime};

use crate::step;

const POLICY: &str = r#"
classes = ["job_history"]
default_plan = "base"
[plans.base.job_history]
default = "30d"
min = "30d"
max = "30d"
[plans.enterprise.job_history]
default = "30d"
min = "1h"
max = "90d"
[tenants.acme]
plan = "enterprise"
periods = { job_history = "60d" }
[exceptions.job_history]
hard_max = "90d"
[[holds]]
id = "case-17"
tenant = "globex"
placed_by = "counsel@example.com"
reason = "litigation"
placed_at = "2026-05-01T09:00:00Z"
"#;

pub async fn run() -> anyhow::Result<()> {
    let mut policy = Policy::from_toml(POLICY)?;
    let acme = "acme".parse()?;
    match policy.set_tenant_period(&acme, "job_history", Period::days(120)) {
        Err(e) => step(format!("a tenant asking for 120 days is refused: {e}")),
        Ok(()) => anyhow::bail!("out-of-bounds period accepted"),
    }
    for c in policy.preview_plan_change(&acme, "base")? {
        step(format!(
            "downgrading acme to base would change {}: {} -> {} (reported before it applies)",
            c.class, c.from, c.to
        ));
    }

    let now = datetime!(2026-06-01 00:00 UTC);
    let clock = ManualClock::new(now);
    let store = MemoryStore::new();
    for tenant in ["acme", "bravo", "globex"] {
        let scope = Scope { tenant: tenant.parse()?, class: "job_history".into() };
        for day in 0..80 {
            let ended = now - Duration::days(day);
            store.insert(
                scope.clone(),
                format!("{tenant}-{day}"),
                ended - Duration::hours(1),
                Some(ended),
                day == 70,
            )?;
        }
    }
    let shredder = MemoryShredder::new();
    shredder.add(PeriodKey {
        key_id: "bravo/job_history/2026-02-01T00".into(),
        tenant: "bravo".parse()?,
        class: "job_history".into(),
        not_before: datetime!(2026-02-01 00:00 UTC),
        not_after: datetime!(2026-02-01 01:00 UTC),
    });
    let engine = PurgeEngine::new(&policy, &store, &clock).with_shredder(&shredder);
    let plan = engine.plan(now, 100).await?;
    for s in &plan.scopes {
        step(format!(
            "plan {}: period {}, would delete {} (kept: {} needed, {} held{})",
            s.tenant,
            s.period.as_deref().unwrap_or("-"),
            s.deleted,
            s.kept_needed,
            s.kept_held,
            s.held_by.as_ref().map(|h| format!(", legal hold {h}")).unwrap_or_default()
        ));
    }

    // Cancel after the first batch (as a crash would stop it), then resume with the same run id.
    let cancel = CancelToken::new();
    let opts = PurgeOptions { run_id: "nightly".into(), batch_size: 10, ..PurgeOptions::default() };
    let stop = |_: &palisade::retention::Progress<'_>| cancel.cancel();
    let first = engine.run(now, &opts, Some(&stop), Some(&cancel)).await?;
    step(format!("run stopped after {} deletions (cancelled: {})", first.total_deleted, first.cancelled));
    let done = engine.run(now, &opts, None, None).await?;
    step(format!(
        "resumed run: {} deleted in total, nothing counted twice; {} records remain",
        done.total_deleted,
        store.len()
    ));
    for k in &done.keys_destroyed {
        step(format!(
            "crypto-shredded key {} (its data is unreadable everywhere, backups included)",
            k.key_id
        ));
    }
    step(format!(
        "audit event: {}",
        serde_json::to_string(done.scopes.first().ok_or_else(|| anyhow::anyhow!("no scope"))?)?
    ));
    Ok(())
}
