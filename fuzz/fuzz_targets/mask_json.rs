//! The streaming JSON masker, fed through `Read` in arbitrary chunks (the first input byte picks
//! the chunk sizes), never panics, accepts exactly what serde_json accepts, emits the same output
//! as the in-memory path, emits valid JSON whenever it succeeds, and is idempotent.
#![no_main]

#[path = "chunked.rs"]
mod chunked;

use libfuzzer_sys::fuzz_target;
use palisade_mask::{Error, Masker};

fn serde_verdict(data: &[u8]) -> Option<bool> {
    match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(_) => Some(true),
        // serde_json stops at 128 levels; the masker allows 256.
        Err(e) if e.to_string().contains("recursion limit") => None,
        // serde_json refuses numbers beyond f64 (`1e999`); the masker passes number tokens
        // through unchanged, as the JSON grammar allows any magnitude.
        Err(e) if e.to_string().contains("number out of range") => None,
        Err(_) => Some(false),
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((reader, data, limits)) = chunked::split(input) else { return };
    let masker = Masker::builtin();
    let mut out = Vec::new();
    let streamed = masker.mask_json_stream(reader, &mut out, &limits, |_| {});
    let mut slice_out = Vec::new();
    let slice = masker.mask_json(data, &mut slice_out);
    match (&streamed, &slice) {
        (Ok(_), Ok(_)) => assert_eq!(out, slice_out),
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("chunked {streamed:?} vs in-memory {slice:?}"),
    }
    if let Some(ok) = serde_verdict(data) {
        assert_eq!(ok, streamed.is_ok());
    }
    match streamed {
        Ok(_) => {
            assert!(serde_verdict(&out) != Some(false));
            let mut again = Vec::new();
            masker.mask_json(&out, &mut again).unwrap();
            assert_eq!(again, out);
        }
        Err(Error::Malformed { offset, .. }) => {
            assert!(offset <= data.len());
            assert!(slice_out.is_empty());
        }
        Err(e) => panic!("unexpected error {e:?}"),
    }
});
