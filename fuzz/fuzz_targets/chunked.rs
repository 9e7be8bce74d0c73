//! Shared by the mask fuzz targets: the first input byte picks the chunk sizes, the rest is
//! handed out through `Read` in those chunks.

use std::io::Read;

use palisade_mask::StreamLimits;

/// Hands out `data` in chunks whose sizes cycle through 1..=`max`.
pub struct Chunked<'a> {
    data: &'a [u8],
    max: usize,
    turn: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.turn += 1;
        let n = (self.turn % self.max + 1).min(buf.len()).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        buf[..n].copy_from_slice(head);
        self.data = rest;
        Ok(n)
    }
}

/// Splits the fuzz input into a chunked reader over the data, the data, and small limits (so
/// window boundaries are crossed often).
pub fn split(input: &[u8]) -> Option<(Chunked<'_>, &[u8], StreamLimits)> {
    let (&seed, data) = input.split_first()?;
    let limits = StreamLimits { buffer_bytes: 64, max_token_bytes: 1 << 20 };
    Some((Chunked { data, max: usize::from(seed % 16) + 1, turn: 0 }, data, limits))
}
