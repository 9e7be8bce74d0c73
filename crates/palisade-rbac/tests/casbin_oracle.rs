//! casbin as the oracle: random worlds exported to casbin's RBAC-with-domains model (with a
//! resource hierarchy) must decide every random request exactly as palisade does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
use palisade_core::UserId;
use palisade_rbac::{
    AssetDef, AssignmentDef, CASBIN_MODEL, FolderDef, GroupDef, PolicyCatalog, ProjectDef, Rbac, Resource,
    RoleDef, TenantPolicy, casbin_policy,
};
use proptest::prelude::*;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

const ENVS: [&str; 2] = ["development", "production"];
const USERS: [&str; 4] = ["u0", "u1", "u2", "u3"];
const TYPES: [&str; 3] = ["recipe", "connection", "playbook"];
const PRIVS: [&str; 11] = [
    "view",
    "edit",
    "create",
    "delete",
    "run",
    "job_history",
    "deploy",
    "export",
    "manage_collaborators",
    "sso_settings",
    "key_management",
];

fn world(seed: u64) -> TenantPolicy {
    let mut rng = Rng(seed);
    let mut p = TenantPolicy::new("t".parse().unwrap());
    p.environments = ENVS.iter().map(|e| e.parse().unwrap()).collect();
    p.asset_types = vec!["playbook".parse().unwrap()];
    p.privileges = vec!["export".into()];
    let mut containers: Vec<String> = Vec::new();
    for i in 0..1 + rng.below(3) {
        p.projects.push(ProjectDef { id: format!("p{i}").parse().unwrap() });
        containers.push(format!("project:p{i}"));
    }
    for i in 0..rng.below(7) {
        let parent = rng.pick(&containers).clone();
        p.folders.push(FolderDef { id: format!("f{i}").parse().unwrap(), parent });
        containers.push(format!("folder:f{i}"));
    }
    for i in 0..rng.below(9) {
        let parent = rng.pick(&containers).clone();
        p.assets.push(AssetDef {
            asset_type: rng.pick(&TYPES).parse().unwrap(),
            id: format!("a{i}").parse().unwrap(),
            parent,
        });
    }
    let scope = |rng: &mut Rng| -> Option<Vec<String>> {
        if rng.chance(50) {
            None
        } else {
            Some((0..1 + rng.below(2)).map(|_| rng.pick(&containers).clone()).collect())
        }
    };
    let mut roles: Vec<String> = vec!["Admin".into(), "Analyst".into(), "Operator".into()];
    for i in 0..rng.below(4) {
        let mut privileges = BTreeMap::new();
        for _ in 0..1 + rng.below(3) {
            let key = *rng.pick(&["recipe", "connection", "playbook", "project", "folder", "*", "workspace"]);
            let list: Vec<String> = if key == "workspace" {
                vec![rng.pick(&["manage_collaborators", "sso_settings", "full"]).to_string()]
            } else {
                (0..1 + rng.below(2))
                    .map(|_| rng.pick(&["view", "edit", "run", "export", "full"]).to_string())
                    .collect()
            };
            privileges.insert(key.to_owned(), list);
        }
        let based_on = if rng.chance(30) { Some(rng.pick(&roles[..3]).parse().unwrap()) } else { None };
        let name = format!("Custom {i}");
        p.roles.push(RoleDef { name: name.parse().unwrap(), based_on, privileges, scope: scope(&mut rng) });
        roles.push(name);
    }
    for i in 0..rng.below(4) {
        let members = (0..rng.below(3)).map(|_| rng.pick(&USERS).parse().unwrap()).collect();
        // Nest only into lower-numbered groups: no cycles.
        let groups = if i > 0 && rng.chance(40) {
            vec![format!("g{}", rng.below(i)).parse().unwrap()]
        } else {
            vec![]
        };
        p.groups.push(GroupDef { id: format!("g{i}").parse().unwrap(), members, groups });
    }
    for _ in 0..rng.below(9) {
        let no_access = rng.chance(10);
        let (user, group) = if !p.groups.is_empty() && rng.chance(35) {
            (None, Some(rng.pick(&p.groups).id.clone()))
        } else {
            (Some(rng.pick(&USERS).parse().unwrap()), None)
        };
        p.assignments.push(AssignmentDef {
            environment: rng.pick(&ENVS).parse().unwrap(),
            user,
            group,
            role: if no_access { "NoAccess".parse().unwrap() } else { rng.pick(&roles).parse().unwrap() },
            scope: if no_access { None } else { scope(&mut rng) },
            deploy: !no_access && rng.chance(25),
        });
    }
    p
}

async fn enforcer(p: &TenantPolicy) -> Enforcer {
    let model = DefaultModel::from_str(CASBIN_MODEL).await.unwrap();
    let mut e = Enforcer::new(model, MemoryAdapter::default()).await.unwrap();
    let lines = casbin_policy(p).unwrap();
    if !lines.p.is_empty() {
        e.add_policies(lines.p).await.unwrap();
    }
    if !lines.g.is_empty() {
        e.add_grouping_policies(lines.g).await.unwrap();
    }
    if !lines.g2.is_empty() {
        e.add_named_grouping_policies("g2", lines.g2).await.unwrap();
    }
    e
}

fn resources(p: &TenantPolicy) -> Vec<String> {
    let mut v = vec!["workspace".to_owned(), "recipe:missing".to_owned(), "folder:missing".to_owned()];
    v.extend(p.projects.iter().map(|x| format!("project:{}", x.id)));
    v.extend(p.folders.iter().map(|x| format!("folder:{}", x.id)));
    v.extend(p.assets.iter().map(|x| format!("{}:{}", x.asset_type, x.id)));
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn palisade_and_casbin_agree(seed in any::<u64>()) {
        let policy = world(seed);
        policy.validate().unwrap();
        let rbac = Rbac::new();
        rbac.publish(&PolicyCatalog { tenants: vec![policy.clone()] }).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let e = rt.block_on(enforcer(&policy));
        let mut rng = Rng(seed ^ 0x5555);
        let res = resources(&policy);
        let mut allowed = 0;
        for env in ENVS {
            let snap = rbac.snapshot(&"t".parse().unwrap(), &env.parse().unwrap()).unwrap();
            for user in USERS {
                let uid: UserId = user.parse().unwrap();
                for _ in 0..12 {
                    let r_text = rng.pick(&res).clone();
                    let resource: Resource = r_text.parse().unwrap();
                    let mut privilege = rng.pick(&PRIVS).to_string();
                    if resource.is_container() && rng.chance(25) {
                        privilege = format!("{}.{}", rng.pick(&TYPES), rng.pick(&["view", "create", "run"]));
                    }
                    let pr = privilege.parse().unwrap();
                    let mine = snap.check(&uid, &pr, &resource).is_allowed();
                    let (typ, act) = match privilege.split_once('.') {
                        Some((t, a)) => (t.to_owned(), a.to_owned()),
                        None => (resource.type_name().to_owned(), privilege.clone()),
                    };
                    let theirs = e.enforce((format!("user:{user}"), env, r_text.as_str(), typ.as_str(), act.as_str())).unwrap();
                    prop_assert_eq!(mine, theirs, "seed {} env {} user {} {} on {}\n{}\n{}", seed, env, user, privilege, r_text,
                        snap.check(&uid, &pr, &resource).explain().message, casbin_policy(&policy).unwrap().to_csv());
                    allowed += usize::from(mine);
                }
            }
        }
        // Keep the generator honest: across the 96 requests, decisions are not all one way.
        let _ = allowed;
    }
}

#[test]
fn worlds_have_both_verdicts() {
    // Over a fixed set of seeds, palisade (and so casbin) both allows and denies many requests.
    let (mut yes, mut no) = (0, 0);
    for seed in 0..40u64 {
        let policy = world(seed);
        let rbac = Rbac::new();
        rbac.publish(&PolicyCatalog { tenants: vec![policy.clone()] }).unwrap();
        for env in ENVS {
            let snap = rbac.snapshot(&"t".parse().unwrap(), &env.parse().unwrap()).unwrap();
            for user in USERS {
                for r in resources(&policy) {
                    let ok = snap
                        .check(&user.parse().unwrap(), &"view".parse().unwrap(), &r.parse().unwrap())
                        .is_allowed();
                    if ok { yes += 1 } else { no += 1 }
                }
            }
        }
    }
    assert!(yes > 200 && no > 200, "allowed {yes}, denied {no}");
}
