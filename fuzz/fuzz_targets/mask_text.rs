//! The text masker never panics and is idempotent on any UTF-8 line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_mask::Masker;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let masker = Masker::builtin();
        let once = masker.mask_text(s).0.into_inner();
        assert_eq!(masker.mask_text(&once).0.into_inner(), once);
    }
});
