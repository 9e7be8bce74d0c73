//! Validation and compilation of a tenant's policy into interned, index-based tables.
//!
//! The compiled form keeps no per-node strings: every project, folder and asset id lives in one
//! text arena per tenant, nodes are 24-byte records of indices, the id → node index is a
//! `hashbrown` table of `u32`s, and users, groups, environments and assignment scopes are
//! interned as indices. Snapshots of the tenant's environments share it through an `Arc`.

use std::collections::HashSet;

/// Hash maps keyed by policy names use foldhash with a per-process random seed: fast, and
/// resistant to crafted collisions in tenant-chosen names.
pub(crate) type HashMap<K, V> = foldhash::HashMap<K, V>;

use std::hash::BuildHasher;

use hashbrown::HashTable;
use palisade_core::{EnvironmentId, TenantId, UserId};

use crate::error::{Error, Result};
use crate::names::{Name, RoleName, check_token};
use crate::policy::{PolicyCatalog, TenantPolicy};
use crate::resource::{Resource, ResourceRef, ResourceString};
use crate::roles::{
    ADMIN_ONLY_PRIVILEGES, ASSET_PRIVILEGES, BUILTIN_ASSET_TYPES, CONTAINER_TYPES, DEPLOY, NO_ACCESS,
    SYSTEM_ROLES, WORKSPACE_PRIVILEGES, system_role_grants,
};

pub(crate) const NONE: u32 = u32::MAX;
pub(crate) const WORKSPACE_TYPE: u16 = 0;
pub(crate) const PROJECT_TYPE: u16 = 1;
pub(crate) const FOLDER_TYPE: u16 = 2;
pub(crate) const MAX_PRIVILEGES: usize = 64;

/// One node of the resource tree: its type, parent, pre-order interval `[pre, end)` and id
/// (`ids[id0..id1]` in the tenant's text arena).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    pub parent: u32,
    pub pre: u32,
    pub end: u32,
    pub id0: u32,
    pub id1: u32,
    pub ty: u16,
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

/// Who an assignment is for: an interned user or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CSubject {
    User(u32),
    Group(u32),
}

/// A compiled assignment.
#[derive(Debug)]
pub(crate) struct CAssignment {
    /// Index into the tenant's environments.
    pub env: u16,
    pub subject: CSubject,
    /// `None` = NoAccess.
    pub role: Option<u32>,
    /// Scope nodes: `scopes[s0..s1]`.
    pub s0: u32,
    pub s1: u32,
    pub deploy: bool,
}

/// A tenant's policy, validated and interned.
#[derive(Debug)]
pub(crate) struct TenantData {
    pub tenant: TenantId,
    pub environments: Vec<EnvironmentId>,
    pub types: Vec<Box<str>>,
    pub type_index: HashMap<Box<str>, u16>,
    pub privs: Vec<Box<str>>,
    pub priv_index: HashMap<Box<str>, u8>,
    pub nodes: Vec<Node>,
    /// The ids of all nodes, end to end.
    pub ids: String,
    /// (type, id) → node.
    node_index: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    /// Per type index: nodes sorted by pre-order number.
    pub sorted: Vec<Vec<u32>>,
    pub roles: Vec<CRole>,
    pub role_index: HashMap<RoleName, u32>,
    pub groups: Vec<Name>,
    /// Every user the policy names, interned (`user_index` maps names to these indices).
    pub users: Vec<UserId>,
    user_index: HashTable<u32>,
    /// Per user index: every group it belongs to, with the group it came through (`NONE` when a
    /// direct member).
    pub user_groups: Vec<Vec<(u32, u32)>>,
    pub assignments: Vec<CAssignment>,
    /// The assignments' scope nodes, end to end.
    pub scopes: Vec<u32>,
}

impl TenantData {
    pub(crate) fn is_ancestor_or_self(&self, a: u32, b: u32) -> bool {
        match (self.nodes.get(a as usize), self.nodes.get(b as usize)) {
            (Some(a), Some(b)) => a.pre <= b.pre && b.pre < a.end,
            _ => false,
        }
    }

    fn node_hash(&self, ty: u16, id: &str) -> u64 {
        self.hasher.hash_one((ty, id))
    }

    fn id_of(&self, n: &Node) -> &str {
        self.ids.get(n.id0 as usize..n.id1 as usize).unwrap_or("")
    }

    /// The node of type `ty` with id `id`.
    pub(crate) fn lookup(&self, ty: u16, id: &str) -> Option<u32> {
        let nodes = &self.nodes;
        let ids = &self.ids;
        self.node_index
            .find(self.node_hash(ty, id), |&n| {
                nodes
                    .get(n as usize)
                    .is_some_and(|x| x.ty == ty && ids.get(x.id0 as usize..x.id1 as usize) == Some(id))
            })
            .copied()
    }

    /// Adds a node (not yet linked to its parent); `false` if (type, id) exists already.
    fn add_node(&mut self, ty: u16, id: &str) -> bool {
        if self.lookup(ty, id).is_some() {
            return false;
        }
        let n = self.nodes.len() as u32;
        let id0 = self.ids.len() as u32;
        self.ids.push_str(id);
        self.nodes.push(Node { parent: NONE, pre: 0, end: 0, id0, id1: self.ids.len() as u32, ty });
        let (nodes, ids, hasher) = (&self.nodes, &self.ids, &self.hasher);
        let rehash = |&m: &u32| {
            let x = nodes.get(m as usize);
            let id = x.and_then(|x| ids.get(x.id0 as usize..x.id1 as usize)).unwrap_or("");
            hasher.hash_one((x.map(|x| x.ty).unwrap_or(0), id))
        };
        self.node_index.insert_unique(hasher.hash_one((ty, id)), n, rehash);
        true
    }

    /// The interned index of `user`.
    pub(crate) fn user(&self, user: &str) -> Option<u32> {
        let users = &self.users;
        self.user_index
            .find(self.hasher.hash_one(user), |&u| users.get(u as usize).map(UserId::as_str) == Some(user))
            .copied()
    }

    fn intern_user(&mut self, user: &UserId) -> u32 {
        if let Some(u) = self.user(user.as_str()) {
            return u;
        }
        let u = self.users.len() as u32;
        self.users.push(user.clone());
        self.user_groups.push(Vec::new());
        let (users, hasher) = (&self.users, &self.hasher);
        let rehash = |&m: &u32| hasher.hash_one(users.get(m as usize).map(UserId::as_str).unwrap_or(""));
        self.user_index.insert_unique(hasher.hash_one(user.as_str()), u, rehash);
        u
    }

    pub(crate) fn node(&self, resource: &Resource) -> Option<u32> {
        match resource {
            Resource::Workspace => Some(0),
            Resource::Project(n) => self.lookup(PROJECT_TYPE, n.as_str()),
            Resource::Folder(n) => self.lookup(FOLDER_TYPE, n.as_str()),
            Resource::Asset { asset_type, id } => {
                let ty = *self.type_index.get(asset_type.as_str())?;
                if ty <= FOLDER_TYPE {
                    return None;
                }
                self.lookup(ty, id.as_str())
            }
        }
    }

    /// The resource at `node`, borrowed from the tenant's tables.
    pub(crate) fn resource_ref(&self, node: u32) -> ResourceRef<'_> {
        match self.nodes.get(node as usize) {
            Some(n) if node != 0 => ResourceRef::new(
                self.types.get(n.ty as usize).map(|t| &**t).unwrap_or("workspace"),
                Some(self.id_of(n)),
            ),
            _ => ResourceRef::new("workspace", None),
        }
    }

    pub(crate) fn resource_of(&self, node: u32) -> String {
        self.resource_ref(node).to_string()
    }

    /// The scope nodes of assignment `a`.
    pub(crate) fn scope_of(&self, a: &CAssignment) -> &[u32] {
        self.scopes.get(a.s0 as usize..a.s1 as usize).unwrap_or(&[])
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
        if p.environments.len() > usize::from(u16::MAX) {
            errs.push("more than 65535 environments".into());
        }
        let mut seen = HashSet::with_capacity(p.environments.len());
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
        for name in builtins.chain(p.privileges.iter().map(String::as_str)) {
            if priv_index.contains_key(name) {
                continue;
            }
            if let Err(e) = check_token("privilege", name) {
                errs.push(e.to_string());
                continue;
            }
            if name == "full" {
                errs.push("`full` is reserved (it means every asset privilege in a role): choose another privilege name".into());
                continue;
            }
            if privs.len() >= ASSET_PRIVILEGES.len() + 1 + WORKSPACE_PRIVILEGES.len() {
                host_privs.push(name.to_owned());
            }
            if privs.len() >= MAX_PRIVILEGES {
                errs.push(format!("more than {MAX_PRIVILEGES} privileges: drop {name} and others"));
                continue;
            }
            priv_index.insert(name.into(), privs.len() as u8);
            privs.push(name.into());
        }

        // Tree.
        let nnodes = 1 + p.projects.len() + p.folders.len() + p.assets.len();
        let id_bytes = p.projects.iter().map(|x| x.id.as_str().len()).sum::<usize>()
            + p.folders.iter().map(|x| x.id.as_str().len()).sum::<usize>()
            + p.assets.iter().map(|x| x.id.as_str().len()).sum::<usize>();
        let ntypes = types.len();
        let mut data = TenantData {
            tenant: p.id.clone(),
            environments: p.environments.clone(),
            types,
            type_index,
            privs,
            priv_index,
            nodes: Vec::with_capacity(nnodes),
            ids: String::with_capacity(id_bytes),
            node_index: HashTable::with_capacity(nnodes),
            hasher: foldhash::fast::RandomState::default(),
            sorted: Vec::new(),
            roles: Vec::new(),
            role_index: HashMap::default(),
            groups: Vec::new(),
            users: Vec::new(),
            user_index: HashTable::new(),
            user_groups: Vec::new(),
            assignments: Vec::with_capacity(p.assignments.len()),
            scopes: Vec::new(),
        };
        data.nodes.push(Node { parent: NONE, pre: 0, end: 0, id0: 0, id1: 0, ty: WORKSPACE_TYPE });
        for pr in &p.projects {
            if !data.add_node(PROJECT_TYPE, pr.id.as_str()) {
                errs.push(format!("project:{} is defined twice", pr.id));
            }
        }
        for f in &p.folders {
            if !data.add_node(FOLDER_TYPE, f.id.as_str()) {
                errs.push(format!("folder:{} is defined twice", f.id));
            }
        }
        for a in &p.assets {
            match data.type_index.get(a.asset_type.as_str()) {
                Some(&ty) if ty > FOLDER_TYPE => {
                    if !data.add_node(ty, a.id.as_str()) {
                        errs.push(format!("{}:{} is defined twice", a.asset_type, a.id));
                    }
                }
                Some(_) => errs.push(format!(
                    "asset {}:{} has a container type: declare it under `projects` or `folders`",
                    a.asset_type, a.id
                )),
                None => errs.push(format!("asset {}:{} has an unknown type", a.asset_type, a.id)),
            }
        }
        for pr in &p.projects {
            if let Some(n) = data.lookup(PROJECT_TYPE, pr.id.as_str())
                && let Some(node) = data.nodes.get_mut(n as usize)
            {
                node.parent = 0;
            }
        }
        let mut parents: Vec<(u32, u32)> = Vec::with_capacity(p.folders.len() + p.assets.len());
        {
            let lookup = Lookup { data: &data, others };
            for f in &p.folders {
                let me = data.lookup(FOLDER_TYPE, f.id.as_str());
                let what = Lazy(&|| format!("folder:{}", f.id));
                if let (Some(me), Some(parent)) = (me, lookup.container(&f.parent, &what, false, &mut errs)) {
                    parents.push((me, parent));
                }
            }
            for a in &p.assets {
                let me =
                    data.type_index.get(a.asset_type.as_str()).and_then(|&t| data.lookup(t, a.id.as_str()));
                let what = Lazy(&|| format!("{}:{}", a.asset_type, a.id));
                if let (Some(me), Some(parent)) = (me, lookup.container(&a.parent, &what, false, &mut errs)) {
                    parents.push((me, parent));
                }
            }
        }
        for (me, parent) in parents {
            if parent == 0 {
                errs.push(format!(
                    "{} sits directly in the workspace: put it in a project or folder",
                    data.resource_of(me)
                ));
            } else if let Some(node) = data.nodes.get_mut(me as usize) {
                node.parent = parent;
            }
        }
        data.number_nodes(&mut errs);
        let mut sorted: Vec<Vec<u32>> = vec![Vec::new(); ntypes];
        // Per type, the nodes in pre-order.
        let mut by_pre: Vec<u32> = (0..data.nodes.len() as u32).collect();
        by_pre.sort_unstable_by_key(|&i| data.nodes.get(i as usize).map(|n| n.pre).unwrap_or(0));
        for i in by_pre {
            if let Some(v) = data.nodes.get(i as usize).and_then(|n| sorted.get_mut(n.ty as usize)) {
                v.push(i);
            }
        }
        data.sorted = sorted;

        data.compile_roles(p, &host_privs, others, &mut errs);
        data.compile_groups(p, &mut errs);
        data.compile_assignments(p, others, &mut errs);
        data.user_groups.shrink_to_fit();
        data.scopes.shrink_to_fit();
        if errs.is_empty() {
            Ok(data)
        } else {
            Err(errs.into_iter().map(|e| format!("tenant {tenant}: {e}")).collect())
        }
    }

    /// Pre-order numbering (iterative); nodes not reached sit in a parent cycle.
    fn number_nodes(&mut self, errs: &mut Vec<String>) {
        let nodes = &mut self.nodes;
        // Children lists as one arena: counting sort of the nodes by parent.
        let n = nodes.len();
        let mut first = vec![0u32; n + 1];
        for x in nodes.iter().skip(1) {
            if let Some(c) = first.get_mut(x.parent as usize) {
                *c += 1;
            }
        }
        let mut sum = 0u32;
        for c in first.iter_mut() {
            let here = *c;
            *c = sum;
            sum += here;
        }
        let mut fill = first.clone();
        let mut children = vec![0u32; sum as usize];
        for (i, x) in nodes.iter().enumerate().skip(1) {
            if let Some(at) = fill.get_mut(x.parent as usize) {
                if let Some(slot) = children.get_mut(*at as usize) {
                    *slot = i as u32;
                }
                *at += 1;
            }
        }
        let kids = |p: u32| -> &[u32] {
            let lo = first.get(p as usize).copied().unwrap_or(0) as usize;
            let hi = first.get(p as usize + 1).copied().unwrap_or(0) as usize;
            children.get(lo..hi).unwrap_or(&[])
        };
        let mut counter = 1u32;
        let mut visited = vec![false; n];
        if let Some(v) = visited.get_mut(0) {
            *v = true;
        }
        let mut stack: Vec<(u32, usize)> = vec![(0, 0)];
        while let Some((node, i)) = stack.last_mut() {
            let (node, i_now) = (*node, *i);
            *i += 1;
            match kids(node).get(i_now).copied() {
                Some(child) => {
                    if let Some(v) = visited.get_mut(child as usize) {
                        *v = true;
                    }
                    if let Some(x) = nodes.get_mut(child as usize) {
                        x.pre = counter;
                    }
                    counter += 1;
                    stack.push((child, 0));
                }
                None => {
                    if let Some(x) = nodes.get_mut(node as usize) {
                        x.end = counter;
                    }
                    stack.pop();
                }
            }
        }
        for (i, v) in visited.iter().enumerate() {
            if !v && self.nodes.get(i).is_some_and(|x| x.parent != NONE) {
                errs.push(format!(
                    "{} is in a cycle of folder parents: break the cycle",
                    self.resource_of(i as u32)
                ));
            }
        }
    }

    fn scope(
        &self,
        entries: &Option<Vec<String>>,
        what: &Lazy<'_>,
        others: &[&TenantPolicy],
        errs: &mut Vec<String>,
        out: &mut Vec<u32>,
    ) {
        let start = out.len();
        let Some(entries) = entries else {
            out.push(0);
            return;
        };
        if entries.is_empty() {
            errs.push(format!(
                "{what} has an empty scope, which grants nothing: omit `scope` for the whole workspace"
            ));
        }
        let lookup = Lookup { data: self, others };
        out.extend(entries.iter().filter_map(|e| lookup.container(e, what, true, errs)));
        if let Some(mine) = out.get_mut(start..) {
            mine.sort_unstable();
        }
        let mut keep = start;
        for i in start..out.len() {
            let v = out.get(i).copied();
            if keep == start || out.get(keep - 1).copied() != v {
                if let (Some(v), Some(slot)) = (v, out.get_mut(keep)) {
                    *slot = v;
                }
                keep += 1;
            }
        }
        out.truncate(keep);
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
        let mut scope = Vec::new();
        self.scope(&r.scope, &Lazy(&|| format!("role {name}")), others, errs, &mut scope);
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
                let u = self.intern_user(m);
                if let Some(list) = self.user_groups.get_mut(u as usize)
                    && !list.iter().any(|&(x, _)| x == gi as u32)
                {
                    list.push((gi as u32, NONE));
                }
            }
        }
        for list in &mut self.user_groups {
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
        let mut scopes = std::mem::take(&mut self.scopes);
        scopes.reserve(p.assignments.len());
        for (i, a) in p.assignments.iter().enumerate() {
            let what = Lazy(&|| format!("assignment #{i} ({} in {})", a.role, a.environment));
            let env = p.environments.iter().position(|e| *e == a.environment);
            if env.is_none() {
                errs.push(format!(
                    "{what}: unknown environment {}: list it in `environments`",
                    a.environment
                ));
            }
            let subject = match (&a.user, &a.group) {
                (Some(u), None) => Some(CSubject::User(self.intern_user(u))),
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
            let s0 = scopes.len() as u32;
            self.scope(&a.scope, &what, others, errs, &mut scopes);
            if let (Some(subject), Some(env)) = (subject, env) {
                self.assignments.push(CAssignment {
                    env: env as u16,
                    subject,
                    role,
                    s0,
                    s1: scopes.len() as u32,
                    deploy: a.deploy,
                });
            }
        }
        self.scopes = scopes;
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
    data: &'a TenantData,
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
        // The common case, without parsing: a project or folder of this tenant.
        let quick = match text.split_once(':') {
            Some(("project", id)) => self.data.lookup(PROJECT_TYPE, id),
            Some(("folder", id)) => self.data.lookup(FOLDER_TYPE, id),
            _ => None,
        };
        if quick.is_some() {
            return quick;
        }
        let tenant = self.data.tenant.as_str();
        let rs: ResourceString = match text.parse() {
            Ok(r) => r,
            Err(e) => {
                errs.push(format!("{what}: {e}"));
                return None;
            }
        };
        if let Some(t) = &rs.tenant
            && t.as_str() != tenant
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
        if let Some(n) = self.data.lookup(ty, id.as_str()) {
            return Some(n);
        }
        let elsewhere = self.others.iter().find(|o| {
            o.id.as_str() != tenant
                && if ty == PROJECT_TYPE {
                    o.projects.iter().any(|p| p.id == *id)
                } else {
                    o.folders.iter().any(|f| f.id == *id)
                }
        });
        match elsewhere {
            Some(o) => errs.push(format!(
                "{what} refers to {}, which belongs to tenant {}, not {}: grants and parents cannot cross tenants",
                rs.resource, o.id, tenant
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
    let mut out = Vec::with_capacity(c.tenants.len());
    for t in &c.tenants {
        match TenantData::compile(t, &all) {
            Ok(d) => out.push(d),
            Err(e) => errs.extend(e),
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(Error::InvalidPolicy(errs)) }
}
