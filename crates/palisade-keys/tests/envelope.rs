//! Envelope encryption, double encryption, segments, lifecycle, cache and re-wrap scenarios.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use palisade_core::{ManualClock, SealContext, SecretArray, SecretSealer, TenantId};
use palisade_keys::format::Header;
use palisade_keys::keyring::KeyringStore as _;
use palisade_keys::{
    Backend, Error, KeyManager, KeyOp, KeyPolicy, KmsContext, KmsError, KmsProvider, LocalKms,
    MemoryEventSink, MemoryKeyringStore, RewrapSource, StoredCiphertext,
};
use proptest::prelude::*;
use time::macros::datetime;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Counts KMS unwraps and can be slowed down, to observe the cache.
#[derive(Debug)]
struct CountingKms {
    inner: LocalKms,
    unwraps: AtomicU64,
}

#[async_trait]
impl KmsProvider for CountingKms {
    fn id(&self) -> &str {
        "counting"
    }
    async fn wrap(&self, key: &SecretArray<32>, context: &KmsContext) -> Result<Vec<u8>, KmsError> {
        self.inner.wrap(key, context).await
    }
    async fn unwrap(&self, wrapped: &[u8], context: &KmsContext) -> Result<SecretArray<32>, KmsError> {
        self.unwraps.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await; // a slow KMS round trip
        self.inner.unwrap(wrapped, context).await
    }
}

struct World {
    keys: KeyManager,
    clock: Arc<ManualClock>,
    events: Arc<MemoryEventSink>,
    kms: Arc<CountingKms>,
    store: Arc<MemoryKeyringStore>,
    acme: TenantId,
}

async fn world_with(backend: Backend, policy: KeyPolicy) -> World {
    let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 00:00 UTC)));
    let events = Arc::new(MemoryEventSink::new());
    let kms = Arc::new(CountingKms {
        inner: LocalKms::with_backend(SecretArray::random().unwrap(), backend).unwrap(),
        unwraps: AtomicU64::new(0),
    });
    let store = Arc::new(MemoryKeyringStore::new());
    let keys = KeyManager::builder(kms.clone(), store.clone())
        .clock(clock.clone())
        .events(events.clone())
        .backend(backend)
        .policy(policy)
        .build()
        .unwrap();
    keys.init_global().await.unwrap();
    let acme: TenantId = "acme".parse().unwrap();
    keys.create_tenant(&acme).await.unwrap();
    World { keys, clock, events, kms, store, acme }
}

async fn world() -> World {
    world_with(Backend::default(), KeyPolicy { segment_size: 16, ..KeyPolicy::default() }).await
}

fn ctx(t: &TenantId, record: &str) -> SealContext {
    SealContext::new(t.clone(), "job-history", record)
}

#[test]
fn every_backend_round_trips_and_interoperates() {
    rt().block_on(async {
        for backend in Backend::all() {
            let w = world_with(*backend, KeyPolicy::default()).await;
            for len in [0usize, 1, 15, 16, 17, 65_536, 65_537, 200_000] {
                let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
                let c = ctx(&w.acme, "r");
                for sealed in
                    [w.keys.seal(&c, &plain).await.unwrap(), w.keys.seal_double(&c, &plain).await.unwrap()]
                {
                    assert_eq!(
                        w.keys.open(&c, &sealed).await.unwrap().expose_secret(),
                        plain.as_slice(),
                        "{backend:?} {len}"
                    );
                }
            }
        }
    });
}

#[test]
fn context_is_bound() {
    rt().block_on(async {
        let w = world().await;
        let globex: TenantId = "globex".parse().unwrap();
        w.keys.create_tenant(&globex).await.unwrap();
        let c = ctx(&w.acme, "job-1");
        for double in [false, true] {
            let sealed = if double {
                w.keys.seal_double(&c, b"history").await
            } else {
                w.keys.seal(&c, b"history").await
            }
            .unwrap();
            for other in [
                ctx(&w.acme, "job-2"),
                SealContext::new(w.acme.clone(), "credential", "job-1"),
                ctx(&globex, "job-1"),
            ] {
                assert!(matches!(w.keys.open(&other, &sealed).await, Err(Error::DoesNotOpen)), "{other:?}");
            }
        }
        assert!(w.events.events().iter().any(|e| e.op == KeyOp::OpenRejected));
    });
}

#[test]
fn segments_cannot_be_reordered_truncated_or_extended() {
    rt().block_on(async {
        let w = world().await;
        let c = ctx(&w.acme, "big");
        let plain: Vec<u8> = (0..16 * 4 + 5).map(|i| i as u8).collect();
        let sealed = w.keys.seal(&c, &plain).await.unwrap();
        let (_, hl) = Header::parse(&sealed).unwrap();
        let body = &sealed[hl..];
        let seg = 16 + 16;
        assert_eq!(body.len(), 4 * seg + 5 + 16);
        // Swap segments 1 and 2.
        let mut swapped = sealed[..hl].to_vec();
        swapped.extend_from_slice(&body[..seg]);
        swapped.extend_from_slice(&body[2 * seg..3 * seg]);
        swapped.extend_from_slice(&body[seg..2 * seg]);
        swapped.extend_from_slice(&body[3 * seg..]);
        assert!(matches!(w.keys.open(&c, &swapped).await, Err(Error::DoesNotOpen)));
        // Drop the final segment: the new last one was not sealed as last.
        let truncated = &sealed[..hl + 4 * seg];
        assert!(matches!(w.keys.open(&c, truncated).await, Err(Error::DoesNotOpen)));
        // Append a copy of a segment.
        let mut extended = sealed.clone();
        extended.extend_from_slice(&body[..seg]);
        assert!(w.keys.open(&c, &extended).await.is_err());
    });
}

#[test]
fn streaming_matches_one_shot() {
    rt().block_on(async {
        let w = world().await;
        let c = ctx(&w.acme, "stream");
        let plain: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let mut sealer = w.keys.stream_sealer(&c).await.unwrap();
        let mut sealed = sealer.header();
        for chunk in plain.chunks(33) {
            sealer.update(chunk, &mut sealed).unwrap();
        }
        sealer.finish(&mut sealed).unwrap();
        assert_eq!(w.keys.open(&c, &sealed).await.unwrap().expose_secret(), plain.as_slice());

        let (mut opener, used) = w.keys.stream_opener(&c, &sealed).await.unwrap();
        let mut out = Vec::new();
        for chunk in sealed[used..].chunks(50) {
            opener.update(chunk, &mut out).unwrap();
        }
        opener.finish(&mut out).unwrap();
        assert_eq!(out, plain);

        // A truncated stream fails at finish.
        let (mut opener, used) = w.keys.stream_opener(&c, &sealed).await.unwrap();
        let mut out = Vec::new();
        opener.update(&sealed[used..sealed.len() - 21], &mut out).unwrap();
        assert!(opener.finish(&mut out).is_err());
    });
}

#[test]
fn rotation_keeps_old_data_and_min_version_retires_it() {
    rt().block_on(async {
        let w = world().await;
        let c = ctx(&w.acme, "r");
        let v1 = w.keys.seal(&c, b"old").await.unwrap();
        assert_eq!(w.keys.rotate_tenant(&w.acme).await.unwrap(), 2);
        let v2 = w.keys.seal(&c, b"new").await.unwrap();
        assert_eq!(Header::parse(&v1).unwrap().0.key_version, 1);
        assert_eq!(Header::parse(&v2).unwrap().0.key_version, 2);
        assert_eq!(w.keys.open(&c, &v1).await.unwrap().expose_secret(), b"old");
        assert_eq!(w.keys.open(&c, &v2).await.unwrap().expose_secret(), b"new");

        // Re-wrap moves v1's data key to version 2 without touching the data.
        let rewrapped = w.keys.rewrap(&c, &v1).await.unwrap().unwrap();
        let (h_old, hl_old) = Header::parse(&v1).unwrap();
        let (h_new, hl_new) = Header::parse(&rewrapped).unwrap();
        assert_eq!(h_new.key_version, 2);
        assert_eq!(h_old.commitment, h_new.commitment);
        assert_eq!(&v1[hl_old..], &rewrapped[hl_new..], "data untouched");
        assert!(w.keys.rewrap(&c, &rewrapped).await.unwrap().is_none());

        w.keys.set_min_decryption_version(&w.acme, 2).await.unwrap();
        assert!(matches!(w.keys.open(&c, &v1).await, Err(Error::VersionRetired { version: 1, min: 2, .. })));
        assert_eq!(w.keys.open(&c, &rewrapped).await.unwrap().expose_secret(), b"old");
        assert!(w.keys.set_min_decryption_version(&w.acme, 3).await.is_err());
    });
}

#[test]
fn a_ciphertext_moved_to_another_version_fails() {
    rt().block_on(async {
        let w = world().await;
        let c = ctx(&w.acme, "r");
        let v1 = w.keys.seal(&c, b"data").await.unwrap();
        w.keys.rotate_tenant(&w.acme).await.unwrap();
        let (mut h, hl) = Header::parse(&v1).unwrap();
        h.key_version = 2;
        let mut forged = h.to_bytes();
        forged.extend_from_slice(&v1[hl..]);
        assert!(matches!(w.keys.open(&c, &forged).await, Err(Error::DoesNotOpen)));
        h.key_version = 9;
        let mut forged = h.to_bytes();
        forged.extend_from_slice(&v1[hl..]);
        assert!(matches!(w.keys.open(&c, &forged).await, Err(Error::UnknownVersion { version: 9, .. })));
    });
}

#[test]
fn double_encryption_needs_both_hierarchies() {
    rt().block_on(async {
        let w = world().await;
        let c = ctx(&w.acme, "job");
        let sealed = w.keys.seal_double(&c, b"history").await.unwrap();
        let (outer, _) = Header::parse(&sealed).unwrap();
        assert_eq!(outer.layer, palisade_keys::format::Layer::Outer);
        // The outer layer under the global keyring; rotating the global key keeps it readable
        // and re-wrap moves it.
        w.keys.rotate_global().await.unwrap();
        assert_eq!(w.keys.open(&c, &sealed).await.unwrap().expose_secret(), b"history");
        let moved = w.keys.rewrap(&c, &sealed).await.unwrap().unwrap();
        assert_eq!(Header::parse(&moved).unwrap().0.key_version, 2);
        assert_eq!(w.keys.open(&c, &moved).await.unwrap().expose_secret(), b"history");
        // Tenant rotation: the inner layer moves, the outer is resealed.
        w.keys.rotate_tenant(&w.acme).await.unwrap();
        let moved2 = w.keys.rewrap(&c, &moved).await.unwrap().unwrap();
        assert_eq!(w.keys.open(&c, &moved2).await.unwrap().expose_secret(), b"history");
        // Shredding the tenant makes it unreadable although the global key is intact.
        w.keys.destroy_now(&w.acme).await.unwrap();
        assert!(matches!(w.keys.open(&c, &moved2).await, Err(Error::KeyDestroyed { .. })));
    });
}

#[test]
fn disable_schedule_cancel_destroy() {
    rt().block_on(async {
        let w = world().await;
        let c = ctx(&w.acme, "r");
        let sealed = w.keys.seal(&c, b"x").await.unwrap();
        w.keys.disable(&w.acme).await.unwrap();
        assert!(matches!(w.keys.open(&c, &sealed).await, Err(Error::KeyDisabled { .. })));
        assert!(matches!(w.keys.seal(&c, b"y").await, Err(Error::KeyDisabled { .. })));
        w.keys.enable(&w.acme).await.unwrap();
        assert!(w.keys.open(&c, &sealed).await.is_ok());

        let due = w.keys.schedule_destroy(&w.acme).await.unwrap();
        assert_eq!(due, datetime!(2026-01-31 00:00 UTC));
        assert!(matches!(w.keys.open(&c, &sealed).await, Err(Error::PendingDestruction { .. })));
        w.keys.cancel_destroy(&w.acme).await.unwrap();
        assert!(w.keys.open(&c, &sealed).await.is_ok());

        w.keys.schedule_destroy(&w.acme).await.unwrap();
        w.clock.advance(time::Duration::days(29));
        assert!(w.keys.destroy_due().await.unwrap().is_empty());
        w.clock.advance(time::Duration::days(1));
        assert_eq!(w.keys.destroy_due().await.unwrap(), vec![w.acme.clone()]);
        assert!(matches!(w.keys.open(&c, &sealed).await, Err(Error::KeyDestroyed { version: 1, .. })));
        assert!(w.keys.cancel_destroy(&w.acme).await.is_err());
        assert!(w.keys.rotate_tenant(&w.acme).await.is_err());
        let status = w.keys.tenant_status(&w.acme).await.unwrap();
        assert_eq!(status.state, "destroyed");
        assert!(status.versions.iter().all(|v| v.role == "destroyed"));
        let ops: Vec<KeyOp> = w.events.events().iter().map(|e| e.op).collect();
        for op in [
            KeyOp::Create,
            KeyOp::Disable,
            KeyOp::Enable,
            KeyOp::ScheduleDestroy,
            KeyOp::CancelDestroy,
            KeyOp::Destroy,
        ] {
            assert!(ops.contains(&op), "{op:?} not in {ops:?}");
        }
        let dbg = format!("{:?}", w.events.events());
        let stored = format!("{:?}", w.store.get(&palisade_keys::KeyOwner::Global).await.unwrap().unwrap());
        let wrapped = stored.split("wrapped: Some(\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        assert!(wrapped.len() == 120 && !dbg.contains(&wrapped[..16]), "events carry no key material");
    });
}

#[test]
fn cache_single_flight_max_age_and_uses() {
    rt().block_on(async {
        let w =
            world_with(Backend::default(), KeyPolicy { cache_max_uses: 1000, ..KeyPolicy::default() }).await;
        let c = ctx(&w.acme, "r");
        let sealed = w.keys.seal(&c, b"x").await.unwrap();
        let keys = w.keys.clone();
        w.keys.evict(&w.acme);
        let before = w.kms.unwraps.load(Ordering::SeqCst);
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let k = keys.clone();
            let c = c.clone();
            let s = sealed.clone();
            tasks.push(tokio::spawn(async move { k.open(&c, &s).await.map(|p| p.expose_secret().to_vec()) }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), b"x");
        }
        assert_eq!(w.kms.unwraps.load(Ordering::SeqCst) - before, 1, "one KMS call for 64 concurrent opens");
        // Max age: after 5 minutes the entry is reloaded.
        w.clock.advance(time::Duration::seconds(299));
        w.keys.open(&c, &sealed).await.unwrap();
        assert_eq!(w.kms.unwraps.load(Ordering::SeqCst) - before, 1);
        w.clock.advance(time::Duration::seconds(1));
        w.keys.open(&c, &sealed).await.unwrap();
        assert_eq!(w.kms.unwraps.load(Ordering::SeqCst) - before, 2);
        // Max uses.
        for _ in 0..1000 {
            w.keys.open(&c, &sealed).await.unwrap();
        }
        assert_eq!(w.kms.unwraps.load(Ordering::SeqCst) - before, 3);
    });
}

#[test]
fn wrap_limit_forces_rotation() {
    rt().block_on(async {
        let policy = KeyPolicy { max_wraps_per_version: 10, wrap_reservation: 4, ..KeyPolicy::default() };
        let w = world_with(Backend::default(), policy).await;
        let c = ctx(&w.acme, "r");
        let mut sealed = Vec::new();
        for _ in 0..20 {
            sealed.push(w.keys.seal(&c, b"x").await.unwrap());
        }
        let versions: Vec<u32> = sealed.iter().map(|s| Header::parse(s).unwrap().0.key_version).collect();
        assert_eq!(versions.iter().filter(|v| **v == 1).count(), 8, "{versions:?}");
        assert!(versions.iter().all(|v| *v <= 3), "{versions:?}");
        assert!(w.events.events().iter().any(|e| e.op == KeyOp::ForcedRotate));
        let status = w.keys.tenant_status(&w.acme).await.unwrap();
        assert!(status.versions.iter().all(|v| v.wraps_reserved <= 10));
        for s in &sealed {
            assert_eq!(w.keys.open(&c, s).await.unwrap().expose_secret(), b"x");
        }
    });
}

#[derive(Default)]
struct VecSource {
    items: std::sync::Mutex<Vec<StoredCiphertext>>,
}

#[async_trait]
impl RewrapSource for VecSource {
    async fn page(&self, after: Option<&str>, limit: usize) -> Result<Vec<StoredCiphertext>, String> {
        let items = self.items.lock().unwrap();
        Ok(items.iter().filter(|i| after.is_none_or(|a| i.id.as_str() > a)).take(limit).cloned().collect())
    }
    async fn replace(&self, id: &str, old: &[u8], new: Vec<u8>) -> Result<bool, String> {
        let mut items = self.items.lock().unwrap();
        let item = items.iter_mut().find(|i| i.id == id).ok_or("missing")?;
        if item.sealed != old {
            return Ok(false);
        }
        item.sealed = new;
        Ok(true)
    }
}

#[test]
fn resumable_rewrap_batch() {
    rt().block_on(async {
        let w = world().await;
        let source = VecSource::default();
        for i in 0..7 {
            let c = ctx(&w.acme, &format!("job-{i}"));
            let sealed =
                if i % 2 == 0 { w.keys.seal(&c, b"d").await } else { w.keys.seal_double(&c, b"d").await }
                    .unwrap();
            source.items.lock().unwrap().push(StoredCiphertext { id: format!("{i:03}"), context: c, sealed });
        }
        w.keys.rotate_tenant(&w.acme).await.unwrap();
        let mut cursor: Option<String> = None;
        let mut total = 0;
        loop {
            let p = w.keys.rewrap_batch(&source, cursor.as_deref(), 3).await.unwrap();
            assert!(p.failed.is_empty(), "{:?}", p.failed);
            total += p.rewrapped;
            cursor = p.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(total, 7);
        w.keys.set_min_decryption_version(&w.acme, 2).await.unwrap();
        let items = source.items.lock().unwrap().clone();
        for item in items {
            assert_eq!(w.keys.open(&item.context, &item.sealed).await.unwrap().expose_secret(), b"d");
        }
        let again = w.keys.rewrap_batch(&source, None, 100).await.unwrap();
        assert_eq!((again.rewrapped, again.unchanged), (0, 7));
    });
}

#[test]
fn byok_import_and_secret_sealer() {
    rt().block_on(async {
        let w = world().await;
        let initech: TenantId = "initech".parse().unwrap();
        let customer_key = SecretArray::new([0x42; 32]);
        assert_eq!(w.keys.import_tenant_key(&initech, customer_key).await.unwrap(), 1);
        assert_eq!(w.keys.import_tenant_key(&initech, SecretArray::new([0x43; 32])).await.unwrap(), 2);
        let status = w.keys.tenant_status(&initech).await.unwrap();
        assert!(status.versions.iter().all(|v| v.origin == palisade_keys::keyring::KeyOrigin::Imported));

        let sealer: &dyn SecretSealer = &w.keys;
        let sc = SealContext::new(initech.clone(), "totp-secret", "alice");
        let sealed = sealer.seal(&sc, b"JBSWY3DPEHPK3PXP").await.unwrap();
        assert_eq!(sealer.open(&sc, &sealed).await.unwrap().expose_secret(), b"JBSWY3DPEHPK3PXP");
        let other = SealContext::new(initech, "totp-secret", "bob");
        assert!(matches!(sealer.open(&other, &sealed).await, Err(palisade_core::SealError::Rejected)));
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_bit_flip_or_truncation_fails(plain in proptest::collection::vec(any::<u8>(), 0..80),
                                        double in any::<bool>(),
                                        pos in any::<proptest::sample::Index>(),
                                        bit in 0u8..8,
                                        cut in any::<proptest::sample::Index>()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let w = world().await;
            let c = ctx(&w.acme, "p");
            let sealed = if double { w.keys.seal_double(&c, &plain).await } else { w.keys.seal(&c, &plain).await }.unwrap();
            let mut flipped = sealed.clone();
            let i = pos.index(flipped.len());
            flipped[i] ^= 1 << bit;
            prop_assert!(w.keys.open(&c, &flipped).await.is_err(), "flip at {} of {}", i, sealed.len());
            let n = cut.index(sealed.len());
            prop_assert!(w.keys.open(&c, &sealed[..n]).await.is_err(), "truncated to {}", n);
            let opened = w.keys.open(&c, &sealed).await.unwrap();
            prop_assert_eq!(opened.expose_secret(), plain.as_slice());
            Ok(())
        })?;
    }
}

#[cfg(feature = "aws-lc")]
#[test]
fn byok_rsa_oaep_aes_kwp_import() {
    use palisade_keys::byok::{ImportKeyPair, wrap_for_import};
    rt().block_on(async {
        let w = world().await;
        let pair = ImportKeyPair::generate().unwrap();
        let customer = SecretArray::<32>::new([0x5c; 32]);
        let material = wrap_for_import(&pair.public_key_der().unwrap(), &customer).unwrap();
        assert_eq!(material.len(), 384 + 40);
        let key = pair.unwrap(&material).unwrap();
        assert!(key == customer);
        let mut bad = material.clone();
        bad[400] ^= 1;
        assert!(pair.unwrap(&bad).is_err());
        assert!(ImportKeyPair::generate().unwrap().unwrap(&material).is_err());
        let t: TenantId = "byok".parse().unwrap();
        w.keys.import_tenant_key(&t, key).await.unwrap();
        let c = ctx(&t, "r");
        let sealed = w.keys.seal(&c, b"customer-held").await.unwrap();
        assert_eq!(w.keys.open(&c, &sealed).await.unwrap().expose_secret(), b"customer-held");
    });
}

/// Wycheproof RSA-OAEP (SHA-256, MGF1-SHA-256) through the import key pair's decryption.
#[cfg(feature = "aws-lc")]
#[test]
fn wycheproof_rsa_oaep_sha256() {
    for file in ["rsa_oaep_2048_sha256_mgf1sha256_test.json", "rsa_oaep_3072_sha256_mgf1sha256_test.json"] {
        let path = format!("{}/../../../shared/vectors/wycheproof/{file}", env!("CARGO_MANIFEST_DIR"));
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut n = 0;
        for g in doc["testGroups"].as_array().unwrap() {
            let der = hex::decode(g["privateKeyPkcs8"].as_str().unwrap()).unwrap();
            let key = aws_lc_rs::rsa::PrivateDecryptingKey::from_pkcs8(&der).unwrap();
            let oaep = aws_lc_rs::rsa::OaepPrivateDecryptingKey::new(key).unwrap();
            for t in g["tests"].as_array().unwrap() {
                let ct = hex::decode(t["ct"].as_str().unwrap()).unwrap();
                let label = hex::decode(t["label"].as_str().unwrap()).unwrap();
                let mut out = vec![0u8; oaep.min_output_size()];
                let r = oaep
                    .decrypt(&aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256, &ct, &mut out, Some(&label))
                    .map(|p| p.to_vec());
                match t["result"].as_str().unwrap() {
                    "valid" => assert_eq!(
                        r.unwrap(),
                        hex::decode(t["msg"].as_str().unwrap()).unwrap(),
                        "{file} {}",
                        t["tcId"]
                    ),
                    "invalid" => assert!(r.is_err(), "{file} {}", t["tcId"]),
                    _ => {}
                }
                n += 1;
            }
        }
        assert!(n > 30);
    }
}
