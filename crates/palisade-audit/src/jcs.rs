//! RFC 8785 JSON Canonicalization Scheme (JCS): the bytes every hash and signature is taken over.
//!
//! Object members are sorted by the UTF-16 code units of their names, no insignificant
//! whitespace is written, strings use the minimal escaping of ECMAScript's `JSON.stringify`, and
//! numbers are written as ECMAScript writes IEEE-754 doubles. Any tool that implements RFC 8785
//! (Python's `jcs`, Java's `json-canonicalization`, `canonicalize` on npm) produces the same bytes.

use serde_json::Value;

/// The canonical bytes of `value`.
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write(value, &mut out);
    out
}

/// Appends the canonical bytes of `value` to `out`.
pub fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(map, None, out),
    }
}

/// Appends the canonical bytes of the object `map`, leaving out the member named `skip`.
pub fn write_object(map: &serde_json::Map<String, Value>, skip: Option<&str>, out: &mut Vec<u8>) {
    out.push(b'{');
    let mut first = true;
    let mut member = |k: &String, v: &Value, out: &mut Vec<u8>| {
        if skip == Some(k.as_str()) {
            return;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write_string(k, out);
        out.push(b':');
        write(v, out);
    };
    // serde_json's map iterates in byte order of the names, which is also UTF-16 code-unit
    // order unless a name holds a character above U+FFFF (a surrogate pair in UTF-16 sorts
    // below U+E000..U+FFFF, while its UTF-8 bytes sort above). Only then re-sort.
    if map.keys().all(|k| !k.chars().any(|c| u32::from(c) > 0xFFFF)) {
        for (k, v) in map {
            member(k, v, out);
        }
    } else {
        let mut members: Vec<(&String, &Value)> = map.iter().collect();
        members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
        for (k, v) in members {
            member(k, v, out);
        }
    }
    out.push(b'}');
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        // Only ASCII needs escaping; multi-byte UTF-8 sequences never contain these bytes.
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x00..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// 2^53: integers up to this magnitude are exact in an IEEE double.
const EXACT_INT: u64 = 1 << 53;

fn write_number(n: &serde_json::Number, out: &mut Vec<u8>) {
    if let Some(u) = n.as_u64() {
        if u <= EXACT_INT {
            out.extend_from_slice(u.to_string().as_bytes());
            return;
        }
    } else if let Some(i) = n.as_i64()
        && i.unsigned_abs() <= EXACT_INT
    {
        out.extend_from_slice(i.to_string().as_bytes());
        return;
    }
    // Integers beyond 2^53 and all non-integers: as the nearest double, like JavaScript does.
    let f = n.as_f64().unwrap_or(0.0);
    out.extend_from_slice(es6_number(f).as_bytes());
}

/// ECMAScript's `Number.prototype.toString()` for a finite double.
pub(crate) fn es6_number(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return "0".to_owned();
    }
    let sign = if f < 0.0 { "-" } else { "" };
    // Rust's `{:e}` yields the shortest round-tripping digits, e.g. "1.2345e-7".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let n = exp + 1; // value = 0.digits × 10^n
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat(usize::try_from(n - k).unwrap_or(0)))
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(usize::try_from(n).unwrap_or(0).min(digits.len()));
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat(usize::try_from(-n).unwrap_or(0)))
    } else {
        let e = n - 1;
        let esign = if e < 0 { "-" } else { "+" };
        let (first, rest) = digits.split_at(1.min(digits.len()));
        if rest.is_empty() {
            format!("{first}e{esign}{}", e.abs())
        } else {
            format!("{first}.{rest}e{esign}{}", e.abs())
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc8785_numbers() {
        // The number samples of RFC 8785 appendix B.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (9007199254740992.0, "9007199254740992"),
            (9007199254740994.0, "9007199254740994"),
            (295147905179352830000.0, "295147905179352830000"),
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (333333333.3333332, "333333333.3333332"),
            (4.5, "4.5"),
            (-1.5, "-1.5"),
            (2e-3, "0.002"),
            (0.000001234, "0.000001234"),
            (1.234e-7, "1.234e-7"),
        ];
        for (f, want) in cases {
            assert_eq!(es6_number(*f), *want, "{f}");
        }
    }

    #[test]
    fn rfc8785_example_structure() {
        let v: Value = serde_json::from_str(
            r#"{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],
                "string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
                "literals":[null,true,false]}"#,
        )
        .unwrap();
        let got = String::from_utf8(to_vec(&v)).unwrap();
        assert_eq!(
            got,
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn sorts_by_utf16_code_units() {
        // RFC 8785 §3.2.3: U+FB33 sorts after U+1F600 (surrogates D83D DE00) in UTF-16, although
        // its code point is smaller.
        let v = json!({"\u{fb33}": 1, "😀": 2, "€": 3, "a": 4});
        assert_eq!(String::from_utf8(to_vec(&v)).unwrap(), "{\"a\":4,\"€\":3,\"😀\":2,\"\u{fb33}\":1}");
    }

    /// The reference: sort members by UTF-16 code units always, escape char by char.
    fn reference(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\u{8}' => out.push_str("\\b"),
                        '\u{c}' => out.push_str("\\f"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            Value::Object(m) => {
                let mut members: Vec<_> = m.iter().collect();
                members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
                out.push('{');
                for (i, (k, v)) in members.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    reference(&Value::String(k.clone()), out);
                    out.push(':');
                    reference(v, out);
                }
                out.push('}');
            }
            other => out.push_str(&String::from_utf8(to_vec(other)).unwrap()),
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_paths_match_the_reference(
            members in proptest::collection::btree_map(".{0,6}", ".{0,12}", 0..8)
        ) {
            let v = Value::Object(members.into_iter().map(|(k, s)| (k, Value::String(s))).collect());
            let mut want = String::new();
            reference(&v, &mut want);
            let got = String::from_utf8(to_vec(&v)).unwrap();
            proptest::prop_assert_eq!(&got, &want);
            let back: Value = serde_json::from_str(&got).unwrap();
            proptest::prop_assert_eq!(back, v);
        }
    }
}
