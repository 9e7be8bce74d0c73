//! Password expiry: maximum age, a warning window and a forced change, from a [`Policy`].
//!
//! ```
//! use palisade_password::{ExpiryStatus, Policy};
//! use time::{Duration, macros::datetime};
//!
//! let policy = Policy::enterprise(); // 90 days, warning 14 days before
//! let set = datetime!(2026-01-01 00:00 UTC);
//! assert!(matches!(policy.expiry_status(set, false, set + Duration::days(10)), ExpiryStatus::Current { .. }));
//! assert!(matches!(policy.expiry_status(set, false, set + Duration::days(80)), ExpiryStatus::ExpiringSoon { .. }));
//! assert!(matches!(policy.expiry_status(set, false, set + Duration::days(90)), ExpiryStatus::Expired { .. }));
//! assert_eq!(policy.expiry_status(set, true, set), ExpiryStatus::ChangeRequired);
//! // NIST: no periodic expiry.
//! assert_eq!(Policy::nist_800_63b().expiry_status(set, false, set + Duration::days(9999)), ExpiryStatus::Current { expires_at: None });
//! ```

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::policy::Policy;

/// Where a password stands with respect to expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExpiryStatus {
    /// Valid; `expires_at` is when it will expire, if ever.
    Current {
        /// The expiry instant, if the policy has a maximum age.
        #[serde(with = "time::serde::rfc3339::option")]
        expires_at: Option<OffsetDateTime>,
    },
    /// Valid but inside the warning window: prompt the user to change it.
    ExpiringSoon {
        /// The expiry instant.
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
        /// Time left, in whole seconds when serialized.
        #[serde(serialize_with = "seconds")]
        remaining: Duration,
    },
    /// Expired: allow the login only to change the password.
    Expired {
        /// When it expired.
        #[serde(with = "time::serde::rfc3339")]
        expired_at: OffsetDateTime,
    },
    /// An administrator required a change (reset): allow the login only to change it.
    ChangeRequired,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(d.whole_seconds())
}

impl ExpiryStatus {
    /// Whether the user must change the password before doing anything else.
    pub fn must_change(&self) -> bool {
        matches!(self, ExpiryStatus::Expired { .. } | ExpiryStatus::ChangeRequired)
    }
}

impl Policy {
    /// When a password set at `changed_at` expires (none without a maximum age).
    pub fn expires_at(&self, changed_at: OffsetDateTime) -> Option<OffsetDateTime> {
        self.max_age_days.map(|d| changed_at + Duration::days(i64::from(d)))
    }

    /// The expiry status at `now` (from the host's `Clock`) of a password set at `changed_at`;
    /// `force_change` is the account's admin-reset flag.
    pub fn expiry_status(
        &self,
        changed_at: OffsetDateTime,
        force_change: bool,
        now: OffsetDateTime,
    ) -> ExpiryStatus {
        if force_change {
            return ExpiryStatus::ChangeRequired;
        }
        let Some(expires_at) = self.expires_at(changed_at) else {
            return ExpiryStatus::Current { expires_at: None };
        };
        if now >= expires_at {
            return ExpiryStatus::Expired { expired_at: expires_at };
        }
        let remaining = expires_at - now;
        if remaining <= Duration::days(i64::from(self.expiry_warning_days)) {
            ExpiryStatus::ExpiringSoon { expires_at, remaining }
        } else {
            ExpiryStatus::Current { expires_at: Some(expires_at) }
        }
    }

    /// The earliest time a password set at `changed_at` may be changed by its user (the
    /// minimum age); `None` when it may be changed now. A forced change is always allowed.
    pub fn change_allowed_after(
        &self,
        changed_at: OffsetDateTime,
        force_change: bool,
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let earliest = changed_at + Duration::days(i64::from(self.min_age_days?));
        (!force_change && now < earliest).then_some(earliest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn boundaries() {
        let p = Policy::enterprise();
        let t0 = datetime!(2026-03-01 12:00 UTC);
        let exp = t0 + Duration::days(90);
        assert_eq!(
            p.expiry_status(t0, false, exp - Duration::days(14) - Duration::seconds(1)),
            ExpiryStatus::Current { expires_at: Some(exp) }
        );
        assert_eq!(
            p.expiry_status(t0, false, exp - Duration::days(14)),
            ExpiryStatus::ExpiringSoon { expires_at: exp, remaining: Duration::days(14) }
        );
        assert!(!p.expiry_status(t0, false, exp - Duration::seconds(1)).must_change());
        assert!(p.expiry_status(t0, false, exp).must_change());
        assert_eq!(p.change_allowed_after(t0, false, t0 + Duration::hours(23)), Some(t0 + Duration::days(1)));
        assert_eq!(p.change_allowed_after(t0, false, t0 + Duration::days(1)), None);
        assert_eq!(p.change_allowed_after(t0, true, t0), None);
        assert_eq!(Policy::nist_800_63b().change_allowed_after(t0, false, t0), None);
        let json = serde_json::to_value(p.expiry_status(t0, false, exp - Duration::days(1))).unwrap();
        assert_eq!(json["status"], "expiring_soon");
        assert_eq!(json["remaining"], 86400);
    }
}
