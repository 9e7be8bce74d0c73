//! IdP metadata parsing on arbitrary input: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_saml::metadata::{MetadataOptions, parse_idp_metadata};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let now = time::macros::datetime!(2014-01-01 00:00 UTC);
        let _ = parse_idp_metadata(s, &MetadataOptions::default(), now);
    }
});
