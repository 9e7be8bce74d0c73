//! Value detectors. Every pattern runs on the `regex` crate, whose matching time is linear in the
//! input (no backtracking), so a hostile payload cannot make masking slow. Candidates are then
//! verified (Luhn, IBAN mod 97, SSN ranges, base64 of Basic credentials) to keep false positives
//! down.

use std::ops::Range;
use std::sync::OnceLock;

use base64::Engine as _;
use regex::Regex;
use serde::{Deserialize, Serialize};

/// The detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DetectorKind {
    /// Payment card numbers: 13–19 digits, optional consistent space/hyphen separators, a known
    /// issuer prefix, Luhn-valid.
    Card,
    /// E-mail addresses with a dotted domain and an alphabetic TLD.
    Email,
    /// US Social Security numbers written `AAA-GG-SSSS`, outside the never-issued ranges.
    UsSsn,
    /// IBANs (with or without groups of four), length per country, mod-97 checksum.
    Iban,
    /// JSON Web Tokens (JWS compact form).
    Jwt,
    /// The credential in `Bearer <token>` / `Basic <base64 user:pass>`.
    AuthCredential,
    /// PEM `PRIVATE KEY` blocks (an unterminated block is masked to the end of the value).
    PemPrivateKey,
    /// AWS access key ids, Google API keys, GitHub, Slack and Stripe live tokens.
    CloudKey,
    /// The password in a URL's user information (`postgres://app:<password>@db:5432/x`): the
    /// connection strings of databases, brokers and caches.
    UrlCredential,
}

/// Writes each detector's name once and derives from it [`DetectorKind::name`], the
/// placeholder `[REDACTED:<name>]` and the report rule `detector:<name>` (as constants: nothing
/// is formatted per masked span).
macro_rules! detector_names {
    ($($kind:ident => $name:literal),* $(,)?) => {
        impl DetectorKind {
            /// The detector's name in reports and placeholders.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$kind => $name,)*
                }
            }

            /// The placeholder of a redacted span: `[REDACTED:<name>]`.
            pub(crate) fn placeholder(self) -> &'static str {
                match self {
                    $(Self::$kind => concat!("[REDACTED:", $name, "]"),)*
                }
            }

            /// The rule name in reports: `detector:<name>`.
            pub(crate) fn rule(self) -> &'static str {
                match self {
                    $(Self::$kind => concat!("detector:", $name),)*
                }
            }
        }
    };
}

detector_names! {
    Card => "card",
    Email => "email",
    UsSsn => "us_ssn",
    Iban => "iban",
    Jwt => "jwt",
    AuthCredential => "auth_credential",
    PemPrivateKey => "pem_private_key",
    CloudKey => "cloud_key",
    UrlCredential => "url_credential",
}

impl DetectorKind {
    /// All detectors.
    pub const ALL: [DetectorKind; 9] = [
        Self::Card,
        Self::Email,
        Self::UsSsn,
        Self::Iban,
        Self::Jwt,
        Self::AuthCredential,
        Self::PemPrivateKey,
        Self::CloudKey,
        Self::UrlCredential,
    ];

    /// Whether `text` passes this detector's cheap prefilter (`false`: [`DetectorKind::find`]
    /// finds nothing). Checked on bytes, so callers can skip decoding text that cannot match.
    pub(crate) fn may_match(self, text: &[u8]) -> bool {
        match self {
            // A card number is a run of at least 13 digits (single spaces or hyphens between
            // them allowed), the only shape the candidate regex can verify.
            Self::Card => has_digit_run(text, 13),
            Self::Email => text.contains(&b'@'),
            Self::UsSsn => text.contains(&b'-') && text.iter().filter(|b| b.is_ascii_digit()).count() >= 9,
            Self::Jwt => contains(text, b"eyJ"),
            Self::PemPrivateKey => contains(text, b"-----BEGIN"),
            Self::UrlCredential => contains(text, b"://"),
            Self::Iban | Self::AuthCredential | Self::CloudKey => true,
        }
    }

    /// Byte ranges of every verified match in `text`, in order, non-overlapping.
    pub fn find(self, text: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        if !self.may_match(text.as_bytes()) {
            return out;
        }
        match self {
            Self::Card => {
                let rx = re(0, r"(?-u:\b)[0-9](?:[0-9]|[ -][0-9]){11,22}(?-u:\b)");
                scan_candidates(rx, text, &mut out, card_in);
            }
            Self::Email => {
                let rx = re(
                    1,
                    r"(?-u:\b)[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?-u:\b)",
                );
                out.extend(rx.find_iter(text).map(|m| m.range()));
            }
            Self::UsSsn => {
                let rx = re(2, r"(?-u:\b)([0-9]{3})-([0-9]{2})-([0-9]{4})(?-u:\b)");
                for c in rx.captures_iter(text) {
                    let (Some(all), Some(a), Some(g), Some(s)) = (c.get(0), c.get(1), c.get(2), c.get(3))
                    else {
                        continue;
                    };
                    let area: u32 = a.as_str().parse().unwrap_or(0);
                    let valid =
                        area != 0 && area != 666 && area < 900 && g.as_str() != "00" && s.as_str() != "0000";
                    // Not part of a longer dashed number (phone numbers, dates, ids).
                    let before = text.get(..all.start()).and_then(|t| t.chars().next_back());
                    let after = text.get(all.end()..).and_then(|t| t.chars().next());
                    if valid && before != Some('-') && after != Some('-') {
                        out.push(all.range());
                    }
                }
            }
            Self::Iban => {
                let rx = re(3, r"(?-u:\b)[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]){11,30}");
                scan_candidates(rx, text, &mut out, |candidate, rest| {
                    let len = iban_in(candidate)?;
                    // The IBAN ends at a word boundary (not inside a longer code).
                    let next = rest.get(len..).and_then(|t| t.chars().next());
                    (!next.is_some_and(|c| c.is_ascii_alphanumeric())).then_some(0..len)
                });
            }
            Self::Jwt => {
                let rx = re(4, r"(?-u:\b)eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*");
                out.extend(rx.find_iter(text).map(|m| m.range()));
            }
            Self::AuthCredential => {
                let rx = re(5, r"(?i)(?-u:\b)(bearer|basic)[ \t]+([A-Za-z0-9._~+/-]+=*)");
                for c in rx.captures_iter(text) {
                    let (Some(scheme), Some(cred)) = (c.get(1), c.get(2)) else { continue };
                    if credential_ok(scheme.as_str(), cred.as_str()) {
                        out.push(cred.range());
                    }
                }
            }
            Self::PemPrivateKey => {
                let rx = re(
                    6,
                    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:(?s:.)*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|(?s:.)*)",
                );
                out.extend(rx.find_iter(text).map(|m| m.range()));
            }
            Self::CloudKey => {
                let rx = re(
                    7,
                    r"(?-u:\b)(?:(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z2-7]{16}|AIza[0-9A-Za-z_-]{35}|gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255}|xox[abposr]-[A-Za-z0-9-]{10,}|(?:sk|rk)_live_[A-Za-z0-9]{24,})(?-u:\b)",
                );
                out.extend(rx.find_iter(text).map(|m| m.range()));
            }
            Self::UrlCredential => {
                // scheme://user:password@ — the user part has no `:` (nor `[`/`]`, which RFC 3986
                // keeps out of user information, so a placeholder like `[REDACTED:email]` is not
                // read as user and password); the password may hold `:` and `@` (the last `@`
                // before the host ends it); only the password is masked.
                let rx = re(
                    8,
                    r#"(?i)(?-u:\b)[a-z][a-z0-9+.\-]{0,30}://[^\s:/?#@"'<>\[\]]{0,256}:([^\s/?#"'<>]{1,256})@"#,
                );
                out.extend(rx.captures_iter(text).filter_map(|c| c.get(1)).map(|m| m.range()));
            }
        }
        out
    }
}

static REGEXES: [OnceLock<Regex>; 9] = [const { OnceLock::new() }; 9];

fn re(slot: usize, pattern: &str) -> &'static Regex {
    #[allow(clippy::expect_used)] // the patterns are constants, covered by tests
    REGEXES.get(slot).map_or_else(
        || unreachable_regex(),
        |cell| cell.get_or_init(|| Regex::new(pattern).expect("constant detector pattern")),
    )
}

#[allow(clippy::expect_used)]
fn unreachable_regex() -> &'static Regex {
    static NEVER: OnceLock<Regex> = OnceLock::new();
    NEVER.get_or_init(|| Regex::new(r"[^\s\S]").expect("constant"))
}

/// Finds verified matches of `rx` in `text` without letting one candidate hide another.
///
/// The regex finds a greedy candidate; `verify(candidate, rest_of_text_from_candidate)` returns
/// the verified range inside it, relative to the candidate. Scanning resumes right after a
/// verified match, or one character after a rejected candidate's start, so a value that begins
/// inside a longer rejected or partly used run (two card numbers in a row, an IBAN followed by
/// another) is still found.
fn scan_candidates(
    rx: &Regex,
    text: &str,
    out: &mut Vec<Range<usize>>,
    verify: impl Fn(&str, &str) -> Option<Range<usize>>,
) {
    let mut at = 0;
    while let Some(m) = rx.find_at(text, at) {
        let rest = text.get(m.start()..).unwrap_or_default();
        match verify(m.as_str(), rest) {
            Some(r) if !r.is_empty() => {
                out.push(m.start() + r.start..m.start() + r.end);
                at = m.start() + r.end;
            }
            _ => {
                // Candidates start with an ASCII letter or digit: the next char is one byte on.
                at = m.start() + 1;
            }
        }
        if at > text.len() {
            break;
        }
    }
}

/// The card number at the start of a candidate run (digits with single separators), if any:
/// the whole run, or else the longest prefix that ends at a separator (a run of two numbers
/// written one after the other). A prefix never ends inside a block of digits, so a long
/// unseparated number (an order id) is not taken apart into a Luhn-valid piece.
fn card_in(candidate: &str, _rest: &str) -> Option<Range<usize>> {
    if let Some(r) = card_exact(candidate) {
        return Some(r);
    }
    candidate
        .char_indices()
        .filter(|(_, c)| *c == ' ' || *c == '-')
        .map(|(i, _)| i)
        .rev()
        .find_map(|end| card_exact(candidate.get(..end)?))
}

/// `candidate` as a whole is a card number.
fn card_exact(candidate: &str) -> Option<Range<usize>> {
    // At most 19 digits, held on the stack (this runs for every candidate run of digits).
    let mut digits = [0u8; 19];
    let mut count = 0;
    let mut separator = None;
    for b in candidate.bytes() {
        if b.is_ascii_digit() {
            *digits.get_mut(count)? = b - b'0';
            count += 1;
        } else if *separator.get_or_insert(b) != b {
            return None;
        }
    }
    let digits = digits.get(..count)?;
    if count < 13 || !issuer_ok(digits) || !luhn(digits) {
        return None;
    }
    if digits.iter().all(|d| Some(d) == digits.first()) {
        return None;
    }
    Some(0..candidate.len())
}

/// Whether `text` holds a run of at least `min` digits with at most single spaces or hyphens
/// between them (the shape of a card number, separators included).
fn has_digit_run(text: &[u8], min: usize) -> bool {
    // Most text has too few digits in all: a count the compiler vectorizes settles it.
    if text.len() < min || text.iter().filter(|b| b.is_ascii_digit()).count() < min {
        return false;
    }
    let mut run = 0;
    let mut after_digit = false;
    for &b in text {
        if b.is_ascii_digit() {
            run += 1;
            if run >= min {
                return true;
            }
            after_digit = true;
        } else if after_digit && (b == b' ' || b == b'-') {
            after_digit = false;
        } else {
            run = 0;
            after_digit = false;
        }
    }
    false
}

fn contains(text: &[u8], needle: &[u8]) -> bool {
    text.windows(needle.len()).any(|w| w == needle)
}

fn issuer_ok(d: &[u8]) -> bool {
    let n = |k: usize| d.iter().take(k).fold(0u32, |acc, &x| acc * 10 + u32::from(x));
    matches!(d.first(), Some(4))
        || (51..=55).contains(&n(2))
        || (2221..=2720).contains(&n(4))
        || matches!(n(2), 34 | 37 | 36 | 38 | 62 | 65)
        || (300..=305).contains(&n(3))
        || n(4) == 6011
        || (644..=649).contains(&n(3))
        || (3528..=3589).contains(&n(4))
}

/// The Luhn check over decimal digits.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "NO" => 15,
        "BE" => 16,
        "DK" | "FI" | "FO" | "GL" | "NL" => 18,
        "MK" | "SI" => 19,
        "AT" | "BA" | "EE" | "KZ" | "LT" | "LU" | "XK" => 20,
        "CH" | "CR" | "HR" | "LI" | "LV" => 21,
        "BG" | "BH" | "DE" | "GB" | "GE" | "IE" | "ME" | "RS" => 22,
        "AE" | "GI" | "IL" | "TL" => 23,
        "AD" | "CZ" | "ES" | "MD" | "PK" | "RO" | "SA" | "SE" | "SK" | "TN" | "VG" => 24,
        "PT" | "ST" => 25,
        "IS" | "TR" => 26,
        "FR" | "GR" | "IT" | "MC" | "MR" | "SM" => 27,
        "AL" | "AZ" | "BY" | "CY" | "DO" | "GT" | "HU" | "LB" | "PL" | "SV" => 28,
        "BR" | "EG" | "PS" | "QA" | "UA" => 29,
        "IQ" | "JO" | "KW" | "MU" => 30,
        "MT" | "SC" => 31,
        "LC" => 32,
        "RU" => 33,
        _ => return None,
    })
}

/// Byte length (separators included) of the checksum-valid IBAN at the start of `candidate`.
fn iban_in(candidate: &str) -> Option<usize> {
    let want = iban_length(candidate.get(..2)?)?;
    let mut compact = Vec::with_capacity(want);
    let mut end = 0;
    for (i, b) in candidate.bytes().enumerate() {
        if b == b' ' {
            continue;
        }
        compact.push(b);
        end = i + 1;
        if compact.len() == want {
            break;
        }
    }
    if compact.len() != want {
        return None;
    }
    // Move the first four characters to the end; letters are 10..35; the number mod 97 must be 1.
    let mut rem: u32 = 0;
    for &b in compact.iter().skip(4).chain(compact.iter().take(4)) {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return None,
        };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    (rem == 1).then_some(end)
}

fn credential_ok(scheme: &str, cred: &str) -> bool {
    if scheme.eq_ignore_ascii_case("basic") {
        base64::engine::general_purpose::STANDARD
            .decode(cred)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .is_some_and(|s| s.contains(':') && !s.chars().any(char::is_control))
    } else {
        cred.len() >= 16 && cred.bytes().any(|b| b.is_ascii_digit())
    }
}

/// Runs the given detectors over `text`: non-overlapping spans in order, each with its detector
/// index (earliest start wins; on a tie, the longer span).
pub fn scan(text: &str, detectors: &[DetectorKind]) -> Vec<(Range<usize>, usize)> {
    let mut all: Vec<(Range<usize>, usize)> = Vec::new();
    for (i, d) in detectors.iter().enumerate() {
        all.extend(d.find(text).into_iter().map(|r| (r, i)));
    }
    if all.len() > 1 {
        // In `scheme://user:password@host` the e-mail pattern also matches `password@host`; the
        // URL detector's span (the password alone) is the right cut, so the e-mail match that
        // starts where a URL password starts gives way (the password is masked either way).
        let kind = |i: usize| detectors.get(i).copied();
        let url_starts: Vec<usize> = all
            .iter()
            .filter(|(_, i)| kind(*i) == Some(DetectorKind::UrlCredential))
            .map(|(r, _)| r.start)
            .collect();
        if !url_starts.is_empty() {
            all.retain(|(r, i)| kind(*i) != Some(DetectorKind::Email) || !url_starts.contains(&r.start));
        }
        return disjoint(all);
    }
    all
}

/// Orders spans (earliest start first, the longer on a tie) and merges each span that overlaps
/// the one before into it, widened, so nothing of either survives. The merged span keeps the
/// first one's tag.
pub(crate) fn disjoint<T>(mut spans: Vec<(Range<usize>, T)>) -> Vec<(Range<usize>, T)> {
    spans.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(b.0.end.cmp(&a.0.end)));
    let mut kept: Vec<(Range<usize>, T)> = Vec::with_capacity(spans.len());
    for item in spans {
        match kept.last_mut() {
            Some(last) if item.0.start < last.0.end => last.0.end = last.0.end.max(item.0.end),
            _ => kept.push(item),
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(kind: DetectorKind, text: &str) -> Vec<&str> {
        kind.find(text).into_iter().filter_map(|r| text.get(r)).collect()
    }

    #[test]
    fn values_inside_one_greedy_run_are_all_found() {
        use DetectorKind::{Card, Iban};
        // Found by the mask_text fuzz target: the second IBAN began inside the first candidate.
        let text = "DE89 3704 0044 0532 0130 00 0130 089 DE89 3704 0044 0532 0130 00 0130 00";
        assert_eq!(hits(Iban, text), ["DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00"]);
        assert_eq!(
            hits(Iban, "DE89370400440532013000 GB82WEST12345698765432"),
            ["DE89370400440532013000", "GB82WEST12345698765432"]
        );
        // Two card numbers written one after the other.
        assert_eq!(
            hits(Card, "cards 4111 1111 1111 1111 5500 0000 0000 0004 ok"),
            ["4111 1111 1111 1111", "5500 0000 0000 0004"]
        );
        // A long unseparated number is not taken apart into a Luhn-valid piece.
        assert!(hits(Card, "order 41111111111111112222").is_empty());
    }

    #[test]
    fn cards() {
        use DetectorKind::Card;
        assert_eq!(hits(Card, "pay 4111 1111 1111 1111 now"), ["4111 1111 1111 1111"]);
        assert_eq!(hits(Card, "4111-1111-1111-1111"), ["4111-1111-1111-1111"]);
        assert_eq!(hits(Card, "5555555555554444"), ["5555555555554444"]);
        assert_eq!(hits(Card, "amex 378282246310005."), ["378282246310005"]);
        // False positives: Luhn failure, mixed separators, phone numbers, timestamps, no issuer.
        assert!(hits(Card, "4111 1111 1111 1112").is_empty());
        assert!(hits(Card, "4111-1111 1111-1111").is_empty());
        assert!(hits(Card, "call +1 415 555 0100 today").is_empty());
        assert!(hits(Card, "ts 1700000000000").is_empty());
        assert!(hits(Card, "order 0000000000000000").is_empty());
        assert!(hits(Card, "id 12345678903").is_empty());
        assert!(hits(Card, "x4111111111111111y").is_empty());
    }

    #[test]
    fn emails() {
        use DetectorKind::Email;
        assert_eq!(hits(Email, "mail jane.doe+x@example.co.uk."), ["jane.doe+x@example.co.uk"]);
        assert!(hits(Email, "user@localhost").is_empty());
        assert!(hits(Email, "@handle and a@b").is_empty());
        assert!(hits(Email, "price 10@3.50").is_empty());
    }

    #[test]
    fn ssns() {
        use DetectorKind::UsSsn;
        assert_eq!(hits(UsSsn, "ssn 123-45-6789"), ["123-45-6789"]);
        for fp in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-4567",
            "123-45-0000",
            "555-123-45-6789",
            "2024-01-1234",
        ] {
            assert!(hits(UsSsn, fp).is_empty(), "{fp}");
        }
    }

    #[test]
    fn ibans() {
        use DetectorKind::Iban;
        assert_eq!(hits(Iban, "to DE89 3704 0044 0532 0130 00 EUR"), ["DE89 3704 0044 0532 0130 00"]);
        assert_eq!(hits(Iban, "GB82WEST12345698765432"), ["GB82WEST12345698765432"]);
        assert!(hits(Iban, "DE89 3704 0044 0532 0130 01").is_empty());
        assert!(hits(Iban, "GB82WEST123456987654329").is_empty());
        assert!(hits(Iban, "ZZ12ABCDEFGHIJKLMNOP").is_empty());
        assert!(hits(Iban, "HTTP 2000 OK THE RESPONSE").is_empty());
    }

    #[test]
    fn jwts() {
        use DetectorKind::Jwt;
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        assert_eq!(hits(Jwt, &format!("token={jwt}&x")), [jwt]);
        assert!(hits(Jwt, "eyJhbGciOiJIUzI1NiJ9 alone").is_empty());
        assert!(hits(Jwt, "a.b.c").is_empty());
    }

    #[test]
    fn auth() {
        use DetectorKind::AuthCredential;
        assert_eq!(
            hits(AuthCredential, "Authorization: Bearer abcDEF1234567890xyz"),
            ["abcDEF1234567890xyz"]
        );
        assert_eq!(hits(AuthCredential, "basic dXNlcjpwYXNz"), ["dXNlcjpwYXNz"]);
        assert!(hits(AuthCredential, "the bearer of bad news").is_empty());
        assert!(hits(AuthCredential, "Bearer authentication-required").is_empty());
        assert!(hits(AuthCredential, "Basic settings").is_empty());
        assert!(hits(AuthCredential, "basic configuration").is_empty());
    }

    #[test]
    fn url_credentials() {
        use DetectorKind::UrlCredential;
        assert_eq!(hits(UrlCredential, "dsn=postgres://app:s3cr3t@db:5432/x"), ["s3cr3t"]);
        assert_eq!(hits(UrlCredential, "redis://:auth-pass@127.0.0.1:6379/0"), ["auth-pass"]);
        assert_eq!(hits(UrlCredential, "mongodb+srv://u:p@ss:w@cluster0.example.net/db"), ["p@ss:w"]);
        assert_eq!(hits(UrlCredential, "AMQP://guest:guest@localhost"), ["guest"]);
        assert_eq!(hits(UrlCredential, "\"https://u:p%40x@h/\" and ftp://a:b@c"), ["p%40x", "b"]);
        for fp in [
            "https://example.com:8080/path",
            "http://user@host/",
            "see http://a.example:80 and mail x@y.example",
            "ftp://host/a:b@c",
            "urn:isbn:0451450523 a@b",
            "no scheme user:pass@host",
            "u://[REDACTED:email];;0@h",
        ] {
            assert!(hits(UrlCredential, fp).is_empty(), "{fp}");
        }
    }

    #[test]
    fn url_passwords_are_not_taken_for_e_mail_addresses() {
        let text = "dsn postgres://app:s3cr3t@db.example.com:5432/x, owner ops@example.com";
        let found: Vec<(&str, DetectorKind)> = scan(text, &DetectorKind::ALL)
            .into_iter()
            .map(|(r, i)| (&text[r], DetectorKind::ALL[i]))
            .collect();
        assert_eq!(
            found,
            [("s3cr3t", DetectorKind::UrlCredential), ("ops@example.com", DetectorKind::Email)]
        );
        // Without the URL detector the e-mail pattern still hides the password.
        let email = [DetectorKind::Email];
        let found: Vec<&str> = scan(text, &email).into_iter().map(|(r, _)| &text[r]).collect();
        assert_eq!(found, ["s3cr3t@db.example.com", "ops@example.com"]);
    }

    #[test]
    fn pem() {
        use DetectorKind::PemPrivateKey;
        let block = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----";
        assert_eq!(hits(PemPrivateKey, &format!("a {block} b")), [block]);
        assert_eq!(
            hits(PemPrivateKey, "x -----BEGIN PRIVATE KEY-----\nMII"),
            ["-----BEGIN PRIVATE KEY-----\nMII"]
        );
        assert!(
            hits(PemPrivateKey, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").is_empty()
        );
        assert!(hits(PemPrivateKey, "-----BEGIN PUBLIC KEY-----").is_empty());
    }

    #[test]
    fn cloud() {
        use DetectorKind::CloudKey;
        assert_eq!(hits(CloudKey, "id AKIAIOSFODNN7EXAMPLE."), ["AKIAIOSFODNN7EXAMPLE"]);
        let gh = format!("ghp_{}", "a1B2".repeat(9));
        assert_eq!(hits(CloudKey, &gh), [gh.as_str()]);
        assert!(hits(CloudKey, "AKIA is a prefix").is_empty());
        assert!(hits(CloudKey, "AKIAIOSFODNN7EXAMPLEXX").is_empty());
        assert!(hits(CloudKey, "sk_test_abcdefghijklmnopqrstuvwxyz").is_empty());
    }

    #[test]
    fn names_placeholders_and_rules_agree() {
        for kind in DetectorKind::ALL {
            assert_eq!(kind.placeholder(), format!("[REDACTED:{}]", kind.name()));
            assert_eq!(kind.rule(), format!("detector:{}", kind.name()));
        }
    }

    #[test]
    fn digit_runs() {
        assert!(has_digit_run(b"x 4111 1111 1111 1 y", 13));
        assert!(has_digit_run(b"4111-1111-1111-1", 13));
        assert!(!has_digit_run(b"4111  1111 1111 1111", 13));
        assert!(!has_digit_run(b"4111 -1111 1111 111", 13));
        assert!(!has_digit_run(b"2026-11-29T03:00:00Z", 13));
        assert!(!has_digit_run(b"411111111111", 13));
        assert!(has_digit_run(b"ref-4111111111111", 13));
    }

    #[test]
    fn overlaps_merge() {
        let t = "mail 4111111111111111@example.com";
        let spans = scan(t, &[DetectorKind::Card, DetectorKind::Email]);
        assert_eq!(spans.len(), 1);
    }
}
