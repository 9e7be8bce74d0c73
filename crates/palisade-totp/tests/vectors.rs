//! RFC 4226 Appendix D and RFC 6238 Appendix B vectors, from `../shared/vectors/rfc/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use palisade_core::SecretBytes;
use palisade_totp::{Algorithm, Totp, TotpParams, hotp};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/../../../shared/vectors/rfc/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

#[test]
fn rfc4226_appendix_d() {
    let v = load("rfc4226_hotp.json");
    let key = v["secretAscii"].as_str().unwrap().as_bytes();
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 10);
    for t in tests {
        let counter = t["counter"].as_u64().unwrap();
        let want: u32 = t["hotp"].as_str().unwrap().parse().unwrap();
        assert_eq!(hotp(Algorithm::Sha1, key, counter, 6).unwrap(), want, "counter {counter}");
        // The 31-bit truncated value, before the modulo, is what 8 digits keep more of.
        let truncated = t["truncatedDecimal"].as_u64().unwrap();
        assert_eq!(u64::from(hotp(Algorithm::Sha1, key, counter, 8).unwrap()), truncated % 100_000_000);
    }
}

#[test]
fn rfc6238_appendix_b() {
    let v = load("rfc6238_totp.json");
    assert_eq!(v["digits"], 8);
    assert_eq!(v["timeStepSeconds"], 30);
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 18);
    for t in tests {
        let mode = t["mode"].as_str().unwrap();
        let seed = v["seeds"][mode]["ascii"].as_str().unwrap();
        let algorithm: Algorithm = mode.parse().unwrap();
        let totp = Totp::new(
            SecretBytes::from_slice(seed.as_bytes()),
            TotpParams { algorithm, digits: 8, period: 30 },
        )
        .unwrap();
        let at = t["unixTime"].as_i64().unwrap();
        let want = t["totp"].as_str().unwrap();
        assert_eq!(totp.code_at(at).unwrap(), want, "{mode} at {at}");
        let step = u64::from_str_radix(t["timeStepHex"].as_str().unwrap(), 16).unwrap();
        assert_eq!(totp.params().step_at(at).unwrap(), step);
        // And it verifies, at exactly that step, with no window.
        let m = totp.verify(want, at, 0, None).unwrap().expect("vector verifies");
        assert_eq!((m.step, m.drift), (step, 0));
        assert!(totp.verify(want, at, 0, Some(step)).unwrap().is_none(), "replay refused");
    }
}
