//! Recovery codes: single-use codes for a user who lost the authenticator.
//!
//! Ten codes of 12 characters from a 32-symbol alphabet without look-alikes
//! (`23456789ABCDEFGHJKLMNPQRSTUVWXYZ`: no `0 O 1 I`), 60 bits each, printed in groups of four
//! (`7KQ2-M9XD-4HPR`). Input is forgiving: case, spaces and dashes are ignored and `0 O 1 I`
//! are read as the letters they are mistaken for. They are shown once and stored only as keyed
//! hashes (HMAC-SHA-256 under a host key, bound to tenant and user), so a database dump alone
//! cannot test guesses offline.
//!
//! ```
//! use palisade_totp::recovery_codes;
//! let codes = recovery_codes::generate(10)?;
//! assert_eq!(codes.len(), 10);
//! let one = codes[0].expose_secret();
//! assert_eq!(one.len(), 14);
//! let typed = one.to_lowercase().replace('-', " ");
//! assert_eq!(recovery_codes::normalize(&typed).unwrap().as_str(), one.replace('-', ""));
//! # Ok::<(), palisade_totp::Error>(())
//! ```

use palisade_core::SecretString;
use zeroize::Zeroizing;

use crate::error::Result;

/// The alphabet: digits and capitals without `0`, `1`, `I`, `O`.
pub const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Characters per code (60 bits).
pub const CODE_CHARS: usize = 12;
// Each symbol carries 5 bits; a code must carry at least 50.
const _: () = assert!(CODE_CHARS * 5 >= 50);

/// Characters per printed group.
pub const GROUP: usize = 4;

/// `count` fresh recovery codes, formatted for reading (`XXXX-XXXX-XXXX`).
pub fn generate(count: usize) -> Result<Vec<SecretString>> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let raw = Zeroizing::new(palisade_core::random::array::<CODE_CHARS>()?);
        let mut code = String::with_capacity(CODE_CHARS + CODE_CHARS / GROUP);
        for (i, b) in raw.iter().enumerate() {
            if i > 0 && i % GROUP == 0 {
                code.push('-');
            }
            // 256 is a multiple of 32: taking the low 5 bits is unbiased.
            let symbol = ALPHABET.get(usize::from(b & 31)).copied().unwrap_or(b'2');
            code.push(char::from(symbol));
        }
        out.push(SecretString::new(code));
    }
    Ok(out)
}

/// The canonical form of a typed recovery code (upper case, separators removed), or `None` if it
/// cannot be one (wrong length, a character outside the alphabet).
pub fn normalize(input: &str) -> Option<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::with_capacity(CODE_CHARS));
    for c in input.chars() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        let c = c.to_ascii_uppercase();
        if !c.is_ascii() || !ALPHABET.contains(&u8::try_from(u32::from(c)).ok()?) || out.len() >= CODE_CHARS {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_CHARS).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_are_well_formed_and_distinct() {
        let codes = generate(10).unwrap();
        let mut seen = std::collections::HashSet::new();
        for c in &codes {
            let s = c.expose_secret();
            assert_eq!(s.len(), 14);
            assert_eq!(s.matches('-').count(), 2);
            assert!(s.chars().filter(|c| *c != '-').all(|c| ALPHABET.contains(&(c as u8))));
            assert!(normalize(s).is_some());
            assert!(seen.insert(s.to_owned()));
        }
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize("abcd efgh jkmn").unwrap().as_str(), "ABCDEFGHJKMN");
        assert!(normalize("ABCD-EFGH-JKM").is_none());
        assert!(normalize("ABCD-EFGH-JKMNP").is_none());
        assert!(normalize("ABCD-EFGH-JKM0").is_none());
        assert!(normalize("ABCD-EFGH-JKMÉ").is_none());
    }

    proptest! {
        #[test]
        fn normalize_never_panics(s in ".{0,40}") { let _ = normalize(&s); }
    }
}
