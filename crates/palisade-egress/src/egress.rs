//! [`Egress`]: a compiled policy that decides on URLs and on resolved addresses.

use std::collections::HashMap;
use std::net::IpAddr;

use palisade_core::net::{IpNet, PrefixMap, canonical};
use url::{Host, Url};

use crate::builtin::{BUILTIN_DENIED, BuiltinRange, as_ipv4, builtin_nets};
use crate::decision::{AddressVerdict, Decision, Reason};
use crate::error::{Error, Result};
use crate::host::{HostPattern, normalize};
use crate::policy::{DefaultAction, EgressPolicy, Rule};
use crate::resolve::Resolver;

#[derive(Debug, Clone)]
struct Meta {
    id: String,
    label: Option<String>,
    ports: Vec<u16>,
    schemes: Vec<String>,
}

impl Meta {
    fn covers(&self, scheme: Option<&str>, port: Option<u16>) -> bool {
        let port_ok = self.ports.is_empty() || port.is_none_or(|p| self.ports.contains(&p));
        let scheme_ok = self.schemes.is_empty() || scheme.is_none_or(|s| self.schemes.iter().any(|x| x == s));
        port_ok && scheme_ok
    }
}

#[derive(Debug, Clone, Default)]
struct RuleSet {
    exact: HashMap<String, Vec<usize>>,
    subdomains: HashMap<String, Vec<usize>>,
    nets: PrefixMap<usize>,
    meta: Vec<Meta>,
}

impl RuleSet {
    fn build(kind: &str, rules: &[Rule], problems: &mut Vec<String>) -> Self {
        let mut set = RuleSet::default();
        let mut nets = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let id = format!("{kind}[{i}]");
            let idx = set.meta.len();
            for s in &r.schemes {
                if s != &s.to_ascii_lowercase() || s.is_empty() {
                    problems.push(format!("{id}: scheme {s:?} must be lower case"));
                }
            }
            match (&r.host, &r.cidr) {
                (Some(h), None) => match HostPattern::parse(h) {
                    Ok(HostPattern::Exact(h)) => set.exact.entry(h).or_default().push(idx),
                    Ok(HostPattern::Subdomains(d)) => set.subdomains.entry(d).or_default().push(idx),
                    Err(e) => problems.push(format!("{id}: {e}")),
                },
                (None, Some(c)) => match IpNet::parse(c) {
                    Ok(n) => nets.push((n, idx)),
                    Err(e) => problems.push(format!("{id}: {e}")),
                },
                _ => problems.push(format!("{id}: give exactly one of host or cidr")),
            }
            set.meta.push(Meta {
                id,
                label: r.label.clone(),
                ports: r.ports.clone(),
                schemes: r.schemes.clone(),
            });
        }
        set.nets = PrefixMap::new(nets);
        set
    }

    fn reason(&self, idx: usize) -> Option<(String, Option<String>)> {
        self.meta.get(idx).map(|m| (m.id.clone(), m.label.clone()))
    }

    /// The first rule (in policy order) whose host pattern covers `host` with this scheme/port.
    fn match_host(&self, host: &str, scheme: Option<&str>, port: Option<u16>) -> Option<usize> {
        let mut best: Option<usize> = None;
        let mut consider = |ids: Option<&Vec<usize>>| {
            for &i in ids.into_iter().flatten() {
                if self.meta.get(i).is_some_and(|m| m.covers(scheme, port)) && best.is_none_or(|b| i < b) {
                    best = Some(i);
                }
            }
        };
        consider(self.exact.get(host));
        // Every strict parent domain: a.b.example.com → b.example.com, example.com, com.
        let mut rest = host;
        while let Some((_, parent)) = rest.split_once('.') {
            consider(self.subdomains.get(parent));
            rest = parent;
        }
        best
    }

    /// A network rule covering `ip` with this scheme/port: the most specific one, or any that
    /// covers when the most specific one is limited to other ports or schemes.
    fn match_addr(&self, ip: IpAddr, scheme: Option<&str>, port: Option<u16>) -> Option<usize> {
        let (_, &idx) = self.nets.lookup(ip)?;
        if self.meta.get(idx).is_some_and(|m| m.covers(scheme, port)) {
            return Some(idx);
        }
        self.nets
            .items()
            .iter()
            .filter(|(n, i)| n.contains(ip) && self.meta.get(*i).is_some_and(|m| m.covers(scheme, port)))
            .map(|(_, i)| *i)
            .min()
    }
}

/// A compiled egress policy. Immutable; share it in an `Arc`.
///
/// ```
/// use palisade_egress::{Egress, EgressPolicy};
///
/// let egress = Egress::new(&EgressPolicy::public_internet())?;
/// let d = egress.decide_url("http://169.254.169.254/latest/meta-data/", &[])?;
/// assert!(!d.allowed);
/// let d = egress.decide_url("http://0x7f.1/", &[])?;              // 127.0.0.1 in disguise
/// assert!(!d.allowed);
/// let d = egress.decide_url("https://api.example.com/", &["93.184.215.14".parse()?])?;
/// assert!(d.allowed);
/// let d = egress.decide_url("https://rebind.example/", &["93.184.215.14".parse()?, "10.0.0.5".parse()?])?;
/// assert!(!d.allowed, "one private address among public ones is enough to deny");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Egress {
    default: DefaultAction,
    schemes: Vec<String>,
    allow: RuleSet,
    deny: RuleSet,
    builtin: PrefixMap<BuiltinRange>,
}

/// A URL taken apart: what a decision needs before any DNS lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The normalized URL.
    pub url: String,
    /// Its scheme.
    pub scheme: String,
    /// The normalized host name, or `None` for an IP literal.
    pub host_name: Option<String>,
    /// The IP literal, if the host is one.
    pub literal: Option<IpAddr>,
    /// The port.
    pub port: u16,
}

impl Target {
    /// Parses `url` with the WHATWG URL Standard parser (the `url` crate): numeric host forms
    /// (`2130706433`, `0x7f.1`, `0177.0.0.1`) become IPv4 addresses, IDN becomes punycode,
    /// userinfo is set aside.
    pub fn parse(url: &str) -> Result<Self> {
        let parsed = Url::parse(url.trim())
            .map_err(|e| Error::BadUrl { url: url.to_owned(), reason: e.to_string() })?;
        let scheme = parsed.scheme().to_owned();
        let (host_name, literal) = match parsed.host() {
            Some(Host::Domain(d)) => {
                let d = normalize(d);
                // A domain the parser left alone can still be a bare IP in some schemes.
                match d.parse::<IpAddr>() {
                    Ok(ip) => (None, Some(ip)),
                    Err(_) => (Some(d), None),
                }
            }
            Some(Host::Ipv4(a)) => (None, Some(IpAddr::V4(a))),
            Some(Host::Ipv6(a)) => (None, Some(IpAddr::V6(a))),
            None => return Err(Error::NoHost(url.to_owned())),
        };
        let port = parsed.port_or_known_default().ok_or_else(|| Error::BadUrl {
            url: url.to_owned(),
            reason: format!("no port given and scheme {scheme:?} has no default port"),
        })?;
        Ok(Target { url: parsed.to_string(), scheme, host_name, literal, port })
    }

    /// The host as shown in decisions.
    pub fn host(&self) -> String {
        match (&self.host_name, self.literal) {
            (Some(h), _) => h.clone(),
            (None, Some(ip)) => ip.to_string(),
            (None, None) => String::new(),
        }
    }
}

impl Egress {
    /// Compiles `policy`, reporting every problem at once.
    pub fn new(policy: &EgressPolicy) -> Result<Self> {
        let mut problems = Vec::new();
        let allow = RuleSet::build("allow", &policy.allow, &mut problems);
        let deny = RuleSet::build("deny", &policy.deny, &mut problems);
        let mut opted_out = Vec::new();
        for cidr in &policy.allow_builtin {
            match IpNet::parse(cidr) {
                Ok(n) if BUILTIN_DENIED.iter().any(|b| IpNet::parse(b.cidr).ok() == Some(n)) => opted_out.push(n),
                _ => problems.push(format!(
                    "allow_builtin: {cidr:?} is not one of the built-in ranges ({}); opt out one listed range at a time",
                    BUILTIN_DENIED.iter().map(|b| b.cidr).collect::<Vec<_>>().join(", ")
                )),
            }
        }
        for s in &policy.schemes {
            if s.is_empty() || s != &s.to_ascii_lowercase() {
                problems.push(format!("schemes: {s:?} must be a lower-case scheme name"));
            }
        }
        if !problems.is_empty() {
            return Err(Error::Policy(problems));
        }
        let builtin =
            PrefixMap::new(builtin_nets().into_iter().filter(|(n, _)| !opted_out.contains(n)).collect());
        Ok(Self { default: policy.default, schemes: policy.schemes.clone(), allow, deny, builtin })
    }

    fn builtin_denial(&self, ip: IpAddr) -> Option<Reason> {
        let ip = canonical(ip);
        let describe = |r: &BuiltinRange, via: Option<&str>| Reason::Builtin {
            cidr: r.cidr.to_owned(),
            range: r.kind.to_owned(),
            embedded_in: via.map(str::to_owned),
        };
        if let Some((_, r)) = self.builtin.lookup(ip) {
            return Some(describe(r, None));
        }
        if let Some((v4, Some(form))) = as_ipv4(ip)
            && let Some((_, r)) = self.builtin.lookup(IpAddr::V4(v4))
        {
            return Some(describe(r, Some(form)));
        }
        None
    }

    /// The verdict on one address that `host` (if a name) resolved to.
    pub fn check_address(
        &self,
        host: Option<&str>,
        ip: IpAddr,
        scheme: Option<&str>,
        port: Option<u16>,
    ) -> AddressVerdict {
        let ip = canonical(ip);
        let deny = |reason| AddressVerdict { address: ip, allowed: false, reason };
        if let Some(i) = self.deny.match_addr(ip, scheme, port)
            && let Some((rule, label)) = self.deny.reason(i)
        {
            return deny(Reason::DenyRule { rule, label });
        }
        // An embedded IPv4 address is checked against network deny rules too.
        if let Some((v4, Some(_))) = as_ipv4(ip)
            && let Some((rule, label)) =
                self.deny.match_addr(IpAddr::V4(v4), scheme, port).and_then(|i| self.deny.reason(i))
        {
            return deny(Reason::DenyRule { rule, label });
        }
        if let Some(reason) = self.builtin_denial(ip) {
            return deny(reason);
        }
        let allow = host
            .and_then(|h| self.allow.match_host(h, scheme, port))
            .or_else(|| self.allow.match_addr(ip, scheme, port))
            .and_then(|i| self.allow.reason(i));
        match (allow, self.default) {
            (Some((rule, label)), _) => {
                AddressVerdict { address: ip, allowed: true, reason: Reason::AllowRule { rule, label } }
            }
            (None, DefaultAction::Allow) => {
                AddressVerdict { address: ip, allowed: true, reason: Reason::DefaultAllow }
            }
            (None, DefaultAction::Deny) => deny(Reason::NoAllowRule),
        }
    }

    /// Decides on `target` given the addresses its host resolved to (ignored for IP literals).
    pub fn decide(&self, target: &Target, resolved: &[IpAddr]) -> Decision {
        let mut d = Decision {
            allowed: false,
            url: target.url.clone(),
            scheme: target.scheme.clone(),
            host: target.host(),
            port: target.port,
            addresses: Vec::new(),
            reason: Reason::NoAddresses,
        };
        let scheme = Some(target.scheme.as_str());
        let port = Some(target.port);
        if !self.schemes.iter().any(|s| s == &target.scheme) {
            d.reason = Reason::SchemeNotAllowed { scheme: target.scheme.clone() };
            return d;
        }
        if let Some(h) = &target.host_name
            && let Some((rule, label)) =
                self.deny.match_host(h, scheme, port).and_then(|i| self.deny.reason(i))
        {
            d.reason = Reason::DenyRule { rule, label };
            return d;
        }
        let addrs: Vec<IpAddr> = match target.literal {
            Some(ip) => vec![ip],
            None => resolved.to_vec(),
        };
        d.addresses = addrs
            .iter()
            .map(|&ip| self.check_address(target.host_name.as_deref(), ip, scheme, port))
            .collect();
        match d.addresses.iter().find(|a| !a.allowed).or(d.addresses.first()) {
            Some(first) => {
                d.allowed = first.allowed;
                d.reason = first.reason.clone();
            }
            None => d.reason = Reason::NoAddresses,
        }
        d
    }

    /// What can be decided before any lookup: the scheme, host deny rules, IP literals in full,
    /// and — under a default-deny policy — whether any allow rule could cover this scheme and
    /// port for this host at all. `Ok(())` means "decide on the addresses".
    pub fn precheck(&self, target: &Target) -> std::result::Result<(), Box<Decision>> {
        let d = self.decide(target, &[]);
        if target.literal.is_some() {
            return if d.allowed { Ok(()) } else { Err(Box::new(d)) };
        }
        if d.reason != Reason::NoAddresses {
            return Err(Box::new(d));
        }
        if self.default == DefaultAction::Allow {
            return Ok(());
        }
        let (scheme, port) = (Some(target.scheme.as_str()), Some(target.port));
        let host_rule = target.host_name.as_deref().and_then(|h| self.allow.match_host(h, scheme, port));
        let net_rule = self
            .allow
            .nets
            .items()
            .iter()
            .any(|(_, i)| self.allow.meta.get(*i).is_some_and(|m| m.covers(scheme, port)));
        if host_rule.is_some() || net_rule {
            Ok(())
        } else {
            Err(Box::new(Decision { reason: Reason::NoAllowRule, ..d }))
        }
    }

    /// Parses `url` and decides, with `resolved` as its host's addresses.
    pub fn decide_url(&self, url: &str, resolved: &[IpAddr]) -> Result<Decision> {
        Ok(self.decide(&Target::parse(url)?, resolved))
    }

    /// Parses `url`, resolves its host once through `resolver`, and decides. Connect only to
    /// [`Decision::connect_addresses`]: they are the addresses that were checked.
    pub async fn check(&self, url: &str, resolver: &dyn Resolver) -> Result<Decision> {
        let target = Target::parse(url)?;
        let resolved = match &target.host_name {
            Some(h) if self.schemes.iter().any(|s| s == &target.scheme) => {
                resolver.resolve(h, target.port).await?
            }
            _ => Vec::new(),
        };
        Ok(self.decide(&target, &resolved))
    }
}
