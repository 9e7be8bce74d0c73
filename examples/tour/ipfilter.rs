//! Chapter: IP allowlisting (palisade-ipfilter).

use std::sync::Arc;

use palisade::ipfilter::{
    Allowlist, ClientResolver, EntryConfig, Error, ForwardedHeader, TenantAllowlists, TenantPolicy,
};

use crate::step;

pub async fn run() -> anyhow::Result<()> {
    let lists = Arc::new(TenantAllowlists::default());
    let acme = "acme".parse()?;
    let admin = "203.0.113.4".parse()?;

    let typo = TenantPolicy {
        enforce: true,
        entries: vec![EntryConfig { cidr: "198.51.100.0/24".into(), label: Some("HQ".into()) }],
    };
    match lists.replace(&acme, &typo, admin, false) {
        Err(e @ Error::WouldLockOut { .. }) => step(format!("lockout safeguard: {e}")),
        other => anyhow::bail!("expected the lockout safeguard, got {other:?}"),
    }
    match Allowlist::parse_text("10.0.0.1/8 office") {
        Err(e) => step(format!("a range with host bits set is refused, never widened: {e}")),
        Ok(_) => anyhow::bail!("a sloppy range was accepted"),
    }

    let policy = TenantPolicy {
        enforce: true,
        entries: vec![
            EntryConfig { cidr: "203.0.113.0/24".into(), label: Some("HQ".into()) },
            EntryConfig { cidr: "2001:db8:42::/48".into(), label: Some("VPN".into()) },
        ],
    };
    let change = lists.replace(&acme, &policy, admin, false)?;
    step(format!("acme enforces {} entries now (audit: {change:?})", change.entries.1));

    // The service sits behind a load balancer at 10.0.0.0/8 that appends X-Forwarded-For.
    let resolver = ClientResolver::new(
        Allowlist::parse_text("10.0.0.0/8 load balancers")?,
        ForwardedHeader::XForwardedFor,
    );
    for (peer, xff) in [
        ("10.0.0.7", "203.0.113.50"),
        ("10.0.0.7", "203.0.113.50, 198.51.100.9"),
        ("198.51.100.9", "203.0.113.50"),
        ("10.0.0.7", "2001:db8:42::1"),
    ] {
        let r = resolver.resolve(peer.parse()?, &[xff]);
        let d = lists.check_resolution(&acme, &r);
        step(format!("peer {peer}, X-Forwarded-For [{xff}] -> {}", d.explain()));
    }
    Ok(())
}
