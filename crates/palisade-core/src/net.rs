//! [`IpNet`]: an address or CIDR range, parsed strictly and stored in canonical form, and
//! [`PrefixMap`]: networks compiled for fast most-specific-match lookups.
//!
//! Shared by `palisade-ipfilter` (allowlists, trusted proxies) and `palisade-egress` (outbound
//! allow and deny rules), which must parse and match networks identically.
//!
//! * IPv4 (`192.0.2.7`, `192.0.2.0/24`) and IPv6 (`2001:db8::/32`); a bare address is a /32 or /128.
//! * Host bits set after the prefix (`192.0.2.1/24`) are an error, never silently masked away.
//! * Zone ids (`fe80::1%eth0`) are rejected.
//! * IPv4-mapped IPv6 (`::ffff:192.0.2.7`, `::ffff:192.0.2.0/120`) is stored as IPv4, because client
//!   addresses are canonicalized the same way before lookup (see [`canonical`]). A mapped range of
//!   /96 or wider would mean "all of IPv4" and is refused with advice to write `0.0.0.0/0`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

mod prefix_map;
pub use prefix_map::PrefixMap;

use thiserror::Error;

/// Why a text is not an acceptable address or CIDR range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NetError {
    /// Nothing to parse.
    #[error("empty entry: write an address (192.0.2.7) or a range (192.0.2.0/24)")]
    Empty,
    /// The address part is neither IPv4 nor IPv6.
    #[error("{0:?} is not an IPv4 or IPv6 address")]
    BadAddress(String),
    /// An IPv6 zone id (`fe80::1%eth0`) is not meaningful across hosts.
    #[error("zone ids ({0:?}) are not allowed: remove the '%...' part")]
    ZoneId(String),
    /// The prefix length is not a number in range.
    #[error("prefix length {found:?} is not a number from 0 to {max}")]
    BadPrefix {
        /// What was written after the `/`.
        found: String,
        /// The family's maximum (32 or 128).
        max: u8,
    },
    /// Bits are set after the prefix, so the range is ambiguous.
    #[error("{entry} has host bits set: did you mean {network}? (ranges are never widened silently)")]
    HostBitsSet {
        /// The entry as written.
        entry: String,
        /// The network address with the host bits cleared.
        network: String,
    },
    /// An IPv4-mapped IPv6 range that would cover all of IPv4.
    #[error(
        "{0} covers every IPv4-mapped address, i.e. all of IPv4: write 0.0.0.0/0 if that is really meant"
    )]
    MappedRangeTooWide(String),
}

/// An IP network: an address and a prefix length, with no host bits set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// The form in which addresses are compared: IPv4-mapped IPv6 becomes IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn max_prefix(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

fn mask_v4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl IpNet {
    /// Parses an address or CIDR range (see the module docs for the rules).
    pub fn parse(text: &str) -> Result<Self, NetError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(NetError::Empty);
        }
        if text.contains('%') {
            return Err(NetError::ZoneId(text.to_owned()));
        }
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr = IpAddr::from_str(addr_text).map_err(|_| NetError::BadAddress(addr_text.to_owned()))?;
        let max = max_prefix(&addr);
        let prefix = match prefix_text {
            None => max,
            Some(p) => {
                let ok = !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit());
                match p.parse::<u8>() {
                    Ok(n) if ok && n <= max => n,
                    _ => return Err(NetError::BadPrefix { found: p.to_owned(), max }),
                }
            }
        };
        let net = IpNet { addr, prefix };
        if net.network() != addr {
            return Err(NetError::HostBitsSet {
                entry: text.to_owned(),
                network: format!("{}/{}", net.network(), prefix),
            });
        }
        net.canonicalize(text)
    }

    /// The network that holds exactly `ip` (a /32 or /128), canonicalized.
    pub fn host(ip: IpAddr) -> Self {
        let ip = canonical(ip);
        IpNet { addr: ip, prefix: max_prefix(&ip) }
    }

    fn canonicalize(self, text: &str) -> Result<Self, NetError> {
        if let IpAddr::V6(v6) = self.addr
            && let Some(v4) = v6.to_ipv4_mapped()
        {
            if self.prefix <= 96 {
                return Err(NetError::MappedRangeTooWide(text.to_owned()));
            }
            return Ok(IpNet { addr: IpAddr::V4(v4), prefix: self.prefix - 96 });
        }
        Ok(self)
    }

    fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask_v4(self.prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask_v6(self.prefix))),
        }
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` (canonicalized first) is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => u32::from(a) & mask_v4(self.prefix) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(a)) => u128::from(a) & mask_v6(self.prefix) == u128::from(n),
            _ => false,
        }
    }

    /// First and last address as integers (IPv4 in the low 32 bits).
    pub fn range_bounds(&self) -> (u128, u128) {
        match self.addr {
            IpAddr::V4(a) => {
                let start = u32::from(a);
                (u128::from(start), u128::from(start | !mask_v4(self.prefix)))
            }
            IpAddr::V6(a) => {
                let start = u128::from(a);
                (start, start | !mask_v6(self.prefix))
            }
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for IpNet {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Self, NetError> {
        IpNet::parse(s)
    }
}

/// Parses a client address as peers and proxies write it: `192.0.2.7`, `192.0.2.7:443`,
/// `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:443`. Zone ids are refused.
pub fn parse_addr_with_port(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if text.contains('%') {
        return None;
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let ip = Ipv6Addr::from_str(inside).ok()?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(|p| p.parse::<u16>().is_ok())) {
            return None;
        }
        return Some(IpAddr::V6(ip));
    }
    if let Ok(ip) = IpAddr::from_str(text) {
        return Some(ip);
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    Ipv4Addr::from_str(host).ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        IpNet::parse(s).unwrap()
    }

    #[test]
    fn parses_and_displays() {
        assert_eq!(net("192.0.2.7").to_string(), "192.0.2.7/32");
        assert_eq!(net(" 10.0.0.0/8 ").to_string(), "10.0.0.0/8");
        assert_eq!(net("2001:db8::/32").to_string(), "2001:db8::/32");
        assert_eq!(net("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(net("::/0").to_string(), "::/0");
        assert_eq!(net("2001:DB8::1").to_string(), "2001:db8::1/128");
    }

    #[test]
    fn rejects_bad_entries_with_reasons() {
        assert_eq!(IpNet::parse(""), Err(NetError::Empty));
        assert!(
            matches!(IpNet::parse("10.0.0.1/8"), Err(NetError::HostBitsSet { network, .. }) if network == "10.0.0.0/8")
        );
        assert!(matches!(IpNet::parse("2001:db8::1/32"), Err(NetError::HostBitsSet { .. })));
        for bad in [
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/0x8",
            "::/129",
            "10.0.0.0/1000",
        ] {
            assert!(matches!(IpNet::parse(bad), Err(NetError::BadPrefix { .. })), "{bad}");
        }
        for bad in [
            "10.0.0",
            "256.1.1.1",
            "010.0.0.1",
            "0x7f.0.0.1",
            "2130706433",
            "example.com",
            "1.2.3.4.5",
            "::g",
        ] {
            assert!(matches!(IpNet::parse(bad), Err(NetError::BadAddress(_))), "{bad}");
        }
        assert!(matches!(IpNet::parse("fe80::1%eth0"), Err(NetError::ZoneId(_))));
        assert!(matches!(IpNet::parse("fe80::%1/64"), Err(NetError::ZoneId(_))));
    }

    #[test]
    fn mapped_entries_become_ipv4_and_never_cover_all_of_it() {
        assert_eq!(net("::ffff:192.0.2.7"), net("192.0.2.7"));
        assert_eq!(net("::ffff:192.0.2.0/120"), net("192.0.2.0/24"));
        assert_eq!(IpNet::parse("::ffff:0:0/96"), Err(NetError::MappedRangeTooWide("::ffff:0:0/96".into())));
        assert!(matches!(IpNet::parse("::ffff:0.0.0.0/96"), Err(NetError::MappedRangeTooWide(_))));
        // A plain IPv6 range does not match IPv4 clients, mapped or not.
        assert!(!net("::/0").contains("::ffff:192.0.2.7".parse().unwrap()));
        assert!(!net("::/0").contains("192.0.2.7".parse().unwrap()));
        assert!(net("192.0.2.0/24").contains("::ffff:192.0.2.7".parse().unwrap()));
    }

    #[test]
    fn contains_edges() {
        let n = net("192.0.2.0/24");
        assert!(n.contains("192.0.2.0".parse().unwrap()));
        assert!(n.contains("192.0.2.255".parse().unwrap()));
        assert!(!n.contains("192.0.3.0".parse().unwrap()));
        assert!(!n.contains("192.0.1.255".parse().unwrap()));
        assert!(net("0.0.0.0/0").contains("255.255.255.255".parse().unwrap()));
        assert!(net("::/0").contains("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap()));
        assert!(!net("2001:db8::/32").contains("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn addresses_with_ports() {
        let p = |s| parse_addr_with_port(s);
        assert_eq!(p("192.0.2.7"), Some("192.0.2.7".parse().unwrap()));
        assert_eq!(p("192.0.2.7:8080"), Some("192.0.2.7".parse().unwrap()));
        assert_eq!(p("[2001:db8::1]:443"), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(p("[2001:db8::1]"), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(p("2001:db8::1"), Some("2001:db8::1".parse().unwrap()));
        for bad in [
            "",
            "x",
            "192.0.2.7:",
            "192.0.2.7:99999",
            "[2001:db8::1]x",
            "fe80::1%eth0",
            "[::1]:",
            "1.2.3.4:5:6",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }
}
