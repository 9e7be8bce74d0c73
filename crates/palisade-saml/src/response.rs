//! Validating a `samlp:Response` from the HTTP-POST binding into a [`SamlIdentity`].
//!
//! Fail closed: every check that cannot be made is a rejection, each with its own [`Error`]
//! variant. Identity data is read only from the assertion node that a verified signature covers.

use std::collections::BTreeMap;

use palisade_core::{ExternalIdentity, TenantId};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::binding::decode_post;
use crate::dsig::{DSIG_NS, signature_children, verify_element};
use crate::error::{Error, Result};
use crate::policy::{IdpConfig, SpConfig};
use crate::xml::{Document, Element, Limits};
use crate::xmlenc::decrypt_element;
use crate::{SAML_NS, SAMLP_NS};

/// The `Success` status code.
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// The bearer subject-confirmation method.
pub const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// Who signed in: the output of a successful validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SamlIdentity {
    /// The tenant the IdP belongs to (set by the host; `None` from the bare validator).
    pub tenant: Option<TenantId>,
    /// The IdP's entityID.
    pub idp: String,
    /// The NameID value (full canonical text).
    pub name_id: String,
    /// The NameID Format, if given.
    pub name_id_format: Option<String>,
    /// The NameID NameQualifier, if given.
    pub name_qualifier: Option<String>,
    /// The NameID SPNameQualifier, if given.
    pub sp_name_qualifier: Option<String>,
    /// The SessionIndex of the AuthnStatement (for single logout).
    pub session_index: Option<String>,
    /// Attributes by Name, multi-valued.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// When the user authenticated at the IdP.
    #[serde(with = "time::serde::rfc3339::option")]
    pub authn_instant: Option<OffsetDateTime>,
    /// The AuthnContextClassRef.
    pub authn_context_class: Option<String>,
    /// The session's end as set by the IdP (SessionNotOnOrAfter).
    #[serde(with = "time::serde::rfc3339::option")]
    pub session_not_on_or_after: Option<OffsetDateTime>,
    /// The Response ID.
    pub response_id: String,
    /// The Assertion ID (replay-cache key).
    pub assertion_id: String,
    /// InResponseTo of the Response / SubjectConfirmationData, if any.
    pub in_response_to: Option<String>,
    /// Until when the assertion could be replayed (keep the replay entry until then).
    #[serde(with = "time::serde::rfc3339")]
    pub replay_until: OffsetDateTime,
    /// Which signatures covered the assertion: "response", "assertion" or both.
    pub signed: Vec<&'static str>,
}

const EMAIL_ATTRS: &[&str] = &[
    "email",
    "mail",
    "emailaddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "user.email",
];
const GIVEN_ATTRS: &[&str] = &[
    "givenname",
    "firstname",
    "first_name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "urn:oid:2.5.4.42",
];
const FAMILY_ATTRS: &[&str] = &[
    "sn",
    "surname",
    "lastname",
    "last_name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "urn:oid:2.5.4.4",
];
const DISPLAY_ATTRS: &[&str] = &[
    "displayname",
    "name",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "urn:oid:2.16.840.1.113730.3.1.241",
];
const GROUP_ATTRS: &[&str] = &[
    "groups",
    "group",
    "memberof",
    "roles",
    "role",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
    "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
];

impl SamlIdentity {
    fn first(&self, names: &[&str]) -> Option<String> {
        self.attributes
            .iter()
            .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
            .and_then(|(_, v)| v.first().cloned())
    }

    /// Converts into the protocol-neutral shape for Just-in-Time provisioning. The e-mail comes
    /// from the common attribute names, or from an emailAddress-format NameID.
    pub fn into_external(self, tenant: TenantId, email_verified: bool) -> ExternalIdentity {
        let email = self.first(EMAIL_ATTRS).or_else(|| {
            (self.name_id_format.as_deref() == Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"))
                .then(|| self.name_id.clone())
        });
        let groups = self
            .attributes
            .iter()
            .filter(|(k, _)| GROUP_ATTRS.iter().any(|n| k.eq_ignore_ascii_case(n)))
            .flat_map(|(_, v)| v.iter().cloned())
            .collect();
        ExternalIdentity {
            tenant,
            provider: self.idp.clone(),
            subject: self.name_id.clone(),
            email_verified: email_verified && email.is_some(),
            email,
            given_name: self.first(GIVEN_ATTRS),
            family_name: self.first(FAMILY_ATTRS),
            display_name: self.first(DISPLAY_ATTRS),
            groups,
            attributes: self.attributes,
            authenticated_at: self.authn_instant,
        }
    }
}

/// What the caller expects of this response.
#[derive(Debug, Clone, Default)]
pub struct Expectation<'a> {
    /// The ID of the AuthnRequest this response must answer (`None` = unsolicited).
    pub request_id: Option<&'a str>,
}

/// Size limits of the POST binding input.
#[derive(Debug, Clone)]
pub struct InputLimits {
    /// Maximum length of the base64 `SAMLResponse` value (default 512 KiB).
    pub max_base64: usize,
    /// Reader limits for the decoded XML.
    pub xml: Limits,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self { max_base64: 512 << 10, xml: Limits { max_bytes: 384 << 10, ..Limits::default() } }
    }
}

/// Parses an xs:dateTime.
pub(crate) fn parse_instant(v: &str, what: &'static str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(v.trim(), &Rfc3339)
        .map_err(|_| Error::Expired { what, detail: format!("unparseable instant {v:?}") })
}

fn opt_instant(e: Element<'_>, attr: &str, what: &'static str) -> Result<Option<OffsetDateTime>> {
    e.attr(attr).map(|v| parse_instant(v, what)).transpose()
}

fn fmt(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Every `ds:Signature` in the document must be the enveloped signature of the Response root or
/// of the Assertion directly under it, placed right after the Issuer.
fn check_signature_positions(doc: &Document, response: Element<'_>) -> Result<()> {
    for e in std::iter::once(doc.root()).chain(doc.root().descendants()) {
        if !e.is(DSIG_NS, "Signature") {
            continue;
        }
        let parent =
            e.parent().ok_or_else(|| Error::SignaturePosition("Signature as the document root".into()))?;
        let ok_parent =
            parent == response || (parent.is(SAML_NS, "Assertion") && parent.parent() == Some(response));
        if !ok_parent {
            return Err(Error::SignaturePosition(format!(
                "a Signature inside {{{}}}{}; only the Response and its Assertion may be signed",
                parent.namespace().unwrap_or(""),
                parent.local_name()
            )));
        }
        let first = parent.children().next();
        let second = parent.children().nth(1);
        let placed = match first {
            Some(f) if f.is(SAML_NS, "Issuer") => second == Some(e),
            Some(f) => f == e,
            None => false,
        };
        if !placed {
            return Err(Error::SignaturePosition(format!(
                "the {} Signature must directly follow its Issuer",
                parent.local_name()
            )));
        }
    }
    Ok(())
}

/// Validates a SAML Response (XML text, or the base64 value of the `SAMLResponse` form field).
pub fn validate_response(
    input: &[u8],
    sp: &SpConfig,
    idp: &IdpConfig,
    expect: &Expectation<'_>,
    now: OffsetDateTime,
    limits: &InputLimits,
) -> Result<SamlIdentity> {
    let xml = decode_post(input, limits)?;
    let doc = Document::parse(&xml, &limits.xml)?;
    validate_document(&doc, sp, idp, expect, now, limits)
}

/// Validates an already parsed Response document.
pub fn validate_document(
    doc: &Document,
    sp: &SpConfig,
    idp: &IdpConfig,
    expect: &Expectation<'_>,
    now: OffsetDateTime,
    limits: &InputLimits,
) -> Result<SamlIdentity> {
    idp.validate()?;
    let policy = &idp.policy;
    let skew = Duration::seconds(policy.clock_skew_secs.clamp(0, 300));
    if let Some(until) = idp.valid_until
        && now > until
    {
        return Err(Error::MetadataExpired(fmt(until)));
    }
    let response = doc.root();
    if !response.is(SAMLP_NS, "Response") {
        return Err(Error::UnexpectedMessage {
            expected: "samlp:Response",
            found: format!("{{{}}}{}", response.namespace().unwrap_or(""), response.local_name()),
        });
    }
    let version = response.attr("Version").ok_or(Error::Missing("Response Version"))?;
    if version != "2.0" {
        return Err(Error::Version(version.to_owned()));
    }
    let response_id =
        response.attr("ID").filter(|v| !v.trim().is_empty()).ok_or(Error::Missing("Response ID"))?;
    check_signature_positions(doc, response)?;

    // Status.
    let status = response.child(SAMLP_NS, "Status").ok_or(Error::Missing("Status"))?;
    let code = status.child(SAMLP_NS, "StatusCode").ok_or(Error::Missing("StatusCode"))?;
    let code_value = code.attr("Value").unwrap_or_default();
    if code_value != STATUS_SUCCESS {
        let sub = code.child(SAMLP_NS, "StatusCode").and_then(|c| c.attr("Value"));
        let msg = status.child(SAMLP_NS, "StatusMessage").map(|m| m.text());
        let message = match (sub, msg) {
            (Some(s), Some(m)) => Some(format!("{s}: {m}")),
            (Some(s), None) => Some(s.to_owned()),
            (None, m) => m,
        };
        return Err(Error::Status { code: code_value.to_owned(), message });
    }

    // Exactly one assertion in the whole document (plain or encrypted), directly under Response.
    let all: Vec<Element<'_>> = response
        .descendants()
        .into_iter()
        .filter(|e| e.is(SAML_NS, "Assertion") || e.is(SAML_NS, "EncryptedAssertion"))
        .collect();
    let [assertion_or_enc] = all.as_slice() else {
        return Err(Error::AssertionCount(all.len()));
    };
    if assertion_or_enc.parent() != Some(response) {
        return Err(Error::AssertionCount(0));
    }

    // The Response signature, if any, must verify; it may be required.
    let mut signed = Vec::new();
    let response_verified = if signature_children(response).is_empty() {
        if policy.require_signed_response {
            return Err(Error::MissingSignature { element: "Response" });
        }
        None
    } else {
        let v = verify_element(response, &idp.signing_certs, &policy.algorithms)?;
        signed.push("response");
        Some(v)
    };

    // Envelope checks.
    match response.attr("Destination") {
        Some(d) if d == sp.acs_url => {}
        Some(d) => return Err(Error::Destination { found: d.to_owned(), expected: sp.acs_url.clone() }),
        None if response_verified.is_some() => {
            return Err(Error::Destination { found: String::new(), expected: sp.acs_url.clone() });
        }
        None => {}
    }
    if let Some(issuer) = response.child(SAML_NS, "Issuer") {
        check_issuer(issuer, "Response", &idp.entity_id)?;
    }
    let response_irt = response.attr("InResponseTo");
    match (response_irt, expect.request_id) {
        (Some(got), Some(want)) if got == want => {}
        (Some(got), _) => return Err(Error::InResponseTo(got.to_owned())),
        (None, Some(_)) => {}
        (None, None) if policy.allow_idp_initiated => {}
        (None, None) => return Err(Error::Unsolicited),
    }
    let issue = parse_instant(
        response.attr("IssueInstant").ok_or(Error::Missing("Response IssueInstant"))?,
        "Response IssueInstant",
    )?;
    check_issue_instant(issue, now, skew, policy.max_issue_age_secs, "Response IssueInstant")?;

    // The assertion: decrypted if needed, then covered by a verified signature.
    let decrypted;
    let assertion_doc_root;
    let assertion = if assertion_or_enc.is(SAML_NS, "EncryptedAssertion") {
        let key = sp
            .decryption_key
            .as_ref()
            .ok_or_else(|| Error::Decryption("no SP decryption key configured".into()))?;
        decrypted = decrypt_element(*assertion_or_enc, key, policy.allow_rsa1_5, &limits.xml)?;
        assertion_doc_root = decrypted.root();
        let kids: Vec<Element<'_>> = assertion_doc_root.children().collect();
        let [a] = kids.as_slice() else {
            return Err(Error::Decryption("plaintext must be exactly one Assertion".into()));
        };
        if !a.is(SAML_NS, "Assertion") {
            return Err(Error::Decryption("plaintext is not a saml:Assertion".into()));
        }
        if a.descendants().iter().any(|e| e.is(SAML_NS, "Assertion") || e.is(SAML_NS, "EncryptedAssertion")) {
            return Err(Error::AssertionCount(2));
        }
        for s in a.descendants().into_iter().filter(|e| e.is(DSIG_NS, "Signature")) {
            if s.parent() != Some(*a) {
                return Err(Error::SignaturePosition(
                    "a Signature nested inside the decrypted assertion".into(),
                ));
            }
        }
        *a
    } else {
        *assertion_or_enc
    };
    let assertion_signed = !signature_children(assertion).is_empty();
    let verified_assertion = if assertion_signed {
        let v = verify_element(assertion, &idp.signing_certs, &policy.algorithms)?;
        signed.push("assertion");
        v.element()
    } else if policy.require_signed_assertion {
        return Err(Error::MissingSignature { element: "Assertion" });
    } else if let Some(rv) = response_verified {
        // Covered by the Response signature: read it as a child of the verified node.
        if assertion_or_enc.is(SAML_NS, "EncryptedAssertion") {
            assertion
        } else {
            rv.element()
                .children()
                .find(|c| *c == assertion)
                .ok_or(Error::MissingSignature { element: "Assertion" })?
        }
    } else {
        return Err(Error::MissingSignature { element: "Assertion" });
    };
    read_assertion(verified_assertion, response_id, response_irt, sp, idp, expect, now, skew, signed)
}

fn check_issuer(issuer: Element<'_>, element: &'static str, expected: &str) -> Result<()> {
    let value = issuer.text();
    if let Some(f) = issuer.attr("Format")
        && f != "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
    {
        return Err(Error::Issuer {
            element,
            found: format!("{value} (Format {f})"),
            expected: expected.to_owned(),
        });
    }
    if value.trim() != expected {
        return Err(Error::Issuer { element, found: value, expected: expected.to_owned() });
    }
    Ok(())
}

fn check_issue_instant(
    issue: OffsetDateTime,
    now: OffsetDateTime,
    skew: Duration,
    max_age: i64,
    what: &'static str,
) -> Result<()> {
    if issue > now + skew {
        return Err(Error::Expired {
            what,
            detail: format!("issued in the future: {} > now {}", fmt(issue), fmt(now)),
        });
    }
    if issue + Duration::seconds(max_age) + skew < now {
        return Err(Error::Expired {
            what,
            detail: format!("too old: issued {} (max age {max_age}s), now {}", fmt(issue), fmt(now)),
        });
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn read_assertion(
    a: Element<'_>,
    response_id: &str,
    response_irt: Option<&str>,
    sp: &SpConfig,
    idp: &IdpConfig,
    expect: &Expectation<'_>,
    now: OffsetDateTime,
    skew: Duration,
    signed: Vec<&'static str>,
) -> Result<SamlIdentity> {
    let policy = &idp.policy;
    let version = a.attr("Version").ok_or(Error::Missing("Assertion Version"))?;
    if version != "2.0" {
        return Err(Error::Version(version.to_owned()));
    }
    let assertion_id = a.attr("ID").filter(|v| !v.trim().is_empty()).ok_or(Error::Missing("Assertion ID"))?;
    let issuer = a.child(SAML_NS, "Issuer").ok_or(Error::Missing("Assertion Issuer"))?;
    check_issuer(issuer, "Assertion", &idp.entity_id)?;
    let issue = parse_instant(
        a.attr("IssueInstant").ok_or(Error::Missing("Assertion IssueInstant"))?,
        "Assertion IssueInstant",
    )?;
    check_issue_instant(issue, now, skew, policy.max_issue_age_secs, "Assertion IssueInstant")?;

    // Subject.
    let subject = a.child(SAML_NS, "Subject").ok_or(Error::Missing("Subject"))?;
    if subject.child(SAML_NS, "EncryptedID").is_some() {
        return Err(Error::Decryption("EncryptedID is not supported; ask the IdP for a plain NameID".into()));
    }
    let name_id = subject.child(SAML_NS, "NameID").ok_or(Error::Missing("Subject NameID"))?;
    let name_id_value = name_id.text();
    if name_id_value.trim().is_empty() {
        return Err(Error::Missing("NameID value"));
    }
    let name_id_format = name_id.attr("Format").map(str::to_owned);
    if let Some(required) = &policy.name_id_format
        && name_id_format.as_deref() != Some(required.as_str())
    {
        return Err(Error::SubjectConfirmation(format!(
            "NameID Format {:?} is not the required {required:?}",
            name_id_format.as_deref().unwrap_or("(none)")
        )));
    }
    let mut scd_until = None;
    let mut scd_irt = None;
    let mut reasons = Vec::new();
    let confirmations: Vec<Element<'_>> = subject.children_named(SAML_NS, "SubjectConfirmation").collect();
    for sc in &confirmations {
        match check_confirmation(*sc, sp, expect, now, skew, policy.allow_idp_initiated) {
            Ok((until, irt)) => {
                scd_until = Some(until);
                scd_irt = irt;
                break;
            }
            Err(e) => reasons.push(e),
        }
    }
    let Some(scd_until) = scd_until else {
        if reasons.len() == 1
            && let Some(e) = reasons.pop()
        {
            return Err(e);
        }
        return Err(Error::SubjectConfirmation(if reasons.is_empty() {
            "no SubjectConfirmation".into()
        } else {
            reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        }));
    };

    // Conditions.
    let conditions = a.child(SAML_NS, "Conditions");
    let mut until = scd_until;
    let mut audience_seen = false;
    if let Some(c) = conditions {
        if let Some(nb) = opt_instant(c, "NotBefore", "Conditions NotBefore")?
            && now + skew < nb
        {
            return Err(Error::Expired {
                what: "Conditions NotBefore",
                detail: format!("not valid before {}, now {}", fmt(nb), fmt(now)),
            });
        }
        if let Some(noa) = opt_instant(c, "NotOnOrAfter", "Conditions NotOnOrAfter")? {
            if now >= noa + skew {
                return Err(Error::Expired {
                    what: "Conditions NotOnOrAfter",
                    detail: format!("expired at {}, now {}", fmt(noa), fmt(now)),
                });
            }
            until = until.min(noa);
        }
        for ar in c.children_named(SAML_NS, "AudienceRestriction") {
            audience_seen = true;
            if !ar.children_named(SAML_NS, "Audience").any(|au| au.text().trim() == sp.entity_id) {
                return Err(Error::Audience(sp.entity_id.clone()));
            }
        }
    }
    if !audience_seen && policy.require_audience {
        return Err(Error::Audience(sp.entity_id.clone()));
    }

    // AuthnStatement.
    let authn = a.child(SAML_NS, "AuthnStatement");
    let mut session_index = None;
    let mut authn_instant = None;
    let mut authn_context_class = None;
    let mut session_not_on_or_after = None;
    if let Some(s) = authn {
        session_index = s.attr("SessionIndex").map(str::to_owned);
        authn_instant = opt_instant(s, "AuthnInstant", "AuthnInstant")?;
        session_not_on_or_after = opt_instant(s, "SessionNotOnOrAfter", "SessionNotOnOrAfter")?;
        if let Some(snoa) = session_not_on_or_after
            && now >= snoa + skew
        {
            return Err(Error::Expired {
                what: "SessionNotOnOrAfter",
                detail: format!("session ended at {}, now {}", fmt(snoa), fmt(now)),
            });
        }
        authn_context_class = s
            .child(SAML_NS, "AuthnContext")
            .and_then(|c| c.child(SAML_NS, "AuthnContextClassRef"))
            .map(|r| r.text().trim().to_owned());
    }

    // Attributes.
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for st in a.children_named(SAML_NS, "AttributeStatement") {
        if st.child(SAML_NS, "EncryptedAttribute").is_some() {
            return Err(Error::Decryption("EncryptedAttribute is not supported".into()));
        }
        for attr in st.children_named(SAML_NS, "Attribute") {
            let name = attr.attr("Name").ok_or(Error::Missing("Attribute Name"))?;
            if attributes.contains_key(name) {
                return Err(Error::DuplicateAttribute(name.to_owned()));
            }
            let values = attr.children_named(SAML_NS, "AttributeValue").map(|v| v.text()).collect();
            attributes.insert(name.to_owned(), values);
        }
    }

    Ok(SamlIdentity {
        tenant: None,
        idp: idp.entity_id.clone(),
        name_id: name_id_value,
        name_id_format,
        name_qualifier: name_id.attr("NameQualifier").map(str::to_owned),
        sp_name_qualifier: name_id.attr("SPNameQualifier").map(str::to_owned),
        session_index,
        attributes,
        authn_instant,
        authn_context_class,
        session_not_on_or_after,
        response_id: response_id.to_owned(),
        assertion_id: assertion_id.to_owned(),
        in_response_to: scd_irt.or(response_irt.map(str::to_owned)),
        replay_until: until + skew,
        signed,
    })
}

fn check_confirmation(
    sc: Element<'_>,
    sp: &SpConfig,
    expect: &Expectation<'_>,
    now: OffsetDateTime,
    skew: Duration,
    allow_idp_initiated: bool,
) -> Result<(OffsetDateTime, Option<String>)> {
    let method = sc.attr("Method").unwrap_or_default();
    if method != CM_BEARER {
        return Err(Error::SubjectConfirmation(format!("method {method:?} is not bearer")));
    }
    let data =
        sc.child(SAML_NS, "SubjectConfirmationData").ok_or(Error::Missing("SubjectConfirmationData"))?;
    let recipient = data.attr("Recipient").unwrap_or_default();
    if recipient != sp.acs_url {
        return Err(Error::SubjectConfirmation(format!(
            "Recipient {recipient:?} is not the ACS URL {:?}",
            sp.acs_url
        )));
    }
    let noa = opt_instant(data, "NotOnOrAfter", "SubjectConfirmationData NotOnOrAfter")?
        .ok_or(Error::Missing("SubjectConfirmationData NotOnOrAfter"))?;
    if now >= noa + skew {
        return Err(Error::Expired {
            what: "SubjectConfirmationData NotOnOrAfter",
            detail: format!("expired at {}, now {}", fmt(noa), fmt(now)),
        });
    }
    if let Some(nb) = opt_instant(data, "NotBefore", "SubjectConfirmationData NotBefore")?
        && now + skew < nb
    {
        return Err(Error::Expired {
            what: "SubjectConfirmationData NotBefore",
            detail: format!("not valid before {}, now {}", fmt(nb), fmt(now)),
        });
    }
    let irt = data.attr("InResponseTo");
    match (irt, expect.request_id) {
        (Some(got), Some(want)) if got == want => {}
        (Some(got), _) => return Err(Error::InResponseTo(got.to_owned())),
        (None, Some(want)) => return Err(Error::InResponseTo(format!("(absent; expected {want})"))),
        (None, None) if allow_idp_initiated => {}
        (None, None) => return Err(Error::Unsolicited),
    }
    Ok((noa, irt.map(str::to_owned)))
}
