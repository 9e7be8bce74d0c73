//! Values named in text: `password=hunter2`, `api_key: abc`, `"token":"…"`, `Cookie: a=1; b=2`.
//!
//! Log lines carry secrets under the same names JSON does. In text, a value counts as named when a
//! key matching a field-name pattern is followed by `=`, `:` or `=>` and the value itself. Where
//! the value ends:
//! - quoted (`"…"` with backslash escapes, or `'…'`): at the closing quote, or at the end of the
//!   line when the quote is never closed;
//! - after `Name:` at the start of a line (an HTTP header, a YAML entry): at the end of the line,
//!   so `Authorization: Bearer abc` and `Cookie: a=1; b=2` lose their whole value;
//! - otherwise: at the next white space, `,`, `;`, `&` or quote; when that first word is an HTTP
//!   authentication scheme (`Bearer`, `Basic`, …), the credential after it is part of the value;
//! - an object or array (`{`, `[`) is not masked as a whole: the keys inside are checked on
//!   their own.
//!
//! Matching can only over-mask (a sentence like `token: expired` loses "expired"); that is the
//! safe side for text that is about to be displayed or stored.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

use crate::names::{NamePattern, normalize};

/// A key, a closing quote if the key was quoted, and the separator.
fn key_regex() -> Option<&'static Regex> {
    static KEY: OnceLock<Option<Regex>> = OnceLock::new();
    KEY.get_or_init(|| {
        Regex::new(r#"(?-u:\b)([A-Za-z_][A-Za-z0-9_.\-]{0,63})(["']?)[ \t]*(=>|[=:])[ \t]*"#).ok()
    })
    .as_ref()
}

/// Whether `text` could hold a named value (it has a separator and the policy has names).
#[inline]
pub(crate) fn may_match(text: &[u8], names: &[NamePattern]) -> bool {
    !names.is_empty() && text.iter().any(|&b| b == b'=' || b == b':')
}

/// The named values in `text`, in order, each with the index of the first pattern its key matches.
pub(crate) fn find(text: &str, names: &[NamePattern]) -> Vec<(Range<usize>, usize)> {
    let mut out = Vec::new();
    if !may_match(text.as_bytes(), names) {
        return out;
    }
    let Some(rx) = key_regex() else { return out };
    let mut pos = 0;
    while let Some(c) = rx.captures_at(text, pos) {
        let (Some(whole), Some(key), Some(sep)) = (c.get(0), c.get(1), c.get(3)) else { break };
        // Every match holds at least a key and a separator, so the search moves on.
        pos = whole.end();
        let key_quoted = c.get(2).is_some_and(|q| !q.is_empty());
        let normalized = normalize(key.as_str());
        let Some(pattern) = names.iter().position(|p| p.matches_normalized(&normalized)) else {
            continue;
        };
        let header_form = sep.as_str() == ":" && !key_quoted && at_line_start(text, key.start());
        if let Some(span) = value_span(text, whole.end(), header_form) {
            // What looks like a key inside a masked value is part of the value: the search
            // resumes after it (otherwise a quote inside it could start a second, overlapping
            // value and masking twice would not give the same text).
            pos = pos.max(span.end);
            out.push((span, pattern));
        }
    }
    out
}

/// Whether only white space stands between the start of the line and `at`.
fn at_line_start(text: &str, at: usize) -> bool {
    let before = text.get(..at).unwrap_or("");
    let line = before.rfind('\n').map_or(before, |nl| before.get(nl + 1..).unwrap_or(""));
    line.bytes().all(|b| b == b' ' || b == b'\t')
}

/// Where the value starting at `start` lies; `None` when there is none to mask.
fn value_span(text: &str, start: usize, header_form: bool) -> Option<Range<usize>> {
    let rest = text.get(start..)?;
    let line_end = start + rest.find(['\n', '\r']).unwrap_or(rest.len());
    let first = rest.bytes().next()?;
    let span = match first {
        b'"' | b'\'' => {
            let inner = start + 1;
            let body = text.get(inner..line_end)?;
            let mut escaped = false;
            let close = body.bytes().position(|b| {
                let closes = !escaped && b == first;
                escaped = !escaped && b == b'\\';
                closes
            });
            inner..close.map_or(line_end, |c| inner + c)
        }
        b'{' | b'[' => return None,
        _ if header_form => {
            let line = text.get(start..line_end)?;
            start..start + line.trim_end().len()
        }
        _ => {
            let mut end = start + word_len(rest);
            // `token: Bearer abc`: an authentication scheme is followed by the credential.
            if text.get(start..end).is_some_and(is_auth_scheme) {
                let after = text.get(end..line_end).unwrap_or("");
                let gap = after.len() - after.trim_start_matches([' ', '\t']).len();
                if gap > 0 {
                    end += gap + word_len(after.get(gap..).unwrap_or(""));
                }
            }
            start..end
        }
    };
    (!span.is_empty()).then_some(span)
}

/// The length of the unquoted value at the start of `rest`.
fn word_len(rest: &str) -> usize {
    rest.bytes()
        .take_while(|b| !b.is_ascii_whitespace() && !matches!(b, b',' | b';' | b'&' | b'"' | b'\''))
        .count()
}

/// HTTP authentication schemes that precede a credential.
fn is_auth_scheme(word: &str) -> bool {
    ["basic", "bearer", "digest", "negotiate", "ntlm", "token", "apikey"]
        .iter()
        .any(|s| word.eq_ignore_ascii_case(s))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::policy::DEFAULT_FIELD_NAMES;

    fn values(text: &str) -> Vec<&str> {
        let names: Vec<NamePattern> = DEFAULT_FIELD_NAMES.iter().map(|p| NamePattern::new(p)).collect();
        find(text, &names).into_iter().map(|(r, _)| &text[r]).collect()
    }

    #[test]
    fn key_value_forms() {
        assert_eq!(values("login user=bob password=hunter2 ok"), ["hunter2"]);
        assert_eq!(values("db.password=s3cr3t,retry=3"), ["s3cr3t"]);
        assert_eq!(values("GET /cb?code=1&access_token=abc.def&state=x"), ["abc.def"]);
        assert_eq!(values(r#"{"user":"bob","api_key":"k-1 2","n":1}"#), ["k-1 2"]);
        assert_eq!(values(r#"{'secret': 'it''s'}"#), ["it"]);
        assert_eq!(values(r#"msg="password=x" token = "a\"b" "#), ["x", r#"a\"b"#]);
        assert_eq!(values(r#"params: {"client_secret"=>"zz"}"#), ["zz"]);
        assert_eq!(values("Set ClientSecret: q1 now"), ["q1"]);
        assert_eq!(values("sent authorization=Bearer\tabc.def, ok"), ["Bearer\tabc.def"]);
        assert_eq!(values("got token: Basic"), ["Basic"]);
    }

    #[test]
    fn header_lines_lose_their_whole_value() {
        assert_eq!(values("Authorization: Bearer abc\r\n"), ["Bearer abc"]);
        assert_eq!(values("  Cookie: a=1; b=2  \nnext: line"), ["a=1; b=2"]);
        assert_eq!(values("X-Api-Key:k\nAccept: */*"), ["k"]);
    }

    #[test]
    fn keys_inside_a_masked_value_are_part_of_it() {
        // Found by the mask_text fuzz target: the second key's quote used to open a value that
        // overlapped the first one and closed inside a third.
        let text = "Authorization:'bear Authorization:\"B /er '00 Authorization:\"Bea 00";
        assert_eq!(values(text), ["bear Authorization:\"B /er ", "Bea 00"]);
        assert_eq!(values("token='a secret=b' secret=c"), ["a secret=b", "c"]);
    }

    #[test]
    fn unterminated_quotes_run_to_the_end_of_the_line() {
        assert_eq!(values("password=\"abc def\nnext"), ["abc def"]);
    }

    #[test]
    fn other_names_and_shapes_stay() {
        assert!(values("user=bob level=info url=https://x.test:443/a").is_empty());
        assert!(values("password").is_empty());
        assert!(values("password=").is_empty());
        assert!(values(r#""credentials": {"user": "a"}"#).is_empty());
        assert!(values("lessons=3 mypasswords").is_empty());
    }
}
