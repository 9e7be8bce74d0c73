//! [`ServiceProvider`]: one tenant's SP with its IdPs, request store, replay cache and clock.

use std::sync::Arc;

use palisade_core::{SharedClock, TenantId};
use time::Duration;

use crate::authn::{AuthnOptions, AuthnRequest, Binding, authn_request};
use crate::binding::decode_post;
use crate::error::{Error, Result};
use crate::policy::{IdpConfig, SpConfig};
use crate::response::{Expectation, InputLimits, SamlIdentity, validate_document};
use crate::store::{MemoryReplayCache, MemoryRequestStore, ReplayCache, RequestStore};
use crate::xml::Document;
use crate::{SAML_NS, SAMLP_NS};

/// How long an AuthnRequest stays pending.
pub const REQUEST_TTL: Duration = Duration::minutes(10);

/// A tenant's service provider.
pub struct ServiceProvider {
    tenant: TenantId,
    sp: SpConfig,
    idps: Vec<IdpConfig>,
    requests: Arc<dyn RequestStore>,
    replay: Arc<dyn ReplayCache>,
    clock: SharedClock,
    limits: InputLimits,
}

impl std::fmt::Debug for ServiceProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceProvider")
            .field("tenant", &self.tenant)
            .field("sp", &self.sp.entity_id)
            .field("idps", &self.idps.len())
            .finish()
    }
}

impl ServiceProvider {
    /// An SP with in-memory stores.
    pub fn new(tenant: TenantId, sp: SpConfig, clock: SharedClock) -> Result<Self> {
        Self::with_stores(
            tenant,
            sp,
            clock,
            Arc::new(MemoryRequestStore::new()),
            Arc::new(MemoryReplayCache::new()),
        )
    }

    /// An SP with the host's stores.
    pub fn with_stores(
        tenant: TenantId,
        sp: SpConfig,
        clock: SharedClock,
        requests: Arc<dyn RequestStore>,
        replay: Arc<dyn ReplayCache>,
    ) -> Result<Self> {
        sp.validate()?;
        Ok(Self { tenant, sp, idps: Vec::new(), requests, replay, clock, limits: InputLimits::default() })
    }

    /// Adds an IdP (validated).
    pub fn add_idp(&mut self, idp: IdpConfig) -> Result<()> {
        idp.validate()?;
        if self.idps.iter().any(|i| i.entity_id == idp.entity_id) {
            return Err(Error::Config(vec![format!("IdP {:?} configured twice", idp.entity_id)]));
        }
        self.idps.push(idp);
        Ok(())
    }

    /// The SP configuration.
    pub fn config(&self) -> &SpConfig {
        &self.sp
    }

    /// The IdP with this entityID.
    pub fn idp(&self, entity_id: &str) -> Option<&IdpConfig> {
        self.idps.iter().find(|i| i.entity_id == entity_id)
    }

    /// Starts an SP-initiated sign-in at `idp`: builds the AuthnRequest and remembers its ID.
    pub async fn start_sign_in(
        &self,
        idp: &str,
        binding: Binding,
        opts: &AuthnOptions<'_>,
    ) -> Result<AuthnRequest> {
        let cfg = self.idp(idp).ok_or_else(|| Error::Config(vec![format!("unknown IdP {idp:?}")]))?;
        let sso = cfg
            .sso_url
            .as_deref()
            .ok_or_else(|| Error::Config(vec![format!("IdP {idp:?} has no SSO URL")]))?;
        let now = self.clock.now();
        let req = authn_request(&self.sp, sso, binding, opts, now)?;
        self.requests.put(&req.id, now + REQUEST_TTL).await?;
        Ok(req)
    }

    /// Consumes the `SAMLResponse` POST value: validates it fully, consumes the pending request
    /// once, and records the assertion and response IDs against replay.
    pub async fn consume_post(&self, saml_response: &[u8]) -> Result<SamlIdentity> {
        let now = self.clock.now();
        let xml = decode_post(saml_response, &self.limits)?;
        let doc = Document::parse(&xml, &self.limits.xml)?;
        // Selection only: the issuer is checked again (against the signature) by validation.
        let root = doc.root();
        let issuer = root
            .child(SAML_NS, "Issuer")
            .or_else(|| root.child(SAML_NS, "Assertion").and_then(|a| a.child(SAML_NS, "Issuer")))
            .map(|i| i.text().trim().to_owned())
            .ok_or(Error::Missing("Issuer"))?;
        let idp = self.idp(&issuer).ok_or_else(|| Error::Issuer {
            element: "Response",
            found: issuer.clone(),
            expected: "a configured IdP".into(),
        })?;
        let irt = if root.is(SAMLP_NS, "Response") { root.attr("InResponseTo") } else { None };
        let irt = irt.or_else(|| {
            root.child(SAML_NS, "Assertion")
                .and_then(|a| a.child(SAML_NS, "Subject"))
                .and_then(|s| s.child(SAML_NS, "SubjectConfirmation"))
                .and_then(|c| c.child(SAML_NS, "SubjectConfirmationData"))
                .and_then(|d| d.attr("InResponseTo"))
        });
        let mut identity =
            validate_document(&doc, &self.sp, idp, &Expectation { request_id: irt }, now, &self.limits)?;
        if let Some(id) = irt
            && !self.requests.take(id, now).await?
        {
            return Err(Error::InResponseTo(id.to_owned()));
        }
        let a_key = format!("assertion:{}:{}", idp.entity_id, identity.assertion_id);
        if !self.replay.insert_once(&a_key, identity.replay_until, now).await? {
            return Err(Error::Replay(format!("assertion {}", identity.assertion_id)));
        }
        let r_key = format!("response:{}:{}", idp.entity_id, identity.response_id);
        if !self.replay.insert_once(&r_key, identity.replay_until, now).await? {
            return Err(Error::Replay(format!("response {}", identity.response_id)));
        }
        identity.tenant = Some(self.tenant.clone());
        Ok(identity)
    }
}
