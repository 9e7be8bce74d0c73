//! [`TenantAllowlists`]: every tenant's compiled allowlist, swapped atomically on change.
//!
//! Readers load a snapshot without locks (`arc-swap`); a replacement builds a new map and
//! publishes it in one step, so a check never sees half an update and never waits for one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use palisade_core::TenantId;

use crate::allowlist::Allowlist;
use crate::decision::{Decision, Reason};
use crate::error::{Error, Result};
use crate::policy::TenantPolicy;
use palisade_core::net::canonical;

#[derive(Debug)]
struct TenantState {
    enforce: bool,
    list: Allowlist,
}

/// The allowlists of all tenants.
///
/// ```
/// use palisade_ipfilter::{TenantAllowlists, TenantPolicy, EntryConfig};
///
/// let lists = TenantAllowlists::default();
/// let acme = "acme".parse()?;
/// let admin = "192.0.2.10".parse()?;
/// let policy = TenantPolicy { enforce: true, entries: vec![EntryConfig { cidr: "192.0.2.0/24".into(), label: Some("HQ".into()) }] };
/// lists.replace(&acme, &policy, admin, false)?;
/// assert!(lists.check(&acme, "192.0.2.99".parse()?).allowed);
/// let denied = lists.check(&acme, "198.51.100.1".parse()?);
/// assert!(!denied.allowed);
/// println!("{}", denied.explain()); // "denied: 198.51.100.1 matches no entry of acme's allowlist (1 entries)"
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct TenantAllowlists {
    map: ArcSwap<HashMap<TenantId, Arc<TenantState>>>,
}

/// What a replacement changed, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The tenant.
    pub tenant: TenantId,
    /// Enforcement before and after.
    pub enforce: (bool, bool),
    /// Entry count before and after.
    pub entries: (usize, usize),
    /// Whether the lockout safeguard was overridden.
    pub forced: bool,
}

impl TenantAllowlists {
    /// Decides whether `client` may reach `tenant`.
    pub fn check(&self, tenant: &TenantId, client: IpAddr) -> Decision {
        let client = canonical(client);
        let map = self.map.load();
        let Some(state) = map.get(tenant) else {
            return Decision {
                allowed: true,
                tenant: tenant.clone(),
                client: Some(client),
                reason: Reason::NotEnforced,
            };
        };
        check_state(tenant, state, client)
    }

    /// Decides on a resolved client (see [`crate::ClientResolver`]); an unresolved client
    /// (obfuscated or `unknown` proxy node) is denied when the tenant enforces a list.
    pub fn check_resolution(&self, tenant: &TenantId, resolution: &crate::proxy::Resolution) -> Decision {
        match resolution.client {
            Some(client) => self.check(tenant, client),
            None => {
                let map = self.map.load();
                let enforced = map.get(tenant).is_some_and(|s| s.enforce);
                Decision {
                    allowed: !enforced,
                    tenant: tenant.clone(),
                    client: None,
                    reason: if enforced {
                        Reason::UnresolvedClient { node: resolution.unknown_node.clone().unwrap_or_default() }
                    } else {
                        Reason::NotEnforced
                    },
                }
            }
        }
    }

    /// Replaces `tenant`'s allowlist. When the new policy is enforced and does not allow
    /// `admin` (the address of the administrator making the change), the change is refused with
    /// [`Error::WouldLockOut`] unless `force` is set. Malformed entries are all reported and
    /// nothing changes.
    pub fn replace(
        &self,
        tenant: &TenantId,
        policy: &TenantPolicy,
        admin: IpAddr,
        force: bool,
    ) -> Result<Change> {
        let list = policy.compile()?;
        let admin = canonical(admin);
        if policy.enforce && !force && !list.contains(admin) {
            return Err(Error::WouldLockOut { admin });
        }
        let new_state = Arc::new(TenantState { enforce: policy.enforce, list });
        let entries_after = new_state.list.len();
        let mut before = (false, 0);
        self.map.rcu(|current| {
            let mut next = HashMap::clone(current);
            before = next.get(tenant).map_or((false, 0), |s| (s.enforce, s.list.len()));
            next.insert(tenant.clone(), new_state.clone());
            next
        });
        Ok(Change {
            tenant: tenant.clone(),
            enforce: (before.0, policy.enforce),
            entries: (before.1, entries_after),
            forced: force,
        })
    }

    /// Removes `tenant`'s allowlist: no restriction any more.
    pub fn remove(&self, tenant: &TenantId) {
        self.map.rcu(|current| {
            let mut next = HashMap::clone(current);
            next.remove(tenant);
            next
        });
    }
}

pub(crate) fn check_state_list(
    tenant: &TenantId,
    enforce: bool,
    list: &Allowlist,
    client: IpAddr,
) -> Decision {
    if !enforce {
        return Decision {
            allowed: true,
            tenant: tenant.clone(),
            client: Some(client),
            reason: Reason::NotEnforced,
        };
    }
    match list.lookup(client) {
        Some(e) => Decision {
            allowed: true,
            tenant: tenant.clone(),
            client: Some(client),
            reason: Reason::Matched { rule: e.net.to_string(), label: e.label.clone() },
        },
        None => Decision {
            allowed: false,
            tenant: tenant.clone(),
            client: Some(client),
            reason: Reason::NoMatch { entries: list.len() },
        },
    }
}

fn check_state(tenant: &TenantId, state: &TenantState, client: IpAddr) -> Decision {
    check_state_list(tenant, state.enforce, &state.list, client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allowlist::EntryConfig;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn policy(enforce: bool, cidrs: &[&str]) -> TenantPolicy {
        TenantPolicy {
            enforce,
            entries: cidrs.iter().map(|c| EntryConfig { cidr: (*c).into(), label: None }).collect(),
        }
    }

    #[test]
    fn unknown_and_unenforced_tenants_are_unrestricted() {
        let l = TenantAllowlists::default();
        let t: TenantId = "acme".parse().unwrap();
        assert_eq!(l.check(&t, ip("1.2.3.4")).reason, Reason::NotEnforced);
        l.replace(&t, &policy(false, &[]), ip("1.2.3.4"), false).unwrap();
        assert!(l.check(&t, ip("9.9.9.9")).allowed);
    }

    #[test]
    fn enforced_empty_list_allows_nobody_and_needs_force() {
        let l = TenantAllowlists::default();
        let t: TenantId = "acme".parse().unwrap();
        assert_eq!(
            l.replace(&t, &policy(true, &[]), ip("1.2.3.4"), false),
            Err(Error::WouldLockOut { admin: ip("1.2.3.4") })
        );
        assert!(l.check(&t, ip("1.2.3.4")).allowed, "a refused change changes nothing");
        let c = l.replace(&t, &policy(true, &[]), ip("1.2.3.4"), true).unwrap();
        assert!(c.forced);
        assert_eq!(l.check(&t, ip("1.2.3.4")).reason, Reason::NoMatch { entries: 0 });
    }

    #[test]
    fn lockout_check_uses_canonical_admin_address() {
        let l = TenantAllowlists::default();
        let t: TenantId = "acme".parse().unwrap();
        assert!(l.replace(&t, &policy(true, &["192.0.2.0/24"]), ip("::ffff:192.0.2.1"), false).is_ok());
        assert!(l.check(&t, ip("::ffff:192.0.2.200")).allowed);
    }

    #[test]
    fn malformed_policy_changes_nothing() {
        let l = TenantAllowlists::default();
        let t: TenantId = "acme".parse().unwrap();
        l.replace(&t, &policy(true, &["192.0.2.0/24"]), ip("192.0.2.1"), false).unwrap();
        let err = l.replace(&t, &policy(true, &["10.0.0.1/8", "x"]), ip("10.0.0.1"), true).unwrap_err();
        assert!(matches!(err, Error::Malformed(ref v) if v.len() == 2), "{err}");
        assert!(l.check(&t, ip("192.0.2.1")).allowed);
        assert!(!l.check(&t, ip("10.0.0.1")).allowed);
    }

    #[test]
    fn tenants_are_separate() {
        let l = TenantAllowlists::default();
        let a: TenantId = "a".parse().unwrap();
        let b: TenantId = "b".parse().unwrap();
        l.replace(&a, &policy(true, &["192.0.2.0/24"]), ip("192.0.2.1"), false).unwrap();
        l.replace(&b, &policy(true, &["198.51.100.0/24"]), ip("198.51.100.1"), false).unwrap();
        assert!(!l.check(&a, ip("198.51.100.1")).allowed);
        assert!(!l.check(&b, ip("192.0.2.1")).allowed);
        l.remove(&a);
        assert!(l.check(&a, ip("198.51.100.1")).allowed);
    }
}
