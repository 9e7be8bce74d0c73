//! A JSONL file destination: one entry line per event, in the same format as the log itself,
//! so `palisade audit verify` can check a complete copy.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;

use crate::chain::StoredEntry;
use crate::error::{Error, Result};
use crate::stream::AuditSink;

/// Appends delivered entries to a file and fsyncs each batch.
#[derive(Debug)]
pub struct JsonlFileSink {
    path: PathBuf,
    file: tokio::sync::Mutex<Option<tokio::fs::File>>,
}

impl JsonlFileSink {
    /// A sink writing to `path` (created if missing, appended to otherwise).
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self { path: path.as_ref().to_owned(), file: tokio::sync::Mutex::new(None) }
    }
}

#[async_trait]
impl AuditSink for JsonlFileSink {
    async fn deliver(&self, batch: &[StoredEntry]) -> Result<()> {
        let mut buf = Vec::new();
        for e in batch {
            buf.extend_from_slice(&e.to_line()?);
        }
        let mut guard = self.file.lock().await;
        if guard.is_none() {
            let f = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .await
                .map_err(|e| Error::io("open", &self.path, e))?;
            *guard = Some(f);
        }
        let Some(f) = guard.as_mut() else { return Err(Error::Closed) };
        let r = async {
            f.write_all(&buf).await?;
            f.sync_data().await
        }
        .await;
        if let Err(e) = r {
            *guard = None;
            return Err(Error::Delivery {
                destination: self.path.display().to_string(),
                reason: e.to_string(),
                retryable: true,
            });
        }
        Ok(())
    }
}
