//! The built-in denied ranges: everything a server-side request must not reach unless a policy
//! opts out explicitly, one range at a time — and the IPv6 forms that embed an IPv4 address.
//!
//! An IPv6 address that carries an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
//! `::a.b.c.d`, 6to4 `2002:AABB:CCDD::/48`, NAT64 `64:ff9b::a.b.c.d`) is checked as that IPv4
//! address too, so `::ffff:127.0.0.1`, `::127.0.0.1`, `2002:7f00:1::` and `64:ff9b::7f00:1` are
//! all loopback. Teredo (`2001::/32`, which embeds an obfuscated IPv4 client) and local-use NAT64
//! (`64:ff9b:1::/48`) are denied as whole ranges.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use palisade_core::net::IpNet;

/// One built-in denied range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinRange {
    /// The range, as written in policies that opt out of it (e.g. `127.0.0.0/8`).
    pub cidr: &'static str,
    /// What it is (e.g. `loopback`).
    pub kind: &'static str,
}

/// Every built-in denied range.
pub const BUILTIN_DENIED: &[BuiltinRange] = &[
    BuiltinRange { cidr: "0.0.0.0/8", kind: "unspecified (this network)" },
    BuiltinRange { cidr: "10.0.0.0/8", kind: "private (RFC 1918)" },
    BuiltinRange { cidr: "100.64.0.0/10", kind: "carrier-grade NAT (RFC 6598)" },
    BuiltinRange { cidr: "127.0.0.0/8", kind: "loopback" },
    BuiltinRange { cidr: "169.254.0.0/16", kind: "link-local (cloud metadata)" },
    BuiltinRange { cidr: "172.16.0.0/12", kind: "private (RFC 1918)" },
    BuiltinRange { cidr: "192.0.0.0/24", kind: "IETF protocol assignments" },
    BuiltinRange { cidr: "192.0.2.0/24", kind: "documentation (TEST-NET-1)" },
    BuiltinRange { cidr: "192.168.0.0/16", kind: "private (RFC 1918)" },
    BuiltinRange { cidr: "198.18.0.0/15", kind: "benchmarking" },
    BuiltinRange { cidr: "198.51.100.0/24", kind: "documentation (TEST-NET-2)" },
    BuiltinRange { cidr: "203.0.113.0/24", kind: "documentation (TEST-NET-3)" },
    BuiltinRange { cidr: "224.0.0.0/4", kind: "multicast" },
    BuiltinRange { cidr: "240.0.0.0/4", kind: "reserved and broadcast" },
    BuiltinRange { cidr: "::/128", kind: "unspecified" },
    BuiltinRange { cidr: "::1/128", kind: "loopback" },
    BuiltinRange { cidr: "64:ff9b:1::/48", kind: "local-use NAT64" },
    BuiltinRange { cidr: "100::/64", kind: "discard-only" },
    BuiltinRange { cidr: "2001::/32", kind: "Teredo (embeds an obfuscated IPv4 address)" },
    BuiltinRange { cidr: "2001:db8::/32", kind: "documentation" },
    BuiltinRange { cidr: "fc00::/7", kind: "unique local (ULA)" },
    BuiltinRange { cidr: "fe80::/10", kind: "link-local" },
    BuiltinRange { cidr: "fec0::/10", kind: "site-local (deprecated)" },
    BuiltinRange { cidr: "ff00::/8", kind: "multicast" },
];

/// The IPv4 address an IPv6 address carries, and the form that carries it.
pub fn embedded_ipv4(v6: Ipv6Addr) -> Option<(Ipv4Addr, &'static str)> {
    let bits = u128::from(v6);
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some((v4, "IPv4-mapped"));
    }
    // IPv4-compatible ::a.b.c.d (deprecated); not :: and ::1 themselves.
    if bits >> 32 == 0 && bits > 1 {
        return Some((low32, "IPv4-compatible"));
    }
    // 6to4: 2002:AABB:CCDD::/48.
    if bits >> 112 == 0x2002 {
        return Some((Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32), "6to4"));
    }
    // NAT64 well-known prefix 64:ff9b::/96.
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return Some((low32, "NAT64"));
    }
    None
}

/// The IPv4 address `ip` stands for, if any (itself for IPv4).
pub fn as_ipv4(ip: IpAddr) -> Option<(Ipv4Addr, Option<&'static str>)> {
    match ip {
        IpAddr::V4(v4) => Some((v4, None)),
        IpAddr::V6(v6) => embedded_ipv4(v6).map(|(v4, form)| (v4, Some(form))),
    }
}

/// The built-in ranges as networks (they are constants; a parse failure would be a bug caught by
/// the tests, and such a range is skipped rather than panicking).
pub(crate) fn builtin_nets() -> Vec<(IpNet, BuiltinRange)> {
    BUILTIN_DENIED.iter().filter_map(|r| IpNet::parse(r.cidr).ok().map(|n| (n, *r))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_builtins_parse() {
        assert_eq!(builtin_nets().len(), BUILTIN_DENIED.len());
    }

    #[test]
    fn embedded_forms() {
        let e = |s: &str| embedded_ipv4(s.parse().unwrap()).map(|(v4, f)| (v4.to_string(), f));
        assert_eq!(e("::ffff:127.0.0.1"), Some(("127.0.0.1".into(), "IPv4-mapped")));
        assert_eq!(e("::127.0.0.1"), Some(("127.0.0.1".into(), "IPv4-compatible")));
        assert_eq!(e("2002:7f00:1::"), Some(("127.0.0.1".into(), "6to4")));
        assert_eq!(e("2002:a9fe:a9fe:1::1"), Some(("169.254.169.254".into(), "6to4")));
        assert_eq!(e("64:ff9b::a9fe:a9fe"), Some(("169.254.169.254".into(), "NAT64")));
        assert_eq!(e("::1"), None);
        assert_eq!(e("::"), None);
        assert_eq!(e("2001:4860::8888"), None);
    }
}
