//! One shared copy of each tenant id for all the sessions a manager creates.
//!
//! Ids share their text when cloned, so sessions that hold the same copy cost no memory for it
//! and, more to the point, compare it without a trip to main memory: validation checks every
//! request's tenant against the session's, and with 100,000 sessions each holding its own copy
//! that comparison was a cache miss of its own.

use std::collections::HashSet;
use std::sync::{PoisonError, RwLock};

use palisade_core::TenantId;

/// The most tenant ids kept; past it new tenants keep their own copy (still correct, just
/// not shared), so the set cannot grow without bound.
const MAX_TENANTS: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct TenantIds {
    known: RwLock<HashSet<TenantId>>,
}

impl TenantIds {
    /// The shared copy of `tenant` (registering it if there is room).
    pub(crate) fn shared(&self, tenant: TenantId) -> TenantId {
        if let Some(t) = self.known.read().unwrap_or_else(PoisonError::into_inner).get(&tenant) {
            return t.clone();
        }
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = known.get(&tenant) {
            return t.clone();
        }
        if known.len() < MAX_TENANTS {
            known.insert(tenant.clone());
        }
        tenant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_ids_come_back_as_one_copy() {
        let ids = TenantIds::default();
        let a = ids.shared("acme".parse().unwrap());
        let b = ids.shared("acme".parse().unwrap());
        let c = ids.shared("globex".parse().unwrap());
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.as_str(), b.as_str()), "one copy of acme");
        assert_ne!(a, c);
    }
}
