//! [`SessionManager`]: issue, validate, rotate, list and revoke sessions.

use std::fmt;
use std::sync::Arc;

use palisade_core::{SharedClock, TenantId, UserId};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Rejection, Result};
use crate::intern::TenantIds;
use crate::policy::{PolicySource, SessionPolicy, duration_text, problem};
use crate::record::{
    AuthEvent, AuthMethod, ClientInfo, Revocation, RevocationReason, SessionDetails, SessionRecord,
};
use crate::store::{SessionLimit, SessionStore, Touch, WriteOutcome};
use crate::token::{SessionId, SessionToken};

/// Settings of the manager itself (the per-organization rules are in [`SessionPolicy`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ManagerConfig {
    /// A validation writes the new last-seen time to the store only when the stored one is at
    /// least this old, so a busy user causes one write per interval, not one per request.
    /// The price: an idle deadline may come up to this much early. Default 1 minute.
    #[serde(with = "duration_text")]
    pub touch_interval: Duration,
    /// How long a store keeps a record after the session's absolute deadline, so that a client
    /// coming back late is told `absolute-expired` (or `revoked`) rather than `unknown`. It is
    /// the margin between the absolute deadline and the record's `purge_at` (for Redis, the key's
    /// TTL). Default 1 day.
    #[serde(with = "duration_text")]
    pub keep_expired_for: Duration,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        Self { touch_interval: Duration::minutes(1), keep_expired_for: Duration::days(1) }
    }
}

impl ManagerConfig {
    /// Checks the configuration and returns every problem at once.
    pub fn validate(&self) -> Result<()> {
        let mut p = Vec::new();
        if self.touch_interval.is_negative() || self.touch_interval > Duration::minutes(5) {
            p.push(problem(
                "touch_interval",
                format!(
                    "is {}, it must be between 0s and 5m (it is how early an idle timeout may fire)",
                    duration_text::format(self.touch_interval)
                ),
            ));
        }
        if self.keep_expired_for.is_negative() || self.keep_expired_for > Duration::days(30) {
            p.push(problem(
                "keep_expired_for",
                format!("is {}, it must be between 0s and 30d", duration_text::format(self.keep_expired_for)),
            ));
        }
        if p.is_empty() { Ok(()) } else { Err(Error::InvalidConfig(p)) }
    }
}

/// A sign-in to turn into a session.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The tenant signed in to.
    pub tenant: TenantId,
    /// The user.
    pub user: UserId,
    /// How the user authenticated (one or more methods, e.g. password then TOTP).
    pub auth: Vec<AuthMethod>,
    /// Where from.
    pub client: ClientInfo,
    /// The idle timeout the user picked in account settings, if any (clamped to the policy).
    pub idle_timeout_choice: Option<Duration>,
    /// The token the client presented before signing in, if any: it is revoked
    /// ([`RevocationReason::Rotated`]), so a token planted before sign-in (session fixation)
    /// never becomes an authenticated session.
    pub replaces: Option<SessionToken>,
}

impl NewSession {
    /// A sign-in of `user` in `tenant` with `method`, from an unknown client.
    pub fn new(tenant: TenantId, user: UserId, method: AuthMethod) -> Self {
        Self {
            tenant,
            user,
            auth: vec![method],
            client: ClientInfo::default(),
            idle_timeout_choice: None,
            replaces: None,
        }
    }
}

/// A valid session, as validation returns it. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    record: SessionRecord,
    idle_timeout: Duration,
    absolute_lifetime: Duration,
}

/// A live session as validation found it, with its timeouts under the current policy.
struct Live {
    record: SessionRecord,
    policy: SessionPolicy,
    idle: Duration,
    /// Time since the last recorded activity.
    since_seen: Duration,
}

impl Session {
    fn new(record: SessionRecord, policy: &SessionPolicy) -> Self {
        let idle_timeout = policy.effective_idle_timeout(record.details.idle_timeout_choice());
        Self { record, idle_timeout, absolute_lifetime: policy.absolute_lifetime }
    }

    /// The session's public id.
    pub fn id(&self) -> SessionId {
        self.record.details.id
    }
    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.record.details.tenant
    }
    /// The user.
    pub fn user(&self) -> &UserId {
        &self.record.details.user
    }
    /// When the user signed in.
    pub fn created_at(&self) -> OffsetDateTime {
        self.record.details.created_at
    }
    /// Last activity recorded.
    pub fn last_seen_at(&self) -> OffsetDateTime {
        self.record.last_seen_at
    }
    /// The effective idle timeout (the user's choice clamped to the organization's bounds).
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }
    /// When the session expires unless used again.
    pub fn idle_deadline(&self) -> OffsetDateTime {
        self.record.last_seen_at.saturating_add(self.idle_timeout).min(self.absolute_deadline())
    }
    /// When the session ends however active it is.
    pub fn absolute_deadline(&self) -> OffsetDateTime {
        self.record.details.created_at.saturating_add(self.absolute_lifetime)
    }
    /// How the user authenticated, oldest first.
    pub fn auth(&self) -> &[AuthEvent] {
        &self.record.details.auth
    }
    /// Where the session was opened from.
    pub fn client(&self) -> &ClientInfo {
        &self.record.details.client
    }
    /// When `method` last succeeded in this session.
    pub fn last_auth_with(&self, method: AuthMethod) -> Option<OffsetDateTime> {
        self.auth().iter().filter(|e| e.method == method).map(|e| e.at).max()
    }
    /// When any authentication last succeeded.
    pub fn last_authenticated_at(&self) -> Option<OffsetDateTime> {
        self.auth().iter().map(|e| e.at).max()
    }
    /// Whether a second factor was used in this session.
    pub fn has_second_factor(&self) -> bool {
        self.auth().iter().any(|e| e.method.is_second_factor())
    }
    /// The stored record.
    pub fn record(&self) -> &SessionRecord {
        &self.record
    }
}

/// A freshly issued session and its token (to hand to the client once; never stored).
#[derive(Debug)]
pub struct Issued {
    /// The bearer token for the client.
    pub token: SessionToken,
    /// The session.
    pub session: Session,
    /// Sessions revoked to respect the concurrent-session limit (for the audit log).
    pub evicted: Vec<SessionId>,
}

/// Issues, validates, rotates, lists and revokes sessions over a [`SessionStore`], under each
/// organization's [`SessionPolicy`]. Cheap to clone.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use palisade_core::ManualClock;
/// use palisade_session::*;
/// use time::{Duration, macros::datetime};
///
/// let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
/// let manager = SessionManager::new(
///     Arc::new(MemoryStore::new()),
///     Arc::new(Policies::new(SessionPolicy { idle_timeout: Duration::hours(1), ..Default::default() })),
///     Arc::new(clock.clone()),
/// );
/// let acme: palisade_core::TenantId = "acme".parse()?;
/// let issued = manager.login(NewSession::new(acme.clone(), "alice".parse()?, AuthMethod::Password)).await?;
/// let session = manager.validate(&issued.token, &acme).await?;
/// assert_eq!(session.user().as_str(), "alice");
///
/// clock.advance(Duration::minutes(61));
/// let err = manager.validate(&issued.token, &acme).await.unwrap_err();
/// assert_eq!(err.rejection(), Some(&Rejection::IdleExpired));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct SessionManager {
    store: Arc<dyn SessionStore>,
    policies: Arc<dyn PolicySource>,
    clock: SharedClock,
    config: ManagerConfig,
    tenants: Arc<TenantIds>,
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager").field("store", &self.store).field("config", &self.config).finish()
    }
}

impl SessionManager {
    /// A manager with the default [`ManagerConfig`].
    pub fn new(store: Arc<dyn SessionStore>, policies: Arc<dyn PolicySource>, clock: SharedClock) -> Self {
        Self { store, policies, clock, config: ManagerConfig::default(), tenants: Arc::default() }
    }

    /// A manager with `config` (validated).
    pub fn with_config(
        store: Arc<dyn SessionStore>,
        policies: Arc<dyn PolicySource>,
        clock: SharedClock,
        config: ManagerConfig,
    ) -> Result<Self> {
        config.validate()?;
        Ok(Self { store, policies, clock, config, tenants: Arc::default() })
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    /// The policy that applies to `tenant` now.
    pub fn policy(&self, tenant: &TenantId) -> SessionPolicy {
        self.policies.policy(tenant)
    }

    fn fresh_record(
        &self,
        details: SessionDetails,
        now: OffsetDateTime,
        policy: &SessionPolicy,
    ) -> SessionRecord {
        let absolute = details.created_at + policy.absolute_lifetime;
        let idle = policy.effective_idle_timeout(details.idle_timeout_choice());
        SessionRecord {
            details: Arc::new(details),
            last_seen_at: now,
            expires_at: (now + idle).min(absolute),
            purge_at: absolute + self.config.keep_expired_for,
            revoked: None,
        }
    }

    /// Signs a user in: a new token and session, under the tenant's concurrent-session limit.
    /// A token presented before sign-in (`replaces`) is revoked first, on purpose even if the
    /// sign-in is then refused: the browser is signing in again, and that session no longer
    /// counts against the limit (a user re-signing-in on the same browser is not refused).
    pub async fn login(&self, new: NewSession) -> Result<Issued> {
        let now = self.clock.now();
        let policy = self.policies.policy(&new.tenant);
        if let Some(old) = new.replaces.as_ref().and_then(SessionToken::hash) {
            self.store
                .revoke(&old.session_id(), Revocation { at: now, reason: RevocationReason::Rotated })
                .await?;
        }
        let token = SessionToken::generate()?;
        let hash = token.hash().ok_or_else(|| Error::Store {
            backend: "token",
            message: "a generated token did not hash; this is a bug".to_owned(),
        })?;
        let details = SessionDetails {
            id: hash.session_id(),
            token_hash: hash,
            tenant: self.tenants.shared(new.tenant),
            user: new.user,
            created_at: now,
            idle_timeout_choice_secs: new.idle_timeout_choice.map(|d| d.whole_seconds()),
            auth: new.auth.into_iter().map(|method| AuthEvent { method, at: now }).collect(),
            client: new.client,
        };
        let record = self.fresh_record(details, now, &policy);
        let limit = policy.max_concurrent_sessions.map(|max| SessionLimit { max, overflow: policy.on_limit });
        let evicted = self.store.create(record.clone(), limit, now).await?;
        tracing::debug!(session = %record.id(), evicted = evicted.len(), "session created");
        Ok(Issued { token, session: Session::new(record, &policy), evicted })
    }

    /// Checks a token presented for `tenant`: returns the session, or [`Error::Rejected`] with
    /// the reason. Slides the idle deadline, writing to the store at most once per
    /// [`ManagerConfig::touch_interval`].
    pub async fn validate(&self, token: &SessionToken, tenant: &TenantId) -> Result<Session> {
        self.check(token, Some(tenant)).await
    }

    /// Like [`validate`](Self::validate) for hosts that do not route requests by tenant (no
    /// tenant-mismatch check).
    pub async fn validate_any_tenant(&self, token: &SessionToken) -> Result<Session> {
        self.check(token, None).await
    }

    async fn load_live(
        &self,
        token: &SessionToken,
        tenant: Option<&TenantId>,
        now: OffsetDateTime,
    ) -> Result<Live> {
        let hash = token.hash().ok_or(Rejection::Unknown)?;
        let record = self.store.load(&hash.session_id(), now).await?.ok_or(Rejection::Unknown)?;
        if !record.details.token_hash.matches(&hash) {
            return Err(Rejection::Unknown.into());
        }
        // Tenant first: a token of another tenant learns nothing more about its session.
        if tenant.is_some_and(|t| *t != record.details.tenant) {
            return Err(Rejection::TenantMismatch.into());
        }
        if let Some(rv) = record.revoked {
            return Err(Rejection::Revoked(rv.reason).into());
        }
        let policy = self.policies.policy(&record.details.tenant);
        // Differences of instants, not sums: cheaper (no calendar arithmetic) and never out of
        // range.
        if now - record.details.created_at >= policy.absolute_lifetime {
            return Err(Rejection::AbsoluteExpired.into());
        }
        let idle = policy.effective_idle_timeout(record.details.idle_timeout_choice());
        let since_seen = now - record.last_seen_at;
        if since_seen >= idle {
            return Err(Rejection::IdleExpired.into());
        }
        Ok(Live { record, policy, idle, since_seen })
    }

    async fn check(&self, token: &SessionToken, tenant: Option<&TenantId>) -> Result<Session> {
        let now = self.clock.now();
        let Live { mut record, policy, idle, since_seen } = self.load_live(token, tenant, now).await?;
        if since_seen >= self.config.touch_interval {
            let absolute = record.details.created_at.saturating_add(policy.absolute_lifetime);
            let touch = Touch {
                seen_at: now,
                expires_at: now.saturating_add(idle).min(absolute),
                purge_at: absolute.saturating_add(self.config.keep_expired_for),
            };
            match self.store.touch(&record.id(), touch).await? {
                WriteOutcome::Applied => {
                    record.last_seen_at = now;
                    record.expires_at = touch.expires_at;
                    record.purge_at = touch.purge_at;
                }
                WriteOutcome::Revoked(rv) => return Err(Rejection::Revoked(rv.reason).into()),
                WriteOutcome::Missing => return Err(Rejection::Unknown.into()),
            }
        }
        Ok(Session { record, idle_timeout: idle, absolute_lifetime: policy.absolute_lifetime })
    }

    /// Replaces a valid token with a new one for the same session (privilege change, role
    /// change, step-up authentication). The old token stops working at once. `added_auth`
    /// records a fresh authentication (e.g. a TOTP step-up) in the session.
    pub async fn rotate(
        &self,
        token: &SessionToken,
        tenant: &TenantId,
        added_auth: Option<AuthMethod>,
    ) -> Result<Issued> {
        let now = self.clock.now();
        let Live { record, policy, .. } = self.load_live(token, Some(tenant), now).await?;
        let new_token = SessionToken::generate()?;
        let hash = new_token.hash().ok_or_else(|| Error::Store {
            backend: "token",
            message: "a generated token did not hash; this is a bug".to_owned(),
        })?;
        let old = &record.details;
        let mut auth = old.auth.clone();
        auth.extend(added_auth.map(|method| AuthEvent { method, at: now }));
        let details = SessionDetails {
            id: hash.session_id(),
            token_hash: hash,
            tenant: old.tenant.clone(),
            user: old.user.clone(),
            created_at: old.created_at,
            idle_timeout_choice_secs: old.idle_timeout_choice_secs,
            auth,
            client: old.client.clone(),
        };
        let new = self.fresh_record(details, now, &policy);
        let revocation = Revocation { at: now, reason: RevocationReason::Rotated };
        match self.store.rotate(&record.id(), revocation, new.clone()).await? {
            WriteOutcome::Applied => {
                Ok(Issued { token: new_token, session: Session::new(new, &policy), evicted: Vec::new() })
            }
            WriteOutcome::Revoked(rv) => Err(Rejection::Revoked(rv.reason).into()),
            WriteOutcome::Missing => Err(Rejection::Unknown.into()),
        }
    }

    /// Fails with [`Error::ReauthenticationRequired`] unless the session authenticated within the
    /// tenant's re-authentication window (with one of `methods`, when given).
    pub fn require_recent_auth(&self, session: &Session, methods: &[AuthMethod]) -> Result<()> {
        let window = self.policies.policy(session.tenant()).reauth_window;
        let now = self.clock.now();
        let recent = session
            .auth()
            .iter()
            .filter(|e| methods.is_empty() || methods.contains(&e.method))
            .any(|e| e.at <= now && now - e.at <= window);
        if recent {
            Ok(())
        } else {
            Err(Error::ReauthenticationRequired { window_minutes: window.whole_minutes() })
        }
    }

    /// Signs out the session of `token`. `false` if it was not live.
    pub async fn logout(&self, token: &SessionToken) -> Result<bool> {
        let Some(hash) = token.hash() else { return Ok(false) };
        let now = self.clock.now();
        self.store.revoke(&hash.session_id(), Revocation { at: now, reason: RevocationReason::Logout }).await
    }

    /// Revokes one session of `tenant` by id (the "sign out that device" button, an admin
    /// action). `false` if no live session of that tenant has this id.
    pub async fn revoke(&self, tenant: &TenantId, id: &SessionId, reason: RevocationReason) -> Result<bool> {
        let now = self.clock.now();
        match self.store.load(id, now).await? {
            Some(r) if r.details.tenant == *tenant => {
                self.store.revoke(id, Revocation { at: now, reason }).await
            }
            _ => Ok(false),
        }
    }

    /// Revokes every session of a user: after a password change, a second-factor change,
    /// deprovisioning. Returns how many were revoked.
    pub async fn revoke_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        reason: RevocationReason,
    ) -> Result<usize> {
        let now = self.clock.now();
        self.store.revoke_user(tenant, user, Revocation { at: now, reason }, None).await
    }

    /// Revokes every other session of the user of `current` ("sign out other devices").
    pub async fn revoke_other_sessions(&self, current: &Session) -> Result<usize> {
        let now = self.clock.now();
        let revocation = Revocation { at: now, reason: RevocationReason::SignedOutElsewhere };
        self.store.revoke_user(current.tenant(), current.user(), revocation, Some(&current.id())).await
    }

    /// Revokes every session of a tenant.
    pub async fn revoke_tenant(&self, tenant: &TenantId) -> Result<usize> {
        let now = self.clock.now();
        self.store
            .revoke_tenant(tenant, Revocation { at: now, reason: RevocationReason::TenantRevoked })
            .await
    }

    /// The user's active sessions under the tenant's current policy, oldest first, for a "your
    /// devices" page (created, last seen, IP, user agent).
    pub async fn list_active(&self, tenant: &TenantId, user: &UserId) -> Result<Vec<Session>> {
        let now = self.clock.now();
        let policy = self.policies.policy(tenant);
        Ok(self
            .store
            .list_user(tenant, user, now)
            .await?
            .into_iter()
            .map(|r| Session::new(r, &policy))
            .filter(|s| now < s.idle_deadline() && now < s.absolute_deadline())
            .collect())
    }

    /// Forgets records past their absolute deadline (see [`SessionStore::purge_expired`]).
    pub async fn purge_expired(&self) -> Result<usize> {
        self.store.purge_expired(self.clock.now()).await
    }
}
