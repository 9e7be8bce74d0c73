//! Per-tenant allowlist policy as hosts load it from files, and its validation.

use serde::Deserialize;

use crate::allowlist::{Allowlist, EntryConfig};
use crate::error::Result;
use crate::proxy::{ClientResolver, ForwardedHeader};

/// A tenant's allowlist setting.
///
/// ```
/// use palisade_ipfilter::TenantPolicy;
/// let p: TenantPolicy = serde_json::from_str(r#"{
///     "enforce": true,
///     "entries": [{ "cidr": "192.0.2.0/24", "label": "HQ" }, { "cidr": "2001:db8::/32" }]
/// }"#)?;
/// assert_eq!(p.compile()?.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantPolicy {
    /// Whether the allowlist is enforced. Off (the default) means no restriction.
    #[serde(default)]
    pub enforce: bool,
    /// The allowed networks. With `enforce` on, an empty list allows nobody.
    #[serde(default)]
    pub entries: Vec<EntryConfig>,
}

impl TenantPolicy {
    /// Parses every entry, reporting all malformed ones at once.
    pub fn compile(&self) -> Result<Allowlist> {
        Allowlist::from_config(&self.entries)
    }
}

/// The host-wide setting: which proxies are trusted and which header they write.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyPolicy {
    /// The trusted proxies (load balancers, CDN egress ranges).
    #[serde(default)]
    pub trusted: Vec<EntryConfig>,
    /// The header they append the client address to.
    #[serde(default)]
    pub header: ForwardedHeader,
}

impl ProxyPolicy {
    /// Builds the resolver, reporting all malformed entries at once.
    pub fn compile(&self) -> Result<ClientResolver> {
        Ok(ClientResolver::new(Allowlist::from_config(&self.trusted)?, self.header))
    }
}
