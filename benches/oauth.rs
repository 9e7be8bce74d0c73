//! ID-token verification per second: palisade-oauth (aws-lc-rs, full OpenID Connect rules) against
//! the `jsonwebtoken` crate (aws-lc-rs backend) verifying the same tokens with its own
//! issuer/audience/expiry checks, in the same group.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a bench may stop on a broken fixture
#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, Validation};
use palisade::oauth::testing::TestIssuer;
use palisade::oauth::{Expectations, IdTokenVerifier, IssuerRule};
use time::OffsetDateTime;

const ISS: &str = "https://op.example";
const AUD: &str = "bench-app";

fn bench(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let mut group = c.benchmark_group("id_token_verify");
    group.throughput(Throughput::Elements(1));
    for (name, op) in [
        ("RS256-2048", TestIssuer::rs256(ISS).expect("rsa key")),
        ("ES256", TestIssuer::es256(ISS).expect("ec key")),
    ] {
        let token = op.id_token(AUD, "user-1", Some("n"), now).expect("token");
        let keys = op.key_set();
        let verifier = IdTokenVerifier::new(IssuerRule::exact(ISS), AUD);
        assert!(verifier.verify(&token, &keys, now, &Expectations::nonce("n")).is_ok());
        group.bench_function(format!("palisade/{name}"), |b| {
            b.iter(|| verifier.verify(&token, &keys, now, &Expectations::nonce("n")).is_ok())
        });

        let jwk = op.jwk();
        let (key, alg) = match jwk.kty.as_str() {
            "RSA" => (
                DecodingKey::from_rsa_components(
                    jwk.n.as_deref().unwrap_or(""),
                    jwk.e.as_deref().unwrap_or(""),
                )
                .expect("rsa components"),
                jsonwebtoken::Algorithm::RS256,
            ),
            _ => (
                DecodingKey::from_ec_components(
                    jwk.x.as_deref().unwrap_or(""),
                    jwk.y.as_deref().unwrap_or(""),
                )
                .expect("ec components"),
                jsonwebtoken::Algorithm::ES256,
            ),
        };
        let mut validation = Validation::new(alg);
        validation.set_audience(&[AUD]);
        validation.set_issuer(&[ISS]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).is_ok());
        group.bench_function(format!("jsonwebtoken/{name}"), |b| {
            b.iter(|| jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).is_ok())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
