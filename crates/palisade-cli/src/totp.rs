//! `palisade totp enroll|code|verify`: authenticator-app secrets, codes and verification.
//!
//! The secret of `code` and `verify` is read from stdin, or from `--secret-file`, never from the
//! command line: base32 as apps and tools show it (any case, padding optional, spaces and dashes
//! ignored), or a whole `otpauth://totp/...` key URI, whose algorithm, digits and period are used
//! unless a flag overrides them. `--secret-encoding hex|ascii` reads raw keys instead (as in the
//! RFC test vectors).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::ValueEnum;
use palisade::core::{Clock, SecretBytes, SystemClock};
use palisade::totp::{Algorithm, KeyUri, Totp, TotpParams, qr, secret};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::output::{Outcome, Verdict, emit};

/// The widest `--skew` accepted, in steps each side.
const MAX_CLI_SKEW: u32 = 100;
/// The largest secret input read, in bytes.
const MAX_INPUT: u64 = 64 * 1024;

/// Arguments of `palisade totp`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: TotpCommand,
}

#[derive(Debug, clap::Args)]
struct ParamArgs {
    /// HMAC algorithm [default: sha1, or the key URI's].
    #[arg(long, value_enum, ignore_case = true)]
    algorithm: Option<AlgorithmArg>,
    /// Digits per code, 6 to 8 [default: 6, or the key URI's].
    #[arg(long, value_parser = clap::value_parser!(u8).range(6..=8))]
    digits: Option<u8>,
    /// Time step in seconds [default: 30, or the key URI's].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3600))]
    period: Option<u32>,
}

#[derive(Debug, clap::Args)]
struct SecretArgs {
    /// Read the secret from FILE instead of stdin.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// How the secret is written.
    #[arg(long, value_enum, ignore_case = true, default_value_t = SecretEncoding::Base32)]
    secret_encoding: SecretEncoding,
}

#[derive(Debug, clap::Subcommand)]
enum TotpCommand {
    /// Generate a 160-bit secret and print it (base32) and its otpauth:// key URI; optionally
    /// write the QR code as PNG and/or SVG.
    Enroll {
        /// Service name shown in the app.
        #[arg(long)]
        issuer: String,
        /// Account name shown in the app (usually the e-mail address).
        #[arg(long)]
        account: String,
        /// Write the QR code as a PNG to FILE (created with mode 0600: it holds the secret).
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
        /// Write the QR code as an SVG to FILE (mode 0600).
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// Pixels per QR module in the PNG.
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=32))]
        scale: u32,
        #[command(flatten)]
        params: ParamArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the code for the secret on stdin (or --secret-file) at --at (default: now).
    Code {
        /// Unix time in seconds [default: now].
        #[arg(long, value_name = "UNIX_SECONDS", allow_negative_numbers = true)]
        at: Option<i64>,
        #[command(flatten)]
        params: ParamArgs,
        #[command(flatten)]
        secret: SecretArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a code for the secret on stdin (or --secret-file): exit 0 and print the matched
    /// time step, or exit 1.
    Verify {
        /// The code to check.
        #[arg(long)]
        code: String,
        /// Unix time in seconds [default: now].
        #[arg(long, value_name = "UNIX_SECONDS", allow_negative_numbers = true)]
        at: Option<i64>,
        /// Steps accepted either side of the current one.
        #[arg(long, default_value_t = 1)]
        skew: u32,
        /// The last step already accepted for this user: it and earlier steps are refused (replay).
        #[arg(long, value_name = "S")]
        last_step: Option<u64>,
        #[command(flatten)]
        params: ParamArgs,
        #[command(flatten)]
        secret: SecretArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AlgorithmArg {
    #[value(alias = "sha-1")]
    Sha1,
    #[value(alias = "sha-256")]
    Sha256,
    #[value(alias = "sha-512")]
    Sha512,
}

impl From<AlgorithmArg> for Algorithm {
    fn from(a: AlgorithmArg) -> Self {
        match a {
            AlgorithmArg::Sha1 => Algorithm::Sha1,
            AlgorithmArg::Sha256 => Algorithm::Sha256,
            AlgorithmArg::Sha512 => Algorithm::Sha512,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SecretEncoding {
    /// Base32 (or an otpauth:// key URI).
    Base32,
    /// Hexadecimal.
    Hex,
    /// The bytes as given (a trailing newline is dropped).
    Ascii,
}

impl ParamArgs {
    fn apply(&self, base: TotpParams) -> TotpParams {
        TotpParams {
            algorithm: self.algorithm.map_or(base.algorithm, Algorithm::from),
            digits: self.digits.unwrap_or(base.digits),
            period: self.period.unwrap_or(base.period),
        }
    }
}

fn read_input(args: &SecretArgs) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    match &args.secret_file {
        Some(path) => {
            std::fs::File::open(path)
                .with_context(|| format!("cannot open the secret file {}", path.display()))?
                .take(MAX_INPUT)
                .read_to_end(&mut buf)
                .with_context(|| format!("cannot read the secret file {}", path.display()))?;
        }
        None => {
            std::io::stdin().lock().take(MAX_INPUT).read_to_end(&mut buf).context("cannot read stdin")?;
        }
    }
    Ok(buf)
}

/// The key and the parameters the input carries (defaults unless it is a key URI).
fn load_secret(args: &SecretArgs) -> anyhow::Result<(SecretBytes, TotpParams)> {
    let input = read_input(args)?;
    if args.secret_encoding == SecretEncoding::Ascii {
        let mut raw: &[u8] = &input;
        for suffix in [b"\r\n".as_slice(), b"\n"] {
            if let Some(stripped) = raw.strip_suffix(suffix) {
                raw = stripped;
                break;
            }
        }
        if raw.is_empty() {
            bail!("no secret given: pipe it on stdin or use --secret-file");
        }
        return Ok((SecretBytes::from_slice(raw), TotpParams::default()));
    }
    let text = Zeroizing::new(
        std::str::from_utf8(&input)
            .context("the secret is not text: give base32 or a key URI")?
            .trim()
            .to_owned(),
    );
    if text.is_empty() {
        bail!("no secret given: pipe it on stdin or use --secret-file");
    }
    if args.secret_encoding == SecretEncoding::Hex {
        let cleaned: Zeroizing<String> =
            Zeroizing::new(text.chars().filter(|c| !c.is_whitespace() && *c != ':').collect());
        let key = hex_decode(&cleaned).context("the secret is not valid hexadecimal")?;
        return Ok((key, TotpParams::default()));
    }
    if text.len() >= 10 && text.get(..10).is_some_and(|p| p.eq_ignore_ascii_case("otpauth://")) {
        let (uri, key) = KeyUri::parse(&text)?;
        return Ok((key, uri.params));
    }
    Ok((secret::decode_base32(&text)?, TotpParams::default()))
}

fn hex_decode(text: &str) -> anyhow::Result<SecretBytes> {
    if !text.len().is_multiple_of(2) {
        bail!("odd number of hex digits");
    }
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() / 2));
    let digits: Vec<u32> = text
        .chars()
        .map(|c| c.to_digit(16).context("a character is not a hex digit"))
        .collect::<Result<_, _>>()?;
    for pair in digits.chunks_exact(2) {
        if let [hi, lo] = pair {
            out.push(u8::try_from(hi * 16 + lo)?);
        }
    }
    Ok(SecretBytes::from(out))
}

fn now_or(at: Option<i64>) -> i64 {
    at.unwrap_or_else(|| SystemClock.now().unix_timestamp())
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[derive(Serialize)]
struct EnrollReport<'a> {
    secret: &'a str,
    uri: &'a str,
    issuer: &'a str,
    account: &'a str,
    algorithm: Algorithm,
    digits: u8,
    period: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    png: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    svg: Option<String>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct CodeReport<'a> {
    code: &'a str,
    step: u64,
    at: i64,
    algorithm: Algorithm,
    digits: u8,
    period: u32,
    valid_for_seconds: u64,
}

#[derive(Serialize)]
struct VerifyReport {
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    drift: Option<i64>,
    current_step: u64,
    at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

/// Runs `palisade totp`.
pub fn run(args: Args) -> Outcome {
    match args.command {
        TotpCommand::Enroll { issuer, account, png, svg, scale, params, json } => {
            let params = params.apply(TotpParams::default());
            let key_uri = KeyUri::new(&issuer, &account, params)?;
            let key = secret::generate()?;
            let b32 = secret::encode_base32(&key);
            let uri = key_uri.to_uri(&key);
            if let Some(path) = &png {
                write_private(path, qr::png(uri.expose_secret(), scale)?.expose_secret())?;
            }
            if let Some(path) = &svg {
                write_private(path, qr::svg(uri.expose_secret())?.expose_secret().as_bytes())?;
            }
            let warnings = params.compatibility_warnings();
            if !json {
                for w in &warnings {
                    eprintln!("palisade: warning: {w}");
                }
            }
            let report = EnrollReport {
                secret: b32.expose_secret(),
                uri: uri.expose_secret(),
                issuer: &issuer,
                account: &account,
                algorithm: params.algorithm,
                digits: params.digits,
                period: params.period,
                png: png.map(|p| p.display().to_string()),
                svg: svg.map(|p| p.display().to_string()),
                warnings,
            };
            emit(json, &report, || format!("{}\n{}", report.secret, report.uri))?;
            Ok(Verdict::Pass)
        }
        TotpCommand::Code { at, params, secret, json } => {
            let (key, base) = load_secret(&secret)?;
            let params = params.apply(base);
            let at = now_or(at);
            let totp = Totp::new(key, params)?;
            let step = params.step_at(at)?;
            let code = Zeroizing::new(totp.code_for_step(step)?);
            let period = u64::from(params.period);
            let elapsed = u64::try_from(at).unwrap_or(0) % period;
            let report = CodeReport {
                code: &code,
                step,
                at,
                algorithm: params.algorithm,
                digits: params.digits,
                period: params.period,
                valid_for_seconds: period - elapsed,
            };
            emit(json, &report, || report.code.to_owned())?;
            Ok(Verdict::Pass)
        }
        TotpCommand::Verify { code, at, skew, last_step, params, secret, json } => {
            if skew > MAX_CLI_SKEW {
                bail!("--skew {skew} is too wide: use 0 to {MAX_CLI_SKEW} (1 is standard)");
            }
            let (key, base) = load_secret(&secret)?;
            let params = params.apply(base);
            let at = now_or(at);
            let totp = Totp::new(key, params)?;
            let current_step = params.step_at(at)?;
            let matched = totp.verify(&code, at, skew, last_step)?;
            let reason = match matched {
                Some(_) => None,
                None if last_step.is_some() && totp.verify(&code, at, skew, None)?.is_some() => {
                    Some("replayed: the code's time step is at or before --last-step")
                }
                None => Some("no time step in the window matches the code"),
            };
            let report = VerifyReport {
                valid: matched.is_some(),
                step: matched.map(|m| m.step),
                drift: matched.map(|m| m.drift),
                current_step,
                at,
                reason,
            };
            emit(json, &report, || match (&report.step, report.reason) {
                (Some(step), _) => step.to_string(),
                (None, r) => format!("invalid: {}", r.unwrap_or("rejected")),
            })?;
            Ok(if report.valid { Verdict::Pass } else { Verdict::Fail })
        }
    }
}
