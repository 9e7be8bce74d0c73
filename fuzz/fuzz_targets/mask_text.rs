//! The text masker never panics and is idempotent on any UTF-8 input, and the streaming path
//! (fed through `Read` in arbitrary chunks, the first input byte picks their size) fails exactly
//! on non-UTF-8 input.
#![no_main]

#[path = "chunked.rs"]
mod chunked;

use libfuzzer_sys::fuzz_target;
use palisade_mask::{Error, Masker};

fuzz_target!(|input: &[u8]| {
    let Some((reader, data, limits)) = chunked::split(input) else { return };
    let masker = Masker::builtin();
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
