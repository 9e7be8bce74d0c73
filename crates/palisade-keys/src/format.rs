//! The binary ciphertext format, version 1 (specified with test vectors in `docs/formats.md`).
//!
//! ```text
//! magic "PLS1" | alg u8 | layer u8 | key version u32 | provider id (u8 len) |
//! wrapped DEK (u16 len) | message id 16 B | commitment 32 B | segment size u32 | nonce prefix 7 B
//! | segment 0 | segment 1 | … | final segment
//! ```
//!
//! Integers are big-endian. Each segment is AES-256-GCM ciphertext ‖ 16-byte tag of up to
//! `segment size` plaintext bytes; every segment but the last holds exactly `segment size` bytes.

use palisade_core::SealContext;

use crate::error::{Error, Result};

/// The four magic bytes that start every palisade ciphertext.
pub const MAGIC: &[u8; 4] = b"PLS1";
/// Algorithm 1: AES-256-GCM, key and commitment derived with HKDF-SHA-256, segmented.
pub const ALG_AES256GCM_HKDF_COMMIT: u8 = 0x01;
/// Length of the message id (the HKDF salt).
pub const MESSAGE_ID_LEN: usize = 16;
/// Length of the key commitment.
pub const COMMITMENT_LEN: usize = 32;
/// Length of the segment nonce prefix.
pub const NONCE_PREFIX_LEN: usize = 7;
/// Length of a wrapped data key: nonce (12) ‖ encrypted key (32) ‖ tag (16).
pub const WRAPPED_DEK_LEN: usize = 60;
/// Default plaintext bytes per segment (64 KiB).
pub const DEFAULT_SEGMENT_SIZE: u32 = 64 * 1024;
/// Smallest segment size a reader accepts.
pub const MIN_SEGMENT_SIZE: u32 = 16;
/// Largest segment size a reader accepts (bounds the memory a reader needs).
pub const MAX_SEGMENT_SIZE: u32 = 16 * 1024 * 1024;
/// Info string of the HKDF that derives the segment key and the commitment.
pub const HKDF_INFO: &[u8] = b"palisade-keys/v1/key+commitment";
/// Prefix of the associated data of every segment.
pub const DATA_AAD_LABEL: &[u8] = b"palisade-keys/v1/data";
/// Prefix of the associated data of the data-key wrap.
pub const DEK_AAD_LABEL: &[u8] = b"palisade-keys/v1/dek";

/// Which hierarchy a ciphertext layer is sealed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layer {
    /// Single envelope encryption under the tenant hierarchy.
    Single,
    /// The outer layer of double encryption, under the global hierarchy.
    Outer,
    /// The inner layer of double encryption, under the tenant hierarchy.
    Inner,
}

impl Layer {
    /// The byte that encodes the layer.
    pub fn byte(self) -> u8 {
        match self {
            Layer::Single => 0,
            Layer::Outer => 1,
            Layer::Inner => 2,
        }
    }

    fn from_byte(b: u8) -> Result<Self> {
        match b {
            0 => Ok(Layer::Single),
            1 => Ok(Layer::Outer),
            2 => Ok(Layer::Inner),
            other => Err(Error::Malformed(format!("unknown layer {other}"))),
        }
    }
}

/// A parsed ciphertext header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The layer.
    pub layer: Layer,
    /// The version of the key that wrapped the data key.
    pub key_version: u32,
    /// The id of the KMS provider protecting that key (informational, e.g. `local`, `pkcs11`).
    pub provider: String,
    /// The wrapped data key.
    pub wrapped_dek: Vec<u8>,
    /// Random message id, the HKDF salt.
    pub message_id: [u8; MESSAGE_ID_LEN],
    /// The key commitment.
    pub commitment: [u8; COMMITMENT_LEN],
    /// Plaintext bytes per segment.
    pub segment_size: u32,
    /// The nonce prefix of the segments.
    pub nonce_prefix: [u8; NONCE_PREFIX_LEN],
}

fn take<'a>(input: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8]> {
    if input.len() < n {
        return Err(Error::Malformed(format!("truncated header: {what} missing")));
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

fn take_array<const N: usize>(input: &mut &[u8], what: &str) -> Result<[u8; N]> {
    let s = take(input, N, what)?;
    s.try_into().map_err(|_| Error::Malformed(format!("truncated header: {what} missing")))
}

impl Header {
    /// Serializes the header.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        out.extend_from_slice(MAGIC);
        out.push(ALG_AES256GCM_HKDF_COMMIT);
        out.push(self.layer.byte());
        out.extend_from_slice(&self.key_version.to_be_bytes());
        out.push(u8::try_from(self.provider.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(self.provider.as_bytes());
        out.extend_from_slice(&u16::try_from(self.wrapped_dek.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(&self.wrapped_dek);
        out.extend_from_slice(&self.message_id);
        out.extend_from_slice(&self.commitment);
        out.extend_from_slice(&self.segment_size.to_be_bytes());
        out.extend_from_slice(&self.nonce_prefix);
        out
    }

    /// Serialized length in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        4 + 1
            + 1
            + 4
            + 1
            + self.provider.len()
            + 2
            + self.wrapped_dek.len()
            + MESSAGE_ID_LEN
            + COMMITMENT_LEN
            + 4
            + NONCE_PREFIX_LEN
    }

    /// Parses a header from the start of `input`; returns it and the number of bytes it took.
    pub fn parse(input: &[u8]) -> Result<(Header, usize)> {
        let mut rest = input;
        let magic = take(&mut rest, 4, "magic")?;
        if magic != MAGIC {
            return Err(Error::Malformed("bad magic (expected \"PLS1\")".to_owned()));
        }
        let [alg] = take_array::<1>(&mut rest, "algorithm")?;
        if alg != ALG_AES256GCM_HKDF_COMMIT {
            return Err(Error::Malformed(format!("unknown algorithm id {alg}")));
        }
        let [layer] = take_array::<1>(&mut rest, "layer")?;
        let layer = Layer::from_byte(layer)?;
        let key_version = u32::from_be_bytes(take_array(&mut rest, "key version")?);
        if key_version == 0 {
            return Err(Error::Malformed("key version 0".to_owned()));
        }
        let [plen] = take_array::<1>(&mut rest, "provider id length")?;
        let provider = take(&mut rest, usize::from(plen), "provider id")?;
        let provider = std::str::from_utf8(provider)
            .ok()
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| Error::Malformed("provider id is not printable ASCII".to_owned()))?
            .to_owned();
        let wlen = u16::from_be_bytes(take_array(&mut rest, "wrapped key length")?);
        if usize::from(wlen) != WRAPPED_DEK_LEN {
            return Err(Error::Malformed(format!("wrapped key is {wlen} bytes, expected {WRAPPED_DEK_LEN}")));
        }
        let wrapped_dek = take(&mut rest, usize::from(wlen), "wrapped key")?.to_vec();
        let message_id = take_array(&mut rest, "message id")?;
        let commitment = take_array(&mut rest, "commitment")?;
        let segment_size = u32::from_be_bytes(take_array(&mut rest, "segment size")?);
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&segment_size) {
            return Err(Error::Malformed(format!(
                "segment size {segment_size} outside {MIN_SEGMENT_SIZE}..={MAX_SEGMENT_SIZE}"
            )));
        }
        let nonce_prefix = take_array(&mut rest, "nonce prefix")?;
        let h = Header {
            layer,
            key_version,
            provider,
            wrapped_dek,
            message_id,
            commitment,
            segment_size,
            nonce_prefix,
        };
        let used = input.len() - rest.len();
        Ok((h, used))
    }

    /// The associated data of every segment: the immutable header fields and the context.
    /// (Key version, provider and wrapped key are left out so that re-wrapping a data key does
    /// not touch the data; they are bound through the data-key wrap and the commitment.)
    pub fn data_aad(&self, ctx: &SealContext) -> Result<Vec<u8>> {
        let mut aad = Vec::with_capacity(128);
        aad.extend_from_slice(DATA_AAD_LABEL);
        aad.extend_from_slice(MAGIC);
        aad.push(ALG_AES256GCM_HKDF_COMMIT);
        aad.push(self.layer.byte());
        aad.extend_from_slice(&self.message_id);
        aad.extend_from_slice(&self.commitment);
        aad.extend_from_slice(&self.segment_size.to_be_bytes());
        aad.extend_from_slice(&self.nonce_prefix);
        encode_context(&mut aad, ctx)?;
        Ok(aad)
    }

    /// The associated data of the data-key wrap.
    pub fn dek_aad(&self, ctx: &SealContext) -> Result<Vec<u8>> {
        dek_aad(self.layer, self.key_version, &self.provider, &self.message_id, ctx)
    }

    /// The nonce of segment `index`.
    pub fn segment_nonce(&self, index: u32, last: bool) -> [u8; 12] {
        let mut n = [0u8; 12];
        let (prefix, tail) = n.split_at_mut(NONCE_PREFIX_LEN);
        prefix.copy_from_slice(&self.nonce_prefix);
        let (ctr, flag) = tail.split_at_mut(4);
        ctr.copy_from_slice(&index.to_be_bytes());
        if let Some(f) = flag.first_mut() {
            *f = u8::from(last);
        }
        n
    }
}

/// The associated data of a data-key wrap.
pub(crate) fn dek_aad(
    layer: Layer,
    key_version: u32,
    provider: &str,
    message_id: &[u8],
    ctx: &SealContext,
) -> Result<Vec<u8>> {
    let mut aad = Vec::with_capacity(96);
    aad.extend_from_slice(DEK_AAD_LABEL);
    aad.push(layer.byte());
    aad.extend_from_slice(&key_version.to_be_bytes());
    aad.push(u8::try_from(provider.len()).unwrap_or(u8::MAX));
    aad.extend_from_slice(provider.as_bytes());
    aad.extend_from_slice(message_id);
    encode_context(&mut aad, ctx)?;
    Ok(aad)
}

/// Appends `u16 len ‖ bytes` for tenant, purpose and record.
pub(crate) fn encode_context(out: &mut Vec<u8>, ctx: &SealContext) -> Result<()> {
    for (name, part) in [("tenant", ctx.tenant.as_str()), ("purpose", &ctx.purpose), ("record", &ctx.record)]
    {
        let len = u16::try_from(part.len())
            .map_err(|_| Error::Invalid(format!("the {name} of the context is longer than 65535 bytes")))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            layer: Layer::Inner,
            key_version: 3,
            provider: "local".into(),
            wrapped_dek: vec![5; WRAPPED_DEK_LEN],
            message_id: [1; 16],
            commitment: [2; 32],
            segment_size: 65536,
            nonce_prefix: [3; 7],
        }
    }

    #[test]
    fn roundtrip_and_truncation() {
        let h = sample();
        let bytes = h.to_bytes();
        assert_eq!(bytes.len(), h.len());
        let (p, used) = Header::parse(&bytes).unwrap();
        assert_eq!(p, h);
        assert_eq!(used, bytes.len());
        for cut in 0..bytes.len() {
            assert!(matches!(Header::parse(&bytes[..cut]), Err(Error::Malformed(_))), "cut {cut}");
        }
    }

    #[test]
    fn nonce_layout() {
        let n = sample().segment_nonce(0x01020304, true);
        assert_eq!(n, [3, 3, 3, 3, 3, 3, 3, 1, 2, 3, 4, 1]);
    }

    #[test]
    fn context_encoding_is_unambiguous() {
        let t = "t".parse().unwrap();
        let mut a = Vec::new();
        let mut b = Vec::new();
        encode_context(&mut a, &SealContext::new(t, "ab", "c")).unwrap();
        encode_context(&mut b, &SealContext::new("t".parse().unwrap(), "a", "bc")).unwrap();
        assert_ne!(a, b);
    }
}
