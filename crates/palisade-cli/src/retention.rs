//! `palisade retention plan|run`: what retention would delete from a SQLite job-history table, and
//! deleting it.

use std::path::PathBuf;

use anyhow::Context;
use palisade::core::SystemClock;
use palisade::retention::{Policy, PurgeEngine, PurgeOptions, PurgeSummary, SqliteStore};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::output::{Outcome, Verdict, emit};

/// Arguments of `palisade retention`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: RetentionCommand,
}

/// Flags shared by `plan` and `run`.
#[derive(Debug, clap::Args)]
struct Common {
    /// The retention policy (TOML, or JSON when the name ends in .json).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// The SQLite database holding the `job_history` table.
    #[arg(long, value_name = "SQLITE_FILE")]
    db: PathBuf,
    /// Measure periods from this instant (RFC 3339) instead of the current time.
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Records examined per batch.
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
}

#[derive(Debug, clap::Subcommand)]
enum RetentionCommand {
    /// Dry run: what would be deleted, per tenant and class (count, oldest, newest). Changes
    /// nothing. Exit 0, or 2 on bad input.
    Plan(Common),
    /// Deletes what the policy says must go and prints the summary. Exit 0 when complete, 1 when
    /// some batch kept failing (the store is left consistent; run again to resume), 2 on bad input.
    Run {
        #[command(flatten)]
        common: Common,
        /// The run id; an interrupted run with the same id resumes (with its original --now).
        #[arg(long, default_value = "palisade-cli")]
        run_id: String,
        /// At most this many rows deleted per second.
        #[arg(long)]
        max_rows_per_second: Option<u32>,
    },
}

fn parse_now(now: Option<&str>) -> anyhow::Result<OffsetDateTime> {
    match now {
        Some(s) => OffsetDateTime::parse(s, &Rfc3339)
            .with_context(|| format!("--now {s:?} is not an RFC 3339 timestamp")),
        None => Ok(OffsetDateTime::now_utc()),
    }
}

fn fmt_ts(t: Option<OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_else(|| "-".into())
}

fn human(s: &PurgeSummary) -> String {
    let verb = if s.dry_run { "would delete" } else { "deleted" };
    let mut out = format!(
        "{} at {}: {verb} {} record(s){}{}\n",
        if s.dry_run { "plan" } else { "run" },
        fmt_ts(Some(s.now)),
        s.total_deleted,
        if s.resumed { " (resumed)" } else { "" },
        if s.cancelled { " (cancelled)" } else { "" },
    );
    for sc in &s.scopes {
        out.push_str(&format!(
            "  {} / {}: period {}, cutoff {}, {verb} {} (oldest {}, newest {}), held {}, needed {}{}{}\n",
            sc.tenant,
            sc.class,
            sc.period.as_deref().unwrap_or("none (no plan: kept)"),
            fmt_ts(sc.cutoff),
            sc.deleted,
            fmt_ts(sc.oldest),
            fmt_ts(sc.newest),
            sc.kept_held,
            sc.kept_needed,
            sc.held_by.as_ref().map(|h| format!(", under legal hold {h}")).unwrap_or_default(),
            sc.error.as_ref().map(|e| format!(", FAILED: {e}")).unwrap_or_default(),
        ));
    }
    for k in &s.keys_destroyed {
        out.push_str(&format!(
            "  key {} ({} / {}) {}\n",
            k.key_id,
            k.tenant,
            k.class,
            if s.dry_run { "would be destroyed" } else { "destroyed" }
        ));
    }
    out
}

async fn exec(cmd: RetentionCommand) -> Outcome {
    let (common, run) = match cmd {
        RetentionCommand::Plan(c) => (c, None),
        RetentionCommand::Run { common, run_id, max_rows_per_second } => {
            (common, Some((run_id, max_rows_per_second)))
        }
    };
    let now = parse_now(common.now.as_deref())?;
    let policy = Policy::load(&common.policy)?;
    if !common.db.is_file() {
        anyhow::bail!("--db {}: no such file", common.db.display());
    }
    let store = SqliteStore::open(&common.db)?;
    let clock = SystemClock;
    let engine = PurgeEngine::new(&policy, &store, &clock);
    let summary = match run {
        None => engine.plan(now, common.batch_size).await?,
        Some((run_id, max_rows_per_second)) => {
            let opts = PurgeOptions {
                run_id,
                batch_size: common.batch_size,
                max_rows_per_second,
                ..PurgeOptions::default()
            };
            engine.run(now, &opts, None, None).await?
        }
    };
    emit(common.json, &summary, || human(&summary))?;
    Ok(if summary.dry_run || summary.is_complete() { Verdict::Pass } else { Verdict::Fail })
}

/// Runs `palisade retention`.
pub fn run(args: Args) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(exec(args.command))
}
