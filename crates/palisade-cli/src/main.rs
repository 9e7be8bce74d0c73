//! `palisade`: inspect and operate palisade's capabilities from a shell.
//!
//! Conventions of every subcommand:
//! * `--json` prints one machine-readable JSON document on stdout; without it the output is for
//!   people;
//! * errors go to stderr;
//! * exit code 0 = success / valid, 1 = the input was judged invalid or rejected, 2 = usage or
//!   I/O error;
//! * secrets (passwords, codes, keys) are read from stdin or a file, never from the command line.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod id;
mod ip;
mod output;
mod retention;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use output::{Outcome, Verdict};

/// Inspect and operate palisade's security capabilities.
#[derive(Debug, Parser)]
#[command(name = "palisade", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate tenant, user and environment ids.
    Id(id::Args),
    /// IP allowlists: decide whether a client address is allowed.
    Ip(ip::Args),
    /// Retention: plan and run purges of a SQLite job-history table.
    Retention(retention::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Id(args) => id::run(args),
        Command::Ip(args) => ip::run(args),
        Command::Retention(args) => retention::run(args),
    };
    output::finish(result)
}
