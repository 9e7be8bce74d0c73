//! palisade-saml: parse + verify of the signed 5 KB response in `shared/conformance/saml/bench/`,
//! and full SP validation of it. In the same group, the reference implementation on the same
//! document: libxmlsec1 in-process (through the `xmlsec` crate: libxml2 parse, ID registration,
//! `xmlSecDSigCtxVerify` with the configured certificate's key loaded once) and the `xmlsec1`
//! command-line tool (process start-up included).
//!
//! `cargo bench --bench saml -- saml_verify` runs the comparison alone.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::process::Command;

use base64::Engine;
use criterion::{Criterion, criterion_group, criterion_main};
use palisade::saml::dsig::verify_element;
use palisade::saml::keys::{AlgorithmPolicy, TrustedCert};
use palisade::saml::response::{Expectation, InputLimits, validate_response};
use palisade::saml::xml::Document;
use palisade::saml::{IdpConfig, SAML_NS, SpConfig};
use time::macros::datetime;
use xmlsec::{XmlSecDocumentExt, XmlSecKey, XmlSecKeyFormat, XmlSecSignatureContext};

const BENCH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/saml/bench");

fn saml(c: &mut Criterion) {
    let xml = std::fs::read_to_string(format!("{BENCH}/response_signed.xml")).expect("bench response");
    let cert = TrustedCert::from_pem(&std::fs::read_to_string(format!("{BENCH}/cert.pem")).unwrap()).unwrap();
    let policy = AlgorithmPolicy::default();
    let cert_pem = std::fs::read(format!("{BENCH}/cert.pem")).unwrap();

    // The peers must really verify this document (and reject a tampered copy), once, outside the
    // timed loops: a bench of a failing verification would measure nothing.
    let palisade_verify = |xml: &str| -> bool {
        let doc = Document::parse_default(xml).unwrap();
        let a = doc.root().child(SAML_NS, "Assertion").unwrap();
        verify_element(a, std::slice::from_ref(&cert), &policy).is_ok()
    };
    let xmlsec_key = XmlSecKey::from_memory(&cert_pem, XmlSecKeyFormat::CertPem, None).expect("xmlsec key");
    let parser = libxml::parser::Parser::default();
    let xmlsec_verify = |xml: &str| -> bool {
        let doc = parser.parse_string(xml).expect("libxml2 parse");
        doc.specify_idattr("//saml:Assertion", "ID", Some(&[("saml", SAML_NS)])).expect("ID attribute");
        let mut ctx = XmlSecSignatureContext::new();
        ctx.insert_key(xmlsec_key.clone());
        ctx.verify_document(&doc).expect("xmlSecDSigCtxVerify")
    };
    let tampered = xml.replacen(
        "https://sp.example.com/metadata</saml:Audience>",
        "https://sp.example.com/metadatX</saml:Audience>",
        1,
    );
    assert_ne!(tampered, xml, "the tamper target is in the bench document");
    assert!(palisade_verify(&xml), "palisade verifies the bench document");
    assert!(!palisade_verify(&tampered), "palisade rejects the tampered copy");
    assert!(xmlsec_verify(&xml), "libxmlsec1 verifies the bench document");
    assert!(!xmlsec_verify(&tampered), "libxmlsec1 rejects the tampered copy");

    let mut g = c.benchmark_group("saml_verify");
    g.bench_function("palisade_parse_verify", |b| {
        b.iter(|| {
            let doc = Document::parse_default(black_box(&xml)).unwrap();
            let a = doc.root().child(SAML_NS, "Assertion").unwrap();
            verify_element(a, std::slice::from_ref(&cert), &policy).map(|v| v.cert_index()).unwrap()
        })
    });
    g.bench_function("libxmlsec1_inprocess_parse_verify", |b| {
        b.iter(|| assert!(xmlsec_verify(black_box(&xml))))
    });
    if Command::new("xmlsec1").arg("--version").output().is_ok() {
        g.sample_size(10);
        g.bench_function("xmlsec1_cli_verify", |b| {
            b.iter(|| {
                let out = Command::new("xmlsec1")
                    .args(["--verify", "--pubkey-cert-pem", &format!("{BENCH}/cert.pem")])
                    .args(["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"])
                    .arg(format!("{BENCH}/response_signed.xml"))
                    .output()
                    .unwrap();
                assert!(out.status.success());
            })
        });
    }
    g.finish();

    let b64 = base64::engine::general_purpose::STANDARD.encode(xml.as_bytes());
    let sp = SpConfig::new("https://sp.example.com/metadata", "https://sp.example.com/saml/acs");
    let idp = IdpConfig::new("https://idp.example.com/metadata", vec![cert.clone()]);
    let expect = Expectation { request_id: Some("ONELOGIN_4fee3b046395c4e751011e97f8900b5273d56685") };
    let now = datetime!(2026-11-29 01:01:00 UTC);
    let limits = InputLimits::default();
    let mut g = c.benchmark_group("saml_validate");
    g.bench_function("palisade_full_validation_base64", |b| {
        b.iter(|| validate_response(black_box(b64.as_bytes()), &sp, &idp, &expect, now, &limits).unwrap())
    });
    g.finish();
}

criterion_group!(benches, saml);
criterion_main!(benches);
