//! SP-initiated sign-in: building the `AuthnRequest` and sending it over HTTP-Redirect (DEFLATE +
//! query-string signature) or HTTP-POST (enveloped XML signature, auto-submitting form).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::binding::{post_form, redirect_url};
use crate::dsig::sign_xml;
use crate::error::{Error, Result};
use crate::metadata::BINDING_POST;
use crate::policy::SpConfig;
use crate::xml::{escape_attr, escape_text};
use crate::{SAML_NS, SAMLP_NS};

/// A fresh message ID: `_` followed by 40 hex digits from the OS CSPRNG (160 bits).
pub fn new_id() -> Result<String> {
    let mut b = [0u8; 20];
    palisade_core::random::fill(&mut b).map_err(|e| Error::Key(format!("no randomness: {e}")))?;
    Ok(format!("_{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>()))
}

/// How the AuthnRequest travels to the IdP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// HTTP-Redirect (DEFLATE, query-string signature).
    Redirect,
    /// HTTP-POST (enveloped signature, auto-submitting form).
    Post,
}

/// An AuthnRequest ready to send: remember `id` (through a `RequestStore`) to match the response.
#[derive(Debug, Clone)]
pub struct AuthnRequest {
    /// The request ID (the response's InResponseTo must equal it).
    pub id: String,
    /// The XML (signed when the POST binding is used with a key).
    pub xml: String,
    /// The redirect URL (HTTP-Redirect) or the HTML form (HTTP-POST).
    pub output: String,
    /// The binding used.
    pub binding: Binding,
}

/// Options of an AuthnRequest.
#[derive(Debug, Clone, Default)]
pub struct AuthnOptions<'a> {
    /// RelayState (≤ 80 bytes).
    pub relay_state: Option<&'a str>,
    /// Ask the IdP to re-authenticate.
    pub force_authn: bool,
    /// Requested NameID format.
    pub name_id_format: Option<&'a str>,
}

/// Builds an AuthnRequest from `sp` to the IdP endpoint `sso_url`, signed with the SP key if
/// configured.
pub fn authn_request(
    sp: &SpConfig,
    sso_url: &str,
    binding: Binding,
    opts: &AuthnOptions<'_>,
    now: OffsetDateTime,
) -> Result<AuthnRequest> {
    sp.validate()?;
    let id = new_id()?;
    let instant = now.format(&Rfc3339).map_err(|e| Error::Encoding(e.to_string()))?;
    let force = if opts.force_authn { " ForceAuthn=\"true\"" } else { "" };
    let policy = opts
        .name_id_format
        .map(|f| format!("<samlp:NameIDPolicy Format=\"{}\" AllowCreate=\"true\"/>", escape_attr(f)))
        .unwrap_or_default();
    let xml = format!(
        "<samlp:AuthnRequest xmlns:samlp=\"{SAMLP_NS}\" xmlns:saml=\"{SAML_NS}\" ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{instant}\" \
Destination=\"{}\" AssertionConsumerServiceURL=\"{}\" ProtocolBinding=\"{BINDING_POST}\"{force}><saml:Issuer>{}</saml:Issuer>{policy}</samlp:AuthnRequest>",
        escape_attr(sso_url),
        escape_attr(&sp.acs_url),
        escape_text(&sp.entity_id)
    );
    let (xml, output) = match binding {
        Binding::Redirect => {
            let url = redirect_url(sso_url, "SAMLRequest", &xml, opts.relay_state, sp.signing_key.as_ref())?;
            (xml, url)
        }
        Binding::Post => {
            let signed = match &sp.signing_key {
                Some(k) => sign_xml(&xml, &id, k)?,
                None => xml,
            };
            let form = post_form(sso_url, "SAMLRequest", &signed, opts.relay_state)?;
            (signed, form)
        }
    };
    Ok(AuthnRequest { id, xml, output, binding })
}
