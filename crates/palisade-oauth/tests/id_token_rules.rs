//! Every ID-token rule, one tampered token at a time; algorithm confusion; key choice; and a
//! property: any change to a signed token is rejected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use palisade_oauth::jose::{Algorithm, Jwk, KeySet};
use palisade_oauth::testing::TestIssuer;
use palisade_oauth::{Expectations, IdTokenVerifier, IssuerRule, TokenRejection};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

const ISS: &str = "https://op.example";
const AUD: &str = "client-1";

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn verifier() -> IdTokenVerifier {
    IdTokenVerifier::new(IssuerRule::exact(ISS), AUD)
}

fn check(
    op: &TestIssuer,
    claims: &Map<String, Value>,
    expect: &Expectations<'_>,
) -> Result<(), TokenRejection> {
    verifier().verify(&op.sign(claims).unwrap(), &op.key_set(), now(), expect).map(drop)
}

fn base(op: &TestIssuer) -> Map<String, Value> {
    op.claims(AUD, "user-1", Some("n1"), now())
}

#[test]
fn a_good_token_passes_with_every_algorithm() {
    for op in [
        TestIssuer::rs256(ISS).unwrap(),
        TestIssuer::rsa(ISS, Algorithm::Ps256).unwrap(),
        TestIssuer::rsa(ISS, Algorithm::Rs512).unwrap(),
        TestIssuer::es256(ISS).unwrap(),
        TestIssuer::eddsa(ISS).unwrap(),
    ] {
        check(&op, &base(&op), &Expectations::nonce("n1")).unwrap();
    }
}

type Matcher = fn(&TokenRejection) -> bool;

#[test]
fn each_tampered_claim_is_rejected() {
    let op = TestIssuer::es256(ISS).unwrap();
    let t = now().unix_timestamp();
    let cases: Vec<(&str, Value, Matcher)> = vec![
        ("iss", json!("https://evil.example"), |e| matches!(e, TokenRejection::WrongIssuer { .. })),
        ("iss", json!("https://op.example/"), |e| matches!(e, TokenRejection::WrongIssuer { .. })),
        ("iss", json!(42), |e| *e == TokenRejection::MissingClaim("iss")),
        ("aud", json!("client-2"), |e| matches!(e, TokenRejection::WrongAudience { .. })),
        ("aud", json!([AUD, "other"]), |e| matches!(e, TokenRejection::UntrustedAudience(_))),
        ("aud", json!([]), |e| matches!(e, TokenRejection::WrongAudience { .. })),
        ("aud", json!(7), |e| *e == TokenRejection::MissingClaim("aud")),
        ("azp", json!("client-2"), |e| matches!(e, TokenRejection::WrongAuthorizedParty { .. })),
        ("exp", json!(t - 61), |e| matches!(e, TokenRejection::Expired { .. })),
        ("exp", json!("soon"), |e| *e == TokenRejection::MissingClaim("exp")),
        ("nbf", json!(t + 120), |e| matches!(e, TokenRejection::NotYetValid { .. })),
        ("iat", json!(t + 120), |e| matches!(e, TokenRejection::BadIssuedAt { .. })),
        ("nonce", json!("n2"), |e| *e == TokenRejection::NonceMismatch),
        ("sub", json!(""), |e| *e == TokenRejection::MissingClaim("sub")),
        ("sub", json!(["a"]), |e| *e == TokenRejection::MissingClaim("sub")),
    ];
    for (claim, value, ok) in cases {
        let mut c = base(&op);
        c.insert(claim.into(), value.clone());
        let err = check(&op, &c, &Expectations::nonce("n1")).unwrap_err();
        assert!(ok(&err), "{claim}={value}: got {err:?}");
    }
    for missing in ["iss", "sub", "aud", "exp", "iat"] {
        let mut c = base(&op);
        c.remove(missing);
        assert!(check(&op, &c, &Expectations::default()).is_err(), "missing {missing}");
    }
    let mut c = base(&op);
    c.remove("nonce");
    assert_eq!(check(&op, &c, &Expectations::nonce("n1")), Err(TokenRejection::NonceMismatch));
}

#[test]
fn skew_is_bounded_and_applied() {
    let op = TestIssuer::rs256(ISS).unwrap();
    let t = now().unix_timestamp();
    let mut c = base(&op);
    c.insert("exp".into(), json!(t - 30));
    assert!(check(&op, &c, &Expectations::default()).is_ok(), "within 60 s skew");
    let strict = verifier().with_skew(Duration::ZERO);
    assert!(matches!(
        strict.verify(&op.sign(&c).unwrap(), &op.key_set(), now(), &Expectations::default()),
        Err(TokenRejection::Expired { .. })
    ));
    assert!(verifier().with_skew(Duration::minutes(10)).validate().is_err());
}

#[test]
fn several_audiences_need_azp_and_trust() {
    let op = TestIssuer::rs256(ISS).unwrap();
    let mut v = verifier();
    v.trusted_audiences = vec!["api-gw".into()];
    let mut c = base(&op);
    c.insert("aud".into(), json!([AUD, "api-gw"]));
    let verify = |c: &Map<String, Value>| {
        v.verify(&op.sign(c).unwrap(), &op.key_set(), now(), &Expectations::default())
    };
    assert!(matches!(verify(&c), Err(TokenRejection::WrongAuthorizedParty { found: None, .. })));
    c.insert("azp".into(), json!(AUD));
    assert!(verify(&c).is_ok());
}

#[test]
fn max_age_and_at_hash() {
    let op = TestIssuer::rs256(ISS).unwrap();
    let mut c = base(&op);
    c.insert("auth_time".into(), json!(now().unix_timestamp() - 7200));
    let e = Expectations { max_age: Some(Duration::hours(1)), ..Default::default() };
    assert!(matches!(check(&op, &c, &e), Err(TokenRejection::AuthTooOld { .. })));
    // at_hash of this access token for RS256, computed independently
    // (Python: urlsafe_b64encode(sha256(token).digest()[:16])).
    let mut c = base(&op);
    c.insert("at_hash".into(), json!("MKoFpb38AEee86vb0aMC4w"));
    let e = Expectations {
        access_token: Some("jHkWEdUXMU1BwAsC4vtUsZwnNNepxVwDjnRNiwoHgOp"),
        ..Default::default()
    };
    assert!(check(&op, &c, &e).is_ok());
    let e = Expectations { access_token: Some("another-access-token"), ..Default::default() };
    assert_eq!(check(&op, &c, &e), Err(TokenRejection::HashMismatch("at_hash")));
}

fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

#[test]
fn algorithm_confusion_none_and_hmac_are_refused() {
    let op = TestIssuer::rs256(ISS).unwrap();
    let payload = b64(Value::Object(base(&op)).to_string().as_bytes());
    // alg none, empty signature
    let none = format!("{}.{payload}.", b64(br#"{"alg":"none"}"#));
    assert_eq!(
        verifier().verify(&none, &op.key_set(), now(), &Expectations::default()),
        Err(TokenRejection::AlgorithmNotAllowed("none".into()))
    );
    // HS256 "signed" with the RSA public key's JWK bytes as the MAC key: the classic confusion.
    for alg in ["HS256", "HS384", "HS512", "NONE", "rs256", "ES256K"] {
        let header = b64(format!(r#"{{"alg":"{alg}","kid":"{}"}}"#, op.kid()).as_bytes());
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, op.jwks_json().as_bytes());
        let tag = aws_lc_rs::hmac::sign(&key, format!("{header}.{payload}").as_bytes());
        let forged = format!("{header}.{payload}.{}", b64(tag.as_ref()));
        assert_eq!(
            verifier().verify(&forged, &op.key_set(), now(), &Expectations::default()),
            Err(TokenRejection::AlgorithmNotAllowed(alg.into())),
        );
    }
    // An algorithm the verifier does not allow.
    let es = TestIssuer::es256(ISS).unwrap();
    let only_rsa = verifier().with_algorithms([Algorithm::Rs256]);
    assert_eq!(
        only_rsa.verify(&es.sign(&base(&es)).unwrap(), &es.key_set(), now(), &Expectations::default()),
        Err(TokenRejection::AlgorithmNotAllowed("ES256".into()))
    );
    // An EC key named by kid, but the header claims RS256: the key cannot do that.
    let header = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, es.kid());
    let t = es.sign_raw(header.as_bytes(), Value::Object(base(&es)).to_string().as_bytes()).unwrap();
    assert!(matches!(
        verifier().verify(&t, &es.key_set(), now(), &Expectations::default()),
        Err(TokenRejection::KeyAlgorithmMismatch { .. })
    ));
}

#[test]
fn header_rules_crit_typ_and_embedded_keys() {
    let op = TestIssuer::es256(ISS).unwrap();
    let payload = Value::Object(base(&op)).to_string();
    let sign = |h: Value| op.sign_raw(h.to_string().as_bytes(), payload.as_bytes()).unwrap();
    let v = |t: &str| verifier().verify(t, &op.key_set(), now(), &Expectations::default());
    assert!(matches!(
        v(&sign(json!({"alg":"ES256","kid":op.kid(),"crit":["exp"],"exp":1}))),
        Err(TokenRejection::CriticalHeader(_))
    ));
    assert!(matches!(
        v(&sign(json!({"alg":"ES256","kid":op.kid(),"typ":"at+jwt"}))),
        Err(TokenRejection::WrongType(_))
    ));
    assert!(v(&sign(json!({"alg":"ES256","kid":op.kid(),"typ":"JWT"}))).is_ok());
    assert!(v(&sign(json!({"alg":"ES256","kid":op.kid()}))).is_ok());
    // A key embedded in the header (jwk / jku) is never used: an attacker's own key does not help.
    let attacker = TestIssuer::es256(ISS).unwrap();
    let t = attacker
        .sign_raw(
            json!({"alg":"ES256","kid":op.kid(),"jwk":attacker.jwk()}).to_string().as_bytes(),
            payload.as_bytes(),
        )
        .unwrap();
    assert_eq!(v(&t), Err(TokenRejection::BadSignature));
    // Duplicate members are refused rather than "last one wins".
    let dup = op.sign_raw(br#"{"alg":"ES256","alg":"none"}"#, payload.as_bytes()).unwrap();
    assert!(matches!(v(&dup), Err(TokenRejection::Malformed(_))));
    let dup = op
        .sign_raw(
            json!({"alg":"ES256","kid":op.kid()}).to_string().as_bytes(),
            br#"{"iss":"x","iss":"https://op.example"}"#,
        )
        .unwrap();
    assert!(matches!(v(&dup), Err(TokenRejection::Malformed(_))));
}

#[test]
fn kid_missing_or_unknown() {
    let a = TestIssuer::rs256(ISS).unwrap();
    let b = TestIssuer::rs256(ISS).unwrap();
    let payload = Value::Object(base(&a)).to_string();
    let no_kid = a.sign_raw(br#"{"alg":"RS256"}"#, payload.as_bytes()).unwrap();
    // One candidate key: fine without kid.
    assert!(verifier().verify(&no_kid, &a.key_set(), now(), &Expectations::default()).is_ok());
    // Two candidates: refused rather than trying each.
    let both = KeySet::from_jwks(&[a.jwk().clone(), b.jwk().clone()]).unwrap();
    assert_eq!(
        verifier().verify(&no_kid, &both, now(), &Expectations::default()),
        Err(TokenRejection::KidMissing { alg: "RS256".into(), candidates: 2 })
    );
    // Unknown kid.
    let t = a.sign(&base(&a)).unwrap();
    assert_eq!(
        verifier().verify(&t, &b.key_set(), now(), &Expectations::default()),
        Err(TokenRejection::UnknownKid(a.kid().into()))
    );
    // Right kid, wrong key material (the kid of a, the key of b): bad signature.
    let mut impostor: Jwk = b.jwk().clone();
    impostor.kid = Some(a.kid().into());
    let ks = KeySet::from_jwks(&[impostor]).unwrap();
    assert_eq!(
        verifier().verify(&t, &ks, now(), &Expectations::default()),
        Err(TokenRejection::BadSignature)
    );
}

#[test]
fn key_sets_skip_unusable_keys() {
    let ks = KeySet::from_json(
        br#"{"keys":[
        {"kty":"oct","k":"c2VjcmV0","kid":"hmac"},
        {"kty":"RSA","kid":"small","n":"AQAB","e":"AQAB"},
        {"kty":"EC","crv":"P-256","kid":"enc","use":"enc","x":"a","y":"b"},
        {"kty":"OKP","crv":"X25519","kid":"x","x":"AAAA"},
        {"kty":"EC","crv":"P-256","kid":"bad-point",
         "x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
    ]}"#,
    )
    .unwrap();
    assert!(ks.is_empty());
    assert_eq!(ks.skipped().len(), 5);
    assert!(KeySet::from_json(b"[]").is_err());
    let one = TestIssuer::es256(ISS).unwrap();
    let lone = KeySet::from_json(serde_json::to_string(one.jwk()).unwrap().as_bytes()).unwrap();
    assert_eq!(lone.len(), 1, "a lone JWK is a set of one");
    assert!(KeySet::from_json(b"{\"keys\":3}").is_err());
}

#[test]
fn malformed_tokens_are_typed_rejections() {
    let op = TestIssuer::rs256(ISS).unwrap();
    for t in ["", "a", "a.b", "a.b.c.d", "a.b.c.d.e", "...", "e30.e30.", "!!.??.##"] {
        assert!(matches!(
            verifier().verify(t, &op.key_set(), now(), &Expectations::default()),
            Err(TokenRejection::Malformed(_)) | Err(TokenRejection::MissingClaim("alg"))
        ));
    }
    let huge = "a".repeat(20_000);
    assert!(matches!(
        verifier().verify(&huge, &op.key_set(), now(), &Expectations::default()),
        Err(TokenRejection::TooLarge { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any single-character change anywhere in a signed token is rejected.
    #[test]
    fn any_change_to_a_signed_token_is_rejected(pos in any::<prop::sample::Index>(), ch in prop::sample::select(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ".chars().collect::<Vec<_>>()
    )) {
        thread_local! {
            static FIXTURE: (TestIssuer, String) = {
                let op = TestIssuer::es256(ISS).unwrap();
                let t = op.sign(&base(&op)).unwrap();
                (op, t)
            };
        }
        FIXTURE.with(|(op, token)| {
            let i = pos.index(token.len());
            let mut bytes = token.clone().into_bytes();
            prop_assume!(bytes[i] != ch as u8);
            bytes[i] = ch as u8;
            let tampered = String::from_utf8(bytes).unwrap();
            prop_assert!(verifier().verify(&tampered, &op.key_set(), now(), &Expectations::nonce("n1")).is_err());
            Ok(())
        })?;
    }

    /// Appending or truncating is rejected too.
    #[test]
    fn truncation_and_extension_are_rejected(cut in 1usize..40, extra in "[A-Za-z0-9_-]{1,8}") {
        thread_local! {
            static FIXTURE: (TestIssuer, String) = {
                let op = TestIssuer::rs256(ISS).unwrap();
                let t = op.sign(&base(&op)).unwrap();
                (op, t)
            };
        }
        FIXTURE.with(|(op, token)| {
            let short = &token[..token.len() - cut];
            prop_assert!(verifier().verify(short, &op.key_set(), now(), &Expectations::default()).is_err());
            let long = format!("{token}{extra}");
            prop_assert!(verifier().verify(&long, &op.key_set(), now(), &Expectations::default()).is_err());
            Ok(())
        })?;
    }
}
