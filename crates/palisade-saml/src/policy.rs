//! Configuration: the SP, and per IdP the trust anchors and policy knobs (secure defaults).

use serde::Deserialize;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::keys::{AlgorithmPolicy, SigningKey, TrustedCert};
use crate::xmlenc::DecryptionKey;

/// Per-IdP policy. Defaults are the secure choice.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdpPolicy {
    /// Require a signature on the Response element (default false).
    pub require_signed_response: bool,
    /// Require a signature on the Assertion element itself (default false: the assertion must be
    /// covered by a signature, either its own or the Response's — always enforced).
    pub require_signed_assertion: bool,
    /// Signature algorithm allow-list knobs (SHA-1 and weak RSA keys are opt-in).
    pub algorithms: AlgorithmPolicy,
    /// Allowed clock skew in seconds (default 180, at most 300).
    pub clock_skew_secs: i64,
    /// Accept unsolicited (IdP-initiated) responses (default false).
    pub allow_idp_initiated: bool,
    /// Require an AudienceRestriction naming the SP (default true).
    pub require_audience: bool,
    /// Maximum age of the Response/Assertion IssueInstant in seconds (default 600).
    pub max_issue_age_secs: i64,
    /// Required NameID format, if any.
    pub name_id_format: Option<String>,
    /// Accept the RSA-1_5 key transport for encrypted assertions (default false).
    pub allow_rsa1_5: bool,
}

impl Default for IdpPolicy {
    fn default() -> Self {
        Self {
            require_signed_response: false,
            require_signed_assertion: false,
            algorithms: AlgorithmPolicy::default(),
            clock_skew_secs: 180,
            allow_idp_initiated: false,
            require_audience: true,
            max_issue_age_secs: 600,
            name_id_format: None,
            allow_rsa1_5: false,
        }
    }
}

impl IdpPolicy {
    /// Every problem with the policy.
    pub fn validate(&self) -> std::result::Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if !(0..=300).contains(&self.clock_skew_secs) {
            problems.push(format!("clock_skew_secs must be within 0..=300 (got {})", self.clock_skew_secs));
        }
        if self.max_issue_age_secs <= 0 || self.max_issue_age_secs > 86_400 {
            problems.push(format!(
                "max_issue_age_secs must be within 1..=86400 (got {})",
                self.max_issue_age_secs
            ));
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

/// One identity provider: its entityID, trusted signing certificates (several for rollover),
/// endpoints and policy.
#[derive(Debug, Clone)]
pub struct IdpConfig {
    /// The IdP's entityID (Issuer of its messages).
    pub entity_id: String,
    /// Signing certificates; a signature by any of them is accepted.
    pub signing_certs: Vec<TrustedCert>,
    /// Single sign-on endpoint (HTTP-Redirect binding), if known.
    pub sso_url: Option<String>,
    /// Single logout endpoint (HTTP-Redirect binding), if known.
    pub slo_url: Option<String>,
    /// Metadata `validUntil`, honoured when validating.
    pub valid_until: Option<OffsetDateTime>,
    /// Policy.
    pub policy: IdpPolicy,
}

impl IdpConfig {
    /// An IdP set by hand.
    pub fn new(entity_id: impl Into<String>, signing_certs: Vec<TrustedCert>) -> Self {
        Self {
            entity_id: entity_id.into(),
            signing_certs,
            sso_url: None,
            slo_url: None,
            valid_until: None,
            policy: IdpPolicy::default(),
        }
    }

    /// Every problem with this configuration.
    pub fn validate(&self) -> Result<()> {
        let mut problems = self.policy.validate().err().unwrap_or_default();
        if self.entity_id.trim().is_empty() {
            problems.push("IdP entity_id is empty".into());
        }
        if self.signing_certs.is_empty() {
            problems.push("IdP has no signing certificate".into());
        }
        if problems.is_empty() { Ok(()) } else { Err(Error::Config(problems)) }
    }
}

/// The service provider.
#[derive(Debug)]
pub struct SpConfig {
    /// The SP's entityID (Audience, Issuer of its requests).
    pub entity_id: String,
    /// The Assertion Consumer Service URL (HTTP-POST).
    pub acs_url: String,
    /// The single logout URL, if any.
    pub slo_url: Option<String>,
    /// Key that decrypts encrypted assertions.
    pub decryption_key: Option<DecryptionKey>,
    /// Key that signs requests and metadata.
    pub signing_key: Option<SigningKey>,
    /// An additional certificate to publish during SP key rollover.
    pub next_signing_cert: Option<TrustedCert>,
}

impl SpConfig {
    /// An SP with an entityID and ACS URL.
    pub fn new(entity_id: impl Into<String>, acs_url: impl Into<String>) -> Self {
        Self {
            entity_id: entity_id.into(),
            acs_url: acs_url.into(),
            slo_url: None,
            decryption_key: None,
            signing_key: None,
            next_signing_cert: None,
        }
    }

    /// Every problem with this configuration.
    pub fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        if self.entity_id.trim().is_empty() {
            problems.push("SP entity_id is empty".to_owned());
        }
        if self.acs_url.trim().is_empty() {
            problems.push("SP acs_url is empty".to_owned());
        }
        if problems.is_empty() { Ok(()) } else { Err(Error::Config(problems)) }
    }
}
