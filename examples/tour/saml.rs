//! Chapter: palisade-saml — single sign-on through a tenant's SAML IdP.

use std::sync::Arc;

use palisade::core::{ManualClock, TenantId};
use palisade::saml::dsig::sign_xml;
use palisade::saml::{Binding, IdpConfig, ServiceProvider, SigningKey, SpConfig, TrustedCert};
use time::macros::datetime;

use crate::step;

const IDP: &str = "https://idp.acme.example/metadata";
const SP: &str = "https://app.example/saml/metadata";
const ACS: &str = "https://app.example/saml/acs";

fn response(request_id: &str, name_id: &str) -> String {
    format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_resp1" Version="2.0" IssueInstant="2026-03-01T09:00:05Z" Destination="{ACS}" InResponseTo="{request_id}"><saml:Issuer>{IDP}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="_assert1" Version="2.0" IssueInstant="2026-03-01T09:00:05Z"><saml:Issuer>{IDP}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name_id}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="{request_id}" NotOnOrAfter="2026-03-01T09:05:05Z" Recipient="{ACS}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="2026-03-01T09:00:00Z" NotOnOrAfter="2026-03-01T09:05:05Z"><saml:AudienceRestriction><saml:Audience>{SP}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="2026-03-01T09:00:01Z" SessionIndex="_sess1"/><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>{name_id}</saml:AttributeValue></saml:Attribute><saml:Attribute Name="groups"><saml:AttributeValue>Engineering</saml:AttributeValue><saml:AttributeValue>Admins</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"#
    )
}

pub async fn run() -> anyhow::Result<()> {
    // A built-in test IdP: a throw-away RSA-2048 key with a self-signed certificate.
    let key = SigningKey::generate_rsa_2048()?;
    let kp = rcgen::KeyPair::try_from(key.pkcs8().expose_secret())?;
    let cert = rcgen::CertificateParams::new(vec!["idp.acme.example".to_owned()])?.self_signed(&kp)?;
    let key = key.with_certificate(TrustedCert::from_der(cert.der())?);

    let clock = ManualClock::new(datetime!(2026-03-01 09:00 UTC));
    let tenant: TenantId = "acme".parse()?;
    let mut sp = ServiceProvider::new(tenant, SpConfig::new(SP, ACS), Arc::new(clock.clone()))?;
    let mut idp =
        IdpConfig::new(IDP, vec![key.certificate().cloned().ok_or_else(|| anyhow::anyhow!("no cert"))?]);
    idp.sso_url = Some("https://idp.acme.example/sso".into());
    sp.add_idp(idp)?;
    step("tenant acme trusts its IdP's certificate (from metadata, or set by hand)");

    let req = sp.start_sign_in(IDP, Binding::Redirect, &Default::default()).await?;
    let shown: String = req.output.chars().take(72).collect();
    step(format!("sign-in starts with a redirect to the IdP: {shown}…"));

    clock.set(datetime!(2026-03-01 09:00:06 UTC));
    let signed = sign_xml(&response(&req.id, "alice@acme.example"), "_assert1", &key)?;
    let identity = sp.consume_post(signed.as_bytes()).await?;
    step(format!(
        "the signed response is accepted: NameID {}, session {:?}, groups {:?}",
        identity.name_id,
        identity.session_index.as_deref().unwrap_or("-"),
        identity.attributes.get("groups").cloned().unwrap_or_default()
    ));
    let external = identity.into_external("acme".parse()?, true);
    step(format!(
        "for Just-in-Time provisioning: subject {}, e-mail {:?}",
        external.subject,
        external.email.as_deref().unwrap_or("-")
    ));

    match sp.consume_post(signed.as_bytes()).await {
        Ok(_) => anyhow::bail!("a replayed response was accepted"),
        Err(e) => step(format!("the same response posted again is refused: [{}] {e}", e.code())),
    }

    // A wrapped copy: an evil assertion for another user inserted before the signed one.
    let evil = response("x", "mallory@evil.example");
    let evil_assertion =
        &evil[evil.find("<saml:Assertion").unwrap_or(0)..evil.find("</samlp:Response>").unwrap_or(0)];
    let wrapped = signed.replacen("<saml:Assertion", &format!("{evil_assertion}<saml:Assertion"), 1);
    match sp.consume_post(wrapped.as_bytes()).await {
        Ok(_) => anyhow::bail!("a wrapped response was accepted"),
        Err(e) => step(format!("a signature-wrapping copy is refused: [{}] {e}", e.code())),
    }
    Ok(())
}
