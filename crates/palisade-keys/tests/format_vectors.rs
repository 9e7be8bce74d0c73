//! The test vectors of `docs/formats.md`, read by an independent reader written from the spec
//! with only AES-256-GCM and HKDF primitives, and by the `KeyManager`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may

use std::sync::Arc;

use palisade_core::{SealContext, SecretArray, TenantId};
use palisade_keys::backend::Backend;
use palisade_keys::{KeyManager, KeyPolicy, LocalKms, MemoryKeyringStore};
use serde_json::Value;

const VECTORS: &str = include_str!("vectors/format_v1.json");

fn lp16(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Reads a single-layer palisade ciphertext given the tenant key-encryption key, from the spec.
fn spec_reader(
    backend: Backend,
    kek: &[u8],
    tenant: &str,
    purpose: &str,
    record: &str,
    ct: &[u8],
) -> Option<Vec<u8>> {
    let mut p = 0usize;
    let mut take = |n: usize| {
        let s = ct.get(p..p + n)?;
        p += n;
        Some(s)
    };
    assert_eq!(take(4)?, b"PLS1");
    assert_eq!(take(1)?, [1]);
    let layer = take(1)?[0];
    // A period key's layer byte has 0x80 set and is followed by period start (8) and length (4).
    let period = if layer & 0x80 != 0 { take(12)?.to_vec() } else { Vec::new() };
    let version = take(4)?.to_vec();
    let plen = take(1)?[0] as usize;
    let provider = take(plen)?.to_vec();
    let wlen = u16::from_be_bytes(take(2)?.try_into().ok()?) as usize;
    let wrapped = take(wlen)?.to_vec();
    let message_id = take(16)?.to_vec();
    let commitment = take(32)?.to_vec();
    let seg_size_bytes = take(4)?.to_vec();
    let seg_size = u32::from_be_bytes(seg_size_bytes.clone().try_into().ok()?) as usize;
    let prefix = take(7)?.to_vec();
    let body = &ct[p..];

    let mut ctx = Vec::new();
    lp16(&mut ctx, tenant);
    lp16(&mut ctx, purpose);
    lp16(&mut ctx, record);

    // 1. Unwrap the data key.
    let mut dek_aad = b"palisade-keys/v1/dek".to_vec();
    dek_aad.push(layer);
    dek_aad.extend_from_slice(&period);
    dek_aad.extend_from_slice(&version);
    dek_aad.push(provider.len() as u8);
    dek_aad.extend_from_slice(&provider);
    dek_aad.extend_from_slice(&message_id);
    dek_aad.extend_from_slice(&ctx);
    let mut dek = wrapped[12..].to_vec();
    let n = backend.aead_key(kek).ok()?.open_in_place(&wrapped[..12], &dek_aad, &mut dek).ok()?;
    dek.truncate(n);

    // 2. Derive the segment key and check the commitment.
    let mut okm = [0u8; 64];
    backend.hkdf_sha256(&message_id, &dek, b"palisade-keys/v1/key+commitment", &mut okm).ok()?;
    if okm[32..] != commitment[..] {
        return None;
    }
    let key = backend.aead_key(&okm[..32]).ok()?;

    // 3. Open the segments.
    let mut aad = b"palisade-keys/v1/data".to_vec();
    aad.extend_from_slice(b"PLS1");
    aad.push(1);
    aad.push(layer);
    aad.extend_from_slice(&period);
    aad.extend_from_slice(&message_id);
    aad.extend_from_slice(&commitment);
    aad.extend_from_slice(&seg_size_bytes);
    aad.extend_from_slice(&prefix);
    aad.extend_from_slice(&ctx);
    let mut out = Vec::new();
    let mut rest = body;
    let mut i: u32 = 0;
    loop {
        let last = rest.len() <= seg_size + 16;
        let (seg, tail) = rest.split_at(if last { rest.len() } else { seg_size + 16 });
        let mut nonce = prefix.clone();
        nonce.extend_from_slice(&i.to_be_bytes());
        nonce.push(u8::from(last));
        let mut buf = seg.to_vec();
        let n = key.open_in_place(&nonce, &aad, &mut buf).ok()?;
        out.extend_from_slice(&buf[..n]);
        if last {
            return Some(out);
        }
        rest = tail;
        i += 1;
    }
}

#[tokio::test]
async fn documented_vectors_open() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 4);
    for v in vectors {
        let is_period = v.get("period_kek").is_some();
        let kek = hex::decode(v.get("period_kek").unwrap_or(&v["tenant_kek"]).as_str().unwrap()).unwrap();
        let (tenant, purpose, record) =
            (v["tenant"].as_str().unwrap(), v["purpose"].as_str().unwrap(), v["record"].as_str().unwrap());
        let ct = hex::decode(v["ciphertext"].as_str().unwrap()).unwrap();
        let plain = hex::decode(v["plaintext"].as_str().unwrap()).unwrap();
        for backend in Backend::all() {
            assert_eq!(
                spec_reader(*backend, &kek, tenant, purpose, record, &ct).as_deref(),
                Some(plain.as_slice()),
                "{}",
                v["name"]
            );
            assert!(spec_reader(*backend, &kek, tenant, purpose, "other", &ct).is_none());
        }
        if is_period {
            // Period keys are random and cannot be imported; `tests/period.rs` covers the manager.
            assert_eq!(ct[5], 0x80, "a period vector has the period flag");
            continue;
        }
        // The manager opens it too when the key is imported.
        let keys = KeyManager::builder(
            Arc::new(LocalKms::ephemeral().unwrap()),
            Arc::new(MemoryKeyringStore::new()),
        )
        .build()
        .unwrap();
        let t: TenantId = tenant.parse().unwrap();
        keys.import_tenant_key(&t, SecretArray::try_from_slice(&kek).unwrap()).await.unwrap();
        let ctx = SealContext::new(t, purpose, record);
        // The vectors were sealed under provider "local", which is part of the wrap's AAD.
        assert_eq!(keys.open(&ctx, &ct).await.unwrap().expose_secret(), plain.as_slice());
    }
}

/// Regenerates the vectors: `cargo test -p palisade-keys --test format_vectors -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "generator, run by hand"]
async fn generate() {
    let kek = [0x11u8; 32];
    let mut out = Vec::new();
    for (name, seg, plain, record) in [
        ("empty", 65536u32, b"".to_vec(), "r-0"),
        ("short", 65536, b"job 42: mapped 17 records".to_vec(), "job-42"),
        ("three-segments", 16, (0u8..40).collect::<Vec<u8>>(), "job-43"),
    ] {
        let keys = KeyManager::builder(
            Arc::new(LocalKms::ephemeral().unwrap()),
            Arc::new(MemoryKeyringStore::new()),
        )
        .policy(KeyPolicy { segment_size: seg, ..KeyPolicy::default() })
        .build()
        .unwrap();
        let t: TenantId = "acme".parse().unwrap();
        keys.import_tenant_key(&t, SecretArray::new(kek)).await.unwrap();
        let ctx = SealContext::new(t, "job-history", record);
        let ct = keys.seal(&ctx, &plain).await.unwrap();
        out.push(serde_json::json!({
            "name": name, "tenant_kek": hex::encode(kek), "tenant": "acme", "purpose": "job-history",
            "record": record, "plaintext": hex::encode(&plain), "ciphertext": hex::encode(&ct),
        }));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({ "format": "palisade-keys v1", "vectors": out }))
            .unwrap()
    );
}

/// Generates the period-key vector: `cargo test -p palisade-keys --test format_vectors -- --ignored --nocapture generate_period`.
#[tokio::test]
#[ignore = "generator, run by hand"]
async fn generate_period() {
    use palisade_keys::keyring::KeyringStore as _;
    use palisade_keys::{KeyOwner, KmsContext, KmsProvider as _};
    let kms = Arc::new(LocalKms::new(SecretArray::new([0x22; 32])).unwrap());
    let store = Arc::new(MemoryKeyringStore::new());
    let clock = Arc::new(palisade_core::ManualClock::new(time::macros::datetime!(2026-01-01 10:15 UTC)));
    let keys = KeyManager::builder(kms.clone(), store.clone()).clock(clock).build().unwrap();
    let t: TenantId = "acme".parse().unwrap();
    keys.create_tenant(&t).await.unwrap();
    let ctx = SealContext::new(t.clone(), "job-history", "job-44");
    let plain = b"hour 10: 3 records synced".to_vec();
    let ct = keys.seal_in_period(&ctx, &plain).await.unwrap();
    let period = keys.current_period(&t, "job-history");
    let kr = store.get(&KeyOwner::Period(period.clone())).await.unwrap().unwrap();
    let wrapped = hex::decode(kr.versions[0].wrapped.as_ref().unwrap()).unwrap();
    let key = kms.unwrap(&wrapped, &KmsContext::new(period.to_string(), 1)).await.unwrap();
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "name": "period", "period": period.to_string(), "period_kek": hex::encode(key.expose_secret()),
            "tenant": "acme", "purpose": "job-history", "record": "job-44",
            "plaintext": hex::encode(&plain), "ciphertext": hex::encode(&ct),
        }))
        .unwrap()
    );
}
