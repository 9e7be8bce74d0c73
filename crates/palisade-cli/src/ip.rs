//! `palisade ip check`: would this request be allowed by an IP allowlist?

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use palisade::ipfilter::{self, Allowlist, ClientResolver, ForwardedHeader, Source};
use serde::Serialize;

use crate::output::{Outcome, Verdict, emit};

/// Arguments of `palisade ip`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: IpCommand,
}

#[derive(Debug, clap::Subcommand)]
enum IpCommand {
    /// Decide whether a request is allowed: exit 0 allowed, 1 denied, 2 bad input.
    ///
    /// Allowlist and trusted-proxy files: one entry a line, `ADDRESS_OR_CIDR [label...]`; `#`
    /// starts a comment; blank lines are ignored. The allowlist is enforced: an empty file allows
    /// nobody. Forwarding headers are read only when the peer is a trusted proxy, walking from the
    /// right; when both --forwarded and --forwarded-for are given, the RFC 7239 Forwarded value is
    /// the one used.
    Check {
        /// The allowlist file.
        #[arg(long, value_name = "FILE")]
        allowlist: PathBuf,
        /// The trusted proxies file (same format). Without it no header is believed.
        #[arg(long, value_name = "FILE")]
        trusted_proxies: Option<PathBuf>,
        /// The socket peer address (a port, `1.2.3.4:443` or `[::1]:443`, is accepted).
        #[arg(long, value_name = "ADDR")]
        peer: String,
        /// An X-Forwarded-For header value; repeat for several header lines.
        #[arg(long, value_name = "VALUE")]
        forwarded_for: Vec<String>,
        /// An RFC 7239 Forwarded header value; repeat for several header lines.
        #[arg(long, value_name = "VALUE")]
        forwarded: Vec<String>,
        /// The tenant named in the output.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Report {
    allowed: bool,
    client: Option<IpAddr>,
    peer: IpAddr,
    resolved_from: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    header_problem: Option<String>,
    reason: ipfilter::Reason,
    explanation: String,
}

fn load(path: &Path) -> anyhow::Result<Allowlist> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Allowlist::parse_text(&text).with_context(|| format!("{}", path.display()))
}

/// Runs `palisade ip`.
pub fn run(args: Args) -> Outcome {
    let IpCommand::Check { allowlist, trusted_proxies, peer, forwarded_for, forwarded, tenant, json } =
        args.command;
    let tenant = tenant.parse().context("--tenant")?;
    let list = load(&allowlist)?;
    let proxies = match &trusted_proxies {
        Some(p) => load(p)?,
        None => Allowlist::default(),
    };
    let peer_ip =
        ipfilter::net::parse_addr_with_port(&peer).ok_or_else(|| ipfilter::Error::BadPeer(peer.clone()))?;
    let (header, values) = if forwarded.is_empty() {
        (ForwardedHeader::XForwardedFor, forwarded_for)
    } else {
        (ForwardedHeader::Forwarded, forwarded)
    };
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    let resolver = ClientResolver::new(proxies, header);
    let (resolution, decision) = ipfilter::check_one(&tenant, &list, &resolver, peer_ip, &values);
    let (resolved_from, header_problem) = match &resolution.source {
        Source::Peer => ("peer".to_owned(), None),
        Source::Header { trusted_hops } => {
            (format!("{} after {trusted_hops} trusted hop(s)", header.name()), None)
        }
        Source::Malformed { problem } => {
            ("last trusted hop (malformed header)".to_owned(), Some(problem.clone()))
        }
    };
    let report = Report {
        allowed: decision.allowed,
        client: decision.client,
        peer: peer_ip,
        resolved_from,
        header_problem,
        explanation: decision.explain(),
        reason: decision.reason.clone(),
    };
    emit(json, &report, || {
        let mut s = report.explanation.clone();
        s.push_str(&format!("\n  client resolved from: {}", report.resolved_from));
        if let Some(p) = &report.header_problem {
            s.push_str(&format!("\n  header problem: {p}"));
        }
        s
    })?;
    Ok(if decision.allowed { Verdict::Pass } else { Verdict::Fail })
}
