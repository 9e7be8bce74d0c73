//! The policy catalog: what hosts keep in files or in a [`crate::PolicyStore`] and publish to
//! the engine. Serde types with `deny_unknown_fields`; [`PolicyCatalog::validate`] reports every
//! problem at once. The file format (JSON or TOML) is documented in the crate README.

use std::collections::BTreeMap;
use std::path::Path;

use palisade_core::{EnvironmentId, TenantId, UserId};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::names::{AssetType, Name, RoleName};

/// Every tenant's policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyCatalog {
    /// One entry per tenant (workspace).
    #[serde(default)]
    pub tenants: Vec<TenantPolicy>,
}

/// The environments a tenant gets when its policy names none.
pub const DEFAULT_ENVIRONMENTS: [&str; 3] = ["development", "test", "production"];

fn default_environments() -> Vec<EnvironmentId> {
    DEFAULT_ENVIRONMENTS.iter().filter_map(|e| EnvironmentId::new(*e).ok()).collect()
}

/// One tenant's role catalog, resource tree, groups and per-environment assignments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantPolicy {
    /// The tenant (workspace).
    pub id: TenantId,
    /// Its environments; default `development`, `test`, `production`.
    #[serde(default = "default_environments")]
    pub environments: Vec<EnvironmentId>,
    /// Host-defined asset types, in addition to the built-in ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asset_types: Vec<AssetType>,
    /// Host-defined privilege names, in addition to the built-in ones (at most 64 in all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub privileges: Vec<String>,
    /// Projects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<ProjectDef>,
    /// Folders (each inside a project or another folder).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<FolderDef>,
    /// Assets (each inside a project or a folder).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<AssetDef>,
    /// Custom roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleDef>,
    /// Collaborator groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupDef>,
    /// Role assignments, each for one environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignments: Vec<AssignmentDef>,
    /// The Just-in-Time provisioning role mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jit: Option<JitMapping>,
}

impl TenantPolicy {
    /// An empty policy for `id` with the default environments.
    pub fn new(id: TenantId) -> Self {
        Self {
            id,
            environments: default_environments(),
            asset_types: Vec::new(),
            privileges: Vec::new(),
            projects: Vec::new(),
            folders: Vec::new(),
            assets: Vec::new(),
            roles: Vec::new(),
            groups: Vec::new(),
            assignments: Vec::new(),
            jit: None,
        }
    }

    /// Every problem with this tenant's policy.
    pub fn validate(&self) -> Result<()> {
        crate::compile::TenantData::compile(self, &[]).map(drop).map_err(Error::InvalidPolicy)
    }
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectDef {
    /// Its id, unique among the tenant's projects.
    pub id: Name,
}

/// A folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderDef {
    /// Its id, unique among the tenant's folders.
    pub id: Name,
    /// Where it lives: `project:ID` or `folder:ID`.
    pub parent: String,
}

/// An asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetDef {
    /// Its type (built-in or listed in `asset_types`).
    #[serde(rename = "type")]
    pub asset_type: AssetType,
    /// Its id, unique among the tenant's assets of that type.
    pub id: Name,
    /// Where it lives: `project:ID` or `folder:ID`.
    pub parent: String,
}

/// A custom role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    /// Its name (case-sensitive, not a system role name).
    pub name: RoleName,
    /// A role whose privileges this one starts from (a clone). Cloning `Admin` drops the
    /// admin-only privileges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub based_on: Option<RoleName>,
    /// Privileges per type: keys are an asset type, `project`, `folder`, `workspace` or `*`
    /// (every type but `workspace`); values are privilege names or `full`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub privileges: BTreeMap<String, Vec<String>>,
    /// Where the role applies: `project:ID` and `folder:ID` entries; absent = all projects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
}

/// A collaborator group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDef {
    /// Its id, unique among the tenant's groups.
    pub id: Name,
    /// Its users.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<UserId>,
    /// Groups whose members are members of this one too (no cycles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Name>,
}

/// A role given to a user or a group in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentDef {
    /// The environment.
    pub environment: EnvironmentId,
    /// The user (exactly one of `user` and `group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
    /// The group (exactly one of `user` and `group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Name>,
    /// `Admin`, `Analyst`, `Operator`, a custom role, or `NoAccess` (removes every access to the
    /// environment, overriding all other assignments of the subject there).
    pub role: RoleName,
    /// Where the assignment applies: `project:ID` and `folder:ID` entries; absent = all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
    /// Whether the subject may deploy into this environment (within the scope).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deploy: bool,
}

impl AssignmentDef {
    /// `role` for `user` in `environment`, on the whole workspace, without the deploy right.
    pub fn for_user(environment: EnvironmentId, user: UserId, role: RoleName) -> Self {
        Self { environment, user: Some(user), group: None, role, scope: None, deploy: false }
    }

    /// `role` for the members of `group` in `environment`, on the whole workspace, without the
    /// deploy right.
    pub fn for_group(environment: EnvironmentId, group: Name, role: RoleName) -> Self {
        Self { environment, user: None, group: Some(group), role, scope: None, deploy: false }
    }
}

/// How JIT provisioning turns an identity provider's attributes and groups into roles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JitMapping {
    /// The role for an environment no rule maps: a role name or `NoAccess`. Absent: an unmapped
    /// environment is an error ([`Error::Unmapped`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_role: Option<RoleName>,
    /// Rules, by priority: the first that matches an environment decides it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<JitRule>,
}

/// One JIT mapping rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JitRule {
    /// The environment this rule maps.
    pub environment: EnvironmentId,
    /// An attribute whose (first) value is the role name, e.g. `workato_role_prod`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// An identity-provider group (exact, case-sensitive) that gets `role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The role of a `group` rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleName>,
}

impl PolicyCatalog {
    /// Parses a catalog from JSON.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::Parse { format: "json", message: e.to_string() })
    }

    /// Parses a catalog from TOML.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Parse { format: "toml", message: e.to_string() })
    }

    /// Parses `text` as the format named by `path`'s extension: `.json` or `.toml`. `.yaml` and
    /// `.yml` are refused; any other extension is read as JSON when the text starts with `{`,
    /// else as TOML.
    pub fn from_text(path: &Path, text: &str) -> Result<Self> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("json") => Self::from_json(text),
            Some("toml") => Self::from_toml(text),
            Some(ext @ ("yaml" | "yml")) => Err(Error::UnsupportedFormat(ext.to_owned())),
            _ if text.trim_start().starts_with('{') => Self::from_json(text),
            _ => Self::from_toml(text),
        }
    }

    /// Reads and parses a policy file (see [`PolicyCatalog::from_text`]).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Parse {
            format: "file",
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        Self::from_text(path, &text)
    }

    /// The policy of `tenant`, if the catalog has it.
    pub fn tenant(&self, tenant: &palisade_core::TenantId) -> Option<&TenantPolicy> {
        self.tenants.iter().find(|t| &t.id == tenant)
    }

    /// Serializes the catalog as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Every problem in the catalog, across tenants.
    pub fn validate(&self) -> Result<()> {
        crate::compile::compile_catalog(self).map(drop)
    }
}
