//! ID token validation (OpenID Connect Core 1.0 §3.1.3.7), pure and synchronous.
//!
//! [`IdTokenVerifier`] holds the relying party's rules (issuer, client id, algorithms, skew);
//! [`IdTokenVerifier::verify`] applies them to one token with a key set and a time, in this order:
//! size, header (algorithm allow-list, no `crit`, `typ`), key choice by `kid`, signature, then the
//! claims (`iss`, tenant allow-list, `aud`/`azp`, `exp`/`nbf`/`iat` with bounded skew, `nonce`,
//! `auth_time`, `at_hash`/`c_hash`). Nothing from the payload is trusted before the signature
//! verifies.
//!
//! ```
//! use palisade_oauth::testing::TestIssuer;
//! use palisade_oauth::{Expectations, IdTokenVerifier, IssuerRule};
//! use time::OffsetDateTime;
//!
//! let op = TestIssuer::es256("https://op.example")?;
//! let now = OffsetDateTime::now_utc();
//! let token = op.id_token("my-app", "alice", Some("n-0S6"), now)?;
//! let verifier = IdTokenVerifier::new(IssuerRule::exact("https://op.example"), "my-app");
//! let ok = verifier.verify(&token, &op.key_set(), now, &Expectations::nonce("n-0S6"))?;
//! assert_eq!(ok.subject, "alice");
//! let other = IdTokenVerifier::new(IssuerRule::exact("https://op.example"), "other-app");
//! assert!(other.verify(&token, &op.key_set(), now, &Expectations::nonce("n-0S6")).is_err());
//! # Ok::<(), palisade_oauth::Error>(())
//! ```

use std::collections::BTreeMap;

use palisade_core::{ExternalIdentity, TenantId, ct_eq};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result, TokenRejection};
use crate::jose::{self, Algorithm, JwsHeader, KeyLookup, KeySet};

/// The default allowed clock skew.
pub const DEFAULT_SKEW: Duration = Duration::seconds(60);
/// The largest clock skew a verifier accepts in its configuration.
pub const MAX_SKEW: Duration = Duration::minutes(5);
/// The default largest token accepted, in bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Which `iss` values are acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum IssuerRule {
    /// Exactly one issuer (the usual case; compared byte for byte).
    Exact {
        /// The issuer.
        issuer: String,
    },
    /// One of several spellings of one issuer (Google issues `https://accounts.google.com` and
    /// `accounts.google.com`).
    OneOf {
        /// The issuers.
        issuers: Vec<String>,
    },
    /// A multi-tenant issuer such as Microsoft's `https://login.microsoftonline.com/{tenantid}/v2.0`:
    /// the token's `tid` claim must be on `allowed_tenants`, and `iss` must be the template with
    /// `{tenantid}` replaced by that `tid`.
    TenantTemplate {
        /// The template, containing `{tenantid}` once.
        template: String,
        /// Tenant ids (`tid`) allowed to sign in. Never empty.
        allowed_tenants: Vec<String>,
    },
}

impl IssuerRule {
    /// [`IssuerRule::Exact`].
    pub fn exact(issuer: impl Into<String>) -> Self {
        IssuerRule::Exact { issuer: issuer.into() }
    }

    /// The issuer to show or to match a discovery document against.
    pub fn display_issuer(&self) -> &str {
        match self {
            IssuerRule::Exact { issuer } => issuer,
            IssuerRule::OneOf { issuers } => issuers.first().map(String::as_str).unwrap_or_default(),
            IssuerRule::TenantTemplate { template, .. } => template,
        }
    }

    /// Every problem with the rule.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            IssuerRule::Exact { issuer } if issuer.is_empty() => out.push("issuer is empty".to_owned()),
            IssuerRule::OneOf { issuers } if issuers.is_empty() || issuers.iter().any(String::is_empty) => {
                out.push("issuers must be a non-empty list of non-empty issuers".to_owned())
            }
            IssuerRule::TenantTemplate { template, allowed_tenants } => {
                if template.matches("{tenantid}").count() != 1 {
                    out.push(format!("issuer template {template:?} must contain {{tenantid}} exactly once"));
                }
                if allowed_tenants.is_empty() {
                    out.push("allowed_tenants is empty: list the tenant ids that may sign in".to_owned());
                }
                if allowed_tenants.iter().any(|t| t.is_empty() || t.contains('/')) {
                    out.push("allowed_tenants contains an empty id or one with '/'".to_owned());
                }
            }
            _ => {}
        }
        out
    }

    fn check(&self, iss: &str, claims: &Map<String, Value>) -> std::result::Result<(), TokenRejection> {
        let wrong = |expected: &str| TokenRejection::WrongIssuer {
            expected: expected.to_owned(),
            found: iss.to_owned(),
        };
        match self {
            IssuerRule::Exact { issuer } if issuer == iss => Ok(()),
            IssuerRule::Exact { issuer } => Err(wrong(issuer)),
            IssuerRule::OneOf { issuers } if issuers.iter().any(|i| i == iss) => Ok(()),
            IssuerRule::OneOf { issuers } => Err(wrong(&issuers.join(" or "))),
            IssuerRule::TenantTemplate { template, allowed_tenants } => {
                let tid =
                    claims.get("tid").and_then(Value::as_str).ok_or(TokenRejection::MissingClaim("tid"))?;
                if !allowed_tenants.iter().any(|t| t.eq_ignore_ascii_case(tid)) {
                    return Err(TokenRejection::TenantNotAllowed(tid.to_owned()));
                }
                let expected = template.replace("{tenantid}", tid);
                if expected == iss { Ok(()) } else { Err(wrong(&expected)) }
            }
        }
    }
}

/// What one sign-in expects of its token beyond the static rules.
#[derive(Debug, Clone, Default)]
pub struct Expectations<'a> {
    /// The `nonce` sent with the authorization request. When set, the token must carry it.
    pub nonce: Option<&'a str>,
    /// The `max_age` sent with the authorization request: `auth_time` must be this recent.
    pub max_age: Option<Duration>,
    /// The access token issued with the ID token: checked against `at_hash` when present.
    pub access_token: Option<&'a str>,
    /// The authorization code (hybrid flow): checked against `c_hash` when present.
    pub code: Option<&'a str>,
}

impl<'a> Expectations<'a> {
    /// Expect this nonce.
    pub fn nonce(nonce: &'a str) -> Self {
        Expectations { nonce: Some(nonce), ..Default::default() }
    }
}

/// The rules a relying party applies to ID tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdTokenVerifier {
    /// Acceptable issuers.
    pub issuer: IssuerRule,
    /// The relying party's client id: must be in `aud`, and be `azp` when present.
    pub client_id: String,
    /// Other audiences the relying party trusts to appear beside its own (default none).
    #[serde(default)]
    pub trusted_audiences: Vec<String>,
    /// Allowed signature algorithms (default: all asymmetric ones this crate knows).
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<Algorithm>,
    /// Allowed clock skew, in seconds (default 60, at most 300).
    #[serde(default = "default_skew_secs")]
    pub skew_secs: i64,
    /// If set, tokens issued longer ago than this (seconds) are refused even if unexpired.
    #[serde(default)]
    pub max_token_age_secs: Option<i64>,
    /// Google Workspace: when non-empty, the `hd` claim must be one of these domains.
    #[serde(default)]
    pub allowed_hosted_domains: Vec<String>,
    /// The largest token accepted, in bytes.
    #[serde(default = "default_max_bytes")]
    pub max_token_bytes: usize,
}

fn default_algorithms() -> Vec<Algorithm> {
    Algorithm::ALL.to_vec()
}
fn default_skew_secs() -> i64 {
    DEFAULT_SKEW.whole_seconds()
}
fn default_max_bytes() -> usize {
    DEFAULT_MAX_TOKEN_BYTES
}

/// A verified ID token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifiedIdToken {
    /// The algorithm it was signed with.
    pub algorithm: Algorithm,
    /// The key id it named.
    pub kid: Option<String>,
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `aud`.
    pub audiences: Vec<String>,
    /// `exp`.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// `iat`.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// `auth_time`, if present.
    #[serde(with = "time::serde::rfc3339::option")]
    pub auth_time: Option<OffsetDateTime>,
    /// Every claim, as received.
    pub claims: BTreeMap<String, Value>,
}

impl IdTokenVerifier {
    /// A verifier for `client_id` with secure defaults.
    pub fn new(issuer: IssuerRule, client_id: impl Into<String>) -> Self {
        IdTokenVerifier {
            issuer,
            client_id: client_id.into(),
            trusted_audiences: Vec::new(),
            algorithms: default_algorithms(),
            skew_secs: default_skew_secs(),
            max_token_age_secs: None,
            allowed_hosted_domains: Vec::new(),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }

    /// Sets the allowed clock skew (at most [`MAX_SKEW`]; checked by [`Self::validate`]).
    pub fn with_skew(mut self, skew: Duration) -> Self {
        self.skew_secs = skew.whole_seconds();
        self
    }

    /// Restricts the algorithms.
    pub fn with_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Every problem with the configuration at once.
    pub fn validate(&self) -> Result<()> {
        let mut p = self.issuer.problems();
        if self.client_id.is_empty() {
            p.push("client_id is empty".to_owned());
        }
        if self.algorithms.is_empty() {
            p.push("algorithms is empty: allow at least one".to_owned());
        }
        if self.skew_secs < 0 || self.skew_secs > MAX_SKEW.whole_seconds() {
            p.push(format!("skew_secs is {}, allowed 0..={}", self.skew_secs, MAX_SKEW.whole_seconds()));
        }
        if matches!(self.max_token_age_secs, Some(a) if a <= 0) {
            p.push("max_token_age_secs must be positive".to_owned());
        }
        if self.max_token_bytes < 512 || self.max_token_bytes > 1024 * 1024 {
            p.push(format!("max_token_bytes is {}, allowed 512..=1048576", self.max_token_bytes));
        }
        if p.is_empty() { Ok(()) } else { Err(Error::Config(p)) }
    }

    /// Decodes the header only (to learn the `kid` before choosing keys). Applies the header
    /// rules; does not verify anything else.
    pub fn peek_header(&self, token: &str) -> std::result::Result<JwsHeader, TokenRejection> {
        jose::parse_compact(token.trim(), &self.algorithms, self.max_token_bytes).map(|c| c.header)
    }

    /// Verifies `token` with `keys` at time `now`.
    pub fn verify(
        &self,
        token: &str,
        keys: &KeySet,
        now: OffsetDateTime,
        expect: &Expectations<'_>,
    ) -> std::result::Result<VerifiedIdToken, TokenRejection> {
        self.verify_inner(token, keys, now, expect).map_err(|e| match e {
            KeyLookup::UnknownKid(k) => TokenRejection::UnknownKid(k),
            KeyLookup::Rejected(r) => r,
        })
    }

    pub(crate) fn verify_inner(
        &self,
        token: &str,
        keys: &KeySet,
        now: OffsetDateTime,
        expect: &Expectations<'_>,
    ) -> std::result::Result<VerifiedIdToken, KeyLookup> {
        let token = token.trim();
        let c = jose::parse_compact(token, &self.algorithms, self.max_token_bytes)
            .map_err(KeyLookup::Rejected)?;
        if let Some(typ) = &c.header.typ {
            let t = typ.to_ascii_lowercase();
            if t != "jwt" && t != "application/jwt" {
                return Err(KeyLookup::Rejected(TokenRejection::WrongType(typ.clone())));
            }
        }
        let key = keys.lookup(c.header.kid.as_deref(), c.header.alg)?;
        jose::verify_signature(&c, key).map_err(KeyLookup::Rejected)?;
        self.check_claims(&c.header, c.payload, now, expect).map_err(KeyLookup::Rejected)
    }

    fn check_claims(
        &self,
        header: &JwsHeader,
        claims: Map<String, Value>,
        now: OffsetDateTime,
        expect: &Expectations<'_>,
    ) -> std::result::Result<VerifiedIdToken, TokenRejection> {
        let skew = self.skew_secs.clamp(0, MAX_SKEW.whole_seconds());
        let now_s = now.unix_timestamp();
        let str_claim = |name: &'static str| -> std::result::Result<&str, TokenRejection> {
            claims.get(name).and_then(Value::as_str).ok_or(TokenRejection::MissingClaim(name))
        };
        let num_claim = |name: &'static str| -> std::result::Result<Option<i64>, TokenRejection> {
            match claims.get(name) {
                None => Ok(None),
                Some(v) => numeric_date(v).map(Some).ok_or(TokenRejection::MissingClaim(name)),
            }
        };

        // iss (and the tenant for multi-tenant issuers)
        let iss = str_claim("iss")?;
        self.issuer.check(iss, &claims)?;

        // sub
        let sub = str_claim("sub")?;
        if sub.is_empty() || sub.len() > 255 {
            return Err(TokenRejection::MissingClaim("sub"));
        }

        // aud / azp
        let audiences: Vec<String> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(i.as_str().ok_or(TokenRejection::MissingClaim("aud"))?.to_owned());
                }
                out
            }
            _ => return Err(TokenRejection::MissingClaim("aud")),
        };
        if !audiences.contains(&self.client_id) {
            return Err(TokenRejection::WrongAudience { expected: self.client_id.clone(), found: audiences });
        }
        let untrusted: Vec<String> = audiences
            .iter()
            .filter(|a| **a != self.client_id && !self.trusted_audiences.contains(a))
            .cloned()
            .collect();
        if !untrusted.is_empty() {
            return Err(TokenRejection::UntrustedAudience(untrusted));
        }
        let azp = match claims.get("azp") {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(TokenRejection::MissingClaim("azp")),
        };
        if (audiences.len() > 1 && azp.is_none()) || azp.is_some_and(|a| a != self.client_id) {
            return Err(TokenRejection::WrongAuthorizedParty {
                expected: self.client_id.clone(),
                found: azp.map(str::to_owned),
            });
        }

        // exp / nbf / iat
        let exp = num_claim("exp")?.ok_or(TokenRejection::MissingClaim("exp"))?;
        if now_s >= exp.saturating_add(skew) {
            return Err(TokenRejection::Expired { exp, now: now_s, skew_secs: skew });
        }
        if let Some(nbf) = num_claim("nbf")?
            && nbf > now_s.saturating_add(skew)
        {
            return Err(TokenRejection::NotYetValid { nbf, now: now_s });
        }
        let iat = num_claim("iat")?.ok_or(TokenRejection::MissingClaim("iat"))?;
        if iat > now_s.saturating_add(skew) {
            return Err(TokenRejection::BadIssuedAt { iat, now: now_s, why: "it is in the future" });
        }
        if let Some(max) = self.max_token_age_secs
            && now_s.saturating_sub(iat) > max.saturating_add(skew)
        {
            return Err(TokenRejection::BadIssuedAt { iat, now: now_s, why: "it is older than allowed" });
        }

        // nonce
        if let Some(expected) = expect.nonce {
            let got = claims.get("nonce").and_then(Value::as_str).ok_or(TokenRejection::NonceMismatch)?;
            if !ct_eq(got.as_bytes(), expected.as_bytes()) {
                return Err(TokenRejection::NonceMismatch);
            }
        }

        // auth_time
        let auth_time = num_claim("auth_time")?;
        if let Some(max_age) = expect.max_age {
            match auth_time {
                Some(at) if now_s.saturating_sub(at) <= max_age.whole_seconds().saturating_add(skew) => {}
                _ => return Err(TokenRejection::AuthTooOld { auth_time }),
            }
        }

        // Google Workspace hosted domain
        if !self.allowed_hosted_domains.is_empty() {
            let hd = claims.get("hd").and_then(Value::as_str);
            if !hd.is_some_and(|hd| self.allowed_hosted_domains.iter().any(|d| d.eq_ignore_ascii_case(hd))) {
                return Err(TokenRejection::HostedDomainNotAllowed(hd.map(str::to_owned)));
            }
        }

        // at_hash / c_hash
        for (claim, value) in [("at_hash", expect.access_token), ("c_hash", expect.code)] {
            if let (Some(v), Some(Value::String(h))) = (value, claims.get(claim))
                && !ct_eq(left_half_hash(header.alg, v).as_bytes(), h.as_bytes())
            {
                return Err(TokenRejection::HashMismatch(claim));
            }
        }

        let to_time = |s: i64, name: &'static str| {
            OffsetDateTime::from_unix_timestamp(s).map_err(|_| TokenRejection::MissingClaim(name))
        };
        Ok(VerifiedIdToken {
            algorithm: header.alg,
            kid: header.kid.clone(),
            issuer: iss.to_owned(),
            subject: sub.to_owned(),
            audiences,
            expires_at: to_time(exp, "exp")?,
            issued_at: to_time(iat, "iat")?,
            auth_time: auth_time.map(|a| to_time(a, "auth_time")).transpose()?,
            claims: claims.into_iter().collect(),
        })
    }
}

/// A NumericDate: a JSON number of seconds (fractions truncated), within a sane range.
fn numeric_date(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    let s = if let Some(i) = n.as_i64() {
        i
    } else {
        let f = n.as_f64()?;
        if !f.is_finite() {
            return None;
        }
        f.trunc() as i64
    };
    // Year 1970..=9999: anything else is garbage (and would overflow `time`).
    (0..=253_402_300_799).contains(&s).then_some(s)
}

/// `at_hash`/`c_hash`: base64url of the left half of the hash of the ASCII value.
pub(crate) fn left_half_hash(alg: Algorithm, value: &str) -> String {
    let d = aws_lc_rs::digest::digest(alg.hash_digest(), value.as_bytes());
    let bytes = d.as_ref();
    jose::b64e(bytes.get(..bytes.len() / 2).unwrap_or_default())
}

/// Which claims carry group or role names, for [`VerifiedIdToken::to_identity`].
pub const DEFAULT_GROUP_CLAIMS: &[&str] = &["groups", "roles"];

impl VerifiedIdToken {
    /// The shape hosts provision users from (the same as a SAML sign-in gives). Group names are
    /// collected from `group_claims` (strings or arrays of strings). Claims from userinfo, if
    /// any, should be merged into `claims` first.
    pub fn to_identity(&self, tenant: TenantId, group_claims: &[&str]) -> ExternalIdentity {
        let s = |name: &str| self.claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let email_verified = match self.claims.get("email_verified") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        };
        let mut groups = Vec::new();
        for g in group_claims {
            match self.claims.get(*g) {
                Some(Value::String(v)) => groups.push(v.clone()),
                Some(Value::Array(items)) => {
                    groups.extend(items.iter().filter_map(Value::as_str).map(str::to_owned))
                }
                _ => {}
            }
        }
        let mut attributes = BTreeMap::new();
        for (k, v) in &self.claims {
            let vals = match v {
                Value::Null => continue,
                Value::String(s) => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned).unwrap_or_else(|| i.to_string()))
                    .collect(),
                other => vec![other.to_string()],
            };
            attributes.insert(k.clone(), vals);
        }
        ExternalIdentity {
            tenant,
            provider: self.issuer.clone(),
            subject: self.subject.clone(),
            email: s("email"),
            email_verified,
            given_name: s("given_name"),
            family_name: s("family_name"),
            display_name: s("name"),
            groups,
            attributes,
            authenticated_at: self.auth_time,
        }
    }
}
