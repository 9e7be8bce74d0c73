//! Host names and host patterns, normalized the way the WHATWG URL parser normalizes hosts:
//! lower case, IDN to punycode (`bücher.example` → `xn--bcher-kva.example`), one trailing dot
//! removed. Patterns are parsed with the same parser, so a rule and a URL always compare equal
//! forms.

use url::{Host, Url};

/// An allow or deny pattern for host names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// Exactly this host.
    Exact(String),
    /// Any strict subdomain of this domain: `*.example.com` matches `a.example.com` and
    /// `a.b.example.com`, not `example.com` nor `example.com.evil.test`.
    Subdomains(String),
}

/// Removes one trailing dot (`example.com.` and `example.com` are the same host).
pub fn normalize(host: &str) -> String {
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

impl HostPattern {
    /// Parses `host` or `*.domain`. IP literals are refused here: write them as CIDR rules.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let (wild, rest) = match pattern.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        if rest.is_empty()
            || rest.contains('*')
            || rest.contains('/')
            || rest.contains('@')
            || rest.contains(':')
        {
            return Err(format!("{pattern:?} is not a host name or *.domain pattern"));
        }
        let url = Url::parse(&format!("http://{rest}/")).map_err(|e| format!("{pattern:?}: {e}"))?;
        match url.host() {
            Some(Host::Domain(d)) => {
                let d = normalize(d);
                if d.is_empty() {
                    return Err(format!("{pattern:?} has an empty host"));
                }
                Ok(if wild { HostPattern::Subdomains(d) } else { HostPattern::Exact(d) })
            }
            Some(_) => Err(format!("{pattern:?} is an IP address: write it as a cidr rule")),
            None => Err(format!("{pattern:?} has no host")),
        }
    }

    /// Whether `host` (already normalized) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(h) => h == host,
            HostPattern::Subdomains(d) => {
                host.len() > d.len() + 1
                    && host.ends_with(d.as_str())
                    && host.as_bytes().get(host.len() - d.len() - 1) == Some(&b'.')
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_semantics() {
        let p = HostPattern::parse("*.Example.COM.").unwrap();
        assert_eq!(p, HostPattern::Subdomains("example.com".into()));
        assert!(p.matches("a.example.com"));
        assert!(p.matches("a.b.example.com"));
        assert!(!p.matches("example.com"));
        assert!(!p.matches("example.com.evil.test"));
        assert!(!p.matches("badexample.com"));
        assert!(!p.matches(".example.com"));
    }

    #[test]
    fn idn_and_case() {
        assert_eq!(
            HostPattern::parse("Bücher.example").unwrap(),
            HostPattern::Exact("xn--bcher-kva.example".into())
        );
        assert!(HostPattern::parse("127.0.0.1").is_err());
        assert!(HostPattern::parse("[::1]").is_err());
        assert!(HostPattern::parse("a*.example.com").is_err());
        assert!(HostPattern::parse("").is_err());
        assert!(HostPattern::parse("*.").is_err());
        assert!(HostPattern::parse("user@example.com").is_err());
    }
}
