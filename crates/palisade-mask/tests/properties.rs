//! Property tests: selected values never reach the output, masking is idempotent, untouched
//! documents pass through byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use palisade_mask::{Masker, Policy};
use proptest::prelude::*;
use serde_json::{Value, json};

fn masker() -> Masker {
    let p: Policy = serde_json::from_str(
        r#"{"fields":[{"path":"items[*].card","operator":{"op":"partial","keep_last":4}},
                      {"path":"**.gone","operator":{"op":"remove"}}]}"#,
    )
    .unwrap();
    Masker::new(p, None).unwrap()
}

/// Escapes every character of `s` as `\uXXXX` (surrogate pairs beyond the BMP).
fn unicode_escaped(s: &str) -> String {
    let mut out = String::from("\"");
    for unit in s.encode_utf16() {
        out.push_str(&format!("\\u{unit:04x}"));
    }
    out.push('"');
    out
}

fn mask(m: &Masker, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    m.mask_json(input, &mut out).unwrap();
    out
}

fn plain() -> impl Strategy<Value = String> {
    "[a-z ]{0,12}"
}

fn doc() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        plain().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn secrets_never_appear(base in doc(), secret in "[A-Za-z0-9]{12,20}", user in "[a-z]{3,8}",
                            escape in any::<bool>()) {
        let email = format!("{user}.{secret}@example.com");
        let mut v = json!({"payload": base, "credentials": {"apiKey": secret.clone()},
            "items": [{"card": "4111111111111111"}], "gone": secret.clone(),
            "note": format!("write to {email} please")});
        v["payload"] = json!([v["payload"].take(), {"password": secret.clone()}]);
        let mut text = serde_json::to_string(&v).unwrap();
        if escape {
            // The same document with the sensitive strings written as unicode escapes.
            for s in [&secret, &email] {
                let plain = serde_json::to_string(s).unwrap();
                text = text.replace(&plain, &unicode_escaped(s));
                let inner = plain.trim_matches('"');
                text = text.replace(inner, &unicode_escaped(s)[1..unicode_escaped(s).len() - 1]);
            }
        }
        let out = mask(&masker(), text.as_bytes());
        let out_s = String::from_utf8(out.clone()).unwrap();
        let decoded: Value = serde_json::from_slice(&out).expect("output is valid JSON");
        let decoded_s = decoded.to_string();
        prop_assert!(!decoded_s.contains(&secret), "{out_s}");
        prop_assert!(!decoded_s.contains(&email));
        prop_assert!(!decoded_s.contains("4111111111111111"));
        prop_assert!(decoded_s.contains("************1111"));
        // Idempotent.
        prop_assert_eq!(mask(&masker(), &out), out);
    }

    #[test]
    fn untouched_documents_pass_byte_for_byte(v in doc(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&v).unwrap() } else { v.to_string() };
        prop_assert_eq!(mask(&masker(), text.as_bytes()), text.as_bytes());
    }

    #[test]
    fn value_and_stream_modes_agree(v in doc(), secret in "[a-z]{8}") {
        let v = json!({"a": v, "token": secret, "m": format!("{secret}@example.org")});
        let (masked, _) = masker().mask_value(v.clone());
        let streamed: Value = serde_json::from_slice(&mask(&masker(), v.to_string().as_bytes())).unwrap();
        prop_assert_eq!(masked.into_inner(), streamed);
    }

    #[test]
    fn text_masking_is_idempotent(line in "[ -~]{0,80}") {
        let m = Masker::builtin();
        let once = m.mask_text(&line).0.into_inner();
        prop_assert_eq!(m.mask_text(&once).0.into_inner(), once);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut out = Vec::new();
        let ok = masker().mask_json(&bytes, &mut out).is_ok();
        prop_assert_eq!(ok, serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok());
    }
}
