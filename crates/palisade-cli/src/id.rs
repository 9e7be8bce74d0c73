//! `palisade id check`: is this a valid tenant, user or environment id?

use clap::ValueEnum;
use palisade::core::{EnvironmentId, IdError, TenantId, UserId};
use serde::Serialize;

use crate::output::{Outcome, Verdict, emit};

/// Arguments of `palisade id`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: IdCommand,
}

#[derive(Debug, clap::Subcommand)]
enum IdCommand {
    /// Check that VALUE is a valid id of the given kind: exit 0 if valid, 1 with the reason.
    Check {
        /// Which kind of id.
        #[arg(long, value_enum)]
        kind: Kind,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The id to check.
        value: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    Tenant,
    User,
    Environment,
}

#[derive(Serialize)]
struct Report<'a> {
    value: &'a str,
    kind: &'static str,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Runs `palisade id`.
pub fn run(args: Args) -> Outcome {
    match args.command {
        IdCommand::Check { kind, json, value } => {
            let (kind_name, result): (&str, Result<(), IdError>) = match kind {
                Kind::Tenant => ("tenant", TenantId::new(value.as_str()).map(drop)),
                Kind::User => ("user", UserId::new(value.as_str()).map(drop)),
                Kind::Environment => ("environment", EnvironmentId::new(value.as_str()).map(drop)),
            };
            let report = Report {
                value: &value,
                kind: kind_name,
                valid: result.is_ok(),
                error: result.err().map(|e| e.to_string()),
            };
            emit(json, &report, || match &report.error {
                None => format!("valid {kind_name} id: {value}"),
                Some(e) => format!("invalid: {e}"),
            })?;
            Ok(if report.valid { Verdict::Pass } else { Verdict::Fail })
        }
    }
}
