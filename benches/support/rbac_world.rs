//! The RBAC anchor world shared by `benches/rbac.rs` and `benches/rbac_footprint.rs`: 100
//! tenants × 50 users × 20 folders (a tree of depth 3) × 200 assets, Admin/Analyst/Operator + 5
//! custom roles per tenant, folder-scoped assignments in two environments, five groups with
//! folder-scoped assignments, deploy rights for every tenth user.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use palisade::rbac::{
    AssetDef, AssignmentDef, FolderDef, GroupDef, PolicyCatalog, ProjectDef, RoleDef, TenantPolicy,
};

use crate::BenchRng;

/// Tenants in the world.
pub const TENANTS: usize = 100;
/// Users per tenant.
pub const USERS: usize = 50;
/// Folders per tenant.
pub const FOLDERS: usize = 20;
/// Assets per tenant.
pub const ASSETS: usize = 200;

/// Folder `f`'s parent: f0..f3 in the two projects, f4..f11 under f0..f3, f12..f19 under f4..f11.
fn folder_parent(f: usize) -> String {
    match f {
        0..=3 => format!("project:p{}", f % 2),
        4..=11 => format!("folder:f{}", (f - 4) / 2),
        _ => format!("folder:f{}", 4 + (f - 12)),
    }
}

/// Tenant number `t` of the world.
pub fn tenant(t: usize, rng: &mut BenchRng) -> TenantPolicy {
    let mut p = TenantPolicy::new(format!("tenant-{t}").parse().unwrap());
    p.projects = (0..2).map(|i| ProjectDef { id: format!("p{i}").parse().unwrap() }).collect();
    p.folders = (0..FOLDERS)
        .map(|f| FolderDef { id: format!("f{f}").parse().unwrap(), parent: folder_parent(f) })
        .collect();
    p.assets = (0..ASSETS)
        .map(|a| AssetDef {
            asset_type: (if a % 4 == 3 { "connection" } else { "recipe" }).parse().unwrap(),
            id: format!("a{a}").parse().unwrap(),
            parent: format!("folder:f{}", a % FOLDERS),
        })
        .collect();
    type Grants = &'static [(&'static str, &'static [&'static str])];
    let customs: [(&str, Grants); 5] = [
        ("Recipe runner", &[("recipe", &["view", "run", "job_history"])]),
        ("Connection keeper", &[("connection", &["full"])]),
        (
            "Builder",
            &[
                ("recipe", &["view", "edit", "create"]),
                ("connection", &["view"]),
                ("folder", &["view", "create"]),
            ],
        ),
        ("Auditor", &[("*", &["view", "job_history"])]),
        ("Team lead", &[("*", &["full"]), ("workspace", &["manage_collaborators"])]),
    ];
    for (i, (name, privs)) in customs.iter().enumerate() {
        let privileges: BTreeMap<String, Vec<String>> = privs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect();
        let scope = (i % 2 == 0).then(|| vec![format!("folder:f{}", rng.below(4))]);
        p.roles.push(RoleDef { name: (*name).parse().unwrap(), based_on: None, privileges, scope });
    }
    let roles: Vec<String> = ["Admin", "Analyst", "Operator"]
        .iter()
        .map(|s| (*s).to_owned())
        .chain(customs.iter().map(|c| c.0.to_owned()))
        .collect();
    p.groups = (0..5)
        .map(|g| GroupDef {
            id: format!("g{g}").parse().unwrap(),
            members: (0..4).map(|_| format!("u{}", rng.below(USERS as u64)).parse().unwrap()).collect(),
            groups: vec![],
        })
        .collect();
    for u in 0..USERS {
        for env in ["development", "production"] {
            // user 0 is the whole-workspace Operator that `list` measures; user 1 is scoped to f4.
            let (role, scope) = match u {
                0 => ("Operator".to_owned(), None),
                1 => ("Operator".to_owned(), Some(vec!["folder:f4".to_owned()])),
                _ => (
                    roles[rng.below(roles.len() as u64) as usize].clone(),
                    (rng.below(10) < 7).then(|| vec![format!("folder:f{}", rng.below(FOLDERS as u64))]),
                ),
            };
            p.assignments.push(AssignmentDef {
                environment: env.parse().unwrap(),
                user: Some(format!("u{u}").parse().unwrap()),
                group: None,
                role: role.parse().unwrap(),
                scope,
                deploy: u % 10 == 0,
            });
        }
    }
    for g in 0..5 {
        p.assignments.push(AssignmentDef {
            environment: "production".parse().unwrap(),
            user: None,
            group: Some(format!("g{g}").parse().unwrap()),
            role: roles[g % roles.len()].parse().unwrap(),
            scope: Some(vec![format!("folder:f{}", 12 + g)]),
            deploy: false,
        });
    }
    p
}

/// The whole world, deterministic.
pub fn world() -> PolicyCatalog {
    let mut rng = BenchRng::new(7);
    PolicyCatalog { tenants: (0..TENANTS).map(|t| tenant(t, &mut rng)).collect() }
}
