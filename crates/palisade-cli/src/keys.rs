//! `palisade keys`: a local key store (root key file + keyrings) to create, rotate, disable and
//! destroy tenant keys, and to encrypt and decrypt data under them.
//!
//! `DIR` holds `root.key` (the local root key, mode 0600) and `keyrings/` (one JSON file per
//! keyring, keys stored only wrapped). Plaintext and ciphertext go through stdin and stdout.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use palisade::core::{ErrorClass, SealContext, TenantId};
use palisade::keys::{DirKeyringStore, Error as KeyError, KeyManager, LocalKms};
use serde::Serialize;

use crate::output::{Outcome, Verdict, emit};

/// Arguments of `palisade keys`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, clap::Args)]
struct DirArg {
    /// The key store directory.
    #[arg(long)]
    dir: PathBuf,
}

#[derive(Debug, clap::Args)]
struct ContextArgs {
    /// The key store directory.
    #[arg(long)]
    dir: PathBuf,
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// What the data is (e.g. `job-history`).
    #[arg(long)]
    purpose: String,
    /// Which record it belongs to (e.g. a job id).
    #[arg(long)]
    record: String,
}

#[derive(Debug, clap::Subcommand)]
enum KeysCommand {
    /// Create a key store in DIR: a new local root key and the global keyring.
    Init {
        #[command(flatten)]
        dir: DirArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Manage a tenant's keys.
    Tenant {
        #[command(subcommand)]
        action: TenantAction,
    },
    /// Encrypt stdin to stdout for a tenant, purpose and record.
    Encrypt {
        #[command(flatten)]
        ctx: ContextArgs,
        /// Encrypt twice: under the tenant key, then under the global key.
        #[arg(long)]
        double: bool,
    },
    /// Decrypt stdin to stdout; exit 1 with the reason if it does not open.
    Decrypt {
        #[command(flatten)]
        ctx: ContextArgs,
    },
    /// Show every keyring: state, versions, primary, minimum decryption version.
    Status {
        #[command(flatten)]
        dir: DirArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
enum TenantAction {
    /// Create the tenant's keyring (version 1).
    Create(TenantArgs),
    /// Make a new key version primary; older versions keep decrypting.
    Rotate(TenantArgs),
    /// Disable the tenant's keys (nothing encrypts or decrypts).
    Disable(TenantArgs),
    /// Enable disabled keys again.
    Enable(TenantArgs),
    /// Destroy the tenant's keys now (crypto-shredding): its data becomes unreadable.
    Destroy(TenantArgs),
}

#[derive(Debug, clap::Args)]
struct TenantArgs {
    /// The key store directory.
    #[arg(long)]
    dir: PathBuf,
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn root_key_path(dir: &Path) -> PathBuf {
    dir.join("root.key")
}

fn open_manager(dir: &Path) -> anyhow::Result<KeyManager> {
    let root = root_key_path(dir);
    if !root.exists() {
        anyhow::bail!(
            "{} is not a key store (no root.key): run `palisade keys init --dir {}`",
            dir.display(),
            dir.display()
        );
    }
    let kms = LocalKms::from_file(&root)?;
    let store = DirKeyringStore::new(dir.join("keyrings"))?;
    Ok(KeyManager::builder(Arc::new(kms), Arc::new(store)).build()?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

fn tenant(s: &str) -> anyhow::Result<TenantId> {
    s.parse().with_context(|| format!("invalid --tenant {s:?}"))
}

#[derive(Serialize)]
struct Done<'a> {
    action: &'a str,
    tenant: Option<&'a str>,
    version: Option<u32>,
}

/// Runs `palisade keys`.
pub fn run(args: Args) -> Outcome {
    let rt = runtime()?;
    rt.block_on(run_async(args))
}

async fn run_async(args: Args) -> Outcome {
    match args.command {
        KeysCommand::Init { dir: DirArg { dir }, json } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let root = root_key_path(&dir);
            if root.exists() {
                anyhow::bail!(
                    "{} already holds a key store: refusing to replace its root key",
                    dir.display()
                );
            }
            let kms = LocalKms::create_file(&root)?;
            let store = DirKeyringStore::new(dir.join("keyrings"))?;
            let keys = KeyManager::builder(Arc::new(kms), Arc::new(store)).build()?;
            let v = keys.init_global().await?;
            emit(json, &Done { action: "init", tenant: None, version: Some(v) }, || {
                format!(
                    "initialised key store in {} (root key {}, global key version {v})",
                    dir.display(),
                    root.display()
                )
            })?;
            Ok(Verdict::Pass)
        }
        KeysCommand::Tenant { action } => {
            let (name, a) = match &action {
                TenantAction::Create(a) => ("create", a),
                TenantAction::Rotate(a) => ("rotate", a),
                TenantAction::Disable(a) => ("disable", a),
                TenantAction::Enable(a) => ("enable", a),
                TenantAction::Destroy(a) => ("destroy", a),
            };
            let t = tenant(&a.tenant)?;
            let keys = open_manager(&a.dir)?;
            let version = match action {
                TenantAction::Create(_) => Some(keys.create_tenant(&t).await?),
                TenantAction::Rotate(_) => Some(keys.rotate_tenant(&t).await?),
                TenantAction::Disable(_) => keys.disable(&t).await.map(|()| None)?,
                TenantAction::Enable(_) => keys.enable(&t).await.map(|()| None)?,
                TenantAction::Destroy(_) => keys.destroy_now(&t).await.map(|()| None)?,
            };
            emit(a.json, &Done { action: name, tenant: Some(t.as_str()), version }, || {
                match (name, version) {
                    ("create", Some(v)) => format!("created keys for tenant {t} (version {v})"),
                    ("rotate", Some(v)) => format!("rotated keys of tenant {t}: version {v} is now primary"),
                    ("destroy", _) => {
                        format!("destroyed the keys of tenant {t}: its data can no longer be decrypted")
                    }
                    _ => format!("{name}d the keys of tenant {t}"),
                }
            })?;
            Ok(Verdict::Pass)
        }
        KeysCommand::Encrypt { ctx, double } => {
            let t = tenant(&ctx.tenant)?;
            let keys = open_manager(&ctx.dir)?;
            let sc = SealContext::new(t, ctx.purpose, ctx.record);
            let mut plain = zeroize_vec();
            std::io::stdin().lock().read_to_end(&mut plain).context("cannot read stdin")?;
            let sealed =
                if double { keys.seal_double(&sc, &plain).await? } else { keys.seal(&sc, &plain).await? };
            let mut out = std::io::stdout().lock();
            out.write_all(&sealed).and_then(|()| out.flush()).context("cannot write stdout")?;
            Ok(Verdict::Pass)
        }
        KeysCommand::Decrypt { ctx } => {
            let t = tenant(&ctx.tenant)?;
            let keys = open_manager(&ctx.dir)?;
            let sc = SealContext::new(t, ctx.purpose, ctx.record);
            let mut sealed = Vec::new();
            std::io::stdin().lock().read_to_end(&mut sealed).context("cannot read stdin")?;
            match keys.open(&sc, &sealed).await {
                Ok(plain) => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(plain.expose_secret())
                        .and_then(|()| out.flush())
                        .context("cannot write stdout")?;
                    Ok(Verdict::Pass)
                }
                Err(e) if e.class() == ErrorClass::Rejected || matches!(e, KeyError::NoSuchTenant(_)) => {
                    eprintln!("palisade: rejected: {e}");
                    Ok(Verdict::Fail)
                }
                Err(e) => Err(e.into()),
            }
        }
        KeysCommand::Status { dir: DirArg { dir }, json } => {
            let keys = open_manager(&dir)?;
            let status = keys.status().await?;
            #[derive(Serialize)]
            struct Report<'a> {
                dir: String,
                keyrings: &'a [palisade::keys::KeyringStatus],
            }
            let report = Report { dir: dir.display().to_string(), keyrings: &status };
            emit(json, &report, || {
                let mut s = format!("key store {}\n", dir.display());
                for k in &status {
                    s.push_str(&format!(
                        "{:<28} {:<20} primary v{} (min decrypt v{}), versions: {}\n",
                        k.owner,
                        k.state,
                        k.primary,
                        k.min_decryption_version,
                        k.versions
                            .iter()
                            .map(|v| format!("v{} {}", v.version, v.role))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                s
            })?;
            Ok(Verdict::Pass)
        }
    }
}

/// A buffer for plaintext read from stdin (zeroized when dropped).
fn zeroize_vec() -> zeroize::Zeroizing<Vec<u8>> {
    zeroize::Zeroizing::new(Vec::new())
}
