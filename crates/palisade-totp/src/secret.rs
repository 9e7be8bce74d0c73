//! Authenticator secrets: generation from the OS CSPRNG and the base32 text users and apps exchange.
//!
//! Decoding is as forgiving as the authenticator apps and the reference tools (Google
//! Authenticator, pyotp, oathtool): upper or lower case, with or without `=` padding, with spaces
//! or dashes between groups. The decoded key is a [`SecretBytes`].
//!
//! ```
//! use palisade_totp::secret;
//!
//! let key = secret::decode_base32("jbsw y3dp ehpk 3pxp")?;
//! assert_eq!(key.expose_secret(), b"Hello!\xde\xad\xbe\xef");
//! assert_eq!(secret::encode_base32(&key).expose_secret(), "JBSWY3DPEHPK3PXP");
//!
//! let fresh = secret::generate()?;
//! assert_eq!(fresh.len(), secret::SECRET_LEN); // 160 bits
//! # Ok::<(), palisade_totp::Error>(())
//! ```

use data_encoding::{Encoding, Specification};
use palisade_core::{SecretBytes, SecretString};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Length of a generated secret in bytes: 160 bits, the length RFC 4226 recommends and the
/// output size of HMAC-SHA-1.
pub const SECRET_LEN: usize = 20;

/// The longest secret accepted, in bytes (a SHA-512 block).
pub const MAX_SECRET_LEN: usize = 128;

const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn lenient() -> Result<Encoding> {
    let mut spec = Specification::new();
    spec.symbols.push_str(ALPHABET);
    // Apps and libraries do not agree on the unused low bits of the last character; accept any.
    spec.check_trailing_bits = false;
    spec.encoding().map_err(|e| Error::BadSecret(e.to_string()))
}

/// A fresh 160-bit secret from the operating system's CSPRNG.
pub fn generate() -> Result<SecretBytes> {
    let mut bytes = Zeroizing::new(vec![0u8; SECRET_LEN]);
    palisade_core::random::fill(&mut bytes)?;
    Ok(SecretBytes::from(bytes))
}

/// The key as unpadded upper-case base32, the form the key URI and people use.
pub fn encode_base32(key: &SecretBytes) -> SecretString {
    SecretString::new(data_encoding::BASE32_NOPAD.encode(key.expose_secret()))
}

/// Decodes base32 text the way authenticator apps do: case-insensitive, `=` padding optional,
/// spaces, tabs, newlines and dashes ignored.
pub fn decode_base32(text: &str) -> Result<SecretBytes> {
    let mut clean: Zeroizing<String> = Zeroizing::new(String::with_capacity(text.len()));
    for c in text.chars() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        clean.push(c.to_ascii_uppercase());
    }
    let trimmed = clean.trim_end_matches('=');
    if trimmed.is_empty() {
        return Err(Error::BadSecret("it is empty".to_owned()));
    }
    if let Some((at, c)) = trimmed.char_indices().find(|(_, c)| !ALPHABET.contains(*c)) {
        // The character is reported only by class, never echoed: it is part of a secret.
        let what = if c == '=' {
            "padding '=' in the middle".to_owned()
        } else if c.is_ascii_digit() {
            format!("the digit at position {at} is not a base32 digit (only 2-7 are)")
        } else {
            format!("a character at position {at} is not in the base32 alphabet")
        };
        return Err(Error::BadSecret(what));
    }
    let key = lenient()?.decode(trimmed.as_bytes()).map_err(|e| {
        Error::BadSecret(format!(
            "{} characters cannot be base32 ({:?}); check that the secret was copied whole",
            trimmed.len(),
            e.kind
        ))
    })?;
    let key = SecretBytes::new(key);
    if key.len() > MAX_SECRET_LEN {
        return Err(Error::BadSecret(format!(
            "it is {} bytes long, the limit is {MAX_SECRET_LEN}",
            key.len()
        )));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lenient_forms_decode_alike() {
        let want = decode_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        assert_eq!(want.expose_secret(), b"12345678901234567890");
        for form in [
            "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
            "gezd-gnbv-gy3t-qojq-gezd-gnbv-gy3t-qojq\n",
        ] {
            assert_eq!(decode_base32(form).unwrap(), want, "{form}");
        }
        // 16 characters (80 bits) and padded forms.
        assert_eq!(decode_base32("JBSWY3DPEHPK3PXP").unwrap().len(), 10);
        assert_eq!(decode_base32("MZXW6===").unwrap().expose_secret(), b"foo");
        assert_eq!(decode_base32("mzxw6").unwrap().expose_secret(), b"foo");
        assert_eq!(decode_base32("MZXW6YQ=").unwrap().expose_secret(), b"foob");
    }

    #[test]
    fn garbage_is_refused_without_echoing() {
        for bad in ["", "====", "A", "ABC", "ABCDEF", "JBSWY3DPEHPK3PX1", "JBSW=Y3DP", "JBSWY3DPÉ"] {
            let e = decode_base32(bad).unwrap_err();
            assert!(matches!(e, Error::BadSecret(_)), "{bad}");
        }
        let e = decode_base32("JBSWY3DPEHPK3PX1").unwrap_err().to_string();
        assert!(!e.contains("JBSW"), "{e}");
        assert!(decode_base32(&"A".repeat(400)).is_err());
    }

    #[test]
    fn generated_secrets_are_160_bits_and_distinct() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert_eq!(encode_base32(&a).len(), 32);
    }

    proptest! {
        #[test]
        fn roundtrip(bytes in proptest::collection::vec(any::<u8>(), 1..64)) {
            let key = SecretBytes::new(bytes.clone());
            let text = encode_base32(&key);
            let upper = decode_base32(text.expose_secret()).unwrap();
            let lower = decode_base32(&text.expose_secret().to_lowercase()).unwrap();
            prop_assert_eq!(upper.expose_secret(), &bytes[..]);
            prop_assert_eq!(lower.expose_secret(), &bytes[..]);
        }

        #[test]
        fn never_panics(text in ".{0,80}") {
            let _ = decode_base32(&text);
        }
    }
}
