//! # palisade-ipfilter
//!
//! IP allowlists per tenant: organizations restrict access to their workspace to authorized
//! networks.
//!
//! * [`IpNet`]: strict parsing of addresses and CIDR ranges (host bits set, bad prefixes, zone
//!   ids and garbage are errors; IPv4-mapped IPv6 is IPv4; nothing is widened silently).
//! * [`Allowlist`]: labelled entries compiled for O(log n) lookups that return the most specific
//!   matching entry; the text format `ADDRESS_OR_CIDR [label...]` with `#` comments.
//! * [`ClientResolver`]: the client's address behind trusted proxies, from `X-Forwarded-For` or
//!   RFC 7239 `Forwarded`, walked from the right.
//! * [`TenantAllowlists`]: every tenant's list, swapped atomically without blocking readers, with
//!   a lockout safeguard for the administrator making a change.
//! * [`Decision`]: allowed/denied with the matching rule or the reason nothing matched.
//! * `tower` feature: [`tower::IpFilterLayer`], which answers 403 before the host's handlers run.
//!
//! ```
//! use palisade_ipfilter::{Allowlist, ClientResolver, ForwardedHeader, TenantAllowlists, TenantPolicy, EntryConfig};
//!
//! let lists = TenantAllowlists::default();
//! let tenant = "acme".parse()?;
//! let policy = TenantPolicy { enforce: true, entries: vec![EntryConfig { cidr: "203.0.113.0/24".into(), label: Some("office".into()) }] };
//! lists.replace(&tenant, &policy, "203.0.113.4".parse()?, false)?;
//!
//! let resolver = ClientResolver::new(Allowlist::parse_text("10.0.0.0/8")?, ForwardedHeader::XForwardedFor);
//! let client = resolver.resolve("10.1.1.1".parse()?, &["203.0.113.77"]).client_ip().expect("resolved");
//! let decision = lists.check(&tenant, client);
//! assert!(decision.allowed);
//! assert_eq!(decision.explain(), "allowed: 203.0.113.77 is in 203.0.113.0/24 (office)");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod allowlist;
pub mod decision;
pub mod error;
pub mod policy;
pub mod proxy;
pub mod tenant;
#[cfg(feature = "tower")]
pub mod tower;

pub use allowlist::{Allowlist, Entry, EntryConfig};
pub use decision::{Decision, Reason};
pub use error::{EntryError, Error, LineError, Result};
pub use palisade_core::net::{self, IpNet};
pub use policy::{ProxyPolicy, TenantPolicy};
pub use proxy::{ClientResolver, ForwardedHeader, Resolution, Source};
pub use tenant::{Change, TenantAllowlists};

use std::net::IpAddr;

/// Checks a client against one allowlist outside any tenant registry (the CLI uses this):
/// resolves the client through `resolver`, then looks it up in `list` with enforcement on.
pub fn check_one(
    tenant: &palisade_core::TenantId,
    list: &Allowlist,
    resolver: &ClientResolver,
    peer: IpAddr,
    header_values: &[&str],
) -> (Resolution, Decision) {
    let resolution = resolver.resolve(peer, header_values);
    let decision = match (resolution.client, &resolution.unknown_node) {
        (Some(client), _) => tenant::check_state_list(tenant, true, list, client),
        (None, node) => Decision {
            allowed: false,
            tenant: tenant.clone(),
            client: None,
            reason: Reason::UnresolvedClient { node: node.clone().unwrap_or_default() },
        },
    };
    (resolution, decision)
}
