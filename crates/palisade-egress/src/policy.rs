//! [`EgressPolicy`]: the serde form of a tenant's or agent's outbound policy.

use serde::Deserialize;

/// What happens to a request no allow rule covers (after the deny rules and built-in denies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultAction {
    /// Only what an allow rule covers may go (agents, strict tenants). The default.
    #[default]
    Deny,
    /// Anything not denied may go (a platform's user-configured connections: built-in denies
    /// still protect the internal network).
    Allow,
}

/// One allow or deny rule: a host pattern or a network, optionally limited to ports and schemes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `api.example.com` or `*.example.com` (strict subdomains). Exactly one of `host`/`cidr`.
    #[serde(default)]
    pub host: Option<String>,
    /// An address or CIDR range (`203.0.113.7`, `2001:db8::/32`).
    #[serde(default)]
    pub cidr: Option<String>,
    /// Ports the rule covers; empty = all.
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Schemes the rule covers (`https`); empty = all the policy allows.
    #[serde(default)]
    pub schemes: Vec<String>,
    /// A label for decisions and the audit log.
    #[serde(default)]
    pub label: Option<String>,
}

fn default_schemes() -> Vec<String> {
    vec!["http".to_owned(), "https".to_owned()]
}

/// An outbound policy.
///
/// ```
/// use palisade_egress::EgressPolicy;
/// let p: EgressPolicy = serde_json::from_str(r#"{
///   "allow": [ { "host": "*.salesforce.com", "schemes": ["https"] },
///              { "cidr": "203.0.113.0/24", "ports": [5432], "label": "on-prem Postgres" } ],
///   "deny":  [ { "host": "evil.salesforce.com" } ],
///   "allow_builtin": ["203.0.113.0/24"]
/// }"#)?;
/// assert!(palisade_egress::Egress::new(&p).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EgressPolicy {
    /// What happens when no allow rule covers a request. Default: `deny`.
    #[serde(default)]
    pub default: DefaultAction,
    /// Allow rules.
    #[serde(default)]
    pub allow: Vec<Rule>,
    /// Deny rules; they win over allow rules.
    #[serde(default)]
    pub deny: Vec<Rule>,
    /// Built-in denied ranges this policy opts out of, each written exactly as listed in
    /// [`crate::BUILTIN_DENIED`] (e.g. `"127.0.0.1/8"` is refused, `"127.0.0.0/8"` accepted).
    #[serde(default)]
    pub allow_builtin: Vec<String>,
    /// Schemes that may be used at all. Default: `http`, `https`.
    #[serde(default = "default_schemes")]
    pub schemes: Vec<String>,
}

impl Default for EgressPolicy {
    /// Deny everything not allowed by a rule (and there are none).
    fn default() -> Self {
        Self {
            default: DefaultAction::Deny,
            allow: vec![],
            deny: vec![],
            allow_builtin: vec![],
            schemes: default_schemes(),
        }
    }
}

impl EgressPolicy {
    /// The platform default: deny the built-in ranges, allow everything else over http/https.
    pub fn public_internet() -> Self {
        Self { default: DefaultAction::Allow, ..Self::default() }
    }
}
