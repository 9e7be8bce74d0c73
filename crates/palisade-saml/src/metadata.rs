//! SAML metadata: reading an IdP's (EntityDescriptor or EntitiesDescriptor, selection by
//! entityID, every signing certificate kept for rollover, `validUntil` honoured, optional
//! signature check) and writing the SP's.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::dsig::{sign_xml, signature_children, verify_element};
use crate::error::{Error, Result};
use crate::keys::{AlgorithmPolicy, TrustedCert};
use crate::policy::{IdpConfig, IdpPolicy, SpConfig};
use crate::response::parse_instant;
use crate::xml::{Document, Element, Limits, escape_attr};
use crate::{MD_NS, SAMLP_NS};

/// The HTTP-Redirect binding URI.
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// The HTTP-POST binding URI.
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// Options for reading IdP metadata.
#[derive(Debug, Clone, Default)]
pub struct MetadataOptions<'a> {
    /// Which entity to select when the document holds several.
    pub entity_id: Option<&'a str>,
    /// When set, the metadata must carry a valid signature by one of these certificates.
    pub signed_by: Option<&'a [TrustedCert]>,
    /// Algorithm policy for the metadata signature.
    pub algorithms: AlgorithmPolicy,
}

fn entity_descriptors<'d>(e: Element<'d>, out: &mut Vec<Element<'d>>) {
    if e.is(MD_NS, "EntityDescriptor") {
        out.push(e);
    } else if e.is(MD_NS, "EntitiesDescriptor") {
        for c in e.children() {
            entity_descriptors(c, out);
        }
    }
}

fn valid_until_of(e: Element<'_>) -> Result<Option<OffsetDateTime>> {
    let mut until: Option<OffsetDateTime> = None;
    let mut cur = Some(e);
    while let Some(x) = cur {
        if let Some(v) = x.attr("validUntil") {
            let t = parse_instant(v, "metadata validUntil")
                .map_err(|_| Error::Metadata(format!("validUntil {v:?} unparseable")))?;
            until = Some(until.map_or(t, |u| u.min(t)));
        }
        cur = x.parent();
    }
    Ok(until)
}

/// Reads an IdP from metadata XML, as of `now`.
pub fn parse_idp_metadata(xml: &str, opts: &MetadataOptions<'_>, now: OffsetDateTime) -> Result<IdpConfig> {
    let doc =
        Document::parse(xml, &Limits { max_bytes: 8 << 20, max_nodes: 1_000_000, ..Limits::default() })?;
    let root = doc.root();
    if let Some(certs) = opts.signed_by {
        if signature_children(root).is_empty() {
            return Err(Error::MissingSignature { element: "EntityDescriptor" });
        }
        verify_element(root, certs, &opts.algorithms)?;
    }
    if let Some(u) = root.attr("validUntil") {
        let t = parse_instant(u, "metadata validUntil")
            .map_err(|_| Error::Metadata(format!("validUntil {u:?} unparseable")))?;
        if now > t {
            return Err(Error::MetadataExpired(u.to_owned()));
        }
    }
    let mut all = Vec::new();
    entity_descriptors(root, &mut all);
    if all.is_empty() {
        return Err(Error::Metadata("no EntityDescriptor found".into()));
    }
    let entity = match opts.entity_id {
        Some(id) => all
            .iter()
            .copied()
            .find(|e| e.attr("entityID") == Some(id))
            .ok_or_else(|| Error::Metadata(format!("entity {id:?} not found in metadata")))?,
        None => {
            let idps: Vec<Element<'_>> =
                all.iter().copied().filter(|e| e.child(MD_NS, "IDPSSODescriptor").is_some()).collect();
            match idps.as_slice() {
                [one] => *one,
                [] => all.first().copied().ok_or_else(|| Error::Metadata("no EntityDescriptor".into()))?,
                many => {
                    let ids: Vec<&str> = many.iter().filter_map(|e| e.attr("entityID")).collect();
                    return Err(Error::Metadata(format!("several IdPs in metadata; select one of {ids:?}")));
                }
            }
        }
    };
    let valid_until = valid_until_of(entity)?;
    if let Some(u) = valid_until
        && now > u
    {
        return Err(Error::MetadataExpired(u.format(&Rfc3339).unwrap_or_default()));
    }
    let entity_id = entity
        .attr("entityID")
        .filter(|v| !v.is_empty())
        .ok_or(Error::Metadata("EntityDescriptor without entityID".into()))?;
    let idp = entity
        .children_named(MD_NS, "IDPSSODescriptor")
        .find(|d| {
            d.attr("protocolSupportEnumeration")
                .is_none_or(|p| p.split_ascii_whitespace().any(|x| x == SAMLP_NS))
        })
        .ok_or_else(|| Error::Metadata(format!("entity {entity_id:?} has no SAML 2.0 IDPSSODescriptor")))?;
    let mut signing_certs = Vec::new();
    for kd in idp.children_named(MD_NS, "KeyDescriptor") {
        if kd.attr("use").is_some_and(|u| u != "signing") {
            continue;
        }
        for ki in kd.children_named(crate::dsig::DSIG_NS, "KeyInfo") {
            for xd in ki.children_named(crate::dsig::DSIG_NS, "X509Data") {
                for c in xd.children_named(crate::dsig::DSIG_NS, "X509Certificate") {
                    let cert = TrustedCert::from_base64(&c.text())
                        .map_err(|e| Error::Metadata(format!("signing certificate unusable: {e}")))?;
                    if !signing_certs.contains(&cert) {
                        signing_certs.push(cert);
                    }
                }
            }
        }
    }
    if signing_certs.is_empty() {
        return Err(Error::Metadata(format!("entity {entity_id:?} publishes no signing certificate")));
    }
    let endpoint = |name: &str| {
        idp.children_named(MD_NS, name)
            .find(|s| s.attr("Binding") == Some(BINDING_REDIRECT))
            .or_else(|| idp.children_named(MD_NS, name).next())
            .and_then(|s| s.attr("Location"))
            .map(str::to_owned)
    };
    Ok(IdpConfig {
        entity_id: entity_id.to_owned(),
        signing_certs,
        sso_url: endpoint("SingleSignOnService"),
        slo_url: endpoint("SingleLogoutService"),
        valid_until,
        policy: IdpPolicy::default(),
    })
}

/// Writes the SP's metadata: entityID, ACS (HTTP-POST), SLO (Redirect and POST), signing
/// certificates (current and next during rollover) and the encryption certificate. Signed with
/// the SP key when `sign` is set.
pub fn sp_metadata(
    sp: &SpConfig,
    extra_signing_certs: &[TrustedCert],
    encryption_cert: Option<&TrustedCert>,
    valid_until: Option<OffsetDateTime>,
    sign: bool,
) -> Result<String> {
    sp.validate()?;
    let mut keys = String::new();
    let key_descriptor = |use_: &str, c: &TrustedCert| {
        format!(
            "<md:KeyDescriptor use=\"{use_}\"><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
            c.base64()
        )
    };
    if let Some(c) = sp.signing_key.as_ref().and_then(|k| k.certificate()) {
        keys.push_str(&key_descriptor("signing", c));
    }
    if let Some(c) = &sp.next_signing_cert {
        keys.push_str(&key_descriptor("signing", c));
    }
    for c in extra_signing_certs {
        keys.push_str(&key_descriptor("signing", c));
    }
    if let Some(c) = encryption_cert {
        keys.push_str(&key_descriptor("encryption", c));
    }
    let slo = sp
        .slo_url
        .as_ref()
        .map(|u| {
            format!(
                "<md:SingleLogoutService Binding=\"{BINDING_REDIRECT}\" Location=\"{0}\"/><md:SingleLogoutService Binding=\"{BINDING_POST}\" Location=\"{0}\"/>",
                escape_attr(u)
            )
        })
        .unwrap_or_default();
    let id = crate::authn::new_id()?;
    let until = valid_until
        .map(|u| format!(" validUntil=\"{}\"", u.format(&Rfc3339).unwrap_or_default()))
        .unwrap_or_default();
    let signs = sp.signing_key.is_some();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<md:EntityDescriptor xmlns:md=\"{MD_NS}\" ID=\"{id}\" entityID=\"{}\"{until}>\
<md:SPSSODescriptor AuthnRequestsSigned=\"{signs}\" WantAssertionsSigned=\"true\" protocolSupportEnumeration=\"{SAMLP_NS}\">{keys}{slo}\
<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>\
<md:AssertionConsumerService Binding=\"{BINDING_POST}\" Location=\"{}\" index=\"0\" isDefault=\"true\"/>\
</md:SPSSODescriptor></md:EntityDescriptor>\n",
        escape_attr(&sp.entity_id),
        escape_attr(&sp.acs_url)
    );
    match (&sp.signing_key, sign) {
        (Some(k), true) => sign_xml(&xml, &id, k),
        (None, true) => Err(Error::Config(vec!["signing SP metadata needs an SP signing key".into()])),
        _ => Ok(xml),
    }
}
