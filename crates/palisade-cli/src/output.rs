//! How every subcommand ends: a verdict (exit 0 or 1) or an error (exit 2), and how it prints.

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

/// The judgement a subcommand reached on its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid, allowed, verified: exit 0.
    Pass,
    /// Invalid, denied, rejected: exit 1.
    Fail,
}

/// What a subcommand returns: a verdict, or an error that exits with 2.
pub type Outcome = anyhow::Result<Verdict>;

/// Prints `value` as JSON when `json` is set, else prints `human`.
pub fn emit<T: Serialize>(json: bool, value: &T, human: impl FnOnce() -> String) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
    } else {
        let text = human();
        if text.ends_with('\n') {
            write!(out, "{text}")?;
        } else {
            writeln!(out, "{text}")?;
        }
    }
    Ok(())
}

/// Turns a subcommand's outcome into the process exit code, printing errors on stderr.
pub fn finish(result: Outcome) -> ExitCode {
    match result {
        Ok(Verdict::Pass) => ExitCode::from(0),
        Ok(Verdict::Fail) => ExitCode::from(1),
        Err(e) => {
            eprintln!("palisade: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
