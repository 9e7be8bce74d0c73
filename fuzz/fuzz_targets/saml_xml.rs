//! The strict XML reader on arbitrary bytes: never panics; every accepted document's text and
//! navigation work.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_saml::xml::{Document, Limits};

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = Document::parse_bytes(data, &Limits::default()) {
        let root = doc.root();
        let _ = root.text();
        for e in root.descendants() {
            let _ = (e.attr("ID"), e.in_scope_namespaces(), e.lookup_namespace(e.prefix()));
        }
    }
});
