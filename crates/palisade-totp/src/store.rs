//! Where enrollments, recovery-code hashes, remembered devices and reset records live.
//!
//! [`TotpStore`] is the trait a host implements over its database; [`MemoryTotpStore`] is the
//! in-memory implementation for tests and single-process hosts. Secrets never reach the store in
//! clear: the authenticator secret is a [`SealedSecret`], recovery codes and device tokens are
//! keyed hashes ([`KeyedHash`]).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use palisade_core::{SealedSecret, TenantId, UserId, ct_eq};
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::otp::TotpParams;

/// An HMAC-SHA-256 of a recovery code or a device token under the host's hashing key.
pub type KeyedHash = [u8; 32];

/// The most remembered devices kept per user; the oldest is dropped beyond it.
pub const MAX_DEVICES_PER_USER: usize = 32;

/// A user's authenticator enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentRecord {
    /// The secret, sealed for (tenant, `totp-secret`, user).
    pub sealed_secret: SealedSecret,
    /// The code parameters the user's app was given.
    pub params: TotpParams,
    /// When enrollment started.
    pub created_at: OffsetDateTime,
    /// When the user proved possession with a valid code; `None` while pending.
    pub activated_at: Option<OffsetDateTime>,
}

impl EnrollmentRecord {
    /// Whether the enrollment is active (confirmed with a code).
    pub fn is_active(&self) -> bool {
        self.activated_at.is_some()
    }
}

/// An admin reset of a user's two-factor authentication, kept for audit and for the new
/// enrollment grace period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResetRecord {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The administrator who reset it.
    pub by: UserId,
    /// Why (free text recorded for audit).
    pub reason: String,
}

/// A remembered device: the hash of its token and its lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Keyed hash of the token.
    pub hash: KeyedHash,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it stops being trusted.
    pub expires_at: OffsetDateTime,
}

/// Storage for the two-factor state of users. Every method is atomic per user.
#[async_trait]
pub trait TotpStore: Send + Sync + fmt::Debug {
    /// The user's enrollment (pending or active), if any.
    async fn enrollment(&self, tenant: &TenantId, user: &UserId) -> Result<Option<EnrollmentRecord>>;
    /// Stores a pending enrollment, replacing a pending one. Fails with
    /// [`Error::AlreadyEnrolled`] (and changes nothing) if an active enrollment exists.
    async fn put_pending(&self, tenant: &TenantId, user: &UserId, record: EnrollmentRecord) -> Result<()>;
    /// Activates the pending enrollment whose sealed secret is `sealed` and installs the
    /// recovery-code hashes, in one step. `false` (nothing changed) when that pending enrollment
    /// is no longer there.
    async fn activate(
        &self,
        tenant: &TenantId,
        user: &UserId,
        sealed: &SealedSecret,
        at: OffsetDateTime,
        recovery_codes: Vec<KeyedHash>,
    ) -> Result<bool>;
    /// Replaces the user's recovery-code hashes (the old set stops working). Fails with
    /// [`Error::NotEnrolled`] when the user has no active enrollment.
    async fn replace_recovery_codes(
        &self,
        tenant: &TenantId,
        user: &UserId,
        codes: Vec<KeyedHash>,
    ) -> Result<()>;
    /// Removes `hash` from the user's unused recovery codes; `Some(remaining)` if it was there.
    async fn consume_recovery_code(
        &self,
        tenant: &TenantId,
        user: &UserId,
        hash: &KeyedHash,
    ) -> Result<Option<usize>>;
    /// How many unused recovery codes the user has.
    async fn recovery_codes_remaining(&self, tenant: &TenantId, user: &UserId) -> Result<usize>;
    /// Adds a remembered device.
    async fn add_device(&self, tenant: &TenantId, user: &UserId, device: DeviceRecord) -> Result<()>;
    /// The remembered device with token hash `hash`, if the user has it (expired or not).
    async fn device(
        &self,
        tenant: &TenantId,
        user: &UserId,
        hash: &KeyedHash,
    ) -> Result<Option<DeviceRecord>>;
    /// Forgets all the user's remembered devices; returns how many there were.
    async fn revoke_devices(&self, tenant: &TenantId, user: &UserId) -> Result<usize>;
    /// Removes the enrollment, recovery codes and remembered devices and records `reset`, in
    /// one step.
    async fn reset(&self, tenant: &TenantId, user: &UserId, reset: ResetRecord) -> Result<()>;
    /// The user's last admin reset, if any.
    async fn last_reset(&self, tenant: &TenantId, user: &UserId) -> Result<Option<ResetRecord>>;
}

#[derive(Debug, Default)]
struct UserEntry {
    enrollment: Option<EnrollmentRecord>,
    recovery: Vec<KeyedHash>,
    devices: Vec<DeviceRecord>,
    last_reset: Option<ResetRecord>,
}

/// An in-memory [`TotpStore`] for one process.
#[derive(Debug, Default)]
pub struct MemoryTotpStore {
    users: Mutex<HashMap<(TenantId, UserId), UserEntry>>,
}

impl MemoryTotpStore {
    fn with<R>(&self, tenant: &TenantId, user: &UserId, f: impl FnOnce(&mut UserEntry) -> R) -> R {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        f(users.entry((tenant.clone(), user.clone())).or_default())
    }

    fn update<R: Default>(&self, tenant: &TenantId, user: &UserId, f: impl FnOnce(&mut UserEntry) -> R) -> R {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users.get_mut(&(tenant.clone(), user.clone())).map(f).unwrap_or_default()
    }

    fn read<R: Default>(&self, tenant: &TenantId, user: &UserId, f: impl FnOnce(&UserEntry) -> R) -> R {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users.get(&(tenant.clone(), user.clone())).map(f).unwrap_or_default()
    }
}

/// Constant-time membership: every stored hash is compared.
fn position(hashes: impl Iterator<Item = KeyedHash>, wanted: &KeyedHash) -> Option<usize> {
    let mut found = None;
    for (i, h) in hashes.enumerate() {
        if ct_eq(&h, wanted) && found.is_none() {
            found = Some(i);
        }
    }
    found
}

#[async_trait]
impl TotpStore for MemoryTotpStore {
    async fn enrollment(&self, tenant: &TenantId, user: &UserId) -> Result<Option<EnrollmentRecord>> {
        Ok(self.read(tenant, user, |e| e.enrollment.clone()))
    }

    async fn put_pending(&self, tenant: &TenantId, user: &UserId, record: EnrollmentRecord) -> Result<()> {
        self.with(tenant, user, |e| {
            if e.enrollment.as_ref().is_some_and(EnrollmentRecord::is_active) {
                return Err(Error::AlreadyEnrolled);
            }
            e.enrollment = Some(record);
            Ok(())
        })
    }

    async fn activate(
        &self,
        tenant: &TenantId,
        user: &UserId,
        sealed: &SealedSecret,
        at: OffsetDateTime,
        recovery_codes: Vec<KeyedHash>,
    ) -> Result<bool> {
        Ok(self.update(tenant, user, |e| match &mut e.enrollment {
            Some(rec) if !rec.is_active() && ct_eq(&rec.sealed_secret.0, &sealed.0) => {
                rec.activated_at = Some(at);
                e.recovery = recovery_codes;
                true
            }
            _ => false,
        }))
    }

    async fn replace_recovery_codes(
        &self,
        tenant: &TenantId,
        user: &UserId,
        codes: Vec<KeyedHash>,
    ) -> Result<()> {
        let replaced = self.update(tenant, user, |e| {
            let active = e.enrollment.as_ref().is_some_and(EnrollmentRecord::is_active);
            if active {
                e.recovery = codes;
            }
            active
        });
        if replaced { Ok(()) } else { Err(Error::NotEnrolled) }
    }

    async fn consume_recovery_code(
        &self,
        tenant: &TenantId,
        user: &UserId,
        hash: &KeyedHash,
    ) -> Result<Option<usize>> {
        Ok(self.update(tenant, user, |e| {
            let i = position(e.recovery.iter().copied(), hash)?;
            e.recovery.swap_remove(i);
            Some(e.recovery.len())
        }))
    }

    async fn recovery_codes_remaining(&self, tenant: &TenantId, user: &UserId) -> Result<usize> {
        Ok(self.read(tenant, user, |e| e.recovery.len()))
    }

    async fn add_device(&self, tenant: &TenantId, user: &UserId, device: DeviceRecord) -> Result<()> {
        self.with(tenant, user, |e| {
            let now = device.created_at;
            e.devices.retain(|d| d.expires_at > now);
            if e.devices.len() >= MAX_DEVICES_PER_USER {
                e.devices.sort_by_key(|d| d.created_at);
                e.devices.remove(0);
            }
            e.devices.push(device);
        });
        Ok(())
    }

    async fn device(
        &self,
        tenant: &TenantId,
        user: &UserId,
        hash: &KeyedHash,
    ) -> Result<Option<DeviceRecord>> {
        Ok(self.read(tenant, user, |e| {
            position(e.devices.iter().map(|d| d.hash), hash).and_then(|i| e.devices.get(i).cloned())
        }))
    }

    async fn revoke_devices(&self, tenant: &TenantId, user: &UserId) -> Result<usize> {
        Ok(self.update(tenant, user, |e| std::mem::take(&mut e.devices).len()))
    }

    async fn reset(&self, tenant: &TenantId, user: &UserId, reset: ResetRecord) -> Result<()> {
        self.with(tenant, user, |e| {
            e.enrollment = None;
            e.recovery.clear();
            e.devices.clear();
            e.last_reset = Some(reset);
        });
        Ok(())
    }

    async fn last_reset(&self, tenant: &TenantId, user: &UserId) -> Result<Option<ResetRecord>> {
        Ok(self.read(tenant, user, |e| e.last_reset.clone()))
    }
}
