//! The streaming JSON masker never panics, accepts exactly what serde_json accepts, emits valid
//! JSON whenever it succeeds, and is idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_mask::Masker;

fuzz_target!(|data: &[u8]| {
    let masker = Masker::builtin();
    let mut out = Vec::new();
    let ok = masker.mask_json(data, &mut out).is_ok();
    assert_eq!(ok, serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok());
    if ok {
        assert!(serde_json::from_slice::<serde::de::IgnoredAny>(&out).is_ok());
        let mut again = Vec::new();
        masker.mask_json(&out, &mut again).unwrap();
        assert_eq!(again, out);
    } else {
        assert!(out.is_empty());
    }
});
