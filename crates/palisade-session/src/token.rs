//! Session tokens, their hashes, and session ids.
//!
//! A token is 32 bytes (256 bits) from the OS CSPRNG, written as 43 characters of unpadded
//! URL-safe base64. The store never sees it: it keeps [`TokenHash`], the SHA-256 of the token's
//! bytes under a domain-separation label. A fast hash is the right one here, unlike for
//! passwords: with 256 bits of entropy nobody can guess a token from its hash, however fast the
//! hash, so a slow hash would only cost every request time without adding safety.
//!
//! The [`SessionId`] is the first 16 bytes of that hash. It names the session in listings, logs
//! and "sign out that device" calls; knowing it does not help to present the session, because
//! that needs a preimage of the hash.
//!
//! ```
//! use palisade_session::{SessionToken, TokenHash};
//!
//! let token = SessionToken::generate()?;
//! assert_eq!(token.expose_secret().len(), 43);
//! let hash = TokenHash::of(token.expose_secret()).expect("well-formed");
//! assert_eq!(hash.session_id().to_string().len(), 32);
//! assert!(TokenHash::of("not a token").is_none());
//! # Ok::<(), palisade_session::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use palisade_core::{SecretArray, SecretString, ct_eq};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use sha2::digest::generic_array::GenericArray;

use crate::error::Result;

/// Length of an encoded token, in characters.
pub const TOKEN_LEN: usize = 43;
/// The hash's domain-separation label. At most 23 bytes, so label and token (32 bytes) fit one
/// SHA-256 block with its padding: one compression per request. (v1's 26-byte label took two.)
const HASH_LABEL: &[u8] = b"palisade-session-v2\0";
/// Label and token: the hashed message.
const MESSAGE_LEN: usize = HASH_LABEL.len() + 32;
/// The one SHA-256 block of every token's hash, token bytes left zero: the label, then (after
/// the token) the `0x80` padding byte and the message length in bits, big-endian, at the end.
#[allow(clippy::indexing_slicing)] // constant indices inside the 64-byte block
const PADDED_BLOCK: [u8; 64] = {
    let mut b = [0u8; 64];
    let mut i = 0;
    while i < HASH_LABEL.len() {
        b[i] = HASH_LABEL[i];
        i += 1;
    }
    b[MESSAGE_LEN] = 0x80;
    let bits = ((MESSAGE_LEN * 8) as u64).to_be_bytes();
    let mut j = 0;
    while j < 8 {
        b[56 + j] = bits[j];
        j += 1;
    }
    b
};
/// SHA-256's initial hash value (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] =
    [0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19];

/// A bearer session token. Redacted in `Debug`, zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(SecretString);

impl SessionToken {
    /// A fresh token: 256 bits from the OS CSPRNG.
    pub fn generate() -> Result<Self> {
        let raw = SecretArray::<32>::random()?;
        Ok(Self(SecretString::new(URL_SAFE_NO_PAD.encode(raw.expose_secret()))))
    }

    /// Wraps a token received from a client (a cookie, a header). It is not checked here:
    /// a malformed token is simply an unknown session when validated.
    pub fn from_client(token: impl Into<String>) -> Self {
        Self(SecretString::new(token.into()))
    }

    /// The token, to send to the client (a cookie value). Every call site is a place where the
    /// secret leaves its holder.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The token's hash, or `None` when the token is not well-formed.
    pub fn hash(&self) -> Option<TokenHash> {
        TokenHash::of(self.expose_secret())
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// SHA-256 of a token's 32 bytes under a domain-separation label: what stores keep.
#[derive(Clone, Copy)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes an encoded token; `None` unless it is exactly 43 characters of canonical unpadded
    /// URL-safe base64 (which decode to 32 bytes).
    ///
    /// The hash is SHA-256 (FIPS 180-4) of the label and the token's bytes, which with their
    /// padding make exactly one 64-byte block: it is computed as that one compression, with no
    /// streaming state around it.
    pub fn of(token: &str) -> Option<Self> {
        // The token's bytes are decoded straight into the block, the one copy to wipe.
        let mut block = zeroize::Zeroizing::new(PADDED_BLOCK);
        let raw: &mut [u8; 32] = block.get_mut(HASH_LABEL.len()..MESSAGE_LEN)?.try_into().ok()?;
        decode_token(token.as_bytes(), raw)?;
        let mut state = SHA256_IV;
        sha2::compress256(&mut state, std::slice::from_ref(GenericArray::from_slice(block.as_slice())));
        let mut out = [0u8; 32];
        for (bytes, word) in out.chunks_exact_mut(4).zip(state) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        Some(Self(out))
    }

    /// The session id: the first 16 bytes of the hash.
    pub fn session_id(&self) -> SessionId {
        let mut id = [0u8; 16];
        for (d, s) in id.iter_mut().zip(self.0.iter()) {
            *d = *s;
        }
        SessionId(id)
    }

    /// Constant-time comparison.
    pub fn matches(&self, other: &TokenHash) -> bool {
        ct_eq(&self.0, &other.0)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Rebuilds a hash from its 32 bytes (as read from a store).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other)
    }
}
impl Eq for TokenHash {}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({})", self.session_id())
    }
}

impl Serialize for TokenHash {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex32(&self.0))
    }
}

impl<'de> Deserialize<'de> for TokenHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        unhex(&s, &mut out).ok_or_else(|| de::Error::custom("a token hash is 64 hex digits"))?;
        Ok(Self(out))
    }
}

/// The public name of a session: 32 lowercase hex digits. Not a secret.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SessionId([u8; 16]);

impl std::hash::Hash for SessionId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(&self.0);
    }
}

impl SessionId {
    /// The raw 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

/// A string that is not 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a session id is 32 hexadecimal digits")]
pub struct BadSessionId;

impl FromStr for SessionId {
    type Err = BadSessionId;
    fn from_str(s: &str) -> std::result::Result<Self, BadSessionId> {
        let mut out = [0u8; 16];
        unhex(s, &mut out).ok_or(BadSessionId)?;
        Ok(Self(out))
    }
}

impl Serialize for SessionId {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(de::Error::custom)
    }
}

/// The value of each URL-safe base64 character; `INVALID` for every other byte.
#[allow(clippy::indexing_slicing)] // `i` stays below the alphabet's length; bytes index 256 slots
const DECODE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < alphabet.len() {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
};
const INVALID: u8 = 0x40;

/// Decodes exactly 43 characters of unpadded URL-safe base64 into 32 bytes, refusing any other
/// length, any other alphabet and non-zero padding bits (so each token has one spelling). A
/// dedicated decoder: a table lookup per character and no branch per character, because it
/// runs on every request.
fn decode_token(text: &[u8], out: &mut [u8; 32]) -> Option<()> {
    let text: &[u8; TOKEN_LEN] = text.try_into().ok()?;
    // Every value is below 64 and INVALID is 64, so OR-ing them all shows any invalid one.
    let mut seen = 0u8;
    #[allow(clippy::indexing_slicing)] // a byte always indexes one of the table's 256 slots
    let mut value = |c: u8| {
        let v = DECODE[usize::from(c)];
        seen |= v;
        u32::from(v)
    };
    // 40 characters in groups of 4 make 30 bytes.
    for (chars, bytes) in text.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
        let n = chars.iter().fold(0u32, |n, &c| (n << 6) | value(c));
        for (b, shift) in bytes.iter_mut().zip([16, 8, 0]) {
            *b = (n >> shift) as u8;
        }
    }
    // The last 3 characters carry 18 bits: 2 bytes and 2 padding bits, which must be zero.
    let [.., a, b, c] = *text;
    let n = (value(a) << 12) | (value(b) << 6) | value(c);
    let [.., x, y] = out;
    *x = (n >> 10) as u8;
    *y = (n >> 2) as u8;
    (seen & INVALID == 0 && n & 0b11 == 0).then_some(())
}

fn hex32(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str, out: &mut [u8]) -> Option<()> {
    if s.len() != out.len() * 2 {
        return None;
    }
    for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        let hi = char::from(*pair.first()?).to_digit(16)?;
        let lo = char::from(*pair.get(1)?).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn tokens_are_unique_well_formed_and_redacted() {
        let a = SessionToken::generate().unwrap();
        let b = SessionToken::generate().unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(a.expose_secret().bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(format!("{a:?}"), "SessionToken(<redacted>)");
        assert!(a.hash().is_some());
        assert_ne!(a.hash().unwrap().session_id(), b.hash().unwrap().session_id());
    }

    #[test]
    fn hash_is_sha256_with_label() {
        // 32 zero bytes encode to 43 'A's.
        let h = TokenHash::of(&"A".repeat(43)).unwrap();
        let mut expect = Sha256::new();
        expect.update(b"palisade-session-v2\0");
        expect.update([0u8; 32]);
        assert_eq!(h.as_bytes(), &<[u8; 32]>::from(expect.finalize()));
    }

    #[test]
    fn label_and_token_fit_one_sha256_block() {
        // 64-byte block: message, the 0x80 byte and the 8-byte length.
        assert!(HASH_LABEL.len() + 32 < 64 - 8);
    }

    #[test]
    fn rejects_non_canonical_and_wrong_lengths() {
        // The last character carries 4 padding bits that must be zero: 'B' sets one.
        assert!(TokenHash::of(&format!("{}B", "A".repeat(42))).is_none());
        assert!(TokenHash::of(&"A".repeat(42)).is_none());
        assert!(TokenHash::of(&"A".repeat(44)).is_none());
        assert!(TokenHash::of(&format!("{}+", "A".repeat(42))).is_none());
        assert!(TokenHash::of(&format!("{}=", "A".repeat(42))).is_none());
    }

    #[test]
    fn ids_and_hashes_round_trip() {
        let h = SessionToken::generate().unwrap().hash().unwrap();
        let id = h.session_id();
        assert_eq!(id.to_string().parse::<SessionId>().unwrap(), id);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<TokenHash>(&json).unwrap(), h);
        assert!("zz".parse::<SessionId>().is_err());
        assert!("g".repeat(32).parse::<SessionId>().is_err());
    }

    proptest! {
        #[test]
        fn decoder_agrees_with_the_base64_crate(bytes in proptest::array::uniform32(any::<u8>())) {
            let text = URL_SAFE_NO_PAD.encode(bytes);
            let mut out = [0u8; 32];
            prop_assert_eq!(decode_token(text.as_bytes(), &mut out), Some(()));
            prop_assert_eq!(out, bytes);
        }

        #[test]
        fn decoder_refuses_what_the_base64_crate_refuses(s in "[A-Za-z0-9_+/=-]{43}") {
            let theirs = URL_SAFE_NO_PAD.decode(&s).ok().filter(|v| v.len() == 32);
            let mut out = [0u8; 32];
            let ours = decode_token(s.as_bytes(), &mut out).map(|()| out.to_vec());
            prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn one_block_hash_is_sha256_of_label_and_token(bytes in proptest::array::uniform32(any::<u8>())) {
            let mut expect = Sha256::new();
            expect.update(HASH_LABEL);
            expect.update(bytes);
            let h = TokenHash::of(&URL_SAFE_NO_PAD.encode(bytes)).unwrap();
            prop_assert_eq!(h.as_bytes(), &<[u8; 32]>::from(expect.finalize()));
        }

        #[test]
        fn hashing_never_panics(s in "\\PC{0,60}") {
            let _ = TokenHash::of(&s);
            let _ = s.parse::<SessionId>();
        }
    }
}
