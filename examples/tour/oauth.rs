//! Chapter: palisade-oauth (OpenID Connect sign-in).

use std::sync::Arc;

use palisade::core::{Clock, ManualClock};
use palisade::oauth::jose::KeySet;
use palisade::oauth::testing::TestIssuer;
use palisade::oauth::{Expectations, IdTokenVerifier, IssuerRule, Provider, ReqwestHttpClient};
use time::OffsetDateTime;

use crate::step;

pub async fn run() -> anyhow::Result<()> {
    // A local test provider stands in for Google / Microsoft / Okta: it signs ID tokens (ES256).
    let op = TestIssuer::es256("https://login.acme.example")?;
    step(format!("local test provider {} signs with key {} (ES256)", op.issuer(), op.kid()));

    // The relying party knows the provider's issuer and its keys (normally discovered and cached).
    let clock = ManualClock::new(OffsetDateTime::now_utc());
    let http = Arc::new(ReqwestHttpClient::new()?);
    let keys = KeySet::from_json(op.jwks_json().as_bytes())?;
    let provider = Provider::with_static_keys(op.issuer(), keys, http, Arc::new(clock.clone()));
    let verifier = IdTokenVerifier::new(IssuerRule::exact(op.issuer()), "crm-app");

    // The browser comes back with a code; the token endpoint answers with this ID token.
    let mut claims = op.claims("crm-app", "00u1a2b3c", Some("nonce-from-begin"), clock.now());
    claims.insert("email".into(), "alice@acme.example".into());
    claims.insert("email_verified".into(), true.into());
    claims.insert("name".into(), "Alice Liddell".into());
    claims.insert("groups".into(), serde_json::json!(["engineering", "admins"]));
    let token = op.sign(&claims)?;
    let verified =
        provider.verify_id_token(&verifier, &token, &Expectations::nonce("nonce-from-begin")).await?;
    let identity = verified.to_identity("acme".parse()?, palisade::oauth::DEFAULT_GROUP_CLAIMS);
    step(format!(
        "accepted: subject {} <{}> (verified: {}), groups {:?} -> provision like a SAML sign-in",
        identity.subject,
        identity.email.as_deref().unwrap_or("-"),
        identity.email_verified,
        identity.groups
    ));

    // The same provider's token, minted for another application: refused.
    let other = op.id_token("billing-app", "00u1a2b3c", Some("nonce-from-begin"), clock.now())?;
    match provider.verify_id_token(&verifier, &other, &Expectations::nonce("nonce-from-begin")).await {
        Ok(_) => anyhow::bail!("a token for another audience was accepted"),
        Err(e) => step(format!("a token for another audience is refused: {e}")),
    }
    // A replay with another session's nonce, and an expired token, are refused too.
    if let Err(e) = provider.verify_id_token(&verifier, &token, &Expectations::nonce("other-session")).await {
        step(format!("another session's nonce: {e}"));
    }
    clock.advance(time::Duration::hours(1));
    if let Err(e) =
        provider.verify_id_token(&verifier, &token, &Expectations::nonce("nonce-from-begin")).await
    {
        step(format!("an hour later: {e}"));
    }
    Ok(())
}
