//! The engine: the published snapshots of every tenant, swapped atomically on update.

use crate::compile::HashMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use palisade_core::{EnvironmentId, TenantId, UserId};

use crate::compile::{TenantData, compile_catalog};
use crate::error::{Error, Result};
use crate::names::Privilege;
use crate::policy::{PolicyCatalog, TenantPolicy};
use crate::resource::ResourceString;
use crate::snapshot::{DenyReason, Explanation, Snapshot};

/// One tenant's published state: every environment's snapshot at one revision.
#[derive(Debug)]
struct TenantState {
    revision: u64,
    /// One snapshot per environment, in the order of the tenant's `environments`.
    envs: Vec<Arc<Snapshot>>,
}

impl TenantState {
    fn env(&self, environment: &EnvironmentId) -> Option<&Arc<Snapshot>> {
        self.envs.iter().find(|s| s.environment() == environment)
    }
}

type Registry = HashMap<TenantId, Arc<TenantState>>;

/// The RBAC engine: holds the current snapshot of every (tenant, environment).
///
/// Readers ([`Rbac::snapshot`], checks) never block; [`Rbac::publish`] validates and compiles the
/// new policy aside, then swaps it in with one atomic pointer store and bumps each published
/// tenant's revision. A failed publish changes nothing.
///
/// ```
/// use palisade_rbac::{PolicyCatalog, Rbac};
/// let rbac = Rbac::new();
/// let catalog = PolicyCatalog::from_json(r#"{"tenants": [{"id": "acme",
///     "assignments": [{"environment": "development", "user": "ann", "role": "Admin"}]}]}"#)?;
/// let revisions = rbac.publish(&catalog)?;
/// assert_eq!(revisions, vec![("acme".parse()?, 1)]);
/// let e = rbac.check_str("acme", "development", "ann", "manage_collaborators", "workspace")?;
/// assert!(e.allowed);
/// let x = rbac.check_str("acme", "development", "ann", "view", "globex/recipe:r1")?;
/// assert_eq!(x.reason, "cross_tenant");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Rbac {
    current: ArcSwap<Registry>,
    writer: Mutex<()>,
}

impl Rbac {
    /// An engine with no tenant.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates and publishes every tenant of `catalog` at once; returns each tenant's new
    /// revision. Tenants not in the catalog keep their snapshots.
    pub fn publish(&self, catalog: &PolicyCatalog) -> Result<Vec<(TenantId, u64)>> {
        let compiled = compile_catalog(catalog)?;
        self.install(compiled, None)
    }

    /// Publishes one tenant's policy if its current revision is `expected` (0 = not yet
    /// published); returns the new revision.
    pub fn publish_tenant(&self, policy: &TenantPolicy, expected: Option<u64>) -> Result<u64> {
        let data = TenantData::compile(policy, &[]).map_err(Error::InvalidPolicy)?;
        let out = self.install(vec![data], expected)?;
        Ok(out.first().map(|(_, r)| *r).unwrap_or(0))
    }

    fn install(&self, compiled: Vec<TenantData>, expected: Option<u64>) -> Result<Vec<(TenantId, u64)>> {
        let _guard = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let old = self.current.load_full();
        let mut next: Registry = (*old).clone();
        let mut out = Vec::new();
        for data in compiled {
            let tenant = data.tenant.clone();
            let found = old.get(&tenant).map(|s| s.revision).unwrap_or(0);
            if let Some(expected) = expected
                && expected != found
            {
                return Err(Error::RevisionConflict { tenant: tenant.to_string(), expected, found });
            }
            let revision = found + 1;
            let data = Arc::new(data);
            let envs = (0..data.environments.len())
                .map(|e| Arc::new(Snapshot::build(data.clone(), e as u16, revision)))
                .collect();
            next.insert(tenant.clone(), Arc::new(TenantState { revision, envs }));
            out.push((tenant, revision));
        }
        self.current.store(Arc::new(next));
        Ok(out)
    }

    /// Removes a tenant; returns whether it was there.
    pub fn remove_tenant(&self, tenant: &TenantId) -> bool {
        let _guard = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let old = self.current.load_full();
        if !old.contains_key(tenant) {
            return false;
        }
        let mut next: Registry = (*old).clone();
        next.remove(tenant);
        self.current.store(Arc::new(next));
        true
    }

    /// The current snapshot of (`tenant`, `environment`), if published.
    pub fn snapshot(&self, tenant: &TenantId, environment: &EnvironmentId) -> Option<Arc<Snapshot>> {
        self.current.load().get(tenant)?.env(environment).cloned()
    }

    /// The current revision of `tenant` (0 when not published).
    pub fn revision(&self, tenant: &TenantId) -> u64 {
        self.current.load().get(tenant).map(|s| s.revision).unwrap_or(0)
    }

    /// The string API: parses every argument and checks. Malformed arguments are errors; a
    /// well-formed request about an unknown tenant, environment, user, privilege or resource is a
    /// denial. A resource naming another tenant (`other/recipe:r1`) is a denial with reason
    /// `cross_tenant`, logged as a warning.
    pub fn check_str(
        &self,
        tenant: &str,
        environment: &str,
        user: &str,
        privilege: &str,
        resource: &str,
    ) -> Result<Explanation> {
        let bad = |kind: &'static str, v: &str, e: palisade_core::IdError| Error::InvalidName {
            kind,
            value: crate::error::shorten(v),
            reason: e.to_string(),
        };
        let tenant_id = TenantId::new(tenant).map_err(|e| bad("tenant id", tenant, e))?;
        let env = EnvironmentId::new(environment).map_err(|e| bad("environment id", environment, e))?;
        let user_id = UserId::new(user).map_err(|e| bad("user id", user, e))?;
        let privilege = Privilege::new(privilege)?;
        let rs: ResourceString = resource.parse()?;
        let deny = |reason: DenyReason, message: String| {
            let reason_text = serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            Explanation {
                allowed: false,
                tenant: tenant_id.to_string(),
                environment: env.to_string(),
                revision: self.revision(&tenant_id),
                user: user_id.to_string(),
                privilege: privilege.to_string(),
                resource: rs.to_string(),
                reason: reason_text,
                message,
                grant: None,
                considered: Vec::new(),
            }
        };
        if let Some(other) = &rs.tenant
            && *other != tenant_id
        {
            tracing::warn!(tenant = %tenant_id, other = %other, user = %user_id, resource = %rs, "rbac: cross-tenant check denied");
            return Ok(deny(
                DenyReason::CrossTenant,
                format!(
                    "denied: {rs} belongs to tenant {other}, not {tenant_id}; checks never cross tenants"
                ),
            ));
        }
        let registry = self.current.load();
        let Some(state) = registry.get(&tenant_id) else {
            return Ok(deny(
                DenyReason::UnknownTenant,
                format!("denied: tenant {tenant_id} has no published policy"),
            ));
        };
        let Some(snap) = state.env(&env) else {
            return Ok(deny(
                DenyReason::UnknownEnvironment,
                format!("denied: tenant {tenant_id} has no environment {env}"),
            ));
        };
        Ok(snap.check(&user_id, &privilege, &rs.resource).explain())
    }
}
