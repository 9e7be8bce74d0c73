//! Immutable per-(tenant, environment) snapshots, and the checks made against them.

use std::sync::Arc;

use palisade_core::{EnvironmentId, TenantId, UserId};
use serde::Serialize;

use crate::compile::{CSubject, NONE, TenantData, WORKSPACE_TYPE};
use crate::names::Privilege;
use crate::resource::{Resource, ResourceRef};

/// One grant: what role `role` grants (or the deploy right, for `DEPLOY_GRANT`) at the subtree
/// of `node`, whose pre-order interval is `[pre, end)`. 16 bytes; the privilege masks per type
/// stay in the tenant's role table, shared by every snapshot.
#[derive(Debug, Clone, Copy)]
struct Grant {
    pre: u32,
    end: u32,
    node: u32,
    role: u32,
}

/// `Grant::role` of a deploy right (`deploy = true` on an assignment).
const DEPLOY_GRANT: u32 = u32::MAX;
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
    /// Index into the tenant's environments.
    env: u16,
    /// The deploy privilege's bit.
    deploy_bit: u64,
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
    pub(crate) fn build(data: Arc<TenantData>, env: u16, revision: u64) -> Self {
        let nusers = data.users.len();
        // (user, assignment, group it came through): every assignment of `env` that applies to
        // a user, directly or through a group.
        let mut applies: Vec<(u32, u32, u32)> = Vec::new();
        let mut by_group: Vec<Vec<u32>> = Vec::new();
        for (i, a) in data.assignments.iter().enumerate() {
            if a.env != env {
                continue;
            }
            match a.subject {
                CSubject::User(u) => applies.push((u, i as u32, NONE)),
                CSubject::Group(g) => {
                    if by_group.len() <= g as usize {
                        by_group.resize_with(g as usize + 1, Vec::new);
                    }
                    if let Some(v) = by_group.get_mut(g as usize) {
                        v.push(i as u32);
                    }
                }
            }
        }
        if !by_group.is_empty() {
            for (u, groups) in data.user_groups.iter().enumerate() {
                for &(g, _) in groups {
                    for &a in by_group.get(g as usize).map(Vec::as_slice).unwrap_or(&[]) {
                        applies.push((u as u32, a, g));
                    }
                }
            }
        }
        applies.sort_unstable();
        let deploy_bit = data.priv_index.get(crate::roles::DEPLOY).map(|&d| 1u64 << d).unwrap_or(0);
        let mut users = if applies.is_empty() { Vec::new() } else { vec![UserGrants::default(); nusers] };
        let mut grants: Vec<Grant> = Vec::with_capacity(applies.len() + applies.len() / 2);
        let mut asg: Vec<(u32, u32)> = Vec::with_capacity(applies.len());
        let mut mine: Vec<(u32, u32)> = Vec::new();
        let mut rest = applies.as_slice();
        while let Some(&(u, _, _)) = rest.first() {
            let n = rest.iter().take_while(|x| x.0 == u).count();
            let (list, tail) = rest.split_at(n);
            rest = tail;
            let Some(ug) = users.get_mut(u as usize) else { continue };
            ug.a0 = asg.len() as u32;
            asg.extend(list.iter().map(|&(_, a, via)| (a, via)));
            ug.a1 = asg.len() as u32;
            mine.clear();
            for &(_, ai, via) in list {
                let Some(a) = data.assignments.get(ai as usize) else { continue };
                let Some(r) = a.role else {
                    if ug.no_access.is_none() {
                        ug.no_access = Some((ai, via));
                    }
                    continue;
                };
                let Some(role) = data.roles.get(r as usize) else { continue };
                let scope = data.scope_of(a);
                if role.grants.iter().any(|&m| m != 0) {
                    intersect_into(&data, &role.scope, scope, |node| mine.push((node, r)));
                }
                if a.deploy {
                    mine.extend(scope.iter().map(|&node| (node, DEPLOY_GRANT)));
                }
            }
            ug.g0 = grants.len() as u32;
            if ug.no_access.is_none() {
                mine.sort_unstable();
                mine.dedup();
                for &(node, role) in &mine {
                    let (pre, end) = data.nodes.get(node as usize).map(|n| (n.pre, n.end)).unwrap_or((0, 0));
                    grants.push(Grant { pre, end, node, role });
                }
            }
            ug.g1 = grants.len() as u32;
        }
        grants.shrink_to_fit();
        Self { data, env, deploy_bit, revision, users, grants, asg, linear_max: LINEAR_SCAN_MAX }
    }

    fn user(&self, user: &UserId) -> Option<&UserGrants> {
        self.users.get(self.data.user(user.as_str())? as usize)
    }

    fn grants_of(&self, ug: &UserGrants) -> &[Grant] {
        self.grants.get(ug.g0 as usize..ug.g1 as usize).unwrap_or(&[])
    }

    fn assignments_of(&self, ug: &UserGrants) -> &[(u32, u32)] {
        self.asg.get(ug.a0 as usize..ug.a1 as usize).unwrap_or(&[])
    }

    /// Whether grant `g` gives `bit` on type `ty`.
    fn hit(&self, g: &Grant, ty: u16, bit: u64) -> bool {
        if g.role == DEPLOY_GRANT {
            return bit == self.deploy_bit;
        }
        self.data
            .roles
            .get(g.role as usize)
            .and_then(|r| r.grants.get(ty as usize))
            .is_some_and(|m| m & bit != 0)
    }

    /// The grant node, at or above `node`, that gives `bit` on type `ty`: the nearest one.
    fn find(&self, ug: &UserGrants, node: u32, ty: u16, bit: u64) -> Option<u32> {
        let grants = self.grants_of(ug);
        if grants.len() <= self.linear_max {
            let pre = self.data.nodes.get(node as usize)?.pre;
            let mut best: Option<(u32, u32)> = None;
            for g in grants {
                if g.pre <= pre && pre < g.end && best.is_none_or(|(p, _)| g.pre > p) && self.hit(g, ty, bit)
                {
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
                if self.hit(g, ty, bit) {
                    return Some(n);
                }
            }
            n = self.data.nodes.get(n as usize).map(|x| x.parent).unwrap_or(NONE);
        }
        None
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.data.tenant
    }

    /// The environment.
    pub fn environment(&self) -> &EnvironmentId {
        // A snapshot is only built for one of its tenant's environments.
        #[allow(clippy::indexing_slicing)]
        &self.data.environments[usize::from(self.env)]
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
            let mut roots: Vec<u32> =
                self.grants_of(ug).iter().filter(|g| self.hit(g, ty, bit)).map(|g| g.node).collect();
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
                    out.items.push(self.data.resource_ref(n));
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
                    out.containers.push(self.data.resource_ref(n));
                }
            }
            out.roots.push(self.data.resource_ref(r));
        }
        out
    }

    fn subject_text(&self, ai: u32) -> String {
        match self.data.assignments.get(ai as usize).map(|a| &a.subject) {
            Some(CSubject::User(u)) => {
                format!("user:{}", self.data.users.get(*u as usize).map(UserId::as_str).unwrap_or(""))
            }
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
        let Some(list) = self.data.user(user.as_str()).and_then(|u| self.data.user_groups.get(u as usize))
        else {
            return chain;
        };
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

/// Calls `out` with each node covered by both scopes (each a set of subtrees).
fn intersect_into(data: &TenantData, a: &[u32], b: &[u32], mut out: impl FnMut(u32)) {
    for &x in a {
        for &y in b {
            if data.is_ancestor_or_self(x, y) {
                out(y);
            } else if data.is_ancestor_or_self(y, x) {
                out(x);
            }
        }
    }
}

/// The nodes covered by both scopes, sorted.
fn intersect(data: &TenantData, a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    intersect_into(data, a, b, |n| out.push(n));
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
            environment: s.environment().to_string(),
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
                && intersect(data, &role.scope, data.scope_of(a)).contains(&at)
            {
                hit = Some((role.name.to_string(), format!("{ty_name}: {}", self.privilege.name())));
            } else if a.deploy && data.scope_of(a).contains(&at) && self.bit == s.deploy_bit {
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
            let scope = intersect(data, &role.scope, data.scope_of(a));
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
    pub items: Vec<ResourceRef<'a>>,
    /// The database filter: every project and folder in which the user holds the privilege on the
    /// asked type(s) (an asset is visible iff its parent is in this set).
    pub containers: Vec<ResourceRef<'a>>,
    /// The same set, as its minimal subtree roots.
    pub roots: Vec<ResourceRef<'a>>,
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
        let catalog =
            PolicyCatalog::from_toml(include_str!("../tests/fixtures/strategies.toml")).unwrap_or_default();
        let data = crate::compile::compile_catalog(&catalog).unwrap_or_default().pop();
        let Some(data) = data else { panic!("compiles") };
        let data = Arc::new(data);
        let env = data.environments.iter().position(|e| e.as_str() == "production").unwrap_or(0) as u16;
        let scan = Snapshot::build(data.clone(), env, 1);
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
