//! Calls to an authorization server's token and revocation endpoints (RFC 6749 §4.1.3, §6,
//! RFC 7009), with client authentication and the error classification hosts act on:
//! `invalid_grant` means "the user must reconnect", overload and network failures mean
//! "retry later".

use std::sync::Arc;

use base64::Engine as _;
use palisade_core::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Duration;
use url::Url;

use crate::discovery::retry_after;
use crate::error::{Error, Result};
use crate::http::{HttpClient, HttpRequest, HttpResponse};

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// HTTP Basic with the form-encoded id and secret (`client_secret_basic`, the default).
    #[default]
    ClientSecretBasic,
    /// Id and secret in the form body (`client_secret_post`).
    ClientSecretPost,
    /// A public client: only `client_id` (PKCE protects the code).
    None,
}

/// A client's credentials for one call.
#[derive(Debug)]
pub(crate) struct ClientCredentials<'a> {
    pub client_id: &'a str,
    pub secret: Option<&'a SecretString>,
    pub method: ClientAuthMethod,
}

/// A successful token response. Tokens are secrets.
#[derive(Debug)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token, if one was issued (or rotated).
    pub refresh_token: Option<SecretString>,
    /// Seconds until the access token expires, if said.
    pub expires_in: Option<i64>,
    /// Granted scopes, if said.
    pub scope: Option<String>,
    /// The ID token, if any.
    pub id_token: Option<String>,
}

#[derive(Deserialize)]
struct RawTokenResponse {
    access_token: Option<SecretString>,
    token_type: Option<String>,
    refresh_token: Option<SecretString>,
    expires_in: Option<Value>,
    scope: Option<String>,
    id_token: Option<String>,
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) async fn post(
    http: &Arc<dyn HttpClient>,
    endpoint: &Url,
    creds: &ClientCredentials<'_>,
    form: &[(&str, &str)],
) -> Result<HttpResponse> {
    let mut pairs: Vec<(&str, &str)> = form.to_vec();
    let secret = creds.secret.map(SecretString::expose_secret);
    match creds.method {
        ClientAuthMethod::ClientSecretPost => {
            pairs.push(("client_id", creds.client_id));
            if let Some(s) = secret {
                pairs.push(("client_secret", s));
            }
        }
        ClientAuthMethod::None => pairs.push(("client_id", creds.client_id)),
        ClientAuthMethod::ClientSecretBasic => {}
    }
    let mut req = HttpRequest::post_form(endpoint.clone(), &pairs);
    if creds.method == ClientAuthMethod::ClientSecretBasic {
        let raw = format!("{}:{}", form_encode(creds.client_id), form_encode(secret.unwrap_or_default()));
        let basic = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
        req = req.header("authorization", format!("Basic {basic}"));
    }
    http.send(req).await.map_err(|e| Error::Transient {
        endpoint: endpoint.to_string(),
        reason: e.0,
        retry_after: Duration::seconds(2),
    })
}

/// Classifies a non-2xx response from a token or revocation endpoint.
pub(crate) fn classify_error(endpoint: &Url, resp: &HttpResponse) -> Error {
    let parsed: Option<(String, Option<String>)> =
        serde_json::from_slice::<Value>(&resp.body).ok().and_then(|v| {
            let e = v.get("error")?.as_str()?.to_owned();
            let d = v.get("error_description").and_then(Value::as_str).map(|s| s.chars().take(300).collect());
            Some((e, d))
        });
    let transient = resp.status == 429 || resp.status >= 500 || is_transient_code(&parsed);
    match parsed {
        Some((e, d)) if e == "invalid_grant" => {
            Error::ReconnectRequired { description: d.unwrap_or_else(|| "invalid_grant".to_owned()) }
        }
        p if transient => Error::Transient {
            endpoint: endpoint.to_string(),
            reason: match p {
                Some((e, _)) => format!("HTTP {} {e}", resp.status),
                None => format!("HTTP {}", resp.status),
            },
            retry_after: retry_after(resp).unwrap_or(Duration::seconds(5)),
        },
        Some((error, description)) => Error::OAuth { error, description },
        None => Error::Protocol {
            endpoint: endpoint.to_string(),
            reason: format!("HTTP {} without an OAuth error body", resp.status),
        },
    }
}

fn is_transient_code(p: &Option<(String, Option<String>)>) -> bool {
    matches!(p, Some((e, _)) if e == "temporarily_unavailable" || e == "server_error" || e == "slow_down")
}

/// Posts a grant to the token endpoint and parses the token response.
pub(crate) async fn request_tokens(
    http: &Arc<dyn HttpClient>,
    endpoint: &Url,
    creds: &ClientCredentials<'_>,
    form: &[(&str, &str)],
) -> Result<TokenResponse> {
    let resp = post(http, endpoint, creds, form).await?;
    if resp.status != 200 {
        return Err(classify_error(endpoint, &resp));
    }
    let bad = |reason: String| Error::Protocol { endpoint: endpoint.to_string(), reason };
    let raw: RawTokenResponse =
        serde_json::from_slice(&resp.body).map_err(|e| bad(format!("not a token response: {e}")))?;
    let access_token = raw.access_token.ok_or_else(|| bad("no access_token".to_owned()))?;
    if let Some(t) = &raw.token_type
        && !t.eq_ignore_ascii_case("bearer")
    {
        return Err(bad(format!("token_type {t:?} is not Bearer")));
    }
    let expires_in = match raw.expires_in {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(Value::String(s)) => s.parse().ok(),
        Some(_) => return Err(bad("expires_in is not a number".to_owned())),
    };
    Ok(TokenResponse {
        access_token,
        refresh_token: raw.refresh_token.filter(|r| !r.is_empty()),
        expires_in: expires_in.map(|e| e.clamp(0, 10 * 365 * 86400)),
        scope: raw.scope,
        id_token: raw.id_token,
    })
}

/// Revokes `token` (RFC 7009). A 200 means revoked or already invalid.
pub(crate) async fn revoke(
    http: &Arc<dyn HttpClient>,
    endpoint: &Url,
    creds: &ClientCredentials<'_>,
    token: &SecretString,
    hint: &str,
) -> Result<()> {
    let resp =
        post(http, endpoint, creds, &[("token", token.expose_secret()), ("token_type_hint", hint)]).await?;
    if resp.status == 200 { Ok(()) } else { Err(classify_error(endpoint, &resp)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("retry-after".into(), "7".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn classification() {
        let u = Url::parse("https://as.example/token").unwrap();
        assert!(matches!(
            classify_error(&u, &resp(400, r#"{"error":"invalid_grant"}"#)),
            Error::ReconnectRequired { .. }
        ));
        match classify_error(&u, &resp(503, "")) {
            Error::Transient { retry_after, .. } => assert_eq!(retry_after, Duration::seconds(7)),
            e => panic!("{e:?}"),
        }
        assert!(classify_error(&u, &resp(429, "{}")).is_transient());
        assert!(classify_error(&u, &resp(400, r#"{"error":"temporarily_unavailable"}"#)).is_transient());
        assert!(matches!(
            classify_error(&u, &resp(401, r#"{"error":"invalid_client"}"#)),
            Error::OAuth { .. }
        ));
        assert!(matches!(classify_error(&u, &resp(404, "nope")), Error::Protocol { .. }));
    }
}
