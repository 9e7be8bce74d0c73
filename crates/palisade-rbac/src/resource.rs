//! Resources and their string syntax.
//!
//! ```text
//! resource  = [ tenant "/" ] target
//! target    = "workspace"              ; the tenant itself (workspace-level privileges)
//!           | "project:" name
//!           | "folder:" name
//!           | asset-type ":" name      ; recipe:r1, connection:salesforce-prod, ...
//! ```
//!
//! The type is everything before the first `:`, the name everything after it (a name may itself
//! contain `:`). The typed [`Resource`] never names a tenant: it is always checked against the
//! snapshot of one tenant, so a check across tenants cannot be written with it. Only the string
//! form ([`ResourceString`]) may carry a tenant prefix; when it names another tenant than the
//! request's, the check is a logged deny ([`crate::DenyReason::CrossTenant`]).

use std::fmt;
use std::str::FromStr;

use palisade_core::TenantId;

use crate::error::{Error, shorten};
use crate::names::{AssetType, Name, check_name, check_token};

/// A resource of one tenant: the workspace, a project, a folder or an asset.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Resource {
    /// The tenant (workspace) itself.
    Workspace,
    /// A project.
    Project(Name),
    /// A folder.
    Folder(Name),
    /// An asset of a host-defined type.
    Asset {
        /// Its type.
        asset_type: AssetType,
        /// Its id.
        id: Name,
    },
}

impl Resource {
    /// The resource's type name: `workspace`, `project`, `folder` or the asset type.
    pub fn type_name(&self) -> &str {
        match self {
            Resource::Workspace => "workspace",
            Resource::Project(_) => "project",
            Resource::Folder(_) => "folder",
            Resource::Asset { asset_type, .. } => asset_type.as_str(),
        }
    }

    /// The resource's id (`None` for the workspace).
    pub fn id(&self) -> Option<&str> {
        match self {
            Resource::Workspace => None,
            Resource::Project(n) | Resource::Folder(n) | Resource::Asset { id: n, .. } => Some(n.as_str()),
        }
    }

    /// Whether the resource can hold others (workspace, project, folder).
    pub fn is_container(&self) -> bool {
        !matches!(self, Resource::Asset { .. })
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id() {
            None => f.write_str("workspace"),
            Some(id) => write!(f, "{}:{id}", self.type_name()),
        }
    }
}

/// A resource of a published snapshot, borrowed from its tables (what [`crate::Listing`] holds):
/// its type name and id. `Display` writes it as [`Resource`] does (`workspace`, `TYPE:ID`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ResourceRef<'a> {
    type_name: &'a str,
    id: Option<&'a str>,
}

impl<'a> ResourceRef<'a> {
    pub(crate) fn new(type_name: &'a str, id: Option<&'a str>) -> Self {
        Self { type_name, id }
    }

    /// The resource's type name: `workspace`, `project`, `folder` or the asset type.
    pub fn type_name(&self) -> &'a str {
        self.type_name
    }

    /// The resource's id (`None` for the workspace).
    pub fn id(&self) -> Option<&'a str> {
        self.id
    }

    /// Whether the resource can hold others (workspace, project, folder).
    pub fn is_container(&self) -> bool {
        matches!(self.type_name, "workspace" | "project" | "folder")
    }

    /// An owned [`Resource`] for the same node.
    pub fn to_resource(&self) -> Result<Resource, Error> {
        match self.id {
            None => Ok(Resource::Workspace),
            Some(id) => parse_target(&format!("{}:{id}", self.type_name)),
        }
    }
}

impl fmt::Display for ResourceRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id {
            None => f.write_str("workspace"),
            Some(id) => write!(f, "{}:{id}", self.type_name),
        }
    }
}

impl PartialEq<Resource> for ResourceRef<'_> {
    fn eq(&self, other: &Resource) -> bool {
        self.type_name == other.type_name() && self.id == other.id()
    }
}

pub(crate) fn parse_target(s: &str) -> Result<Resource, Error> {
    let bad = |reason: &str| Error::InvalidResource { value: shorten(s), reason: reason.to_owned() };
    if s == "workspace" {
        return Ok(Resource::Workspace);
    }
    let Some((ty, id)) = s.split_once(':') else {
        return Err(bad("missing `:` between the type and the id"));
    };
    check_token("asset type", ty).map_err(|e| bad(&e.to_string()))?;
    check_name("resource id", id).map_err(|e| bad(&e.to_string()))?;
    let name = Name::new(id)?;
    Ok(match ty {
        "workspace" => return Err(bad("the workspace takes no id: write `workspace`")),
        "project" => Resource::Project(name),
        "folder" => Resource::Folder(name),
        _ => Resource::Asset { asset_type: AssetType::new(ty)?, id: name },
    })
}

impl FromStr for Resource {
    type Err = Error;
    /// Parses a target without tenant prefix.
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.contains('/') {
            return Err(Error::InvalidResource {
                value: shorten(s),
                reason: "a typed resource takes no tenant prefix; use ResourceString".into(),
            });
        }
        parse_target(s)
    }
}

/// A resource as written in a string API: an optional tenant prefix and a target.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ResourceString {
    /// The tenant named by the prefix, if any.
    pub tenant: Option<TenantId>,
    /// The resource.
    pub resource: Resource,
}

impl FromStr for ResourceString {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.split_once('/') {
            Some((t, rest)) => {
                let tenant = TenantId::new(t).map_err(|e| Error::InvalidResource {
                    value: shorten(s),
                    reason: format!("bad tenant prefix: {e}"),
                })?;
                Ok(Self { tenant: Some(tenant), resource: parse_target(rest)? })
            }
            None => Ok(Self { tenant: None, resource: parse_target(s)? }),
        }
    }
}

impl fmt::Display for ResourceString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tenant {
            Some(t) => write!(f, "{t}/{}", self.resource),
            None => write!(f, "{}", self.resource),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn syntax() {
        assert_eq!("workspace".parse::<Resource>().unwrap(), Resource::Workspace);
        let r: Resource = "recipe:urn:x:1".parse().unwrap();
        assert_eq!((r.type_name(), r.id()), ("recipe", Some("urn:x:1")));
        assert_eq!(r.to_string(), "recipe:urn:x:1");
        assert!(matches!("folder:f1".parse::<Resource>().unwrap(), Resource::Folder(_)));
        for bad in ["", "recipe", "recipe:", ":x", "Recipe:x", "workspace:acme", "a/recipe:x", "recipe:a b"] {
            assert!(bad.parse::<Resource>().is_err(), "{bad}");
        }
        let s: ResourceString = "globex/recipe:r1".parse().unwrap();
        assert_eq!(s.tenant.as_ref().map(|t| t.as_str()), Some("globex"));
        assert_eq!(s.to_string(), "globex/recipe:r1");
        assert!("a/b/recipe:x".parse::<ResourceString>().is_err());
        assert!("/recipe:x".parse::<ResourceString>().is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = s.parse::<ResourceString>();
        }
    }
}
