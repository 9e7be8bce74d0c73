//! Validated names: roles, privileges, asset types and the ids of projects, folders, assets and
//! groups.
//!
//! * [`Name`] (project, folder, asset and group ids): 1 to 128 ASCII characters, letters, digits,
//!   `-`, `_`, `.`, `@`, `:`, starting with a letter or digit (the palisade id syntax, longer).
//! * [`AssetType`] and privilege names: 1 to 32 characters, lowercase ASCII letters, digits and
//!   `_`, starting with a letter.
//! * [`RoleName`]: 1 to 64 printable characters (spaces allowed inside, no `,`, no control
//!   characters, no leading or trailing space); case-sensitive.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, shorten};

fn bad(kind: &'static str, value: &str, reason: impl Into<String>) -> Error {
    Error::InvalidName { kind, value: shorten(value), reason: reason.into() }
}

pub(crate) fn check_name(kind: &'static str, value: &str) -> Result<(), Error> {
    if value.is_empty() || value.len() > 128 {
        return Err(bad(kind, value, "use 1 to 128 characters"));
    }
    let mut chars = value.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        return Err(bad(kind, value, "start with an ASCII letter or digit"));
    }
    if let Some(c) = chars.find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | ':')))
    {
        return Err(bad(kind, value, format!("{c:?} is not allowed; use ASCII letters, digits, - _ . @ :")));
    }
    Ok(())
}

pub(crate) fn check_token(kind: &'static str, value: &str) -> Result<(), Error> {
    if value.is_empty() || value.len() > 32 {
        return Err(bad(kind, value, "use 1 to 32 characters"));
    }
    let mut chars = value.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_lowercase()) {
        return Err(bad(kind, value, "start with a lowercase ASCII letter"));
    }
    if let Some(c) = chars.find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')) {
        return Err(bad(
            kind,
            value,
            format!("{c:?} is not allowed; use lowercase ASCII letters, digits and _"),
        ));
    }
    Ok(())
}

pub(crate) fn check_role(value: &str) -> Result<(), Error> {
    let kind = "role name";
    if value.is_empty() || value.chars().count() > 64 {
        return Err(bad(kind, value, "use 1 to 64 characters"));
    }
    if value.trim() != value {
        return Err(bad(kind, value, "remove the leading or trailing spaces"));
    }
    if let Some(c) = value.chars().find(|c| c.is_control() || *c == ',') {
        return Err(bad(kind, value, format!("{c:?} is not allowed")));
    }
    Ok(())
}

palisade_core::validated_string!(
    /// The id of a project, folder, asset or group, unique within its kind in one tenant.
    pub Name,
    Error,
    |v: &str| check_name("name", v),
    Borrow<str>
);
palisade_core::validated_string!(
    /// An asset type: `recipe`, `connection`, … or host-defined. `workspace`, `project` and
    /// `folder` are the built-in container types.
    pub AssetType,
    Error,
    |v: &str| check_token("asset type", v),
    Borrow<str>
);
palisade_core::validated_string!(
    /// A role name, case-sensitive: `Admin`, `Analyst`, `Operator`, `NoAccess` or a custom role.
    pub RoleName,
    Error,
    check_role,
    Borrow<str>
);

/// A privilege, optionally qualified by an asset type.
///
/// * `view`, `edit`, `run`, …: the privilege on the resource's own type;
/// * `recipe.create`: the privilege on *recipes*, asked of a container (the workspace, a project
///   or a folder): "may this user create recipes in this folder?". Asked of an asset, the
///   qualifier must be the asset's own type.
///
/// ```
/// use palisade_rbac::Privilege;
/// let p: Privilege = "recipe.create".parse()?;
/// assert_eq!(p.name(), "create");
/// assert_eq!(p.qualifier(), Some("recipe"));
/// # Ok::<(), palisade_rbac::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Privilege {
    text: Box<str>,
    dot: usize,
}

impl Privilege {
    /// Parses `name` or `asset_type.name`.
    pub fn new(value: impl Into<String>) -> Result<Self, Error> {
        let value = value.into();
        let dot = match value.split_once('.') {
            Some((q, n)) => {
                check_token("asset type", q)?;
                check_token("privilege", n)?;
                q.len() + 1
            }
            None => {
                check_token("privilege", &value)?;
                0
            }
        };
        Ok(Self { text: value.into_boxed_str(), dot })
    }

    /// The privilege name without qualifier.
    pub fn name(&self) -> &str {
        self.text.get(self.dot..).unwrap_or("")
    }

    /// The asset type qualifier, if any.
    pub fn qualifier(&self) -> Option<&str> {
        if self.dot == 0 { None } else { self.text.get(..self.dot - 1) }
    }

    /// The privilege as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Privilege({:?})", &*self.text)
    }
}

impl FromStr for Privilege {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

impl TryFrom<String> for Privilege {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::new(s)
    }
}

impl From<Privilege> for String {
    fn from(p: Privilege) -> String {
        p.text.into_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(Name::new("sales-2026").is_ok());
        assert!(Name::new("a/b").is_err());
        assert!(Name::new("").is_err());
        assert!(AssetType::new("lookup_table").is_ok());
        assert!(AssetType::new("Recipe").is_err());
        assert!(RoleName::new("DevOps Admin").is_ok());
        assert!(RoleName::new(" Admin").is_err());
        assert!(RoleName::new("a,b").is_err());
        let p = Privilege::new("view").unwrap();
        assert_eq!((p.name(), p.qualifier()), ("view", None));
        assert!(Privilege::new("recipe.").is_err());
        assert!(Privilege::new(".view").is_err());
        assert!(Privilege::new("a.b.c").is_err());
    }
}
