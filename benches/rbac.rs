//! palisade-rbac against casbin on the anchor world: 100 tenants × 50 users × 20 folders (a tree
//! of depth 3) × 200 assets, Admin/Analyst/Operator + 5 custom roles per tenant, folder-scoped
//! assignments. casbin gets the same policy (exported with `casbin_policy`), one enforcer per
//! tenant; only the enforcer of the measured tenant is built, since a casbin check only reads
//! its own enforcer.
//!
//! `cargo bench --bench rbac`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;

use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
use criterion::{Criterion, criterion_group, criterion_main};
use palisade::core::UserId;
use palisade::rbac::{
    AssetDef, AssignmentDef, CASBIN_MODEL, FolderDef, GroupDef, PolicyCatalog, Privilege, ProjectDef, Rbac,
    Resource, RoleDef, TenantPolicy, casbin_policy,
};
use palisade_demos::BenchRng;

const TENANTS: usize = 100;
const USERS: usize = 50;
const FOLDERS: usize = 20;
const ASSETS: usize = 200;

/// Folder `f`'s parent: f0..f3 in the two projects, f4..f11 under f0..f3, f12..f19 under f4..f11.
fn folder_parent(f: usize) -> String {
    match f {
        0..=3 => format!("project:p{}", f % 2),
        4..=11 => format!("folder:f{}", (f - 4) / 2),
        _ => format!("folder:f{}", 4 + (f - 12)),
    }
}

fn tenant(t: usize, rng: &mut BenchRng) -> TenantPolicy {
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

fn world() -> PolicyCatalog {
    let mut rng = BenchRng::new(7);
    PolicyCatalog { tenants: (0..TENANTS).map(|t| tenant(t, &mut rng)).collect() }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map(|pages| pages * 4)
        .unwrap_or(0)
}

fn enforcer(p: &TenantPolicy) -> Enforcer {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let mut e =
            Enforcer::new(DefaultModel::from_str(CASBIN_MODEL).await.unwrap(), MemoryAdapter::default())
                .await
                .unwrap();
        let lines = casbin_policy(p).unwrap();
        e.add_policies(lines.p).await.unwrap();
        e.add_grouping_policies(lines.g).await.unwrap();
        e.add_named_grouping_policies("g2", lines.g2).await.unwrap();
        e
    })
}

fn bench(c: &mut Criterion) {
    let catalog = world();
    let before = rss_kib();
    let rbac = Rbac::new();
    rbac.publish(&catalog).unwrap();
    let after = rss_kib();
    eprintln!(
        "rbac: resident memory of the published world ≈ {} KiB ({} tenants × 3 environments)",
        after.saturating_sub(before),
        TENANTS
    );

    let snap = rbac.snapshot(&"tenant-0".parse().unwrap(), &"production".parse().unwrap()).unwrap();
    let u1: UserId = "u1".parse().unwrap();
    let u0: UserId = "u0".parse().unwrap();
    let run: Privilege = "run".parse().unwrap();
    let view: Privilege = "view".parse().unwrap();
    // a4 sits in f4, under u1's scope (depth 3: a4 → f4 → f0 → p0); a5 sits in f5, outside it.
    let inside: Resource = "recipe:a4".parse().unwrap();
    let outside: Resource = "recipe:a5".parse().unwrap();
    assert!(snap.check(&u1, &run, &inside).is_allowed());
    assert!(!snap.check(&u1, &run, &outside).is_allowed());

    let lines = casbin_policy(&catalog.tenants[0]).unwrap();
    eprintln!(
        "casbin: tenant-0 exports {} p, {} g and {} g2 lines",
        lines.p.len(),
        lines.g.len(),
        lines.g2.len()
    );
    let e = enforcer(&catalog.tenants[0]);
    let req = |obj: &str| ("user:u1", "production", obj.to_owned(), "recipe", "run");
    assert!(e.enforce(req("recipe:a4")).unwrap());
    assert!(!e.enforce(req("recipe:a5")).unwrap());

    let mut g = c.benchmark_group("rbac_check");
    g.bench_function("palisade_allowed", |b| {
        b.iter(|| black_box(snap.check(&u1, &run, black_box(&inside)).is_allowed()))
    });
    g.bench_function("palisade_denied", |b| {
        b.iter(|| black_box(snap.check(&u1, &run, black_box(&outside)).is_allowed()))
    });
    g.bench_function("palisade_check_str_allowed", |b| {
        b.iter(|| {
            black_box(
                rbac.check_str("tenant-0", "production", "u1", "run", black_box("recipe:a4"))
                    .unwrap()
                    .allowed,
            )
        })
    });
    g.bench_function("casbin_allowed", |b| {
        b.iter(|| black_box(e.enforce(req(black_box("recipe:a4"))).unwrap()))
    });
    g.bench_function("casbin_denied", |b| {
        b.iter(|| black_box(e.enforce(req(black_box("recipe:a5"))).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("rbac_list");
    let assets: Vec<String> =
        catalog.tenants[0].assets.iter().map(|a| format!("{}:{}", a.asset_type, a.id)).collect();
    assert_eq!(snap.list(&u0, &view, None).items.len(), ASSETS + FOLDERS + 2);
    g.bench_function("palisade_list_200_assets", |b| {
        b.iter(|| black_box(snap.list(&u0, &view, None).items.len()))
    });
    g.bench_function("palisade_list_recipes_in_scope", |b| {
        b.iter(|| black_box(snap.list(&u1, &view, Some("recipe")).items.len()))
    });
    g.sample_size(10);
    g.bench_function("casbin_list_200_assets", |b| {
        b.iter(|| {
            assets
                .iter()
                .filter(|a| {
                    let ty = a.split(':').next().unwrap_or("");
                    e.enforce(("user:u0", "production", a.as_str(), ty, "view")).unwrap()
                })
                .count()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("rbac_load");
    g.sample_size(10);
    g.bench_function("palisade_publish_100_tenants", |b| {
        b.iter_with_large_drop(|| {
            let r = Rbac::new();
            r.publish(black_box(&catalog)).unwrap();
            r
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
