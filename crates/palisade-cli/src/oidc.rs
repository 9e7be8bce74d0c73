//! `palisade oidc`: inspect an OpenID Provider and verify ID tokens.
//!
//! * `palisade oidc discover --issuer URL [--json]`: the provider's configuration and a summary
//!   of its signing keys. Exit 0 when the discovery document is valid for the issuer, 1 when it
//!   is not (wrong `issuer`, insecure endpoints), 2 when it cannot be fetched.
//! * `palisade oidc verify-id-token --issuer URL --client-id ID [--nonce N] [--now UNIX]
//!   [--jwks FILE] [--json]` with the token on stdin: exit 0 with the claims, 1 with the reason
//!   it was rejected, 2 for usage and I/O errors (unreadable key set, provider unreachable).

use std::io::Read;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use palisade::core::{ManualClock, SharedClock, SystemClock};
use palisade::oauth::jose::{KeySet, KeySummary};
use palisade::oauth::{
    CachePolicy, Error, Expectations, HttpClient, IdTokenVerifier, IssuerRule, Provider, ProviderMetadata,
    ReqwestHttpClient, VerifiedIdToken,
};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::output::{Outcome, Verdict, emit};

/// Arguments of `palisade oidc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: OidcCommand,
}

#[derive(Debug, clap::Subcommand)]
enum OidcCommand {
    /// Fetch and check a provider's discovery document and key set.
    Discover {
        /// The issuer URL (https, or http on loopback).
        #[arg(long)]
        issuer: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify an ID token read from stdin: exit 0 with its claims, 1 with the reason.
    VerifyIdToken {
        /// The expected issuer (`iss`, compared exactly); its keys are discovered unless --jwks.
        #[arg(long)]
        issuer: String,
        /// The relying party's client id (must be in `aud`, and be `azp` if present).
        #[arg(long = "client-id")]
        client_id: String,
        /// The nonce sent with the authorization request; the token must carry it.
        #[arg(long)]
        nonce: Option<String>,
        /// Verify as of this Unix time instead of now.
        #[arg(long, allow_hyphen_values = true)]
        now: Option<i64>,
        /// Verify with the JWK Set in FILE instead of discovering the issuer's keys.
        #[arg(long, value_name = "FILE")]
        jwks: Option<std::path::PathBuf>,
        /// Allowed clock skew in seconds (0..=300).
        #[arg(long, default_value_t = 60)]
        skew: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `palisade oidc`.
pub fn run(args: Args) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match args.command {
        OidcCommand::Discover { issuer, json } => rt.block_on(discover(&issuer, json)),
        OidcCommand::VerifyIdToken { issuer, client_id, nonce, now, jwks, skew, json } => {
            rt.block_on(verify(&issuer, &client_id, nonce.as_deref(), now, jwks.as_deref(), skew, json))
        }
    }
}

fn http() -> anyhow::Result<Arc<dyn HttpClient>> {
    Ok(Arc::new(ReqwestHttpClient::new().map_err(|e| anyhow!("{e}"))?))
}

#[derive(Serialize)]
struct DiscoverReport<'a> {
    valid: bool,
    issuer: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a ProviderMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keys: Option<Vec<KeySummary>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped_keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn discover(issuer: &str, json: bool) -> Outcome {
    let provider = Provider::new(issuer, http()?, Arc::new(SystemClock), CachePolicy::default())?;
    let result = async {
        let m = provider.metadata().await?;
        let k = provider.keys().await?;
        Ok::<_, Error>((m, k))
    }
    .await;
    match result {
        Ok((meta, keys)) => {
            let report = DiscoverReport {
                valid: true,
                issuer,
                metadata: Some(&meta),
                keys: Some(keys.summaries()),
                skipped_keys: keys.skipped().to_vec(),
                error: None,
            };
            emit(json, &report, || human_discovery(&meta, &keys))?;
            Ok(Verdict::Pass)
        }
        Err(e @ (Error::Discovery { .. } | Error::Jwks(_))) => {
            let report = DiscoverReport {
                valid: false,
                issuer,
                metadata: None,
                keys: None,
                skipped_keys: vec![],
                error: Some(e.to_string()),
            };
            emit(json, &report, || format!("invalid provider configuration: {e}"))?;
            Ok(Verdict::Fail)
        }
        Err(e) => Err(anyhow!(e)),
    }
}

fn human_discovery(m: &ProviderMetadata, keys: &KeySet) -> String {
    let mut out = String::new();
    let line = |out: &mut String, k: &str, v: &str| out.push_str(&format!("{k:<40} {v}\n"));
    line(&mut out, "issuer", &m.issuer);
    line(&mut out, "authorization_endpoint", &m.authorization_endpoint);
    for (k, v) in [
        ("token_endpoint", &m.token_endpoint),
        ("userinfo_endpoint", &m.userinfo_endpoint),
        ("revocation_endpoint", &m.revocation_endpoint),
        ("end_session_endpoint", &m.end_session_endpoint),
    ] {
        if let Some(v) = v {
            line(&mut out, k, v);
        }
    }
    line(&mut out, "jwks_uri", &m.jwks_uri);
    line(
        &mut out,
        "id_token_signing_alg_values_supported",
        &m.id_token_signing_alg_values_supported.join(" "),
    );
    line(&mut out, "code_challenge_methods_supported", &m.code_challenge_methods_supported.join(" "));
    line(&mut out, "scopes_supported", &m.scopes_supported.join(" "));
    out.push_str(&format!("keys: {} usable", keys.len()));
    if !keys.skipped().is_empty() {
        out.push_str(&format!(", {} skipped", keys.skipped().len()));
    }
    out.push('\n');
    for k in keys.summaries() {
        let algs: Vec<&str> = k.algorithms.iter().map(|a| a.name()).collect();
        out.push_str(&format!(
            "  kid={} kty={} {} algs={}\n",
            k.kid.as_deref().unwrap_or("-"),
            k.kty,
            k.size,
            algs.join(",")
        ));
    }
    for s in keys.skipped() {
        out.push_str(&format!("  skipped: {s}\n"));
    }
    out
}

#[derive(Serialize)]
struct VerifyReport<'a> {
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claims: Option<&'a std::collections::BTreeMap<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn verify(
    issuer: &str,
    client_id: &str,
    nonce: Option<&str>,
    now: Option<i64>,
    jwks: Option<&std::path::Path>,
    skew: i64,
    json: bool,
) -> Outcome {
    let mut token = String::new();
    std::io::stdin().read_to_string(&mut token).context("reading the ID token from stdin")?;
    let token = token.trim();
    if token.is_empty() {
        anyhow::bail!("no ID token on stdin: pipe the token (compact JWS) into this command");
    }
    let clock: SharedClock = match now {
        Some(t) => Arc::new(ManualClock::new(
            OffsetDateTime::from_unix_timestamp(t)
                .map_err(|e| anyhow!("--now {t} is not a usable Unix time: {e}"))?,
        )),
        None => Arc::new(SystemClock),
    };
    let verifier =
        IdTokenVerifier::new(IssuerRule::exact(issuer), client_id).with_skew(Duration::seconds(skew));
    verifier.validate()?;
    let provider = match jwks {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading the key set {}", path.display()))?;
            let keys = KeySet::from_json(&bytes)
                .with_context(|| format!("loading the key set {}", path.display()))?;
            Provider::with_static_keys(issuer, keys, http()?, clock)
        }
        None => Provider::new(issuer, http()?, clock, CachePolicy::default())?,
    };
    let expect = Expectations { nonce, ..Default::default() };
    match provider.verify_id_token(&verifier, token, &expect).await {
        Ok(v) => {
            let report = VerifyReport {
                valid: true,
                header: Some(serde_json::json!({ "alg": v.algorithm, "kid": v.kid })),
                claims: Some(&v.claims),
                error: None,
            };
            emit(json, &report, || human_valid(&v))?;
            Ok(Verdict::Pass)
        }
        Err(Error::Token(reason)) => {
            let report =
                VerifyReport { valid: false, header: None, claims: None, error: Some(reason.to_string()) };
            emit(json, &report, || format!("invalid ID token: {reason}"))?;
            Ok(Verdict::Fail)
        }
        Err(e) => Err(anyhow!(e)),
    }
}

fn human_valid(v: &VerifiedIdToken) -> String {
    let mut out = format!("valid ID token ({} key {})\n", v.algorithm, v.kid.as_deref().unwrap_or("-"));
    let claims = serde_json::to_string_pretty(&v.claims).unwrap_or_default();
    out.push_str(&claims);
    out
}
