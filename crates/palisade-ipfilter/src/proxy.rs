//! Client address resolution behind trusted proxies.
//!
//! The socket peer is the client unless it is a trusted proxy. Then the forwarding header that
//! the proxies write is walked **from the right** (each proxy appends the address it received the
//! request from), skipping trusted hops; the first untrusted hop is the client. Whatever is to the
//! left of it was written by the client itself and is never believed.
//!
//! A malformed element stops the walk: the result is the last hop reached, which is a trusted
//! proxy — so the check fails closed (a proxy is not normally on a tenant's allowlist) and the
//! left-most, spoofable value is never used. An obfuscated or `unknown` RFC 7239 node yields no
//! address at all, which is denied.
//!
//! Only the header the proxies are configured to write is read: reading whichever one is present
//! would let a client send the other one with any value it likes.
//!
//! ```
//! use palisade_ipfilter::{Allowlist, ClientResolver, ForwardedHeader};
//!
//! let proxies = Allowlist::parse_text("10.0.0.0/8 load balancers")?;
//! let resolver = ClientResolver::new(proxies, ForwardedHeader::XForwardedFor);
//! // The client sent "6.6.6.6" itself; the load balancer appended the real address.
//! let r = resolver.resolve("10.0.0.5".parse()?, &["6.6.6.6, 203.0.113.9"]);
//! assert_eq!(r.client_ip(), Some("203.0.113.9".parse()?));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::IpAddr;

use serde::Deserialize;

use crate::allowlist::Allowlist;
use palisade_core::net::{canonical, parse_addr_with_port};

/// Which header the trusted proxies write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

impl ForwardedHeader {
    /// The header's name, lower case.
    pub fn name(self) -> &'static str {
        match self {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        }
    }
}

/// Where the resolved client address came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The socket peer (not a trusted proxy, or no header).
    Peer,
    /// The forwarding header, after skipping `trusted_hops` trusted proxies.
    Header {
        /// Trusted hops skipped, the peer included.
        trusted_hops: usize,
    },
    /// The header was malformed at `element` (0-based from the left); the walk stopped at the
    /// last trusted hop.
    Malformed {
        /// What was wrong.
        problem: String,
    },
}

/// The resolved client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The client's address, or `None` when the nearest untrusted hop is obfuscated or unknown.
    pub client: Option<IpAddr>,
    /// The node identifier when the client is not an address (`unknown`, `_hidden`).
    pub unknown_node: Option<String>,
    /// How it was found.
    pub source: Source,
}

impl Resolution {
    /// The client address, if there is one.
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client
    }
}

enum Hop {
    Ip(IpAddr),
    Unknown(String),
}

/// Resolves client addresses given the trusted proxies and the header they write.
#[derive(Debug, Clone, Default)]
pub struct ClientResolver {
    trusted: Allowlist,
    header: ForwardedHeader,
}

impl ClientResolver {
    /// A resolver trusting `proxies`, which write `header`.
    pub fn new(proxies: Allowlist, header: ForwardedHeader) -> Self {
        Self { trusted: proxies, header }
    }

    /// The header this resolver reads.
    pub fn header(&self) -> ForwardedHeader {
        self.header
    }

    /// Resolves the client from the socket `peer` and the values of the configured header, in the
    /// order the header lines appeared (several lines are one comma-separated list).
    pub fn resolve(&self, peer: IpAddr, header_values: &[&str]) -> Resolution {
        let mut current = canonical(peer);
        if !self.trusted.contains(current) || header_values.is_empty() {
            return Resolution { client: Some(current), unknown_node: None, source: Source::Peer };
        }
        let joined = header_values.join(",");
        let hops = match self.header {
            ForwardedHeader::XForwardedFor => parse_xff(&joined),
            ForwardedHeader::Forwarded => parse_forwarded(&joined),
        };
        let mut trusted_hops = 1;
        for hop in hops.into_iter().rev() {
            match hop {
                Err(problem) => {
                    return Resolution {
                        client: Some(current),
                        unknown_node: None,
                        source: Source::Malformed { problem },
                    };
                }
                Ok(Hop::Unknown(node)) => {
                    return Resolution {
                        client: None,
                        unknown_node: Some(node),
                        source: Source::Header { trusted_hops },
                    };
                }
                Ok(Hop::Ip(ip)) => {
                    current = canonical(ip);
                    if !self.trusted.contains(current) {
                        return Resolution {
                            client: Some(current),
                            unknown_node: None,
                            source: Source::Header { trusted_hops },
                        };
                    }
                    trusted_hops += 1;
                }
            }
        }
        // Every hop is a trusted proxy: the left-most one is the closest thing to a client.
        Resolution { client: Some(current), unknown_node: None, source: Source::Header { trusted_hops } }
    }
}

fn parse_xff(value: &str) -> Vec<Result<Hop, String>> {
    value
        .split(',')
        .map(|part| {
            let part = part.trim();
            parse_addr_with_port(part)
                .map(Hop::Ip)
                .ok_or_else(|| format!("X-Forwarded-For element {part:?} is not an address"))
        })
        .collect()
}

/// Splits on `sep` outside double-quoted strings (with backslash escapes inside them).
fn split_unquoted(s: &str, sep: char) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
        } else if c == '"' {
            in_quotes = true;
        } else if c == sep {
            parts.push(s.get(start..i).unwrap_or(""));
            start = i + c.len_utf8();
        }
    }
    if in_quotes {
        return Err("unterminated quoted string".to_owned());
    }
    parts.push(s.get(start..).unwrap_or(""));
    Ok(parts)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn unquote(v: &str) -> Result<String, String> {
    if let Some(inner) = v.strip_prefix('"') {
        let inner = inner.strip_suffix('"').ok_or_else(|| format!("bad quoted value {v:?}"))?;
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                out.push(chars.next().ok_or_else(|| format!("bad escape in {v:?}"))?);
            } else {
                out.push(c);
            }
        }
        Ok(out)
    } else if is_token(v) {
        Ok(v.to_owned())
    } else {
        Err(format!("{v:?} is neither a token nor a quoted string"))
    }
}

/// RFC 7239 node: `IPv4[:port]`, `"[IPv6][:port]"`, `unknown`, `_obfuscated[:port]`.
fn parse_node(node: &str) -> Result<Hop, String> {
    let lower = node.to_ascii_lowercase();
    if lower == "unknown" || lower.starts_with("unknown:") || node.starts_with('_') {
        return Ok(Hop::Unknown(node.to_owned()));
    }
    if node.starts_with('[') {
        return parse_addr_with_port(node)
            .filter(IpAddr::is_ipv6)
            .map(Hop::Ip)
            .ok_or_else(|| format!("bad node {node:?}"));
    }
    // IPv4, optionally with a port; a bare IPv6 (unbracketed) is not a valid node.
    let host = node.split_once(':').map_or(node, |(h, port)| if port.is_empty() { "" } else { h });
    match host.parse::<IpAddr>() {
        Ok(ip @ IpAddr::V4(_)) => {
            if let Some((_, port)) = node.split_once(':')
                && !(port.parse::<u16>().is_ok() || port.starts_with('_'))
            {
                return Err(format!("bad port in node {node:?}"));
            }
            Ok(Hop::Ip(ip))
        }
        _ => Err(format!("bad node {node:?}")),
    }
}

fn parse_forwarded(value: &str) -> Vec<Result<Hop, String>> {
    let elements = match split_unquoted(value, ',') {
        Ok(e) => e,
        Err(e) => return vec![Err(format!("Forwarded: {e}"))],
    };
    elements
        .into_iter()
        .map(|element| {
            let mut node = None;
            for pair in split_unquoted(element, ';')? {
                let pair = pair.trim();
                if pair.is_empty() {
                    continue;
                }
                let (name, val) =
                    pair.split_once('=').ok_or_else(|| format!("Forwarded pair {pair:?} has no '='"))?;
                let name = name.trim();
                if !is_token(name) {
                    return Err(format!("Forwarded parameter name {name:?} is not a token"));
                }
                let val = unquote(val.trim())?;
                if name.eq_ignore_ascii_case("for") {
                    if node.is_some() {
                        return Err("Forwarded element has two 'for' parameters".to_owned());
                    }
                    node = Some(val);
                }
            }
            match node {
                Some(n) => parse_node(&n),
                None => Ok(Hop::Unknown("(no for=)".to_owned())),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn resolver(h: ForwardedHeader) -> ClientResolver {
        ClientResolver::new(Allowlist::parse_text("10.0.0.0/8\n2001:db8:ffff::/48").unwrap(), h)
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_the_header_says() {
        let r = resolver(ForwardedHeader::XForwardedFor).resolve(ip("198.51.100.1"), &["10.0.0.1"]);
        assert_eq!(r.client, Some(ip("198.51.100.1")));
        assert_eq!(r.source, Source::Peer);
    }

    #[test]
    fn xff_walks_from_the_right() {
        let r = resolver(ForwardedHeader::XForwardedFor);
        let got = r.resolve(ip("10.0.0.2"), &["1.1.1.1, 203.0.113.5, 10.0.0.9"]);
        assert_eq!(got.client, Some(ip("203.0.113.5")));
        assert_eq!(got.source, Source::Header { trusted_hops: 2 });
        // Several header lines are one list.
        let got = r.resolve(ip("10.0.0.2"), &["1.1.1.1", "203.0.113.6"]);
        assert_eq!(got.client, Some(ip("203.0.113.6")));
        // Ports and brackets, IPv4-mapped.
        assert_eq!(r.resolve(ip("10.0.0.2"), &["[2001:db8::7]:443"]).client, Some(ip("2001:db8::7")));
        assert_eq!(r.resolve(ip("10.0.0.2"), &["203.0.113.7:5000"]).client, Some(ip("203.0.113.7")));
        assert_eq!(r.resolve(ip("::ffff:10.0.0.2"), &["::ffff:203.0.113.8"]).client, Some(ip("203.0.113.8")));
    }

    #[test]
    fn spoofed_left_values_never_win() {
        let r = resolver(ForwardedHeader::XForwardedFor);
        // The attacker prepends an allowlisted-looking address; the proxy appends the real one.
        assert_eq!(r.resolve(ip("10.0.0.2"), &["192.0.2.1, 6.6.6.6"]).client, Some(ip("6.6.6.6")));
        // Garbage to the right of a good value: stop at the trusted hop, do not skip over it.
        let got = r.resolve(ip("10.0.0.2"), &["192.0.2.1, not-an-ip"]);
        assert_eq!(got.client, Some(ip("10.0.0.2")));
        assert!(matches!(got.source, Source::Malformed { .. }));
        let got = r.resolve(ip("10.0.0.2"), &["192.0.2.1, , 10.0.0.3"]);
        assert_eq!(got.client, Some(ip("10.0.0.3")));
        assert!(matches!(got.source, Source::Malformed { .. }));
    }

    #[test]
    fn all_trusted_gives_the_leftmost() {
        let got = resolver(ForwardedHeader::XForwardedFor).resolve(ip("10.0.0.2"), &["10.0.0.3, 10.0.0.4"]);
        assert_eq!(got.client, Some(ip("10.0.0.3")));
    }

    #[test]
    fn forwarded_rfc7239() {
        let r = resolver(ForwardedHeader::Forwarded);
        let v = r#"for=192.0.2.43, for="[2001:db8:cafe::17]:4711";proto=https, For=10.0.0.7;by=10.0.0.1"#;
        assert_eq!(r.resolve(ip("10.0.0.2"), &[v]).client, Some(ip("2001:db8:cafe::17")));
        assert_eq!(
            r.resolve(ip("10.0.0.2"), &["for=\"198.51.100.17:8080\""]).client,
            Some(ip("198.51.100.17"))
        );
        let got = r.resolve(ip("10.0.0.2"), &["for=192.0.2.1, for=unknown"]);
        assert_eq!((got.client, got.unknown_node.as_deref()), (None, Some("unknown")));
        let got = r.resolve(ip("10.0.0.2"), &["for=_hidden"]);
        assert_eq!(got.client, None);
        // Unquoted IPv6 is malformed; so is an unterminated quote.
        for bad in
            ["for=2001:db8::1", "for=\"[2001:db8::1]", "for", "for=1.2.3.4;for=5.6.7.8", "f o r=1.2.3.4"]
        {
            let got = r.resolve(ip("10.0.0.2"), &[bad]);
            assert_eq!(got.client, Some(ip("10.0.0.2")), "{bad}");
            assert!(matches!(got.source, Source::Malformed { .. }), "{bad}");
        }
        // A comma inside a quoted value does not split elements.
        let got = r.resolve(ip("10.0.0.2"), &[r#"for=192.0.2.9;ext="a,b""#]);
        assert_eq!(got.client, Some(ip("192.0.2.9")));
    }

    #[test]
    fn reads_only_the_configured_header() {
        // A resolver for Forwarded given an X-Forwarded-For style value sees it as malformed.
        let got = resolver(ForwardedHeader::Forwarded).resolve(ip("10.0.0.2"), &["203.0.113.5"]);
        assert!(matches!(got.source, Source::Malformed { .. }));
    }
}
