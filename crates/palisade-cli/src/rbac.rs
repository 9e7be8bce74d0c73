//! `palisade rbac`: check a request and list what a user may access, against a policy file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use palisade::core::{EnvironmentId, TenantId, UserId};
use palisade::rbac::{DenyReason, PolicyCatalog, Privilege, Rbac, casbin_policy};
use serde::Serialize;

use crate::output::{Outcome, Verdict, emit};

/// Arguments of `palisade rbac`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: RbacCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RbacCommand {
    /// May USER exercise PRIVILEGE on RESOURCE? Exit 0 allowed, 1 denied, with the explanation.
    Check {
        /// The policy catalog (.json or .toml).
        #[arg(long)]
        policy: PathBuf,
        /// The tenant (workspace).
        #[arg(long)]
        tenant: String,
        /// The environment.
        #[arg(long)]
        env: String,
        /// The user.
        #[arg(long)]
        user: String,
        /// The privilege: `view`, `run`, `deploy`, `manage_collaborators`, … or `TYPE.PRIVILEGE`.
        #[arg(long)]
        privilege: String,
        /// The resource: `workspace`, `project:ID`, `folder:ID` or `TYPE:ID`, optionally `TENANT/…`.
        #[arg(long)]
        resource: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every resource (of TYPE) on which USER holds PRIVILEGE, and the folder filter. Exit 0.
    List {
        /// The policy catalog (.json or .toml).
        #[arg(long)]
        policy: PathBuf,
        /// The tenant (workspace).
        #[arg(long)]
        tenant: String,
        /// The environment.
        #[arg(long)]
        env: String,
        /// The user.
        #[arg(long)]
        user: String,
        /// The privilege.
        #[arg(long)]
        privilege: String,
        /// Only resources of this type (an asset type, `project` or `folder`).
        #[arg(long = "type")]
        asset_type: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate a policy file: exit 0 if valid, 1 with every problem.
    Validate {
        /// The policy catalog (.json or .toml).
        #[arg(long)]
        policy: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print one tenant's policy as casbin model and policy lines.
    ExportCasbin {
        /// The policy catalog (.json or .toml).
        #[arg(long)]
        policy: PathBuf,
        /// The tenant.
        #[arg(long)]
        tenant: String,
    },
}

fn load(path: &Path) -> anyhow::Result<Rbac> {
    let catalog = PolicyCatalog::from_file(path)?;
    let rbac = Rbac::new();
    rbac.publish(&catalog).with_context(|| format!("policy {}", path.display()))?;
    Ok(rbac)
}

#[derive(Serialize)]
struct ListReport {
    tenant: String,
    environment: String,
    revision: u64,
    user: String,
    privilege: String,
    #[serde(rename = "type")]
    asset_type: Option<String>,
    whole_workspace: bool,
    items: Vec<String>,
    containers: Vec<String>,
    roots: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    denied: Option<DenyReason>,
}

#[derive(Serialize)]
struct ValidateReport {
    valid: bool,
    tenants: usize,
    problems: Vec<String>,
}

/// Runs `palisade rbac`.
pub fn run(args: Args) -> Outcome {
    match args.command {
        RbacCommand::Check { policy, tenant, env, user, privilege, resource, json } => {
            let rbac = load(&policy)?;
            let e = rbac.check_str(&tenant, &env, &user, &privilege, &resource)?;
            emit(json, &e, || {
                let mut s = e.message.clone();
                if let Some(g) = &e.grant {
                    s.push_str(&format!(
                        "\n  assignment #{} · {} · role {} · grants {} on {} · path {}",
                        g.assignment,
                        g.subject,
                        g.role,
                        g.granted,
                        g.scope,
                        g.path.join(" → ")
                    ));
                }
                for c in &e.considered {
                    s.push_str(&format!("\n  {c}"));
                }
                s.push_str(&format!(
                    "\n  (tenant {} · environment {} · revision {})",
                    e.tenant, e.environment, e.revision
                ));
                s
            })?;
            Ok(if e.allowed { Verdict::Pass } else { Verdict::Fail })
        }
        RbacCommand::List { policy, tenant, env, user, privilege, asset_type, json } => {
            let rbac = load(&policy)?;
            let tenant_id = TenantId::new(tenant.as_str()).context("--tenant")?;
            let env_id = EnvironmentId::new(env.as_str()).context("--env")?;
            let user_id = UserId::new(user.as_str()).context("--user")?;
            let privilege_p = Privilege::new(privilege.as_str())?;
            let mut report = ListReport {
                tenant: tenant.clone(),
                environment: env.clone(),
                revision: rbac.revision(&tenant_id),
                user,
                privilege,
                asset_type: asset_type.clone(),
                whole_workspace: false,
                items: Vec::new(),
                containers: Vec::new(),
                roots: Vec::new(),
                denied: None,
            };
            match rbac.snapshot(&tenant_id, &env_id) {
                None => {
                    report.denied = Some(if rbac.revision(&tenant_id) == 0 {
                        DenyReason::UnknownTenant
                    } else {
                        DenyReason::UnknownEnvironment
                    })
                }
                Some(snap) => {
                    let l = snap.list(&user_id, &privilege_p, asset_type.as_deref());
                    report.whole_workspace = l.whole_workspace;
                    report.items = l.items.iter().map(|r| r.to_string()).collect();
                    report.containers = l.containers.iter().map(|r| r.to_string()).collect();
                    report.roots = l.roots.iter().map(|r| r.to_string()).collect();
                    report.denied = l.denied;
                }
            }
            emit(json, &report, || {
                let mut s = String::new();
                for i in &report.items {
                    s.push_str(i);
                    s.push('\n');
                }
                let filter = if report.whole_workspace {
                    "the whole workspace".to_owned()
                } else if report.containers.is_empty() {
                    "nothing".to_owned()
                } else {
                    report.containers.join(", ")
                };
                s.push_str(&format!("# {} item(s); visible containers: {filter}", report.items.len()));
                if let Some(d) = report.denied {
                    s.push_str(&format!("; {}", serde_json::to_string(&d).unwrap_or_default()));
                }
                s
            })?;
            Ok(Verdict::Pass)
        }
        RbacCommand::Validate { policy, json } => {
            let catalog = PolicyCatalog::from_file(&policy)?;
            let problems = match catalog.validate() {
                Ok(()) => Vec::new(),
                Err(palisade::rbac::Error::InvalidPolicy(p)) => p,
                Err(e) => vec![e.to_string()],
            };
            let report =
                ValidateReport { valid: problems.is_empty(), tenants: catalog.tenants.len(), problems };
            emit(json, &report, || {
                if report.valid {
                    format!("valid: {} tenant(s)", report.tenants)
                } else {
                    format!("invalid:\n  - {}", report.problems.join("\n  - "))
                }
            })?;
            Ok(if report.valid { Verdict::Pass } else { Verdict::Fail })
        }
        RbacCommand::ExportCasbin { policy, tenant } => {
            let catalog = PolicyCatalog::from_file(&policy)?;
            let tenant_id = TenantId::new(tenant.as_str()).context("--tenant")?;
            let t = catalog
                .tenant(&tenant_id)
                .with_context(|| format!("tenant {tenant} is not in the policy"))?;
            let lines = casbin_policy(t)?;
            emit(false, &(), || {
                format!("# model.conf\n{}\n# policy.csv\n{}", palisade::rbac::CASBIN_MODEL, lines.to_csv())
            })?;
            Ok(Verdict::Pass)
        }
    }
}
