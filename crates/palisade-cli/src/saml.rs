//! `palisade saml`: verify a SAML Response as a service provider would, print SP metadata, build
//! an AuthnRequest.
//!
//! `verify` exits 0 with the identity, 1 with the error code and message when the response is
//! rejected, 2 on usage or I/O errors (unreadable files, bad metadata, bad `--now`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use palisade::saml::authn::{AuthnOptions, Binding, authn_request};
use palisade::saml::keys::{AlgorithmPolicy, SigningKey, TrustedCert};
use palisade::saml::metadata::{MetadataOptions, parse_idp_metadata, sp_metadata};
use palisade::saml::response::{Expectation, InputLimits, SamlIdentity, validate_response};
use palisade::saml::{DecryptionKey, SpConfig};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::output::{Outcome, Verdict, emit};

/// Arguments of `palisade saml`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: SamlCommand,
}

#[derive(Debug, clap::Subcommand)]
enum SamlCommand {
    /// Validate a SAML Response (XML file, or the base64 SAMLResponse form value): exit 0 with
    /// the identity, 1 with the reason it was rejected.
    Verify(VerifyArgs),
    /// Print SP metadata.
    Metadata(MetadataArgs),
    /// Build an AuthnRequest and print the redirect URL or the POST form (for debugging).
    AuthnRequest(AuthnArgs),
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// IdP metadata (EntityDescriptor or EntitiesDescriptor).
    #[arg(long, value_name = "FILE")]
    idp_metadata: PathBuf,
    /// Which IdP to use when the metadata holds several.
    #[arg(long, value_name = "ENTITY_ID")]
    idp_entity_id: Option<String>,
    /// This SP's entityID (the expected Audience).
    #[arg(long, value_name = "ID")]
    sp_entity_id: String,
    /// This SP's Assertion Consumer Service URL (expected Destination and Recipient).
    #[arg(long, value_name = "URL")]
    acs_url: String,
    /// The ID of the AuthnRequest this response answers.
    #[arg(long, value_name = "ID")]
    request_id: Option<String>,
    /// Accept an unsolicited (IdP-initiated) response.
    #[arg(long)]
    allow_idp_initiated: bool,
    /// Validate as of this instant (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// SP private key (PKCS#8 PEM, RSA ≥ 2048) to decrypt an EncryptedAssertion.
    #[arg(long, value_name = "FILE")]
    sp_key: Option<PathBuf>,
    /// Accept RSA-SHA1 signatures and SHA-1 digests (legacy IdPs only).
    #[arg(long)]
    allow_sha1: bool,
    /// Accept RSA signing keys of 1024 to 2047 bits (legacy IdPs only).
    #[arg(long)]
    allow_weak_keys: bool,
    /// Accept an --sp-key of 1024 to 2047 bits (legacy SP keys only; rotate them).
    #[arg(long, requires = "sp_key")]
    allow_weak_sp_key: bool,
    /// Accept the RSA-1_5 key transport in an EncryptedAssertion (legacy IdPs only).
    #[arg(long)]
    allow_rsa1_5: bool,
    /// Require the Response element itself to be signed.
    #[arg(long)]
    require_signed_response: bool,
    /// Require the Assertion element itself to be signed.
    #[arg(long)]
    require_signed_assertion: bool,
    /// Allowed clock skew in seconds (0..=300).
    #[arg(long, default_value_t = 180)]
    clock_skew: i64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// The response: a file (XML or base64), `-` for stdin, or the base64 value itself.
    response: String,
}

#[derive(Debug, clap::Args)]
struct MetadataArgs {
    /// The SP's entityID.
    #[arg(long, value_name = "ID")]
    sp_entity_id: String,
    /// The ACS URL (HTTP-POST).
    #[arg(long, value_name = "URL")]
    acs_url: String,
    /// Certificate (PEM) to publish for signing and encryption.
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// Single logout URL.
    #[arg(long, value_name = "URL")]
    slo_url: Option<String>,
    /// SP private key (PKCS#8 PEM) to sign the metadata with (needs --cert).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum BindingArg {
    Redirect,
    Post,
}

#[derive(Debug, clap::Args)]
struct AuthnArgs {
    /// The SP's entityID.
    #[arg(long, value_name = "ID")]
    sp_entity_id: String,
    /// The ACS URL.
    #[arg(long, value_name = "URL")]
    acs_url: String,
    /// The IdP's SSO URL (or take it from --idp-metadata).
    #[arg(long, value_name = "URL")]
    idp_sso_url: Option<String>,
    /// IdP metadata to take the SSO URL from.
    #[arg(long, value_name = "FILE")]
    idp_metadata: Option<PathBuf>,
    /// Binding.
    #[arg(long, value_enum, default_value = "redirect")]
    binding: BindingArg,
    /// RelayState (≤ 80 bytes).
    #[arg(long)]
    relay_state: Option<String>,
    /// SP private key (PKCS#8 PEM) to sign the request.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Print JSON (id, xml, output).
    #[arg(long)]
    json: bool,
}

fn read_file(p: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
}

fn read_response(arg: &str) -> anyhow::Result<Vec<u8>> {
    if arg == "-" {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut v).context("cannot read stdin")?;
        return Ok(v);
    }
    let p = Path::new(arg);
    if p.is_file() {
        return std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    }
    let t = arg.trim_start();
    if t.starts_with('<')
        || (t.len() > 32 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=%\r\n ".contains(&b)))
    {
        return Ok(arg.as_bytes().to_vec());
    }
    bail!("RESPONSE {arg:?} is neither a readable file nor a base64 value")
}

/// The Issuer of the Response (or of its first Assertion), for IdP selection only.
fn response_issuer(input: &[u8]) -> Option<String> {
    let xml = palisade::saml::binding::decode_post(input, &InputLimits::default()).ok()?;
    let doc = palisade::saml::xml::Document::parse_default(&xml).ok()?;
    let root = doc.root();
    root.child(palisade::saml::SAML_NS, "Issuer")
        .or_else(|| {
            root.child(palisade::saml::SAML_NS, "Assertion")
                .and_then(|a| a.child(palisade::saml::SAML_NS, "Issuer"))
        })
        .map(|i| i.text().trim().to_owned())
}

#[derive(Serialize)]
struct Accepted<'a> {
    valid: bool,
    #[serde(flatten)]
    identity: &'a SamlIdentity,
}

#[derive(Serialize)]
struct Rejected<'a> {
    valid: bool,
    code: &'a str,
    message: String,
}

fn verify(a: VerifyArgs) -> Outcome {
    let now = match &a.now {
        Some(n) => OffsetDateTime::parse(n, &Rfc3339)
            .with_context(|| format!("--now {n:?} is not an RFC 3339 instant"))?,
        None => OffsetDateTime::now_utc(),
    };
    if !(0..=300).contains(&a.clock_skew) {
        bail!("--clock-skew must be within 0..=300 seconds");
    }
    let md = read_file(&a.idp_metadata)?;
    let input = read_response(&a.response)?;
    // With several IdPs in the metadata and no --idp-entity-id, select by the response's Issuer.
    let entity = a
        .idp_entity_id
        .clone()
        .or_else(|| (md.matches("IDPSSODescriptor").count() > 2).then(|| response_issuer(&input)).flatten());
    let opts = MetadataOptions { entity_id: entity.as_deref(), ..Default::default() };
    let mut idp = parse_idp_metadata(&md, &opts, now)
        .map_err(|e| anyhow::anyhow!("IdP metadata {}: {e}", a.idp_metadata.display()))?;
    idp.policy.allow_idp_initiated = a.allow_idp_initiated;
    idp.policy.algorithms =
        AlgorithmPolicy { allow_sha1: a.allow_sha1, allow_weak_rsa_keys: a.allow_weak_keys };
    idp.policy.allow_rsa1_5 = a.allow_rsa1_5;
    idp.policy.require_signed_response = a.require_signed_response;
    idp.policy.require_signed_assertion = a.require_signed_assertion;
    idp.policy.clock_skew_secs = a.clock_skew;
    let mut sp = SpConfig::new(a.sp_entity_id.clone(), a.acs_url.clone());
    if let Some(k) = &a.sp_key {
        let pem = read_file(k)?;
        let key = if a.allow_weak_sp_key {
            DecryptionKey::from_pem_allowing_weak_rsa(&pem)
        } else {
            DecryptionKey::from_pem(&pem)
        };
        sp.decryption_key = Some(key.map_err(|e| anyhow::anyhow!("--sp-key {}: {e}", k.display()))?);
    }
    sp.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let expect = Expectation { request_id: a.request_id.as_deref() };
    match validate_response(&input, &sp, &idp, &expect, now, &InputLimits::default()) {
        Ok(identity) => {
            emit(a.json, &Accepted { valid: true, identity: &identity }, || {
                let mut s = format!("valid: NameID {:?} from {}\n", identity.name_id, identity.idp);
                if let Some(si) = &identity.session_index {
                    s.push_str(&format!("session index: {si}\n"));
                }
                for (k, v) in &identity.attributes {
                    s.push_str(&format!("attribute {k}: {}\n", v.join(", ")));
                }
                s
            })?;
            Ok(Verdict::Pass)
        }
        Err(e) if !e.is_rejection() => bail!("{e}"),
        Err(e) => {
            let r = Rejected { valid: false, code: e.code(), message: e.to_string() };
            emit(a.json, &r, || format!("rejected: {}: {}", r.code, r.message))?;
            Ok(Verdict::Fail)
        }
    }
}

fn metadata(a: MetadataArgs) -> Outcome {
    let mut sp = SpConfig::new(a.sp_entity_id, a.acs_url);
    sp.slo_url = a.slo_url;
    let cert = a
        .cert
        .as_deref()
        .map(read_file)
        .transpose()?
        .map(|p| TrustedCert::from_pem(&p))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--cert: {e}"))?;
    let sign = a.key.is_some();
    let mut extra = Vec::new();
    if let Some(k) = &a.key {
        let key = SigningKey::from_pem(&read_file(k)?).map_err(|e| anyhow::anyhow!("--key: {e}"))?;
        let c = cert.clone().context("--key needs --cert (the certificate to publish)")?;
        sp.signing_key = Some(key.with_certificate(c));
    } else if let Some(c) = &cert {
        extra.push(c.clone());
    }
    let xml = sp_metadata(&sp, &extra, cert.as_ref(), None, sign).map_err(|e| anyhow::anyhow!("{e}"))?;
    print!("{xml}");
    Ok(Verdict::Pass)
}

#[derive(Serialize)]
struct AuthnOut<'a> {
    id: &'a str,
    binding: &'static str,
    xml: &'a str,
    output: &'a str,
}

fn authn(a: AuthnArgs) -> Outcome {
    let now = OffsetDateTime::now_utc();
    let sso = match (&a.idp_sso_url, &a.idp_metadata) {
        (Some(u), _) => u.clone(),
        (None, Some(m)) => parse_idp_metadata(&read_file(m)?, &MetadataOptions::default(), now)
            .map_err(|e| anyhow::anyhow!("IdP metadata: {e}"))?
            .sso_url
            .context("the IdP metadata has no SingleSignOnService")?,
        (None, None) => bail!("give --idp-sso-url or --idp-metadata"),
    };
    let mut sp = SpConfig::new(a.sp_entity_id, a.acs_url);
    if let Some(k) = &a.key {
        sp.signing_key =
            Some(SigningKey::from_pem(&read_file(k)?).map_err(|e| anyhow::anyhow!("--key: {e}"))?);
    }
    let binding = match a.binding {
        BindingArg::Redirect => Binding::Redirect,
        BindingArg::Post => Binding::Post,
    };
    let opts = AuthnOptions { relay_state: a.relay_state.as_deref(), ..Default::default() };
    let req = authn_request(&sp, &sso, binding, &opts, now).map_err(|e| anyhow::anyhow!("{e}"))?;
    let out = AuthnOut {
        id: &req.id,
        binding: if binding == Binding::Redirect { "redirect" } else { "post" },
        xml: &req.xml,
        output: &req.output,
    };
    emit(a.json, &out, || req.output.clone())?;
    Ok(Verdict::Pass)
}

/// Runs `palisade saml`.
pub fn run(args: Args) -> Outcome {
    match args.command {
        SamlCommand::Verify(a) => verify(a),
        SamlCommand::Metadata(a) => metadata(a),
        SamlCommand::AuthnRequest(a) => authn(a),
    }
}
