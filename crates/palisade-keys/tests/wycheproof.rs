//! Wycheproof AES-GCM and HKDF-SHA-256 vectors against every compiled backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may

use palisade_keys::Backend;
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors/wycheproof/");

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{DIR}{name}")).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

/// Policy: only AES-256 with 96-bit nonces and 128-bit tags is supported; every other group must
/// be refused by the API (key or nonce length), never silently processed. Within the supported
/// groups `valid` must seal to exactly `ct ‖ tag` and open; `invalid` must not open.
#[test]
fn aes_gcm() {
    let doc = load("aes_gcm_test.json");
    for backend in Backend::all() {
        let (mut checked, mut refused) = (0, 0);
        for group in doc["testGroups"].as_array().unwrap() {
            let key_bits = group["keySize"].as_u64().unwrap();
            let iv_bits = group["ivSize"].as_u64().unwrap();
            assert_eq!(group["tagSize"], 128);
            for t in group["tests"].as_array().unwrap() {
                let id = &t["tcId"];
                let (key, iv, aad, msg, ct, tag) =
                    (h(&t["key"]), h(&t["iv"]), h(&t["aad"]), h(&t["msg"]), h(&t["ct"]), h(&t["tag"]));
                let valid = t["result"] == "valid";
                let Ok(k) = backend.aead_key(&key) else {
                    assert_ne!(key_bits, 256, "tc {id}: 256-bit key refused");
                    refused += 1;
                    continue;
                };
                assert_eq!(key_bits, 256, "tc {id}: {key_bits}-bit key accepted");
                let mut sealed = msg.clone();
                match k.seal_detached(&iv, &aad, &mut sealed) {
                    Err(_) => {
                        assert_ne!(iv_bits, 96, "tc {id}: 96-bit nonce refused");
                        refused += 1;
                        continue;
                    }
                    Ok(got_tag) => {
                        assert_eq!(iv_bits, 96, "tc {id}: {iv_bits}-bit nonce accepted");
                        if valid {
                            assert_eq!(sealed, ct, "{} tc {id}: ciphertext", backend.name());
                            assert_eq!(got_tag.to_vec(), tag, "{} tc {id}: tag", backend.name());
                        }
                    }
                }
                let mut buf = [ct.clone(), tag.clone()].concat();
                let opened = k.open_in_place(&iv, &aad, &mut buf);
                if valid {
                    let n = opened.unwrap_or_else(|e| panic!("{} tc {id}: {e}", backend.name()));
                    assert_eq!(&buf[..n], msg.as_slice(), "tc {id}");
                } else {
                    assert!(opened.is_err(), "{} tc {id}: invalid vector opened", backend.name());
                }
                checked += 1;
            }
        }
        assert!(checked > 60 && refused > 100, "{}: checked {checked}, refused {refused}", backend.name());
    }
}

#[test]
fn hkdf_sha256() {
    let doc = load("hkdf_sha256_test.json");
    for backend in Backend::all() {
        let mut n = 0;
        for group in doc["testGroups"].as_array().unwrap() {
            for t in group["tests"].as_array().unwrap() {
                let id = &t["tcId"];
                let size = usize::try_from(t["size"].as_u64().unwrap()).unwrap();
                let mut okm = vec![0u8; size];
                let r = backend.hkdf_sha256(&h(&t["salt"]), &h(&t["ikm"]), &h(&t["info"]), &mut okm);
                if t["result"] == "valid" {
                    r.unwrap_or_else(|e| panic!("{} tc {id}: {e}", backend.name()));
                    assert_eq!(okm, h(&t["okm"]), "{} tc {id}", backend.name());
                } else {
                    assert!(r.is_err(), "{} tc {id}: invalid size accepted", backend.name());
                }
                n += 1;
            }
        }
        assert_eq!(n, 86);
    }
}
