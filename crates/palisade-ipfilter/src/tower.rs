//! A tower [`Layer`] that denies requests from addresses outside the tenant's allowlist with
//! `403 Forbidden`, before they reach the host's handlers.
//!
//! The host supplies two functions over the request head: which tenant the request is for (from
//! the host name, a path segment, a header…) and the socket peer address (with axum, from
//! `ConnectInfo<SocketAddr>`). The client address is resolved through the [`ClientResolver`]
//! (trusted proxies), then checked against [`TenantAllowlists`]. The [`Decision`] is put in the
//! request extensions for allowed requests, so handlers and audit middleware can read it.
//! Requests for which no tenant is resolved pass through unchanged (the host's routing decides).
//! A request whose peer address is unknown is denied.
//!
//! ```
//! use std::{convert::Infallible, net::{IpAddr, SocketAddr}, sync::Arc};
//! use http::{Request, Response, StatusCode};
//! use palisade_ipfilter::{ClientResolver, TenantAllowlists, TenantPolicy, EntryConfig};
//! use palisade_ipfilter::tower::IpFilterLayer;
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let lists = Arc::new(TenantAllowlists::default());
//! let policy = TenantPolicy { enforce: true, entries: vec![EntryConfig { cidr: "192.0.2.0/24".into(), label: None }] };
//! lists.replace(&"acme".parse()?, &policy, "192.0.2.1".parse()?, false)?;
//!
//! let layer = IpFilterLayer::new(lists, ClientResolver::default())
//!     .tenant(|parts| parts.headers.get("x-tenant")?.to_str().ok()?.parse().ok())
//!     .peer(|parts| parts.extensions.get::<SocketAddr>().map(|s| s.ip()));
//! let svc = layer.layer(service_fn(|_req: Request<String>| async { Ok::<_, Infallible>(Response::new(String::from("hello"))) }));
//!
//! let mut req = Request::new(String::new());
//! req.headers_mut().insert("x-tenant", "acme".parse()?);
//! req.extensions_mut().insert(SocketAddr::from(([198, 51, 100, 1], 4242)));
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::FORBIDDEN);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::request::Parts;
use http::{HeaderValue, Request, Response, StatusCode};
use palisade_core::TenantId;
use tower::{Layer, Service};

use crate::decision::{Decision, Reason};
use crate::proxy::ClientResolver;
use crate::tenant::TenantAllowlists;

type TenantFn = Arc<dyn Fn(&Parts) -> Option<TenantId> + Send + Sync>;
type PeerFn = Arc<dyn Fn(&Parts) -> Option<IpAddr> + Send + Sync>;

/// The header set on 403 answers: `x-palisade-ipfilter: denied`.
pub const DENIED_HEADER: &str = "x-palisade-ipfilter";

/// Builds [`IpFilter`] services.
#[derive(Clone)]
pub struct IpFilterLayer {
    lists: Arc<TenantAllowlists>,
    resolver: Arc<ClientResolver>,
    tenant: TenantFn,
    peer: PeerFn,
}

impl std::fmt::Debug for IpFilterLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpFilterLayer").field("resolver", &self.resolver).finish_non_exhaustive()
    }
}

impl IpFilterLayer {
    /// A layer checking `lists`, resolving clients through `resolver`. By default no tenant is
    /// resolved (set [`IpFilterLayer::tenant`]) and the peer is read from a `SocketAddr` request
    /// extension.
    pub fn new(lists: Arc<TenantAllowlists>, resolver: ClientResolver) -> Self {
        Self {
            lists,
            resolver: Arc::new(resolver),
            tenant: Arc::new(|_| None),
            peer: Arc::new(|parts| parts.extensions.get::<std::net::SocketAddr>().map(|s| s.ip())),
        }
    }

    /// How to find the tenant of a request.
    pub fn tenant(mut self, f: impl Fn(&Parts) -> Option<TenantId> + Send + Sync + 'static) -> Self {
        self.tenant = Arc::new(f);
        self
    }

    /// How to find the socket peer address of a request.
    pub fn peer(mut self, f: impl Fn(&Parts) -> Option<IpAddr> + Send + Sync + 'static) -> Self {
        self.peer = Arc::new(f);
        self
    }
}

impl<S> Layer<S> for IpFilterLayer {
    type Service = IpFilter<S>;
    fn layer(&self, inner: S) -> IpFilter<S> {
        IpFilter { inner, config: self.clone() }
    }
}

/// The service made by [`IpFilterLayer`].
#[derive(Debug, Clone)]
pub struct IpFilter<S> {
    inner: S,
    config: IpFilterLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for IpFilter<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Send,
    S::Future: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        let Some(tenant) = (self.config.tenant)(&parts) else {
            let fut = self.inner.call(Request::from_parts(parts, body));
            return Box::pin(fut);
        };
        let decision = match (self.config.peer)(&parts) {
            None => Decision {
                allowed: false,
                tenant,
                client: None,
                reason: Reason::UnresolvedClient { node: "(no peer address)".to_owned() },
            },
            Some(peer) => {
                let values: Vec<&str> = parts
                    .headers
                    .get_all(self.config.resolver.header().name())
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                let resolution = self.config.resolver.resolve(peer, &values);
                self.config.lists.check_resolution(&tenant, &resolution)
            }
        };
        if !decision.allowed {
            let mut res = Response::new(ResBody::default());
            *res.status_mut() = StatusCode::FORBIDDEN;
            res.headers_mut().insert(DENIED_HEADER, HeaderValue::from_static("denied"));
            return Box::pin(async move { Ok(res) });
        }
        parts.extensions.insert(decision);
        Box::pin(self.inner.call(Request::from_parts(parts, body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allowlist::{Allowlist, EntryConfig};
    use crate::policy::TenantPolicy;
    use crate::proxy::ForwardedHeader;
    use std::convert::Infallible;
    use std::net::SocketAddr;
    use tower::{ServiceExt, service_fn};

    fn layer() -> IpFilterLayer {
        let lists = Arc::new(TenantAllowlists::default());
        let policy = TenantPolicy {
            enforce: true,
            entries: vec![EntryConfig { cidr: "192.0.2.0/24".into(), label: Some("hq".into()) }],
        };
        lists.replace(&"acme".parse().unwrap(), &policy, "192.0.2.1".parse().unwrap(), false).unwrap();
        let resolver =
            ClientResolver::new(Allowlist::parse_text("10.0.0.0/8").unwrap(), ForwardedHeader::XForwardedFor);
        IpFilterLayer::new(lists, resolver).tenant(|p| p.headers.get("x-tenant")?.to_str().ok()?.parse().ok())
    }

    async fn call(tenant: Option<&str>, peer: Option<[u8; 4]>, xff: &[&str]) -> Response<String> {
        let svc = layer().layer(service_fn(|req: Request<String>| async move {
            let why = req.extensions().get::<Decision>().map(|d| d.explain()).unwrap_or_default();
            Ok::<_, Infallible>(Response::new(why))
        }));
        let mut req = Request::new(String::new());
        if let Some(t) = tenant {
            req.headers_mut().insert("x-tenant", t.parse().unwrap());
        }
        if let Some(p) = peer {
            req.extensions_mut().insert(SocketAddr::from((p, 1234)));
        }
        for v in xff {
            req.headers_mut().append("x-forwarded-for", v.parse().unwrap());
        }
        svc.oneshot(req).await.unwrap()
    }

    #[tokio::test]
    async fn allows_and_denies() {
        let ok = call(Some("acme"), Some([192, 0, 2, 9]), &[]).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert!(ok.body().contains("hq"));
        let no = call(Some("acme"), Some([198, 51, 100, 1]), &[]).await;
        assert_eq!(no.status(), StatusCode::FORBIDDEN);
        assert_eq!(no.headers().get(DENIED_HEADER).unwrap(), "denied");
        assert_eq!(no.body(), "");
    }

    #[tokio::test]
    async fn behind_a_trusted_proxy() {
        assert_eq!(call(Some("acme"), Some([10, 0, 0, 1]), &["192.0.2.50"]).await.status(), StatusCode::OK);
        // Spoofed left-most value; the proxy appended the real client.
        assert_eq!(
            call(Some("acme"), Some([10, 0, 0, 1]), &["192.0.2.50, 198.51.100.1"]).await.status(),
            StatusCode::FORBIDDEN
        );
        // Multiple header lines are one list.
        assert_eq!(
            call(Some("acme"), Some([10, 0, 0, 1]), &["192.0.2.50", "198.51.100.1"]).await.status(),
            StatusCode::FORBIDDEN
        );
    }

    #[tokio::test]
    async fn no_tenant_passes_no_peer_denied() {
        assert_eq!(call(None, Some([198, 51, 100, 1]), &[]).await.status(), StatusCode::OK);
        assert_eq!(call(Some("acme"), None, &[]).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(call(Some("other"), Some([198, 51, 100, 1]), &[]).await.status(), StatusCode::OK);
    }
}
