#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! Policy validation, clamping, holds, exceptions and the decision (with a property test).

use palisade_core::{Clock, ManualClock, TenantId};
use palisade_retention::{Decision, Error, KeepReason, Period, Policy, RecordMeta};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime, macros::datetime};

const POLICY: &str = r#"
classes = ["job_history", "job_payloads"]
default_plan = "base"

[plans.base.job_history]
default = "30d"
min = "30d"
max = "30d"
[plans.base.job_payloads]
default = "do_not_store"
min = "do_not_store"
max = "do_not_store"

[plans.enterprise.job_history]
default = "30d"
min = "1h"
max = "90d"
[plans.enterprise.job_payloads]
default = "7d"
min = "do_not_store"
max = "30d"

[tenants.acme]
plan = "enterprise"
periods = { job_history = "60d", job_payloads = "12h" }

[exceptions.job_history]
hard_max = "180d"

[[holds]]
id = "case-7"
tenant = "globex"
class = "job_history"
records = ["job-9"]
placed_by = "counsel@example.com"
reason = "litigation"
placed_at = "2026-01-01T00:00:00Z"
"#;

fn t(s: &str) -> TenantId {
    s.parse().unwrap()
}

fn rec<'a>(
    tenant: &'a TenantId,
    class: &'a str,
    id: &'a str,
    ended: Option<OffsetDateTime>,
    needed: bool,
) -> RecordMeta<'a> {
    let started = ended.unwrap_or(datetime!(2026-01-01 00:00 UTC)) - Duration::hours(1);
    RecordMeta { tenant, class, id, started_at: started, ended_at: ended, needed }
}

#[test]
fn periods_parse_and_print() {
    assert_eq!("12h".parse::<Period>().unwrap(), Period::Hours(12));
    assert_eq!("30d".parse::<Period>().unwrap(), Period::days(30));
    assert_eq!("do_not_store".parse::<Period>().unwrap(), Period::DoNotStore);
    for bad in ["", "d", "0h", "-1d", "1.5d", "1w", "30 d", "+3h", "99999999999d"] {
        assert!(bad.parse::<Period>().is_err(), "{bad}");
    }
    assert_eq!(Period::Hours(48).to_string(), "2d");
    assert_eq!(Period::Hours(5).to_string(), "5h");
}

#[test]
fn effective_periods_follow_plan_and_tenant() {
    let p = Policy::from_toml(POLICY).unwrap();
    assert_eq!(p.effective_period(&t("acme"), "job_history"), Some(Period::days(60)));
    assert_eq!(p.effective_period(&t("acme"), "job_payloads"), Some(Period::Hours(12)));
    assert_eq!(p.effective_period(&t("other"), "job_history"), Some(Period::days(30)));
    assert_eq!(p.effective_period(&t("other"), "job_payloads"), Some(Period::DoNotStore));
    assert_eq!(p.effective_period(&t("other"), "audit_log"), None);
}

#[test]
fn validation_reports_every_problem_with_bounds() {
    let bad = POLICY
        .replace("job_history = \"60d\"", "job_history = \"120d\"")
        .replace("default_plan = \"base\"", "default_plan = \"gold\"");
    let Err(Error::InvalidPolicy(problems)) = Policy::from_toml(&bad) else { panic!("accepted") };
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("120d") && p.contains("1h..=90d")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("gold")));
    assert!(
        Policy::from_toml(&POLICY.replace("classes = [", "clases = [")).is_err(),
        "unknown field accepted"
    );
}

#[test]
fn tenant_setting_checked_against_plan() {
    let mut p = Policy::from_toml(POLICY).unwrap();
    let err = p.set_tenant_period(&t("acme"), "job_history", Period::days(91)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("1h..=90d") && msg.contains("enterprise") && msg.contains("91d"), "{msg}");
    // Base plan: fixed at 30 days.
    assert!(p.set_tenant_period(&t("small"), "job_history", Period::days(29)).is_err());
    p.set_tenant_period(&t("acme"), "job_history", Period::Hours(1)).unwrap();
    assert_eq!(p.effective_period(&t("acme"), "job_history"), Some(Period::Hours(1)));
}

#[test]
fn downgrade_clamps_and_reports_first() {
    let mut p = Policy::from_toml(POLICY).unwrap();
    let preview = p.preview_plan_change(&t("acme"), "base").unwrap();
    // Nothing changed yet.
    assert_eq!(p.effective_period(&t("acme"), "job_history"), Some(Period::days(60)));
    assert_eq!(preview.len(), 2);
    let h = preview.iter().find(|c| c.class == "job_history").unwrap();
    assert_eq!((h.from, h.to, h.shortens), (Period::days(60), Period::days(30), true));
    let applied = p.change_plan(&t("acme"), "base").unwrap();
    assert_eq!(applied, preview);
    assert_eq!(p.effective_period(&t("acme"), "job_history"), Some(Period::days(30)));
    assert_eq!(p.effective_period(&t("acme"), "job_payloads"), Some(Period::DoNotStore));
    assert!(p.change_plan(&t("acme"), "nope").is_err());
}

#[test]
fn clock_starts_when_the_record_ends() {
    let p = Policy::from_toml(POLICY).unwrap();
    let clock = ManualClock::new(datetime!(2026-03-01 00:00 UTC));
    let other = t("other");
    let ended = clock.now() - Duration::days(29);
    let mut r = rec(&other, "job_history", "j1", Some(ended), false);
    r.started_at = ended - Duration::days(400);
    assert_eq!(p.decide(&r, clock.now()), Decision::Keep(KeepReason::NotExpired));
    clock.advance(Duration::days(1) - Duration::seconds(1));
    assert_eq!(p.decide(&r, clock.now()), Decision::Keep(KeepReason::NotExpired));
    clock.advance(Duration::seconds(1));
    assert_eq!(p.decide(&r, clock.now()), Decision::Delete);
    // Running: never deleted without a hard max... job_history has one (180d from start).
    let running = RecordMeta { ended_at: None, started_at: clock.now() - Duration::days(179), ..r.clone() };
    assert_eq!(p.decide(&running, clock.now()), Decision::Keep(KeepReason::Running));
    clock.advance(Duration::days(1));
    assert_eq!(p.decide(&running, clock.now()), Decision::Delete);
    // job_payloads has no exception: running payloads stay.
    let run_payload = RecordMeta {
        class: "job_payloads",
        ended_at: None,
        started_at: clock.now() - Duration::days(999),
        ..r
    };
    assert_eq!(p.decide(&run_payload, clock.now()), Decision::Keep(KeepReason::Running));
}

#[test]
fn do_not_store_deletes_once_ended() {
    let p = Policy::from_toml(POLICY).unwrap();
    let now = datetime!(2026-03-01 00:00 UTC);
    let x = t("x");
    assert_eq!(p.decide(&rec(&x, "job_payloads", "p", Some(now), false), now), Decision::Delete);
    assert_eq!(
        p.decide(&rec(&x, "job_payloads", "p", Some(now + Duration::seconds(1)), false), now),
        Decision::Keep(KeepReason::NotExpired)
    );
}

#[test]
fn needed_records_kept_up_to_hard_max() {
    let p = Policy::from_toml(POLICY).unwrap();
    let now = datetime!(2026-09-01 00:00 UTC);
    let x = t("x");
    let r = rec(&x, "job_history", "failed-job", Some(now - Duration::days(100)), true);
    assert_eq!(p.decide(&r, now), Decision::Keep(KeepReason::Needed));
    let r = rec(&x, "job_history", "failed-job", Some(now - Duration::days(180)), true);
    assert_eq!(p.decide(&r, now), Decision::Delete);
}

#[test]
fn holds_suspend_until_released() {
    let mut p = Policy::from_toml(POLICY).unwrap();
    let now = datetime!(2026-09-01 00:00 UTC);
    let g = t("globex");
    let old = Some(now - Duration::days(365));
    assert_eq!(
        p.decide(&rec(&g, "job_history", "job-9", old, false), now),
        Decision::Keep(KeepReason::Held { hold: "case-7".into() })
    );
    assert_eq!(p.decide(&rec(&g, "job_history", "job-10", old, false), now), Decision::Delete);
    // Tenant-wide hold.
    p.holds.push(palisade_retention::LegalHold {
        id: "tenant-wide".into(),
        tenant: g.clone(),
        class: None,
        records: None,
        placed_by: "dpo".into(),
        reason: "regulator request".into(),
        placed_at: now - Duration::days(1),
        released_at: Some(now + Duration::days(10)),
        released_by: Some("dpo".into()),
    });
    p.validate().unwrap();
    assert!(matches!(
        p.decide(&rec(&g, "job_history", "job-10", old, false), now),
        Decision::Keep(KeepReason::Held { .. })
    ));
    assert!(p.scope_hold(&g, "job_payloads", now).is_some());
    assert_eq!(
        p.decide(&rec(&g, "job_history", "job-10", old, false), now + Duration::days(10)),
        Decision::Delete
    );
}

#[test]
fn json_policy_loads() {
    let j = r#"{"classes":["logs"],"plans":{"p":{"logs":{"default":"2h","min":"1h","max":"3h"}}},"default_plan":"p"}"#;
    let p = Policy::from_json(j).unwrap();
    assert_eq!(p.effective_period(&t("a"), "logs"), Some(Period::Hours(2)));
}

proptest! {
    /// No record younger than its period (counted from its end) is ever deleted, whatever the
    /// tenant's setting, the needed flag and the clock.
    #[test]
    fn never_deletes_young_records(
        hours in 1u32..24 * 90,
        ended_ago_secs in -86_400i64..(24 * 200 * 3600),
        needed: bool,
        advance_secs in 0i64..(24 * 3600),
        acme: bool,
    ) {
        let mut p = Policy::from_toml(POLICY).unwrap();
        let tenant = if acme { t("acme") } else { t("zeta") };
        let _ = p.set_tenant_period(&tenant, "job_history", Period::Hours(hours));
        let clock = ManualClock::new(datetime!(2026-05-01 00:00 UTC));
        let ended = clock.now() - Duration::seconds(ended_ago_secs);
        clock.advance(Duration::seconds(advance_secs));
        let r = RecordMeta { tenant: &tenant, class: "job_history", id: "r", started_at: ended - Duration::hours(2), ended_at: Some(ended), needed };
        let period = p.effective_period(&tenant, "job_history").unwrap().duration();
        if p.decide(&r, clock.now()) == Decision::Delete {
            prop_assert!(clock.now() - ended >= period);
            if needed { prop_assert!(clock.now() - ended >= Duration::days(180)); }
        }
    }
}
