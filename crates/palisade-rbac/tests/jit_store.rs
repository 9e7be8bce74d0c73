//! JIT role mapping and the policy store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use palisade_core::{ExternalIdentity, TenantId, UserId};
use palisade_rbac::store::{publish_from, save_validated};
use palisade_rbac::{Error, JitSource, MemoryPolicyStore, PolicyCatalog, PolicyStore, Rbac, TenantPolicy};

const POLICY: &str = include_str!("fixtures/jit.toml");

fn tenant() -> TenantPolicy {
    PolicyCatalog::from_toml(POLICY).unwrap().tenants.remove(0)
}

fn identity(groups: &[&str], attrs: &[(&str, &str)]) -> ExternalIdentity {
    let mut attributes = BTreeMap::new();
    for (k, v) in attrs {
        attributes.insert((*k).to_owned(), vec![(*v).to_owned()]);
    }
    ExternalIdentity {
        tenant: "acme".parse().unwrap(),
        provider: "https://idp.example/okta".into(),
        subject: "00u1".into(),
        email: None,
        email_verified: false,
        given_name: None,
        family_name: None,
        display_name: None,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        attributes,
        authenticated_at: None,
    }
}

#[test]
fn attributes_groups_and_default() {
    let t = tenant();
    let roles =
        t.resolve_jit(&identity(&["DevOps_Admins", "Contractors"], &[("workato_role", "Analyst")])).unwrap();
    let get = |e: &str| roles.get(&e.parse().unwrap()).unwrap().clone();
    assert_eq!(get("development").role.as_str(), "Analyst");
    assert_eq!(get("development").source, JitSource::Attribute("workato_role".into()));
    assert_eq!(get("production").role.as_str(), "DevOps_Admin");
    assert_eq!(get("production").source, JitSource::Group("DevOps_Admins".into()));
    assert_eq!(get("test").role.as_str(), "NoAccess");
    // The attribute rule comes first for production.
    let roles = t.resolve_jit(&identity(&["DevOps_Admins"], &[("workato_role_prod", "NoAccess")])).unwrap();
    assert_eq!(roles.get(&"production".parse().unwrap()).unwrap().role.as_str(), "NoAccess");
    // Nothing matches: the default.
    let roles = t.resolve_jit(&identity(&[], &[])).unwrap();
    assert!(roles.values().all(|r| r.role.as_str() == "Operator" && r.source == JitSource::Default));
}

#[test]
fn role_names_are_case_sensitive() {
    let t = tenant();
    let err = t.resolve_jit(&identity(&[], &[("workato_role", "admin")])).unwrap_err();
    assert!(matches!(&err, Error::UnknownRole { role, .. } if role == "admin"), "{err}");
    assert!(err.to_string().contains("case-sensitive"));
    assert!(t.resolve_jit(&identity(&["devops_admins"], &[])).is_ok()); // group names too: no match → default
}

#[test]
fn unmapped_without_default_is_an_error() {
    let mut t = tenant();
    t.jit.as_mut().unwrap().default_role = None;
    let err = t.resolve_jit(&identity(&[], &[("workato_role", "Admin")])).unwrap_err();
    assert!(matches!(err, Error::Unmapped { .. }), "{err}");
}

#[test]
fn apply_jit_then_publish() {
    let mut t = tenant();
    let user: UserId = "jo".parse().unwrap();
    let roles = t.resolve_jit(&identity(&["Contractors"], &[("workato_role", "Admin")])).unwrap();
    t.apply_jit(&user, &roles);
    t.apply_jit(&user, &roles); // idempotent
    assert_eq!(t.assignments.len(), 3);
    let rbac = Rbac::new();
    rbac.publish_tenant(&t, None).unwrap();
    assert!(rbac.check_str("acme", "development", "jo", "key_management", "workspace").unwrap().allowed);
    assert_eq!(rbac.check_str("acme", "test", "jo", "view", "recipe:r").unwrap().reason, "no_access");
    assert!(rbac.check_str("acme", "production", "jo", "run", "recipe:r").unwrap().allowed);
    assert!(!rbac.check_str("acme", "production", "jo", "edit", "recipe:r").unwrap().allowed);
}

#[tokio::test]
async fn store_saves_only_valid_policies_with_revisions() {
    let store = MemoryPolicyStore::default();
    let t = tenant();
    assert_eq!(save_validated(&store, &t, 0).await.unwrap(), 1);
    let mut bad = t.clone();
    bad.assignments.push(palisade_rbac::AssignmentDef::for_user(
        "production".parse().unwrap(),
        "x".parse().unwrap(),
        "Nope".parse().unwrap(),
    ));
    assert!(matches!(save_validated(&store, &bad, 1).await, Err(Error::InvalidPolicy(_))));
    let acme: TenantId = "acme".parse().unwrap();
    assert_eq!(store.load(&acme).await.unwrap().unwrap().policy, t, "store unchanged");
    assert!(matches!(store.save(&t, 0).await, Err(Error::RevisionConflict { expected: 0, found: 1, .. })));
    assert_eq!(store.save(&t, 1).await.unwrap(), 2);
    let rbac = Rbac::new();
    let published = publish_from(&store, &rbac).await.unwrap();
    assert_eq!(published, vec![(acme.clone(), 1)]);
    let dynstore: &dyn PolicyStore = &store;
    assert_eq!(dynstore.tenants().await.unwrap(), vec![acme]);
}
