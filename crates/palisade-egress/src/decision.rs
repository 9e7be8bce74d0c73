//! [`Decision`]: may this request go, and which rule said so.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

/// Why an address or a request was allowed or denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// An allow rule covers it.
    AllowRule {
        /// `allow[i]`.
        rule: String,
        /// The rule's label.
        label: Option<String>,
    },
    /// No rule covers it and the policy's default is `allow`.
    DefaultAllow,
    /// A deny rule covers it.
    DenyRule {
        /// `deny[i]`.
        rule: String,
        /// The rule's label.
        label: Option<String>,
    },
    /// It is in a built-in denied range the policy has not opted out of.
    Builtin {
        /// The range.
        cidr: String,
        /// What the range is.
        range: String,
        /// The IPv6 form that carried an IPv4 address, if that is how it matched.
        embedded_in: Option<String>,
    },
    /// No allow rule covers it and the policy's default is `deny`.
    NoAllowRule,
    /// The URL's scheme is not allowed.
    SchemeNotAllowed {
        /// The scheme.
        scheme: String,
    },
    /// The name resolved to no address.
    NoAddresses,
}

impl Reason {
    fn describe(&self) -> String {
        match self {
            Reason::AllowRule { rule, label } | Reason::DenyRule { rule, label } => match label {
                Some(l) => format!("{rule} ({l})"),
                None => rule.clone(),
            },
            Reason::DefaultAllow => "the policy allows what no rule denies".to_owned(),
            Reason::Builtin { cidr, range, embedded_in: None } => format!("built-in deny {cidr} ({range})"),
            Reason::Builtin { cidr, range, embedded_in: Some(f) } => {
                format!("built-in deny {cidr} ({range}), reached through its {f} IPv6 form")
            }
            Reason::NoAllowRule => "no allow rule covers it".to_owned(),
            Reason::SchemeNotAllowed { scheme } => format!("scheme {scheme:?} is not allowed"),
            Reason::NoAddresses => "the name resolved to no address".to_owned(),
        }
    }
}

/// The verdict on one resolved address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressVerdict {
    /// The address (canonical: IPv4-mapped shown as IPv4).
    pub address: IpAddr,
    /// Whether it may be connected to.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
}

/// The decision on one outbound request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the request may go.
    pub allowed: bool,
    /// The URL as the WHATWG parser normalized it.
    pub url: String,
    /// Its scheme.
    pub scheme: String,
    /// Its host, normalized (punycode, lower case, no trailing dot), or the IP literal.
    pub host: String,
    /// The port (explicit or the scheme's default).
    pub port: u16,
    /// Every address checked; a request is allowed only if all are.
    pub addresses: Vec<AddressVerdict>,
    /// The deciding reason: the first denial, or what allowed it.
    pub reason: Reason,
}

impl Decision {
    /// The addresses that may be connected to (all of them when allowed, none otherwise).
    pub fn connect_addresses(&self) -> Vec<IpAddr> {
        if self.allowed { self.addresses.iter().map(|a| a.address).collect() } else { Vec::new() }
    }

    /// One line for people.
    pub fn explain(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allowed" } else { "denied" };
        let denied_addr = self.addresses.iter().find(|a| !a.allowed);
        match denied_addr {
            Some(a) if !self.allowed && a.address.to_string() == self.host => {
                write!(f, "{verdict}: {}: {}", self.host, self.reason.describe())
            }
            Some(a) if !self.allowed => {
                write!(f, "{verdict}: {} resolves to {}: {}", self.host, a.address, self.reason.describe())
            }
            _ if self.allowed => {
                write!(f, "{verdict}: {}:{} by {}", self.host, self.port, self.reason.describe())
            }
            _ => write!(f, "{verdict}: {}:{}: {}", self.host, self.port, self.reason.describe()),
        }
    }
}
