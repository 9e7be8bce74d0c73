//! PKCE (RFC 7636, `S256` only), `state` and `nonce` values: 256 bits from the OS CSPRNG each.

use palisade_core::SecretString;

use crate::error::Result;
use crate::jose::b64e;

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    Ok(palisade_core::random::array::<N>()?)
}

/// A fresh unguessable value (43 base64url characters = 256 bits).
pub(crate) fn random_token() -> Result<String> {
    Ok(b64e(&random_bytes::<32>()?))
}

/// A PKCE code verifier and its `S256` challenge.
#[derive(Debug)]
pub struct Pkce {
    /// The verifier, kept secret until the code exchange.
    pub verifier: SecretString,
    /// `BASE64URL(SHA256(verifier))`, sent with the authorization request.
    pub challenge: String,
}

impl Pkce {
    /// A fresh verifier (43 characters, the RFC's minimum length at 256 bits of entropy).
    pub fn generate() -> Result<Self> {
        let verifier = random_token()?;
        let challenge = Self::challenge_for(&verifier);
        Ok(Pkce { verifier: SecretString::new(verifier), challenge })
    }

    /// The `S256` challenge of `verifier`.
    pub fn challenge_for(verifier: &str) -> String {
        b64e(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(
            Pkce::challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn fresh_values_differ() {
        let a = Pkce::generate().unwrap();
        let b = Pkce::generate().unwrap();
        assert_ne!(a.verifier, b.verifier);
        assert_eq!(a.verifier.len(), 43);
    }
}
