//! [`SqliteTokenStore`]: tokens in a SQLite table (feature `sqlite`, bundled libsqlite3).
//!
//! Calls run on tokio's blocking pool; the compare-and-swap runs in one `IMMEDIATE` transaction.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use palisade_core::{SealedSecret, TenantId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;

use super::{StoredTokens, TokenStore};
use crate::error::{Error, Result};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS palisade_oauth_tokens (
    tenant TEXT NOT NULL,
    connection TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    expires_at INTEGER,
    has_refresh_token INTEGER NOT NULL,
    scope TEXT,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, connection)
)";

/// A [`TokenStore`] in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteTokenStore {
    conn: Arc<Mutex<Connection>>,
}

fn db(e: rusqlite::Error) -> Error {
    Error::Store(format!("sqlite: {e}"))
}

impl SqliteTokenStore {
    /// Opens (or creates) the database at `path` and its table.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_connection(Connection::open(path).map_err(db)?)
    }

    /// An in-memory database (for tests).
    pub fn in_memory() -> Result<Self> {
        Self::from_connection(Connection::open_in_memory().map_err(db)?)
    }

    fn from_connection(conn: Connection) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(SqliteTokenStore { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut c)
        })
        .await
        .map_err(|e| Error::Store(format!("sqlite task failed: {e}")))?
    }
}

fn version_of(tx: &Connection, tenant: &str, connection: &str) -> Result<Option<u64>> {
    tx.query_row(
        "SELECT version FROM palisade_oauth_tokens WHERE tenant = ?1 AND connection = ?2",
        params![tenant, connection],
        |r| r.get::<_, i64>(0),
    )
    .optional()
    .map_err(db)
    .map(|v| v.map(|v| u64::try_from(v).unwrap_or(0)))
}

fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn from_ts(s: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(s).map_err(|e| Error::Store(format!("bad timestamp in store: {e}")))
}

#[async_trait]
impl TokenStore for SqliteTokenStore {
    async fn get(&self, tenant: &TenantId, connection: &str) -> Result<Option<StoredTokens>> {
        let (tenant, connection) = (tenant.as_str().to_owned(), connection.to_owned());
        self.run(move |c| {
            let row = c
                .query_row(
                    "SELECT profile_id, sealed, expires_at, has_refresh_token, scope, version, updated_at
                     FROM palisade_oauth_tokens WHERE tenant = ?1 AND connection = ?2",
                    params![tenant, connection],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Vec<u8>>(1)?,
                            r.get::<_, Option<i64>>(2)?,
                            r.get::<_, bool>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, i64>(5)?,
                            r.get::<_, i64>(6)?,
                        ))
                    },
                )
                .optional()
                .map_err(db)?;
            row.map(|(profile_id, sealed, exp, has_refresh_token, scope, version, updated)| {
                Ok(StoredTokens {
                    profile_id,
                    sealed: SealedSecret(sealed),
                    expires_at: exp.map(from_ts).transpose()?,
                    has_refresh_token,
                    scope,
                    version: u64::try_from(version).unwrap_or(0),
                    updated_at: from_ts(updated)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn put(
        &self,
        tenant: &TenantId,
        connection: &str,
        tokens: StoredTokens,
        expected_version: Option<u64>,
    ) -> Result<()> {
        let (tenant, connection) = (tenant.as_str().to_owned(), connection.to_owned());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
            if version_of(&tx, &tenant, &connection)? != expected_version {
                return Err(Error::Conflict);
            }
            tx.execute(
                "INSERT OR REPLACE INTO palisade_oauth_tokens
                 (tenant, connection, profile_id, sealed, expires_at, has_refresh_token, scope, version, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    tenant,
                    connection,
                    tokens.profile_id,
                    tokens.sealed.0,
                    tokens.expires_at.map(ts),
                    tokens.has_refresh_token,
                    tokens.scope,
                    i64::try_from(tokens.version).map_err(|_| Error::Store("version overflow".into()))?,
                    ts(tokens.updated_at),
                ],
            )
            .map_err(db)?;
            tx.commit().map_err(db)
        })
        .await
    }

    async fn delete(&self, tenant: &TenantId, connection: &str, expected_version: u64) -> Result<bool> {
        let (tenant, connection) = (tenant.as_str().to_owned(), connection.to_owned());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
            match version_of(&tx, &tenant, &connection)? {
                None => return Ok(false),
                Some(v) if v != expected_version => return Err(Error::Conflict),
                Some(_) => {}
            }
            tx.execute(
                "DELETE FROM palisade_oauth_tokens WHERE tenant = ?1 AND connection = ?2",
                params![tenant, connection],
            )
            .map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(true)
        })
        .await
    }
}
