//! Just-in-Time role mapping: from an identity provider's attributes and groups to one role per
//! environment.
//!
//! For each environment of the tenant, the first rule of [`crate::JitMapping::rules`] that
//! matches decides: an `attribute` rule matches when the identity carries that attribute (its
//! first value is the role name); a `group` rule matches when the identity is in that group
//! (exact, case-sensitive). Otherwise `default_role` applies; without one the sign-in fails with
//! [`Error::Unmapped`]. Role names are case-sensitive; an unknown one is [`Error::UnknownRole`].

use std::collections::BTreeMap;

use palisade_core::{EnvironmentId, ExternalIdentity, UserId};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::names::RoleName;
use crate::policy::{AssignmentDef, TenantPolicy};
use crate::roles::{NO_ACCESS, SYSTEM_ROLES};

/// Where a JIT role came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum JitSource {
    /// An attribute's value.
    Attribute(String),
    /// Membership of an identity-provider group.
    Group(String),
    /// The tenant's default role.
    Default,
}

/// One environment's resolved role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JitRole {
    /// The role (`NoAccess` removes access to the environment).
    pub role: RoleName,
    /// Which rule decided.
    pub source: JitSource,
}

impl TenantPolicy {
    fn role_exists(&self, name: &str) -> bool {
        name == NO_ACCESS
            || SYSTEM_ROLES.contains(&name)
            || self.roles.iter().any(|r| r.name.as_str() == name)
    }

    /// Resolves an identity's role for every environment of this tenant.
    pub fn resolve_jit(&self, identity: &ExternalIdentity) -> Result<BTreeMap<EnvironmentId, JitRole>> {
        let unknown = |role: &str| Error::UnknownRole {
            tenant: self.id.to_string(),
            role: crate::error::shorten(role),
        };
        let mapping = self.jit.clone().unwrap_or_default();
        let mut out = BTreeMap::new();
        for env in &self.environments {
            let mut chosen: Option<JitRole> = None;
            for rule in mapping.rules.iter().filter(|r| &r.environment == env) {
                if let Some(attr) = &rule.attribute {
                    if let Some(value) = identity.attributes.get(attr).and_then(|v| v.first()) {
                        if !self.role_exists(value) {
                            return Err(unknown(value));
                        }
                        let role = RoleName::new(value.as_str()).map_err(|_| unknown(value))?;
                        chosen = Some(JitRole { role, source: JitSource::Attribute(attr.clone()) });
                        break;
                    }
                } else if let (Some(group), Some(role)) = (&rule.group, &rule.role)
                    && identity.groups.iter().any(|g| g == group)
                {
                    if !self.role_exists(role.as_str()) {
                        return Err(unknown(role.as_str()));
                    }
                    chosen = Some(JitRole { role: role.clone(), source: JitSource::Group(group.clone()) });
                    break;
                }
            }
            let chosen = match chosen {
                Some(c) => c,
                None => match &mapping.default_role {
                    Some(d) if self.role_exists(d.as_str()) => {
                        JitRole { role: d.clone(), source: JitSource::Default }
                    }
                    Some(d) => return Err(unknown(d.as_str())),
                    None => {
                        return Err(Error::Unmapped {
                            tenant: self.id.to_string(),
                            environment: env.to_string(),
                        });
                    }
                },
            };
            out.insert(env.clone(), chosen);
        }
        Ok(out)
    }

    /// Replaces `user`'s direct assignments in the resolved environments with the resolved roles
    /// (whole workspace, no deploy right). Group-derived roles are untouched.
    pub fn apply_jit(&mut self, user: &UserId, roles: &BTreeMap<EnvironmentId, JitRole>) {
        self.assignments.retain(|a| !(a.user.as_ref() == Some(user) && roles.contains_key(&a.environment)));
        for (env, r) in roles {
            self.assignments.push(AssignmentDef::for_user(env.clone(), user.clone(), r.role.clone()));
        }
    }
}
