//! Enforcement inside reqwest (feature `reqwest`): the policy holds at connect time.
//!
//! * [`EgressResolver`] is reqwest's DNS resolver: it resolves each name once (through a
//!   [`Resolver`]), checks **every** address, fails the connection if any is denied, and hands
//!   reqwest only the checked addresses — so DNS rebinding cannot slip `127.0.0.1` in between
//!   the check and the connect: there is no second lookup.
//! * [`redirect_policy`] re-checks each redirect hop's scheme, host rules and port, and IP-literal
//!   hosts in full (reqwest does not call the resolver for IP literals).
//! * [`client_builder`] puts both on a `reqwest::ClientBuilder` and turns off proxies, which
//!   would resolve names themselves and bypass the check.
//! * [`EgressClient::execute`] checks the first URL the same way before sending.
//!
//! The resolver does not see the port or scheme, so at connect time a rule limited to ports or
//! schemes counts for its addresses; the port and scheme are enforced on the URL before the
//! request is sent and on every redirect ([`Egress::precheck`]). What rebinding can never do is
//! reach a denied range or an address no rule allows: that check is made on the very addresses
//! reqwest connects to.

use std::net::SocketAddr;
use std::sync::Arc;

use ::reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::decision::Decision;
use crate::egress::{Egress, Target};
use crate::resolve::{Resolver, SystemResolver};

/// Why a request was refused by the egress policy (the error inside reqwest's error chain).
#[derive(Debug, Clone, thiserror::Error)]
#[error("egress policy denied the request: {0}")]
pub struct Denied(pub String);

/// reqwest's DNS resolver, checking every resolved address against the policy.
#[derive(Debug, Clone)]
pub struct EgressResolver {
    egress: Arc<Egress>,
    inner: Arc<dyn Resolver>,
}

impl EgressResolver {
    /// Checks what `inner` resolves against `egress`.
    pub fn new(egress: Arc<Egress>, inner: Arc<dyn Resolver>) -> Self {
        Self { egress, inner }
    }
}

impl Resolve for EgressResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let egress = self.egress.clone();
        let inner = self.inner.clone();
        let host = crate::host::normalize(name.as_str());
        Box::pin(async move {
            let addrs = inner
                .resolve(&host, 0)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            if addrs.is_empty() {
                return Err(Box::new(Denied(format!("{host} resolved to no address"))) as _);
            }
            for ip in &addrs {
                let v = egress.check_address(Some(&host), *ip, None, None);
                if !v.allowed {
                    return Err(
                        Box::new(Denied(format!("{host} resolves to {}: {:?}", v.address, v.reason))) as _,
                    );
                }
            }
            let out: Addrs =
                Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect::<Vec<_>>().into_iter());
            Ok(out)
        })
    }
}

/// The URL-level check used before sending and on redirects: scheme, host deny/allow rules,
/// port, and IP literals in full. Names are checked against the addresses at connect time.
pub fn precheck(egress: &Egress, url: &str) -> Result<(), Denied> {
    let target = Target::parse(url).map_err(|e| Denied(e.to_string()))?;
    egress.precheck(&target).map_err(|d: Box<Decision>| Denied(d.explain()))
}

/// A redirect policy that re-checks every hop and follows at most `max` redirects.
pub fn redirect_policy(egress: Arc<Egress>, max: usize) -> ::reqwest::redirect::Policy {
    ::reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= max {
            return attempt.error(Denied(format!("more than {max} redirects")));
        }
        match precheck(&egress, attempt.url().as_str()) {
            Ok(()) => attempt.follow(),
            Err(denied) => attempt.error(denied),
        }
    })
}

/// A `ClientBuilder` with the egress resolver, the redirect policy (10 hops) and no proxy.
pub fn client_builder(egress: Arc<Egress>, resolver: Option<Arc<dyn Resolver>>) -> ::reqwest::ClientBuilder {
    let inner = resolver.unwrap_or_else(|| Arc::new(SystemResolver));
    ::reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(EgressResolver::new(egress.clone(), inner)))
        .redirect(redirect_policy(egress, 10))
}

/// A reqwest client whose every request is checked: the URL before sending, the addresses at
/// connect time, each redirect hop.
///
/// ```no_run
/// use std::sync::Arc;
/// use palisade_egress::{Egress, EgressPolicy, reqwest::EgressClient};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let egress = Arc::new(Egress::new(&EgressPolicy::public_internet())?);
/// let client = EgressClient::new(egress, None)?;
/// let res = client.execute(client.inner().get("https://api.example.com/v1/items").build()?).await?;
/// # let _ = res; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct EgressClient {
    egress: Arc<Egress>,
    client: ::reqwest::Client,
}

/// Why an [`EgressClient`] request failed.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The policy denied it before anything was sent.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// reqwest failed (including a denial at connect time or on a redirect, in its source chain).
    #[error(transparent)]
    Http(#[from] ::reqwest::Error),
}

impl EgressClient {
    /// A client enforcing `egress`, resolving through `resolver` (the system's by default).
    pub fn new(egress: Arc<Egress>, resolver: Option<Arc<dyn Resolver>>) -> Result<Self, ::reqwest::Error> {
        let client = client_builder(egress.clone(), resolver).build()?;
        Ok(Self { egress, client })
    }

    /// The underlying client, to build requests with. Send them through [`EgressClient::execute`].
    pub fn inner(&self) -> &::reqwest::Client {
        &self.client
    }

    /// Checks the URL, then sends.
    pub async fn execute(&self, request: ::reqwest::Request) -> Result<::reqwest::Response, RequestError> {
        precheck(&self.egress, request.url().as_str())?;
        Ok(self.client.execute(request).await?)
    }
}
