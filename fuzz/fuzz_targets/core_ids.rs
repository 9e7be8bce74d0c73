//! Id parsing never panics, and what parses displays back to the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_core::{TenantId, UserId};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(id) = s.parse::<TenantId>() {
            assert_eq!(id.to_string(), s);
        }
        let _ = s.parse::<UserId>();
    }
});
