//! `palisade mask`: mask a JSON document or a text before it is displayed or stored.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use palisade::mask::{Masker, Policy, PseudonymKey, Report};

use crate::output::{Outcome, Verdict};

/// Arguments of `palisade mask`.
///
/// Masked output goes to stdout; with `--report`, the report (paths and rule names, never values)
/// goes to stderr as one JSON document. Exit 0 = masked, 2 = bad policy, key or input (malformed
/// JSON is reported with its byte offset, and nothing is printed on stdout).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy: a JSON or TOML file (by extension; other names are tried as JSON then TOML),
    /// or `default` for the built-in one (default field names, every detector, redact).
    #[arg(long, value_name = "FILE|default")]
    policy: String,
    /// The tenant's pseudonym key (raw bytes of the file, at least 16), for the pseudonym operator.
    #[arg(long, value_name = "F")]
    key_file: Option<PathBuf>,
    /// Treat the input as plain text (log lines) and mask it with the detectors.
    #[arg(long)]
    text: bool,
    /// Print what was masked (paths and rule names) on stderr.
    #[arg(long)]
    report: bool,
    /// The input file; stdin when absent.
    #[arg(value_name = "INPUT")]
    input: Option<PathBuf>,
}

fn load_policy(spec: &str) -> anyhow::Result<Policy> {
    if spec == "default" {
        return Ok(Policy::builtin());
    }
    let path = Path::new(spec);
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read policy {spec}"))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let policy: Policy = match ext {
        "toml" => toml::from_str(&text).with_context(|| format!("policy {spec}"))?,
        "json" => serde_json::from_str(&text).with_context(|| format!("policy {spec}"))?,
        _ => match serde_json::from_str(&text) {
            Ok(p) => p,
            Err(_) => {
                toml::from_str(&text).with_context(|| format!("policy {spec} (neither JSON nor TOML)"))?
            }
        },
    };
    Ok(policy)
}

/// Runs `palisade mask`.
pub fn run(args: Args) -> Outcome {
    let policy = load_policy(&args.policy)?;
    let key = match &args.key_file {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("cannot read key file {}", p.display()))?;
            Some(PseudonymKey::new(&bytes)?)
        }
        None => None,
    };
    let masker = Masker::new(policy, key)?;
    let mut input = Vec::new();
    match &args.input {
        Some(p) => {
            input = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        }
        None => {
            std::io::stdin().read_to_end(&mut input).context("cannot read stdin")?;
        }
    }
    let (output, report): (Vec<u8>, Report) = if args.text {
        let text = String::from_utf8(input).map_err(|e| {
            anyhow::anyhow!("input is not UTF-8 text (byte offset {})", e.utf8_error().valid_up_to())
        })?;
        let (masked, report) = masker.mask_text(&text);
        (masked.into_inner().into_bytes(), report)
    } else {
        let mut out = Vec::with_capacity(input.len());
        let report = masker.mask_json(&input, &mut out)?;
        (out, report)
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&output)?;
    if !output.ends_with(b"\n") {
        writeln!(stdout)?;
    }
    stdout.flush()?;
    if args.report {
        eprintln!("{}", serde_json::to_string(&report)?);
    }
    Ok(Verdict::Pass)
}
