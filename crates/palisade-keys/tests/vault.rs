//! The credential vault over every credential store (conformance suite).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may

use std::sync::Arc;

use palisade_core::{SecretString, TenantId};
use palisade_keys::vault::{Credential, CredentialStore, CredentialVault, MemoryCredentialStore};
use palisade_keys::{Error, KeyManager, LocalKms, MemoryKeyringStore};
use time::macros::datetime;

async fn conformance(store: Arc<dyn CredentialStore>) {
    let keys =
        KeyManager::builder(Arc::new(LocalKms::ephemeral().unwrap()), Arc::new(MemoryKeyringStore::new()))
            .build()
            .unwrap();
    let acme: TenantId = "acme".parse().unwrap();
    let globex: TenantId = "globex".parse().unwrap();
    keys.create_tenant(&acme).await.unwrap();
    keys.create_tenant(&globex).await.unwrap();
    let vault = CredentialVault::new(keys.clone(), store.clone());

    let oauth = Credential::OAuth {
        access_token: SecretString::from("at-secret-1"),
        refresh_token: Some(SecretString::from("rt-secret-1")),
        expires_at: Some(datetime!(2026-06-01 12:00 UTC)),
        scopes: vec!["api".into(), "refresh_token".into()],
    };
    assert_eq!(vault.put(&acme, "sf", &oauth).await.unwrap(), 1);
    assert!(matches!(vault.put(&acme, "sf", &oauth).await, Err(Error::AlreadyExists(_))));
    let got = vault.get(&acme, "sf").await.unwrap().unwrap();
    assert_eq!(got.credential, oauth);
    assert_eq!(got.revision, 1);
    let dbg = format!("{got:?}");
    assert!(!dbg.contains("secret-1"), "{dbg}");

    // Stored bytes are sealed.
    let raw = store.get(&acme, "sf").await.unwrap().unwrap();
    assert!(!raw.sealed.windows(9).any(|w| w == b"at-secret"));

    // Rotate with compare-and-swap.
    let pw = Credential::Password { username: "svc".into(), password: SecretString::from("hunter2") };
    assert_eq!(vault.rotate(&acme, "sf", 1, &pw).await.unwrap(), 2);
    assert!(matches!(vault.rotate(&acme, "sf", 1, &pw).await, Err(Error::Conflict(_))));
    assert_eq!(vault.get(&acme, "sf").await.unwrap().unwrap().credential, pw);

    // Per tenant and per connection.
    vault.put(&acme, "github", &Credential::ApiKey { key: SecretString::from("ghp") }).await.unwrap();
    assert!(vault.get(&globex, "sf").await.unwrap().is_none());
    assert_eq!(vault.connections(&acme).await.unwrap(), vec!["github".to_owned(), "sf".to_owned()]);
    assert!(vault.connections(&globex).await.unwrap().is_empty());

    // A sealed credential copied to another connection or tenant does not open.
    let sealed = store.get(&acme, "sf").await.unwrap().unwrap().sealed;
    store.put(&acme, "copy", sealed.clone(), datetime!(2026-01-01 0:00 UTC), None).await.unwrap();
    assert!(matches!(vault.get(&acme, "copy").await, Err(Error::DoesNotOpen)));
    store.put(&globex, "sf", sealed, datetime!(2026-01-01 0:00 UTC), None).await.unwrap();
    assert!(vault.get(&globex, "sf").await.is_err());

    assert!(vault.delete(&acme, "sf").await.unwrap());
    assert!(!vault.delete(&acme, "sf").await.unwrap());
    assert!(vault.get(&acme, "sf").await.unwrap().is_none());
    assert!(vault.put(&acme, "", &pw).await.is_err());

    // Shredding the tenant makes its credentials unreadable.
    keys.destroy_now(&acme).await.unwrap();
    assert!(matches!(vault.get(&acme, "github").await, Err(Error::KeyDestroyed { .. })));
}

#[tokio::test]
async fn memory_store() {
    conformance(Arc::new(MemoryCredentialStore::new())).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_store() {
    use palisade_keys::vault::sqlite::SqliteCredentialStore;
    conformance(Arc::new(SqliteCredentialStore::in_memory().unwrap())).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    conformance(Arc::new(SqliteCredentialStore::open(&path).unwrap())).await;
    // Survives reopening.
    let store = SqliteCredentialStore::open(&path).unwrap();
    assert_eq!(store.list(&"globex".parse().unwrap()).await.unwrap(), vec!["sf".to_owned()]);
}
