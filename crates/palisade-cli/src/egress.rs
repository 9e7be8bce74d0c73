//! `palisade egress check`: may this outbound request go?

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use palisade::egress::{Egress, EgressPolicy, PinnedResolver, SystemResolver};

use crate::output::{Outcome, Verdict, emit};

/// Arguments of `palisade egress`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: EgressCommand,
}

#[derive(Debug, clap::Subcommand)]
enum EgressCommand {
    /// Decide whether a request to URL may go: exit 0 allowed, 1 denied (with the rule), 2 bad input.
    Check {
        /// A policy file (TOML or JSON, by extension), or `default`: deny the built-in ranges
        /// (loopback, private, link-local, CGNAT, multicast, documentation…), allow the rest.
        #[arg(long, value_name = "FILE|default")]
        policy: String,
        /// Pin name resolution, as curl's option does: HOST=ADDR[,ADDR...]. Repeatable. Names
        /// not pinned go to the system resolver.
        #[arg(long, value_name = "HOST=ADDR[,ADDR]")]
        resolve: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The URL.
        url: String,
    },
}

/// Loads a policy file, TOML or JSON by its extension.
fn load_policy(spec: &str) -> anyhow::Result<EgressPolicy> {
    if spec == "default" {
        return Ok(EgressPolicy::public_internet());
    }
    let path = Path::new(spec);
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read policy {spec}"))?;
    let is_toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let policy = if is_toml {
        toml::from_str(&text).with_context(|| format!("{spec} is not a valid egress policy"))?
    } else {
        serde_json::from_str(&text).with_context(|| format!("{spec} is not a valid egress policy"))?
    };
    Ok(policy)
}

/// Runs `palisade egress`.
pub fn run(args: Args) -> Outcome {
    let EgressCommand::Check { policy, resolve, json, url } = args.command;
    let egress = Egress::new(&load_policy(&policy)?)?;
    let resolver = PinnedResolver::from_pins(&resolve, Some(Arc::new(SystemResolver)))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let decision = runtime.block_on(egress.check(&url, &resolver))?;
    emit(json, &decision, || {
        let mut s = decision.explain();
        for a in &decision.addresses {
            s.push_str(&format!("\n  {} {}", if a.allowed { "ok  " } else { "DENY" }, a.address));
        }
        s
    })?;
    Ok(if decision.allowed { Verdict::Pass } else { Verdict::Fail })
}
