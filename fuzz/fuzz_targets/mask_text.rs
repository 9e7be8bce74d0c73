//! The text masker never panics and is idempotent on any UTF-8 input, and the streaming path
//! (fed through `Read` in arbitrary chunks, the first input byte picks their size) fails exactly
//! on non-UTF-8 input.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use palisade_mask::{Error, Masker, StreamLimits};

struct Chunked<'a> {
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

fuzz_target!(|input: &[u8]| {
    let Some((&seed, data)) = input.split_first() else { return };
    let masker = Masker::builtin();
    let limits = StreamLimits { buffer_bytes: 64, max_token_bytes: 1 << 20 };
    let reader = Chunked { data, max: usize::from(seed % 16) + 1, turn: 0 };
    let mut out = Vec::new();
    let streamed = masker.mask_text_stream(reader, &mut out, &limits, |_| {});
    match std::str::from_utf8(data) {
        Ok(s) => {
            assert!(streamed.is_ok());
            let once = masker.mask_text(s).0.into_inner();
            assert_eq!(masker.mask_text(&once).0.into_inner(), once);
            let out = String::from_utf8(out).unwrap();
            let mut again = Vec::new();
            masker.mask_text_stream(out.as_bytes(), &mut again, &limits, |_| {}).unwrap();
            assert_eq!(again, out.as_bytes());
        }
        Err(e) => assert_eq!(
            streamed.unwrap_err(),
            Error::Malformed { offset: e.valid_up_to(), reason: "input is not UTF-8 text" }
        ),
    }
});
