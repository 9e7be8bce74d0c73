//! Validation and compilation of a tenant's policy into interned, index-based tables.

use std::collections::HashSet;

/// Hash maps keyed by policy names use foldhash with a per-process random seed: fast, and
/// resistant to crafted collisions in tenant-chosen names.
pub(crate) type HashMap<K, V> = foldhash::HashMap<K, V>;

use palisade_core::{EnvironmentId, UserId};

use crate::error::{Error, Result};
use crate::names::{Name, RoleName, check_token};
use crate::policy::{PolicyCatalog, TenantPolicy};
use crate::resource::{Resource, ResourceString};
use crate::roles::{
    ADMIN_ONLY_PRIVILEGES, ASSET_PRIVILEGES, BUILTIN_ASSET_TYPES, CONTAINER_TYPES, DEPLOY, NO_ACCESS,
    SYSTEM_ROLES, WORKSPACE_PRIVILEGES, system_role_grants,
};

pub(crate) const NONE: u32 = u32::MAX;
pub(crate) const WORKSPACE_TYPE: u16 = 0;
pub(crate) const PROJECT_TYPE: u16 = 1;
pub(crate) const FOLDER_TYPE: u16 = 2;
pub(crate) const MAX_PRIVILEGES: usize = 64;

/// One node of the resource tree.
#[derive(Debug)]
pub(crate) struct Node {
    pub resource: Resource,
    pub ty: u16,
    pub parent: u32,
    pub pre: u32,
    pub end: u32,
}

/// A compiled role.
#[derive(Debug)]
pub(crate) struct CRole {
    pub name: RoleName,
    pub based_on: Option<RoleName>,
    /// Privilege mask per type index.
    pub grants: Vec<u64>,
    /// Scope nodes (the workspace node for "all").
    pub scope: Vec<u32>,
}

/// Who an assignment is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CSubject {
    User(UserId),
    Group(u32),
}

/// A compiled assignment.
#[derive(Debug)]
pub(crate) struct CAssignment {
    pub env: EnvironmentId,
    pub subject: CSubject,
    /// `None` = NoAccess.
    pub role: Option<u32>,
    pub scope: Vec<u32>,
    pub deploy: bool,
}

/// A tenant's policy, validated and interned.
#[derive(Debug)]
pub(crate) struct TenantData {
    pub policy: TenantPolicy,
    pub types: Vec<Box<str>>,
    pub type_index: HashMap<Box<str>, u16>,
    pub privs: Vec<Box<str>>,
    pub priv_index: HashMap<Box<str>, u8>,
    pub nodes: Vec<Node>,
    /// Per type index: id → node.
    pub by_type: Vec<HashMap<Name, u32>>,
    /// Per type index: nodes sorted by pre-order number.
    pub sorted: Vec<Vec<u32>>,
    pub roles: Vec<CRole>,
    pub role_index: HashMap<RoleName, u32>,
    pub groups: Vec<Name>,
    /// For each user: every group it belongs to, with the group it came through (`NONE` when a
    /// direct member).
    pub user_groups: HashMap<UserId, Vec<(u32, u32)>>,
    /// Every user the policy names, interned.
    pub users: HashMap<UserId, u32>,
    pub assignments: Vec<CAssignment>,
}

impl TenantData {
    pub(crate) fn is_ancestor_or_self(&self, a: u32, b: u32) -> bool {
        match (self.nodes.get(a as usize), self.nodes.get(b as usize)) {
            (Some(a), Some(b)) => a.pre <= b.pre && b.pre < a.end,
            _ => false,
        }
    }

    pub(crate) fn node(&self, resource: &Resource) -> Option<u32> {
        match resource {
            Resource::Workspace => Some(0),
            Resource::Project(n) => self.by_type.get(PROJECT_TYPE as usize)?.get(n.as_str()).copied(),
            Resource::Folder(n) => self.by_type.get(FOLDER_TYPE as usize)?.get(n.as_str()).copied(),
            Resource::Asset { asset_type, id } => {
                let ty = *self.type_index.get(asset_type.as_str())?;
                if ty <= FOLDER_TYPE {
                    return None;
                }
                self.by_type.get(ty as usize)?.get(id.as_str()).copied()
            }
        }
    }

    pub(crate) fn resource_of(&self, node: u32) -> String {
        self.nodes.get(node as usize).map(|n| n.resource.to_string()).unwrap_or_default()
    }

    /// The privilege names in `mask`, in interning order.
    pub(crate) fn mask_names(&self, mask: u64) -> Vec<&str> {
        self.privs.iter().enumerate().filter(|(i, _)| mask & (1u64 << i) != 0).map(|(_, p)| &**p).collect()
    }

    /// Compiles `p`; `others` are the other tenants of the same catalog (for clearer errors).
    pub(crate) fn compile(
        p: &TenantPolicy,
        others: &[&TenantPolicy],
    ) -> std::result::Result<Self, Vec<String>> {
        let mut errs: Vec<String> = Vec::new();
        let tenant = p.id.as_str();

        // Environments.
        if p.environments.is_empty() {
            errs.push("`environments` is empty: list at least one environment (or omit it for development, test, production)".into());
        }
        let mut seen = HashSet::new();
        for e in &p.environments {
            if !seen.insert(e.as_str()) {
                errs.push(format!("environment {e} is listed twice"));
            }
        }

        // Types.
        let mut types: Vec<Box<str>> = Vec::new();
        let mut type_index: HashMap<Box<str>, u16> = HashMap::default();
        for t in CONTAINER_TYPES.iter().chain(BUILTIN_ASSET_TYPES.iter()).copied() {
            type_index.insert(t.into(), types.len() as u16);
            types.push(t.into());
        }
        // Declared types first, then any type an asset uses (the asset declares it).
        let used = p.assets.iter().map(|a| &a.asset_type).filter(|t| !CONTAINER_TYPES.contains(&t.as_str()));
        for t in p.asset_types.iter().chain(used) {
            if CONTAINER_TYPES.contains(&t.as_str()) {
                errs.push(format!("asset type {t} is a container type: choose another name"));
            } else if !type_index.contains_key(t.as_str()) {
                type_index.insert(t.as_str().into(), types.len() as u16);
                types.push(t.as_str().into());
            }
        }
        if types.len() > 4096 {
            errs.push(format!("{} asset types: the limit is 4096", types.len()));
        }

        // Privileges.
        let mut privs: Vec<Box<str>> = Vec::new();
        let mut priv_index: HashMap<Box<str>, u8> = HashMap::default();
        let mut host_privs: Vec<String> = Vec::new();
        let builtins =
            ASSET_PRIVILEGES.iter().chain([DEPLOY].iter()).chain(WORKSPACE_PRIVILEGES.iter()).copied();
        for name in builtins.map(str::to_owned).chain(p.privileges.iter().cloned()) {
            if priv_index.contains_key(name.as_str()) {
                continue;
            }
            if let Err(e) = check_token("privilege", &name) {
                errs.push(e.to_string());
                continue;
            }
            if name == "full" {
                errs.push("`full` is reserved (it means every asset privilege in a role): choose another privilege name".into());
                continue;
            }
            if privs.len() >= ASSET_PRIVILEGES.len() + 1 + WORKSPACE_PRIVILEGES.len() {
                host_privs.push(name.clone());
            }
            if privs.len() >= MAX_PRIVILEGES {
                errs.push(format!("more than {MAX_PRIVILEGES} privileges: drop {name} and others"));
                continue;
            }
            priv_index.insert(name.as_str().into(), privs.len() as u8);
            privs.push(name.into());
        }

        // Tree.
        let mut nodes =
            vec![Node { resource: Resource::Workspace, ty: WORKSPACE_TYPE, parent: NONE, pre: 0, end: 0 }];
        let mut by_type: Vec<HashMap<Name, u32>> = (0..types.len()).map(|_| HashMap::default()).collect();
        let mut add = |nodes: &mut Vec<Node>, errs: &mut Vec<String>, resource: Resource, ty: u16| {
            let id = match &resource {
                Resource::Project(n) | Resource::Folder(n) | Resource::Asset { id: n, .. } => n.clone(),
                Resource::Workspace => return,
            };
            let Some(map) = by_type.get_mut(ty as usize) else { return };
            if map.contains_key(&id) {
                errs.push(format!("{resource} is defined twice"));
                return;
            }
            map.insert(id, nodes.len() as u32);
            nodes.push(Node { resource, ty, parent: NONE, pre: 0, end: 0 });
        };
        for pr in &p.projects {
            add(&mut nodes, &mut errs, Resource::Project(pr.id.clone()), PROJECT_TYPE);
        }
        for f in &p.folders {
            add(&mut nodes, &mut errs, Resource::Folder(f.id.clone()), FOLDER_TYPE);
        }
        for a in &p.assets {
            match type_index.get(a.asset_type.as_str()) {
                Some(&ty) if ty > FOLDER_TYPE => add(
                    &mut nodes,
                    &mut errs,
                    Resource::Asset { asset_type: a.asset_type.clone(), id: a.id.clone() },
                    ty,
                ),
                Some(_) => errs.push(format!(
                    "asset {}:{} has a container type: declare it under `projects` or `folders`",
                    a.asset_type, a.id
                )),
                None => errs.push(format!("asset {}:{} has an unknown type", a.asset_type, a.id)),
            }
        }
        let data_for_lookup = Lookup { tenant, by_type: &by_type, others };
        for pr in &p.projects {
            if let Some(&n) = by_type.get(PROJECT_TYPE as usize).and_then(|m| m.get(&pr.id))
                && let Some(node) = nodes.get_mut(n as usize)
            {
                node.parent = 0;
            }
        }
        let mut parents: Vec<(u32, u32)> = Vec::new();
        for f in &p.folders {
            let me = by_type.get(FOLDER_TYPE as usize).and_then(|m| m.get(&f.id)).copied();
            let what = Lazy(&|| format!("folder:{}", f.id));
            if let (Some(me), Some(parent)) =
                (me, data_for_lookup.container(&f.parent, &what, false, &mut errs))
            {
                parents.push((me, parent));
            }
        }
        for a in &p.assets {
            let me = type_index
                .get(a.asset_type.as_str())
                .and_then(|t| by_type.get(*t as usize))
                .and_then(|m| m.get(&a.id))
                .copied();
            let what = Lazy(&|| format!("{}:{}", a.asset_type, a.id));
            if let (Some(me), Some(parent)) =
                (me, data_for_lookup.container(&a.parent, &what, false, &mut errs))
            {
                parents.push((me, parent));
            }
        }
        for (me, parent) in parents {
            if parent == 0 {
                errs.push(format!(
                    "{} sits directly in the workspace: put it in a project or folder",
                    nodes.get(me as usize).map(|n| n.resource.to_string()).unwrap_or_default()
                ));
            } else if let Some(node) = nodes.get_mut(me as usize) {
                node.parent = parent;
            }
        }
        // Pre-order numbering (iterative); nodes not reached sit in a parent cycle.
        let mut children: Vec<Vec<u32>> = vec![Vec::new(); nodes.len()];
        for (i, n) in nodes.iter().enumerate().skip(1) {
            if let Some(c) = children.get_mut(n.parent as usize) {
                c.push(i as u32);
            }
        }
        let mut counter = 0u32;
        let mut visited = vec![false; nodes.len()];
        let mut stack: Vec<(u32, usize)> = vec![(0, 0)];
        if let Some(v) = visited.get_mut(0) {
            *v = true;
        }
        if let Some(n) = nodes.get_mut(0) {
            n.pre = 0;
        }
        counter += 1;
        while let Some((n, i)) = stack.last_mut() {
            let (n, i_now) = (*n, *i);
            *i += 1;
            match children.get(n as usize).and_then(|c| c.get(i_now)).copied() {
                Some(child) => {
                    if let Some(v) = visited.get_mut(child as usize) {
                        *v = true;
                    }
                    if let Some(node) = nodes.get_mut(child as usize) {
                        node.pre = counter;
                    }
                    counter += 1;
                    stack.push((child, 0));
                }
                None => {
                    if let Some(node) = nodes.get_mut(n as usize) {
                        node.end = counter;
                    }
                    stack.pop();
                }
            }
        }
        for (i, v) in visited.iter().enumerate() {
            if !v
                && let Some(n) = nodes.get(i)
                && n.parent != NONE
            {
                errs.push(format!("{} is in a cycle of folder parents: break the cycle", n.resource));
            }
        }
        let mut sorted: Vec<Vec<u32>> = vec![Vec::new(); types.len()];
        for (i, n) in nodes.iter().enumerate() {
            if let Some(v) = sorted.get_mut(n.ty as usize) {
                v.push(i as u32);
            }
        }
        for v in &mut sorted {
            v.sort_by_key(|&i| nodes.get(i as usize).map(|n| n.pre).unwrap_or(0));
        }

        let mut data = TenantData {
            // The tree lives in `nodes`; keep the rest of the policy for explanations and export.
            policy: p.clone_without_tree(),
            types,
            type_index,
            privs,
            priv_index,
            nodes,
            by_type,
            sorted,
            roles: Vec::new(),
            role_index: HashMap::default(),
            groups: Vec::new(),
            user_groups: HashMap::default(),
            users: HashMap::default(),
            assignments: Vec::new(),
        };

        data.compile_roles(p, &host_privs, others, &mut errs);
        data.compile_groups(p, &mut errs);
        data.compile_assignments(p, others, &mut errs);
        let mut users: Vec<UserId> = data.user_groups.keys().cloned().collect();
        for a in &data.assignments {
            if let CSubject::User(u) = &a.subject {
                users.push(u.clone());
            }
        }
        users.sort_unstable();
        users.dedup();
        data.users = users.into_iter().enumerate().map(|(i, u)| (u, i as u32)).collect();
        if errs.is_empty() {
            Ok(data)
        } else {
            Err(errs.into_iter().map(|e| format!("tenant {tenant}: {e}")).collect())
        }
    }

    fn scope(
        &self,
        entries: &Option<Vec<String>>,
        what: &Lazy<'_>,
        others: &[&TenantPolicy],
        errs: &mut Vec<String>,
    ) -> Vec<u32> {
        let Some(entries) = entries else { return vec![0] };
        if entries.is_empty() {
            errs.push(format!(
                "{what} has an empty scope, which grants nothing: omit `scope` for the whole workspace"
            ));
        }
        let lookup = Lookup { tenant: self.policy.id.as_str(), by_type: &self.by_type, others };
        let mut out: Vec<u32> =
            entries.iter().filter_map(|e| lookup.container(e, what, true, errs)).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn compile_roles(
        &mut self,
        p: &TenantPolicy,
        host_privs: &[String],
        others: &[&TenantPolicy],
        errs: &mut Vec<String>,
    ) {
        let ntypes = self.types.len();
        for name in SYSTEM_ROLES {
            let mut grants = vec![0u64; ntypes];
            for (t, g) in self.types.iter().zip(grants.iter_mut()) {
                for pr in system_role_grants(name, t, host_privs).unwrap_or_default() {
                    if let Some(&i) = self.priv_index.get(pr) {
                        *g |= 1u64 << i;
                    }
                }
            }
            if let Ok(rn) = RoleName::new(name) {
                self.role_index.insert(rn.clone(), self.roles.len() as u32);
                self.roles.push(CRole { name: rn, based_on: None, grants, scope: vec![0] });
            }
        }
        let defs: HashMap<&str, usize> =
            p.roles.iter().enumerate().map(|(i, r)| (r.name.as_str(), i)).collect();
        for (i, r) in p.roles.iter().enumerate() {
            if SYSTEM_ROLES.contains(&r.name.as_str()) || r.name.as_str() == NO_ACCESS {
                errs.push(format!("role {} is reserved: system roles cannot be edited; clone one with `based_on` under another name", r.name));
            } else if defs.get(r.name.as_str()) != Some(&i) {
                errs.push(format!("role {} is defined twice", r.name));
            }
        }
        // Resolve in dependency order (bases first), detecting cycles.
        let mut state: HashMap<&str, u8> = HashMap::default(); // 1 visiting, 2 done
        for r in &p.roles {
            self.role_rec(p, r.name.as_str(), &defs, &mut state, host_privs, others, errs);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn role_rec<'p>(
        &mut self,
        p: &'p TenantPolicy,
        name: &'p str,
        defs: &HashMap<&'p str, usize>,
        state: &mut HashMap<&'p str, u8>,
        host_privs: &[String],
        others: &[&TenantPolicy],
        errs: &mut Vec<String>,
    ) {
        if SYSTEM_ROLES.contains(&name) || name == NO_ACCESS {
            return;
        }
        match state.get(name) {
            Some(1) => {
                errs.push(format!("role {name} is part of a `based_on` cycle: break the cycle"));
                return;
            }
            Some(_) => return,
            None => {}
        }
        let Some(r) = defs.get(name).and_then(|&i| p.roles.get(i)) else { return };
        state.insert(name, 1);
        let ntypes = self.types.len();
        let mut grants = vec![0u64; ntypes];
        if let Some(base) = &r.based_on {
            if base.as_str() == NO_ACCESS {
                errs.push(format!("role {name} is based on NoAccess, which has no privileges to clone"));
            } else if let Some(base_def) = p.roles.iter().find(|d| d.name == *base) {
                self.role_rec(p, base_def.name.as_str(), defs, state, host_privs, others, errs);
            } else if !SYSTEM_ROLES.contains(&base.as_str()) {
                errs.push(format!("role {name} is based on unknown role {base} (names are case-sensitive)"));
            }
            if let Some(b) = self.role_index.get(base).and_then(|&i| self.roles.get(i as usize)) {
                grants.clone_from(&b.grants);
            }
            let admin_only: u64 = ADMIN_ONLY_PRIVILEGES
                .iter()
                .filter_map(|a| self.priv_index.get(*a))
                .fold(0, |m, &i| m | (1u64 << i));
            for g in &mut grants {
                *g &= !admin_only;
            }
        }
        let asset_full: u64 = ASSET_PRIVILEGES
            .iter()
            .map(|s| (*s).to_owned())
            .chain(host_privs.iter().cloned())
            .filter_map(|a| self.priv_index.get(a.as_str()))
            .fold(0, |m, &i| m | (1u64 << i));
        let ws_full: u64 = WORKSPACE_PRIVILEGES
            .iter()
            .filter(|w| !ADMIN_ONLY_PRIVILEGES.contains(w))
            .filter_map(|a| self.priv_index.get(*a))
            .fold(0, |m, &i| m | (1u64 << i));
        for (key, list) in &r.privileges {
            let targets: Vec<u16> = if key == "*" {
                (PROJECT_TYPE..ntypes as u16).collect()
            } else if let Some(&t) = self.type_index.get(key.as_str()) {
                vec![t]
            } else {
                errs.push(format!("role {name} lists privileges for unknown type {key:?}: use an asset type, project, folder, workspace or *"));
                continue;
            };
            let workspace = key == "workspace";
            let mut mask = 0u64;
            for pr in list {
                if pr == "full" {
                    mask |= if workspace { ws_full } else { asset_full };
                } else if pr == DEPLOY {
                    errs.push(format!("role {name} lists `deploy`: deploying is granted per environment with `deploy = true` on an assignment"));
                } else if ADMIN_ONLY_PRIVILEGES.contains(&pr.as_str()) {
                    errs.push(format!("role {name} lists {pr}, which only the Admin system role holds"));
                } else if WORKSPACE_PRIVILEGES.contains(&pr.as_str()) != workspace {
                    if workspace {
                        errs.push(format!(
                            "role {name}: {pr} is not a workspace privilege; list it under an asset type"
                        ));
                    } else {
                        errs.push(format!(
                            "role {name}: {pr} is a workspace privilege; list it under `workspace`"
                        ));
                    }
                } else if let Some(&i) = self.priv_index.get(pr.as_str()) {
                    mask |= 1u64 << i;
                } else {
                    errs.push(format!("role {name} lists unknown privilege {pr:?}: add it to `privileges` or use a built-in one"));
                }
            }
            for t in targets {
                if let Some(g) = grants.get_mut(t as usize) {
                    *g |= mask;
                }
            }
        }
        let scope = self.scope(&r.scope, &Lazy(&|| format!("role {name}")), others, errs);
        self.role_index.insert(r.name.clone(), self.roles.len() as u32);
        self.roles.push(CRole { name: r.name.clone(), based_on: r.based_on.clone(), grants, scope });
        state.insert(name, 2);
    }

    fn compile_groups(&mut self, p: &TenantPolicy, errs: &mut Vec<String>) {
        let mut index: HashMap<&Name, u32> = HashMap::default();
        for g in &p.groups {
            if index.insert(&g.id, self.groups.len() as u32).is_some() {
                errs.push(format!("group {} is defined twice", g.id));
            }
            self.groups.push(g.id.clone());
        }
        // parents[child] = groups that contain child.
        let mut parents: Vec<Vec<u32>> = vec![Vec::new(); self.groups.len()];
        for (gi, g) in p.groups.iter().enumerate() {
            for sub in &g.groups {
                match index.get(sub) {
                    Some(&s) => {
                        if let Some(v) = parents.get_mut(s as usize) {
                            v.push(gi as u32);
                        }
                    }
                    None => errs.push(format!("group {} includes unknown group {sub}", g.id)),
                }
            }
        }
        // Cycle detection: DFS over parents.
        let n = self.groups.len();
        let mut color = vec![0u8; n];
        for start in 0..n {
            if color.get(start) != Some(&0) {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            if let Some(c) = color.get_mut(start) {
                *c = 1;
            }
            while let Some(&mut (g, ref mut i)) = stack.last_mut() {
                let next = parents.get(g).and_then(|v| v.get(*i)).copied();
                *i += 1;
                match next {
                    Some(pg) => match color.get(pg as usize) {
                        Some(0) => {
                            if let Some(c) = color.get_mut(pg as usize) {
                                *c = 1;
                            }
                            stack.push((pg as usize, 0));
                        }
                        Some(1) => {
                            let name =
                                self.groups.get(pg as usize).map(|n| n.to_string()).unwrap_or_default();
                            errs.push(format!(
                                "group {name} is part of a cycle of nested groups: break the cycle"
                            ));
                        }
                        _ => {}
                    },
                    None => {
                        if let Some(c) = color.get_mut(g) {
                            *c = 2;
                        }
                        stack.pop();
                    }
                }
            }
        }
        // Transitive memberships, breadth first, remembering the way in.
        for (gi, g) in p.groups.iter().enumerate() {
            for m in &g.members {
                let list = self.user_groups.entry(m.clone()).or_default();
                if !list.iter().any(|&(x, _)| x == gi as u32) {
                    list.push((gi as u32, NONE));
                }
            }
        }
        for list in self.user_groups.values_mut() {
            let mut k = 0;
            while let Some(&(g, _)) = list.get(k) {
                for &pg in parents.get(g as usize).map(Vec::as_slice).unwrap_or(&[]) {
                    if !list.iter().any(|&(x, _)| x == pg) {
                        list.push((pg, g));
                    }
                }
                k += 1;
            }
        }
    }

    fn compile_assignments(&mut self, p: &TenantPolicy, others: &[&TenantPolicy], errs: &mut Vec<String>) {
        for (i, a) in p.assignments.iter().enumerate() {
            let what = Lazy(&|| format!("assignment #{i} ({} in {})", a.role, a.environment));
            if !p.environments.contains(&a.environment) {
                errs.push(format!(
                    "{what}: unknown environment {}: list it in `environments`",
                    a.environment
                ));
            }
            let subject = match (&a.user, &a.group) {
                (Some(u), None) => Some(CSubject::User(u.clone())),
                (None, Some(g)) => match self.groups.iter().position(|x| x == g) {
                    Some(gi) => Some(CSubject::Group(gi as u32)),
                    None => {
                        errs.push(format!("{what}: unknown group {g}"));
                        None
                    }
                },
                _ => {
                    errs.push(format!("{what}: give exactly one of `user` and `group`"));
                    None
                }
            };
            let role = if a.role.as_str() == NO_ACCESS {
                if a.deploy {
                    errs.push(format!("{what}: NoAccess cannot deploy"));
                }
                if a.scope.is_some() {
                    errs.push(format!("{what}: NoAccess applies to the whole environment: remove `scope`"));
                }
                None
            } else {
                match self.role_index.get(&a.role) {
                    Some(&r) => Some(r),
                    None => {
                        errs.push(format!(
                            "{what}: unknown role {} (use Admin, Analyst, Operator, NoAccess or a custom role; names are case-sensitive)",
                            a.role
                        ));
                        continue;
                    }
                }
            };
            let scope = self.scope(&a.scope, &what, others, errs);
            if let Some(subject) = subject {
                self.assignments.push(CAssignment {
                    env: a.environment.clone(),
                    subject,
                    role,
                    scope,
                    deploy: a.deploy,
                });
            }
        }
        if let Some(jit) = &p.jit {
            let known = |r: &RoleName| r.as_str() == NO_ACCESS || self.role_index.contains_key(r);
            if let Some(d) = &jit.default_role
                && !known(d)
            {
                errs.push(format!("jit: unknown default role {d} (names are case-sensitive)"));
            }
            for (i, r) in jit.rules.iter().enumerate() {
                if !p.environments.contains(&r.environment) {
                    errs.push(format!("jit rule #{i}: unknown environment {}", r.environment));
                }
                match (&r.attribute, &r.group, &r.role) {
                    (Some(_), None, None) => {}
                    (None, Some(_), Some(role)) => {
                        if !known(role) {
                            errs.push(format!("jit rule #{i}: unknown role {role} (names are case-sensitive)"));
                        }
                    }
                    (Some(_), None, Some(_)) => {
                        errs.push(format!("jit rule #{i}: an `attribute` rule takes the role from the attribute's value: remove `role`"))
                    }
                    (None, Some(_), None) => errs.push(format!("jit rule #{i}: a `group` rule needs a `role`")),
                    _ => errs.push(format!("jit rule #{i}: give exactly one of `attribute` and `group`")),
                }
            }
        }
    }
}

/// An error-message fragment built only when an error is reported.
struct Lazy<'a>(&'a dyn Fn() -> String);

impl std::fmt::Display for Lazy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&(self.0)())
    }
}

struct Lookup<'a> {
    tenant: &'a str,
    by_type: &'a [HashMap<Name, u32>],
    others: &'a [&'a TenantPolicy],
}

impl Lookup<'_> {
    /// Resolves a container reference (`project:ID`, `folder:ID`, or `workspace` if allowed).
    fn container(
        &self,
        text: &str,
        what: &Lazy<'_>,
        allow_workspace: bool,
        errs: &mut Vec<String>,
    ) -> Option<u32> {
        let rs: ResourceString = match text.parse() {
            Ok(r) => r,
            Err(e) => {
                errs.push(format!("{what}: {e}"));
                return None;
            }
        };
        if let Some(t) = &rs.tenant
            && t.as_str() != self.tenant
        {
            errs.push(format!(
                "{what} refers to {text}, in tenant {t}: grants and parents cannot cross tenants"
            ));
            return None;
        }
        let (ty, id) = match &rs.resource {
            Resource::Workspace if allow_workspace => return Some(0),
            Resource::Project(n) => (PROJECT_TYPE, n),
            Resource::Folder(n) => (FOLDER_TYPE, n),
            _ => {
                errs.push(format!("{what} refers to {text}: only a project or a folder can be named here"));
                return None;
            }
        };
        if let Some(&n) = self.by_type.get(ty as usize).and_then(|m| m.get(id)) {
            return Some(n);
        }
        let elsewhere = self.others.iter().find(|o| {
            o.id.as_str() != self.tenant
                && if ty == PROJECT_TYPE {
                    o.projects.iter().any(|p| p.id == *id)
                } else {
                    o.folders.iter().any(|f| f.id == *id)
                }
        });
        match elsewhere {
            Some(o) => errs.push(format!(
                "{what} refers to {}, which belongs to tenant {}, not {}: grants and parents cannot cross tenants",
                rs.resource, o.id, self.tenant
            )),
            None => errs.push(format!("{what} refers to unknown {}", rs.resource)),
        }
        None
    }
}

/// Validates and compiles every tenant of a catalog; nothing is returned unless all are valid.
pub(crate) fn compile_catalog(c: &PolicyCatalog) -> Result<Vec<TenantData>> {
    let mut errs = Vec::new();
    let mut seen = HashSet::new();
    for t in &c.tenants {
        if !seen.insert(t.id.as_str()) {
            errs.push(format!("tenant {} is listed twice", t.id));
        }
    }
    let all: Vec<&TenantPolicy> = c.tenants.iter().collect();
    let mut out = Vec::new();
    for t in &c.tenants {
        match TenantData::compile(t, &all) {
            Ok(d) => out.push(d),
            Err(e) => errs.extend(e),
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(Error::InvalidPolicy(errs)) }
}
