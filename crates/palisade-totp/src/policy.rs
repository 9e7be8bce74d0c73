//! Configuration: [`TotpConfig`] (how the service issues and checks codes) and [`MfaPolicy`]
//! (an organization's mandate), with the per-login [`MfaPolicy::decide`].
//!
//! ```
//! use palisade_totp::{LoginFacts, LoginMethod, MfaDecision, MfaPolicy, TotpState, TotpStatus};
//! use time::macros::datetime;
//!
//! let policy: MfaPolicy = toml::from_str(r#"
//!     mode = "required"
//!     required_since = "2026-03-01T00:00:00Z"
//!     grace_period_days = 7
//! "#)?;
//! assert!(policy.validate().is_empty());
//! let status = TotpStatus { state: TotpState::NotEnrolled, last_reset: None };
//! let facts = LoginFacts {
//!     method: LoginMethod::Password,
//!     user_joined_at: datetime!(2025-01-01 00:00 UTC),
//!     status: &status,
//!     remembered_device: false,
//! };
//! assert_eq!(policy.decide(&facts, datetime!(2026-03-03 00:00 UTC)),
//!            MfaDecision::MustEnroll { deadline: datetime!(2026-03-08 00:00 UTC) });
//! assert_eq!(policy.decide(&facts, datetime!(2026-03-08 00:00 UTC)),
//!            MfaDecision::EnrollmentOverdue { deadline: datetime!(2026-03-08 00:00 UTC) });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use palisade_core::throttle::ThrottlePolicy;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::otp::{Algorithm, TotpParams};
use crate::store::ResetRecord;

/// The widest skew window accepted, in steps each side.
pub const MAX_SKEW: u32 = 10;
/// The longest remembered-device lifetime accepted, in days.
pub const MAX_REMEMBER_DAYS: u32 = 365;

/// How the service issues and checks codes. Loadable from TOML or JSON.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TotpConfig {
    /// The service name shown in authenticator apps (required).
    pub issuer: String,
    /// HMAC hash for new enrollments (default SHA1: the only one every app honours).
    pub algorithm: Algorithm,
    /// Digits for new enrollments (default 6).
    pub digits: u8,
    /// Time step for new enrollments, in seconds (default 30).
    pub period_seconds: u32,
    /// Steps accepted either side of the current one (default 1: ±30 s of clock drift).
    pub skew_steps: u32,
    /// How long a started enrollment waits for its confirming code, in seconds (default 900).
    pub pending_ttl_seconds: u64,
    /// How many recovery codes a user gets (default 10).
    pub recovery_code_count: usize,
    /// Pixels per QR module in PNGs (default 6).
    pub qr_scale: u32,
    /// Failed-code throttling, per user (default: 5 failures in 15 minutes lock for 15 minutes,
    /// doubling up to 24 hours).
    pub throttle: ThrottlePolicy,
}

impl Default for TotpConfig {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            algorithm: Algorithm::Sha1,
            digits: 6,
            period_seconds: 30,
            skew_steps: 1,
            pending_ttl_seconds: 900,
            recovery_code_count: 10,
            qr_scale: 6,
            throttle: ThrottlePolicy::default(),
        }
    }
}

impl TotpConfig {
    /// A default configuration with `issuer`.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self { issuer: issuer.into(), ..Self::default() }
    }

    /// The code parameters for new enrollments.
    pub fn params(&self) -> TotpParams {
        TotpParams { algorithm: self.algorithm, digits: self.digits, period: self.period_seconds }
    }

    /// Every problem with the configuration (empty when valid).
    pub fn validate(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.issuer.trim().is_empty() {
            out.push("issuer is empty: set the service name users will see in their app".to_owned());
        }
        if self.issuer.contains(':') {
            out.push("issuer contains ':', which the key URI reserves: remove it".to_owned());
        }
        out.extend(self.params().problems());
        if self.skew_steps > MAX_SKEW {
            out.push(format!("skew_steps is {}: use 0 to {MAX_SKEW} (1 is standard)", self.skew_steps));
        }
        if self.pending_ttl_seconds == 0 {
            out.push(
                "pending_ttl_seconds is 0: give users time to type the first code (e.g. 900)".to_owned(),
            );
        }
        if !(1..=50).contains(&self.recovery_code_count) {
            out.push(format!("recovery_code_count is {}: use 1 to 50", self.recovery_code_count));
        }
        if !(1..=crate::qr::MAX_SCALE).contains(&self.qr_scale) {
            out.push(format!("qr_scale is {}: use 1 to {}", self.qr_scale, crate::qr::MAX_SCALE));
        }
        out.extend(self.throttle.validate().into_iter().map(|p| format!("throttle: {p}")));
        out
    }
}

/// Whether an organization requires two-factor authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaMode {
    /// Users may enroll; those who did are asked for a code.
    #[default]
    Optional,
    /// Every user must enroll (after the grace period).
    Required,
}

/// An organization's two-factor mandate. Loadable from TOML or JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaPolicy {
    /// Optional or required.
    pub mode: MfaMode,
    /// When the mandate was switched on (required with `mode = "required"`), as an RFC 3339
    /// string: users who were members then get the grace period from this instant.
    #[serde(with = "time::serde::rfc3339::option")]
    pub required_since: Option<OffsetDateTime>,
    /// Days a user has to enroll after the mandate, after joining, or after an admin reset,
    /// whichever is latest (default 7). With 0 the user must enroll at the next login and is
    /// never blocked as overdue (there was no time to enroll before).
    pub grace_period_days: u32,
    /// Whether users who sign in through SAML single sign-on skip the code because their
    /// identity provider does MFA (default false).
    pub sso_exempt: bool,
    /// Days a "trust this device" token stays valid; 0 (the default) turns the feature off.
    pub remember_device_days: u32,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self {
            mode: MfaMode::Optional,
            required_since: None,
            grace_period_days: 7,
            sso_exempt: false,
            remember_device_days: 0,
        }
    }
}

/// How the user is signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginMethod {
    /// Password (or any first factor palisade handles itself).
    Password,
    /// SAML single sign-on through the organization's identity provider.
    SamlSso,
}

/// A user's two-factor state, as [`crate::TotpService::status`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TotpStatus {
    /// Enrollment state.
    pub state: TotpState,
    /// The last admin reset, if any.
    pub last_reset: Option<ResetRecord>,
}

/// Enrollment state of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TotpState {
    /// No enrollment.
    NotEnrolled,
    /// Enrollment started, not yet confirmed with a code.
    Pending {
        /// When it expires.
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
    },
    /// Enrolled and confirmed.
    Active {
        /// Since when.
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
    },
}

/// What the policy needs to know about one login.
#[derive(Debug, Clone, Copy)]
pub struct LoginFacts<'a> {
    /// How the user signed in.
    pub method: LoginMethod,
    /// When the user joined the organization.
    pub user_joined_at: OffsetDateTime,
    /// The user's two-factor state.
    pub status: &'a TotpStatus,
    /// Whether the browser presented a valid remembered-device token
    /// ([`crate::TotpService::check_remembered_device`]).
    pub remembered_device: bool,
}

/// What a login needs after the first factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum MfaDecision {
    /// Nothing more: the login is complete.
    Done {
        /// Why no code is needed.
        reason: DoneReason,
    },
    /// Ask for a TOTP code (or a recovery code).
    NeedsCode,
    /// The user must set up an authenticator now. Until `deadline` the host may let them
    /// postpone it; once it has passed (possible only with a grace period of 0) they may not.
    MustEnroll {
        /// The end of the grace period.
        #[serde(with = "time::serde::rfc3339")]
        deadline: OffsetDateTime,
    },
    /// The grace period is over and the user has not enrolled: the login must not reach the
    /// application. An admin can extend it with a reset, which starts a new grace period.
    EnrollmentOverdue {
        /// When the grace period ended.
        #[serde(with = "time::serde::rfc3339")]
        deadline: OffsetDateTime,
    },
}

/// Why a login needs no code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DoneReason {
    /// Two-factor is optional and the user has not enrolled.
    NotRequired,
    /// The user signed in through SAML SSO and the organization exempts it.
    SsoExempt,
    /// The browser is a remembered device.
    RememberedDevice,
}

impl MfaPolicy {
    /// Every problem with the policy (empty when valid).
    pub fn validate(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.mode == MfaMode::Required && self.required_since.is_none() {
            out.push(
                "mode is required but required_since is not set: record when the mandate was switched on"
                    .to_owned(),
            );
        }
        if self.grace_period_days > 365 {
            out.push(format!("grace_period_days is {}: use 0 to 365", self.grace_period_days));
        }
        if self.remember_device_days > MAX_REMEMBER_DAYS {
            out.push(format!(
                "remember_device_days is {}: use 0 (off) to {MAX_REMEMBER_DAYS}",
                self.remember_device_days
            ));
        }
        out
    }

    /// How long a remembered device stays trusted, if the feature is on.
    pub fn remember_device_for(&self) -> Option<Duration> {
        (self.remember_device_days > 0).then(|| Duration::days(i64::from(self.remember_device_days)))
    }

    /// The enrollment deadline for a user, when the mandate applies.
    pub fn enrollment_deadline(
        &self,
        user_joined_at: OffsetDateTime,
        last_reset: Option<&ResetRecord>,
    ) -> Option<OffsetDateTime> {
        if self.mode != MfaMode::Required {
            return None;
        }
        // A required mandate without a start date counts from the user's join date.
        let mut start = self.required_since.map_or(user_joined_at, |s| s.max(user_joined_at));
        if let Some(r) = last_reset {
            start = start.max(r.at);
        }
        Some(start + Duration::days(i64::from(self.grace_period_days)))
    }

    /// The decision for one login at `now`.
    ///
    /// * SSO logins are done when the organization exempts them;
    /// * an enrolled user is asked for a code unless the device is remembered (and the policy
    ///   allows remembering);
    /// * a user without an active enrollment is done when 2FA is optional, else must enroll
    ///   before the deadline and is blocked after it.
    pub fn decide(&self, facts: &LoginFacts<'_>, now: OffsetDateTime) -> MfaDecision {
        if facts.method == LoginMethod::SamlSso && self.sso_exempt {
            return MfaDecision::Done { reason: DoneReason::SsoExempt };
        }
        if matches!(facts.status.state, TotpState::Active { .. }) {
            if facts.remembered_device && self.remember_device_for().is_some() {
                return MfaDecision::Done { reason: DoneReason::RememberedDevice };
            }
            return MfaDecision::NeedsCode;
        }
        match self.enrollment_deadline(facts.user_joined_at, facts.status.last_reset.as_ref()) {
            None => MfaDecision::Done { reason: DoneReason::NotRequired },
            Some(deadline) if now < deadline || self.grace_period_days == 0 => {
                MfaDecision::MustEnroll { deadline }
            }
            Some(deadline) => MfaDecision::EnrollmentOverdue { deadline },
        }
    }
}
