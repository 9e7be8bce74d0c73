//! [`ExternalIdentity`]: who signed in through an external identity provider.
//!
//! `palisade-saml` and `palisade-oauth` (OpenID Connect) both produce this shape, so a host
//! provisions users (Just-in-Time) the same way whichever protocol the tenant uses.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::TenantId;

/// A verified sign-in from an external identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalIdentity {
    /// The tenant the sign-in is for.
    pub tenant: TenantId,
    /// The identity provider: a SAML IdP entityID or an OpenID Provider issuer.
    pub provider: String,
    /// The provider's stable identifier for the user (SAML NameID, OIDC `sub`).
    pub subject: String,
    /// The user's e-mail address, if the provider sent one.
    pub email: Option<String>,
    /// Whether the provider vouches for the e-mail address (OIDC `email_verified`; for SAML,
    /// the host's configuration of the IdP decides).
    pub email_verified: bool,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Group or role names from the provider, for role mapping.
    pub groups: Vec<String>,
    /// Every attribute or claim received, multi-valued.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// When the user authenticated at the provider.
    #[serde(with = "time::serde::rfc3339::option")]
    pub authenticated_at: Option<OffsetDateTime>,
}
