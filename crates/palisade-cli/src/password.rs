//! `palisade password check|hash|verify`: judge a password against a policy, hash it with
//! Argon2id, verify it against a stored hash.
//!
//! The password is always read from stdin. Exactly one trailing line ending ("\n" or "\r\n") is
//! removed, so `echo pw |` and `printf pw |` give the same password; any other whitespace is
//! part of the password. Input must be UTF-8 (exit 2 otherwise) and at most 16 MiB.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use palisade::core::{SecretBytes, SecretString};
use palisade::password::{Context, HashParams, Hasher, HibpList, Pepper, Policy, Violation};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::output::{Outcome, Verdict, emit};

const MAX_STDIN: u64 = 16 * 1024 * 1024;

/// Arguments of `palisade password`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The password is read from stdin. Exactly one trailing line ending (\\n or \\r\\n) is \
removed, so `echo pw |` and `printf pw |` agree; all other characters, spaces included, are part \
of the password. Input must be UTF-8."
)]
pub struct Args {
    #[command(subcommand)]
    command: PasswordCommand,
}

#[derive(Debug, clap::Args)]
struct CostArgs {
    /// Argon2id memory cost in KiB (default: OWASP's 19456).
    #[arg(long, value_name = "M", default_value_t = HashParams::OWASP.memory_kib)]
    memory_kib: u32,
    /// Argon2id passes (default: 2).
    #[arg(long, value_name = "T", default_value_t = HashParams::OWASP.iterations)]
    iterations: u32,
    /// Argon2id lanes (default: 1).
    #[arg(long, value_name = "P", default_value_t = HashParams::OWASP.parallelism)]
    parallelism: u32,
    /// A file holding the pepper (Argon2 secret key, raw bytes, at least 16); needs --pepper-id.
    #[arg(long, value_name = "FILE", requires = "pepper_id")]
    pepper_file: Option<PathBuf>,
    /// The pepper's id (1-8 bytes), written in hashes as the PHC `keyid`.
    #[arg(long, value_name = "ID", requires = "pepper_file")]
    pepper_id: Option<String>,
}

impl CostArgs {
    fn hasher(&self) -> anyhow::Result<Hasher> {
        let params = HashParams {
            memory_kib: self.memory_kib,
            iterations: self.iterations,
            parallelism: self.parallelism,
            ..HashParams::OWASP
        };
        let hasher = Hasher::new(params)?;
        match (&self.pepper_file, &self.pepper_id) {
            (Some(file), Some(id)) => {
                let key = Zeroizing::new(
                    std::fs::read(file)
                        .with_context(|| format!("reading the pepper from {}", file.display()))?,
                );
                let pepper = Pepper::new(id.as_bytes(), SecretBytes::from_slice(&key))?;
                Ok(hasher.with_pepper(pepper))
            }
            _ => Ok(hasher),
        }
    }
}

#[derive(Debug, clap::Subcommand)]
enum PasswordCommand {
    /// Judge the password on stdin against a policy: exit 0 if acceptable, 1 with every violation.
    Check {
        /// A policy file (.toml or .json) or a preset: `nist` (NIST SP 800-63B-4, the default), `nist-mfa`
        /// (the same with 8 characters minimum, for passwords used only with a second factor) or
        /// `enterprise`.
        #[arg(long, value_name = "FILE|nist|enterprise")]
        policy: String,
        /// The account's username (the password may not contain it).
        #[arg(long, value_name = "U")]
        username: Option<String>,
        /// The account's e-mail address (the password may not contain its local part).
        #[arg(long, value_name = "E")]
        email: Option<String>,
        /// More words specific to the user or organization, for the strength estimate.
        #[arg(long, value_name = "WORD")]
        word: Vec<String>,
        /// A breached-password list in Have I Been Pwned's `SHA1:COUNT` format.
        #[arg(long, value_name = "FILE")]
        breached: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Hash the password on stdin with Argon2id and print the PHC string.
    Hash {
        #[command(flatten)]
        cost: CostArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify the password on stdin against a stored hash: exit 0 on match, 1 on mismatch.
    ///
    /// Accepts Argon2id/Argon2i/Argon2d PHC strings, bcrypt ($2a$, $2b$, $2y$, $2x$) and
    /// PBKDF2-SHA256/SHA512 (PHC, passlib and Django forms). Reports whether the hash should be
    /// replaced by one with the given (default: OWASP) Argon2id parameters.
    Verify {
        /// The stored hash.
        #[arg(long = "hash", value_name = "PHC")]
        stored: String,
        #[command(flatten)]
        cost: CostArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Reads the password from stdin, removing one trailing "\n" or "\r\n".
fn read_password() -> anyhow::Result<SecretString> {
    let mut buf = Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .take(MAX_STDIN + 1)
        .read_to_end(&mut buf)
        .context("reading the password from stdin")?;
    if buf.len() as u64 > MAX_STDIN {
        bail!("the password on stdin is longer than {MAX_STDIN} bytes");
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    let text = std::str::from_utf8(&buf).map_err(|e| {
        anyhow::anyhow!(
            "the password on stdin is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        )
    })?;
    Ok(SecretString::from(text))
}

fn load_policy(spec: &str) -> anyhow::Result<Policy> {
    let path = Path::new(spec);
    if !path.exists() {
        if let Some(p) = Policy::preset(spec) {
            return Ok(p);
        }
        bail!("--policy {spec:?}: no such file, and not a preset (use nist, nist-mfa or enterprise)");
    }
    Ok(Policy::from_path(path)?)
}

#[derive(Serialize)]
struct CheckReport<'a> {
    acceptable: bool,
    /// Same as `acceptable`, named like `palisade id check`'s field.
    valid: bool,
    policy: &'a str,
    violations: Vec<Violation>,
}

#[derive(Serialize)]
struct VerifyReport {
    #[serde(rename = "match")]
    matched: bool,
    needs_rehash: bool,
    scheme: &'static str,
}

/// Runs `palisade password`.
pub fn run(args: Args) -> Outcome {
    match args.command {
        PasswordCommand::Check { policy, username, email, word, breached, json } => {
            let pol = load_policy(&policy)?;
            let list = match &breached {
                Some(p) => Some(HibpList::from_path(p, 1)?),
                None => None,
            };
            let password = read_password()?;
            let mut ctx = Context::new();
            ctx.username = username.as_deref();
            ctx.email = email.as_deref();
            ctx.words = word.iter().map(String::as_str).collect();
            if let Some(l) = &list {
                ctx = ctx.breached(l);
            }
            let violations = pol.validate(&password, &ctx).err().map(|v| v.into_vec()).unwrap_or_default();
            let report = CheckReport {
                acceptable: violations.is_empty(),
                valid: violations.is_empty(),
                policy: &policy,
                violations,
            };
            emit(json, &report, || {
                if report.acceptable {
                    "acceptable".to_owned()
                } else {
                    let mut s = format!("rejected: {} violation(s)", report.violations.len());
                    for v in &report.violations {
                        s.push_str(&format!("\n  {}: the password {}", v.code, v.message));
                    }
                    s
                }
            })?;
            Ok(if report.acceptable { Verdict::Pass } else { Verdict::Fail })
        }
        PasswordCommand::Hash { cost, json } => {
            let hasher = cost.hasher()?;
            let password = read_password()?;
            let phc = hasher.hash(&password)?;
            emit(json, &serde_json::json!({ "hash": phc }), || phc.clone())?;
            Ok(Verdict::Pass)
        }
        PasswordCommand::Verify { stored, cost, json } => {
            let hasher = cost.hasher()?;
            let password = read_password()?;
            let v = hasher.verify(&password, &stored)?;
            let report =
                VerifyReport { matched: v.matched, needs_rehash: v.needs_rehash, scheme: v.scheme.as_str() };
            emit(json, &report, || {
                let verdict = if v.matched { "match" } else { "mismatch" };
                let rehash = if v.needs_rehash { "yes" } else { "no" };
                format!("{verdict} ({}); rehash needed: {rehash}", report.scheme)
            })?;
            Ok(if v.matched { Verdict::Pass } else { Verdict::Fail })
        }
    }
}
