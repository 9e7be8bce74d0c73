//! Full SP validation (decode, parse, verify, all checks) on arbitrary input: never panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use palisade_saml::response::{Expectation, InputLimits, validate_response};
use palisade_saml::{IdpConfig, SpConfig, TrustedCert};

const CERT: &str = include_str!("../../../shared/conformance/saml/bench/cert.pem");

fuzz_target!(|data: &[u8]| {
    static CFG: OnceLock<(SpConfig, IdpConfig)> = OnceLock::new();
    let (sp, idp) = CFG.get_or_init(|| {
        let mut idp = IdpConfig::new("https://idp.example.com/metadata", vec![TrustedCert::from_pem(CERT).expect("cert")]);
        idp.policy.allow_idp_initiated = true;
        (SpConfig::new("https://sp.example.com/metadata", "https://sp.example.com/saml/acs"), idp)
    });
    let now = time::macros::datetime!(2026-11-29 01:01:00 UTC);
    let expect = Expectation { request_id: Some("ONELOGIN_4fee3b046395c4e751011e97f8900b5273d56685") };
    let _ = validate_response(data, sp, idp, &expect, now, &InputLimits::default());
});
