//! One suite, every `TokenStore`: compare-and-swap semantics, isolation between tenants and
//! connections, and failed writes leaving the store unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use palisade_core::{SealedSecret, TenantId};
use palisade_oauth::{Error, MemoryTokenStore, StoredTokens, TokenStore};
use time::OffsetDateTime;

fn tokens(version: u64, tag: u8) -> StoredTokens {
    StoredTokens {
        profile_id: "p1".into(),
        sealed: SealedSecret(vec![tag; 40]),
        expires_at: Some(OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()),
        has_refresh_token: true,
        scope: Some("api offline_access".into()),
        version,
        updated_at: OffsetDateTime::from_unix_timestamp(1_799_999_000).unwrap(),
    }
}

async fn conformance(store: &dyn TokenStore) {
    let acme: TenantId = "acme".parse().unwrap();
    let globex: TenantId = "globex".parse().unwrap();
    assert!(store.get(&acme, "c1").await.unwrap().is_none());

    // Create: only when nothing is stored.
    store.put(&acme, "c1", tokens(1, 1), None).await.unwrap();
    assert!(matches!(store.put(&acme, "c1", tokens(1, 9), None).await, Err(Error::Conflict)));
    assert_eq!(store.get(&acme, "c1").await.unwrap().unwrap(), tokens(1, 1));

    // Update: only from the expected version; a stale writer changes nothing.
    store.put(&acme, "c1", tokens(2, 2), Some(1)).await.unwrap();
    assert!(matches!(store.put(&acme, "c1", tokens(2, 7), Some(1)).await, Err(Error::Conflict)));
    assert_eq!(store.get(&acme, "c1").await.unwrap().unwrap(), tokens(2, 2));

    // Isolation by tenant and connection.
    assert!(store.get(&globex, "c1").await.unwrap().is_none());
    assert!(store.get(&acme, "c2").await.unwrap().is_none());
    store.put(&globex, "c1", tokens(1, 3), None).await.unwrap();
    assert_eq!(store.get(&acme, "c1").await.unwrap().unwrap().sealed.0[0], 2);

    // Delete: versioned too.
    assert!(matches!(store.delete(&acme, "c1", 1).await, Err(Error::Conflict)));
    assert!(store.get(&acme, "c1").await.unwrap().is_some());
    assert!(store.delete(&acme, "c1", 2).await.unwrap());
    assert!(!store.delete(&acme, "c1", 2).await.unwrap());
    assert!(store.get(&acme, "c1").await.unwrap().is_none());
    assert!(store.get(&globex, "c1").await.unwrap().is_some());

    // Without expiry or scope.
    let mut bare = tokens(1, 4);
    bare.expires_at = None;
    bare.scope = None;
    bare.has_refresh_token = false;
    store.put(&acme, "c3", bare.clone(), None).await.unwrap();
    assert_eq!(store.get(&acme, "c3").await.unwrap().unwrap(), bare);
}

#[tokio::test]
async fn memory_store() {
    conformance(&MemoryTokenStore::new()).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_store() {
    conformance(&palisade_oauth::SqliteTokenStore::in_memory().unwrap()).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_store_persists_across_opens() {
    let path = std::env::temp_dir().join(format!("palisade-oauth-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let acme: TenantId = "acme".parse().unwrap();
    {
        let s = palisade_oauth::SqliteTokenStore::open(&path).unwrap();
        s.put(&acme, "c1", tokens(1, 5), None).await.unwrap();
    }
    let s = palisade_oauth::SqliteTokenStore::open(&path).unwrap();
    assert_eq!(s.get(&acme, "c1").await.unwrap().unwrap(), tokens(1, 5));
    let _ = std::fs::remove_file(&path);
}
