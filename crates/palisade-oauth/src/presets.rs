//! Presets for the big identity providers: Google and the Microsoft identity platform.
//!
//! A preset gives the issuer to discover and the [`IdTokenVerifier`] rules that provider needs:
//!
//! * Google issues `iss` as `https://accounts.google.com` or `accounts.google.com`; a Google
//!   Workspace customer is recognised by the `hd` (hosted domain) claim, which a preset can
//!   require to be on an allow-list.
//! * Microsoft's multi-tenant endpoints (`common`, `organizations`) publish the issuer template
//!   `https://login.microsoftonline.com/{tenantid}/v2.0`: the token's `tid` must be on the
//!   allow-list of tenants and `iss` must be the template filled with that `tid`. Without the
//!   allow-list, any Entra ID tenant in the world could sign in.
//!
//! ```
//! use palisade_oauth::presets::{self, MicrosoftTenancy};
//! let ms = presets::microsoft(
//!     "00000000-aaaa-bbbb-cccc-000000000001",
//!     MicrosoftTenancy::Organizations { allowed_tenants: vec!["72f988bf-86f1-41af-91ab-2d7cd011db47".into()] },
//! )?;
//! assert_eq!(ms.discovery_base, "https://login.microsoftonline.com/organizations/v2.0");
//! assert!(presets::microsoft("app", MicrosoftTenancy::Common { allowed_tenants: vec![] }).is_err());
//! # Ok::<(), palisade_oauth::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::id_token::{IdTokenVerifier, IssuerRule};

/// Google's issuer.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// Microsoft's multi-tenant issuer template.
pub const MICROSOFT_ISSUER_TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
/// The tenant id of personal Microsoft accounts (outlook.com, …).
pub const MICROSOFT_CONSUMER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// What a preset gives: where to discover, and how to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    /// The issuer the discovery document must name.
    pub issuer: String,
    /// Where the discovery document lives (`{base}/.well-known/openid-configuration`).
    pub discovery_base: String,
    /// The verification rules.
    pub verifier: IdTokenVerifier,
    /// Scopes to request.
    pub scopes: Vec<String>,
}

/// Google sign-in. With `allowed_hosted_domains` non-empty, only Google Workspace accounts of
/// those domains are accepted (the `hd` claim); empty accepts any Google account.
pub fn google(client_id: &str, allowed_hosted_domains: Vec<String>) -> Result<Preset> {
    let mut verifier = IdTokenVerifier::new(
        IssuerRule::OneOf { issuers: vec![GOOGLE_ISSUER.to_owned(), "accounts.google.com".to_owned()] },
        client_id,
    );
    verifier.allowed_hosted_domains = allowed_hosted_domains;
    verifier.validate()?;
    Ok(Preset {
        issuer: GOOGLE_ISSUER.to_owned(),
        discovery_base: GOOGLE_ISSUER.to_owned(),
        verifier,
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
    })
}

/// Which Microsoft accounts may sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MicrosoftTenancy {
    /// One Entra ID tenant (its id, a GUID): issuer `https://login.microsoftonline.com/{id}/v2.0`.
    SingleTenant(String),
    /// The `organizations` endpoint: work or school accounts of the listed tenants.
    Organizations {
        /// Tenant ids allowed to sign in.
        allowed_tenants: Vec<String>,
    },
    /// The `common` endpoint: work, school and (if [`MICROSOFT_CONSUMER_TENANT`] is listed)
    /// personal accounts of the listed tenants.
    Common {
        /// Tenant ids allowed to sign in.
        allowed_tenants: Vec<String>,
    },
}

/// Microsoft identity platform (v2.0) sign-in.
pub fn microsoft(client_id: &str, tenancy: MicrosoftTenancy) -> Result<Preset> {
    let base = "https://login.microsoftonline.com";
    let (issuer, discovery_base, rule) = match tenancy {
        MicrosoftTenancy::SingleTenant(t) => {
            if t.is_empty()
                || t.contains('/')
                || matches!(t.as_str(), "common" | "organizations" | "consumers")
            {
                return Err(Error::Config(vec![format!(
                    "{t:?} is not a tenant id; use Organizations or Common"
                )]));
            }
            let iss = format!("{base}/{t}/v2.0");
            (iss.clone(), iss.clone(), IssuerRule::exact(iss))
        }
        MicrosoftTenancy::Organizations { allowed_tenants } => (
            MICROSOFT_ISSUER_TEMPLATE.to_owned(),
            format!("{base}/organizations/v2.0"),
            IssuerRule::TenantTemplate { template: MICROSOFT_ISSUER_TEMPLATE.to_owned(), allowed_tenants },
        ),
        MicrosoftTenancy::Common { allowed_tenants } => (
            MICROSOFT_ISSUER_TEMPLATE.to_owned(),
            format!("{base}/common/v2.0"),
            IssuerRule::TenantTemplate { template: MICROSOFT_ISSUER_TEMPLATE.to_owned(), allowed_tenants },
        ),
    };
    let verifier = IdTokenVerifier::new(rule, client_id);
    verifier.validate()?;
    Ok(Preset {
        issuer,
        discovery_base,
        verifier,
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestIssuer;
    use crate::{Expectations, TokenRejection};
    use serde_json::json;
    use time::OffsetDateTime;

    #[test]
    fn microsoft_tenant_allow_list() {
        let allowed = "11111111-1111-1111-1111-111111111111";
        let other = "22222222-2222-2222-2222-222222222222";
        let p = microsoft("app", MicrosoftTenancy::Organizations { allowed_tenants: vec![allowed.into()] })
            .unwrap();
        let now = OffsetDateTime::now_utc();
        let mk = |tid: &str, iss_tid: &str| {
            let op = TestIssuer::rs256(&MICROSOFT_ISSUER_TEMPLATE.replace("{tenantid}", iss_tid)).unwrap();
            let mut c = op.claims("app", "u", None, now);
            c.insert("tid".into(), json!(tid));
            (op.sign(&c).unwrap(), op.key_set())
        };
        let (t, k) = mk(allowed, allowed);
        assert!(p.verifier.verify(&t, &k, now, &Expectations::default()).is_ok());
        let (t, k) = mk(other, other);
        assert_eq!(
            p.verifier.verify(&t, &k, now, &Expectations::default()),
            Err(TokenRejection::TenantNotAllowed(other.into()))
        );
        // tid says allowed, iss says another tenant: rejected.
        let (t, k) = mk(allowed, other);
        assert!(matches!(
            p.verifier.verify(&t, &k, now, &Expectations::default()),
            Err(TokenRejection::WrongIssuer { .. })
        ));
        // no tid at all
        let op = TestIssuer::rs256(&MICROSOFT_ISSUER_TEMPLATE.replace("{tenantid}", allowed)).unwrap();
        let t = op.id_token("app", "u", None, now).unwrap();
        assert_eq!(
            p.verifier.verify(&t, &op.key_set(), now, &Expectations::default()),
            Err(TokenRejection::MissingClaim("tid"))
        );
    }

    #[test]
    fn google_issuers_and_hosted_domain() {
        let now = OffsetDateTime::now_utc();
        let p = google("app", vec!["acme.com".into()]).unwrap();
        for iss in [GOOGLE_ISSUER, "accounts.google.com"] {
            let op = TestIssuer::rs256(iss).unwrap();
            let mut c = op.claims("app", "u", None, now);
            c.insert("hd".into(), json!("acme.com"));
            assert!(
                p.verifier
                    .verify(&op.sign(&c).unwrap(), &op.key_set(), now, &Expectations::default())
                    .is_ok()
            );
            c.insert("hd".into(), json!("evil.com"));
            assert!(matches!(
                p.verifier.verify(&op.sign(&c).unwrap(), &op.key_set(), now, &Expectations::default()),
                Err(TokenRejection::HostedDomainNotAllowed(_))
            ));
            c.remove("hd");
            assert!(
                p.verifier
                    .verify(&op.sign(&c).unwrap(), &op.key_set(), now, &Expectations::default())
                    .is_err()
            );
        }
        let op = TestIssuer::rs256("https://accounts.google.com.evil").unwrap();
        let t = op.id_token("app", "u", None, now).unwrap();
        assert!(
            google("app", vec![])
                .unwrap()
                .verifier
                .verify(&t, &op.key_set(), now, &Expectations::default())
                .is_err()
        );
    }
}
