//! The PKCS#11 provider against a real SoftHSM2 token (started by scripts/services/softhsm.sh).
#![cfg(feature = "pkcs11")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may

use std::sync::Arc;

use palisade_core::{SealContext, SecretArray, SecretString};
use palisade_keys::kms::pkcs11::{Pkcs11Config, Pkcs11Kms};
use palisade_keys::{KeyManager, KmsContext, KmsError, KmsProvider, MemoryKeyringStore};

fn token() -> Option<(Pkcs11Config, SecretString)> {
    let (Ok(module), Ok(token), Ok(pin)) = (
        std::env::var("PALISADE_PKCS11_MODULE"),
        std::env::var("PALISADE_PKCS11_TOKEN"),
        std::env::var("PALISADE_PKCS11_PIN"),
    ) else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "PALISADE_PKCS11_* not set under CI: scripts/services/softhsm.sh must initialize SoftHSM2"
            );
        }
        eprintln!("note: PALISADE_PKCS11_* not set; skipping the SoftHSM2 test (run scripts/test)");
        return None;
    };
    Some((
        Pkcs11Config { module: module.into(), token_label: token, key_label: "palisade-root".into() },
        SecretString::new(pin),
    ))
}

#[tokio::test]
async fn softhsm_root_key_wraps_and_binds_context() {
    let Some((config, pin)) = token() else { return };
    let kms = Pkcs11Kms::create_key(&config, &pin).unwrap();
    // Reopening finds the same key.
    let again = Pkcs11Kms::open(&config, &pin).unwrap();
    let kek = SecretArray::<32>::random().unwrap();
    let ctx = KmsContext::new("tenant:acme", 1);
    let wrapped = kms.wrap(&kek, &ctx).await.unwrap();
    assert_eq!(wrapped.len(), 60);
    assert!(again.unwrap(&wrapped, &ctx).await.unwrap() == kek);
    assert!(matches!(
        kms.unwrap(&wrapped, &KmsContext::new("tenant:acme", 2)).await,
        Err(KmsError::Rejected)
    ));
    let mut bad = wrapped.clone();
    bad[20] ^= 1;
    assert!(matches!(kms.unwrap(&bad, &ctx).await, Err(KmsError::Rejected)));

    // A whole hierarchy rooted in the token.
    let keys = KeyManager::builder(Arc::new(kms), Arc::new(MemoryKeyringStore::new())).build().unwrap();
    keys.init_global().await.unwrap();
    let t = "acme".parse().unwrap();
    keys.create_tenant(&t).await.unwrap();
    let sc = SealContext::new(t, "job-history", "j1");
    let sealed = keys.seal_double(&sc, b"in the HSM's care").await.unwrap();
    assert_eq!(keys.open(&sc, &sealed).await.unwrap().expose_secret(), b"in the HSM's care");
    assert_eq!(&sealed[11..17], b"pkcs11");

    // Wrong PIN is a configuration error (once no session of this process is logged in).
    drop(keys);
    drop(again);
    assert!(matches!(Pkcs11Kms::open(&config, &SecretString::from("wrong")), Err(KmsError::Config(_))));
}
