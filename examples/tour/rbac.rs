//! Chapter: palisade-rbac.

use palisade::core::{TenantId, UserId};
use palisade::rbac::{PolicyCatalog, Rbac};

use crate::step;

const POLICY: &str = r#"
[[tenants]]
id = "acme"
projects = [{ id = "finance" }, { id = "sales" }]
folders = [{ id = "payroll", parent = "project:finance" }]
assets = [
  { type = "recipe", id = "sync-salaries", parent = "folder:payroll" },
  { type = "recipe", id = "sync-leads", parent = "project:sales" },
]

[[tenants.roles]]
name = "Payroll runner"
based_on = "Operator"
privileges = { recipe = ["edit"] }
scope = ["folder:payroll"]

[[tenants.assignments]]
environment = "production"
user = "pat@acme.example"
role = "Payroll runner"

[[tenants.assignments]]
environment = "development"
user = "pat@acme.example"
role = "Admin"

[[tenants]]
id = "globex"
projects = [{ id = "ops" }]
assets = [{ type = "recipe", id = "nightly", parent = "project:ops" }]

[[tenants.assignments]]
environment = "production"
user = "pat@acme.example"
role = "Operator"
"#;

pub async fn run() -> anyhow::Result<()> {
    let rbac = Rbac::new();
    let revisions = rbac.publish(&PolicyCatalog::from_toml(POLICY)?)?;
    step(format!("two workspaces published as immutable per-environment snapshots: {revisions:?}"));

    let acme: TenantId = "acme".parse()?;
    let prod = rbac.snapshot(&acme, &"production".parse()?).ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    let pat: UserId = "pat@acme.example".parse()?;

    let (edit, recipe) = ("edit".parse()?, "recipe:sync-salaries".parse()?);
    let allowed = prod.check(&pat, &edit, &recipe).explain();
    anyhow::ensure!(allowed.allowed, "the custom role should allow editing in payroll");
    step(format!("explained allow: {}", allowed.message));

    let other = "recipe:sync-leads".parse()?;
    let denied = prod.check(&pat, &edit, &other).explain();
    anyhow::ensure!(!denied.allowed, "sync-leads is outside the role's folder");
    step(format!("explained deny: {}", denied.message));
    for c in &denied.considered {
        step(format!("    considered {c}"));
    }

    let view = "view".parse()?;
    let seen = prod.list(&pat, &view, Some("recipe"));
    let folders: Vec<String> = seen.containers.iter().map(|r| r.to_string()).collect();
    step(format!(
        "list: {} visible recipe(s); database filter = parent folder in {folders:?}",
        seen.items.len()
    ));

    let cross = rbac.check_str("acme", "production", "pat@acme.example", "view", "globex/recipe:nightly")?;
    anyhow::ensure!(cross.reason == "cross_tenant", "cross-tenant checks must be denied");
    step(format!("cross-tenant denial: {}", cross.message));
    Ok(())
}
