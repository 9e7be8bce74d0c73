//! # palisade-rbac
//!
//! Role-based access control the way an enterprise integration platform does it: tenants
//! (workspaces) with environments, the fixed system roles `Admin`, `Analyst` and `Operator`,
//! custom roles, projects and folders whose grants are inherited downwards, collaborator groups,
//! a per-environment deploy right, `NoAccess`, and a Just-in-Time role mapping.
//!
//! * [`PolicyCatalog`]: the serde policy (JSON or TOML files), validated with every problem listed;
//! * [`Rbac`]: publishes immutable per-(tenant, environment) [`Snapshot`]s atomically, with a
//!   revision number per tenant;
//! * [`Snapshot::check`]: allowed or denied, and [`Decision::explain`] says which assignment,
//!   role, grant and inheritance path decided — or why nothing allowed;
//! * [`Snapshot::list`]: what a user may see, and the folder set to turn into a database filter;
//! * [`PolicyStore`]: where policies live; [`casbin_policy`]: the same policy for casbin.
//!
//! ```
//! use palisade_rbac::{PolicyCatalog, Rbac};
//!
//! let catalog = PolicyCatalog::from_toml(r#"
//!     [[tenants]]
//!     id = "acme"
//!     projects = [{ id = "finance" }]
//!     folders = [{ id = "payroll", parent = "project:finance" }]
//!     assets = [{ type = "recipe", id = "sync-salaries", parent = "folder:payroll" }]
//!
//!     [[tenants.roles]]
//!     name = "Payroll runner"
//!     privileges = { recipe = ["view", "run"] }
//!     scope = ["folder:payroll"]
//!
//!     [[tenants.assignments]]
//!     environment = "production"
//!     user = "pat"
//!     role = "Payroll runner"
//! "#)?;
//! let rbac = Rbac::new();
//! rbac.publish(&catalog)?;
//!
//! let snap = rbac.snapshot(&"acme".parse()?, &"production".parse()?).expect("published");
//! let pat = "pat".parse()?;
//! let (run, recipe) = ("run".parse()?, "recipe:sync-salaries".parse()?);
//! let d = snap.check(&pat, &run, &recipe);
//! assert!(d.is_allowed());
//! let why = d.explain();
//! assert_eq!(why.grant.as_ref().map(|g| g.role.as_str()), Some("Payroll runner"));
//! assert_eq!(why.grant.map(|g| g.path), Some(vec!["recipe:sync-salaries".to_owned(), "folder:payroll".to_owned()]));
//!
//! let seen = snap.list(&pat, &"view".parse()?, Some("recipe"));
//! assert_eq!(seen.items.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod compile;
mod engine;
pub mod error;
mod export;
mod jit;
pub mod names;
pub mod policy;
pub mod resource;
pub mod roles;
mod snapshot;
pub mod store;

pub use engine::Rbac;
pub use error::{Error, Result};
pub use export::{CASBIN_MODEL, CasbinPolicy, casbin_policy};
pub use jit::{JitRole, JitSource};
pub use names::{AssetType, Name, Privilege, RoleName};
pub use policy::{
    AssetDef, AssignmentDef, FolderDef, GroupDef, JitMapping, JitRule, PolicyCatalog, ProjectDef, RoleDef,
    TenantPolicy,
};
pub use resource::{Resource, ResourceRef, ResourceString};
pub use snapshot::{Decision, DenyReason, Explanation, GrantPath, Listing, Snapshot};
pub use store::{MemoryPolicyStore, PolicyStore, StoredPolicy};
