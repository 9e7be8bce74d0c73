//! [`SessionLayer`]: a tower `Layer` that validates the session cookie of every request
//! (cargo feature `tower`).
//!
//! For each request the layer reads the session cookie, validates it with the
//! [`SessionManager`] (which slides the idle deadline, coalescing store writes), and puts the
//! [`Session`] and the [`CurrentToken`] in the request extensions. A rejected token gets a `401`
//! with the reason in the [`REASON_HEADER`] header (`missing`, `unknown`, `idle-expired`,
//! `absolute-expired`, `revoked`, `tenant-mismatch`) and a `Set-Cookie` that clears the cookie;
//! hosts map it to a login redirect. A store failure gets a `503` (reason `unavailable`).
//! With [`SessionLayer::optional`], requests without a valid session pass through without one
//! (the cookie is still cleared when it was rejected).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use palisade_core::SystemClock;
//! use palisade_session::{AuthMethod, CookieConfig, MemoryStore, NewSession, Policies, Session, SessionLayer, SessionManager};
//! use ::tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! let manager = SessionManager::new(Arc::new(MemoryStore::new()), Arc::new(Policies::default()), Arc::new(SystemClock));
//! let app = ServiceBuilder::new()
//!     .layer(SessionLayer::new(manager.clone(), CookieConfig::default())?)
//!     .service(service_fn(|req: http::Request<String>| async move {
//!         let user = req.extensions().get::<Session>().map(|s| s.user().to_string());
//!         Ok::<_, std::convert::Infallible>(http::Response::new(user.unwrap_or_default()))
//!     }));
//!
//! let issued = manager.login(NewSession::new("acme".parse()?, "alice".parse()?, AuthMethod::Password)).await?;
//! let cookie = format!("__Host-session={}", issued.token.expose_secret());
//! let req = http::Request::builder().header("cookie", cookie).body(String::new())?;
//! let res = app.clone().oneshot(req).await?;
//! assert_eq!(res.into_body(), "alice");
//!
//! let res = app.oneshot(http::Request::new(String::new())).await?;
//! assert_eq!(res.status(), 401);
//! assert_eq!(res.headers()[palisade_session::tower::REASON_HEADER], "missing");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use palisade_core::TenantId;
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::error::{Error, Result};
use crate::manager::{Session, SessionManager};
use crate::policy::{duration_text, problem};
use crate::token::SessionToken;

/// The response header that carries the reason of a `401`/`503`.
pub const REASON_HEADER: &str = "x-session-rejected";

/// The `SameSite` attribute of the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SameSite {
    /// Sent only on same-site requests.
    Strict,
    /// Also sent on top-level navigations from other sites (the default: links into the app work).
    #[default]
    Lax,
    /// Sent on every request (needs `Secure`; only for cross-site embedding).
    None,
}

/// How the session cookie is named and flagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CookieConfig {
    /// Cookie name. The default `__Host-session` makes browsers insist on `Secure`, `Path=/` and
    /// no `Domain`, so a sibling subdomain cannot plant or overwrite it.
    pub name: String,
    /// `Secure` (only sent over HTTPS).
    pub secure: bool,
    /// `HttpOnly` (invisible to scripts).
    pub http_only: bool,
    /// `SameSite`.
    pub same_site: SameSite,
    /// `Path`.
    pub path: String,
    /// `Max-Age`; none (the default) makes a browser-session cookie.
    #[serde(with = "opt_duration", skip_serializing_if = "Option::is_none")]
    pub max_age: Option<Duration>,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self {
            name: "__Host-session".to_owned(),
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            path: "/".to_owned(),
            max_age: None,
        }
    }
}

mod opt_duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "super::duration_text")] Duration);
        Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
    }

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::duration_text::serialize(d, s),
            None => s.serialize_none(),
        }
    }
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl CookieConfig {
    /// Checks the configuration and returns every problem at once.
    pub fn validate(&self) -> Result<()> {
        let mut p = Vec::new();
        if self.name.is_empty() || !self.name.bytes().all(is_token_char) {
            p.push(problem("name", format!("{:?} is not a valid cookie name (RFC 6265 token)", self.name)));
        }
        if self.name.starts_with("__Host-") && (!self.secure || self.path != "/") {
            p.push(problem("name", "a __Host- cookie needs secure = true and path = \"/\"".to_owned()));
        }
        if self.name.starts_with("__Secure-") && !self.secure {
            p.push(problem("name", "a __Secure- cookie needs secure = true".to_owned()));
        }
        if self.same_site == SameSite::None && !self.secure {
            p.push(problem("same_site", "SameSite=None needs secure = true".to_owned()));
        }
        if !self.path.starts_with('/') || self.path.bytes().any(|b| b == b';' || b.is_ascii_control()) {
            p.push(problem(
                "path",
                format!("{:?} must start with '/' and contain no ';' or control characters", self.path),
            ));
        }
        if self.max_age.is_some_and(|d| d <= Duration::ZERO) {
            p.push(problem(
                "max_age",
                "must be positive; leave it unset for a browser-session cookie".to_owned(),
            ));
        }
        if p.is_empty() { Ok(()) } else { Err(Error::InvalidConfig(p)) }
    }

    fn attributes(&self, max_age: Option<i64>) -> String {
        let mut s = format!("; Path={}", self.path);
        if let Some(age) = max_age {
            s.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            s.push_str("; Secure");
        }
        if self.http_only {
            s.push_str("; HttpOnly");
        }
        s.push_str(match self.same_site {
            SameSite::Strict => "; SameSite=Strict",
            SameSite::Lax => "; SameSite=Lax",
            SameSite::None => "; SameSite=None",
        });
        s
    }

    /// The `Set-Cookie` value that hands `token` to the browser (after a sign-in or rotation).
    pub fn set_cookie(&self, token: &SessionToken) -> HeaderValue {
        let value = format!(
            "{}={}{}",
            self.name,
            token.expose_secret(),
            self.attributes(self.max_age.map(|d| d.whole_seconds()))
        );
        HeaderValue::from_str(&value).unwrap_or_else(|_| self.clear_cookie())
    }

    /// The `Set-Cookie` value that deletes the cookie.
    pub fn clear_cookie(&self) -> HeaderValue {
        let value = format!("{}={}", self.name, self.attributes(Some(0)));
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("session=; Max-Age=0"))
    }

    /// The session token in a request's `Cookie` headers, if any (the first cookie of that name).
    pub fn token_from(&self, headers: &HeaderMap) -> Option<SessionToken> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name)
            .map(|(_, value)| {
                let value = value.trim();
                let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
                SessionToken::from_client(value)
            })
    }
}

/// The token of the current request, in the request extensions next to the [`Session`] (for
/// handlers that sign out or rotate).
#[derive(Clone, Debug)]
pub struct CurrentToken(pub SessionToken);

type TenantResolver = Arc<dyn Fn(&http::request::Parts) -> Option<TenantId> + Send + Sync>;

/// The tower `Layer`. See the module docs.
#[derive(Clone)]
pub struct SessionLayer {
    manager: SessionManager,
    cookie: Arc<CookieConfig>,
    tenant: Option<TenantResolver>,
    required: bool,
}

impl fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionLayer")
            .field("cookie", &self.cookie)
            .field("tenant_resolver", &self.tenant.is_some())
            .field("required", &self.required)
            .finish()
    }
}

impl SessionLayer {
    /// A layer that requires a valid session on every request (validates `cookie` first).
    pub fn new(manager: SessionManager, cookie: CookieConfig) -> Result<Self> {
        cookie.validate()?;
        Ok(Self { manager, cookie: Arc::new(cookie), tenant: None, required: true })
    }

    /// Lets requests without a valid session through (without a [`Session`] extension).
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    /// Tells the layer which tenant a request addresses (from its host name, path, header…), so
    /// a session of another tenant is rejected with `tenant-mismatch`. When `resolve` returns
    /// `None`, any tenant's session is accepted.
    pub fn tenant_from(
        mut self,
        resolve: impl Fn(&http::request::Parts) -> Option<TenantId> + Send + Sync + 'static,
    ) -> Self {
        self.tenant = Some(Arc::new(resolve));
        self
    }

    /// The cookie configuration (to set the cookie after a sign-in).
    pub fn cookie(&self) -> &CookieConfig {
        &self.cookie
    }
}

impl<S> tower::Layer<S> for SessionLayer {
    type Service = SessionService<S>;
    fn layer(&self, inner: S) -> SessionService<S> {
        SessionService { inner, layer: self.clone() }
    }
}

/// The service made by [`SessionLayer`].
#[derive(Clone, Debug)]
pub struct SessionService<S> {
    inner: S,
    layer: SessionLayer,
}

fn refusal<B: Default>(status: StatusCode, reason: &'static str, clear: Option<HeaderValue>) -> Response<B> {
    let mut res = Response::new(B::default());
    *res.status_mut() = status;
    res.headers_mut().insert(REASON_HEADER, HeaderValue::from_static(reason));
    if let Some(c) = clear {
        res.headers_mut().append(SET_COOKIE, c);
    }
    res
}

impl<S, ReqB, ResB> tower::Service<Request<ReqB>> for SessionService<S>
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqB: Send + 'static,
    ResB: Default + Send + 'static,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = std::result::Result<Response<ResB>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        // The inner service that was polled ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let Some(token) = layer.cookie.token_from(&parts.headers) else {
                if layer.required {
                    return Ok(refusal(StatusCode::UNAUTHORIZED, "missing", None));
                }
                return inner.call(Request::from_parts(parts, body)).await;
            };
            let tenant = layer.tenant.as_ref().and_then(|resolve| resolve(&parts));
            let checked = match &tenant {
                Some(t) => layer.manager.validate(&token, t).await,
                None => layer.manager.validate_any_tenant(&token).await,
            };
            match checked {
                Ok(session) => {
                    parts.extensions.insert(session);
                    parts.extensions.insert(CurrentToken(token));
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(Error::Rejected(r)) => {
                    tracing::debug!(reason = r.code(), "session rejected");
                    if layer.required {
                        return Ok(refusal(
                            StatusCode::UNAUTHORIZED,
                            r.code(),
                            Some(layer.cookie.clear_cookie()),
                        ));
                    }
                    let mut res = inner.call(Request::from_parts(parts, body)).await?;
                    res.headers_mut().append(SET_COOKIE, layer.cookie.clear_cookie());
                    Ok(res)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "session validation failed");
                    Ok(refusal(StatusCode::SERVICE_UNAVAILABLE, "unavailable", None))
                }
            }
        })
    }
}

/// The session of a request, as the layer put it in the extensions.
pub fn session_of<B>(req: &Request<B>) -> Option<&Session> {
    req.extensions().get::<Session>()
}
