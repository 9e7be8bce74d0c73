//! Immutable per-(tenant, environment) snapshots, and the checks made against them.

use std::sync::Arc;

use palisade_core::{EnvironmentId, TenantId, UserId};
use serde::Serialize;

use crate::compile::{CSubject, HashMap, NONE, TenantData, WORKSPACE_TYPE};
use crate::names::Privilege;
use crate::resource::Resource;

/// One grant: privileges `mask` on type `ty` (`ANY_TYPE` for deploy) at the subtree of `node`,
/// whose pre-order interval is `[pre, end)`.
#[derive(Debug, Clone, Copy)]
struct Grant {
    pre: u32,
    end: u32,
    node: u32,
    ty: u16,
    mask: u64,
}

const ANY_TYPE: u16 = u16::MAX;
/// Up to this many grants, a check scans a user's grants; beyond, it walks the ancestors.
const LINEAR_SCAN_MAX: usize = 24;

/// One user's compiled view of one environment: ranges into the snapshot's arenas.
#[derive(Debug, Default, Clone)]
struct UserGrants {
    /// The NoAccess assignment that removes the environment, if any: (assignment, via group).
    no_access: Option<(u32, u32)>,
    /// Grants, sorted by (node, type): `grants[g0..g1]`.
    g0: u32,
    g1: u32,
    /// Applicable assignments (assignment index, group it came through or `NONE`): `asg[a0..a1]`.
    a0: u32,
    a1: u32,
}

/// An immutable view of one tenant in one environment at one revision.
///
/// Obtained from [`crate::Rbac::snapshot`]; checks never block and never scan the rules: a check
/// is two hash lookups to resolve the request and one per ancestor of the resource.
///
/// ```
/// use palisade_rbac::{PolicyCatalog, Rbac};
/// let catalog = PolicyCatalog::from_toml(r#"
///     [[tenants]]
///     id = "acme"
///     projects = [{ id = "sales" }]
///     assets = [{ type = "recipe", id = "sync-leads", parent = "project:sales" }]
///     assignments = [{ environment = "production", user = "olga", role = "Operator" }]
/// "#)?;
/// let rbac = Rbac::new();
/// rbac.publish(&catalog)?;
/// let snap = rbac.snapshot(&"acme".parse()?, &"production".parse()?).expect("published");
/// let olga = "olga".parse()?;
/// let recipe = "recipe:sync-leads".parse()?;
/// assert!(snap.check(&olga, &"run".parse()?, &recipe).is_allowed());
/// let edit = "edit".parse()?;
/// let denied = snap.check(&olga, &edit, &recipe);
/// assert!(!denied.is_allowed());
/// println!("{}", denied.explain().message);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Snapshot {
    data: Arc<TenantData>,
    env: EnvironmentId,
    revision: u64,
    /// Indexed by the tenant's interned user index.
    users: Vec<UserGrants>,
    grants: Vec<Grant>,
    asg: Vec<(u32, u32)>,
    linear_max: usize,
}

/// Why a check was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DenyReason {
    /// The resource names another tenant (string API only).
    CrossTenant,
    /// The tenant has no published policy.
    UnknownTenant,
    /// The tenant has no such environment.
    UnknownEnvironment,
    /// The resource is not in the tenant's tree.
    UnknownResource,
    /// The privilege (or its type qualifier) is not defined for the tenant.
    UnknownPrivilege,
    /// A qualified privilege names another type than the asset's own.
    QualifierMismatch,
    /// The user has no assignment in this environment.
    NoAssignment,
    /// The user (or one of its groups) is assigned NoAccess in this environment.
    NoAccess,
    /// The user's roles do not grant the privilege on this resource.
    NotGranted,
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Allowed { at: u32 },
    Denied(DenyReason),
}

/// The result of a check: allowed or denied, and everything needed to explain it.
///
/// Making a decision allocates nothing: it borrows the snapshot and the request.
/// [`Decision::explain`] builds the (owned) explanation on demand.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    snap: &'a Snapshot,
    user: &'a UserId,
    privilege: &'a Privilege,
    resource: &'a Resource,
    node: u32,
    ty: u16,
    bit: u64,
    outcome: Outcome,
}

/// A decision explained, for support and audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// The tenant.
    pub tenant: String,
    /// The environment.
    pub environment: String,
    /// The revision of the policy that decided.
    pub revision: u64,
    /// The user.
    pub user: String,
    /// The privilege asked.
    pub privilege: String,
    /// The resource asked about.
    pub resource: String,
    /// `allowed`, or why not.
    pub reason: String,
    /// One sentence for people.
    pub message: String,
    /// What allowed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<GrantPath>,
    /// For a denial: each assignment considered and why it did not allow.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub considered: Vec<String>,
}

/// The chain that allowed a request: assignment → role → grant → inheritance path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantPath {
    /// The assignment's index in the tenant's `assignments` list.
    pub assignment: usize,
    /// `user:ID` or `group:ID`: whom the assignment names.
    pub subject: String,
    /// The groups from the user to the assigned group (empty for a direct assignment).
    pub via_groups: Vec<String>,
    /// The role (`deploy` for the environment's deploy right).
    pub role: String,
    /// The role it was cloned from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub based_on: Option<String>,
    /// The privilege as granted, `TYPE: PRIVILEGE`.
    pub granted: String,
    /// The node where the grant applies.
    pub scope: String,
    /// From the resource up to the scope node.
    pub path: Vec<String>,
}

impl Snapshot {
    pub(crate) fn build(data: Arc<TenantData>, env: EnvironmentId, revision: u64) -> Self {
        let nusers = data.users.len();
        let mut per_user: Vec<Vec<(u32, u32)>> = vec![Vec::new(); nusers];
        let mut by_group: HashMap<u32, Vec<u32>> = HashMap::default();
        for (i, a) in data.assignments.iter().enumerate() {
            if a.env != env {
                continue;
            }
            match &a.subject {
                CSubject::User(u) => {
                    if let Some(v) = data.users.get(u).and_then(|&ui| per_user.get_mut(ui as usize)) {
                        v.push((i as u32, NONE));
                    }
                }
                CSubject::Group(g) => by_group.entry(*g).or_default().push(i as u32),
            }
        }
        if !by_group.is_empty() {
            for (user, groups) in &data.user_groups {
                let Some(v) = data.users.get(user).and_then(|&ui| per_user.get_mut(ui as usize)) else {
                    continue;
                };
                for &(g, _) in groups {
                    for &a in by_group.get(&g).map(Vec::as_slice).unwrap_or(&[]) {
                        v.push((a, g));
                    }
                }
            }
        }
        let deploy_bit = data.priv_index.get(crate::roles::DEPLOY).map(|&d| 1u64 << d).unwrap_or(0);
        let mut users = vec![UserGrants::default(); nusers];
        let mut grants: Vec<Grant> = Vec::new();
        let mut asg: Vec<(u32, u32)> = Vec::new();
        let mut mine: Vec<Grant> = Vec::new();
        for (ug, list) in users.iter_mut().zip(per_user.iter_mut()) {
            list.sort_unstable();
            ug.a0 = asg.len() as u32;
            asg.extend_from_slice(list);
            ug.a1 = asg.len() as u32;
            mine.clear();
            for &(ai, via) in list.iter() {
                let Some(a) = data.assignments.get(ai as usize) else { continue };
                let Some(r) = a.role else {
                    if ug.no_access.is_none() {
                        ug.no_access = Some((ai, via));
                    }
                    continue;
                };
                let Some(role) = data.roles.get(r as usize) else { continue };
                for node in intersect(&data, &role.scope, &a.scope) {
                    for (t, &mask) in role.grants.iter().enumerate() {
                        if mask != 0 {
                            mine.push(Grant { pre: 0, end: 0, node, ty: t as u16, mask });
                        }
                    }
                }
                if a.deploy {
                    for &node in &a.scope {
                        mine.push(Grant { pre: 0, end: 0, node, ty: ANY_TYPE, mask: deploy_bit });
                    }
                }
            }
            ug.g0 = grants.len() as u32;
            if ug.no_access.is_none() {
                mine.sort_unstable_by_key(|g| (g.node, g.ty));
                for g in &mine {
                    let merge = grants.len() as u32 > ug.g0
                        && grants.last().is_some_and(|last| last.node == g.node && last.ty == g.ty);
                    if merge {
                        if let Some(last) = grants.last_mut() {
                            last.mask |= g.mask;
                        }
                    } else {
                        let (pre, end) =
                            data.nodes.get(g.node as usize).map(|n| (n.pre, n.end)).unwrap_or((0, 0));
                        grants.push(Grant { pre, end, ..*g });
                    }
                }
            }
            ug.g1 = grants.len() as u32;
        }
        grants.shrink_to_fit();
        asg.shrink_to_fit();
        Self { data, env, revision, users, grants, asg, linear_max: LINEAR_SCAN_MAX }
    }

    fn user(&self, user: &UserId) -> Option<&UserGrants> {
        self.users.get(*self.data.users.get(user)? as usize)
    }

    fn grants_of(&self, ug: &UserGrants) -> &[Grant] {
        self.grants.get(ug.g0 as usize..ug.g1 as usize).unwrap_or(&[])
    }

    fn assignments_of(&self, ug: &UserGrants) -> &[(u32, u32)] {
        self.asg.get(ug.a0 as usize..ug.a1 as usize).unwrap_or(&[])
    }

    /// The grant node, at or above `node`, that gives `bit` on type `ty`: the nearest one.
    fn find(&self, ug: &UserGrants, node: u32, ty: u16, bit: u64) -> Option<u32> {
        let grants = self.grants_of(ug);
        let hit = |g: &Grant| (g.ty == ty || g.ty == ANY_TYPE) && g.mask & bit != 0;
        if grants.len() <= self.linear_max {
            let pre = self.data.nodes.get(node as usize)?.pre;
            let mut best: Option<(u32, u32)> = None;
            for g in grants {
                if g.pre <= pre && pre < g.end && hit(g) && best.is_none_or(|(p, _)| g.pre > p) {
                    best = Some((g.pre, g.node));
                }
            }
            return best.map(|(_, n)| n);
        }
        let mut n = node;
        while n != NONE {
            let start = grants.partition_point(|g| g.node < n);
            for g in grants.get(start..).unwrap_or(&[]) {
                if g.node != n {
                    break;
                }
                if hit(g) {
                    return Some(n);
                }
            }
            n = self.data.nodes.get(n as usize).map(|x| x.parent).unwrap_or(NONE);
        }
        None
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.data.policy.id
    }

    /// The environment.
    pub fn environment(&self) -> &EnvironmentId {
        &self.env
    }

    /// The revision this snapshot was published at (a consistency token across instances).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// May `user` exercise `privilege` on `resource`?
    pub fn check<'a>(
        &'a self,
        user: &'a UserId,
        privilege: &'a Privilege,
        resource: &'a Resource,
    ) -> Decision<'a> {
        let mut d = Decision {
            snap: self,
            user,
            privilege,
            resource,
            node: NONE,
            ty: 0,
            bit: 0,
            outcome: Outcome::Denied(DenyReason::UnknownPrivilege),
        };
        let Some(&p) = self.data.priv_index.get(privilege.name()) else { return d };
        d.bit = 1u64 << p;
        let Some(node) = self.data.node(resource) else {
            d.outcome = Outcome::Denied(DenyReason::UnknownResource);
            return d;
        };
        d.node = node;
        let own_ty = self.data.nodes.get(node as usize).map(|n| n.ty).unwrap_or(WORKSPACE_TYPE);
        d.ty = match privilege.qualifier() {
            None => own_ty,
            Some(q) => match self.data.type_index.get(q) {
                None => return d,
                Some(&t) => {
                    if !resource.is_container() && t != own_ty {
                        d.outcome = Outcome::Denied(DenyReason::QualifierMismatch);
                        return d;
                    }
                    t
                }
            },
        };
        let Some(ug) = self.user(user).filter(|u| u.a1 > u.a0) else {
            d.outcome = Outcome::Denied(DenyReason::NoAssignment);
            return d;
        };
        if ug.no_access.is_some() {
            d.outcome = Outcome::Denied(DenyReason::NoAccess);
            return d;
        }
        d.outcome = match self.find(ug, node, d.ty, d.bit) {
            Some(at) => Outcome::Allowed { at },
            None => Outcome::Denied(DenyReason::NotGranted),
        };
        d
    }

    /// Every resource of `asset_type` (all types when `None`) on which `user` holds `privilege`,
    /// and the database-filter form of the same answer.
    pub fn list(&self, user: &UserId, privilege: &Privilege, asset_type: Option<&str>) -> Listing<'_> {
        let mut out = Listing {
            whole_workspace: false,
            items: Vec::new(),
            containers: Vec::new(),
            roots: Vec::new(),
            denied: None,
        };
        let Some(&p) = self.data.priv_index.get(privilege.name()) else {
            out.denied = Some(DenyReason::UnknownPrivilege);
            return out;
        };
        let bit = 1u64 << p;
        let types: Vec<u16> = match asset_type {
            Some(t) => match self.data.type_index.get(t) {
                Some(&t) => vec![t],
                None => {
                    out.denied = Some(DenyReason::UnknownResource);
                    return out;
                }
            },
            None => (1..self.data.types.len() as u16).collect(),
        };
        let Some(ug) = self.user(user).filter(|u| u.a1 > u.a0) else {
            out.denied = Some(DenyReason::NoAssignment);
            return out;
        };
        if ug.no_access.is_some() {
            out.denied = Some(DenyReason::NoAccess);
            return out;
        }
        let nodes = &self.data.nodes;
        let pre = |n: u32| nodes.get(n as usize).map(|x| (x.pre, x.end)).unwrap_or((0, 0));
        let mut all_roots: Vec<u32> = Vec::new();
        for &ty in &types {
            let mut roots: Vec<u32> = self
                .grants_of(ug)
                .iter()
                .filter(|g| (g.ty == ty || g.ty == ANY_TYPE) && g.mask & bit != 0)
                .map(|g| g.node)
                .collect();
            roots.sort_unstable_by_key(|&n| pre(n).0);
            let mut minimal: Vec<u32> = Vec::new();
            for r in roots {
                if !minimal.last().is_some_and(|&m| self.data.is_ancestor_or_self(m, r)) {
                    minimal.push(r);
                }
            }
            let sorted = self.data.sorted.get(ty as usize).map(Vec::as_slice).unwrap_or(&[]);
            for &r in &minimal {
                let (lo, hi) = pre(r);
                let start = sorted.partition_point(|&n| pre(n).0 < lo);
                for &n in sorted.get(start..).unwrap_or(&[]) {
                    if pre(n).0 >= hi {
                        break;
                    }
                    if let Some(x) = nodes.get(n as usize) {
                        out.items.push(&x.resource);
                    }
                }
            }
            all_roots.extend(minimal);
        }
        all_roots.sort_unstable_by_key(|&n| pre(n).0);
        all_roots.dedup();
        let mut minimal: Vec<u32> = Vec::new();
        for r in all_roots {
            if !minimal.last().is_some_and(|&m| self.data.is_ancestor_or_self(m, r)) {
                minimal.push(r);
            }
        }
        out.whole_workspace = minimal.first() == Some(&0);
        for &r in &minimal {
            let (lo, hi) = pre(r);
            for ct in [crate::compile::PROJECT_TYPE, crate::compile::FOLDER_TYPE] {
                let sorted = self.data.sorted.get(ct as usize).map(Vec::as_slice).unwrap_or(&[]);
                let start = sorted.partition_point(|&n| pre(n).0 < lo);
                for &n in sorted.get(start..).unwrap_or(&[]) {
                    if pre(n).0 >= hi {
                        break;
                    }
                    if let Some(x) = nodes.get(n as usize) {
                        out.containers.push(&x.resource);
                    }
                }
            }
            if let Some(x) = nodes.get(r as usize) {
                out.roots.push(&x.resource);
            }
        }
        out
    }

    fn subject_text(&self, ai: u32) -> String {
        match self.data.assignments.get(ai as usize).map(|a| &a.subject) {
            Some(CSubject::User(u)) => format!("user:{u}"),
            Some(CSubject::Group(g)) => format!("group:{}", self.group_name(*g)),
            None => String::new(),
        }
    }

    fn group_name(&self, g: u32) -> String {
        self.data.groups.get(g as usize).map(|n| n.to_string()).unwrap_or_default()
    }

    /// The groups from `user` up to group `g` (direct membership first).
    fn group_chain(&self, user: &UserId, g: u32) -> Vec<String> {
        let mut chain = Vec::new();
        let Some(list) = self.data.user_groups.get(user) else { return chain };
        let mut cur = g;
        while cur != NONE && chain.len() <= list.len() {
            chain.push(self.group_name(cur));
            cur = list.iter().find(|(x, _)| *x == cur).map(|&(_, via)| via).unwrap_or(NONE);
        }
        chain.reverse();
        chain
    }

    fn path(&self, from: u32, to: u32) -> Vec<String> {
        let mut path = Vec::new();
        let mut n = from;
        while n != NONE {
            path.push(self.data.resource_of(n));
            if n == to {
                break;
            }
            n = self.data.nodes.get(n as usize).map(|x| x.parent).unwrap_or(NONE);
        }
        path
    }
}

/// The nodes covered by both scopes (each a set of subtrees).
fn intersect(data: &TenantData, a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    for &x in a {
        for &y in b {
            if data.is_ancestor_or_self(x, y) {
                out.push(y);
            } else if data.is_ancestor_or_self(y, x) {
                out.push(x);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

impl Decision<'_> {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self.outcome, Outcome::Allowed { .. })
    }

    /// Why it was denied (`None` when allowed).
    pub fn deny_reason(&self) -> Option<DenyReason> {
        match self.outcome {
            Outcome::Allowed { .. } => None,
            Outcome::Denied(r) => Some(r),
        }
    }

    /// The full explanation: which assignment, role, grant and inheritance path allowed the
    /// request, or why nothing did.
    pub fn explain(&self) -> Explanation {
        let s = self.snap;
        let data = &s.data;
        let mut e = Explanation {
            allowed: self.is_allowed(),
            tenant: s.tenant().to_string(),
            environment: s.env.to_string(),
            revision: s.revision,
            user: self.user.to_string(),
            privilege: self.privilege.to_string(),
            resource: self.resource.to_string(),
            reason: String::new(),
            message: String::new(),
            grant: None,
            considered: Vec::new(),
        };
        let ty_name = data.types.get(self.ty as usize).map(|t| t.to_string()).unwrap_or_default();
        let pname = self.privilege.name();
        let ug = s.user(self.user);
        match self.outcome {
            Outcome::Allowed { at } => {
                e.reason = "allowed".into();
                let grant = ug.and_then(|ug| self.find_grant(ug, at, &ty_name));
                e.message = match &grant {
                    Some(g) => format!(
                        "allowed: {} holds role {} through {}{}, which grants {} on {}; {} inherits it via {}",
                        self.user,
                        g.role,
                        g.subject,
                        if g.via_groups.is_empty() {
                            String::new()
                        } else {
                            format!(" (via {})", g.via_groups.join(" → "))
                        },
                        g.granted,
                        g.scope,
                        self.resource,
                        g.path.join(" → ")
                    ),
                    None => "allowed".into(),
                };
                e.grant = grant;
            }
            Outcome::Denied(r) => {
                e.reason = serde_json::to_value(r)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                e.message = match r {
                    DenyReason::UnknownPrivilege => {
                        format!("denied: privilege {} is not defined in tenant {}", self.privilege, e.tenant)
                    }
                    DenyReason::UnknownResource => {
                        format!("denied: {} does not exist in tenant {}", self.resource, e.tenant)
                    }
                    DenyReason::QualifierMismatch => format!(
                        "denied: {} qualifies another type than {}'s own",
                        self.privilege, self.resource
                    ),
                    DenyReason::NoAssignment => format!(
                        "denied: {} has no role in environment {} of tenant {}",
                        self.user, e.environment, e.tenant
                    ),
                    DenyReason::NoAccess => {
                        let (ai, via) = ug.and_then(|u| u.no_access).unwrap_or((NONE, NONE));
                        format!(
                            "denied: {} is assigned NoAccess in environment {} (assignment #{ai} for {}{}), which removes all access there",
                            self.user,
                            e.environment,
                            s.subject_text(ai),
                            if via == NONE {
                                String::new()
                            } else {
                                format!(", via {}", s.group_chain(self.user, via).join(" → "))
                            }
                        )
                    }
                    DenyReason::NotGranted => {
                        e.considered = self.considered(ug, &ty_name);
                        format!(
                            "denied: none of {}'s {} assignment(s) in {} grants {ty_name}: {pname} on {} or any folder or project above it",
                            self.user,
                            e.considered.len(),
                            e.environment,
                            self.resource
                        )
                    }
                    DenyReason::CrossTenant | DenyReason::UnknownTenant | DenyReason::UnknownEnvironment => {
                        format!("denied: {}", e.reason)
                    }
                };
            }
        }
        e
    }

    fn find_grant(&self, ug: &UserGrants, at: u32, ty_name: &str) -> Option<GrantPath> {
        let s = self.snap;
        let data = &s.data;
        for &(ai, via) in s.assignments_of(ug) {
            let a = data.assignments.get(ai as usize)?;
            let Some(r) = a.role else { continue };
            let role = data.roles.get(r as usize)?;
            let mut hit: Option<(String, String)> = None;
            if role.grants.get(self.ty as usize).is_some_and(|m| m & self.bit != 0)
                && intersect(data, &role.scope, &a.scope).contains(&at)
            {
                hit = Some((role.name.to_string(), format!("{ty_name}: {}", self.privilege.name())));
            } else if a.deploy
                && a.scope.contains(&at)
                && data.priv_index.get(crate::roles::DEPLOY).is_some_and(|&d| self.bit == 1u64 << d)
            {
                hit = Some((format!("{} (deploy = true)", role.name), "*: deploy".into()));
            }
            if let Some((role_name, granted)) = hit {
                return Some(GrantPath {
                    assignment: ai as usize,
                    subject: s.subject_text(ai),
                    via_groups: if via == NONE { Vec::new() } else { s.group_chain(self.user, via) },
                    role: role_name,
                    based_on: role.based_on.as_ref().map(|b| b.to_string()),
                    granted,
                    scope: data.resource_of(at),
                    path: s.path(self.node, at),
                });
            }
        }
        None
    }

    fn considered(&self, ug: Option<&UserGrants>, ty_name: &str) -> Vec<String> {
        let s = self.snap;
        let data = &s.data;
        let mut out = Vec::new();
        for &(ai, via) in ug.map(|u| s.assignments_of(u)).unwrap_or(&[]) {
            let Some(a) = data.assignments.get(ai as usize) else { continue };
            let Some(role) = a.role.and_then(|r| data.roles.get(r as usize)) else { continue };
            let scope = intersect(data, &role.scope, &a.scope);
            let scope_text: Vec<String> = scope.iter().map(|&n| data.resource_of(n)).collect();
            let who = match via {
                NONE => s.subject_text(ai),
                g => format!("{} via {}", s.subject_text(ai), s.group_chain(self.user, g).join(" → ")),
            };
            let why = if role.grants.get(self.ty as usize).is_some_and(|m| m & self.bit != 0) {
                format!(
                    "grants {ty_name}: {} but only within [{}], which does not contain {}",
                    self.privilege.name(),
                    scope_text.join(", "),
                    self.resource
                )
            } else {
                let held = data.mask_names(role.grants.get(self.ty as usize).copied().unwrap_or(0));
                format!(
                    "does not grant {} on {ty_name} (it grants [{}])",
                    self.privilege.name(),
                    held.join(", ")
                )
            };
            out.push(format!("assignment #{ai} ({who}): role {} {why}", role.name));
        }
        out
    }
}

/// What [`Snapshot::list`] returns.
#[derive(Debug, Clone, Default)]
pub struct Listing<'a> {
    /// The user sees the whole workspace: filter by tenant only.
    pub whole_workspace: bool,
    /// The visible resources of the asked type(s), in tree order.
    pub items: Vec<&'a Resource>,
    /// The database filter: every project and folder in which the user holds the privilege on the
    /// asked type(s) (an asset is visible iff its parent is in this set).
    pub containers: Vec<&'a Resource>,
    /// The same set, as its minimal subtree roots.
    pub roots: Vec<&'a Resource>,
    /// Set when nothing is visible for a reason other than missing grants.
    pub denied: Option<DenyReason>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyCatalog;

    /// The linear scan and the ancestor walk find the same grants.
    #[test]
    fn both_lookup_strategies_agree() {
        let catalog = PolicyCatalog::from_toml(
            r#"
            [[tenants]]
            id = "t"
            projects = [{ id = "p" }, { id = "q" }]
            folders = [{ id = "a", parent = "project:p" }, { id = "b", parent = "folder:a" }, { id = "c", parent = "project:q" }]
            assets = [{ type = "recipe", id = "r1", parent = "folder:b" }, { type = "connection", id = "c1", parent = "folder:c" }]
            [[tenants.roles]]
            name = "R"
            privileges = { recipe = ["run"], folder = ["view"] }
            scope = ["folder:a"]
            [[tenants.assignments]]
            environment = "production"
            user = "u"
            role = "R"
            [[tenants.assignments]]
            environment = "production"
            user = "u"
            role = "Operator"
            scope = ["project:q"]
            deploy = true
            "#,
        )
        .unwrap_or_default();
        let data = crate::compile::compile_catalog(&catalog).unwrap_or_default().pop();
        let Some(data) = data else { panic!("compiles") };
        let data = Arc::new(data);
        let env: EnvironmentId = "production".parse().unwrap_or_else(|_| unreachable!());
        let scan = Snapshot::build(data.clone(), env.clone(), 1);
        let mut walk = Snapshot::build(data, env, 1);
        walk.linear_max = 0;
        let user: UserId = "u".parse().unwrap_or_else(|_| unreachable!());
        let mut allowed = 0;
        for r in [
            "workspace",
            "project:p",
            "project:q",
            "folder:a",
            "folder:b",
            "folder:c",
            "recipe:r1",
            "connection:c1",
        ] {
            for p in ["view", "run", "deploy", "edit", "recipe.run"] {
                let (r, p): (Resource, Privilege) = (
                    r.parse().unwrap_or_else(|_| unreachable!()),
                    p.parse().unwrap_or_else(|_| unreachable!()),
                );
                let (a, b) = (scan.check(&user, &p, &r), walk.check(&user, &p, &r));
                assert_eq!(a.is_allowed(), b.is_allowed(), "{p} on {r}");
                assert_eq!(a.explain(), b.explain(), "{p} on {r}");
                allowed += usize::from(a.is_allowed());
            }
        }
        assert_eq!(allowed, 14);
    }
}
