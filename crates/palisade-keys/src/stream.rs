//! Segmented encryption: [`StreamSealer`] and [`StreamOpener`] keep memory bounded to one
//! segment, and detect truncation (the last segment carries a flag in its nonce) and reordering
//! (the segment index is in the nonce).

use std::fmt;

use palisade_core::wipe_vec;

use crate::backend::{AeadKey, TAG_LEN};
use crate::error::{Error, Result};
use crate::format::Header;

/// The derived data key of one message with its header and associated data.
pub(crate) struct SegmentKey {
    key: Box<dyn AeadKey>,
    header: Header,
    aad: Vec<u8>,
    seg: usize,
    index: u32,
    done: bool,
}

impl SegmentKey {
    pub(crate) fn header(&self) -> &Header {
        &self.header
    }

    pub(crate) fn new(key: Box<dyn AeadKey>, header: Header, aad: Vec<u8>) -> Self {
        let seg = usize::try_from(header.segment_size).unwrap_or(usize::MAX);
        Self { key, header, aad, seg, index: 0, done: false }
    }

    fn next_nonce(&mut self, last: bool) -> Result<[u8; 12]> {
        if self.done {
            return Err(Error::Malformed("data after the final segment".to_owned()));
        }
        let n = self.header.segment_nonce(self.index, last);
        self.index = self
            .index
            .checked_add(1)
            .ok_or_else(|| Error::Invalid("more than 2^32 segments: use a larger segment size".to_owned()))?;
        self.done = last;
        Ok(n)
    }

    /// Seals one segment of `plain` onto `out`.
    pub(crate) fn seal_segment(&mut self, plain: &[u8], last: bool, out: &mut Vec<u8>) -> Result<()> {
        let nonce = self.next_nonce(last)?;
        let start = out.len();
        out.extend_from_slice(plain);
        let tag = self
            .key
            .seal_detached(&nonce, &self.aad, out.get_mut(start..).unwrap_or_default())
            .map_err(|_| Error::Crypto("segment seal failed"))?;
        out.extend_from_slice(&tag);
        Ok(())
    }

    /// Opens one segment (`ciphertext ‖ tag`) onto `out`.
    pub(crate) fn open_segment(&mut self, seg: &[u8], last: bool, out: &mut Vec<u8>) -> Result<()> {
        let nonce = self.next_nonce(last)?;
        let start = out.len();
        out.extend_from_slice(seg);
        let buf = out.get_mut(start..).unwrap_or_default();
        match self.key.open_in_place(&nonce, &self.aad, buf) {
            Ok(n) => {
                out.truncate(start + n);
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                self.done = true;
                Err(Error::DoesNotOpen)
            }
        }
    }

    /// Seals all of `plain` as a complete message body.
    pub(crate) fn seal_all(mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let seg = self.seg;
        let mut chunks = plain.chunks(seg).peekable();
        if chunks.peek().is_none() {
            return self.seal_segment(&[], true, out);
        }
        while let Some(c) = chunks.next() {
            let last = chunks.peek().is_none();
            self.seal_segment(c, last, out)?;
        }
        Ok(())
    }

    /// Opens a complete message body.
    pub(crate) fn open_all(mut self, body: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let full = self.seg + TAG_LEN;
        let mut rest = body;
        while rest.len() > full {
            let (seg, tail) = rest.split_at(full);
            self.open_segment(seg, false, out)?;
            rest = tail;
        }
        if rest.len() < TAG_LEN {
            return Err(Error::DoesNotOpen);
        }
        self.open_segment(rest, true, out)
    }
}

/// Seals a stream segment by segment. Created by
/// [`KeyManager::stream_sealer`](crate::KeyManager::stream_sealer).
pub struct StreamSealer {
    key: SegmentKey,
    /// Plaintext not yet sealed; wiped on drop.
    pending: Vec<u8>,
}

impl Drop for StreamSealer {
    fn drop(&mut self) {
        wipe_vec(&mut self.pending);
    }
}

impl fmt::Debug for StreamSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamSealer").field("segments", &self.key.index).finish_non_exhaustive()
    }
}

impl StreamSealer {
    pub(crate) fn new(key: SegmentKey) -> Self {
        Self { key, pending: Vec::new() }
    }

    /// The header: write it before anything else.
    pub fn header(&self) -> Vec<u8> {
        self.key.header.to_bytes()
    }

    /// Adds plaintext; appends every completed segment to `out`.
    pub fn update(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.pending.extend_from_slice(data);
        let seg = self.key.seg;
        // Keep at least one byte back: only `finish` knows which segment is the last.
        let mut start = 0;
        while self.pending.len() - start > seg {
            let chunk = self.pending.get(start..start + seg).unwrap_or_default();
            self.key.seal_segment(chunk, false, out)?;
            start += seg;
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Seals the final segment onto `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<()> {
        let mut pending = std::mem::take(&mut self.pending);
        let sealed = self.key.seal_segment(&pending, true, out);
        wipe_vec(&mut pending);
        sealed
    }
}

/// Opens a stream segment by segment. Created by
/// [`KeyManager::stream_opener`](crate::KeyManager::stream_opener).
///
/// Plaintext is released one authenticated segment at a time; only [`finish`](Self::finish)
/// proves the stream was not truncated, so treat output as provisional until it returns `Ok`.
pub struct StreamOpener {
    key: SegmentKey,
    pending: Vec<u8>,
}

impl fmt::Debug for StreamOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamOpener").field("segments", &self.key.index).finish_non_exhaustive()
    }
}

impl StreamOpener {
    pub(crate) fn new(key: SegmentKey) -> Self {
        Self { key, pending: Vec::new() }
    }

    /// Adds ciphertext (after the header); appends the plaintext of completed segments to `out`.
    pub fn update(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.pending.extend_from_slice(data);
        let full = self.key.seg + TAG_LEN;
        let mut start = 0;
        while self.pending.len() - start > full {
            let seg = self.pending.get(start..start + full).unwrap_or_default();
            self.key.open_segment(seg, false, out)?;
            start += full;
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Opens the final segment onto `out`; fails if the stream was truncated.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.pending.len() < TAG_LEN {
            return Err(Error::DoesNotOpen);
        }
        let pending = std::mem::take(&mut self.pending);
        self.key.open_segment(&pending, true, out)
    }
}
