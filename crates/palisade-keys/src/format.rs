//! The binary ciphertext format, version 1 (specified with test vectors in `docs/formats.md`).
//!
//! ```text
//! magic "PLS1" | alg u8 | layer u8 | [period start i64 | period secs u32, if layer & 0x80] |
//! key version u32 | provider id (u8 len) |
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
/// Length of the period fields that follow a flagged layer byte.
pub const PERIOD_LEN: usize = 12;
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

/// Flag of the layer byte: the layer's key is a period key ([`PeriodRef`] follows the byte).
pub const LAYER_PERIOD_FLAG: u8 = 0x80;

/// The period whose key wrapped a layer's data key (see
/// [`PeriodId`](crate::keyring::PeriodId)); the tenant and data class come from the context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeriodRef {
    /// Start of the period, Unix seconds (a multiple of `secs`).
    pub start: i64,
    /// Length of the period in seconds (≥ 1).
    pub secs: u32,
}

impl PeriodRef {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.start.to_be_bytes());
        out.extend_from_slice(&self.secs.to_be_bytes());
    }
}

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
    /// Set when the data key is wrapped by a period key instead of the tenant key (single and
    /// inner layers only).
    pub period: Option<PeriodRef>,
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
        self.write_to(&mut out);
        out
    }

    /// Appends the serialized header to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(MAGIC);
        out.push(ALG_AES256GCM_HKDF_COMMIT);
        self.encode_layer(out);
        out.extend_from_slice(&self.key_version.to_be_bytes());
        out.push(u8::try_from(self.provider.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(self.provider.as_bytes());
        out.extend_from_slice(&u16::try_from(self.wrapped_dek.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(&self.wrapped_dek);
        out.extend_from_slice(&self.message_id);
        out.extend_from_slice(&self.commitment);
        out.extend_from_slice(&self.segment_size.to_be_bytes());
        out.extend_from_slice(&self.nonce_prefix);
    }

    /// Serialized length in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        4 + 1
            + 1
            + if self.period.is_some() { PERIOD_LEN } else { 0 }
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
        let [layer_byte] = take_array::<1>(&mut rest, "layer")?;
        let layer = Layer::from_byte(layer_byte & !LAYER_PERIOD_FLAG)?;
        let period = if layer_byte & LAYER_PERIOD_FLAG != 0 {
            if layer == Layer::Outer {
                return Err(Error::Malformed("an outer layer cannot use a period key".to_owned()));
            }
            let start = i64::from_be_bytes(take_array(&mut rest, "period start")?);
            let secs = u32::from_be_bytes(take_array(&mut rest, "period length")?);
            if secs == 0 || start.rem_euclid(i64::from(secs)) != 0 {
                return Err(Error::Malformed(format!("period {start}+{secs} is not aligned")));
            }
            Some(PeriodRef { start, secs })
        } else {
            None
        };
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
            period,
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
        self.encode_layer(&mut aad);
        aad.extend_from_slice(&self.message_id);
        aad.extend_from_slice(&self.commitment);
        aad.extend_from_slice(&self.segment_size.to_be_bytes());
        aad.extend_from_slice(&self.nonce_prefix);
        encode_context(&mut aad, ctx)?;
        Ok(aad)
    }

    /// The associated data of the data-key wrap.
    pub fn dek_aad(&self, ctx: &SealContext) -> Result<Vec<u8>> {
        dek_aad(self.layer, self.period, self.key_version, &self.provider, &self.message_id, ctx)
    }

    /// The layer byte (with [`LAYER_PERIOD_FLAG`] when a period key is used), then the period.
    fn encode_layer(&self, out: &mut Vec<u8>) {
        encode_layer(out, self.layer, self.period);
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
    period: Option<PeriodRef>,
    key_version: u32,
    provider: &str,
    message_id: &[u8],
    ctx: &SealContext,
) -> Result<Vec<u8>> {
    let mut aad = Vec::with_capacity(96);
    aad.extend_from_slice(DEK_AAD_LABEL);
    encode_layer(&mut aad, layer, period);
    aad.extend_from_slice(&key_version.to_be_bytes());
    aad.push(u8::try_from(provider.len()).unwrap_or(u8::MAX));
    aad.extend_from_slice(provider.as_bytes());
    aad.extend_from_slice(message_id);
    encode_context(&mut aad, ctx)?;
    Ok(aad)
}

fn encode_layer(out: &mut Vec<u8>, layer: Layer, period: Option<PeriodRef>) {
    match period {
        Some(p) => {
            out.push(layer.byte() | LAYER_PERIOD_FLAG);
            p.encode(out);
        }
        None => out.push(layer.byte()),
    }
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
            period: None,
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
    fn period_roundtrip_and_checks() {
        let h = Header { period: Some(PeriodRef { start: 7200, secs: 3600 }), ..sample() };
        let bytes = h.to_bytes();
        assert_eq!(bytes.len(), sample().len() + PERIOD_LEN);
        assert_eq!(bytes[5], 0x82);
        let (p, used) = Header::parse(&bytes).unwrap();
        assert_eq!((p, used), (h.clone(), bytes.len()));
        for cut in 0..bytes.len() {
            assert!(Header::parse(&bytes[..cut]).is_err(), "cut {cut}");
        }
        // Unaligned or zero-length periods, and outer layers with a period, are refused.
        let unaligned = Header { period: Some(PeriodRef { start: 7201, secs: 3600 }), ..sample() };
        assert!(Header::parse(&unaligned.to_bytes()).is_err());
        let zero = Header { period: Some(PeriodRef { start: 0, secs: 0 }), ..sample() };
        assert!(Header::parse(&zero.to_bytes()).is_err());
        let outer = Header { layer: Layer::Outer, ..h.clone() };
        assert!(Header::parse(&outer.to_bytes()).is_err());
        // The period is bound into both associated data strings.
        let c = SealContext::new("t".parse().unwrap(), "p", "r");
        let other = Header { period: Some(PeriodRef { start: 10800, secs: 3600 }), ..h.clone() };
        assert_ne!(h.data_aad(&c).unwrap(), other.data_aad(&c).unwrap());
        assert_ne!(h.dek_aad(&c).unwrap(), other.dek_aad(&c).unwrap());
        assert_ne!(h.data_aad(&c).unwrap(), sample().data_aad(&c).unwrap());
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
