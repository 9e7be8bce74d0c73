//! The action names palisade's crates use, so that hosts record them consistently.
//!
//! The list is in `docs/audit-actions.md`; it grows as crates land. Hosts add their own names
//! under their own first segment (`recipe.`, `connection.`, `job.`).

/// A user signed in.
pub const USER_LOGIN_SUCCEEDED: &str = "user.login.succeeded";
/// A sign-in failed (wrong password, unknown user, locked out).
pub const USER_LOGIN_FAILED: &str = "user.login.failed";
/// A user signed out.
pub const USER_LOGOUT: &str = "user.logout";
/// A user's password was changed.
pub const USER_PASSWORD_CHANGED: &str = "user.password.changed";
/// A password reset was completed.
pub const USER_PASSWORD_RESET: &str = "user.password.reset";
/// A second factor was enrolled.
pub const USER_MFA_ENROLLED: &str = "user.mfa.enrolled";
/// A user's second factor was reset by an admin.
pub const USER_MFA_RESET: &str = "user.mfa.reset";
/// A recovery code was used.
pub const USER_MFA_RECOVERY_CODE_USED: &str = "user.mfa.recovery_code_used";
/// An account was locked after failed attempts.
pub const USER_LOCKED: &str = "user.locked";
/// A user was provisioned (e.g. Just-in-Time by SSO).
pub const USER_PROVISIONED: &str = "user.provisioned";
/// A session was revoked.
pub const SESSION_REVOKED: &str = "session.revoked";
/// A role was assigned.
pub const ROLE_ASSIGNED: &str = "role.assigned";
/// A role was removed.
pub const ROLE_REVOKED: &str = "role.revoked";
/// A key was rotated.
pub const KEY_ROTATED: &str = "key.rotated";
/// A key was destroyed (crypto-shredding).
pub const KEY_DESTROYED: &str = "key.destroyed";
/// Data was purged by a retention policy.
pub const RETENTION_PURGED: &str = "retention.purged";
/// An IP allowlist was changed.
pub const IPFILTER_UPDATED: &str = "ipfilter.updated";
/// A request was denied by the IP allowlist.
pub const IPFILTER_DENIED: &str = "ipfilter.denied";
/// An SSO configuration was changed.
pub const SSO_CONFIG_UPDATED: &str = "sso.config.updated";
/// An audit destination was changed.
pub const AUDIT_DESTINATION_UPDATED: &str = "audit.destination.updated";

/// Every name above.
pub const ALL: &[&str] = &[
    USER_LOGIN_SUCCEEDED,
    USER_LOGIN_FAILED,
    USER_LOGOUT,
    USER_PASSWORD_CHANGED,
    USER_PASSWORD_RESET,
    USER_MFA_ENROLLED,
    USER_MFA_RESET,
    USER_MFA_RECOVERY_CODE_USED,
    USER_LOCKED,
    USER_PROVISIONED,
    SESSION_REVOKED,
    ROLE_ASSIGNED,
    ROLE_REVOKED,
    KEY_ROTATED,
    KEY_DESTROYED,
    RETENTION_PURGED,
    IPFILTER_UPDATED,
    IPFILTER_DENIED,
    SSO_CONFIG_UPDATED,
    AUDIT_DESTINATION_UPDATED,
];

#[cfg(test)]
mod tests {
    #[test]
    fn all_names_are_valid_actions() {
        for a in super::ALL {
            assert!(crate::Action::new(*a).is_ok(), "{a}");
        }
    }
}
