//! palisade-rbac against casbin on the anchor world: 100 tenants × 50 users × 20 folders (a tree
//! of depth 3) × 200 assets, Admin/Analyst/Operator + 5 custom roles per tenant, folder-scoped
//! assignments. casbin gets the same policy (exported with `casbin_policy`), one enforcer per
//! tenant; only the enforcer of the measured tenant is built, since a casbin check only reads
//! its own enforcer.
//!
//! `cargo bench --bench rbac` (one group: `cargo bench --bench rbac -- rbac_load`); memory and
//! load without criterion: `cargo bench --bench rbac_footprint`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use std::hint::black_box;

use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
use criterion::{Criterion, criterion_group, criterion_main};
use palisade::core::UserId;
use palisade::rbac::{CASBIN_MODEL, PolicyCatalog, Privilege, Rbac, Resource, TenantPolicy, casbin_policy};
use palisade_demos::rbac_world::{ASSETS, FOLDERS, world};

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
    let rbac = Rbac::new();
    rbac.publish(&catalog).unwrap();

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

    // Load: from the in-memory catalog to every published (tenant, environment) snapshot
    // (validation, compilation, snapshots, atomic swap); and the same from the JSON text (parse +
    // publish). Memory and a callgrind-friendly run: `cargo bench --bench rbac_footprint`.
    let mut g = c.benchmark_group("rbac_load");
    g.sample_size(10);
    g.bench_function("palisade_publish_100_tenants", |b| {
        b.iter_with_large_drop(|| {
            let r = Rbac::new();
            r.publish(black_box(&catalog)).unwrap();
            r
        })
    });
    let json = catalog.to_json();
    g.bench_function("palisade_parse_json_and_publish_100_tenants", |b| {
        b.iter_with_large_drop(|| {
            let parsed = PolicyCatalog::from_json(black_box(&json)).unwrap();
            let r = Rbac::new();
            r.publish(&parsed).unwrap();
            r
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
