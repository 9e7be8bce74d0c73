//! The organization mandate over time, with a `ManualClock`-style fixed instants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use palisade_core::UserId;
use palisade_totp::*;
use time::{Duration, OffsetDateTime, macros::datetime};

const MANDATE: OffsetDateTime = datetime!(2026-03-01 00:00 UTC);

fn required(grace_days: u32) -> MfaPolicy {
    MfaPolicy {
        mode: MfaMode::Required,
        required_since: Some(MANDATE),
        grace_period_days: grace_days,
        ..MfaPolicy::default()
    }
}

fn status(state: TotpState) -> TotpStatus {
    TotpStatus { state, last_reset: None }
}

fn facts(status: &TotpStatus, joined: OffsetDateTime) -> LoginFacts<'_> {
    LoginFacts { method: LoginMethod::Password, user_joined_at: joined, status, remembered_device: false }
}

#[test]
fn optional_policy() {
    let p = MfaPolicy::default();
    let none = status(TotpState::NotEnrolled);
    let now = datetime!(2026-06-01 00:00 UTC);
    let old = datetime!(2020-01-01 00:00 UTC);
    assert_eq!(p.decide(&facts(&none, old), now), MfaDecision::Done { reason: DoneReason::NotRequired });
    // A user who enrolled voluntarily is asked for the code.
    let active = status(TotpState::Active { since: old });
    assert_eq!(p.decide(&facts(&active, old), now), MfaDecision::NeedsCode);
    // Remembered device only counts when the policy enables it.
    let remembered = LoginFacts { remembered_device: true, ..facts(&active, old) };
    assert_eq!(p.decide(&remembered, now), MfaDecision::NeedsCode);
    let p30 = MfaPolicy { remember_device_days: 30, ..p };
    assert_eq!(p30.decide(&remembered, now), MfaDecision::Done { reason: DoneReason::RememberedDevice });
}

#[test]
fn mandate_grace_for_existing_members_then_overdue() {
    let p = required(7);
    let none = status(TotpState::NotEnrolled);
    let member = datetime!(2025-01-01 00:00 UTC);
    let deadline = MANDATE + Duration::days(7);
    for now in [MANDATE, MANDATE + Duration::days(3), deadline - Duration::seconds(1)] {
        assert_eq!(p.decide(&facts(&none, member), now), MfaDecision::MustEnroll { deadline }, "{now}");
    }
    for now in [deadline, deadline + Duration::days(100)] {
        assert_eq!(p.decide(&facts(&none, member), now), MfaDecision::EnrollmentOverdue { deadline });
    }
    // A pending (unconfirmed) enrollment does not count as enrolled.
    let pending = status(TotpState::Pending { expires_at: deadline });
    assert_eq!(p.decide(&facts(&pending, member), deadline), MfaDecision::EnrollmentOverdue { deadline });
    // Enrolled: a code, whatever the date.
    let active = status(TotpState::Active { since: MANDATE });
    assert_eq!(p.decide(&facts(&active, member), deadline + Duration::days(1)), MfaDecision::NeedsCode);
}

#[test]
fn new_joiners_get_their_own_grace() {
    let p = required(7);
    let none = status(TotpState::NotEnrolled);
    let joined = datetime!(2026-04-10 12:00 UTC);
    let deadline = joined + Duration::days(7);
    assert_eq!(p.decide(&facts(&none, joined), joined), MfaDecision::MustEnroll { deadline });
    assert_eq!(p.decide(&facts(&none, joined), deadline), MfaDecision::EnrollmentOverdue { deadline });
}

#[test]
fn admin_reset_starts_a_new_grace_period() {
    let p = required(7);
    let reset_at = datetime!(2026-05-01 08:00 UTC);
    let st = TotpStatus {
        state: TotpState::NotEnrolled,
        last_reset: Some(ResetRecord {
            at: reset_at,
            by: UserId::new("admin").unwrap(),
            reason: "lost phone".into(),
        }),
    };
    let member = datetime!(2025-01-01 00:00 UTC);
    let deadline = reset_at + Duration::days(7);
    assert_eq!(p.decide(&facts(&st, member), reset_at), MfaDecision::MustEnroll { deadline });
    assert_eq!(p.decide(&facts(&st, member), deadline), MfaDecision::EnrollmentOverdue { deadline });
}

#[test]
fn zero_grace_means_enroll_at_next_login_never_overdue() {
    let p = required(0);
    let none = status(TotpState::NotEnrolled);
    let member = datetime!(2025-01-01 00:00 UTC);
    let now = MANDATE + Duration::days(30);
    assert_eq!(p.decide(&facts(&none, member), now), MfaDecision::MustEnroll { deadline: MANDATE });
}

#[test]
fn sso_exemption() {
    let none = status(TotpState::NotEnrolled);
    let member = datetime!(2025-01-01 00:00 UTC);
    let now = MANDATE + Duration::days(30);
    let sso = LoginFacts { method: LoginMethod::SamlSso, ..facts(&none, member) };
    let exempt = MfaPolicy { sso_exempt: true, ..required(7) };
    assert_eq!(exempt.decide(&sso, now), MfaDecision::Done { reason: DoneReason::SsoExempt });
    // Password logins of the same org are not exempt; SSO is not exempt unless configured.
    assert!(matches!(exempt.decide(&facts(&none, member), now), MfaDecision::EnrollmentOverdue { .. }));
    assert!(matches!(required(7).decide(&sso, now), MfaDecision::EnrollmentOverdue { .. }));
}

#[test]
fn policy_loads_and_validates() {
    let p: MfaPolicy = serde_json::from_str(
        r#"{"mode": "required", "required_since": "2026-03-01T00:00:00Z", "grace_period_days": 14, "sso_exempt": true, "remember_device_days": 30}"#,
    )
    .unwrap();
    assert!(p.validate().is_empty());
    assert_eq!(p.required_since, Some(MANDATE));
    let bad = MfaPolicy {
        mode: MfaMode::Required,
        required_since: None,
        grace_period_days: 1000,
        sso_exempt: false,
        remember_device_days: 9999,
    };
    assert_eq!(bad.validate().len(), 3);
    assert!(serde_json::from_str::<MfaPolicy>(r#"{"mode": "mandatory"}"#).is_err());
    assert!(serde_json::from_str::<MfaPolicy>(r#"{"grace_days": 3}"#).is_err());
    // Defaults are the conservative choice: optional, no SSO exemption, no remembered devices.
    let d = MfaPolicy::default();
    assert!(!d.sso_exempt && d.remember_device_days == 0 && d.mode == MfaMode::Optional);
}
