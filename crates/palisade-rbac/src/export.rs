//! Export of a tenant's policy as a casbin model and policy lines, for hosts migrating between
//! the two and as the oracle of palisade's property tests.
//!
//! The model is RBAC with domains (the domain is the environment) plus a resource hierarchy
//! (`g2`, child → parent). Each assignment becomes a synthetic subject `asg:N`; users and groups
//! reach it through `g`. A `p` line carries two scopes — the role's and the assignment's — and
//! the matcher requires the resource to sit under both, so the scope intersection is computed by
//! casbin itself. NoAccess is a `deny` line that overrides every allow.

use crate::compile::{CSubject, TenantData};
use crate::error::{Error, Result};
use crate::policy::TenantPolicy;

/// The casbin model text (`.conf`) matching [`casbin_policy`].
pub const CASBIN_MODEL: &str = r#"[request_definition]
r = sub, dom, obj, typ, act

[policy_definition]
p = sub, dom, rscope, ascope, typ, act, eft

[role_definition]
g = _, _, _
g2 = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && g2(r.obj, p.rscope) && g2(r.obj, p.ascope) && (p.typ == "*" || r.typ == p.typ) && (p.act == "*" || r.act == p.act)
"#;

/// A tenant's policy as casbin lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CasbinPolicy {
    /// `p` lines (without the leading `p`).
    pub p: Vec<Vec<String>>,
    /// `g` lines: subject, role/group, domain.
    pub g: Vec<Vec<String>>,
    /// `g2` lines: child resource, parent resource.
    pub g2: Vec<Vec<String>>,
}

impl CasbinPolicy {
    /// The policy as CSV text (`p, ...`, `g, ...`, `g2, ...`), one line each.
    pub fn to_csv(&self) -> String {
        let mut s = String::new();
        for (k, lines) in [("p", &self.p), ("g", &self.g), ("g2", &self.g2)] {
            for l in lines {
                s.push_str(k);
                for f in l {
                    s.push_str(", ");
                    s.push_str(f);
                }
                s.push('\n');
            }
        }
        s
    }
}

/// Exports `policy` (validated first) as casbin policy lines for [`CASBIN_MODEL`].
pub fn casbin_policy(policy: &TenantPolicy) -> Result<CasbinPolicy> {
    let d = TenantData::compile(policy, &[]).map_err(Error::InvalidPolicy)?;
    let mut out = CasbinPolicy::default();
    let s = |x: &str| x.to_owned();
    for (i, n) in d.nodes.iter().enumerate().skip(1) {
        out.g2.push(vec![d.resource_of(i as u32), d.resource_of(n.parent)]);
    }
    for (gi, g) in policy.groups.iter().enumerate() {
        for env in &policy.environments {
            for m in &g.members {
                out.g.push(vec![format!("user:{m}"), format!("group:{}", g.id), env.to_string()]);
            }
            for sub in &g.groups {
                out.g.push(vec![format!("group:{sub}"), format!("group:{}", g.id), env.to_string()]);
            }
        }
        let _ = gi;
    }
    for (ai, a) in d.assignments.iter().enumerate() {
        let subject = match &a.subject {
            CSubject::User(u) => {
                format!("user:{}", d.users.get(*u as usize).map(|u| u.as_str()).unwrap_or(""))
            }
            CSubject::Group(g) => {
                format!("group:{}", d.groups.get(*g as usize).map(|n| n.as_str()).unwrap_or(""))
            }
        };
        let asg = format!("asg:{ai}");
        let env = d.environments.get(usize::from(a.env)).map(|e| e.to_string()).unwrap_or_default();
        out.g.push(vec![subject, asg.clone(), env.clone()]);
        let Some(role) = a.role.and_then(|r| d.roles.get(r as usize)) else {
            out.p.push(vec![asg, env, s("workspace"), s("workspace"), s("*"), s("*"), s("deny")]);
            continue;
        };
        for &rs in &role.scope {
            for &as_ in d.scope_of(a) {
                for (t, &mask) in role.grants.iter().enumerate() {
                    for pname in d.mask_names(mask) {
                        out.p.push(vec![
                            asg.clone(),
                            env.clone(),
                            d.resource_of(rs),
                            d.resource_of(as_),
                            d.types.get(t).map(|x| x.to_string()).unwrap_or_default(),
                            pname.to_owned(),
                            s("allow"),
                        ]);
                    }
                }
            }
        }
        if a.deploy {
            for &as_ in d.scope_of(a) {
                out.p.push(vec![
                    asg.clone(),
                    env.clone(),
                    s("workspace"),
                    d.resource_of(as_),
                    s("*"),
                    s("deploy"),
                    s("allow"),
                ]);
            }
        }
    }
    Ok(out)
}
