//! OpenID Provider discovery (OpenID Connect Discovery 1.0) and the provider's key set, cached.
//!
//! [`Provider`] fetches `{issuer}/.well-known/openid-configuration` and the `jwks_uri` it names,
//! checks that the document's `issuer` is the configured one (§4.3, against mix-up attacks), and
//! caches both for the lifetime the server's `Cache-Control: max-age` gives, bounded by
//! [`CachePolicy`]. A token signed with a key id the cache does not know triggers one key-set
//! refresh (for key rotation), at most once per [`CachePolicy::min_refresh_interval_secs`], so a
//! flood of tokens with made-up key ids cannot turn the relying party into a traffic amplifier
//! against the provider. Concurrent refreshes are collapsed into one request.

use std::sync::Arc;

use palisade_core::SharedClock;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};
use tokio::sync::{Mutex, RwLock};
use url::Url;

use crate::error::{Error, Result, TokenRejection};
use crate::http::{HttpClient, HttpRequest, HttpResponse};
use crate::id_token::{Expectations, IdTokenVerifier, VerifiedIdToken};
use crate::jose::{KeyLookup, KeySet};

/// A provider's configuration document (the members this crate uses; all others are kept in
/// `other`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderMetadata {
    /// The issuer identifier.
    pub issuer: String,
    /// The authorization endpoint.
    pub authorization_endpoint: String,
    /// The token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// The userinfo endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// The key set URL.
    pub jwks_uri: String,
    /// The RFC 7009 revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// RP-initiated logout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// Supported scopes.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// Supported response types.
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    /// ID token signing algorithms.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// PKCE methods.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// Client authentication methods at the token endpoint.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Every other member, as received.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The URL of the discovery document for `issuer`.
pub fn discovery_url(issuer: &str) -> Result<Url> {
    let base = issuer.trim_end_matches('/');
    check_url(&format!("{base}/.well-known/openid-configuration"))
}

/// Parses `url` and requires `https`, or `http` to a loopback host (for local providers).
pub fn check_url(url: &str) -> Result<Url> {
    let bad = |reason: &str| Error::BadUrl { url: url.to_owned(), reason: reason.to_owned() };
    let u = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    match u.scheme() {
        "https" => {}
        "http" if is_loopback(&u) => {}
        "http" => return Err(bad("plain http is only allowed to loopback addresses; use https")),
        _ => return Err(bad("the scheme must be https")),
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if u.fragment().is_some() {
        return Err(bad("a fragment is not allowed"));
    }
    Ok(u)
}

fn is_loopback(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

impl ProviderMetadata {
    /// Parses and checks a discovery document fetched from `url` for `expected_issuer`.
    pub fn from_json(bytes: &[u8], expected_issuer: &str, url: &str) -> Result<Self> {
        let bad = |reason: String| Error::Discovery { url: url.to_owned(), reason };
        let m: ProviderMetadata =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("not a discovery document: {e}")))?;
        if m.issuer != expected_issuer
            && m.issuer.trim_end_matches('/') != expected_issuer.trim_end_matches('/')
        {
            return Err(bad(format!(
                "its issuer {:?} is not the expected {expected_issuer:?} (possible mix-up attack)",
                m.issuer
            )));
        }
        let mut problems = Vec::new();
        for (name, v) in [
            ("authorization_endpoint", Some(&m.authorization_endpoint)),
            ("jwks_uri", Some(&m.jwks_uri)),
            ("token_endpoint", m.token_endpoint.as_ref()),
            ("userinfo_endpoint", m.userinfo_endpoint.as_ref()),
            ("revocation_endpoint", m.revocation_endpoint.as_ref()),
        ] {
            if let Some(v) = v
                && let Err(e) = check_url(v)
            {
                problems.push(format!("{name}: {e}"));
            }
        }
        if !problems.is_empty() {
            return Err(bad(problems.join("; ")));
        }
        Ok(m)
    }
}

/// How long discovery documents and key sets are cached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CachePolicy {
    /// Lifetime when the server gives none (seconds, default 3600).
    #[serde(default = "d_default_ttl")]
    pub default_ttl_secs: i64,
    /// Shortest lifetime, whatever the server says (default 300).
    #[serde(default = "d_min_ttl")]
    pub min_ttl_secs: i64,
    /// Longest lifetime, whatever the server says (default 86400).
    #[serde(default = "d_max_ttl")]
    pub max_ttl_secs: i64,
    /// Least time between two key-set refreshes caused by unknown key ids (default 30).
    #[serde(default = "d_min_refresh")]
    pub min_refresh_interval_secs: i64,
    /// How long an expired cache may still be used when the provider cannot be reached
    /// (default 86400; 0 = never).
    #[serde(default = "d_max_ttl")]
    pub max_stale_secs: i64,
}

fn d_default_ttl() -> i64 {
    3600
}
fn d_min_ttl() -> i64 {
    300
}
fn d_max_ttl() -> i64 {
    86400
}
fn d_min_refresh() -> i64 {
    30
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            default_ttl_secs: d_default_ttl(),
            min_ttl_secs: d_min_ttl(),
            max_ttl_secs: d_max_ttl(),
            min_refresh_interval_secs: d_min_refresh(),
            max_stale_secs: d_max_ttl(),
        }
    }
}

impl CachePolicy {
    /// Every problem at once.
    pub fn validate(&self) -> Result<()> {
        let mut p = Vec::new();
        if self.min_ttl_secs < 0 || self.min_ttl_secs > self.max_ttl_secs {
            p.push("need 0 <= min_ttl_secs <= max_ttl_secs".to_owned());
        }
        if !(self.min_ttl_secs..=self.max_ttl_secs).contains(&self.default_ttl_secs) {
            p.push("default_ttl_secs must lie between min_ttl_secs and max_ttl_secs".to_owned());
        }
        if self.min_refresh_interval_secs < 1 {
            p.push("min_refresh_interval_secs must be at least 1 (it protects the provider)".to_owned());
        }
        if self.max_stale_secs < 0 {
            p.push("max_stale_secs must not be negative".to_owned());
        }
        if p.is_empty() { Ok(()) } else { Err(Error::Config(p)) }
    }

    fn ttl(&self, resp: &HttpResponse) -> Duration {
        let mut secs = self.default_ttl_secs;
        if let Some(cc) = resp.header("cache-control") {
            for d in cc.split(',').map(str::trim) {
                let lower = d.to_ascii_lowercase();
                if lower == "no-store" || lower == "no-cache" {
                    secs = self.min_ttl_secs;
                } else if let Some(v) = lower.strip_prefix("max-age=")
                    && let Ok(n) = v.trim_matches('"').parse::<i64>()
                {
                    secs = n;
                }
            }
        }
        Duration::seconds(secs.clamp(self.min_ttl_secs, self.max_ttl_secs))
    }
}

#[derive(Debug, Clone)]
struct Cached<T> {
    value: Arc<T>,
    expires_at: OffsetDateTime,
}

/// A cached view of one OpenID Provider: its discovery document and key set.
///
/// ```no_run
/// # async fn demo(http: std::sync::Arc<dyn palisade_oauth::HttpClient>) -> palisade_oauth::Result<()> {
/// use std::sync::Arc;
/// use palisade_oauth::{CachePolicy, Expectations, IdTokenVerifier, IssuerRule, Provider};
///
/// let op = Provider::new("https://accounts.google.com", http, Arc::new(palisade_core::SystemClock), CachePolicy::default())?;
/// let verifier = IdTokenVerifier::new(IssuerRule::exact("https://accounts.google.com"), "my-client-id");
/// let token = "eyJ...";
/// let verified = op.verify_id_token(&verifier, token, &Expectations::nonce("n")).await?;
/// println!("{}", verified.subject);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Provider {
    issuer: String,
    discovery: Option<Url>,
    http: Arc<dyn HttpClient>,
    clock: SharedClock,
    policy: CachePolicy,
    metadata: RwLock<Option<Cached<ProviderMetadata>>>,
    keys: RwLock<Option<Cached<KeySet>>>,
    /// Serializes key-set fetches; holds the time of the last unknown-kid refresh.
    refresh: Mutex<Option<OffsetDateTime>>,
    fixed_keys: bool,
}

impl Provider {
    /// A provider for `issuer` (as it appears in its discovery document; for Microsoft's
    /// multi-tenant endpoints the `{tenantid}` template).
    pub fn new(
        issuer: &str,
        http: Arc<dyn HttpClient>,
        clock: SharedClock,
        policy: CachePolicy,
    ) -> Result<Self> {
        Self::with_discovery_base(issuer, issuer, http, clock, policy)
    }

    /// A provider whose discovery document lives under `discovery_base` but names `issuer`
    /// (Microsoft's `common`/`organizations` endpoints name the `{tenantid}` template).
    pub fn with_discovery_base(
        issuer: &str,
        discovery_base: &str,
        http: Arc<dyn HttpClient>,
        clock: SharedClock,
        policy: CachePolicy,
    ) -> Result<Self> {
        policy.validate()?;
        let discovery = discovery_url(discovery_base)?;
        Ok(Provider {
            issuer: issuer.to_owned(),
            discovery: Some(discovery),
            http,
            clock,
            policy,
            metadata: RwLock::new(None),
            keys: RwLock::new(None),
            refresh: Mutex::new(None),
            fixed_keys: false,
        })
    }

    /// A provider whose keys are given (no discovery, no key fetching): for offline
    /// verification, e.g. `palisade oidc verify-id-token --jwks FILE`.
    pub fn with_static_keys(
        issuer: &str,
        keys: KeySet,
        http: Arc<dyn HttpClient>,
        clock: SharedClock,
    ) -> Self {
        Provider {
            issuer: issuer.to_owned(),
            discovery: None,
            http,
            clock,
            policy: CachePolicy::default(),
            metadata: RwLock::new(None),
            keys: RwLock::new(Some(Cached {
                value: Arc::new(keys),
                expires_at: OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT),
            })),
            refresh: Mutex::new(None),
            fixed_keys: true,
        }
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The HTTP client.
    pub fn http(&self) -> &Arc<dyn HttpClient> {
        &self.http
    }

    async fn fetch(&self, url: Url) -> Result<HttpResponse> {
        let endpoint = url.to_string();
        let resp = self.http.send(HttpRequest::get(url)).await.map_err(|e| Error::Transient {
            endpoint: endpoint.clone(),
            reason: e.0,
            retry_after: Duration::seconds(5),
        })?;
        match resp.status {
            200 => Ok(resp),
            429 | 500..=599 => Err(Error::Transient {
                endpoint,
                reason: format!("HTTP {}", resp.status),
                retry_after: retry_after(&resp).unwrap_or(Duration::seconds(5)),
            }),
            s => Err(Error::Protocol { endpoint, reason: format!("HTTP {s}") }),
        }
    }

    /// The discovery document (cached).
    pub async fn metadata(&self) -> Result<Arc<ProviderMetadata>> {
        let now = self.clock.now();
        if let Some(c) = self.metadata.read().await.as_ref()
            && c.expires_at > now
        {
            return Ok(c.value.clone());
        }
        let Some(url) = self.discovery.clone() else {
            return Err(Error::Config(vec![
                "this provider was built with static keys and has no discovery document".into(),
            ]));
        };
        let fetched = match self.fetch(url.clone()).await {
            Ok(resp) => ProviderMetadata::from_json(&resp.body, &self.issuer, url.as_str())
                .map(|m| (m, self.policy.ttl(&resp))),
            Err(e) => Err(e),
        };
        let mut slot = self.metadata.write().await;
        match fetched {
            Ok((m, ttl)) => {
                let value = Arc::new(m);
                *slot = Some(Cached { value: value.clone(), expires_at: now + ttl });
                Ok(value)
            }
            Err(e) if e.is_transient() => match slot.as_ref() {
                Some(c) if c.expires_at + Duration::seconds(self.policy.max_stale_secs) > now => {
                    tracing::warn!(issuer = %self.issuer, error = %e, "using a stale discovery document");
                    Ok(c.value.clone())
                }
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// The key set (cached).
    pub async fn keys(&self) -> Result<Arc<KeySet>> {
        let now = self.clock.now();
        if let Some(c) = self.keys.read().await.as_ref()
            && (c.expires_at > now || self.fixed_keys)
        {
            return Ok(c.value.clone());
        }
        let _guard = self.refresh.lock().await;
        // Someone else may have refreshed while we waited.
        if let Some(c) = self.keys.read().await.as_ref()
            && c.expires_at > now
        {
            return Ok(c.value.clone());
        }
        match self.fetch_keys().await {
            Ok(k) => Ok(k),
            Err(e) if e.is_transient() => match self.keys.read().await.as_ref() {
                Some(c) if c.expires_at + Duration::seconds(self.policy.max_stale_secs) > now => {
                    tracing::warn!(issuer = %self.issuer, error = %e, "using a stale key set");
                    Ok(c.value.clone())
                }
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    async fn fetch_keys(&self) -> Result<Arc<KeySet>> {
        let meta = self.metadata().await?;
        let url = check_url(&meta.jwks_uri)?;
        let resp = self.fetch(url).await?;
        let ttl = self.policy.ttl(&resp);
        let set = Arc::new(KeySet::from_json(&resp.body)?);
        for s in set.skipped() {
            tracing::debug!(issuer = %self.issuer, skipped = %s, "key not loaded");
        }
        *self.keys.write().await = Some(Cached { value: set.clone(), expires_at: self.clock.now() + ttl });
        Ok(set)
    }

    /// Refreshes the key set because a token named `kid`, unless that was done less than
    /// `min_refresh_interval_secs` ago. Returns the (possibly new) key set.
    async fn refresh_for_unknown_kid(&self, kid: &str) -> Result<Arc<KeySet>> {
        let mut last = self.refresh.lock().await;
        let now = self.clock.now();
        if let Some(c) = self.keys.read().await.as_ref()
            && (c.value.contains_kid(kid) || self.fixed_keys)
        {
            return Ok(c.value.clone());
        }
        if let Some(at) = *last
            && now - at < Duration::seconds(self.policy.min_refresh_interval_secs)
        {
            tracing::debug!(issuer = %self.issuer, kid, "unknown kid; key-set refresh rate-limited");
            return Err(TokenRejection::UnknownKid(kid.to_owned()).into());
        }
        *last = Some(now);
        self.fetch_keys().await
    }

    /// Verifies an ID token with this provider's keys, refreshing them once (rate-limited) if
    /// the token names an unknown key id.
    pub async fn verify_id_token(
        &self,
        verifier: &IdTokenVerifier,
        token: &str,
        expect: &Expectations<'_>,
    ) -> Result<VerifiedIdToken> {
        let keys = self.keys().await?;
        match verifier.verify_inner(token, &keys, self.clock.now(), expect) {
            Ok(v) => Ok(v),
            Err(KeyLookup::Rejected(r)) => Err(r.into()),
            Err(KeyLookup::UnknownKid(kid)) => {
                let keys = self.refresh_for_unknown_kid(&kid).await?;
                verifier.verify(token, &keys, self.clock.now(), expect).map_err(Error::from)
            }
        }
    }
}

pub(crate) fn retry_after(resp: &HttpResponse) -> Option<Duration> {
    resp.header("retry-after")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|s| Duration::seconds(s.clamp(1, 3600)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex as StdMutex;

    use async_trait::async_trait;
    use palisade_core::{Clock, ManualClock};
    use time::macros::datetime;

    use super::*;
    use crate::http::HttpError;
    use crate::testing::TestIssuer;

    const ISS: &str = "https://op.example";

    #[derive(Debug, Default)]
    struct Scripted {
        routes: StdMutex<HashMap<String, (u16, String, String)>>,
        hits: StdMutex<HashMap<String, usize>>,
    }

    impl Scripted {
        fn set(&self, url: &str, status: u16, cache: &str, body: String) {
            self.routes.lock().unwrap().insert(url.to_owned(), (status, cache.to_owned(), body));
        }
        fn hits(&self, url: &str) -> usize {
            self.hits.lock().unwrap().get(url).copied().unwrap_or(0)
        }
    }

    #[async_trait]
    impl HttpClient for Scripted {
        async fn send(&self, r: HttpRequest) -> std::result::Result<HttpResponse, HttpError> {
            *self.hits.lock().unwrap().entry(r.url.to_string()).or_default() += 1;
            match self.routes.lock().unwrap().get(r.url.as_str()) {
                Some((status, cache, body)) => Ok(HttpResponse {
                    status: *status,
                    headers: vec![("cache-control".into(), cache.clone())],
                    body: body.clone().into_bytes(),
                }),
                None => Err(HttpError("connection refused".into())),
            }
        }
    }

    const DISCO: &str = "https://op.example/.well-known/openid-configuration";
    const JWKS: &str = "https://op.example/jwks";

    fn doc(issuer: &str) -> String {
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": "https://op.example/auth",
            "token_endpoint": "https://op.example/token",
            "jwks_uri": JWKS,
        })
        .to_string()
    }

    fn setup() -> (Arc<Scripted>, ManualClock, Provider) {
        let http = Arc::new(Scripted::default());
        let clock = ManualClock::new(datetime!(2026-05-01 12:00 UTC));
        let p = Provider::new(ISS, http.clone(), Arc::new(clock.clone()), CachePolicy::default()).unwrap();
        (http, clock, p)
    }

    #[tokio::test]
    async fn caches_for_max_age_then_refetches_and_serves_stale_when_down() {
        let (http, clock, p) = setup();
        http.set(DISCO, 200, "public, max-age=600", doc(ISS));
        p.metadata().await.unwrap();
        p.metadata().await.unwrap();
        assert_eq!(http.hits(DISCO), 1);
        clock.advance(Duration::seconds(601));
        p.metadata().await.unwrap();
        assert_eq!(http.hits(DISCO), 2);
        // Provider down after expiry: the stale document is used.
        http.set(DISCO, 503, "", String::new());
        clock.advance(Duration::seconds(601));
        assert!(p.metadata().await.is_ok());
        // A non-transient failure is not papered over.
        http.set(DISCO, 404, "", String::new());
        assert!(matches!(p.metadata().await, Err(Error::Protocol { .. })));
    }

    #[tokio::test]
    async fn issuer_mismatch_and_insecure_endpoints_are_refused() {
        let (http, _, p) = setup();
        http.set(DISCO, 200, "", doc("https://evil.example"));
        assert!(matches!(p.metadata().await, Err(Error::Discovery { .. })));
        let (http, _, p) = setup();
        let mut d: serde_json::Value = serde_json::from_str(&doc(ISS)).unwrap();
        d["token_endpoint"] = "http://op.example/token".into();
        http.set(DISCO, 200, "", d.to_string());
        assert!(matches!(p.metadata().await, Err(Error::Discovery { .. })));
        assert!(check_url("http://127.0.0.1:8080/x").is_ok());
        assert!(check_url("http://[::1]/x").is_ok());
        assert!(check_url("http://10.0.0.1/x").is_err());
        assert!(check_url("ftp://op.example/").is_err());
    }

    #[tokio::test]
    async fn unknown_kid_refreshes_at_most_once_per_interval() {
        let (http, clock, p) = setup();
        let old = TestIssuer::es256(ISS).unwrap();
        let new = TestIssuer::es256(ISS).unwrap();
        http.set(DISCO, 200, "max-age=3600", doc(ISS));
        http.set(JWKS, 200, "max-age=3600", old.jwks_json());
        let v = IdTokenVerifier::new(crate::IssuerRule::exact(ISS), "app");
        let t_old = old.id_token("app", "u", None, clock.now()).unwrap();
        p.verify_id_token(&v, &t_old, &Expectations::default()).await.unwrap();
        assert_eq!(http.hits(JWKS), 1);

        // Rotation: the new key is published; a token with its kid triggers one refresh.
        http.set(JWKS, 200, "max-age=3600", new.jwks_json());
        let t_new = new.id_token("app", "u", None, clock.now()).unwrap();
        p.verify_id_token(&v, &t_new, &Expectations::default()).await.unwrap();
        assert_eq!(http.hits(JWKS), 2);

        // Made-up kids: no further fetch within the interval.
        let rogue = TestIssuer::es256(ISS).unwrap();
        let t_rogue = rogue.id_token("app", "u", None, clock.now()).unwrap();
        for _ in 0..5 {
            assert!(matches!(
                p.verify_id_token(&v, &t_rogue, &Expectations::default()).await,
                Err(Error::Token(TokenRejection::UnknownKid(_)))
            ));
        }
        assert_eq!(http.hits(JWKS), 2);
        clock.advance(Duration::seconds(31));
        assert!(p.verify_id_token(&v, &t_rogue, &Expectations::default()).await.is_err());
        assert_eq!(http.hits(JWKS), 3);
    }

    #[test]
    fn cache_policy_validation_lists_every_problem() {
        let bad = CachePolicy {
            default_ttl_secs: 10,
            min_ttl_secs: 100,
            max_ttl_secs: 50,
            min_refresh_interval_secs: 0,
            max_stale_secs: -1,
        };
        match bad.validate() {
            Err(Error::Config(p)) => assert_eq!(p.len(), 4),
            other => panic!("{other:?}"),
        }
    }
}
