//! Per-organization session policy: idle timeout, absolute lifetime, the range users may pick
//! their own idle timeout from, concurrent-session limit, re-authentication window.
//!
//! Durations are written as text (`"15m"`, `"7d"`, `"1h30m"`, units `s`, `m`, `h`, `d`) or as a
//! number of seconds. The defaults are the reference values of the platform palisade models: a
//! 7-day idle timeout that a workspace admin may set anywhere from 15 minutes to 14 days.
//!
//! ```
//! use palisade_session::SessionPolicy;
//! use time::Duration;
//!
//! let policy: SessionPolicy = toml::from_str(r#"
//!     idle_timeout = "8h"
//!     absolute_lifetime = "7d"
//!     max_concurrent_sessions = 5
//!     on_limit = "refuse"
//! "#).unwrap();
//! policy.validate().unwrap();
//! // A user who picked 30 minutes gets 30 minutes; one who picked 1 minute gets the floor.
//! assert_eq!(policy.effective_idle_timeout(Some(Duration::minutes(30))), Duration::minutes(30));
//! assert_eq!(policy.effective_idle_timeout(Some(Duration::minutes(1))), Duration::minutes(15));
//! assert_eq!(policy.effective_idle_timeout(None), Duration::hours(8));
//! ```

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;

use palisade_core::TenantId;
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::error::{Error, Result};

/// The shortest idle timeout an organization may set (and the lowest bound of the users' range).
pub const MIN_IDLE_TIMEOUT: Duration = Duration::minutes(15);
/// The longest idle timeout an organization may set (and the highest bound of the users' range).
pub const MAX_IDLE_TIMEOUT: Duration = Duration::days(14);
/// The longest absolute lifetime accepted.
pub const MAX_ABSOLUTE_LIFETIME: Duration = Duration::days(365);
/// The highest concurrent-session limit accepted.
pub const MAX_CONCURRENT_LIMIT: u32 = 10_000;

/// What happens when a user with the maximum number of sessions signs in again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OverflowAction {
    /// Revoke the oldest sessions to make room (the default: a user is never locked out).
    #[default]
    EvictOldest,
    /// Refuse the new sign-in with [`Error::SessionLimitReached`].
    Refuse,
}

/// One organization's session rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionPolicy {
    /// How long a session lives without activity, unless the user picked another value.
    #[serde(with = "duration_text")]
    pub idle_timeout: Duration,
    /// How long a session lives from sign-in, however active it is.
    #[serde(with = "duration_text")]
    pub absolute_lifetime: Duration,
    /// The shortest idle timeout a user may pick in account settings.
    #[serde(with = "duration_text")]
    pub user_idle_timeout_min: Duration,
    /// The longest idle timeout a user may pick in account settings.
    #[serde(with = "duration_text")]
    pub user_idle_timeout_max: Duration,
    /// At most this many concurrent sessions per user (none = unlimited).
    pub max_concurrent_sessions: Option<u32>,
    /// What to do when the limit is reached.
    pub on_limit: OverflowAction,
    /// Sensitive actions need an authentication within this window.
    #[serde(with = "duration_text")]
    pub reauth_window: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::days(7),
            absolute_lifetime: Duration::days(30),
            user_idle_timeout_min: MIN_IDLE_TIMEOUT,
            user_idle_timeout_max: MAX_IDLE_TIMEOUT,
            max_concurrent_sessions: None,
            on_limit: OverflowAction::EvictOldest,
            reauth_window: Duration::minutes(15),
        }
    }
}

/// One problem found by a `validate()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

pub(crate) fn problem(field: &'static str, message: String) -> PolicyProblem {
    PolicyProblem { field, message }
}

impl SessionPolicy {
    /// Checks the policy and returns every problem at once.
    pub fn validate(&self) -> Result<()> {
        let mut p = Vec::new();
        let range = format!(
            "between {} and {}",
            duration_text::format(MIN_IDLE_TIMEOUT),
            duration_text::format(MAX_IDLE_TIMEOUT)
        );
        for (field, value) in [
            ("idle_timeout", self.idle_timeout),
            ("user_idle_timeout_min", self.user_idle_timeout_min),
            ("user_idle_timeout_max", self.user_idle_timeout_max),
        ] {
            if value < MIN_IDLE_TIMEOUT || value > MAX_IDLE_TIMEOUT {
                p.push(problem(field, format!("is {}, it must be {range}", duration_text::format(value))));
            }
        }
        if self.user_idle_timeout_min > self.user_idle_timeout_max {
            p.push(problem(
                "user_idle_timeout_min",
                "is above user_idle_timeout_max: swap them or widen the range".to_owned(),
            ));
        } else if self.idle_timeout < self.user_idle_timeout_min
            || self.idle_timeout > self.user_idle_timeout_max
        {
            p.push(problem(
                "idle_timeout",
                "lies outside the users' range [user_idle_timeout_min, user_idle_timeout_max]: the default must be a value users could pick".to_owned(),
            ));
        }
        if self.absolute_lifetime < self.idle_timeout {
            p.push(problem(
                "absolute_lifetime",
                format!(
                    "is {}, shorter than idle_timeout {}: it must be at least the idle timeout",
                    duration_text::format(self.absolute_lifetime),
                    duration_text::format(self.idle_timeout)
                ),
            ));
        }
        if self.absolute_lifetime > MAX_ABSOLUTE_LIFETIME {
            p.push(problem(
                "absolute_lifetime",
                format!("must be at most {}", duration_text::format(MAX_ABSOLUTE_LIFETIME)),
            ));
        }
        match self.max_concurrent_sessions {
            Some(0) => p.push(problem(
                "max_concurrent_sessions",
                "is 0, which would lock every user out: use at least 1, or leave it unset".to_owned(),
            )),
            Some(n) if n > MAX_CONCURRENT_LIMIT => p.push(problem(
                "max_concurrent_sessions",
                format!("is {n}, the limit is {MAX_CONCURRENT_LIMIT}: leave it unset for no limit"),
            )),
            _ => {}
        }
        if self.reauth_window < Duration::minutes(1) || self.reauth_window > Duration::days(1) {
            p.push(problem(
                "reauth_window",
                format!("is {}, it must be between 1m and 1d", duration_text::format(self.reauth_window)),
            ));
        }
        if p.is_empty() { Ok(()) } else { Err(Error::InvalidConfig(p)) }
    }

    /// The idle timeout a session gets: the user's choice (or the organization's default)
    /// clamped to the users' range, and never beyond the absolute lifetime.
    pub fn effective_idle_timeout(&self, user_choice: Option<Duration>) -> Duration {
        let chosen = user_choice.unwrap_or(self.idle_timeout);
        let lo = self.user_idle_timeout_min.min(self.user_idle_timeout_max);
        chosen.clamp(lo, self.user_idle_timeout_max).min(self.absolute_lifetime)
    }
}

/// Where the session manager finds each organization's policy. Called on every validation, so
/// implementations answer from memory (a host keeps it in sync with its database).
pub trait PolicySource: Send + Sync + fmt::Debug {
    /// The policy of `tenant`.
    fn policy(&self, tenant: &TenantId) -> SessionPolicy;
}

/// A [`PolicySource`] held in memory: a default plus per-tenant overrides that can be changed at
/// any time (a change applies to existing sessions at their next validation). Reads take no
/// lock (the map is swapped whole on the rare change), so validations on many threads do not
/// contend here.
///
/// ```
/// use palisade_session::{Policies, PolicySource, SessionPolicy};
/// use time::Duration;
///
/// let policies = Policies::new(SessionPolicy::default());
/// let acme = "acme".parse().unwrap();
/// policies.set(&acme, SessionPolicy { idle_timeout: Duration::hours(1), ..SessionPolicy::default() })?;
/// assert_eq!(policies.policy(&acme).idle_timeout, Duration::hours(1));
/// # Ok::<(), palisade_session::Error>(())
/// ```
#[derive(Debug)]
pub struct Policies {
    default: SessionPolicy,
    /// foldhash (randomly seeded per process): read on every validation, and its keys are the
    /// host's tenant ids, never chosen by a client.
    by_tenant: ArcSwap<foldhash::HashMap<TenantId, SessionPolicy>>,
}

impl Policies {
    /// Every tenant gets `default` until given its own policy. (Validate `default` first.)
    pub fn new(default: SessionPolicy) -> Self {
        Self { default, by_tenant: ArcSwap::from_pointee(foldhash::HashMap::default()) }
    }

    /// Sets `tenant`'s policy after validating it; an invalid policy changes nothing.
    pub fn set(&self, tenant: &TenantId, policy: SessionPolicy) -> Result<()> {
        policy.validate()?;
        self.by_tenant.rcu(|map| {
            let mut map = foldhash::HashMap::clone(map);
            map.insert(tenant.clone(), policy);
            Arc::new(map)
        });
        Ok(())
    }

    /// Returns `tenant` to the default policy.
    pub fn reset(&self, tenant: &TenantId) {
        self.by_tenant.rcu(|map| {
            let mut map = foldhash::HashMap::clone(map);
            map.remove(tenant);
            Arc::new(map)
        });
    }
}

impl Default for Policies {
    fn default() -> Self {
        Self::new(SessionPolicy::default())
    }
}

impl PolicySource for Policies {
    fn policy(&self, tenant: &TenantId) -> SessionPolicy {
        self.by_tenant.load().get(tenant).copied().unwrap_or(self.default)
    }
}

/// Serde for durations written as `"1d2h30m15s"` or as a whole number of seconds.
pub mod duration_text {
    use serde::{Deserialize, Deserializer, Serializer, de};
    use time::Duration;

    /// Parses `"90s"`, `"15m"`, `"1h30m"`, `"7d"` (units `d`, `h`, `m`, `s`, each at most once,
    /// largest first) into a non-negative duration.
    pub fn parse(text: &str) -> Option<Duration> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        if let Ok(secs) = text.parse::<u32>() {
            return Some(Duration::seconds(i64::from(secs)));
        }
        let mut total: i64 = 0;
        let mut number: Option<i64> = None;
        let mut last_unit = u8::MAX;
        for b in text.bytes() {
            if b.is_ascii_digit() {
                let n = number.unwrap_or(0).checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
                if n > 1_000_000_000 {
                    return None;
                }
                number = Some(n);
                continue;
            }
            let (rank, secs) = match b {
                b'd' => (3, 86_400),
                b'h' => (2, 3_600),
                b'm' => (1, 60),
                b's' => (0, 1),
                _ => return None,
            };
            if rank >= last_unit {
                return None;
            }
            last_unit = rank;
            total = total.checked_add(number.take()?.checked_mul(secs)?)?;
        }
        if number.is_some() {
            return None;
        }
        Some(Duration::seconds(total))
    }

    /// Writes a duration the way [`parse`] reads it (`"0s"` for zero or negative values).
    pub fn format(d: Duration) -> String {
        let mut secs = d.whole_seconds().max(0);
        if secs == 0 {
            return "0s".to_owned();
        }
        let mut out = String::new();
        for (unit, size) in [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)] {
            let n = secs / size;
            if n > 0 {
                out.push_str(&n.to_string());
                out.push(unit);
                secs -= n * size;
            }
        }
        out
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(u32),
        Text(String),
    }

    /// Serde `deserialize_with`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Seconds(s) => Ok(Duration::seconds(i64::from(s))),
            Raw::Text(t) => parse(&t).ok_or_else(|| {
                de::Error::custom(format!(
                    "{t:?} is not a duration: write e.g. \"15m\", \"8h\", \"7d\", \"1h30m\" or a number of seconds"
                ))
            }),
        }
    }

    /// Serde `serialize_with`.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn defaults_are_the_reference_values_and_valid() {
        let p = SessionPolicy::default();
        assert_eq!(p.idle_timeout, Duration::days(7));
        assert_eq!(
            (p.user_idle_timeout_min, p.user_idle_timeout_max),
            (Duration::minutes(15), Duration::days(14))
        );
        assert!(p.validate().is_ok());
    }

    #[test]
    fn validate_reports_every_problem() {
        let p = SessionPolicy {
            idle_timeout: Duration::minutes(5),
            absolute_lifetime: Duration::minutes(1),
            user_idle_timeout_min: Duration::days(15),
            user_idle_timeout_max: Duration::days(1),
            max_concurrent_sessions: Some(0),
            on_limit: OverflowAction::Refuse,
            reauth_window: Duration::seconds(10),
        };
        let Err(Error::InvalidConfig(problems)) = p.validate() else { panic!("accepted") };
        let fields: Vec<_> = problems.iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "idle_timeout",
                "user_idle_timeout_min",
                "user_idle_timeout_min",
                "absolute_lifetime",
                "max_concurrent_sessions",
                "reauth_window"
            ]
        );
        assert!(problems[0].to_string().contains("between 15m and 14d"), "{}", problems[0]);
    }

    #[test]
    fn deserializes_strictly() {
        let p: SessionPolicy =
            serde_json::from_str(r#"{"idle_timeout":"1h30m","reauth_window":600}"#).unwrap();
        assert_eq!(p.idle_timeout, Duration::minutes(90));
        assert_eq!(p.reauth_window, Duration::minutes(10));
        assert_eq!(p.absolute_lifetime, Duration::days(30));
        assert!(serde_json::from_str::<SessionPolicy>(r#"{"idle_timeot":"1h"}"#).is_err());
        let e = serde_json::from_str::<SessionPolicy>(r#"{"idle_timeout":"1 hour"}"#).unwrap_err();
        assert!(e.to_string().contains("not a duration"), "{e}");
        let back: SessionPolicy = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn duration_text_rejects_garbage() {
        for bad in ["", "m", "5x", "5m5h", "5m5m", "1h30", "-5m", "99999999999d", "5 m"] {
            assert_eq!(duration_text::parse(bad), None, "{bad}");
        }
        assert_eq!(duration_text::parse("2d3h4m5s"), Some(Duration::seconds(2 * 86400 + 3 * 3600 + 245)));
    }

    #[test]
    fn effective_timeout_is_clamped() {
        let p = SessionPolicy {
            idle_timeout: Duration::hours(8),
            user_idle_timeout_min: Duration::minutes(30),
            user_idle_timeout_max: Duration::days(2),
            absolute_lifetime: Duration::days(1),
            ..SessionPolicy::default()
        };
        assert_eq!(p.effective_idle_timeout(None), Duration::hours(8));
        assert_eq!(p.effective_idle_timeout(Some(Duration::minutes(1))), Duration::minutes(30));
        assert_eq!(p.effective_idle_timeout(Some(Duration::hours(3))), Duration::hours(3));
        // within the users' range but beyond the absolute lifetime
        assert_eq!(p.effective_idle_timeout(Some(Duration::days(2))), Duration::days(1));
    }

    #[test]
    fn policies_set_validates_and_applies() {
        let ps = Policies::default();
        let t: TenantId = "acme".parse().unwrap();
        let bad = SessionPolicy { idle_timeout: Duration::minutes(1), ..SessionPolicy::default() };
        assert!(ps.set(&t, bad).is_err());
        assert_eq!(ps.policy(&t).idle_timeout, Duration::days(7));
        ps.set(&t, SessionPolicy { idle_timeout: Duration::hours(1), ..SessionPolicy::default() }).unwrap();
        assert_eq!(ps.policy(&t).idle_timeout, Duration::hours(1));
        ps.reset(&t);
        assert_eq!(ps.policy(&t).idle_timeout, Duration::days(7));
    }

    proptest! {
        #[test]
        fn format_parse_round_trip(secs in 1i64..400 * 86_400) {
            let d = Duration::seconds(secs);
            prop_assert_eq!(duration_text::parse(&duration_text::format(d)), Some(d));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            let _ = duration_text::parse(&s);
        }

        #[test]
        fn effective_within_bounds(choice in proptest::option::of(0i64..30 * 86_400)) {
            let p = SessionPolicy::default();
            let e = p.effective_idle_timeout(choice.map(Duration::seconds));
            prop_assert!(e >= p.user_idle_timeout_min && e <= p.user_idle_timeout_max);
        }
    }
}
