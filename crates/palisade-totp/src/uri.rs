//! The `otpauth://totp/...` key URI that authenticator apps scan (Google's "Key Uri Format").
//!
//! Built as `otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&algorithm=SHA1&digits=6&period=30`,
//! with the issuer both in the label (older apps read only the label) and as a parameter (newer
//! apps prefer it), each part percent-encoded (`%20` for a space, never `+`). The URI carries the
//! secret, so it is returned as a [`SecretString`].
//!
//! ```
//! use palisade_totp::{KeyUri, TotpParams, secret};
//!
//! let key = secret::decode_base32("JBSWY3DPEHPK3PXP")?;
//! let uri = KeyUri::new("ACME Co", "john.doe@example.com", TotpParams::default())?.to_uri(&key);
//! assert_eq!(
//!     uri.expose_secret(),
//!     "otpauth://totp/ACME%20Co:john.doe%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
//! );
//! let (parsed, key2) = KeyUri::parse(uri.expose_secret())?;
//! assert_eq!(parsed.issuer.as_deref(), Some("ACME Co"));
//! assert_eq!(key2, key);
//! # Ok::<(), palisade_totp::Error>(())
//! ```

use palisade_core::{SecretBytes, SecretString};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::otp::{Algorithm, TotpParams};
use crate::secret;

/// Everything but RFC 3986's unreserved characters is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The longest issuer or account name accepted, in bytes.
pub const MAX_LABEL_PART: usize = 256;

/// The non-secret parts of a key URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUri {
    /// Who issued the key (the service name the app shows); `None` only for parsed URIs without one.
    pub issuer: Option<String>,
    /// The account (user name or e-mail address) the app shows under the issuer.
    pub account: String,
    /// The code parameters.
    pub params: TotpParams,
}

fn check_part(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::InvalidParameter(format!(
            "the {what} is empty: give a name the user will recognise"
        )));
    }
    if value.len() > MAX_LABEL_PART {
        return Err(Error::InvalidParameter(format!(
            "the {what} is {} bytes long, the limit is {MAX_LABEL_PART}",
            value.len()
        )));
    }
    if value.contains(':') {
        return Err(Error::InvalidParameter(format!(
            "the {what} {value:?} contains ':', which separates issuer and account in the key URI: remove it"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::InvalidParameter(format!("the {what} contains control characters: remove them")));
    }
    Ok(())
}

impl KeyUri {
    /// A key URI description for `account` at `issuer`.
    pub fn new(issuer: &str, account: &str, params: TotpParams) -> Result<Self> {
        check_part("issuer", issuer)?;
        check_part("account name", account)?;
        params.validate()?;
        Ok(Self { issuer: Some(issuer.to_owned()), account: account.to_owned(), params })
    }

    /// The full `otpauth://` URI for `key`.
    ///
    /// Values made by [`KeyUri::new`] always round-trip through [`KeyUri::parse`]; values parsed
    /// from other writers do too, except an account name containing `:` without an issuer,
    /// which the format cannot express.
    pub fn to_uri(&self, key: &SecretBytes) -> SecretString {
        let secret = secret::encode_base32(key);
        let account = utf8_percent_encode(&self.account, COMPONENT);
        let mut uri = match &self.issuer {
            // An issuer with a colon (possible only from a parsed URI) cannot sit in the label.
            Some(issuer) if issuer.contains(':') => {
                let issuer = utf8_percent_encode(issuer, COMPONENT).to_string();
                format!("otpauth://totp/{account}?secret={}&issuer={issuer}", secret.expose_secret())
            }
            Some(issuer) => {
                let issuer = utf8_percent_encode(issuer, COMPONENT).to_string();
                format!("otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}", secret.expose_secret())
            }
            None => format!("otpauth://totp/{account}?secret={}", secret.expose_secret()),
        };
        uri.push_str(&format!(
            "&algorithm={}&digits={}&period={}",
            self.params.algorithm, self.params.digits, self.params.period
        ));
        SecretString::new(uri)
    }

    /// Parses an `otpauth://totp/` URI as written by palisade, Google, pyotp and others.
    ///
    /// The issuer parameter wins over the label prefix when both are present; missing
    /// parameters take the defaults (SHA1, 6, 30).
    pub fn parse(text: &str) -> Result<(Self, SecretBytes)> {
        let text = Zeroizing::new(text.trim().to_owned());
        let url = url::Url::parse(&text).map_err(|e| Error::BadUri(format!("not a URI ({e})")))?;
        if !url.scheme().eq_ignore_ascii_case("otpauth") {
            return Err(Error::BadUri(format!("the scheme is {:?}, expected otpauth", url.scheme())));
        }
        match url.host_str().map(str::to_ascii_lowercase).as_deref() {
            Some("totp") => {}
            Some("hotp") => {
                return Err(Error::BadUri(
                    "this is an HOTP (counter) key: only TOTP is supported".to_owned(),
                ));
            }
            other => return Err(Error::BadUri(format!("the type is {other:?}, expected totp"))),
        }
        let label = percent_encoding::percent_decode_str(url.path().trim_start_matches('/'))
            .decode_utf8()
            .map_err(|_| Error::BadUri("the label is not UTF-8".to_owned()))?;
        let (label_issuer, account) = match label.split_once(':') {
            Some((i, a)) => (Some(i.trim().to_owned()), a.trim().to_owned()),
            None => (None, label.trim().to_owned()),
        };
        let mut params = TotpParams::default();
        let mut issuer = label_issuer.filter(|i| !i.is_empty());
        let mut key = None;
        for (name, value) in url.query_pairs() {
            match name.to_ascii_lowercase().as_str() {
                "secret" => key = Some(secret::decode_base32(&Zeroizing::new(value.into_owned()))?),
                "issuer" if !value.is_empty() => issuer = Some(value.into_owned()),
                "algorithm" => params.algorithm = value.parse::<Algorithm>()?,
                "digits" => {
                    params.digits = value
                        .parse()
                        .map_err(|_| Error::BadUri(format!("digits={value:?} is not a number")))?;
                }
                "period" => {
                    params.period = value
                        .parse()
                        .map_err(|_| Error::BadUri(format!("period={value:?} is not a number")))?;
                }
                _ => {} // image, counter of other types, vendor extensions: ignored, as apps do
            }
        }
        params.validate()?;
        let key = key.ok_or_else(|| Error::BadUri("there is no secret parameter".to_owned()))?;
        Ok((Self { issuer, account, params }, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_characters() {
        let key = SecretBytes::from_slice(b"12345678901234567890");
        let uri = KeyUri::new("Big & Co/Ops", "a+b@x.example", TotpParams::default()).unwrap().to_uri(&key);
        assert!(uri.expose_secret().starts_with(
            "otpauth://totp/Big%20%26%20Co%2FOps:a%2Bb%40x.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Big%20%26%20Co%2FOps&"
        ));
        let (parsed, k) = KeyUri::parse(uri.expose_secret()).unwrap();
        assert_eq!(parsed.issuer.as_deref(), Some("Big & Co/Ops"));
        assert_eq!(parsed.account, "a+b@x.example");
        assert_eq!(k, key);
    }

    #[test]
    fn parsed_issuer_with_colon_stays_out_of_the_label() {
        // Found by the fuzzer: a parsed issuer parameter with ':' must not shift the account.
        let (u, k) = KeyUri::parse("otpauth://totp/x:alice?secret=JBSWY3DPEHPK3PXP&issuer=a%3Ab").unwrap();
        assert_eq!((u.issuer.as_deref(), u.account.as_str()), (Some("a:b"), "alice"));
        let again = u.to_uri(&k);
        assert!(again.expose_secret().starts_with("otpauth://totp/alice?secret="));
        let (u2, _) = KeyUri::parse(again.expose_secret()).unwrap();
        assert_eq!(u2, u);
    }

    #[test]
    fn refuses_colons_and_empty_names() {
        assert!(KeyUri::new("a:b", "x", TotpParams::default()).is_err());
        assert!(KeyUri::new("a", "x:y", TotpParams::default()).is_err());
        assert!(KeyUri::new(" ", "x", TotpParams::default()).is_err());
        assert!(KeyUri::new("a", "", TotpParams::default()).is_err());
    }

    #[test]
    fn parses_other_writers() {
        // pyotp style: label issuer, padded lower-case secret, explicit params.
        let (u, k) = KeyUri::parse(
            "otpauth://totp/Example%3Aalice%40google.com?secret=jbswy3dpehpk3pxp&issuer=Example&digits=8&algorithm=sha256&period=60",
        )
        .unwrap();
        assert_eq!(u.issuer.as_deref(), Some("Example"));
        assert_eq!(u.account, "alice@google.com");
        assert_eq!(u.params, TotpParams { algorithm: Algorithm::Sha256, digits: 8, period: 60 });
        assert_eq!(k.len(), 10);
        // Minimal: no issuer, no params.
        let (u, _) = KeyUri::parse("otpauth://totp/bob?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!((u.issuer, u.params), (None, TotpParams::default()));
        for bad in [
            "https://totp/x?secret=JBSWY3DPEHPK3PXP",
            "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1",
            "otpauth://totp/x",
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=12",
            "otpauth://totp/x?secret=!!",
            "not a uri",
        ] {
            assert!(KeyUri::parse(bad).is_err(), "{bad}");
        }
    }
}
