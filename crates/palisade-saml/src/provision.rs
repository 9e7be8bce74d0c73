//! Just-in-Time provisioning: map a verified sign-in ([`ExternalIdentity`]) to a user profile and
//! role names through a per-tenant table, create or update the user, and report what changed for
//! the audit log. Pure logic over the [`UserDirectory`] trait; role enforcement is the host's
//! (e.g. palisade-rbac).
//!
//! ```
//! use palisade_saml::provision::{RoleMapping, RoleRule, plan};
//! use palisade_core::ExternalIdentity;
//! let mapping = RoleMapping {
//!     rules: vec![RoleRule { idp_groups: vec!["Admins".into(), "IT".into()], role: "admin".into() }],
//!     default_role: Some("member".into()),
//!     deny_if_unmapped: false,
//! };
//! let id = ExternalIdentity {
//!     tenant: "acme".parse()?, provider: "https://idp".into(), subject: "alice".into(),
//!     email: Some("alice@acme.test".into()), email_verified: true, given_name: None,
//!     family_name: None, display_name: None, groups: vec!["IT".into()],
//!     attributes: Default::default(), authenticated_at: None,
//! };
//! let p = plan(&mapping, &id, None)?;
//! assert!(p.created);
//! assert!(p.profile.roles.contains("admin"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeSet;

use async_trait::async_trait;
use palisade_core::ExternalIdentity;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One mapping rule: any of these IdP groups grants `role`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRule {
    /// IdP group/role values (exact, case-sensitive).
    pub idp_groups: Vec<String>,
    /// The host role name.
    pub role: String,
}

/// A tenant's group-to-role table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleMapping {
    /// Rules; several IdP groups may map to one role.
    pub rules: Vec<RoleRule>,
    /// Role given when no rule matched (if any).
    pub default_role: Option<String>,
    /// Refuse the sign-in when no rule matched (default false).
    pub deny_if_unmapped: bool,
}

impl RoleMapping {
    /// Every problem with the table.
    pub fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            if r.role.trim().is_empty() {
                problems.push(format!("rule {i}: empty role"));
            }
            if r.idp_groups.is_empty() {
                problems.push(format!("rule {i}: no IdP groups"));
            }
        }
        if self.deny_if_unmapped && self.default_role.is_some() {
            problems.push("deny_if_unmapped and default_role exclude each other".into());
        }
        if problems.is_empty() { Ok(()) } else { Err(Error::Config(problems)) }
    }
}

/// The provisioned user as the host stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    /// IdP entityID.
    pub provider: String,
    /// NameID.
    pub subject: String,
    /// E-mail.
    pub email: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Role names.
    pub roles: BTreeSet<String>,
}

/// One change, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Field name.
    pub field: &'static str,
    /// Old value.
    pub from: Option<String>,
    /// New value.
    pub to: Option<String>,
}

/// The outcome of mapping one sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProvisionPlan {
    /// The user after this sign-in.
    pub profile: UserProfile,
    /// Whether the user is new.
    pub created: bool,
    /// What changed.
    pub changes: Vec<Change>,
}

type FieldGetter = fn(&UserProfile) -> Option<String>;

/// Maps `identity` onto `existing` (or a new user).
pub fn plan(
    mapping: &RoleMapping,
    identity: &ExternalIdentity,
    existing: Option<&UserProfile>,
) -> Result<ProvisionPlan> {
    let mut roles: BTreeSet<String> = mapping
        .rules
        .iter()
        .filter(|r| r.idp_groups.iter().any(|g| identity.groups.contains(g)))
        .map(|r| r.role.clone())
        .collect();
    if roles.is_empty() {
        if mapping.deny_if_unmapped {
            return Err(Error::ProvisioningDenied(format!(
                "no role mapping matches the groups of {:?}",
                identity.subject
            )));
        }
        if let Some(d) = &mapping.default_role {
            roles.insert(d.clone());
        }
    }
    let profile = UserProfile {
        provider: identity.provider.clone(),
        subject: identity.subject.clone(),
        email: identity.email.clone(),
        given_name: identity.given_name.clone(),
        family_name: identity.family_name.clone(),
        display_name: identity.display_name.clone(),
        roles,
    };
    let mut changes = Vec::new();
    let fields: [(&'static str, FieldGetter); 5] = [
        ("email", |p| p.email.clone()),
        ("given_name", |p| p.given_name.clone()),
        ("family_name", |p| p.family_name.clone()),
        ("display_name", |p| p.display_name.clone()),
        ("roles", |p| Some(p.roles.iter().cloned().collect::<Vec<_>>().join(","))),
    ];
    for (field, get) in fields {
        let from = existing.and_then(get);
        let to = get(&profile);
        if from != to {
            changes.push(Change { field, from, to });
        }
    }
    Ok(ProvisionPlan { profile, created: existing.is_none(), changes })
}

/// Where the host keeps users.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    /// The user for (provider, subject), if provisioned before.
    async fn find(&self, provider: &str, subject: &str) -> Result<Option<UserProfile>>;
    /// Creates or replaces the user.
    async fn upsert(&self, profile: &UserProfile) -> Result<()>;
}

/// Create-or-update on sign-in; returns the plan that was applied (for the audit log).
pub async fn provision(
    dir: &dyn UserDirectory,
    mapping: &RoleMapping,
    identity: &ExternalIdentity,
) -> Result<ProvisionPlan> {
    let existing = dir.find(&identity.provider, &identity.subject).await?;
    let p = plan(mapping, identity, existing.as_ref())?;
    if p.created || !p.changes.is_empty() {
        dir.upsert(&p.profile).await?;
    }
    Ok(p)
}

/// In-memory [`UserDirectory`].
#[derive(Debug, Default)]
pub struct MemoryUserDirectory {
    users: std::sync::Mutex<Vec<UserProfile>>,
}

#[async_trait]
impl UserDirectory for MemoryUserDirectory {
    async fn find(&self, provider: &str, subject: &str) -> Result<Option<UserProfile>> {
        let users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(users.iter().find(|u| u.provider == provider && u.subject == subject).cloned())
    }

    async fn upsert(&self, profile: &UserProfile) -> Result<()> {
        let mut users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        users.retain(|u| !(u.provider == profile.provider && u.subject == profile.subject));
        users.push(profile.clone());
        Ok(())
    }
}
