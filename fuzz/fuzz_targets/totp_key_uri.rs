//! palisade-totp's untrusted text inputs: key URIs, base32 secrets, recovery codes and codes.
//! Never panics; a parsed key URI re-serializes to one that parses to the same values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_totp::{KeyUri, Totp, recovery_codes, secret};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok((uri, key)) = KeyUri::parse(text) {
        let again = uri.to_uri(&key);
        let (uri2, key2) = KeyUri::parse(again.expose_secret()).expect("re-serialized URI parses");
        assert_eq!(uri2.params, uri.params);
        assert!(key2 == key);
        // The format cannot express a colon in the account name (it separates the issuer).
        if !uri.account.contains(':') {
            assert_eq!(uri2.account.trim(), uri.account.trim());
            assert_eq!(uri2.issuer.as_deref().map(str::trim), uri.issuer.as_deref().map(str::trim));
        }
        if let Ok(totp) = Totp::new(key, uri.params) {
            let _ = totp.verify(text, 1_700_000_000, 1, None);
        }
    }
    if let Ok(key) = secret::decode_base32(text) {
        let b32 = secret::encode_base32(&key);
        assert!(secret::decode_base32(b32.expose_secret()).expect("round trip") == key);
    }
    let _ = recovery_codes::normalize(text);
});
