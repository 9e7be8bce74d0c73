//! Each policy rule, Unicode handling, history, minimum age, presets, loading, and properties.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use palisade_core::SecretString;
use palisade_password::{
    BreachedPasswords, CharClass, Context, Error, HashParams, Hasher, HibpList, Policy, ViolationCode as C,
};
use proptest::prelude::*;
use time::{Duration, macros::datetime};

fn codes(policy: &Policy, pw: &str, ctx: &Context<'_>) -> Vec<C> {
    match policy.validate(&SecretString::from(pw), ctx) {
        Ok(()) => Vec::new(),
        Err(v) => v.iter().map(|v| v.code).collect(),
    }
}

/// Only the rule under test: no strength score, no user info.
fn bare() -> Policy {
    Policy { min_length: 8, min_strength: None, reject_user_info: false, ..Policy::nist_800_63b() }
}

#[test]
fn length_counts_scalar_values_after_nfkc() {
    let p = Policy { min_length: 4, ..bare() };
    // "e" + COMBINING ACUTE ACCENT ×2 composes to "éé": 2 scalar values after NFKC, not 4.
    assert_eq!(codes(&p, "e\u{301}e\u{301}", &Context::new()), [C::TooShort]);
    // Fullwidth letters fold to ASCII (same length); the ligature "ﬃ" expands to "ffi" (3).
    assert_eq!(codes(&p, "ab\u{fb03}", &Context::new()), Vec::<C>::new());
    assert_eq!(codes(&p, "\u{ff41}\u{ff42}\u{ff43}", &Context::new()), [C::TooShort]);
    // Emoji count as one scalar value each (a ZWJ sequence counts its parts).
    assert_eq!(codes(&p, "🔒🔑🗝", &Context::new()), [C::TooShort]);
    assert_eq!(codes(&p, "🔒🔑🗝🛡", &Context::new()), Vec::<C>::new());
    // The parameters carry the limit and the count, never the password.
    let err = p.validate(&SecretString::from("e\u{301}e\u{301}"), &Context::new()).unwrap_err();
    let v = err.iter().next().unwrap();
    assert_eq!((v.params["min"], v.params["actual"]), (4, 2));
    assert!(!err.to_string().contains('e'.to_string().repeat(2).as_str()));
}

#[test]
fn spaces_and_any_printable_unicode_are_allowed_but_not_controls() {
    let p = bare();
    assert_eq!(codes(&p, "пароль с пробелами 密码", &Context::new()), Vec::<C>::new());
    assert_eq!(codes(&p, "tab\tinside here", &Context::new()), [C::ControlCharacter]);
    assert_eq!(codes(&p, "nul\0inside here", &Context::new()), [C::ControlCharacter]);
}

#[test]
fn maximum_length_and_the_cheap_cap() {
    let p = Policy { max_length: 64, ..bare() };
    assert_eq!(codes(&p, &"x".repeat(64), &Context::new()), Vec::<C>::new());
    assert_eq!(codes(&p, &"x".repeat(65), &Context::new()), [C::TooLong]);
    // A megabyte is refused with one violation, its length measured before normalization.
    let big = "\u{0}".repeat(1 << 20);
    let err = Policy::nist_800_63b().validate(&SecretString::new(big), &Context::new()).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err.iter().next().unwrap().params["actual"], 1 << 20);
}

#[test]
fn composition_rules() {
    let p = Policy {
        required_classes: vec![CharClass::Upper, CharClass::Digit, CharClass::Symbol, CharClass::Lower],
        ..bare()
    };
    assert_eq!(
        codes(&p, "abcdefgh", &Context::new()),
        [C::MissingUppercase, C::MissingDigit, C::MissingSymbol]
    );
    assert_eq!(codes(&p, "ABCDEFG1!", &Context::new()), [C::MissingLowercase]);
    assert_eq!(codes(&p, "Abcdef1 ", &Context::new()), Vec::<C>::new()); // a space is a symbol
    // Non-ASCII letters with case count; Arabic digits count as digits.
    assert_eq!(codes(&p, "Ωmega-٣ab", &Context::new()), Vec::<C>::new());
    let p = Policy { min_classes: 3, ..bare() };
    let err = p.validate(&SecretString::from("abcdefgh12"), &Context::new()).unwrap_err();
    let v = err.iter().next().unwrap();
    assert_eq!((v.code, v.params["min"], v.params["actual"]), (C::TooFewClasses, 3, 2));
    assert_eq!(codes(&p, "abcdefgh12!", &Context::new()), Vec::<C>::new());
    // Uncased letters (Japanese) count as a class of their own.
    assert_eq!(codes(&p, "パスワード12abc", &Context::new()), Vec::<C>::new());
}

#[test]
fn strength_uses_user_specific_words() {
    let p =
        Policy { min_length: 8, min_strength: Some(3), reject_user_info: false, ..Policy::nist_800_63b() };
    assert_eq!(codes(&p, "password", &Context::new()), [C::TooWeak]);
    let pw = "zephyrinequantum";
    assert_eq!(codes(&p, pw, &Context::new()), Vec::<C>::new());
    // The same string is weak for the organization whose name it is.
    assert_eq!(codes(&p, pw, &Context::new().word("Zephyrine Quantum")), [C::TooWeak]);
    let err = p.validate(&SecretString::from("password"), &Context::new()).unwrap_err();
    assert_eq!(err.iter().next().unwrap().params["min_score"], 3);
}

#[test]
fn username_and_email_case_insensitive_after_nfkc() {
    let p = Policy { reject_user_info: true, ..bare() };
    let ctx = Context::new().username("Jordan").email("j.Smith@example.com");
    assert_eq!(codes(&p, "my-JORDAN-pass", &ctx), [C::ContainsUsername]);
    assert_eq!(codes(&p, "J.SMITH rocks!", &ctx), [C::ContainsEmail]);
    // Fullwidth spelling of the username is caught after NFKC.
    assert_eq!(
        codes(&p, "xx\u{ff2a}\u{ff2f}\u{ff32}\u{ff24}\u{ff21}\u{ff2e}xx", &ctx),
        [C::ContainsUsername]
    );
    assert_eq!(codes(&p, "unrelated words", &ctx), Vec::<C>::new());
    // Very short identifiers are only compared for equality.
    let short = Context::new().username("al");
    assert_eq!(codes(&Policy { min_length: 2, ..p.clone() }, "AL", &short), [C::ContainsUsername]);
    assert_eq!(codes(&p, "totally normal phrase", &short), Vec::<C>::new());
    // Switched off.
    let off = Policy { reject_user_info: false, ..bare() };
    assert_eq!(codes(&off, "my-JORDAN-pass", &ctx), Vec::<C>::new());
}

#[derive(Debug)]
struct Failing;
impl BreachedPasswords for Failing {
    fn occurrences(&self, _: &[u8; 20]) -> palisade_password::Result<u64> {
        Err(Error::Breached("backend down".to_owned()))
    }
}

#[test]
fn breached_list_with_threshold_and_fail_closed() {
    let list = HibpList::from_reader(
        "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:10\nE6B6AFBD6D76BB5D2041542D7D2E3FAC5BB05593:2\n"
            .as_bytes(),
        1,
    )
    .unwrap();
    let ctx = Context::new().breached(&list);
    assert_eq!(codes(&bare(), "password", &ctx), [C::Breached]);
    assert_eq!(codes(&bare(), "password1234", &ctx), [C::Breached]);
    let lenient = Policy { breached_threshold: 5, ..bare() };
    assert_eq!(codes(&lenient, "password1234", &ctx), Vec::<C>::new());
    let err = lenient.validate(&SecretString::from("password"), &ctx).unwrap_err();
    let v = err.iter().next().unwrap();
    assert_eq!((v.params["count"], v.params["threshold"]), (10, 5));
    assert_eq!(codes(&bare(), "password", &Context::new().breached(&Failing)), [C::CheckUnavailable]);
}

#[test]
fn history_refuses_recent_passwords_only() {
    let hasher = Hasher::new(HashParams { memory_kib: 32, iterations: 1, ..HashParams::OWASP }).unwrap();
    let old: Vec<String> = ["first password", "second password", "third password"]
        .iter()
        .rev()
        .map(|p| hasher.hash(&SecretString::from(*p)).unwrap())
        .collect(); // newest first
    let p = Policy { history: 2, ..bare() };
    let ctx = Context::new().history(&hasher, &old);
    assert_eq!(codes(&p, "third password", &ctx), [C::Reused]);
    assert_eq!(codes(&p, "second password", &ctx), [C::Reused]);
    assert_eq!(codes(&p, "first password", &ctx), Vec::<C>::new()); // beyond N = 2
    assert_eq!(codes(&p, "fourth password", &ctx), Vec::<C>::new());
    // A garbage entry is skipped, not fatal.
    let with_bad = vec!["not a hash".to_owned(), old[0].clone()];
    assert_eq!(codes(&p, "third password", &Context::new().history(&hasher, &with_bad)), [C::Reused]);
}

#[test]
fn minimum_age_unless_a_change_is_required() {
    let p = Policy { min_age_days: Some(1), ..bare() };
    let t0 = datetime!(2026-05-01 08:00 UTC);
    let early = Context::new().changed(t0, t0 + Duration::hours(2));
    let err = p.validate(&SecretString::from("new password here"), &early).unwrap_err();
    let v = err.iter().next().unwrap();
    assert_eq!(v.code, C::TooSoon);
    assert_eq!(v.params["retry_after_seconds"], 22 * 3600);
    assert_eq!(codes(&p, "new password here", &early.clone().change_required(true)), Vec::<C>::new());
    assert_eq!(
        codes(&p, "new password here", &Context::new().changed(t0, t0 + Duration::days(1))),
        Vec::<C>::new()
    );
}

#[test]
fn violations_are_all_reported_in_a_fixed_order() {
    let p = Policy::enterprise();
    let ctx = Context::new().username("bob").email("bob@example.com");
    assert_eq!(
        codes(&p, "bob", &ctx),
        [
            C::TooShort,
            C::MissingUppercase,
            C::MissingDigit,
            C::MissingSymbol,
            C::TooWeak,
            C::ContainsUsername,
            C::ContainsEmail
        ]
    );
    let json = serde_json::to_value(p.validate(&SecretString::from("bob"), &ctx).unwrap_err()).unwrap();
    assert_eq!(json[0]["code"], "too_short");
    assert_eq!(json[0]["params"]["min"], 12);
    assert!(json[0]["message"].as_str().unwrap().contains("12"));
}

#[test]
fn presets_and_loading() {
    let nist = Policy::nist_800_63b();
    assert_eq!(Policy::default(), nist);
    assert!(nist.validate_config().is_empty() && Policy::enterprise().validate_config().is_empty());
    assert!(nist.required_classes.is_empty() && nist.max_age_days.is_none() && nist.max_length >= 64);
    assert_eq!(Policy::enterprise().max_age_days, Some(90));
    assert_eq!(Policy::preset("NIST"), Some(nist.clone()));
    assert_eq!(Policy::preset("nope"), None);
    let p =
        Policy::from_str_as("min_length = 10\nhistory = 5\nrequired_classes = [\"upper\"]", "toml").unwrap();
    assert_eq!((p.min_length, p.history, p.max_length), (10, 5, 128));
    let p = Policy::from_str_as(r#"{"min_score": 2, "max_age_days": 60}"#, "json").unwrap();
    assert_eq!((p.min_strength, p.max_age_days), (Some(2), Some(60)));
    let p = Policy::from_str_as("preset = \"enterprise\"\nhistory = 5", "toml").unwrap();
    assert_eq!(p, Policy { history: 5, ..Policy::enterprise() });
    let p = Policy::from_str_as(
        r#"{"preset": "enterprise", "max_age_days": null, "min_age_days": null}"#,
        "json",
    )
    .unwrap();
    assert_eq!((p.max_age_days, p.min_length), (None, 12));
    assert!(Policy::from_str_as("preset = \"lax\"", "toml").unwrap_err().to_string().contains("lax"));
    let e = Policy::from_str_as("min_lenght = 10", "toml").unwrap_err().to_string();
    assert!(e.contains("min_lenght"), "{e}");
    let e = Policy::from_str_as(r#"{"min_length": 0, "max_length": 10, "min_strength": 7}"#, "json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("min_length is 0") && e.contains("at least 64") && e.contains("0 to 4"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn validation_never_panics_and_is_deterministic(pw in "\\PC{0,80}|[\\x00-\\x7f]{0,40}|\\p{M}{0,20}", user in "\\PC{0,12}", mail in "\\PC{0,20}") {
        let ctx = Context::new().username(&user).email(&mail).word(&user);
        for p in [Policy::nist_800_63b(), Policy::enterprise()] {
            let a = p.validate(&SecretString::from(pw.as_str()), &ctx);
            let b = p.validate(&SecretString::from(pw.as_str()), &ctx);
            prop_assert_eq!(&a, &b);
            if let Err(v) = a {
                prop_assert!(!v.is_empty());
                for x in v.iter() {
                    if pw.chars().count() >= 4 {
                        prop_assert!(!x.message.contains(pw.as_str()));
                    }
                }
            }
        }
    }
}
