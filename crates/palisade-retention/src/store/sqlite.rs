//! A [`RetentionStore`] over a SQLite job-history table (rusqlite, bundled SQLite).
//!
//! The expected schema is documented in the crate README. Calls run on the calling task (SQLite
//! work is short per batch); hosts that need to keep the executor free call the engine from
//! `spawn_blocking` or a dedicated runtime.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::store::{CandidateQuery, RetentionStore, Scope, StoredRecord};

/// The class of rows when the table has no `class` column.
pub const DEFAULT_CLASS: &str = "job_history";
/// The table the store reads by default.
pub const DEFAULT_TABLE: &str = "job_history";
/// The table where run checkpoints are kept (created on the first run).
pub const CHECKPOINT_TABLE: &str = "palisade_retention_checkpoint";

fn db(e: rusqlite::Error) -> Error {
    Error::Store(format!("sqlite: {e}"))
}

/// A [`RetentionStore`] over a SQLite table of job history.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    table: String,
    class_col: bool,
    needed_col: bool,
}

impl SqliteStore {
    /// Opens an existing database file and checks its `job_history` table.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::Store(format!("cannot open {}: {e}", path.display())))?;
        Self::from_connection(conn, DEFAULT_TABLE)
    }

    /// Wraps an open connection, reading `table` (an identifier of letters, digits and `_`).
    pub fn from_connection(conn: Connection, table: &str) -> Result<Self> {
        let valid = table
            .bytes()
            .enumerate()
            .all(|(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()));
        if table.is_empty() || !valid {
            return Err(Error::Store(format!("invalid table name {table:?}")));
        }
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db)?;
        let mut cols = Vec::new();
        {
            let mut st = conn.prepare(&format!("PRAGMA table_info(\"{table}\")")).map_err(db)?;
            let rows = st.query_map([], |r| r.get::<_, String>(1)).map_err(db)?;
            for c in rows {
                cols.push(c.map_err(db)?.to_ascii_lowercase());
            }
        }
        if cols.is_empty() {
            return Err(Error::Store(format!(
                "no table {table:?} in the database: create it as the palisade-retention README describes"
            )));
        }
        let missing: Vec<&str> = ["id", "tenant", "started_at", "ended_at"]
            .into_iter()
            .filter(|c| !cols.iter().any(|x| x == c))
            .collect();
        if !missing.is_empty() {
            return Err(Error::Store(format!("table {table} lacks column(s) {}", missing.join(", "))));
        }
        let class_col = cols.iter().any(|c| c == "class");
        let needed_col = cols.iter().any(|c| c == "needed");
        Ok(Self { conn: Mutex::new(conn), table: table.to_owned(), class_col, needed_col })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| Error::Store("sqlite connection lock poisoned".into()))
    }

    fn class_expr(&self) -> String {
        if self.class_col { "class".into() } else { format!("'{DEFAULT_CLASS}'") }
    }
}

fn ts(secs: i64, what: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| Error::Store(format!("{what} {secs} is out of range")))
}

#[async_trait]
impl RetentionStore for SqliteStore {
    async fn scopes(&self) -> Result<Vec<Scope>> {
        let conn = self.lock()?;
        let t = &self.table;
        let bad: i64 = conn
            .query_row(
                &format!(
                    "SELECT count(*) FROM \"{t}\" WHERE typeof(started_at) <> 'integer' \
                     OR typeof(ended_at) NOT IN ('integer', 'null')"
                ),
                [],
                |r| r.get(0),
            )
            .map_err(db)?;
        if bad > 0 {
            return Err(Error::Store(format!(
                "{bad} row(s) of {t} have started_at/ended_at that are not integer Unix seconds (ended_at may be NULL)"
            )));
        }
        let mut st = conn
            .prepare(&format!(
                "SELECT DISTINCT CAST(tenant AS TEXT), CAST({} AS TEXT) FROM \"{t}\"",
                self.class_expr()
            ))
            .map_err(db)?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (tenant, class) = row.map_err(db)?;
            let tenant = tenant.parse().map_err(|e| Error::Store(format!("{t}: tenant {tenant:?}: {e}")))?;
            out.push(Scope { tenant, class });
        }
        Ok(out)
    }

    async fn candidates(&self, q: &CandidateQuery<'_>) -> Result<Vec<StoredRecord>> {
        let conn = self.lock()?;
        let needed = if self.needed_col { "COALESCE(needed, 0) <> 0" } else { "0" };
        let class_filter = if self.class_col { "class = ?2" } else { "?2 = ?2" };
        let sql = format!(
            "SELECT rowid, CAST(id AS TEXT), started_at, ended_at, {needed} FROM \"{}\" \
             WHERE tenant = ?1 AND {class_filter} AND rowid > ?3 \
             AND ((ended_at IS NOT NULL AND ended_at <= ?4) OR (ended_at IS NULL AND ?5 IS NOT NULL AND started_at <= ?5)) \
             ORDER BY rowid LIMIT ?6",
            self.table
        );
        let mut st = conn.prepare_cached(&sql).map_err(db)?;
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let rows = st
            .query_map(
                params![
                    q.scope.tenant.as_str(),
                    q.scope.class,
                    q.after.unwrap_or(i64::MIN),
                    q.ended_before.unix_timestamp(),
                    q.running_started_before.map(OffsetDateTime::unix_timestamp),
                    limit
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, bool>(4)?,
                    ))
                },
            )
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (position, id, started, ended, needed) = row.map_err(db)?;
            out.push(StoredRecord {
                position,
                id: id.unwrap_or_default(),
                started_at: ts(started, "started_at")?,
                ended_at: ended.map(|e| ts(e, "ended_at")).transpose()?,
                needed,
            });
        }
        Ok(out)
    }

    async fn delete_batch(
        &self,
        scope: &Scope,
        positions: &[i64],
        run: &str,
        checkpoint: Option<&str>,
    ) -> Result<u64> {
        let mut conn = self.lock()?;
        let tx = conn.transaction().map_err(db)?;
        let mut deleted = 0u64;
        {
            let class_filter = if self.class_col { "class = ?3" } else { "?3 = ?3" };
            let mut st = tx
                .prepare_cached(&format!(
                    "DELETE FROM \"{}\" WHERE rowid = ?1 AND tenant = ?2 AND {class_filter}",
                    self.table
                ))
                .map_err(db)?;
            for p in positions {
                deleted += st.execute(params![p, scope.tenant.as_str(), scope.class]).map_err(db)? as u64;
            }
        }
        tx.execute(
            &format!(
                "CREATE TABLE IF NOT EXISTS {CHECKPOINT_TABLE} (run TEXT PRIMARY KEY, state TEXT NOT NULL)"
            ),
            [],
        )
        .map_err(db)?;
        match checkpoint {
            Some(c) => tx
                .execute(
                    &format!("INSERT INTO {CHECKPOINT_TABLE} (run, state) VALUES (?1, ?2) ON CONFLICT(run) DO UPDATE SET state = excluded.state"),
                    params![run, c],
                )
                .map_err(db)?,
            None => tx.execute(&format!("DELETE FROM {CHECKPOINT_TABLE} WHERE run = ?1"), params![run]).map_err(db)?,
        };
        tx.commit().map_err(db)?;
        Ok(deleted)
    }

    async fn load_checkpoint(&self, run: &str) -> Result<Option<String>> {
        let conn = self.lock()?;
        let exists: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                params![CHECKPOINT_TABLE],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        if exists.is_none() {
            return Ok(None);
        }
        conn.query_row(&format!("SELECT state FROM {CHECKPOINT_TABLE} WHERE run = ?1"), params![run], |r| {
            r.get(0)
        })
        .optional()
        .map_err(db)
    }
}
