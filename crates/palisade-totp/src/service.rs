//! [`TotpService`]: enrollment, verification, recovery codes, remembered devices and admin reset
//! for the users of many tenants, over pluggable stores.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use palisade_core::throttle::{Decision, MemoryThrottleStore, Throttle, ThrottleKey, ThrottleStore};
use palisade_core::{
    SealContext, SecretArray, SecretBytes, SecretSealer, SecretString, SharedClock, TenantId, UserId,
};
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::otp::{StepMatch, Totp, TotpParams};
use crate::policy::{MfaPolicy, TotpConfig, TotpState, TotpStatus};
use crate::replay::{MemoryUsedStepStore, UsedStepStore};
use crate::store::{DeviceRecord, EnrollmentRecord, KeyedHash, MemoryTotpStore, ResetRecord, TotpStore};
use crate::uri::KeyUri;
use crate::{qr, recovery_codes, secret};

/// The seal purpose of authenticator secrets.
pub const SEAL_PURPOSE: &str = "totp-secret";
/// The throttle scope of two-factor attempts (codes and recovery codes share it).
pub const THROTTLE_SCOPE: &str = "totp";
/// The longest admin-reset reason accepted, in bytes.
pub const MAX_REASON_LEN: usize = 1000;
const DEVICE_TOKEN_PREFIX: &str = "pdt1_";

/// What a [`TotpService`] runs on.
pub struct Backends {
    /// Enrollments, recovery-code hashes, remembered devices, reset records.
    pub store: Arc<dyn TotpStore>,
    /// The replay guard.
    pub used_steps: Arc<dyn UsedStepStore>,
    /// Failed-attempt counting (shared with other palisade crates if the host wishes).
    pub throttle_store: Arc<dyn ThrottleStore>,
    /// Seals authenticator secrets (palisade-keys, or the host's KMS).
    pub sealer: Arc<dyn SecretSealer>,
    /// The clock.
    pub clock: SharedClock,
    /// The key of the recovery-code and device-token hashes: 32 random bytes kept like any
    /// other key (outside the database that holds the hashes), stable across restarts.
    pub hash_key: SecretArray<32>,
}

impl fmt::Debug for Backends {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backends").finish_non_exhaustive()
    }
}

impl Backends {
    /// In-memory stores and a random hash key: for tests, demos and single-process hosts whose
    /// two-factor state need not survive a restart.
    pub fn in_memory(sealer: Arc<dyn SecretSealer>, clock: SharedClock) -> Result<Self> {
        Ok(Self {
            store: Arc::new(MemoryTotpStore::default()),
            used_steps: Arc::new(MemoryUsedStepStore::default()),
            throttle_store: Arc::new(MemoryThrottleStore::default()),
            sealer,
            clock,
            hash_key: SecretArray::random()?,
        })
    }
}

/// A started enrollment: show the QR code (or the secret) once, then ask for the first code.
pub struct PendingEnrollment {
    secret: SecretString,
    uri: SecretString,
    params: TotpParams,
    qr_scale: u32,
    /// When the pending enrollment expires.
    pub expires_at: OffsetDateTime,
    /// Parameters that some apps ignore (empty with the defaults).
    pub warnings: Vec<String>,
}

impl fmt::Debug for PendingEnrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingEnrollment")
            .field("params", &self.params)
            .field("expires_at", &self.expires_at)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl PendingEnrollment {
    /// The secret as base32, for users who type it in.
    pub fn secret_base32(&self) -> &SecretString {
        &self.secret
    }
    /// The `otpauth://` key URI.
    pub fn uri(&self) -> &SecretString {
        &self.uri
    }
    /// The code parameters.
    pub fn params(&self) -> TotpParams {
        self.params
    }
    /// The key URI as a PNG QR code.
    pub fn qr_png(&self) -> Result<SecretBytes> {
        qr::png(self.uri.expose_secret(), self.qr_scale)
    }
    /// The key URI as an SVG QR code.
    pub fn qr_svg(&self) -> Result<SecretString> {
        qr::svg(self.uri.expose_secret())
    }
}

/// A confirmed enrollment: the recovery codes to show the user, once.
#[derive(Debug)]
pub struct Activated {
    /// The accepted step.
    pub step: StepMatch,
    /// The recovery codes, formatted for reading. They are not stored in clear anywhere.
    pub recovery_codes: Vec<SecretString>,
}

/// A remembered-device token to put in a `Secure; HttpOnly; SameSite=Lax` cookie.
#[derive(Debug)]
pub struct DeviceToken {
    /// The token (`pdt1_` + 43 base64url characters, 256 bits).
    pub token: SecretString,
    /// When it stops being trusted.
    pub expires_at: OffsetDateTime,
}

/// A recovery code was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RecoveryUse {
    /// Unused codes left; suggest regenerating when low.
    pub remaining: usize,
}

/// Two-factor authentication with authenticator apps for the users of many tenants.
///
/// ```
/// use std::sync::Arc;
/// use palisade_core::{Clock, ManualClock, sealer::StaticKeySealer};
/// use palisade_totp::{Backends, Totp, TotpConfig, TotpService, secret};
/// use time::macros::datetime;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = ManualClock::new(datetime!(2026-05-01 09:00 UTC));
/// let backends = Backends::in_memory(Arc::new(StaticKeySealer::random()?), Arc::new(clock.clone()))?;
/// let service = TotpService::new(TotpConfig::new("Acme Integrations"), backends)?;
/// let (tenant, user) = ("acme".parse()?, "alice".parse()?);
///
/// let pending = service.begin_enrollment(&tenant, &user, "alice@acme.example").await?;
/// // The user scans pending.qr_png() and types the code the app shows:
/// let app = Totp::new(secret::decode_base32(pending.secret_base32().expose_secret())?, pending.params())?;
/// let now = clock.now().unix_timestamp();
/// let activated = service.confirm_enrollment(&tenant, &user, &app.code_at(now)?).await?;
/// assert_eq!(activated.recovery_codes.len(), 10);
///
/// clock.advance(time::Duration::seconds(30));
/// let code = app.code_at(now + 30)?;
/// assert!(service.verify_code(&tenant, &user, &code).await.is_ok());
/// assert!(service.verify_code(&tenant, &user, &code).await.is_err()); // replay
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct TotpService {
    config: TotpConfig,
    store: Arc<dyn TotpStore>,
    used_steps: Arc<dyn UsedStepStore>,
    throttle: Throttle,
    sealer: Arc<dyn SecretSealer>,
    clock: SharedClock,
    hash_key: SecretArray<32>,
}

impl fmt::Debug for TotpService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpService").field("config", &self.config).finish_non_exhaustive()
    }
}

impl TotpService {
    /// A service with `config` over `backends`; fails with every configuration problem.
    pub fn new(config: TotpConfig, backends: Backends) -> Result<Self> {
        let problems = config.validate();
        if !problems.is_empty() {
            return Err(Error::Config(problems));
        }
        let throttle =
            Throttle::new(config.throttle.clone(), backends.throttle_store, backends.clock.clone());
        Ok(Self {
            config,
            store: backends.store,
            used_steps: backends.used_steps,
            throttle,
            sealer: backends.sealer,
            clock: backends.clock,
            hash_key: backends.hash_key,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TotpConfig {
        &self.config
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn throttle_key(tenant: &TenantId, user: &UserId) -> ThrottleKey {
        ThrottleKey::new(THROTTLE_SCOPE, &format!("{tenant}/{user}"))
    }

    fn seal_context(tenant: &TenantId, user: &UserId) -> SealContext {
        SealContext::new(tenant.clone(), SEAL_PURPOSE, user.as_str())
    }

    fn keyed_hash(&self, domain: &str, tenant: &TenantId, user: &UserId, value: &[u8]) -> Result<KeyedHash> {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(self.hash_key.expose_secret())
            .map_err(|_| Error::Config(vec!["hash key unusable".to_owned()]))?;
        for part in [domain.as_bytes(), tenant.as_str().as_bytes(), user.as_str().as_bytes(), value] {
            mac.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            mac.update(part);
        }
        Ok(mac.finalize().into_bytes().into())
    }

    async fn check_throttle(&self, key: &ThrottleKey) -> Result<()> {
        match self.throttle.check(key).await? {
            Decision::Locked { until, retry_after } => Err(Error::LockedOut { until, retry_after }),
            Decision::Allowed { .. } => Ok(()),
        }
    }

    async fn failure(&self, key: &ThrottleKey) -> Result<u32> {
        Ok(match self.throttle.record_failure(key).await? {
            Decision::Allowed { remaining } => remaining,
            Decision::Locked { .. } => 0,
        })
    }

    async fn open(&self, tenant: &TenantId, user: &UserId, record: &EnrollmentRecord) -> Result<Totp> {
        let key = self.sealer.open(&Self::seal_context(tenant, user), &record.sealed_secret).await?;
        Totp::new(key, record.params)
    }

    /// Checks `code` against `totp` with the replay guard and the throttle; on success the step
    /// is recorded and the failure count cleared.
    async fn check_code(
        &self,
        tenant: &TenantId,
        user: &UserId,
        totp: &Totp,
        code: &str,
    ) -> Result<StepMatch> {
        let key = Self::throttle_key(tenant, user);
        self.check_throttle(&key).await?;
        let now = self.now().unix_timestamp();
        let skew = self.config.skew_steps;
        let last = self.used_steps.last_step(tenant, user).await?;
        match totp.verify(code, now, skew, last)? {
            Some(m) => {
                if !self.used_steps.advance(tenant, user, m.step).await? {
                    // Another login took this step between our read and our write.
                    self.failure(&key).await?;
                    return Err(Error::Replayed { step: m.step });
                }
                self.throttle.record_success(&key).await?;
                Ok(m)
            }
            None => {
                let replay = match last {
                    Some(_) => totp.verify(code, now, skew, None)?,
                    None => None,
                };
                let remaining = self.failure(&key).await?;
                match replay {
                    Some(m) => Err(Error::Replayed { step: m.step }),
                    None => Err(Error::InvalidCode { remaining }),
                }
            }
        }
    }

    /// Starts (or restarts) enrollment: a fresh 160-bit secret, sealed and stored as pending.
    ///
    /// `account_name` is what the app shows under the issuer (usually the e-mail address).
    /// Fails with [`Error::AlreadyEnrolled`] if the user has an active enrollment.
    pub async fn begin_enrollment(
        &self,
        tenant: &TenantId,
        user: &UserId,
        account_name: &str,
    ) -> Result<PendingEnrollment> {
        if self.store.enrollment(tenant, user).await?.is_some_and(|r| r.is_active()) {
            return Err(Error::AlreadyEnrolled);
        }
        let params = self.config.params();
        let key_uri = KeyUri::new(&self.config.issuer, account_name, params)?;
        let key = secret::generate()?;
        let sealed = self.sealer.seal(&Self::seal_context(tenant, user), key.expose_secret()).await?;
        let now = self.now();
        let record = EnrollmentRecord { sealed_secret: sealed, params, created_at: now, activated_at: None };
        self.store.put_pending(tenant, user, record).await?;
        Ok(PendingEnrollment {
            secret: secret::encode_base32(&key),
            uri: key_uri.to_uri(&key),
            params,
            qr_scale: self.config.qr_scale,
            expires_at: now + self.pending_ttl(),
            warnings: params.compatibility_warnings(),
        })
    }

    fn pending_ttl(&self) -> Duration {
        Duration::seconds(i64::try_from(self.config.pending_ttl_seconds).unwrap_or(i64::MAX))
    }

    /// Confirms the pending enrollment with the first code from the app; the enrollment becomes
    /// active and a fresh set of recovery codes is returned (to show once).
    pub async fn confirm_enrollment(
        &self,
        tenant: &TenantId,
        user: &UserId,
        code: &str,
    ) -> Result<Activated> {
        let record = match self.store.enrollment(tenant, user).await? {
            Some(r) if r.is_active() => return Err(Error::AlreadyEnrolled),
            Some(r) if self.now() < r.created_at + self.pending_ttl() => r,
            _ => return Err(Error::NoPendingEnrollment),
        };
        let totp = self.open(tenant, user, &record).await?;
        let step = self.check_code(tenant, user, &totp, code).await?;
        let codes = recovery_codes::generate(self.config.recovery_code_count)?;
        let hashes = self.hash_recovery_codes(tenant, user, &codes)?;
        if !self.store.activate(tenant, user, &record.sealed_secret, self.now(), hashes).await? {
            return Err(Error::NoPendingEnrollment);
        }
        Ok(Activated { step, recovery_codes: codes })
    }

    fn hash_recovery_codes(
        &self,
        tenant: &TenantId,
        user: &UserId,
        codes: &[SecretString],
    ) -> Result<Vec<KeyedHash>> {
        codes
            .iter()
            .map(|c| {
                let norm = recovery_codes::normalize(c.expose_secret())
                    .ok_or_else(|| Error::InvalidParameter("generated recovery code malformed".to_owned()))?;
                self.keyed_hash("recovery-code", tenant, user, norm.as_bytes())
            })
            .collect()
    }

    /// Verifies a login code of an enrolled user: throttled, within the skew window, never the
    /// same (or an earlier) time step twice.
    pub async fn verify_code(&self, tenant: &TenantId, user: &UserId, code: &str) -> Result<StepMatch> {
        let record = match self.store.enrollment(tenant, user).await? {
            Some(r) if r.is_active() => r,
            _ => return Err(Error::NotEnrolled),
        };
        let totp = self.open(tenant, user, &record).await?;
        self.check_code(tenant, user, &totp, code).await
    }

    /// Accepts one of the user's recovery codes, once. Failures count towards the same lockout
    /// as TOTP codes.
    pub async fn verify_recovery_code(
        &self,
        tenant: &TenantId,
        user: &UserId,
        code: &str,
    ) -> Result<RecoveryUse> {
        let key = Self::throttle_key(tenant, user);
        self.check_throttle(&key).await?;
        let consumed = match recovery_codes::normalize(code) {
            Some(norm) => {
                let hash = self.keyed_hash("recovery-code", tenant, user, norm.as_bytes())?;
                self.store.consume_recovery_code(tenant, user, &hash).await?
            }
            None => None,
        };
        match consumed {
            Some(remaining) => {
                self.throttle.record_success(&key).await?;
                Ok(RecoveryUse { remaining })
            }
            None => Err(Error::InvalidRecoveryCode { remaining: self.failure(&key).await? }),
        }
    }

    /// A new set of recovery codes; the old set stops working.
    pub async fn regenerate_recovery_codes(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<Vec<SecretString>> {
        let codes = recovery_codes::generate(self.config.recovery_code_count)?;
        let hashes = self.hash_recovery_codes(tenant, user, &codes)?;
        self.store.replace_recovery_codes(tenant, user, hashes).await?;
        Ok(codes)
    }

    /// How many unused recovery codes the user has.
    pub async fn recovery_codes_remaining(&self, tenant: &TenantId, user: &UserId) -> Result<usize> {
        self.store.recovery_codes_remaining(tenant, user).await
    }

    /// Issues a "trust this device" token after a successful code, if the organization's
    /// policy allows it. Only its keyed hash is stored.
    pub async fn remember_device(
        &self,
        tenant: &TenantId,
        user: &UserId,
        policy: &MfaPolicy,
    ) -> Result<DeviceToken> {
        let lifetime = policy.remember_device_for().ok_or_else(|| {
            Error::PolicyForbids("remembered devices are off (remember_device_days = 0)".to_owned())
        })?;
        if !self.store.enrollment(tenant, user).await?.is_some_and(|r| r.is_active()) {
            return Err(Error::NotEnrolled);
        }
        let raw = Zeroizing::new(palisade_core::random::array::<32>()?);
        let token = SecretString::new(format!("{DEVICE_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(*raw)));
        let now = self.now();
        let hash = self.keyed_hash("device-token", tenant, user, token.expose_secret().as_bytes())?;
        let expires_at = now + lifetime;
        self.store.add_device(tenant, user, DeviceRecord { hash, created_at: now, expires_at }).await?;
        Ok(DeviceToken { token, expires_at })
    }

    /// Whether `token` is a live remembered device of this user in this tenant under the
    /// organization's current policy (turning the feature off, or shortening it, applies at once).
    pub async fn check_remembered_device(
        &self,
        tenant: &TenantId,
        user: &UserId,
        token: &str,
        policy: &MfaPolicy,
    ) -> Result<bool> {
        let Some(lifetime) = policy.remember_device_for() else { return Ok(false) };
        if !token.starts_with(DEVICE_TOKEN_PREFIX) || token.len() > 128 {
            return Ok(false);
        }
        let hash = self.keyed_hash("device-token", tenant, user, token.as_bytes())?;
        let now = self.now();
        Ok(self
            .store
            .device(tenant, user, &hash)
            .await?
            .is_some_and(|d| now < d.expires_at && now < d.created_at + lifetime))
    }

    /// Forgets every remembered device of the user. Call it when the user's sessions are revoked
    /// (password change, "sign out everywhere", account disabled).
    pub async fn revoke_remembered_devices(&self, tenant: &TenantId, user: &UserId) -> Result<usize> {
        self.store.revoke_devices(tenant, user).await
    }

    /// An administrator removes the user's two-factor authentication (lost phone): enrollment,
    /// recovery codes, remembered devices, replay state and lockout are cleared, and the reset is
    /// recorded. Returns the record for the host's audit log. With a mandate in force, the user
    /// gets a new grace period from now.
    pub async fn admin_reset(
        &self,
        tenant: &TenantId,
        user: &UserId,
        by: &UserId,
        reason: &str,
    ) -> Result<ResetRecord> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::InvalidParameter("a reset needs a reason, recorded for audit".to_owned()));
        }
        if reason.len() > MAX_REASON_LEN {
            return Err(Error::InvalidParameter(format!(
                "the reason is {} bytes long, the limit is {MAX_REASON_LEN}",
                reason.len()
            )));
        }
        let record = ResetRecord { at: self.now(), by: by.clone(), reason: reason.to_owned() };
        self.store.reset(tenant, user, record.clone()).await?;
        self.used_steps.clear(tenant, user).await?;
        self.throttle.record_success(&Self::throttle_key(tenant, user)).await?;
        Ok(record)
    }

    /// The user's two-factor state, for [`MfaPolicy::decide`] and for account pages.
    pub async fn status(&self, tenant: &TenantId, user: &UserId) -> Result<TotpStatus> {
        let now = self.now();
        let state = match self.store.enrollment(tenant, user).await? {
            Some(EnrollmentRecord { activated_at: Some(since), .. }) => TotpState::Active { since },
            Some(r) if now < r.created_at + self.pending_ttl() => {
                TotpState::Pending { expires_at: r.created_at + self.pending_ttl() }
            }
            _ => TotpState::NotEnrolled,
        };
        Ok(TotpStatus { state, last_reset: self.store.last_reset(tenant, user).await? })
    }
}
