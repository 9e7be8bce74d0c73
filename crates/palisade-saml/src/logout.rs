//! Single logout: SP- and IdP-initiated `LogoutRequest`/`LogoutResponse` over HTTP-Redirect and
//! HTTP-POST, signed and verified. A verified LogoutRequest hands the host the NameID and
//! SessionIndexes so it can revoke the matching sessions.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::authn::{Binding, new_id};
use crate::binding::{decode_redirect, post_form, redirect_url};
use crate::dsig::{sign_xml, signature_children, verify_element};
use crate::error::{Error, Result};
use crate::policy::{IdpConfig, SpConfig};
use crate::response::{InputLimits, STATUS_SUCCESS, parse_instant};
use crate::xml::{Document, escape_attr, escape_text};
use crate::{SAML_NS, SAMLP_NS};

/// A logout message ready to send.
#[derive(Debug, Clone)]
pub struct OutgoingLogout {
    /// Its ID.
    pub id: String,
    /// The XML.
    pub xml: String,
    /// The redirect URL or the HTML form.
    pub output: String,
}

fn send(
    sp: &SpConfig,
    endpoint: &str,
    param: &str,
    xml: String,
    id: String,
    binding: Binding,
    relay_state: Option<&str>,
) -> Result<OutgoingLogout> {
    let key = sp.signing_key.as_ref().ok_or_else(|| {
        Error::Config(vec!["logout messages must be signed: configure an SP signing key".into()])
    })?;
    match binding {
        Binding::Redirect => {
            let output = redirect_url(endpoint, param, &xml, relay_state, Some(key))?;
            Ok(OutgoingLogout { id, xml, output })
        }
        Binding::Post => {
            let signed = sign_xml(&xml, &id, key)?;
            let output = post_form(endpoint, param, &signed, relay_state)?;
            Ok(OutgoingLogout { id, xml: signed, output })
        }
    }
}

/// Builds an SP-initiated LogoutRequest for the user `name_id` (with its Format) and sessions.
pub fn logout_request(
    sp: &SpConfig,
    idp: &IdpConfig,
    name_id: &str,
    name_id_format: Option<&str>,
    session_indexes: &[String],
    binding: Binding,
    now: OffsetDateTime,
) -> Result<OutgoingLogout> {
    let slo = idp
        .slo_url
        .as_deref()
        .ok_or_else(|| Error::Config(vec![format!("IdP {:?} has no SLO URL", idp.entity_id)]))?;
    let id = new_id()?;
    let fmt = name_id_format.map(|f| format!(" Format=\"{}\"", escape_attr(f))).unwrap_or_default();
    let sessions: String = session_indexes
        .iter()
        .map(|s| format!("<samlp:SessionIndex>{}</samlp:SessionIndex>", escape_text(s)))
        .collect();
    let xml = format!(
        "<samlp:LogoutRequest xmlns:samlp=\"{SAMLP_NS}\" xmlns:saml=\"{SAML_NS}\" ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\">\
<saml:Issuer>{}</saml:Issuer><saml:NameID{fmt}>{}</saml:NameID>{sessions}</samlp:LogoutRequest>",
        now.format(&Rfc3339).unwrap_or_default(),
        escape_attr(slo),
        escape_text(&sp.entity_id),
        escape_text(name_id)
    );
    send(sp, slo, "SAMLRequest", xml, id, binding, None)
}

/// Builds the SP's LogoutResponse to an IdP-initiated LogoutRequest.
pub fn logout_response(
    sp: &SpConfig,
    idp: &IdpConfig,
    in_response_to: &str,
    success: bool,
    binding: Binding,
    relay_state: Option<&str>,
    now: OffsetDateTime,
) -> Result<OutgoingLogout> {
    let slo = idp
        .slo_url
        .as_deref()
        .ok_or_else(|| Error::Config(vec![format!("IdP {:?} has no SLO URL", idp.entity_id)]))?;
    let id = new_id()?;
    let status = if success { STATUS_SUCCESS } else { "urn:oasis:names:tc:SAML:2.0:status:Responder" };
    let xml = format!(
        "<samlp:LogoutResponse xmlns:samlp=\"{SAMLP_NS}\" xmlns:saml=\"{SAML_NS}\" ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\" InResponseTo=\"{}\">\
<saml:Issuer>{}</saml:Issuer><samlp:Status><samlp:StatusCode Value=\"{status}\"/></samlp:Status></samlp:LogoutResponse>",
        now.format(&Rfc3339).unwrap_or_default(),
        escape_attr(slo),
        escape_attr(in_response_to),
        escape_text(&sp.entity_id)
    );
    send(sp, slo, "SAMLResponse", xml, id, binding, relay_state)
}

/// A verified IdP-initiated LogoutRequest: revoke these sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequestInfo {
    /// The request ID (answer with [`logout_response`]).
    pub id: String,
    /// The user's NameID.
    pub name_id: String,
    /// NameID Format.
    pub name_id_format: Option<String>,
    /// SessionIndexes to end (empty = all of the user's sessions).
    pub session_indexes: Vec<String>,
}

/// A verified LogoutResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutResponseInfo {
    /// InResponseTo (compare with the ID of the request sent).
    pub in_response_to: Option<String>,
    /// Whether the IdP reported success.
    pub success: bool,
    /// The status code.
    pub status: String,
}

/// How a logout message arrived.
#[derive(Debug, Clone, Copy)]
pub enum Incoming<'a> {
    /// The raw query string of an HTTP-Redirect.
    Redirect(&'a str),
    /// The base64 `SAMLRequest`/`SAMLResponse` form value of an HTTP-POST.
    Post(&'a [u8]),
}

fn receive(
    incoming: Incoming<'_>,
    idp: &IdpConfig,
    expected_root: &'static str,
    sp: &SpConfig,
    now: OffsetDateTime,
) -> Result<Document> {
    let limits = InputLimits::default();
    let (xml, query_signed) = match incoming {
        Incoming::Redirect(q) => {
            let m =
                decode_redirect(q, &idp.signing_certs, &idp.policy.algorithms, true, limits.xml.max_bytes)?;
            (m.xml, m.signature_verified)
        }
        Incoming::Post(v) => (crate::binding::decode_post(v, &limits)?, false),
    };
    let doc = Document::parse(&xml, &limits.xml)?;
    let root = doc.root();
    if !root.is(SAMLP_NS, expected_root) {
        return Err(Error::UnexpectedMessage {
            expected: expected_root,
            found: root.local_name().to_owned(),
        });
    }
    if !query_signed {
        if signature_children(root).is_empty() {
            return Err(Error::MissingSignature { element: expected_root_label(expected_root) });
        }
        verify_element(root, &idp.signing_certs, &idp.policy.algorithms)?;
    }
    let issuer = root.child(SAML_NS, "Issuer").map(|i| i.text()).ok_or(Error::Missing("Issuer"))?;
    if issuer.trim() != idp.entity_id {
        return Err(Error::Issuer { element: "Response", found: issuer, expected: idp.entity_id.clone() });
    }
    if let Some(d) = root.attr("Destination")
        && Some(d) != sp.slo_url.as_deref()
    {
        return Err(Error::Destination {
            found: d.to_owned(),
            expected: sp.slo_url.clone().unwrap_or_default(),
        });
    }
    let skew = time::Duration::seconds(idp.policy.clock_skew_secs.clamp(0, 300));
    if let Some(noa) = root.attr("NotOnOrAfter")
        && now >= parse_instant(noa, "LogoutRequest NotOnOrAfter")? + skew
    {
        return Err(Error::Expired { what: "LogoutRequest NotOnOrAfter", detail: noa.to_owned() });
    }
    Ok(doc)
}

fn expected_root_label(r: &'static str) -> &'static str {
    if r == "LogoutRequest" { "LogoutRequest" } else { "LogoutResponse" }
}

/// Receives an IdP-initiated LogoutRequest (signature required: query-string or enveloped).
pub fn receive_logout_request(
    incoming: Incoming<'_>,
    sp: &SpConfig,
    idp: &IdpConfig,
    now: OffsetDateTime,
) -> Result<LogoutRequestInfo> {
    let doc = receive(incoming, idp, "LogoutRequest", sp, now)?;
    let root = doc.root();
    let name_id = root.child(SAML_NS, "NameID").ok_or(Error::Missing("LogoutRequest NameID"))?;
    Ok(LogoutRequestInfo {
        id: root.attr("ID").ok_or(Error::Missing("LogoutRequest ID"))?.to_owned(),
        name_id: name_id.text(),
        name_id_format: name_id.attr("Format").map(str::to_owned),
        session_indexes: root.children_named(SAMLP_NS, "SessionIndex").map(|s| s.text()).collect(),
    })
}

/// Receives the IdP's LogoutResponse (signature required).
pub fn receive_logout_response(
    incoming: Incoming<'_>,
    sp: &SpConfig,
    idp: &IdpConfig,
    now: OffsetDateTime,
) -> Result<LogoutResponseInfo> {
    let doc = receive(incoming, idp, "LogoutResponse", sp, now)?;
    let root = doc.root();
    let status = root
        .child(SAMLP_NS, "Status")
        .and_then(|s| s.child(SAMLP_NS, "StatusCode"))
        .and_then(|c| c.attr("Value"))
        .ok_or(Error::Missing("LogoutResponse StatusCode"))?;
    Ok(LogoutResponseInfo {
        in_response_to: root.attr("InResponseTo").map(str::to_owned),
        success: status == STATUS_SUCCESS,
        status: status.to_owned(),
    })
}
