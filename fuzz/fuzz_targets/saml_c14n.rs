//! Exclusive c14n on accepted inputs: never panics, and is idempotent — the canonical form
//! re-parses and canonicalizes to itself (a reader/c14n differential).
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_saml::c14n::{C14nOptions, canonicalize};
use palisade_saml::xml::{Document, Limits};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = Document::parse_bytes(data, &Limits::default()) else { return };
    for with_comments in [false, true] {
        let opts = C14nOptions { with_comments, inclusive_prefixes: vec!["#default".into(), "xs".into()], exclude: None };
        let once = canonicalize(doc.root(), &opts);
        let again = Document::parse_default(&once).expect("canonical form must re-parse");
        assert_eq!(canonicalize(again.root(), &opts), once, "c14n is not idempotent");
        assert_eq!(again.root().text(), doc.root().text(), "text content changed by c14n");
    }
});
