//! XML-DSig for SAML: verify the one enveloped signature of an element, and sign.
//!
//! The verifier follows the SAML XML-DSig profile strictly:
//! * exactly one `ds:Signature`, a **direct child** of the element it signs;
//! * `SignedInfo`, `SignatureValue`, `KeyInfo` located **positionally** inside that Signature;
//! * exactly one `Reference`, with `URI="#<ID of that element>"`;
//! * transforms only enveloped-signature and exclusive c14n (optionally with a `PrefixList`);
//! * algorithms from an allow-list ([`AlgorithmPolicy`]);
//! * keys only from configured certificates; a `KeyInfo` certificate must equal one of them.
//!
//! Success yields a [`Verified`] view of exactly the signed element; code that consumes the data
//! reads through it.

use base64::Engine;

use crate::c14n::{
    C14nOptions, DigestSink, EXC_C14N, EXC_C14N_WITH_COMMENTS, canonicalize, canonicalize_into,
};
use crate::error::{Error, Result};
use crate::keys::{AlgorithmPolicy, Digest, SignatureAlgorithm, SigningKey, TrustedCert, b64_decode_ws};
use crate::xml::{Document, Element, Limits, NodeId, escape_attr};

/// The XML-DSig namespace.
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// An element whose enveloped signature verified. Reads go through [`Verified::element`], which
/// is the very node that was digested.
#[derive(Debug, Clone, Copy)]
pub struct Verified<'d> {
    element: Element<'d>,
    signature: NodeId,
    algorithm: SignatureAlgorithm,
    cert_index: usize,
}

impl<'d> Verified<'d> {
    /// The signed element.
    pub fn element(&self) -> Element<'d> {
        self.element
    }

    /// The node of the signature that covered it.
    pub fn signature_node(&self) -> NodeId {
        self.signature
    }

    /// The signature algorithm used.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// Index (in the configured list) of the certificate that verified.
    pub fn cert_index(&self) -> usize {
        self.cert_index
    }
}

fn structure(msg: impl Into<String>) -> Error {
    Error::SignatureStructure(msg.into())
}

/// Element children of `e`, refusing non-whitespace text between them.
fn element_children<'d>(e: Element<'d>, what: &str) -> Result<Vec<Element<'d>>> {
    if e.has_non_whitespace_text() {
        return Err(structure(format!("unexpected text inside {what}")));
    }
    Ok(e.children().collect())
}

/// The `ds:Signature` children of `element`.
pub fn signature_children<'d>(element: Element<'d>) -> Vec<Element<'d>> {
    element.children_named(DSIG_NS, "Signature").collect()
}

struct ParsedSignature<'d> {
    signed_info: Element<'d>,
    c14n_method: String,
    c14n_prefixes: Vec<String>,
    sig_method: SignatureAlgorithm,
    reference_uri: String,
    exc_prefixes: Vec<String>,
    digest: Digest,
    digest_value: Vec<u8>,
    signature_value: Vec<u8>,
    keyinfo_certs: Vec<Vec<u8>>,
}

fn inclusive_prefixes(transform: Element<'_>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for c in element_children(transform, "Transform")? {
        if c.is(EXC_C14N, "InclusiveNamespaces") {
            if let Some(list) = c.attr("PrefixList") {
                out.extend(list.split_ascii_whitespace().map(str::to_owned));
            }
        } else {
            return Err(structure(format!("unexpected element {} in Transform", c.local_name())));
        }
    }
    Ok(out)
}

fn parse_signature<'d>(sig: Element<'d>, policy: &AlgorithmPolicy) -> Result<ParsedSignature<'d>> {
    let kids = element_children(sig, "Signature")?;
    let mut it = kids.into_iter();
    let signed_info = it
        .next()
        .filter(|e| e.is(DSIG_NS, "SignedInfo"))
        .ok_or_else(|| structure("first child of Signature must be SignedInfo"))?;
    let sv = it
        .next()
        .filter(|e| e.is(DSIG_NS, "SignatureValue"))
        .ok_or_else(|| structure("second child of Signature must be SignatureValue"))?;
    let mut keyinfo_certs = Vec::new();
    for rest in it {
        if rest.is(DSIG_NS, "KeyInfo") {
            for data in rest.children_named(DSIG_NS, "X509Data") {
                for c in data.children_named(DSIG_NS, "X509Certificate") {
                    keyinfo_certs.push(b64_decode_ws(&c.text())?);
                }
            }
        } else if !rest.is(DSIG_NS, "Object") {
            return Err(structure(format!("unexpected element {} in Signature", rest.local_name())));
        }
    }
    let si = element_children(signed_info, "SignedInfo")?;
    let [cm, sm, reference] = si.as_slice() else {
        return Err(structure(format!(
            "SignedInfo must hold CanonicalizationMethod, SignatureMethod and exactly one Reference (found {} children)",
            si.len()
        )));
    };
    if !cm.is(DSIG_NS, "CanonicalizationMethod")
        || !sm.is(DSIG_NS, "SignatureMethod")
        || !reference.is(DSIG_NS, "Reference")
    {
        return Err(structure("SignedInfo children out of order"));
    }
    let c14n_method =
        cm.attr("Algorithm").ok_or(Error::Missing("CanonicalizationMethod Algorithm"))?.to_owned();
    if c14n_method != EXC_C14N && c14n_method != EXC_C14N_WITH_COMMENTS {
        return Err(Error::AlgorithmNotAllowed(c14n_method));
    }
    let c14n_prefixes = inclusive_prefixes(*cm)?;
    let sig_method = SignatureAlgorithm::from_uri(
        sm.attr("Algorithm").ok_or(Error::Missing("SignatureMethod Algorithm"))?,
        policy,
    )?;
    if sm.children().next().is_some() {
        return Err(structure("SignatureMethod must be empty (no HMACOutputLength)"));
    }
    let reference_uri = reference.attr("URI").ok_or(Error::Missing("Reference URI"))?.to_owned();
    let rk = element_children(*reference, "Reference")?;
    let (transforms, dm, dv) = match rk.as_slice() {
        [t, dm, dv] if t.is(DSIG_NS, "Transforms") => (Some(*t), *dm, *dv),
        [dm, dv] => (None, *dm, *dv),
        _ => return Err(structure("Reference must hold Transforms, DigestMethod, DigestValue")),
    };
    if !dm.is(DSIG_NS, "DigestMethod") || !dv.is(DSIG_NS, "DigestValue") {
        return Err(structure("Reference children out of order"));
    }
    let digest =
        Digest::from_uri(dm.attr("Algorithm").ok_or(Error::Missing("DigestMethod Algorithm"))?, policy)?;
    let mut saw_enveloped = false;
    let mut saw_c14n = false;
    let mut exc_prefixes = Vec::new();
    if let Some(t) = transforms {
        for tr in element_children(t, "Transforms")? {
            if !tr.is(DSIG_NS, "Transform") {
                return Err(structure("Transforms may only hold Transform"));
            }
            let alg = tr.attr("Algorithm").ok_or(Error::Missing("Transform Algorithm"))?;
            match alg {
                ENVELOPED if !saw_enveloped && !saw_c14n => saw_enveloped = true,
                EXC_C14N | EXC_C14N_WITH_COMMENTS if !saw_c14n => {
                    saw_c14n = true;
                    exc_prefixes = inclusive_prefixes(tr)?;
                }
                other => return Err(Error::UnsupportedTransform(other.to_owned())),
            }
        }
    }
    if !saw_enveloped {
        return Err(structure("the enveloped-signature transform is required"));
    }
    if !saw_c14n {
        return Err(structure("an exclusive c14n transform is required after enveloped-signature"));
    }
    Ok(ParsedSignature {
        signed_info,
        c14n_method,
        c14n_prefixes,
        sig_method,
        reference_uri,
        exc_prefixes,
        digest,
        digest_value: b64_decode_ws(&dv.text())?,
        signature_value: b64_decode_ws(&sv.text())?,
        keyinfo_certs,
    })
}

/// Verifies the single enveloped signature of `element` against `trusted` certificates.
///
/// `element` must carry an unqualified `ID` attribute, and the document's parser has already
/// refused duplicate IDs.
pub fn verify_element<'d>(
    element: Element<'d>,
    trusted: &[TrustedCert],
    policy: &AlgorithmPolicy,
) -> Result<Verified<'d>> {
    let name = element_label(element);
    let sigs = signature_children(element);
    let sig = match sigs.as_slice() {
        [] => return Err(Error::MissingSignature { element: name }),
        [one] => *one,
        _ => return Err(Error::MultipleSignatures { element: name }),
    };
    if trusted.is_empty() {
        return Err(Error::NoTrustedCertificates);
    }
    let id = element
        .attr("ID")
        .filter(|v| !v.is_empty())
        .ok_or(Error::Missing("ID attribute of the signed element"))?;
    let mut p = parse_signature(sig, policy)?;
    let expected = format!("#{id}");
    if p.reference_uri != expected {
        return Err(Error::ReferenceMismatch { found: p.reference_uri, expected: id.to_owned() });
    }
    // Digest of the element with this signature left out (enveloped), comment-free (a same-document
    // `#ID` reference never includes comments).
    let opts = C14nOptions {
        with_comments: false,
        inclusive_prefixes: std::mem::take(&mut p.exc_prefixes),
        exclude: Some(sig.node_id()),
    };
    // The canonical form streams straight into the hash.
    let mut sink = DigestSink::new(p.digest.algorithm());
    canonicalize_into(element, &opts, &mut sink);
    let digest = sink.finish();
    if !palisade_core::ct_eq(digest.as_ref(), &p.digest_value) {
        return Err(Error::DigestMismatch);
    }
    let si_opts = C14nOptions {
        with_comments: p.c14n_method == EXC_C14N_WITH_COMMENTS,
        inclusive_prefixes: std::mem::take(&mut p.c14n_prefixes),
        exclude: None,
    };
    let signed_info = canonicalize(p.signed_info, &si_opts);
    // KeyInfo is a selector at most: any certificate it carries must be a configured one.
    let candidates: Vec<(usize, &TrustedCert)> = if p.keyinfo_certs.is_empty() {
        trusted.iter().enumerate().collect()
    } else {
        let sel: Vec<(usize, &TrustedCert)> = trusted
            .iter()
            .enumerate()
            .filter(|(_, t)| p.keyinfo_certs.iter().any(|k| k.as_slice() == t.der()))
            .collect();
        if sel.is_empty() {
            return Err(Error::UntrustedKeyInfo);
        }
        sel
    };
    let mut last = Error::BadSignature;
    for (i, cert) in candidates {
        match cert.verify(p.sig_method, signed_info.as_bytes(), &p.signature_value, policy) {
            Ok(()) => {
                return Ok(Verified {
                    element,
                    signature: sig.node_id(),
                    algorithm: p.sig_method,
                    cert_index: i,
                });
            }
            Err(e @ Error::WeakKey { .. }) => last = e,
            Err(_) => {}
        }
    }
    Err(last)
}

fn element_label(e: Element<'_>) -> &'static str {
    match e.local_name() {
        "Response" => "Response",
        "Assertion" => "Assertion",
        "EntityDescriptor" => "EntityDescriptor",
        "EntitiesDescriptor" => "EntitiesDescriptor",
        "LogoutRequest" => "LogoutRequest",
        "LogoutResponse" => "LogoutResponse",
        "AuthnRequest" => "AuthnRequest",
        _ => "element",
    }
}

/// Signs the element with `ID="id"` in the XML text `xml` with an enveloped exc-c14n signature,
/// inserted after the element's `Issuer` child when it has one (the SAML schema position) or as
/// its first child. Returns the signed XML.
pub fn sign_xml(xml: &str, id: &str, key: &SigningKey) -> Result<String> {
    let limits = Limits::default();
    let doc = Document::parse(xml, &limits)?;
    let element = doc.element_by_id(id).ok_or(Error::Missing("element to sign (by ID)"))?;
    if !signature_children(element).is_empty() {
        return Err(structure("element is already signed"));
    }
    let canonical = canonicalize(element, &C14nOptions::default());
    let (digest, digest_uri) = key.digest();
    let b64 = base64::engine::general_purpose::STANDARD;
    let digest_value = b64.encode(digest.digest(canonical.as_bytes()));
    let signed_info = format!(
        "<ds:SignedInfo xmlns:ds=\"{DSIG_NS}\"><ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"></ds:CanonicalizationMethod>\
<ds:SignatureMethod Algorithm=\"{}\"></ds:SignatureMethod><ds:Reference URI=\"#{}\"><ds:Transforms>\
<ds:Transform Algorithm=\"{ENVELOPED}\"></ds:Transform><ds:Transform Algorithm=\"{EXC_C14N}\"></ds:Transform></ds:Transforms>\
<ds:DigestMethod Algorithm=\"{digest_uri}\"></ds:DigestMethod><ds:DigestValue>{digest_value}</ds:DigestValue></ds:Reference></ds:SignedInfo>",
        key.algorithm().uri(),
        escape_attr(id),
    );
    // This standalone SignedInfo is already canonical, and exclusive c14n of it in place yields
    // the same bytes (it only uses the ds prefix, declared on ds:Signature).
    let sig_value = b64.encode(key.sign(signed_info.as_bytes())?);
    let signed_info_inner = signed_info.replacen(&format!(" xmlns:ds=\"{DSIG_NS}\""), "", 1);
    let key_info = key
        .certificate()
        .map(|c| format!("<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>", c.base64()))
        .unwrap_or_default();
    let signature = format!(
        "<ds:Signature xmlns:ds=\"{DSIG_NS}\">{signed_info_inner}<ds:SignatureValue>{sig_value}</ds:SignatureValue>{key_info}</ds:Signature>"
    );
    let issuer = element.children().next().filter(|c| c.is(crate::SAML_NS, "Issuer"));
    let at = match issuer {
        Some(i) => end_of_element(xml, i)?,
        None => element.start_tag_end(),
    };
    if xml.get(at.saturating_sub(2)..at) == Some("/>") && issuer.is_none() {
        return Err(structure("cannot sign an empty-tag element"));
    }
    let (head, tail) = (xml.get(..at).unwrap_or_default(), xml.get(at..).unwrap_or_default());
    Ok(format!("{head}{signature}{tail}"))
}

/// Byte offset just after `e`'s end tag in `xml` (the text `e` was parsed from).
fn end_of_element(xml: &str, e: Element<'_>) -> Result<usize> {
    let start_end = e.start_tag_end();
    if xml.get(..start_end).is_some_and(|s| s.ends_with("/>")) {
        return Ok(start_end);
    }
    let qname = match e.prefix() {
        Some(p) => format!("</{p}:{}", e.local_name()),
        None => format!("</{}", e.local_name()),
    };
    // The first matching end tag after the start tag closes it only if no nested element of the
    // same name exists; Issuer never nests.
    let rest = xml.get(start_end..).unwrap_or_default();
    let off = rest.find(&qname).ok_or_else(|| structure("end tag not found"))?;
    let after = rest.get(off..).unwrap_or_default();
    let close = after.find('>').ok_or_else(|| structure("end tag not closed"))?;
    Ok(start_end + off + close + 1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn structure_checks() {
        let x = r#"<r ID="a"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignatureValue/></ds:Signature></r>"#;
        let d = Document::parse_default(x).unwrap();
        assert!(matches!(
            verify_element(d.root(), &[], &AlgorithmPolicy::default()),
            Err(Error::NoTrustedCertificates)
        ));
    }
}
