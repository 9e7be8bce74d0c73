//! Property tests: selected values never reach the output, masking is idempotent, untouched
//! documents pass through byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Read;

use palisade_mask::{Masker, Policy, StreamLimits};
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

/// A reader handing out its bytes in chunks of the given sizes (cycled).
struct Chunked<'a> {
    data: &'a [u8],
    sizes: &'a [usize],
    turn: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes.get(self.turn % self.sizes.len().max(1)).copied().unwrap_or(1).max(1);
        self.turn += 1;
        let n = size.min(buf.len()).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        buf[..n].copy_from_slice(head);
        self.data = rest;
        Ok(n)
    }
}

/// Masks through the streaming path (small windows, chunked reads), checks that it agrees with
/// the in-memory path, and returns the output.
fn mask_streamed(m: &Masker, input: &[u8], sizes: &[usize]) -> Result<Vec<u8>, palisade_mask::Error> {
    let limits = StreamLimits { buffer_bytes: 64, max_token_bytes: 1 << 20 };
    let mut out = Vec::new();
    let mut entries = Vec::new();
    let streamed =
        m.mask_json_stream(Chunked { data: input, sizes, turn: 0 }, &mut out, &limits, |e| entries.push(e));
    let mut slice_out = Vec::new();
    let slice = m.mask_json(input, &mut slice_out);
    match (streamed, slice) {
        (Ok(_), Ok(report)) => {
            assert_eq!(out, slice_out, "chunked and in-memory outputs differ");
            assert_eq!(entries, report.masked);
            Ok(out)
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "chunked and in-memory errors differ");
            Err(a)
        }
        (a, b) => panic!("chunked {a:?} vs in-memory {b:?}"),
    }
}

/// Whether serde_json parses `bytes` (into a `Value`: `IgnoredAny` skips strings without checking
/// their UTF-8); `None` for the documented exception: numbers beyond f64 (`-10E8085304`), which
/// serde_json refuses and the JSON grammar (and the masker) allows.
fn serde_accepts(bytes: &[u8]) -> Option<bool> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(_) => Some(true),
        Err(e) if e.to_string().contains("number out of range") => None,
        Err(_) => Some(false),
    }
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![Just(vec![1]), prop::collection::vec(1usize..100, 1..6)]
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
                            escape in any::<bool>(), sizes in chunk_sizes()) {
        let email = format!("{user}.{secret}@example.com");
        let mut v = json!({"payload": base, "credentials": {"apiKey": secret.clone()},
            "items": [{"card": "4111111111111111"}], "gone": secret.clone(),
            "note": format!("write to {email} please"),
            "log": format!("retry db_password={secret}, then 'Authorization': 'Bearer {secret}'")});
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
        let out = mask_streamed(&masker(), text.as_bytes(), &sizes).unwrap();
        let out_s = String::from_utf8(out.clone()).unwrap();
        let decoded: Value = serde_json::from_slice(&out).expect("output is valid JSON");
        let decoded_s = decoded.to_string();
        prop_assert!(!decoded_s.contains(&secret), "{out_s}");
        prop_assert!(!decoded_s.contains(&email));
        prop_assert!(!decoded_s.contains("4111111111111111"));
        prop_assert!(decoded_s.contains("************1111"));
        // Idempotent.
        prop_assert_eq!(mask_streamed(&masker(), &out, &sizes).unwrap(), out);
    }

    #[test]
    fn chunked_output_equals_in_memory_output(v in doc(), secret in "[a-z0-9]{10}", sizes in chunk_sizes(),
                                              pretty in any::<bool>()) {
        let v = json!({"a": v, "items": [{"card": "4111 1111 1111 1111"}], "gone": [1, {"x": 2}],
            "apiKey": secret, "note": format!("to {secret}@example.org or 4111-1111-1111-1111")});
        let text = if pretty { serde_json::to_string_pretty(&v).unwrap() } else { v.to_string() };
        let out = mask_streamed(&masker(), text.as_bytes(), &sizes).unwrap();
        prop_assert!(!String::from_utf8(out).unwrap().contains(&secret));
    }

    #[test]
    fn untouched_documents_pass_byte_for_byte(v in doc(), pretty in any::<bool>(), sizes in chunk_sizes()) {
        let text = if pretty { serde_json::to_string_pretty(&v).unwrap() } else { v.to_string() };
        prop_assert_eq!(mask_streamed(&masker(), text.as_bytes(), &sizes).unwrap(), text.as_bytes());
    }

    #[test]
    fn value_and_stream_modes_agree(v in doc(), secret in "[a-z]{8}", sizes in chunk_sizes()) {
        let v = json!({"a": v, "token": secret, "m": format!("{secret}@example.org"),
                       "log": format!("GET /cb?access_token={secret}&x=1")});
        let (masked, _) = masker().mask_value(v.clone());
        let streamed = mask_streamed(&masker(), v.to_string().as_bytes(), &sizes).unwrap();
        let streamed: Value = serde_json::from_slice(&streamed).unwrap();
        prop_assert_eq!(masked.into_inner(), streamed);
    }

    #[test]
    fn text_masking_is_idempotent(line in "[ -~]{0,80}") {
        let m = Masker::builtin();
        let once = m.mask_text(&line).0.into_inner();
        prop_assert_eq!(m.mask_text(&once).0.into_inner(), once);
    }

    #[test]
    fn named_values_in_text_never_survive(prefix in "[ -~]{0,30}", suffix in "[ -~]{0,30}",
                                          key in prop::sample::select(vec!["password", "DB_PASSWORD", "api-key",
                                              "access_token", "clientSecret", "Authorization", "x.cookie"]),
                                          form in 0usize..6, secret in "[a-z0-9]{8,12}") {
        let named = match form {
            0 => format!("{key}={secret}"),
            1 => format!("{key}: {secret}"),
            2 => format!("\"{key}\":\"{secret}\""),
            3 => format!("{key} = '{secret}'"),
            4 => format!("{key}=>\"x\\\"{secret}\""),
            _ => format!("{key}: Bearer {secret}"),
        };
        let m = Masker::builtin();
        let line = format!("{prefix} {named}{}{suffix}", if form == 0 { " " } else { "" });
        let once = m.mask_text(&line).0.into_inner();
        prop_assert!(!once.contains(&secret), "{} -> {}", line, once);
        prop_assert_eq!(m.mask_text(&once).0.into_inner(), once.clone());
        // At the start of a line, the header form takes the rest of the line.
        let header = format!("{named}{suffix}\nnext");
        let out = m.mask_text(&header).0.into_inner();
        prop_assert!(!out.contains(&secret) && out.ends_with("\nnext"), "{} -> {}", header, out);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64), sizes in chunk_sizes()) {
        let ok = mask_streamed(&masker(), &bytes, &sizes).is_ok();
        if let Some(expected) = serde_accepts(&bytes) {
            prop_assert_eq!(ok, expected);
        }
    }

    #[test]
    fn near_json_inputs_agree_at_any_chunking(v in doc(), cut in any::<prop::sample::Index>(),
                                             byte in any::<u8>(), sizes in chunk_sizes()) {
        // A valid document with one byte replaced: errors (and offsets) match the in-memory path.
        let mut bytes = json!({"k": v, "password": "x"}).to_string().into_bytes();
        let i = cut.index(bytes.len());
        bytes[i] = byte;
        let ok = mask_streamed(&masker(), &bytes, &sizes).is_ok();
        if let Some(expected) = serde_accepts(&bytes) {
            prop_assert_eq!(ok, expected);
        }
    }
}
