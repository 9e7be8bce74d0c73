//! `palisade audit`: verify, query and append to tamper-evident audit logs.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use palisade::audit::{
    Actor, ActorKind, AuditEvent, Checkpointing, Cursor, Ed25519Signer, FileAuditStore, FileStoreConfig,
    Outcome, Query, Target, Verifier, VerifyingKey, ocsf,
};
use palisade::core::{SystemClock, TenantId};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::output::{Outcome as CliOutcome, Verdict, emit};

/// Arguments of `palisade audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Box<AuditCommand>,
}

#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// Check that audit log files are intact: exit 0 if so, 1 naming the first bad entry and the
    /// kind of tampering (modified, deleted, inserted, reordered, truncated, malformed,
    /// bad_signature).
    Verify {
        /// Segment and checkpoint files (`*.jsonl`), or store directories.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Ed25519 public key that signs checkpoints: a file (SPKI PEM/DER, or raw 32 bytes in
        /// hex/base64) or the key itself in hex/base64. Repeat for rotated keys.
        #[arg(long = "public-key", value_name = "KEY", allow_hyphen_values = true)]
        public_keys: Vec<String>,
        /// Accept a log whose oldest entries were removed by retention.
        #[arg(long)]
        allow_missing_head: bool,
        /// Fail a tenant whose log has no checkpoint.
        #[arg(long)]
        require_checkpoint: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's events from a file store, oldest first.
    Query {
        /// The store directory.
        dir: PathBuf,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Events at or after: RFC 3339 time, a date (YYYY-MM-DD, UTC), or an age like 15m, 24h, 7d.
        #[arg(long)]
        since: Option<String>,
        /// Events before (same forms as --since).
        #[arg(long)]
        until: Option<String>,
        /// Events whose action is PREFIX or under it (e.g. `user.login`).
        #[arg(long, value_name = "PREFIX")]
        action: Option<String>,
        /// Events by this actor id.
        #[arg(long)]
        actor: Option<String>,
        /// Page size.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// Continue from the `next_cursor` of a previous page.
        #[arg(long)]
        cursor: Option<String>,
        /// Print the events as OCSF objects (with --json).
        #[arg(long)]
        ocsf: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Append one event to a file store (for scripts recording operator actions, and tests).
    Append {
        /// The store directory (created if missing).
        #[arg(long)]
        dir: PathBuf,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Who acted (an id).
        #[arg(long)]
        actor: String,
        /// What kind of actor.
        #[arg(long, value_enum, default_value = "user")]
        actor_kind: Kind,
        /// The action, a dotted name like `user.mfa.reset`.
        #[arg(long)]
        action: String,
        /// What was acted on, as TYPE:ID.
        #[arg(long, value_name = "TYPE:ID")]
        target: Option<String>,
        /// The target's display name.
        #[arg(long)]
        target_name: Option<String>,
        /// `success`, `failure` or `failure:REASON`.
        #[arg(long, default_value = "success")]
        outcome: String,
        /// Failure reason (with --outcome failure).
        #[arg(long)]
        reason: Option<String>,
        /// Request or correlation id.
        #[arg(long)]
        request_id: Option<String>,
        /// The actor's IP address.
        #[arg(long)]
        ip: Option<IpAddr>,
        /// The actor's user agent.
        #[arg(long)]
        user_agent: Option<String>,
        /// Extra details as a JSON object (mask it first: the log cannot be edited later).
        #[arg(long)]
        details: Option<String>,
        /// File with the Ed25519 private key (PKCS#8 PEM/DER or 32-byte seed) that signs a
        /// checkpoint after the append. Without it, a key kept in DIR/.checkpoint-key.pem
        /// (created on first use, mode 0600) signs: that catches naive truncation, but only a key
        /// held elsewhere, checked with `verify --public-key`, stops an insider.
        #[arg(long, value_name = "FILE")]
        signing_key: Option<PathBuf>,
        /// Do not sign a checkpoint.
        #[arg(long, conflicts_with = "signing_key")]
        no_checkpoint: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Generate an Ed25519 checkpoint key: the private key goes to FILE (mode 0600), the public
    /// key to stdout (SPKI PEM).
    Keygen {
        /// Where to write the private key (PKCS#8 PEM). Must not exist.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Kind {
    User,
    ApiClient,
    System,
}

/// Runs `palisade audit`.
pub fn run(args: Args) -> CliOutcome {
    match *args.command {
        AuditCommand::Verify { files, public_keys, allow_missing_head, require_checkpoint, json } => {
            let mut verifier =
                Verifier::new().allow_missing_head(allow_missing_head).require_checkpoint(require_checkpoint);
            for k in &public_keys {
                verifier = verifier.with_key(load_public_key(k)?);
            }
            let report = verifier.verify_files(&files)?;
            emit(json, &report, || {
                let mut out = String::new();
                match &report.problem {
                    None => {
                        let n: u64 = report.tenants.iter().map(|t| t.entries).sum();
                        out.push_str(&format!(
                            "intact: {n} entries in {} tenant log(s)\n",
                            report.tenants.len()
                        ));
                        for t in &report.tenants {
                            out.push_str(&format!(
                                "  {}: entries {}..{}, {} checkpoint(s) verified\n",
                                t.tenant,
                                t.first_seq.unwrap_or(0),
                                t.last_seq.unwrap_or(0),
                                t.checkpoints_verified
                            ));
                        }
                    }
                    Some(p) => out.push_str(&format!("TAMPERED: {p}\n")),
                }
                for w in &report.warnings {
                    out.push_str(&format!("warning: {w}\n"));
                }
                out
            })?;
            if let Some(p) = &report.problem
                && json
            {
                eprintln!("palisade: audit log tampered: {p}");
            }
            Ok(if report.intact { Verdict::Pass } else { Verdict::Fail })
        }
        AuditCommand::Query {
            dir,
            tenant,
            since,
            until,
            action,
            actor,
            limit,
            cursor,
            ocsf: as_ocsf,
            json,
        } => {
            let tenant: TenantId = tenant.parse().context("--tenant")?;
            if !dir.is_dir() {
                bail!("{} is not a directory (give the audit store directory)", dir.display());
            }
            let now = OffsetDateTime::now_utc();
            let mut q = Query::new(tenant.clone()).limit(limit);
            if let Some(s) = since {
                q = q.since(parse_time(&s, now).context("--since")?);
            }
            if let Some(u) = until {
                q = q.until(parse_time(&u, now).context("--until")?);
            }
            if let Some(a) = action {
                q = q.action_prefix(a);
            }
            if let Some(a) = actor {
                q = q.actor(a);
            }
            if let Some(c) = cursor {
                q = q.after(c.parse::<Cursor>()?);
            }
            let page = FileAuditStore::query_dir(&dir, &q)?;
            let events: Vec<serde_json::Value> = page
                .entries
                .iter()
                .map(|e| {
                    if as_ocsf {
                        ocsf::to_ocsf(&e.event, Some(e.seq))
                    } else {
                        json!({"seq": e.seq, "hash": e.hash, "event": e.event})
                    }
                })
                .collect();
            let doc = json!({"tenant": tenant.as_str(), "count": events.len(), "events": events, "next_cursor": page.next.map(|c| c.to_string())});
            emit(json, &doc, || {
                let mut out = String::new();
                for e in &page.entries {
                    let ev = &e.event;
                    let ts = ev.ts.format(&Rfc3339).unwrap_or_default();
                    let target =
                        ev.target.as_ref().map(|t| format!(" {}:{}", t.kind, t.id)).unwrap_or_default();
                    let outcome = match &ev.outcome {
                        Outcome::Success => "success".to_owned(),
                        Outcome::Failure { reason: Some(r) } => format!("failure ({r})"),
                        Outcome::Failure { reason: None } => "failure".to_owned(),
                    };
                    out.push_str(&format!(
                        "{:>6} {ts} {} {}{target} {outcome}\n",
                        e.seq, ev.actor.id, ev.action
                    ));
                }
                if page.entries.is_empty() {
                    out.push_str("no matching events\n");
                }
                if let Some(c) = page.next {
                    out.push_str(&format!("more: --cursor {c}\n"));
                }
                out
            })?;
            Ok(Verdict::Pass)
        }
        AuditCommand::Append {
            dir,
            tenant,
            actor,
            actor_kind,
            action,
            target,
            target_name,
            outcome,
            reason,
            request_id,
            ip,
            user_agent,
            details,
            signing_key,
            no_checkpoint,
            json,
        } => {
            let tenant: TenantId = tenant.parse().context("--tenant")?;
            let kind = match actor_kind {
                Kind::User => ActorKind::User,
                Kind::ApiClient => ActorKind::ApiClient,
                Kind::System => ActorKind::System,
            };
            let mut actor = Actor { kind, id: actor, ip, user_agent: None };
            actor.user_agent = user_agent;
            let mut event = AuditEvent::new(&SystemClock, tenant.clone(), actor, &action)?;
            if let Some(t) = target {
                let Some((ty, id)) = t.split_once(':') else { bail!("--target must be TYPE:ID, got {t:?}") };
                if ty.is_empty() || id.is_empty() {
                    bail!("--target must be TYPE:ID with both parts non-empty, got {t:?}");
                }
                let mut target = Target::new(ty, id);
                target.name = target_name;
                event = event.with_target(target);
            }
            event = event.with_outcome(parse_outcome(&outcome, reason)?);
            if let Some(r) = request_id {
                event = event.with_request_id(r);
            }
            if let Some(d) = details {
                let v: serde_json::Value = serde_json::from_str(&d).context("--details is not JSON")?;
                event = event.with_details(v);
            }
            let key_path = match &signing_key {
                Some(path) => Some(path.clone()),
                None if no_checkpoint => None,
                None => {
                    let local = dir.join(".checkpoint-key.pem");
                    if !local.exists() {
                        std::fs::create_dir_all(&dir)
                            .with_context(|| format!("creating {}", dir.display()))?;
                        let signer = Ed25519Signer::generate()?;
                        write_private(&local, signer.to_pkcs8_pem()?.expose_secret().as_bytes())?;
                        std::fs::write(dir.join(".checkpoint-key.pub.pem"), signer.verifying_key().to_pem())?;
                    }
                    Some(local)
                }
            };
            let checkpointing = match &key_path {
                Some(path) => {
                    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                    let signer = Ed25519Signer::from_private_key(&data)?;
                    Some(Checkpointing { signer: Arc::new(signer), policy: Default::default() })
                }
                None => None,
            };
            let store =
                FileAuditStore::open(&dir, FileStoreConfig::default(), Arc::new(SystemClock), checkpointing)?;
            let stored = store.append_blocking(vec![event])?;
            let entry = stored.into_iter().next().context("the store returned no entry")?;
            let checkpoint =
                if key_path.is_some() { store.checkpoint_blocking(&tenant)?.map(|h| h.seq) } else { None };
            drop(store);
            let doc = json!({"tenant": tenant.as_str(), "seq": entry.seq, "hash": entry.hash, "id": entry.event.id.to_string(), "checkpoint_seq": checkpoint});
            emit(json, &doc, || {
                format!(
                    "appended entry {} to tenant {tenant} (id {}, hash {})",
                    entry.seq, entry.event.id, entry.hash
                )
            })?;
            Ok(Verdict::Pass)
        }
        AuditCommand::Keygen { out } => {
            let signer = Ed25519Signer::generate()?;
            let pem = signer.to_pkcs8_pem()?;
            write_private(&out, pem.expose_secret().as_bytes())?;
            print!("{}", signer.verifying_key().to_pem());
            Ok(Verdict::Pass)
        }
    }
}

fn write_private(path: &std::path::Path, data: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    Ok(())
}

fn load_public_key(arg: &str) -> anyhow::Result<VerifyingKey> {
    let path = std::path::Path::new(arg);
    if path.is_file() {
        let data = std::fs::read(path).with_context(|| format!("reading {arg}"))?;
        return VerifyingKey::parse(&data).with_context(|| format!("--public-key {arg}"));
    }
    VerifyingKey::parse(arg.as_bytes())
        .with_context(|| format!("--public-key {arg:?} is neither a key file nor a key"))
}

fn parse_outcome(s: &str, reason: Option<String>) -> anyhow::Result<Outcome> {
    let (kind, inline) = match s.split_once(':') {
        Some((k, r)) => (k, Some(r.to_owned())),
        None => (s, None),
    };
    match kind.to_ascii_lowercase().as_str() {
        "success" | "succeeded" | "ok" => {
            if inline.is_some() || reason.is_some() {
                bail!("a reason goes with --outcome failure only");
            }
            Ok(Outcome::Success)
        }
        "failure" | "failed" | "fail" => Ok(Outcome::Failure { reason: inline.or(reason) }),
        other => bail!("--outcome must be success, failure or failure:REASON, got {other:?}"),
    }
}

fn parse_time(s: &str, now: OffsetDateTime) -> anyhow::Result<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let date_fmt = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(s, &date_fmt) {
        return Ok(d.midnight().assume_utc());
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().map_err(|_| {
        anyhow::anyhow!("{s:?} is not an RFC 3339 time, a YYYY-MM-DD date or an age like 24h")
    })?;
    let d = match unit {
        "s" => time::Duration::seconds(n),
        "m" => time::Duration::minutes(n),
        "h" => time::Duration::hours(n),
        "d" => time::Duration::days(n),
        "w" => time::Duration::weeks(n),
        _ => bail!("{s:?}: the unit of an age is s, m, h, d or w"),
    };
    Ok(now - d)
}
