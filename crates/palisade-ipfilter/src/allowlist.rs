//! [`Allowlist`]: labelled entries compiled into a lookup that costs O(log n) ≤ O(address bits).
//!
//! The lookup structure is `palisade_core::net::PrefixMap` (shared with palisade-egress): the
//! entries are flattened once into sorted, disjoint intervals labelled with the most specific
//! entry, indexed by a bucket table on the address's top bits. See the crate README for figures.
//!
//! ```
//! use palisade_ipfilter::Allowlist;
//!
//! let list = Allowlist::parse_text("10.0.0.0/8 office VPN\n10.1.0.0/16 lab # comment\n2001:db8::/32")?;
//! let hit = list.lookup("10.1.2.3".parse()?).expect("allowed");
//! assert_eq!(hit.label.as_deref(), Some("lab"));           // the most specific entry wins
//! assert!(list.lookup("::ffff:10.9.9.9".parse()?).is_some()); // IPv4-mapped = IPv4
//! assert!(list.lookup("192.0.2.1".parse()?).is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::IpAddr;

use serde::Deserialize;

use crate::error::{Error, LineError, Result};
use palisade_core::net::{IpNet, PrefixMap};

/// One allowlist entry: a network and an optional label for audit and support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The network.
    pub net: IpNet,
    /// A label ("office", "VPN egress"), if given.
    pub label: Option<String>,
}

/// An entry as written in configuration: `{ "cidr": "10.0.0.0/8", "label": "office" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryConfig {
    /// Address or CIDR range.
    pub cidr: String,
    /// Optional label.
    #[serde(default)]
    pub label: Option<String>,
}

/// A compiled allowlist. Cheap to share (`Arc`), immutable once built.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    map: PrefixMap<Entry>,
}

impl Allowlist {
    /// Compiles `entries`.
    pub fn new(entries: Vec<Entry>) -> Self {
        Self { map: PrefixMap::new(entries.into_iter().map(|e| (e.net, e)).collect()) }
    }

    /// Parses the text format: one entry a line, `ADDRESS_OR_CIDR [label...]`; `#` starts a
    /// comment; blank lines are ignored. Every malformed line is reported, with its number.
    pub fn parse_text(text: &str) -> Result<Self> {
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split_once('#').map_or(raw, |(before, _)| before).trim();
            if line.is_empty() {
                continue;
            }
            let (cidr, label) = match line.split_once(char::is_whitespace) {
                Some((c, l)) => (c, Some(l.split_whitespace().collect::<Vec<_>>().join(" "))),
                None => (line, None),
            };
            match IpNet::parse(cidr) {
                Ok(net) => entries.push(Entry { net, label }),
                Err(error) => problems.push(LineError { line: n + 1, error }),
            }
        }
        if problems.is_empty() { Ok(Self::new(entries)) } else { Err(Error::Malformed(problems)) }
    }

    /// Builds from configuration entries; every malformed entry is reported (numbered from 1).
    pub fn from_config(entries: &[EntryConfig]) -> Result<Self> {
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for (n, e) in entries.iter().enumerate() {
            match IpNet::parse(&e.cidr) {
                Ok(net) => out.push(Entry { net, label: e.label.clone() }),
                Err(error) => problems.push(LineError { line: n + 1, error }),
            }
        }
        if problems.is_empty() { Ok(Self::new(out)) } else { Err(Error::Malformed(problems)) }
    }

    /// The most specific entry containing `ip` (canonicalized first), if any.
    pub fn lookup(&self, ip: IpAddr) -> Option<&Entry> {
        self.map.lookup(ip).map(|(_, e)| e)
    }

    /// Whether `ip` is in the list.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.lookup(ip).is_some()
    }

    /// The entries, as given.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.map.items().iter().map(|(_, e)| e)
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn text_format() {
        let l = Allowlist::parse_text(
            "# head\n\n192.0.2.0/24   office  main  # note\n2001:db8::/32\n  10.0.0.1 vpn\n",
        )
        .unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l.lookup(ip("192.0.2.9")).unwrap().label.as_deref(), Some("office main"));
        assert_eq!(l.lookup(ip("2001:db8::5")).unwrap().label, None);
        assert!(l.contains(ip("10.0.0.1")));
        assert!(!l.contains(ip("10.0.0.2")));
    }

    #[test]
    fn every_bad_line_reported_with_its_number() {
        let err = Allowlist::parse_text("10.0.0.0/8\n10.0.0.1/8 x\n\nbogus\n::1%lo\n").unwrap_err();
        let Error::Malformed(lines) = err else { panic!() };
        assert_eq!(lines.iter().map(|l| l.line).collect::<Vec<_>>(), vec![2, 4, 5]);
    }

    #[test]
    fn nested_ranges_pick_innermost() {
        let l = Allowlist::parse_text(
            "10.0.0.0/8 a\n10.1.0.0/16 b\n10.1.1.0/24 c\n10.1.1.128/25 d\n10.2.0.0/16 e",
        )
        .unwrap();
        for (addr, label) in [
            ("10.0.0.1", "a"),
            ("10.1.0.1", "b"),
            ("10.1.1.1", "c"),
            ("10.1.1.200", "d"),
            ("10.1.2.0", "b"),
            ("10.2.3.4", "e"),
            ("10.3.0.0", "a"),
            ("10.255.255.255", "a"),
        ] {
            assert_eq!(l.lookup(ip(addr)).and_then(|e| e.label.as_deref()), Some(label), "{addr}");
        }
        assert!(l.lookup(ip("11.0.0.0")).is_none());
        assert!(l.lookup(ip("9.255.255.255")).is_none());
    }

    #[test]
    fn whole_space_edges() {
        let l = Allowlist::parse_text(
            "0.0.0.0/0 all4\n255.255.255.255 top\n::/0 all6\nffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff top6",
        )
        .unwrap();
        assert_eq!(l.lookup(ip("0.0.0.0")).unwrap().label.as_deref(), Some("all4"));
        assert_eq!(l.lookup(ip("255.255.255.255")).unwrap().label.as_deref(), Some("top"));
        assert_eq!(l.lookup(ip("255.255.255.254")).unwrap().label.as_deref(), Some("all4"));
        assert_eq!(
            l.lookup(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).unwrap().label.as_deref(),
            Some("top6")
        );
        assert_eq!(l.lookup(ip("::")).unwrap().label.as_deref(), Some("all6"));
        assert!(Allowlist::default().lookup(ip("1.1.1.1")).is_none());
    }

    #[test]
    fn duplicates_keep_the_first_label() {
        let l = Allowlist::parse_text("10.0.0.0/8 first\n10.0.0.0/8 second").unwrap();
        assert_eq!(l.lookup(ip("10.1.1.1")).unwrap().label.as_deref(), Some("first"));
    }

    proptest! {
        #[test]
        fn parse_text_never_panics(text in "\\PC{0,200}") {
            let _ = Allowlist::parse_text(&text);
        }
    }
}
