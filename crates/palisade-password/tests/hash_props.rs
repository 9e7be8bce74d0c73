//! Properties of hashing and hash parsing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use palisade_core::SecretString;
use palisade_password::{HashParams, Hasher};
use proptest::prelude::*;

fn hasher() -> Hasher {
    Hasher::new(HashParams { memory_kib: 8, iterations: 1, ..HashParams::OWASP }).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_password_roundtrips(pw in "\\PC{0,40}", other in "\\PC{0,40}") {
        let h = hasher();
        let stored = h.hash(&SecretString::from(pw.as_str())).unwrap();
        prop_assert!(h.verify(&SecretString::from(pw.as_str()), &stored).unwrap().matched);
        if other != pw {
            use unicode_normalization::UnicodeNormalization;
            let same_nfkc = other.nfkc().collect::<String>() == pw.nfkc().collect::<String>();
            prop_assert_eq!(h.verify(&SecretString::from(other.as_str()), &stored).unwrap().matched, same_nfkc);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Arbitrary and mutated stored hashes never panic: they verify, mismatch, or are refused.
    #[test]
    fn parsing_never_panics(
        junk in "\\PC{0,120}",
        prefix in prop::sample::select(vec!["$argon2id$v=19$", "$argon2i$", "$2b$04$", "$2y$", "$pbkdf2-sha256$", "pbkdf2_sha256$", "$pbkdf2-sha512$i=1,l=16$", "$argon2d$v=16$m=8,t=1,p=1$"]),
    ) {
        let h = hasher();
        let pw = SecretString::from("pw");
        let _ = h.verify(&pw, &junk);
        let _ = h.verify(&pw, &format!("{prefix}{junk}"));
        let _ = h.needs_rehash(&format!("{prefix}{junk}"));
    }
}
