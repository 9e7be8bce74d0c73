//! [`Decision`]: allowed or denied, and why — for the audit log and for support.

use std::fmt;
use std::net::IpAddr;

use palisade_core::TenantId;
use serde::Serialize;

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The tenant checked.
    pub tenant: TenantId,
    /// The client address decided on (`None` when it could not be resolved).
    pub client: Option<IpAddr>,
    /// Why.
    pub reason: Reason,
}

/// Why a decision was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// The client is in the entry `rule` (the most specific one).
    Matched {
        /// The matching network.
        rule: String,
        /// Its label.
        label: Option<String>,
    },
    /// The tenant does not enforce an allowlist.
    NotEnforced,
    /// No entry contains the client.
    NoMatch {
        /// How many entries the list has.
        entries: usize,
    },
    /// The client could not be resolved to an address (obfuscated or `unknown` proxy node).
    UnresolvedClient {
        /// The node identifier the proxy wrote.
        node: String,
    },
}

impl Decision {
    /// One line for people: what was decided and why.
    pub fn explain(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allowed" } else { "denied" };
        let client = self.client.map_or_else(|| "the client".to_owned(), |c| c.to_string());
        match &self.reason {
            Reason::Matched { rule, label: Some(l) } => write!(f, "{verdict}: {client} is in {rule} ({l})"),
            Reason::Matched { rule, label: None } => write!(f, "{verdict}: {client} is in {rule}"),
            Reason::NotEnforced => write!(f, "{verdict}: {} does not enforce an IP allowlist", self.tenant),
            Reason::NoMatch { entries } => {
                write!(
                    f,
                    "{verdict}: {client} matches no entry of {}'s allowlist ({entries} entries)",
                    self.tenant
                )
            }
            Reason::UnresolvedClient { node } => {
                write!(f, "{verdict}: the client address is not known (the proxy wrote {node:?})")
            }
        }
    }
}
