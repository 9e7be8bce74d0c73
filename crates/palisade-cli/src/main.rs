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

mod audit;
mod egress;
mod id;
mod ip;
mod keys;
mod mask;
mod oidc;
mod output;
mod password;
mod rbac;
mod retention;
mod saml;
mod totp;

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
    /// Verify, query and append to tamper-evident audit logs.
    Audit(audit::Args),
    /// Outbound allowlists: decide whether a request to a URL may go (SSRF protection).
    Egress(egress::Args),
    /// Validate tenant, user and environment ids.
    Id(id::Args),
    /// IP allowlists: decide whether a client address is allowed.
    Ip(ip::Args),
    /// Check passwords against a policy, hash them with Argon2id, verify stored hashes.
    Password(password::Args),
    /// Role-based access control: check and list against a policy file.
    Rbac(rbac::Args),
    /// Two-factor authentication with authenticator apps: enroll, code, verify.
    Totp(totp::Args),
    /// SAML 2.0 service provider: verify responses, print SP metadata, build AuthnRequests.
    Saml(saml::Args),
    /// Tenant key management: create, rotate, disable, destroy keys; encrypt and decrypt.
    Keys(keys::Args),
    /// OpenID Connect: inspect a provider, verify ID tokens.
    Oidc(oidc::Args),
    /// Mask a JSON document or text before it is displayed or stored.
    Mask(mask::Args),
    /// Retention: plan and run purges of a SQLite job-history table.
    Retention(retention::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Audit(args) => audit::run(args),
        Command::Egress(args) => egress::run(args),
        Command::Id(args) => id::run(args),
        Command::Ip(args) => ip::run(args),
        Command::Password(args) => password::run(args),
        Command::Rbac(args) => rbac::run(args),
        Command::Totp(args) => totp::run(args),
        Command::Saml(args) => saml::run(args),
        Command::Keys(args) => keys::run(args),
        Command::Oidc(args) => oidc::run(args),
        Command::Mask(args) => mask::run(args),
        Command::Retention(args) => retention::run(args),
    };
    output::finish(result)
}
