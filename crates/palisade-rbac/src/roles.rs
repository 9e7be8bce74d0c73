//! The built-in vocabulary: container and asset types, privileges, and the fixed privilege
//! table of the system roles `Admin`, `Analyst` and `Operator` (see the crate README for the
//! same table in prose).

/// The container types, in tree order.
pub const CONTAINER_TYPES: [&str; 3] = ["workspace", "project", "folder"];

/// The built-in asset types; hosts add their own in `asset_types`.
pub const BUILTIN_ASSET_TYPES: [&str; 6] =
    ["recipe", "connection", "lookup_table", "data_table", "api_key", "custom_connector"];

/// Privileges on projects, folders and assets; `full` in a role means all of these (plus the
/// host-defined privileges).
pub const ASSET_PRIVILEGES: [&str; 6] = ["view", "edit", "create", "delete", "run", "job_history"];

/// The per-environment deploy privilege: granted by `deploy = true` on an assignment, never by
/// a role.
pub const DEPLOY: &str = "deploy";

/// Workspace administration privileges, asked of the resource `workspace`.
pub const WORKSPACE_PRIVILEGES: [&str; 4] =
    ["manage_collaborators", "sso_settings", "key_management", "audit_log_streaming"];

/// Privileges only the system role `Admin` holds: a custom role cannot list them and a clone of
/// `Admin` does not keep them.
pub const ADMIN_ONLY_PRIVILEGES: [&str; 2] = ["key_management", "audit_log_streaming"];

/// The reserved role that removes access to an environment.
pub const NO_ACCESS: &str = "NoAccess";

/// The system roles, in their fixed order.
pub const SYSTEM_ROLES: [&str; 3] = ["Admin", "Analyst", "Operator"];

/// What a system role grants on a type: `None` if the role is not a system role.
///
/// `host_privileges` are the tenant's extra privilege names (Admin holds them on every type but
/// `workspace`). Types not listed in the table below are host-defined asset types.
pub fn system_role_grants<'a>(role: &str, ty: &str, host_privileges: &'a [String]) -> Option<Vec<&'a str>>
where
    'static: 'a,
{
    let all_asset = || -> Vec<&'a str> {
        let mut v: Vec<&'a str> = ASSET_PRIVILEGES.to_vec();
        v.extend(host_privileges.iter().map(String::as_str));
        v
    };
    let list = |s: &[&'static str]| -> Vec<&'a str> { s.to_vec() };
    Some(match role {
        "Admin" => match ty {
            "workspace" => list(&WORKSPACE_PRIVILEGES),
            _ => all_asset(),
        },
        "Analyst" => match ty {
            "workspace" | "api_key" => Vec::new(),
            "project" => list(&["view"]),
            "folder" => list(&["view", "create", "edit"]),
            "recipe" => list(&["view", "create", "edit", "run", "job_history"]),
            _ => list(&["view", "create", "edit"]),
        },
        "Operator" => match ty {
            "workspace" | "api_key" | "custom_connector" => Vec::new(),
            "recipe" => list(&["view", "run", "job_history"]),
            _ => list(&["view"]),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let none: [String; 0] = [];
        assert!(system_role_grants("Admin", "workspace", &none).unwrap().contains(&"key_management"));
        assert_eq!(system_role_grants("Operator", "recipe", &none).unwrap(), ["view", "run", "job_history"]);
        assert!(system_role_grants("Analyst", "workspace", &none).unwrap().is_empty());
        assert!(system_role_grants("admin", "recipe", &none).is_none());
        assert!(!system_role_grants("Admin", "recipe", &none).unwrap().contains(&DEPLOY));
    }
}
