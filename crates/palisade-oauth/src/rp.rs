//! The OpenID Connect relying party: the authorization code flow with PKCE, `state` and `nonce`.
//!
//! 1. [`RelyingParty::begin`] makes a fresh `state`, `nonce` and PKCE verifier, records them in
//!    the [`LoginStore`] bound to the browser session (a hash of the host's session id), and
//!    returns the URL to redirect the browser to.
//! 2. [`RelyingParty::complete`] takes the callback's `state` out of the store (so it works once),
//!    checks it belongs to the same browser session and is fresh, exchanges the code with the
//!    PKCE verifier, verifies the ID token with the nonce, optionally reads userinfo, and returns
//!    the [`ExternalIdentity`] to provision.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use palisade_core::{ExternalIdentity, SecretString, TenantId, ct_eq};
use serde::Deserialize;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use url::Url;

use crate::discovery::{Provider, check_url};
use crate::error::{Error, Result, TokenRejection};
use crate::http::HttpRequest;
use crate::id_token::{DEFAULT_GROUP_CLAIMS, Expectations, IdTokenVerifier, VerifiedIdToken};
use crate::jose::UniqueObject;
use crate::pkce::{Pkce, random_token};
use crate::token_endpoint::{self, ClientAuthMethod, ClientCredentials};

/// A sign-in in progress, between the redirect to the provider and its callback.
pub struct PendingLogin {
    /// SHA-256 of the browser session id it was started in.
    pub session_hash: [u8; 32],
    /// The nonce sent.
    pub nonce: SecretString,
    /// The PKCE verifier.
    pub pkce_verifier: SecretString,
    /// When it started.
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin").field("created_at", &self.created_at).finish_non_exhaustive()
    }
}

/// Where pending sign-ins wait for their callback. `take` must remove atomically: a `state` is
/// good for one callback only.
#[async_trait]
pub trait LoginStore: Send + Sync + fmt::Debug {
    /// Records `login` under `state`.
    async fn put(&self, state: &str, login: PendingLogin) -> Result<()>;
    /// Removes and returns the login under `state`, if any.
    async fn take(&self, state: &str) -> Result<Option<PendingLogin>>;
}

/// An in-memory [`LoginStore`] with a bound on pending logins (oldest dropped first).
#[derive(Debug)]
pub struct MemoryLoginStore {
    inner: Mutex<HashMap<String, PendingLogin>>,
    capacity: usize,
}

impl MemoryLoginStore {
    /// A store holding at most `capacity` pending logins.
    pub fn new(capacity: usize) -> Self {
        MemoryLoginStore { inner: Mutex::new(HashMap::new()), capacity: capacity.max(1) }
    }
}

impl Default for MemoryLoginStore {
    fn default() -> Self {
        Self::new(100_000)
    }
}

#[async_trait]
impl LoginStore for MemoryLoginStore {
    async fn put(&self, state: &str, login: PendingLogin) -> Result<()> {
        let mut map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        while map.len() >= self.capacity {
            let oldest = map.iter().min_by_key(|(_, l)| l.created_at).map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(state.to_owned(), login);
        Ok(())
    }

    async fn take(&self, state: &str) -> Result<Option<PendingLogin>> {
        Ok(self.inner.lock().unwrap_or_else(PoisonError::into_inner).remove(state))
    }
}

/// The relying party's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelyingPartyConfig {
    /// The tenant whose users sign in through this configuration.
    pub tenant: TenantId,
    /// ID token rules (issuer, client id, algorithms, skew).
    pub verifier: IdTokenVerifier,
    /// The client secret (none for a public client).
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// How to authenticate at the token endpoint.
    #[serde(default)]
    pub client_auth: ClientAuthMethod,
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// Scopes (default `openid email profile`).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Ask the provider for re-authentication older than this (seconds): sends `max_age` and
    /// checks `auth_time`.
    #[serde(default)]
    pub max_age_secs: Option<i64>,
    /// Also read the userinfo endpoint and merge its claims.
    #[serde(default)]
    pub fetch_userinfo: bool,
    /// Claims that carry group or role names.
    #[serde(default = "default_group_claims")]
    pub group_claims: Vec<String>,
    /// How long a started sign-in may wait for its callback (seconds, default 600).
    #[serde(default = "default_login_ttl")]
    pub login_ttl_secs: i64,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into(), "profile".into()]
}
fn default_group_claims() -> Vec<String> {
    DEFAULT_GROUP_CLAIMS.iter().map(|s| (*s).to_owned()).collect()
}
fn default_login_ttl() -> i64 {
    600
}

impl RelyingPartyConfig {
    /// A configuration with secure defaults.
    pub fn new(tenant: TenantId, verifier: IdTokenVerifier, redirect_uri: impl Into<String>) -> Self {
        RelyingPartyConfig {
            tenant,
            verifier,
            client_secret: None,
            client_auth: ClientAuthMethod::None,
            redirect_uri: redirect_uri.into(),
            scopes: default_scopes(),
            max_age_secs: None,
            fetch_userinfo: false,
            group_claims: default_group_claims(),
            login_ttl_secs: default_login_ttl(),
        }
    }

    /// Every problem at once.
    pub fn validate(&self) -> Result<()> {
        let mut p = match self.verifier.validate() {
            Err(Error::Config(p)) => p,
            _ => Vec::new(),
        };
        if let Err(e) = check_url(&self.redirect_uri) {
            p.push(format!("redirect_uri: {e}"));
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            p.push("scopes must include \"openid\"".to_owned());
        }
        if self.client_secret.is_none() && self.client_auth != ClientAuthMethod::None {
            p.push("client_auth needs a client_secret (or use \"none\" for a public client)".to_owned());
        }
        if !(30..=3600).contains(&self.login_ttl_secs) {
            p.push(format!("login_ttl_secs is {}, allowed 30..=3600", self.login_ttl_secs));
        }
        if matches!(self.max_age_secs, Some(a) if a < 0) {
            p.push("max_age_secs must not be negative".to_owned());
        }
        if p.is_empty() { Ok(()) } else { Err(Error::Config(p)) }
    }
}

/// Where to send the browser.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The authorization URL.
    pub url: Url,
    /// The `state` in it (already recorded in the login store).
    pub state: String,
}

/// The query parameters of the redirect back from the provider.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    /// `code`.
    #[serde(default)]
    pub code: Option<String>,
    /// `state`.
    #[serde(default)]
    pub state: Option<String>,
    /// `error`, if the provider refused.
    #[serde(default)]
    pub error: Option<String>,
    /// `error_description`.
    #[serde(default)]
    pub error_description: Option<String>,
    /// RFC 9207 `iss`, if the provider sends it.
    #[serde(default)]
    pub iss: Option<String>,
}

impl Callback {
    /// Parses the query of a callback URL.
    pub fn from_url(url: &Url) -> Self {
        let mut c = Callback::default();
        for (k, v) in url.query_pairs() {
            let v = Some(v.into_owned());
            match k.as_ref() {
                "code" => c.code = v,
                "state" => c.state = v,
                "error" => c.error = v,
                "error_description" => c.error_description = v,
                "iss" => c.iss = v,
                _ => {}
            }
        }
        c
    }
}

/// A completed sign-in.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// Who signed in, ready for provisioning.
    pub identity: ExternalIdentity,
    /// The verified ID token (with userinfo claims merged, if fetched).
    pub id_token: VerifiedIdToken,
    /// The ID token as received (for `id_token_hint` at logout).
    pub raw_id_token: String,
}

/// An OpenID Connect relying party for one tenant and provider.
///
/// ```no_run
/// # async fn demo(rp: palisade_oauth::RelyingParty, callback_url: url::Url) -> palisade_oauth::Result<()> {
/// let session_id = "host-session-cookie-value";
/// let start = rp.begin(session_id).await?;
/// // redirect the browser to start.url; on the callback:
/// let signed_in = rp.complete(session_id, &palisade_oauth::Callback::from_url(&callback_url)).await?;
/// println!("{} ({:?})", signed_in.identity.subject, signed_in.identity.email);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RelyingParty {
    config: RelyingPartyConfig,
    provider: Arc<Provider>,
    logins: Arc<dyn LoginStore>,
}

pub(crate) fn session_hash(session: &str) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, session.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl RelyingParty {
    /// A relying party; the configuration is validated.
    pub fn new(
        config: RelyingPartyConfig,
        provider: Arc<Provider>,
        logins: Arc<dyn LoginStore>,
    ) -> Result<Self> {
        config.validate()?;
        Ok(RelyingParty { config, provider, logins })
    }

    /// The provider.
    pub fn provider(&self) -> &Arc<Provider> {
        &self.provider
    }

    /// Starts a sign-in for the browser session `browser_session` (the host's session id).
    pub async fn begin(&self, browser_session: &str) -> Result<AuthorizationRequest> {
        if browser_session.is_empty() {
            return Err(Error::Config(vec!["the browser session id is empty".into()]));
        }
        let meta = self.provider.metadata().await?;
        if !meta.code_challenge_methods_supported.is_empty()
            && !meta.code_challenge_methods_supported.iter().any(|m| m == "S256")
        {
            tracing::warn!(issuer = %meta.issuer, "provider does not list PKCE S256; sending it anyway");
        }
        let state = random_token()?;
        let nonce = random_token()?;
        let pkce = Pkce::generate()?;
        let mut url = check_url(&meta.authorization_endpoint)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.config.verifier.client_id)
                .append_pair("redirect_uri", &self.config.redirect_uri)
                .append_pair("scope", &self.config.scopes.join(" "))
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &pkce.challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(m) = self.config.max_age_secs {
                q.append_pair("max_age", &m.to_string());
            }
        }
        self.logins
            .put(
                &state,
                PendingLogin {
                    session_hash: session_hash(browser_session),
                    nonce: SecretString::new(nonce),
                    pkce_verifier: pkce.verifier,
                    created_at: self.provider.clock().now(),
                },
            )
            .await?;
        Ok(AuthorizationRequest { url, state })
    }

    /// Completes a sign-in from the provider's callback, in the browser session that began it.
    pub async fn complete(&self, browser_session: &str, callback: &Callback) -> Result<SignIn> {
        let state = callback.state.as_deref().ok_or_else(|| Error::Callback("no state parameter".into()))?;
        let pending = self
            .logins
            .take(state)
            .await?
            .ok_or_else(|| Error::Callback("unknown or already used state".into()))?;
        if !ct_eq(&pending.session_hash, &session_hash(browser_session)) {
            return Err(Error::Callback("the sign-in was started in another browser session".into()));
        }
        let now = self.provider.clock().now();
        if now - pending.created_at > Duration::seconds(self.config.login_ttl_secs) {
            return Err(Error::Callback("the sign-in took too long; start again".into()));
        }
        if let Some(err) = &callback.error {
            let desc = callback.error_description.as_deref().unwrap_or("");
            return Err(Error::Callback(
                format!("the provider returned {err:?} {desc}").trim_end().to_owned(),
            ));
        }
        let meta = self.provider.metadata().await?;
        if let Some(iss) = &callback.iss
            && *iss != meta.issuer
            && !meta.issuer.contains("{tenantid}")
        {
            return Err(Error::Callback(format!(
                "callback iss {iss:?} is not the provider {:?} (mix-up)",
                meta.issuer
            )));
        }
        let code = callback.code.as_deref().ok_or_else(|| Error::Callback("no code parameter".into()))?;
        let token_url = check_url(
            meta.token_endpoint
                .as_deref()
                .ok_or_else(|| Error::Config(vec!["the provider has no token_endpoint".into()]))?,
        )?;
        let creds = ClientCredentials {
            client_id: &self.config.verifier.client_id,
            secret: self.config.client_secret.as_ref(),
            method: self.config.client_auth,
        };
        let tokens = token_endpoint::request_tokens(
            self.provider.http(),
            &token_url,
            &creds,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.config.redirect_uri),
                ("code_verifier", pending.pkce_verifier.expose_secret()),
            ],
        )
        .await?;
        let id_token = tokens.id_token.as_deref().ok_or_else(|| Error::Protocol {
            endpoint: token_url.to_string(),
            reason: "the token response has no id_token (is the openid scope granted?)".into(),
        })?;
        let expect = Expectations {
            nonce: Some(pending.nonce.expose_secret()),
            max_age: self.config.max_age_secs.map(Duration::seconds),
            access_token: Some(tokens.access_token.expose_secret()),
            code: None,
        };
        let mut verified = self.provider.verify_id_token(&self.config.verifier, id_token, &expect).await?;
        if self.config.fetch_userinfo
            && let Some(ep) = &meta.userinfo_endpoint
        {
            self.merge_userinfo(ep, &tokens.access_token, &mut verified).await?;
        }
        let groups: Vec<&str> = self.config.group_claims.iter().map(String::as_str).collect();
        let identity = verified.to_identity(self.config.tenant.clone(), &groups);
        Ok(SignIn { identity, id_token: verified, raw_id_token: id_token.to_owned() })
    }

    async fn merge_userinfo(
        &self,
        endpoint: &str,
        access_token: &SecretString,
        verified: &mut VerifiedIdToken,
    ) -> Result<()> {
        let url = check_url(endpoint)?;
        let req = HttpRequest::get(url.clone())
            .header("authorization", format!("Bearer {}", access_token.expose_secret()));
        let resp = self.provider.http().send(req).await.map_err(|e| Error::Transient {
            endpoint: url.to_string(),
            reason: e.0,
            retry_after: Duration::seconds(2),
        })?;
        if resp.status != 200 {
            return Err(token_endpoint::classify_error(&url, &resp));
        }
        let is_json = resp.header("content-type").is_none_or(|c| c.to_ascii_lowercase().contains("json"));
        if !is_json {
            return Err(Error::Protocol {
                endpoint: url.to_string(),
                reason: "signed/encrypted userinfo is not supported".into(),
            });
        }
        let claims: UniqueObject = serde_json::from_slice(&resp.body).map_err(|e| Error::Protocol {
            endpoint: url.to_string(),
            reason: format!("not a JSON object: {e}"),
        })?;
        if claims.0.get("sub").and_then(Value::as_str) != Some(verified.subject.as_str()) {
            return Err(TokenRejection::UserinfoSubjectMismatch.into());
        }
        for (k, v) in claims.0 {
            verified.claims.entry(k).or_insert(v);
        }
        Ok(())
    }
}

/// A value for the `state` or `nonce` parameter (exposed for hosts building their own flows).
pub fn fresh_state() -> Result<String> {
    random_token()
}
