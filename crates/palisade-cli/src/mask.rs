//! `palisade mask`: mask a JSON document or a text before it is displayed or stored.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use palisade::mask::{Masker, Policy, PseudonymKey, ReportEntry, StreamLimits};

use crate::output::{Outcome, Verdict};

/// Arguments of `palisade mask`.
///
/// Masked output goes to stdout, alone; with `--report`, the report (paths and rule names, never
/// values) goes to stderr as one JSON document `{"masked":[{"path":..,"rule":..}]}`, written as
/// entries come. Exit 0 = masked, 2 = bad policy, key or input: malformed input is reported on
/// stderr with its byte offset, and any partial output on stdout must then be discarded.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy: a JSON or TOML file (by extension; other names are tried as JSON then TOML),
    /// or `default` for the built-in one (default field names, every detector, redact).
    #[arg(long, value_name = "FILE|default")]
    policy: String,
    /// The tenant's pseudonym key (raw bytes of the file, at least 16), for the pseudonym operator.
    #[arg(long, value_name = "F")]
    key_file: Option<PathBuf>,
    /// Treat the input as plain text (log lines): mask what the detectors find and values
    /// named by a sensitive key (`password=…`, `Authorization: …`).
    #[arg(long)]
    text: bool,
    /// Print what was masked (paths and rule names, as JSON) on stderr; stdout keeps only the
    /// masked output.
    #[arg(long)]
    report: bool,
    /// The longest token (string, number, text line, PEM block) held whole to decide masking;
    /// longer ones fail with exit 2.
    #[arg(long, value_name = "BYTES", default_value_t = StreamLimits::default().max_token_bytes)]
    max_token_bytes: usize,
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

/// Remembers the last byte written, to end the output with a newline.
struct Tracking<W> {
    inner: W,
    last: Option<u8>,
}

impl<W: Write> Write for Tracking<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(&b) = buf.get(..n).and_then(<[u8]>::last) {
            self.last = Some(b);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the report on stderr as it grows: `{"masked":[{"path":..,"rule":..},...]}`.
struct ReportWriter {
    out: std::io::BufWriter<std::io::Stderr>,
    count: u64,
    failed: bool,
}

impl ReportWriter {
    fn entry(&mut self, entry: &ReportEntry) {
        let sep: &[u8] = if self.count == 0 { b"{\"masked\":[" } else { b"," };
        self.count += 1;
        let ok = self.out.write_all(sep).is_ok() && serde_json::to_writer(&mut self.out, entry).is_ok();
        self.failed |= !ok;
    }

    fn close(mut self) -> anyhow::Result<()> {
        let end: &[u8] = if self.count == 0 { b"{\"masked\":[]}\n" } else { b"]}\n" };
        if self.failed || self.out.write_all(end).is_err() || self.out.flush().is_err() {
            anyhow::bail!("cannot write the report on stderr");
        }
        Ok(())
    }
}

/// Runs `palisade mask`.
///
/// The input is streamed (never read whole): the masked output is written to stdout as it is
/// produced, in blocks of 64 KiB. On malformed input (or a token over `--max-token-bytes`) the
/// command exits 2 with the byte offset on stderr, and whatever reached stdout is an incomplete
/// document that must be discarded (an output shorter than 64 KiB never reaches stdout).
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
    let limits = StreamLimits { max_token_bytes: args.max_token_bytes, ..StreamLimits::default() };
    let input: Box<dyn Read> = match &args.input {
        Some(p) => Box::new(std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?),
        None => Box::new(std::io::stdin().lock()),
    };
    let mut stdout = Tracking { inner: std::io::stdout().lock(), last: None };
    let mut report = args.report.then(|| ReportWriter {
        out: std::io::BufWriter::new(std::io::stderr()),
        count: 0,
        failed: false,
    });
    let on_masked = |e: ReportEntry| {
        if let Some(r) = report.as_mut() {
            r.entry(&e);
        }
    };
    let result = if args.text {
        masker.mask_text_stream(input, &mut stdout, &limits, on_masked)
    } else {
        masker.mask_json_stream(input, &mut stdout, &limits, on_masked)
    };
    let report_done = report.map(ReportWriter::close).transpose();
    if let Err(e) = result {
        let stdout_note = if stdout.last.is_some() {
            "; the partial output already written to stdout is incomplete: discard it"
        } else {
            "; nothing was written to stdout"
        };
        anyhow::bail!("{e}{stdout_note}");
    }
    report_done?;
    if stdout.last.is_some_and(|b| b != b'\n') {
        writeln!(stdout)?;
    }
    stdout.flush()?;
    Ok(Verdict::Pass)
}
