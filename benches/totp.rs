//! palisade-totp: code generation and verification, against totp-rs in the same groups, with
//! the floor (the HMAC-SHA-1 computations verification cannot avoid) alongside.
//!
//! ```sh
//! cargo bench --bench totp
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use hmac_floor::three_hmacs;
use palisade::core::sealer::StaticKeySealer;
use palisade::core::{Clock, ManualClock, SecretBytes, TenantId, UserId};
use palisade::totp::{Backends, Totp, TotpConfig, TotpParams, TotpService, qr, secret};
use time::{Duration, macros::datetime};

const KEY: &[u8; 20] = b"12345678901234567890";
const AT: i64 = 1_700_000_000;

mod hmac_floor {
    /// The work a ±1-step verification cannot avoid: three HMAC-SHA-1 over 8 bytes, done through
    /// totp-rs's own generator so that no extra crate is needed.
    pub fn three_hmacs(t: &totp_rs::TOTP, at: u64) -> usize {
        t.generate(at - 30).len() + t.generate(at).len() + t.generate(at + 30).len()
    }
}

fn peer() -> totp_rs::TOTP {
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, KEY.to_vec()).unwrap()
}

fn ours() -> Totp {
    Totp::new(SecretBytes::from_slice(KEY), TotpParams::default()).unwrap()
}

fn generate(c: &mut Criterion) {
    let mut g = c.benchmark_group("totp/generate");
    let (o, p) = (ours(), peer());
    g.bench_function("palisade", |b| b.iter(|| o.code_at(black_box(AT)).unwrap()));
    g.bench_function("totp-rs", |b| b.iter(|| p.generate(black_box(AT as u64))));
    g.finish();
}

fn verify(c: &mut Criterion) {
    let mut g = c.benchmark_group("totp/verify_skew1");
    let (o, p) = (ours(), peer());
    // A code from the previous step: both must search the window.
    let code = o.code_at(AT - 30).unwrap();
    let wrong = if code == "000000" { "111111".to_owned() } else { "000000".to_owned() };
    g.bench_function("palisade/hit", |b| b.iter(|| o.verify(black_box(&code), AT, 1, None).unwrap()));
    g.bench_function("totp-rs/hit", |b| b.iter(|| p.check(black_box(&code), AT as u64)));
    g.bench_function("palisade/miss", |b| b.iter(|| o.verify(black_box(&wrong), AT, 1, None).unwrap()));
    g.bench_function("totp-rs/miss", |b| b.iter(|| p.check(black_box(&wrong), AT as u64)));
    g.bench_function("floor/3x-hmac-sha1", |b| b.iter(|| three_hmacs(&p, black_box(AT as u64))));
    g.finish();
}

fn service(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let clock = ManualClock::new(datetime!(2026-05-01 09:00 UTC));
    let backends =
        Backends::in_memory(Arc::new(StaticKeySealer::random().unwrap()), Arc::new(clock.clone())).unwrap();
    let svc = TotpService::new(TotpConfig::new("Bench"), backends).unwrap();
    let tenant: TenantId = "acme".parse().unwrap();
    let user: UserId = "alice".parse().unwrap();
    let app = rt.block_on(async {
        let p = svc.begin_enrollment(&tenant, &user, "alice").await.unwrap();
        let app =
            Totp::new(secret::decode_base32(p.secret_base32().expose_secret()).unwrap(), p.params()).unwrap();
        svc.confirm_enrollment(&tenant, &user, &app.code_at(clock.now().unix_timestamp()).unwrap())
            .await
            .unwrap();
        app
    });
    let mut g = c.benchmark_group("totp/service");
    // Each iteration moves to the next step so the replay guard accepts it: open the sealed
    // secret, throttle check, window search, atomic step advance, throttle clear.
    g.bench_function("verify_code (sealed secret, replay guard, throttle)", |b| {
        b.iter(|| {
            clock.advance(Duration::seconds(30));
            let code = app.code_at(clock.now().unix_timestamp()).unwrap();
            rt.block_on(svc.verify_code(&tenant, &user, &code)).unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("totp/enrollment");
    let uri = "otpauth://totp/Acme%20Integrations:alice%40acme.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Integrations&algorithm=SHA1&digits=6&period=30";
    g.bench_function("qr_png (scale 6)", |b| b.iter(|| qr::png(black_box(uri), 6).unwrap()));
    g.bench_function("qr_svg", |b| b.iter(|| qr::svg(black_box(uri)).unwrap()));
    g.finish();
}

criterion_group!(benches, generate, verify, service);
criterion_main!(benches);
