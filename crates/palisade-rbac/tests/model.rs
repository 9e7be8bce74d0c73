//! Scenarios: system roles, custom roles, inheritance, groups, NoAccess, deploy, list, cross-tenant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use palisade_core::{EnvironmentId, TenantId, UserId};
use palisade_rbac::{DenyReason, Error, PolicyCatalog, Rbac, Snapshot};

const POLICY: &str = include_str!("fixtures/model.toml");

fn engine() -> Rbac {
    let rbac = Rbac::new();
    rbac.publish(&PolicyCatalog::from_toml(POLICY).unwrap()).unwrap();
    rbac
}

fn snap(rbac: &Rbac, t: &str, e: &str) -> Arc<Snapshot> {
    rbac.snapshot(&TenantId::new(t).unwrap(), &EnvironmentId::new(e).unwrap()).unwrap()
}

fn allowed(s: &Snapshot, user: &str, privilege: &str, resource: &str) -> bool {
    s.check(&UserId::new(user).unwrap(), &privilege.parse().unwrap(), &resource.parse().unwrap()).is_allowed()
}

fn reason(s: &Snapshot, user: &str, privilege: &str, resource: &str) -> Option<DenyReason> {
    s.check(&UserId::new(user).unwrap(), &privilege.parse().unwrap(), &resource.parse().unwrap())
        .deny_reason()
}

#[test]
fn system_roles_follow_the_table() {
    let rbac = engine();
    let dev = snap(&rbac, "acme", "development");
    let prod = snap(&rbac, "acme", "production");
    for p in ["manage_collaborators", "sso_settings", "key_management", "audit_log_streaming"] {
        assert!(allowed(&dev, "ann", p, "workspace"), "{p}");
        assert!(!allowed(&prod, "ann", p, "workspace"), "{p}");
    }
    for p in ["view", "edit", "create", "delete", "run", "job_history", "export"] {
        assert!(allowed(&dev, "ann", p, "recipe:r-hot"), "{p}");
    }
    // Admin gets no deploy right from the role.
    assert!(!allowed(&dev, "ann", "deploy", "project:sales"));
    // Operator in production.
    assert!(allowed(&prod, "ann", "run", "recipe:r-hot"));
    assert!(allowed(&prod, "ann", "job_history", "recipe:r-hot"));
    assert!(!allowed(&prod, "ann", "edit", "recipe:r-hot"));
    assert!(allowed(&prod, "ann", "view", "connection:sfdc"));
    assert!(!allowed(&prod, "ann", "run", "connection:sfdc"));
}

#[test]
fn folder_scope_is_inherited_downwards_only() {
    let rbac = engine();
    let prod = snap(&rbac, "acme", "production");
    assert!(allowed(&prod, "lee", "run", "recipe:r-leads"));
    assert!(allowed(&prod, "lee", "run", "recipe:r-hot")); // sub-folder
    assert!(!allowed(&prod, "lee", "run", "recipe:r-sales")); // parent project
    assert_eq!(reason(&prod, "lee", "run", "recipe:r-sales"), Some(DenyReason::NotGranted));
    assert!(allowed(&prod, "lee", "view", "connection:sfdc"));
    assert!(!allowed(&prod, "lee", "edit", "connection:sfdc"));
    // Analyst scoped to project ops.
    assert!(allowed(&prod, "lee", "edit", "recipe:r-infra"));
    assert!(allowed(&prod, "lee", "recipe.create", "folder:infra"));
    assert!(!allowed(&prod, "lee", "recipe.create", "folder:leads"));
    assert!(!allowed(&prod, "lee", "delete", "recipe:r-infra"));
    assert_eq!(
        reason(&prod, "lee", "connection.view", "recipe:r-infra"),
        Some(DenyReason::QualifierMismatch)
    );
}

#[test]
fn clone_of_admin_loses_admin_only_privileges() {
    let rbac = engine();
    let test = snap(&rbac, "acme", "test");
    assert!(allowed(&test, "cat", "manage_collaborators", "workspace"));
    assert!(allowed(&test, "cat", "sso_settings", "workspace"));
    assert!(!allowed(&test, "cat", "key_management", "workspace"));
    assert!(!allowed(&test, "cat", "audit_log_streaming", "workspace"));
    assert!(allowed(&test, "cat", "export", "playbook:pb1"));
}

#[test]
fn nested_groups_deploy_and_no_access() {
    let rbac = engine();
    let prod = snap(&rbac, "acme", "production");
    // sam is in sre (NoAccess in production) and is also directly Admin there: NoAccess wins.
    assert_eq!(reason(&prod, "sam", "view", "recipe:r-infra"), Some(DenyReason::NoAccess));
    let e = prod
        .check(&"sam".parse().unwrap(), &"view".parse().unwrap(), &"recipe:r-infra".parse().unwrap())
        .explain();
    assert!(e.message.contains("NoAccess") && e.message.contains("group:sre"), "{}", e.message);
    // In development nobody assigned sam anything.
    let dev = snap(&rbac, "acme", "development");
    assert_eq!(reason(&dev, "sam", "view", "recipe:r-infra"), Some(DenyReason::NoAssignment));
}

#[test]
fn group_grants_and_deploy_with_explanation() {
    let mut catalog = PolicyCatalog::from_toml(POLICY).unwrap();
    // Remove the NoAccess so that the devops grant (through sre → devops) shows.
    catalog.tenants[0].assignments.retain(|a| a.role.as_str() != "NoAccess");
    let rbac = Rbac::new();
    rbac.publish(&catalog).unwrap();
    let prod = snap(&rbac, "acme", "production");
    let sam = "sam".parse().unwrap();
    assert!(allowed(&prod, "sam", "deploy", "recipe:r-infra"));
    let e = prod.check(&sam, &"deploy".parse().unwrap(), &"folder:infra".parse().unwrap()).explain();
    assert!(e.allowed);
    let g = e.grant.unwrap();
    assert_eq!(g.subject, "group:devops");
    assert_eq!(g.via_groups, vec!["sre".to_owned(), "devops".to_owned()]);
    assert_eq!(g.path, vec!["folder:infra".to_owned(), "project:ops".to_owned()]);
    assert_eq!(g.scope, "project:ops");
}

#[test]
fn explained_deny_lists_what_was_considered() {
    let rbac = engine();
    let prod = snap(&rbac, "acme", "production");
    let e = prod
        .check(&"lee".parse().unwrap(), &"run".parse().unwrap(), &"recipe:r-sales".parse().unwrap())
        .explain();
    assert!(!e.allowed);
    assert_eq!(e.reason, "not_granted");
    assert_eq!(e.considered.len(), 2, "{:?}", e.considered);
    assert!(
        e.considered.iter().any(|c| c.contains("Lead runner") && c.contains("folder:leads")),
        "{:?}",
        e.considered
    );
    assert!(
        e.considered.iter().any(|c| c.contains("Analyst") && c.contains("project:ops")),
        "{:?}",
        e.considered
    );
}

#[test]
fn unknown_things_are_denied_with_their_reason() {
    let rbac = engine();
    let prod = snap(&rbac, "acme", "production");
    assert_eq!(reason(&prod, "ann", "fly", "recipe:r-hot"), Some(DenyReason::UnknownPrivilege));
    assert_eq!(reason(&prod, "ann", "view", "recipe:nope"), Some(DenyReason::UnknownResource));
    assert_eq!(reason(&prod, "ann", "view", "gizmo:x"), Some(DenyReason::UnknownResource));
    assert_eq!(reason(&prod, "nobody", "view", "recipe:r-hot"), Some(DenyReason::NoAssignment));
}

#[test]
fn string_api_denies_cross_tenant() {
    let rbac = engine();
    let e = rbac.check_str("acme", "production", "ann", "view", "globex/recipe:r-sales").unwrap();
    assert!(!e.allowed);
    assert_eq!(e.reason, "cross_tenant");
    // The same user is Admin in globex, but only a globex check can say so.
    assert!(rbac.check_str("globex", "production", "ann", "view", "recipe:r-sales").unwrap().allowed);
    assert!(rbac.check_str("acme", "production", "ann", "view", "acme/recipe:r-sales").unwrap().allowed);
    assert_eq!(
        rbac.check_str("initech", "production", "ann", "view", "recipe:x").unwrap().reason,
        "unknown_tenant"
    );
    assert_eq!(
        rbac.check_str("acme", "staging", "ann", "view", "recipe:x").unwrap().reason,
        "unknown_environment"
    );
    assert!(matches!(
        rbac.check_str("acme", "production", "ann", "view", "recipe"),
        Err(Error::InvalidResource { .. })
    ));
}

#[test]
fn list_and_database_filter() {
    let rbac = engine();
    let prod = snap(&rbac, "acme", "production");
    let lee = "lee".parse().unwrap();
    let l = prod.list(&lee, &"run".parse().unwrap(), Some("recipe"));
    let items: Vec<String> = l.items.iter().map(|r| r.to_string()).collect();
    assert_eq!(items, ["recipe:r-hot", "recipe:r-leads", "recipe:r-infra"]); // tree (pre-)order
    let containers: Vec<String> = l.containers.iter().map(|r| r.to_string()).collect();
    assert_eq!(containers, ["folder:leads", "folder:hot", "project:ops", "folder:infra"]);
    let roots: Vec<String> = l.roots.iter().map(|r| r.to_string()).collect();
    assert_eq!(roots, ["folder:leads", "project:ops"]);
    assert!(!l.whole_workspace);
    // Every listed item is allowed by check, every other recipe is not.
    for r in ["recipe:r-sales", "recipe:r-leads", "recipe:r-hot", "recipe:r-infra"] {
        assert_eq!(allowed(&prod, "lee", "run", r), items.contains(&r.to_owned()), "{r}");
    }
    let ann = "ann".parse().unwrap();
    let all = prod.list(&ann, &"view".parse().unwrap(), None);
    assert!(all.whole_workspace);
    // Operator views every project, folder and asset (the host-defined playbook included).
    assert_eq!(all.items.len(), 2 + 3 + 6);
}

#[test]
fn publish_is_atomic_and_bumps_revisions() {
    let rbac = engine();
    let acme = TenantId::new("acme").unwrap();
    assert_eq!(rbac.revision(&acme), 1);
    let before = snap(&rbac, "acme", "production");
    let mut catalog = PolicyCatalog::from_toml(POLICY).unwrap();
    catalog.tenants[0].assignments.push(palisade_rbac::AssignmentDef::for_user(
        "production".parse().unwrap(),
        "zed".parse().unwrap(),
        "Ghost".parse().unwrap(),
    ));
    let err = rbac.publish(&catalog).unwrap_err();
    assert!(err.to_string().contains("unknown role Ghost"), "{err}");
    assert_eq!(rbac.revision(&acme), 1, "a failed publish changes nothing");
    catalog.tenants[0].assignments.last_mut().unwrap().role = "Operator".parse().unwrap();
    rbac.publish(&catalog).unwrap();
    assert_eq!(rbac.revision(&acme), 2);
    let after = snap(&rbac, "acme", "production");
    assert_eq!((before.revision(), after.revision()), (1, 2));
    assert!(!allowed(&before, "zed", "view", "recipe:r-hot"), "old snapshots stay immutable");
    assert!(allowed(&after, "zed", "view", "recipe:r-hot"));
    let t = catalog.tenants[0].clone();
    assert!(matches!(
        rbac.publish_tenant(&t, Some(1)),
        Err(Error::RevisionConflict { expected: 1, found: 2, .. })
    ));
    assert_eq!(rbac.publish_tenant(&t, Some(2)).unwrap(), 3);
}

#[test]
fn validation_reports_every_problem() {
    let bad = include_str!("fixtures/invalid.toml");
    let err = PolicyCatalog::from_toml(bad).unwrap().validate().unwrap_err();
    let Error::InvalidPolicy(problems) = &err else { panic!("{err}") };
    let all = problems.join("\n");
    for needle in [
        "cycle of folder parents",
        "belongs to tenant globex",
        "role Admin is reserved",
        "key_management, which only the Admin",
        "`deploy`",
        "unknown privilege \"fly\"",
        "in tenant globex: grants and parents cannot cross tenants",
        "cycle of nested groups",
        "unknown environment prod",
        "unknown role admin",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
}

#[test]
fn json_and_toml_are_the_same_catalog() {
    let catalog = PolicyCatalog::from_toml(POLICY).unwrap();
    let json = catalog.to_json();
    assert_eq!(PolicyCatalog::from_json(&json).unwrap(), catalog);
    assert!(PolicyCatalog::from_json(r#"{"tenants": [{"id": "a", "colour": "red"}]}"#).is_err());
    assert!(matches!(
        PolicyCatalog::from_text(std::path::Path::new("p.yaml"), ""),
        Err(Error::UnsupportedFormat(_))
    ));
}

#[test]
fn asset_types_used_by_assets_are_declared_by_that_use() {
    let catalog = PolicyCatalog::from_toml(
        r#"
[[tenants]]
id = "acme"
projects = [{ id = "p" }]
assets = [{ type = "workflow", id = "w1", parent = "project:p" }]
[[tenants.roles]]
name = "Flow viewer"
privileges = { workflow = ["view"] }
[[tenants.assignments]]
environment = "production"
user = "vic"
role = "Flow viewer"
"#,
    )
    .unwrap();
    let rbac = Rbac::new();
    rbac.publish(&catalog).unwrap();
    let prod = snap(&rbac, "acme", "production");
    assert!(allowed(&prod, "vic", "view", "workflow:w1"));
    assert!(!allowed(&prod, "vic", "edit", "workflow:w1"));
    // A role naming a type nothing declares is still an error.
    let mut bad = catalog.clone();
    bad.tenants[0].roles[0].privileges.insert("gadget".into(), vec!["view".into()]);
    assert!(bad.validate().unwrap_err().to_string().contains("unknown type \"gadget\""));
}
