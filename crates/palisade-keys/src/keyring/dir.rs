//! Keyrings as JSON files in a directory (what `palisade keys` uses).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::{KeyOwner, Keyring, KeyringStore, PeriodId, StoreError};

/// Keyrings as one JSON file each under a directory: `global.json`, `tenant-<id>.json`, and
/// `period-<id>~<start>~<secs>~<hex of class>.json` for period keys.
///
/// Writes go to a temporary file that is renamed over the old one, so a crash never leaves a
/// half-written keyring. The compare-and-swap holds within one process; run one writer process
/// at a time per directory (the CLI's use).
#[derive(Debug)]
pub struct DirKeyringStore {
    dir: PathBuf,
    lock: Mutex<()>,
}

impl DirKeyringStore {
    /// A store in `dir` (created if missing).
    pub fn new(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir)
            .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", dir.display())))?;
        Ok(Self { dir, lock: Mutex::new(()) })
    }

    fn path(&self, owner: &KeyOwner) -> PathBuf {
        match owner {
            KeyOwner::Global => self.dir.join("global.json"),
            // Tenant ids are restricted to [A-Za-z0-9-_.@:] and cannot start with a dot.
            KeyOwner::Tenant(t) => self.dir.join(format!("tenant-{}.json", t.as_str().replace(':', "%3A"))),
            // `~` is not in the tenant id alphabet; the class is hex-encoded.
            KeyOwner::Period(p) => self.dir.join(format!(
                "period-{}~{}~{}~{}.json",
                p.tenant.as_str().replace(':', "%3A"),
                p.start,
                p.secs,
                hex::encode(p.class.as_bytes())
            )),
        }
    }

    fn read(&self, owner: &KeyOwner) -> Result<Option<Keyring>, StoreError> {
        let path = self.path(owner);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::Backend(format!("{} is not a valid keyring: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Backend(format!("cannot read {}: {e}", path.display()))),
        }
    }
}

#[async_trait]
impl KeyringStore for DirKeyringStore {
    async fn get(&self, owner: &KeyOwner) -> Result<Option<Keyring>, StoreError> {
        self.read(owner)
    }

    async fn put(&self, keyring: &Keyring, expected: Option<u64>) -> Result<(), StoreError> {
        let _guard = self.lock.lock().await;
        let current = self.read(&keyring.owner)?.map(|k| k.revision);
        if current != expected {
            return Err(StoreError::Conflict);
        }
        let path = self.path(&keyring.owner);
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(keyring).map_err(|e| StoreError::Backend(e.to_string()))?;
        let write = || -> std::io::Result<()> {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp)?;
            std::io::Write::write_all(&mut f, &bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| StoreError::Backend(format!("cannot write {}: {e}", path.display())))
    }

    async fn list(&self) -> Result<Vec<KeyOwner>, StoreError> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| StoreError::Backend(format!("cannot list {}: {e}", self.dir.display())))?;
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name == "global.json" {
                out.push(KeyOwner::Global);
            } else if let Some(id) = name.strip_prefix("tenant-").and_then(|n| n.strip_suffix(".json"))
                && let Ok(t) = id.replace("%3A", ":").parse()
            {
                out.push(KeyOwner::Tenant(t));
            } else if let Some(p) = name.strip_prefix("period-").and_then(|n| n.strip_suffix(".json"))
                && let Some(p) = parse_period(p)
            {
                out.push(KeyOwner::Period(p));
            }
        }
        out.sort();
        Ok(out)
    }
}

fn parse_period(name: &str) -> Option<PeriodId> {
    let mut parts = name.split('~');
    let tenant = parts.next()?.replace("%3A", ":").parse().ok()?;
    let start = parts.next()?.parse().ok()?;
    let secs = parts.next()?.parse().ok()?;
    let class = String::from_utf8(hex::decode(parts.next()?).ok()?).ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(PeriodId { tenant, class, start, secs })
}
