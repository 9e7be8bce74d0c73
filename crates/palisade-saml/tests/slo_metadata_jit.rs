#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! Single logout both ways, SP metadata (signed, verified by xmlsec1 and by the reader), and JIT
//! provisioning.

use palisade_saml::Binding;
use palisade_saml::dsig::{sign_xml, verify_element};
use palisade_saml::logout::{Incoming, logout_request, receive_logout_request, receive_logout_response};
use palisade_saml::provision::{MemoryUserDirectory, RoleMapping, RoleRule, provision};
use palisade_saml::xml::Document;
use palisade_saml::{
    AlgorithmPolicy, IdpConfig, MetadataOptions, SigningKey, SpConfig, TrustedCert, parse_idp_metadata,
    sp_metadata,
};
use time::macros::datetime;

fn keyed(cn: &str) -> (SigningKey, String) {
    let key = SigningKey::generate_rsa_2048().unwrap();
    let kp = rcgen::KeyPair::try_from(key.pkcs8().expose_secret()).unwrap();
    let cert = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap().self_signed(&kp).unwrap();
    (key.with_certificate(TrustedCert::from_der(cert.der()).unwrap()), cert.pem())
}

fn sp_with_key() -> (SpConfig, String) {
    let (key, pem) = keyed("sp.example.test");
    let mut sp = SpConfig::new("https://sp.example.test/metadata", "https://sp.example.test/acs");
    sp.slo_url = Some("https://sp.example.test/slo".into());
    sp.signing_key = Some(key);
    (sp, pem)
}

#[test]
fn idp_initiated_logout_over_post_and_redirect() {
    let now = datetime!(2026-05-01 10:00 UTC);
    let (idp_key, _) = keyed("idp.example.test");
    let (sp, _) = sp_with_key();
    let mut idp = IdpConfig::new("https://idp.example.test", vec![idp_key.certificate().unwrap().clone()]);
    idp.slo_url = Some("https://idp.example.test/slo".into());
    let xml = r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lr1" Version="2.0" IssueInstant="2026-05-01T10:00:00Z" Destination="https://sp.example.test/slo"><saml:Issuer>https://idp.example.test</saml:Issuer><saml:NameID>alice@example.test</saml:NameID><samlp:SessionIndex>_s1</samlp:SessionIndex></samlp:LogoutRequest>"#;
    // POST: enveloped signature.
    let signed = sign_xml(xml, "_lr1", &idp_key).unwrap();
    let info = receive_logout_request(Incoming::Post(signed.as_bytes()), &sp, &idp, now).unwrap();
    assert_eq!(info.name_id, "alice@example.test");
    assert_eq!(info.session_indexes, vec!["_s1".to_owned()]);
    // Unsigned or tampered: refused.
    assert_eq!(
        receive_logout_request(Incoming::Post(xml.as_bytes()), &sp, &idp, now).unwrap_err().code(),
        "signature.missing"
    );
    let tampered = signed.replace("alice@", "bob@");
    assert_eq!(
        receive_logout_request(Incoming::Post(tampered.as_bytes()), &sp, &idp, now).unwrap_err().code(),
        "signature.digest"
    );
    // Redirect: query-string signature by the IdP.
    let url = palisade_saml::binding::redirect_url(
        "https://sp.example.test/slo",
        "SAMLRequest",
        xml,
        Some("rs"),
        Some(&idp_key),
    )
    .unwrap();
    let query = url.split_once('?').unwrap().1;
    let info = receive_logout_request(Incoming::Redirect(query), &sp, &idp, now).unwrap();
    assert_eq!(info.id, "_lr1");
    // ADFS encodes percent escapes in lower case: the raw query still verifies.
    let lower = lower_escapes(query);
    receive_logout_request(Incoming::Redirect(&lower), &sp, &idp, now).unwrap();
    // Without Signature: refused.
    let unsigned = query.split("&SigAlg=").next().unwrap();
    assert_eq!(
        receive_logout_request(Incoming::Redirect(unsigned), &sp, &idp, now).unwrap_err().code(),
        "signature.missing"
    );
    // The SP's answer.
    let resp =
        palisade_saml::logout::logout_response(&sp, &idp, &info.id, true, Binding::Post, None, now).unwrap();
    assert!(resp.xml.contains("InResponseTo=\"_lr1\""));
}

fn lower_escapes(q: &str) -> String {
    let mut out = String::new();
    let mut it = q.chars();
    while let Some(c) = it.next() {
        out.push(c);
        if c == '%' {
            for _ in 0..2 {
                out.push(it.next().unwrap().to_ascii_lowercase());
            }
        }
    }
    out
}

#[test]
fn sp_initiated_logout_round_trip() {
    let now = datetime!(2026-05-01 10:00 UTC);
    let (idp_key, _) = keyed("idp.example.test");
    let (sp, sp_pem) = sp_with_key();
    let mut idp = IdpConfig::new("https://idp.example.test", vec![idp_key.certificate().unwrap().clone()]);
    idp.slo_url = Some("https://idp.example.test/slo".into());
    let out = logout_request(&sp, &idp, "alice@example.test", None, &["_s1".into()], Binding::Redirect, now)
        .unwrap();
    assert!(out.output.starts_with("https://idp.example.test/slo?SAMLRequest="));
    assert!(out.output.contains("&SigAlg=") && out.output.contains("&Signature="));
    // The IdP side can verify it with the SP certificate.
    let sp_cert = TrustedCert::from_pem(&sp_pem).unwrap();
    let q = out.output.split_once('?').unwrap().1;
    let m =
        palisade_saml::binding::decode_redirect(q, &[sp_cert], &AlgorithmPolicy::default(), true, 1 << 20)
            .unwrap();
    assert!(m.signature_verified && m.xml.contains("alice@example.test"));
    // The IdP's LogoutResponse.
    let resp = format!(
        r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lresp" Version="2.0" IssueInstant="2026-05-01T10:00:01Z" Destination="https://sp.example.test/slo" InResponseTo="{}"><saml:Issuer>https://idp.example.test</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>"#,
        out.id
    );
    let signed = sign_xml(&resp, "_lresp", &idp_key).unwrap();
    let info = receive_logout_response(Incoming::Post(signed.as_bytes()), &sp, &idp, now).unwrap();
    assert!(info.success);
    assert_eq!(info.in_response_to.as_deref(), Some(out.id.as_str()));
}

#[test]
fn sp_metadata_signed_and_readable() {
    let (sp, pem) = sp_with_key();
    let (_, next_pem) = keyed("sp-next.example.test");
    let next = TrustedCert::from_pem(&next_pem).unwrap();
    let xml = sp_metadata(&sp, &[next], None, Some(datetime!(2027-01-01 0:00 UTC)), true).unwrap();
    assert_eq!(xml.matches("use=\"signing\"").count(), 2, "current and next signing certs");
    let doc = Document::parse_default(&xml).unwrap();
    let cert = TrustedCert::from_pem(&pem).unwrap();
    verify_element(doc.root(), &[cert], &AlgorithmPolicy::default()).unwrap();
    if std::process::Command::new("xmlsec1").arg("--version").output().is_ok() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("md.xml"), &xml).unwrap();
        std::fs::write(dir.path().join("c.pem"), &pem).unwrap();
        let out = std::process::Command::new("xmlsec1")
            .args(["--verify", "--enabled-key-data", "key-value,x509", "--insecure", "--pubkey-cert-pem"])
            .arg(dir.path().join("c.pem"))
            .args(["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor"])
            .arg(dir.path().join("md.xml"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // IdP metadata signed by the federation key, checked on load.
    let (fed, fed_pem) = keyed("federation");
    let idp_md = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" ID="_md" entityID="https://idp.example.test"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        fed.certificate().unwrap().base64()
    );
    let signed = sign_xml(&idp_md, "_md", &fed).unwrap();
    let trust = [TrustedCert::from_pem(&fed_pem).unwrap()];
    let opts = MetadataOptions { signed_by: Some(&trust), ..Default::default() };
    let now = datetime!(2026-05-01 10:00 UTC);
    let idp = parse_idp_metadata(&signed, &opts, now).unwrap();
    assert_eq!(idp.sso_url.as_deref(), Some("https://idp.example.test/sso"));
    assert_eq!(parse_idp_metadata(&idp_md, &opts, now).unwrap_err().code(), "signature.missing");
    assert_eq!(
        parse_idp_metadata(&signed.replace("idp.example.test/sso", "evil.test/sso"), &opts, now)
            .unwrap_err()
            .code(),
        "signature.digest"
    );
}

#[tokio::test]
async fn jit_create_then_update_with_role_mapping() {
    let mapping = RoleMapping {
        rules: vec![
            RoleRule { idp_groups: vec!["Admins".into(), "IT-Ops".into()], role: "admin".into() },
            RoleRule { idp_groups: vec!["Engineering".into()], role: "builder".into() },
        ],
        default_role: Some("viewer".into()),
        deny_if_unmapped: false,
    };
    mapping.validate().unwrap();
    let dir = MemoryUserDirectory::default();
    let mut id = palisade_core::ExternalIdentity {
        tenant: "acme".parse().unwrap(),
        provider: "https://idp".into(),
        subject: "alice".into(),
        email: Some("alice@acme.test".into()),
        email_verified: true,
        given_name: Some("Alice".into()),
        family_name: None,
        display_name: None,
        groups: vec!["Engineering".into(), "IT-Ops".into()],
        attributes: Default::default(),
        authenticated_at: None,
    };
    let first = provision(&dir, &mapping, &id).await.unwrap();
    assert!(first.created);
    assert_eq!(
        first.profile.roles.iter().cloned().collect::<Vec<_>>(),
        vec!["admin".to_owned(), "builder".to_owned()]
    );
    // Same sign-in again: nothing changes.
    let same = provision(&dir, &mapping, &id).await.unwrap();
    assert!(!same.created && same.changes.is_empty());
    // Groups and e-mail changed at the IdP: update with a change record.
    id.groups = vec!["Sales".into()];
    id.email = Some("alice@acme.example".into());
    let upd = provision(&dir, &mapping, &id).await.unwrap();
    assert!(!upd.created);
    let fields: Vec<&str> = upd.changes.iter().map(|c| c.field).collect();
    assert_eq!(fields, vec!["email", "roles"]);
    assert_eq!(upd.profile.roles.iter().cloned().collect::<Vec<_>>(), vec!["viewer".to_owned()]);
    // Deny if unmapped.
    let strict = RoleMapping { default_role: None, deny_if_unmapped: true, ..mapping };
    assert_eq!(provision(&dir, &strict, &id).await.unwrap_err().code(), "provision.denied");
}
