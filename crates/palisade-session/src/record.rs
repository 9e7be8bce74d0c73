//! What a store keeps about a session.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use palisade_core::{TenantId, UserId};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::token::{SessionId, TokenHash};

/// How a user proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthMethod {
    /// A password.
    Password,
    /// A TOTP code (second factor).
    Totp,
    /// A one-time recovery code (second factor).
    RecoveryCode,
    /// A WebAuthn / passkey assertion.
    WebAuthn,
    /// SAML single sign-on.
    Saml,
    /// OpenID Connect single sign-on.
    Oidc,
}

impl AuthMethod {
    /// Whether this method is a second factor on its own (TOTP, recovery code, WebAuthn).
    pub fn is_second_factor(self) -> bool {
        matches!(self, AuthMethod::Totp | AuthMethod::RecoveryCode | AuthMethod::WebAuthn)
    }
}

/// One authentication step of a session: a method and when it succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthEvent {
    /// The method used.
    pub method: AuthMethod,
    /// When it succeeded.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Where a session was opened from, for the "your devices" page. Not used for security decisions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// The client's address as the host determined it.
    pub ip: Option<IpAddr>,
    /// The client's `User-Agent`, cut to 256 bytes.
    pub user_agent: Option<String>,
}

/// The longest user agent kept, in bytes.
pub const MAX_USER_AGENT: usize = 256;

impl ClientInfo {
    /// A client description, keeping at most [`MAX_USER_AGENT`] bytes of the user agent.
    pub fn new(ip: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent.map(|ua| {
            let mut end = ua.len().min(MAX_USER_AGENT);
            while !ua.is_char_boundary(end) {
                end -= 1;
            }
            ua.get(..end).unwrap_or_default().to_owned()
        });
        Self { ip, user_agent }
    }
}

/// Why a session was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RevocationReason {
    /// The user signed out.
    Logout,
    /// The token was replaced by a new one (sign-in or privilege change).
    Rotated,
    /// Evicted to respect the concurrent-session limit.
    Evicted,
    /// The user signed out their other devices.
    SignedOutElsewhere,
    /// The password changed.
    PasswordChanged,
    /// A second factor was added, changed or removed.
    SecondFactorChanged,
    /// Another security setting changed.
    SecuritySettingsChanged,
    /// The user was deprovisioned (SCIM, admin).
    Deprovisioned,
    /// An administrator revoked it.
    Admin,
    /// Every session of the tenant was revoked.
    TenantRevoked,
}

impl RevocationReason {
    /// The reason as `snake_case` text.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Logout => "logout",
            RevocationReason::Rotated => "rotated",
            RevocationReason::Evicted => "evicted",
            RevocationReason::SignedOutElsewhere => "signed_out_elsewhere",
            RevocationReason::PasswordChanged => "password_changed",
            RevocationReason::SecondFactorChanged => "second_factor_changed",
            RevocationReason::SecuritySettingsChanged => "security_settings_changed",
            RevocationReason::Deprovisioned => "deprovisioned",
            RevocationReason::Admin => "admin",
            RevocationReason::TenantRevoked => "tenant_revoked",
        }
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A revocation: when and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Why.
    pub reason: RevocationReason,
}

/// The parts of a session that never change after it is created.
///
/// Laid out in declaration order (`repr(C)`) so that what every validation reads (token hash,
/// tenant, creation time, idle choice) sits together right after the shared pointer's counts:
/// with 100,000 sessions in memory each validation then touches two cache lines here, not four.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub struct SessionDetails {
    /// The token's hash.
    pub token_hash: TokenHash,
    /// The tenant the session belongs to.
    pub tenant: TenantId,
    /// When the user signed in (kept across token rotations: the absolute lifetime counts from here).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The idle timeout the user picked, if any, in whole seconds.
    pub idle_timeout_choice_secs: Option<i64>,
    /// The session's public id (derived from the token hash).
    pub id: SessionId,
    /// The signed-in user.
    pub user: UserId,
    /// How the user authenticated, oldest first.
    pub auth: Vec<AuthEvent>,
    /// Where the session was opened from.
    pub client: ClientInfo,
}

impl SessionDetails {
    /// The user's idle-timeout choice.
    pub fn idle_timeout_choice(&self) -> Option<Duration> {
        self.idle_timeout_choice_secs.map(Duration::seconds)
    }
}

/// A stored session: immutable details (shared, so clones are cheap) and the fields that
/// validation and revocation change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// What never changes.
    pub details: Arc<SessionDetails>,
    /// Last activity written to the store (writes are coalesced, so this may lag a little).
    pub last_seen_at: OffsetDateTime,
    /// When the session stops counting as active for the store (idle deadline as of the last
    /// write, capped by the absolute deadline): used for concurrency limits and listings.
    pub expires_at: OffsetDateTime,
    /// When the store may forget the record: the absolute deadline plus
    /// [`ManagerConfig::keep_expired_for`](crate::ManagerConfig::keep_expired_for). Until then a
    /// revoked or expired session is reported as such rather than as unknown.
    pub purge_at: OffsetDateTime,
    /// Set once the session is revoked; never cleared.
    pub revoked: Option<Revocation>,
}

impl SessionRecord {
    /// The session id.
    pub fn id(&self) -> SessionId {
        self.details.id
    }

    /// Whether the store counts it as active at `now`: not revoked and not past `expires_at`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.revoked.is_none() && self.expires_at > now && self.purge_at > now
    }
}
