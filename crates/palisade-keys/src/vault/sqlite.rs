//! Credentials in SQLite (feature `sqlite`, `rusqlite` with bundled SQLite).

use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use palisade_core::TenantId;
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{CredentialStore, CredentialStoreError, StoredCredential};

/// Credentials in one SQLite table (`palisade_credentials`). Only sealed bytes are stored.
///
/// Calls run on the caller's task while holding the connection; they are short, local writes.
#[derive(Debug)]
pub struct SqliteCredentialStore {
    conn: Mutex<Connection>,
}

fn db<E: std::fmt::Display>(e: E) -> CredentialStoreError {
    CredentialStoreError::Backend(format!("sqlite: {e}"))
}

impl SqliteCredentialStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CredentialStoreError> {
        Self::init(Connection::open(path).map_err(db)?)
    }

    /// An in-memory database.
    pub fn in_memory() -> Result<Self, CredentialStoreError> {
        Self::init(Connection::open_in_memory().map_err(db)?)
    }

    fn init(conn: Connection) -> Result<Self, CredentialStoreError> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS palisade_credentials (
                tenant TEXT NOT NULL,
                connection TEXT NOT NULL,
                revision INTEGER NOT NULL,
                updated TEXT NOT NULL,
                sealed BLOB NOT NULL,
                PRIMARY KEY (tenant, connection)
            );",
        )
        .map_err(db)?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, CredentialStoreError> {
        self.conn
            .lock()
            .map_err(|_| CredentialStoreError::Backend("sqlite connection lock poisoned".to_owned()))
    }
}

#[async_trait]
impl CredentialStore for SqliteCredentialStore {
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &str,
    ) -> Result<Option<StoredCredential>, CredentialStoreError> {
        let conn = self.lock()?;
        let row = conn
            .query_row(
                "SELECT revision, updated, sealed FROM palisade_credentials WHERE tenant = ?1 AND connection = ?2",
                params![tenant.as_str(), connection],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?)),
            )
            .optional()
            .map_err(db)?;
        let Some((revision, updated, sealed)) = row else { return Ok(None) };
        let updated =
            OffsetDateTime::parse(&updated, &time::format_description::well_known::Rfc3339).map_err(db)?;
        Ok(Some(StoredCredential { revision: u64::try_from(revision).map_err(db)?, updated, sealed }))
    }

    async fn put(
        &self,
        tenant: &TenantId,
        connection: &str,
        sealed: Vec<u8>,
        updated: OffsetDateTime,
        expected: Option<u64>,
    ) -> Result<u64, CredentialStoreError> {
        let updated = updated.format(&time::format_description::well_known::Rfc3339).map_err(db)?;
        let conn = self.lock()?;
        let changed = match expected {
            None => conn
                .execute(
                    "INSERT OR IGNORE INTO palisade_credentials (tenant, connection, revision, updated, sealed)
                     VALUES (?1, ?2, 1, ?3, ?4)",
                    params![tenant.as_str(), connection, updated, sealed],
                )
                .map_err(db)?,
            Some(rev) => {
                let rev = i64::try_from(rev).map_err(db)?;
                conn.execute(
                    "UPDATE palisade_credentials SET revision = revision + 1, updated = ?3, sealed = ?4
                     WHERE tenant = ?1 AND connection = ?2 AND revision = ?5",
                    params![tenant.as_str(), connection, updated, sealed, rev],
                )
                .map_err(db)?
            }
        };
        if changed != 1 {
            return Err(CredentialStoreError::Conflict);
        }
        Ok(expected.map_or(1, |r| r.saturating_add(1)))
    }

    async fn delete(&self, tenant: &TenantId, connection: &str) -> Result<bool, CredentialStoreError> {
        let conn = self.lock()?;
        let n = conn
            .execute(
                "DELETE FROM palisade_credentials WHERE tenant = ?1 AND connection = ?2",
                params![tenant.as_str(), connection],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    async fn list(&self, tenant: &TenantId) -> Result<Vec<String>, CredentialStoreError> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare("SELECT connection FROM palisade_credentials WHERE tenant = ?1 ORDER BY connection")
            .map_err(db)?;
        let rows = stmt.query_map(params![tenant.as_str()], |r| r.get::<_, String>(0)).map_err(db)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db)
    }
}
