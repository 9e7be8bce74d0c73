//! OAuth2 connections: the host's recipes call remote systems with tokens the user granted,
//! never with a stored password.
//!
//! * [`OAuthProfile`]: an OAuth client registration (client id, sealed client secret, endpoints,
//!   scopes, redirect URI). A tenant may register its own ("custom OAuth profile", for branding
//!   and scopes); otherwise the platform's default profile for that provider is used
//!   ([`ProfileRegistry::resolve`]).
//! * [`ConnectionManager`]: connect (authorization code + PKCE), keep tokens sealed per tenant and
//!   connection in a [`TokenStore`], hand out access tokens and refresh them before they expire —
//!   one refresh per connection however many jobs ask at once — take rotated refresh tokens, and
//!   revoke (RFC 7009) on disconnect. [`Error::ReconnectRequired`] means the user must connect
//!   again; [`Error::is_transient`] errors mean retry later with back-off.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex as StdMutex, PoisonError, RwLock};

use palisade_core::{SealContext, SealedSecret, SecretSealer, SecretString, SharedClock, TenantId, ct_eq};
use serde::{Deserialize, Serialize};
use time::Duration;
use tokio::sync::Mutex;
use zeroize::Zeroizing;

use crate::discovery::check_url;
use crate::error::{Error, Result};
use crate::http::HttpClient;
use crate::pkce::{Pkce, random_token};
use crate::rp::{AuthorizationRequest, Callback, LoginStore, PendingLogin};
use crate::store::{StoredTokens, TokenStore};
use crate::token_endpoint::{self, ClientAuthMethod, ClientCredentials, TokenResponse};

/// Seal purpose of client secrets.
pub const CLIENT_SECRET_PURPOSE: &str = "oauth-client-secret";
/// Seal purpose of connection tokens.
pub const TOKENS_PURPOSE: &str = "oauth-tokens";
/// The tenant id under which platform-owned secrets are sealed.
pub const PLATFORM_TENANT: &str = "palisade-platform";

/// Who registered an OAuth profile.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileOwner {
    /// The platform's default for a provider.
    Platform,
    /// A tenant's custom OAuth application.
    Tenant(TenantId),
}

impl ProfileOwner {
    fn seal_tenant(&self) -> Result<TenantId> {
        match self {
            ProfileOwner::Platform => PLATFORM_TENANT
                .parse()
                .map_err(|e: palisade_core::IdError| Error::Config(vec![e.to_string()])),
            ProfileOwner::Tenant(t) => Ok(t.clone()),
        }
    }
}

/// Endpoints and settings of an OAuth client registration (no secret: see [`OAuthProfile`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSettings {
    /// A stable id for the profile (tokens remember which profile issued them).
    pub id: String,
    /// The provider it is for, e.g. `salesforce`, `google-drive`.
    pub provider: String,
    /// The client id.
    pub client_id: String,
    /// The authorization endpoint.
    pub authorization_endpoint: String,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The RFC 7009 revocation endpoint, if the provider has one.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// Scopes to request.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The redirect URI registered with the provider.
    pub redirect_uri: String,
    /// Client authentication at the token endpoint.
    #[serde(default)]
    pub client_auth: ClientAuthMethod,
    /// Extra authorization request parameters (e.g. `access_type=offline`, `prompt=consent`).
    #[serde(default)]
    pub extra_authorize_params: Vec<(String, String)>,
}

impl ProfileSettings {
    /// Every problem at once.
    pub fn validate(&self) -> Result<()> {
        let mut p = Vec::new();
        if self.id.is_empty() {
            p.push("id is empty".to_owned());
        }
        if self.provider.is_empty() {
            p.push("provider is empty".to_owned());
        }
        if self.client_id.is_empty() {
            p.push("client_id is empty".to_owned());
        }
        for (name, u) in [
            ("authorization_endpoint", Some(&self.authorization_endpoint)),
            ("token_endpoint", Some(&self.token_endpoint)),
            ("revocation_endpoint", self.revocation_endpoint.as_ref()),
            ("redirect_uri", Some(&self.redirect_uri)),
        ] {
            if let Some(u) = u
                && let Err(e) = check_url(u)
            {
                p.push(format!("{name}: {e}"));
            }
        }
        if p.is_empty() { Ok(()) } else { Err(Error::Config(p)) }
    }
}

/// An OAuth client registration with its secret sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthProfile {
    /// Who registered it.
    pub owner: ProfileOwner,
    /// Endpoints and settings.
    pub settings: ProfileSettings,
    /// The client secret, sealed for (owner tenant, `oauth-client-secret`, profile id).
    pub client_secret: Option<SealedSecret>,
}

impl OAuthProfile {
    /// Validates `settings` and seals `client_secret` with `sealer`.
    pub async fn seal(
        owner: ProfileOwner,
        settings: ProfileSettings,
        client_secret: Option<&SecretString>,
        sealer: &dyn SecretSealer,
    ) -> Result<Self> {
        settings.validate()?;
        if client_secret.is_none() && settings.client_auth != ClientAuthMethod::None {
            return Err(Error::Config(vec!["client_auth needs a client secret (or use \"none\")".into()]));
        }
        let ctx = SealContext::new(owner.seal_tenant()?, CLIENT_SECRET_PURPOSE, settings.id.clone());
        let sealed = match client_secret {
            Some(s) => Some(sealer.seal(&ctx, s.expose_secret().as_bytes()).await?),
            None => None,
        };
        Ok(OAuthProfile { owner, settings, client_secret: sealed })
    }

    async fn open_secret(&self, sealer: &dyn SecretSealer) -> Result<Option<SecretString>> {
        let Some(sealed) = &self.client_secret else { return Ok(None) };
        let ctx =
            SealContext::new(self.owner.seal_tenant()?, CLIENT_SECRET_PURPOSE, self.settings.id.clone());
        let bytes = sealer.open(&ctx, sealed).await?;
        let s = std::str::from_utf8(bytes.expose_secret())
            .map_err(|_| Error::Config(vec!["the sealed client secret is not UTF-8".into()]))?;
        Ok(Some(SecretString::new(s.to_owned())))
    }
}

/// The OAuth profiles known to the host: platform defaults per provider, and tenants' own.
#[derive(Debug, Default)]
pub struct ProfileRegistry {
    profiles: RwLock<HashMap<String, OAuthProfile>>,
}

impl ProfileRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a profile (by id).
    pub fn insert(&self, profile: OAuthProfile) {
        self.profiles
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(profile.settings.id.clone(), profile);
    }

    /// Removes a profile.
    pub fn remove(&self, id: &str) -> Option<OAuthProfile> {
        self.profiles.write().unwrap_or_else(PoisonError::into_inner).remove(id)
    }

    /// The profile `tenant` uses for `provider`: its own if it registered one, else the
    /// platform default.
    pub fn resolve(&self, tenant: &TenantId, provider: &str) -> Result<OAuthProfile> {
        let map = self.profiles.read().unwrap_or_else(PoisonError::into_inner);
        let mine = map
            .values()
            .find(|p| p.settings.provider == provider && p.owner == ProfileOwner::Tenant(tenant.clone()));
        let platform =
            || map.values().find(|p| p.settings.provider == provider && p.owner == ProfileOwner::Platform);
        mine.or_else(platform).cloned().ok_or_else(|| Error::NoProfile {
            tenant: tenant.as_str().to_owned(),
            provider: provider.to_owned(),
        })
    }

    /// The profile `id`, if `tenant` may use it (its own or a platform profile).
    pub fn get_for(&self, tenant: &TenantId, id: &str) -> Result<OAuthProfile> {
        let map = self.profiles.read().unwrap_or_else(PoisonError::into_inner);
        map.get(id)
            .filter(|p| p.owner == ProfileOwner::Platform || p.owner == ProfileOwner::Tenant(tenant.clone()))
            .cloned()
            .ok_or_else(|| Error::NoProfile {
                tenant: tenant.as_str().to_owned(),
                provider: format!("profile {id}"),
            })
    }
}

/// A connection's tokens, opened. Never logged.
#[derive(Serialize, Deserialize)]
struct TokenPair {
    #[serde(rename = "a")]
    access: String,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    refresh: Option<String>,
}

impl Drop for TokenPair {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.access.zeroize();
        if let Some(r) = &mut self.refresh {
            r.zeroize();
        }
    }
}

/// A usable access token for a connection.
pub struct AccessToken {
    /// The bearer token.
    pub token: SecretString,
    /// When it expires, if known.
    pub expires_at: Option<time::OffsetDateTime>,
    /// Granted scopes.
    pub scope: Option<String>,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// What happened on disconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disconnected {
    /// Tokens revoked at the provider and deleted.
    Revoked,
    /// The profile has no revocation endpoint: tokens deleted locally only.
    DeletedOnly,
    /// There was nothing to disconnect.
    NotConnected,
}

/// One lock per (tenant, connection): the single-flight of refreshes.
type RefreshLocks = HashMap<(TenantId, String), Arc<Mutex<()>>>;

/// Runs the token lifecycle of OAuth2 connections.
pub struct ConnectionManager {
    http: Arc<dyn HttpClient>,
    clock: SharedClock,
    sealer: Arc<dyn SecretSealer>,
    store: Arc<dyn TokenStore>,
    profiles: Arc<ProfileRegistry>,
    pending: Arc<dyn LoginStore>,
    refresh_margin: Duration,
    locks: StdMutex<RefreshLocks>,
}

impl fmt::Debug for ConnectionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionManager")
            .field("refresh_margin", &self.refresh_margin)
            .finish_non_exhaustive()
    }
}

fn binding(browser_session: &str, tenant: &TenantId, connection: &str, provider: &str) -> String {
    format!("{}\u{0}{}\u{0}{}\u{0}{}", browser_session, tenant.as_str(), connection, provider)
}

impl ConnectionManager {
    /// A manager. Access tokens are refreshed when they expire within 60 seconds.
    pub fn new(
        http: Arc<dyn HttpClient>,
        clock: SharedClock,
        sealer: Arc<dyn SecretSealer>,
        store: Arc<dyn TokenStore>,
        profiles: Arc<ProfileRegistry>,
        pending: Arc<dyn LoginStore>,
    ) -> Self {
        ConnectionManager {
            http,
            clock,
            sealer,
            store,
            profiles,
            pending,
            refresh_margin: Duration::seconds(60),
            locks: StdMutex::new(HashMap::new()),
        }
    }

    /// Sets how long before expiry an access token is refreshed.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Starts connecting `connection` of `tenant` to `provider`: the URL to send the user to.
    pub async fn begin_connect(
        &self,
        tenant: &TenantId,
        connection: &str,
        provider: &str,
        browser_session: &str,
    ) -> Result<AuthorizationRequest> {
        let profile = self.profiles.resolve(tenant, provider)?;
        let s = &profile.settings;
        let state = random_token()?;
        let pkce = Pkce::generate()?;
        let mut url = check_url(&s.authorization_endpoint)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &s.client_id)
                .append_pair("redirect_uri", &s.redirect_uri)
                .append_pair("state", &state)
                .append_pair("code_challenge", &pkce.challenge)
                .append_pair("code_challenge_method", "S256");
            if !s.scopes.is_empty() {
                q.append_pair("scope", &s.scopes.join(" "));
            }
            for (k, v) in &s.extra_authorize_params {
                q.append_pair(k, v);
            }
        }
        let login = PendingLogin {
            session_hash: crate::rp::session_hash(&binding(browser_session, tenant, connection, provider)),
            nonce: SecretString::new(profile.settings.id.clone()),
            pkce_verifier: pkce.verifier,
            created_at: self.clock.now(),
        };
        self.pending.put(&state, login).await?;
        Ok(AuthorizationRequest { url, state })
    }

    /// Finishes connecting: checks the callback belongs to this browser session and connection,
    /// exchanges the code, and stores the tokens sealed (replacing earlier ones).
    pub async fn complete_connect(
        &self,
        tenant: &TenantId,
        connection: &str,
        provider: &str,
        browser_session: &str,
        callback: &Callback,
    ) -> Result<AccessToken> {
        let state = callback.state.as_deref().ok_or_else(|| Error::Callback("no state parameter".into()))?;
        let pending = self
            .pending
            .take(state)
            .await?
            .ok_or_else(|| Error::Callback("unknown or already used state".into()))?;
        if !ct_eq(
            &pending.session_hash,
            &crate::rp::session_hash(&binding(browser_session, tenant, connection, provider)),
        ) {
            return Err(Error::Callback(
                "the connection was started in another session or for another connection".into(),
            ));
        }
        if self.clock.now() - pending.created_at > Duration::minutes(10) {
            return Err(Error::Callback("the connection flow took too long; start again".into()));
        }
        if let Some(err) = &callback.error {
            return Err(Error::Callback(format!("the provider returned {err:?}")));
        }
        let code = callback.code.as_deref().ok_or_else(|| Error::Callback("no code parameter".into()))?;
        let profile = self.profiles.get_for(tenant, pending.nonce.expose_secret())?;
        let secret = profile.open_secret(self.sealer.as_ref()).await?;
        let s = &profile.settings;
        let creds =
            ClientCredentials { client_id: &s.client_id, secret: secret.as_ref(), method: s.client_auth };
        let token_url = check_url(&s.token_endpoint)?;
        let resp = token_endpoint::request_tokens(
            &self.http,
            &token_url,
            &creds,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &s.redirect_uri),
                ("code_verifier", pending.pkce_verifier.expose_secret()),
            ],
        )
        .await?;
        let current = self.store.get(tenant, connection).await?;
        let version = current.as_ref().map(|c| c.version);
        self.save(tenant, connection, &profile, resp, None, version).await
    }

    async fn save(
        &self,
        tenant: &TenantId,
        connection: &str,
        profile: &OAuthProfile,
        resp: TokenResponse,
        previous_refresh: Option<String>,
        expected_version: Option<u64>,
    ) -> Result<AccessToken> {
        let now = self.clock.now();
        let refresh = resp.refresh_token.as_ref().map(|r| r.expose_secret().to_owned()).or(previous_refresh);
        let pair = TokenPair { access: resp.access_token.expose_secret().to_owned(), refresh };
        let plain = Zeroizing::new(serde_json::to_vec(&pair).map_err(|e| Error::Store(e.to_string()))?);
        let ctx = SealContext::new(tenant.clone(), TOKENS_PURPOSE, connection);
        let sealed = self.sealer.seal(&ctx, &plain).await?;
        let expires_at = resp.expires_in.map(|s| now + Duration::seconds(s));
        let stored = StoredTokens {
            profile_id: profile.settings.id.clone(),
            sealed,
            expires_at,
            has_refresh_token: pair.refresh.is_some(),
            scope: resp.scope.clone(),
            version: expected_version.map_or(1, |v| v.saturating_add(1)),
            updated_at: now,
        };
        self.store.put(tenant, connection, stored, expected_version).await?;
        Ok(AccessToken { token: resp.access_token, expires_at, scope: resp.scope })
    }

    async fn open(&self, tenant: &TenantId, connection: &str, stored: &StoredTokens) -> Result<TokenPair> {
        let ctx = SealContext::new(tenant.clone(), TOKENS_PURPOSE, connection);
        let bytes = self.sealer.open(&ctx, &stored.sealed).await?;
        serde_json::from_slice(bytes.expose_secret())
            .map_err(|_| Error::Store("sealed tokens are not in the expected format".into()))
    }

    fn is_fresh(&self, stored: &StoredTokens) -> bool {
        stored.expires_at.is_none_or(|e| e - self.refresh_margin > self.clock.now())
    }

    /// An access token for the connection, refreshed first if it expires within the margin.
    /// Concurrent callers for one connection share one refresh.
    pub async fn access_token(&self, tenant: &TenantId, connection: &str) -> Result<AccessToken> {
        let stored = self
            .store
            .get(tenant, connection)
            .await?
            .ok_or_else(|| Error::NotConnected(connection.to_owned()))?;
        if self.is_fresh(&stored) {
            let pair = self.open(tenant, connection, &stored).await?;
            return Ok(AccessToken {
                token: SecretString::new(pair.access.clone()),
                expires_at: stored.expires_at,
                scope: stored.scope.clone(),
            });
        }
        self.refresh_inner(tenant, connection, false).await
    }

    /// Refreshes now, whatever the expiry (e.g. after the remote API answered 401).
    pub async fn refresh(&self, tenant: &TenantId, connection: &str) -> Result<AccessToken> {
        self.refresh_inner(tenant, connection, true).await
    }

    fn lock_for(&self, tenant: &TenantId, connection: &str) -> Arc<Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        locks.entry((tenant.clone(), connection.to_owned())).or_default().clone()
    }

    async fn refresh_inner(&self, tenant: &TenantId, connection: &str, force: bool) -> Result<AccessToken> {
        let seen = if force { self.store.get(tenant, connection).await?.map(|s| s.version) } else { None };
        let lock = self.lock_for(tenant, connection);
        let _guard = lock.lock().await;
        // Re-read under the lock: another job may have refreshed while we waited.
        let stored = self
            .store
            .get(tenant, connection)
            .await?
            .ok_or_else(|| Error::NotConnected(connection.to_owned()))?;
        let refreshed_meanwhile = if force { seen != Some(stored.version) } else { self.is_fresh(&stored) };
        let pair = self.open(tenant, connection, &stored).await?;
        if refreshed_meanwhile {
            return Ok(AccessToken {
                token: SecretString::new(pair.access.clone()),
                expires_at: stored.expires_at,
                scope: stored.scope.clone(),
            });
        }
        let Some(refresh) = pair.refresh.clone() else {
            return Err(Error::ReconnectRequired {
                description: "the access token expired and there is no refresh token".into(),
            });
        };
        let refresh = SecretString::new(refresh);
        let profile = self.profiles.get_for(tenant, &stored.profile_id)?;
        let secret = profile.open_secret(self.sealer.as_ref()).await?;
        let s = &profile.settings;
        let creds =
            ClientCredentials { client_id: &s.client_id, secret: secret.as_ref(), method: s.client_auth };
        let token_url = check_url(&s.token_endpoint)?;
        let resp = token_endpoint::request_tokens(
            &self.http,
            &token_url,
            &creds,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh.expose_secret())],
        )
        .await?;
        let resp = TokenResponse { scope: resp.scope.clone().or_else(|| stored.scope.clone()), ..resp };
        tracing::debug!(tenant = %tenant.as_str(), connection, rotated = resp.refresh_token.is_some(), "connection refreshed");
        self.save(
            tenant,
            connection,
            &profile,
            resp,
            Some(refresh.expose_secret().to_owned()),
            Some(stored.version),
        )
        .await
    }

    /// Disconnects: revokes the refresh token (or the access token if there is none) at the
    /// provider (RFC 7009), then deletes the tokens. If revocation fails, nothing is deleted and
    /// the error is returned (retry, or [`Self::forget`] to drop the tokens anyway).
    pub async fn disconnect(&self, tenant: &TenantId, connection: &str) -> Result<Disconnected> {
        let lock = self.lock_for(tenant, connection);
        let _guard = lock.lock().await;
        let Some(stored) = self.store.get(tenant, connection).await? else {
            return Ok(Disconnected::NotConnected);
        };
        let profile = self.profiles.get_for(tenant, &stored.profile_id)?;
        let outcome = match &profile.settings.revocation_endpoint {
            None => Disconnected::DeletedOnly,
            Some(ep) => {
                let url = check_url(ep)?;
                let pair = self.open(tenant, connection, &stored).await?;
                let secret = profile.open_secret(self.sealer.as_ref()).await?;
                let s = &profile.settings;
                let creds = ClientCredentials {
                    client_id: &s.client_id,
                    secret: secret.as_ref(),
                    method: s.client_auth,
                };
                if let Some(r) = &pair.refresh {
                    token_endpoint::revoke(
                        &self.http,
                        &url,
                        &creds,
                        &SecretString::new(r.clone()),
                        "refresh_token",
                    )
                    .await?;
                }
                token_endpoint::revoke(
                    &self.http,
                    &url,
                    &creds,
                    &SecretString::new(pair.access.clone()),
                    "access_token",
                )
                .await?;
                Disconnected::Revoked
            }
        };
        self.store.delete(tenant, connection, stored.version).await?;
        Ok(outcome)
    }

    /// Deletes the connection's tokens without contacting the provider.
    pub async fn forget(&self, tenant: &TenantId, connection: &str) -> Result<bool> {
        let Some(stored) = self.store.get(tenant, connection).await? else { return Ok(false) };
        self.store.delete(tenant, connection, stored.version).await
    }

    /// Stores tokens obtained elsewhere (e.g. migrated from another system) for a connection.
    pub async fn import(
        &self,
        tenant: &TenantId,
        connection: &str,
        profile_id: &str,
        tokens: TokenResponse,
    ) -> Result<AccessToken> {
        let profile = self.profiles.get_for(tenant, profile_id)?;
        let current = self.store.get(tenant, connection).await?.map(|c| c.version);
        self.save(tenant, connection, &profile, tokens, None, current).await
    }
}
