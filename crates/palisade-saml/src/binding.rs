//! The HTTP-Redirect and HTTP-POST bindings: encoding, decoding (with size limits on both the
//! base64 input and the inflated output), query-string signatures, and the auto-submitting form.

use std::io::Read;

use base64::Engine;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::error::{Error, Result};
use crate::keys::{AlgorithmPolicy, SignatureAlgorithm, SigningKey, TrustedCert};
use crate::response::InputLimits;
use crate::xml::escape_attr;

/// Maximum RelayState length accepted and produced (the bindings spec says 80 bytes).
pub const MAX_RELAY_STATE: usize = 80;

/// Characters left unescaped in query values (RFC 3986 unreserved).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Decodes an HTTP-POST value (or raw XML) to XML text, within `limits`.
pub fn decode_post(input: &[u8], limits: &InputLimits) -> Result<String> {
    if input.len() > limits.max_base64.max(limits.xml.max_bytes) {
        return Err(Error::Encoding(format!(
            "input larger than {} bytes",
            limits.max_base64.max(limits.xml.max_bytes)
        )));
    }
    let trimmed = input.trim_ascii();
    if trimmed.first() == Some(&b'<') || trimmed.starts_with("\u{FEFF}".as_bytes()) {
        if trimmed.len() > limits.xml.max_bytes {
            return Err(Error::Encoding(format!("XML larger than {} bytes", limits.xml.max_bytes)));
        }
        return String::from_utf8(trimmed.to_vec()).map_err(|_| Error::Encoding("XML is not UTF-8".into()));
    }
    if trimmed.len() > limits.max_base64 {
        return Err(Error::Encoding(format!("base64 input larger than {} bytes", limits.max_base64)));
    }
    // Form values may arrive still percent-encoded or with line breaks.
    let text = std::str::from_utf8(trimmed)
        .map_err(|_| Error::Encoding("input is neither XML nor base64".into()))?;
    let text = if text.contains('%') {
        percent_decode_str(text).decode_utf8_lossy().into_owned()
    } else {
        text.to_owned()
    };
    let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let raw = b64()
        .decode(clean.as_bytes())
        .map_err(|e| Error::Encoding(format!("SAMLResponse is not base64: {e}")))?;
    if raw.trim_ascii_start().first() == Some(&b'<') {
        if raw.len() > limits.xml.max_bytes {
            return Err(Error::Encoding(format!("XML larger than {} bytes", limits.xml.max_bytes)));
        }
        return String::from_utf8(raw).map_err(|_| Error::Encoding("XML is not UTF-8".into()));
    }
    // Some senders DEFLATE POST values too.
    inflate_limited(&raw, limits.xml.max_bytes)
}

/// Inflates raw DEFLATE data, refusing output larger than `max`.
pub fn inflate_limited(data: &[u8], max: usize) -> Result<String> {
    let mut out = Vec::new();
    let mut dec = flate2::read::DeflateDecoder::new(data)
        .take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1));
    dec.read_to_end(&mut out).map_err(|e| Error::Encoding(format!("DEFLATE data invalid: {e}")))?;
    if out.len() > max {
        return Err(Error::Encoding(format!("inflated message larger than {max} bytes")));
    }
    String::from_utf8(out).map_err(|_| Error::Encoding("inflated message is not UTF-8".into()))
}

fn deflate(xml: &str) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(xml.as_bytes()).map_err(|e| Error::Encoding(e.to_string()))?;
    enc.finish().map_err(|e| Error::Encoding(e.to_string()))
}

fn check_relay_state(rs: Option<&str>) -> Result<()> {
    if let Some(r) = rs
        && r.len() > MAX_RELAY_STATE
    {
        return Err(Error::Binding(format!("RelayState longer than {MAX_RELAY_STATE} bytes")));
    }
    Ok(())
}

/// Builds an HTTP-Redirect URL for `xml` (`param` = `SAMLRequest` or `SAMLResponse`), signed with
/// `key` per the binding (signature over `param=..&RelayState=..&SigAlg=..`) when given.
pub fn redirect_url(
    endpoint: &str,
    param: &str,
    xml: &str,
    relay_state: Option<&str>,
    key: Option<&SigningKey>,
) -> Result<String> {
    check_relay_state(relay_state)?;
    let mut query = format!("{param}={}", utf8_percent_encode(&b64().encode(deflate(xml)?), QUERY));
    if let Some(rs) = relay_state {
        query.push_str(&format!("&RelayState={}", utf8_percent_encode(rs, QUERY)));
    }
    if let Some(k) = key {
        query.push_str(&format!("&SigAlg={}", utf8_percent_encode(k.algorithm().uri(), QUERY)));
        let sig = k.sign(query.as_bytes())?;
        query.push_str(&format!("&Signature={}", utf8_percent_encode(&b64().encode(sig), QUERY)));
    }
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    Ok(format!("{endpoint}{sep}{query}"))
}

/// A message received over HTTP-Redirect.
#[derive(Debug, Clone)]
pub struct RedirectMessage {
    /// The inflated XML.
    pub xml: String,
    /// RelayState, if any.
    pub relay_state: Option<String>,
    /// Whether a query-string signature was present and verified.
    pub signature_verified: bool,
}

/// Decodes and (when `certs` is non-empty) verifies an HTTP-Redirect query string. The signed
/// octets are taken from the raw query as received (so any percent-encoding, including ADFS's
/// lower-case one, verifies); a re-encoded form is tried as a fallback.
pub fn decode_redirect(
    raw_query: &str,
    certs: &[TrustedCert],
    policy: &AlgorithmPolicy,
    require_signature: bool,
    max_inflated: usize,
) -> Result<RedirectMessage> {
    if raw_query.len() > 512 << 10 {
        return Err(Error::Encoding("query string too long".into()));
    }
    let mut msg: Option<(&str, &str)> = None;
    let mut relay: Option<&str> = None;
    let mut sig_alg: Option<&str> = None;
    let mut signature: Option<&str> = None;
    for part in raw_query.trim_start_matches('?').split('&') {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let slot = match k {
            "SAMLRequest" | "SAMLResponse" => {
                if msg.is_some() {
                    return Err(Error::Binding("more than one SAML message in the query".into()));
                }
                msg = Some((k, v));
                continue;
            }
            "RelayState" => &mut relay,
            "SigAlg" => &mut sig_alg,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_some() {
            return Err(Error::Binding(format!("parameter {k} repeated")));
        }
        *slot = Some(v);
    }
    let (param, value) = msg.ok_or(Error::Missing("SAMLRequest or SAMLResponse parameter"))?;
    let dec = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| Error::Encoding("bad percent-encoding".into()))
    };
    let relay_state = relay.map(dec).transpose()?;
    check_relay_state(relay_state.as_deref())?;
    let deflated = b64()
        .decode(dec(value)?.replace(' ', "+").as_bytes())
        .map_err(|e| Error::Encoding(format!("not base64: {e}")))?;
    let xml = inflate_limited(&deflated, max_inflated)?;
    let mut signature_verified = false;
    match (sig_alg, signature) {
        (Some(alg), Some(sig)) => {
            if certs.is_empty() {
                return Err(Error::NoTrustedCertificates);
            }
            let alg_uri = dec(alg)?;
            let alg = SignatureAlgorithm::from_uri(&alg_uri, policy)?;
            let sig = b64()
                .decode(dec(sig)?.replace(' ', "+").as_bytes())
                .map_err(|e| Error::Encoding(format!("Signature not base64: {e}")))?;
            let mut raw = format!("{param}={value}");
            if let Some(r) = relay {
                raw.push_str(&format!("&RelayState={r}"));
            }
            raw.push_str(&format!("&SigAlg={}", sig_alg.unwrap_or_default()));
            let mut candidates = vec![raw];
            // Re-encoded upper- and lower-case variants (ADFS encodes lower-case).
            let mut re = format!("{param}={}", utf8_percent_encode(&dec(value)?, QUERY));
            if let Some(r) = &relay_state {
                re.push_str(&format!("&RelayState={}", utf8_percent_encode(r, QUERY)));
            }
            re.push_str(&format!("&SigAlg={}", utf8_percent_encode(&alg_uri, QUERY)));
            candidates.push(lower_percent(&re));
            candidates.push(re);
            let ok = candidates
                .iter()
                .any(|c| certs.iter().any(|cert| cert.verify(alg, c.as_bytes(), &sig, policy).is_ok()));
            if !ok {
                return Err(Error::BadSignature);
            }
            signature_verified = true;
        }
        (None, None) if !require_signature => {}
        (None, None) => return Err(Error::MissingSignature { element: "element" }),
        _ => return Err(Error::Binding("SigAlg and Signature must come together".into())),
    }
    Ok(RedirectMessage { xml, relay_state, signature_verified })
}

fn lower_percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s.chars();
    while let Some(c) = rest.next() {
        out.push(c);
        if c == '%' {
            for _ in 0..2 {
                if let Some(h) = rest.next() {
                    out.push(h.to_ascii_lowercase());
                }
            }
        }
    }
    out
}

/// An auto-submitting HTML form for the HTTP-POST binding (`param` = `SAMLRequest` or
/// `SAMLResponse`).
pub fn post_form(endpoint: &str, param: &str, xml: &str, relay_state: Option<&str>) -> Result<String> {
    check_relay_state(relay_state)?;
    let value = b64().encode(xml.as_bytes());
    let relay = relay_state
        .map(|r| format!("<input type=\"hidden\" name=\"RelayState\" value=\"{}\"/>", escape_attr(r)))
        .unwrap_or_default();
    Ok(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Signing in…</title></head>\
<body onload=\"document.forms[0].submit()\"><noscript><p>JavaScript is off: press Continue.</p></noscript>\
<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"{}\" value=\"{value}\"/>{relay}\
<noscript><button type=\"submit\">Continue</button></noscript></form></body></html>\n",
        escape_attr(endpoint),
        escape_attr(param)
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn inflate_is_capped() {
        let big = "<a>".to_owned() + &"x".repeat(1 << 20) + "</a>";
        let d = deflate(&big).unwrap();
        assert!(d.len() < 10_000);
        assert!(matches!(inflate_limited(&d, 256 << 10), Err(Error::Encoding(_))));
    }

    #[test]
    fn relay_state_is_limited() {
        assert!(redirect_url("https://idp/sso", "SAMLRequest", "<a/>", Some(&"r".repeat(81)), None).is_err());
    }
}
