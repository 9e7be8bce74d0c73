//! An HTTPS webhook destination: batched JSON, an HMAC-SHA256 signature header, an idempotency
//! key; with profiles for Splunk HTTP Event Collector and the Datadog logs intake.
//!
//! Generic profile: `POST` of `{"events":[{"seq":..,"hash":..,"event":{..}}, ..]}` with
//! * `X-Palisade-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>." + body)>` — the
//!   receiver recomputes it, compares in constant time and rejects old `t` (replays);
//! * `Idempotency-Key: <hex SHA-256 of the batch's event ids>` — the same on every retry of a
//!   batch, so the receiver can drop duplicates.
//!
//! Splunk HEC: `POST <url>` (e.g. `https://splunk:8088/services/collector/event`) with
//! `Authorization: Splunk <token>` and one `{"time":..,"source":"palisade","sourcetype":..,"event":{..}}`
//! object per event. Datadog: `POST <url>` (e.g. `https://http-intake.logs.datadoghq.com/api/v2/logs`)
//! with `DD-API-KEY` and a JSON array of `{"ddsource":"palisade","service":..,"ddtags":"tenant:..","message":..}`.
//! The signature and idempotency headers are sent with every profile.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use palisade_core::{SecretBytes, SecretString};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::chain::StoredEntry;
use crate::error::{Error, Result};
use crate::stream::AuditSink;

/// The shape of the request body and the authentication header.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum WebhookProfile {
    /// `{"events":[...]}`.
    Generic,
    /// Splunk HTTP Event Collector.
    SplunkHec {
        /// The HEC token.
        token: SecretString,
        /// The `sourcetype`, e.g. `palisade:audit`.
        sourcetype: String,
        /// The Splunk index, if not the token's default.
        index: Option<String>,
    },
    /// Datadog logs intake (v2).
    Datadog {
        /// The API key.
        api_key: SecretString,
        /// The `service` tag.
        service: String,
    },
}

/// Settings of a [`WebhookSink`].
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Where to POST. Must be `https://`, except for loopback addresses.
    pub url: String,
    /// The HMAC-SHA256 key for `X-Palisade-Signature`.
    pub hmac_key: SecretBytes,
    /// Body format and authentication.
    pub profile: WebhookProfile,
    /// Per-request timeout.
    pub timeout: StdDuration,
    /// Extra trusted CA certificates (PEM), for private CAs.
    pub extra_ca_pem: Option<Vec<u8>>,
}

/// Delivers batches over HTTPS.
#[derive(Debug)]
pub struct WebhookSink {
    config: WebhookConfig,
    client: reqwest::Client,
}

impl WebhookSink {
    /// Builds the sink (and its HTTP client with rustls).
    pub fn new(config: WebhookConfig) -> Result<Self> {
        let url =
            reqwest::Url::parse(&config.url).map_err(|e| Error::invalid("webhook url", e.to_string()))?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(Error::invalid(
                "webhook url",
                "must be https:// (plain http only to loopback, for tests)",
            ));
        }
        if config.hmac_key.len() < 16 {
            return Err(Error::invalid("webhook hmac key", "use at least 16 random bytes"));
        }
        let tls = crate::sink::tls_client_config(config.extra_ca_pem.as_deref())?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::invalid("webhook client", e.to_string()))?;
        Ok(Self { config, client })
    }

    /// The request body for `batch` under the configured profile.
    pub fn body(&self, batch: &[StoredEntry]) -> Result<Vec<u8>> {
        match &self.config.profile {
            WebhookProfile::Generic => {
                let events: Vec<Value> =
                    batch.iter().map(|e| json!({"seq": e.seq, "hash": e.hash, "event": e.event})).collect();
                Ok(serde_json::to_vec(&json!({ "events": events }))?)
            }
            WebhookProfile::SplunkHec { sourcetype, index, .. } => {
                let mut out = Vec::new();
                for e in batch {
                    let mut o = json!({
                        "time": e.event.ts.unix_timestamp_nanos() as f64 / 1e9,
                        "source": "palisade",
                        "sourcetype": sourcetype,
                        "event": {"seq": e.seq, "hash": e.hash, "event": e.event},
                        "fields": {"tenant": e.event.tenant.as_str()},
                    });
                    if let (Some(i), Value::Object(m)) = (index, &mut o) {
                        m.insert("index".into(), Value::String(i.clone()));
                    }
                    serde_json::to_writer(&mut out, &o)?;
                    out.push(b'\n');
                }
                Ok(out)
            }
            WebhookProfile::Datadog { service, .. } => {
                let items: Vec<Value> = batch
                    .iter()
                    .map(|e| {
                        Ok(json!({
                            "ddsource": "palisade",
                            "service": service,
                            "ddtags": format!("tenant:{},action:{}", e.event.tenant, e.event.action),
                            "message": serde_json::to_string(&json!({"seq": e.seq, "hash": e.hash, "event": e.event}))?,
                        }))
                    })
                    .collect::<Result<_>>()?;
                Ok(serde_json::to_vec(&items)?)
            }
        }
    }
}

/// `t=<unix>,v1=<hex>`: HMAC-SHA256 over `"<unix>." + body`.
pub fn signature(key: &[u8], unix: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac());
    mac.update(unix.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[allow(clippy::panic)]
fn unreachable_hmac() -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this cannot happen.
    panic!("HMAC-SHA256 rejected a key")
}

/// Checks a `X-Palisade-Signature` header in constant time (for receivers), rejecting
/// timestamps more than `tolerance_secs` away from `now_unix`.
pub fn verify_signature(key: &[u8], header: &str, body: &[u8], now_unix: i64, tolerance_secs: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = hex::decode(x).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    if (now_unix - t).abs() > tolerance_secs {
        return false;
    }
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac());
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

/// The idempotency key of a batch: hex SHA-256 over its event ids.
pub fn idempotency_key(batch: &[StoredEntry]) -> String {
    let mut h = Sha256::new();
    for e in batch {
        h.update(e.event.id.as_uuid().as_bytes());
    }
    hex::encode(h.finalize())
}

#[async_trait]
impl AuditSink for WebhookSink {
    async fn deliver(&self, batch: &[StoredEntry]) -> Result<()> {
        let body = self.body(batch)?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut req = self
            .client
            .post(&self.config.url)
            .header("content-type", "application/json")
            .header("x-palisade-signature", signature(self.config.hmac_key.expose_secret(), now, &body))
            .header("idempotency-key", idempotency_key(batch));
        match &self.config.profile {
            WebhookProfile::Generic => {}
            WebhookProfile::SplunkHec { token, .. } => {
                req = req.header("authorization", format!("Splunk {}", token.expose_secret()));
            }
            WebhookProfile::Datadog { api_key, .. } => {
                req = req.header("dd-api-key", api_key.expose_secret());
            }
        }
        let fail = |reason: String, retryable: bool| Error::Delivery {
            destination: self.config.url.clone(),
            reason,
            retryable,
        };
        let resp = req.body(body).send().await.map_err(|e| {
            let kind = if e.is_timeout() { "timed out" } else { "request failed" };
            fail(format!("{kind}: {}", e.without_url()), true)
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retryable = status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429;
        Err(fail(format!("HTTP {status}"), retryable))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::chain::{ChainHead, seal};
    use crate::event::{Actor, AuditEvent};
    use palisade_core::SystemClock;

    fn sink(profile: WebhookProfile) -> WebhookSink {
        WebhookSink::new(WebhookConfig {
            url: "https://siem.example/ingest".into(),
            hmac_key: SecretBytes::from_slice(&[7u8; 32]),
            profile,
            timeout: StdDuration::from_secs(5),
            extra_ca_pem: None,
        })
        .unwrap()
    }

    fn batch() -> Vec<StoredEntry> {
        let e = AuditEvent::new(&SystemClock, "acme".parse().unwrap(), Actor::system("x"), "key.rotated")
            .unwrap();
        vec![seal(ChainHead::EMPTY, e).unwrap().0]
    }

    #[test]
    fn signature_round_trip_and_replay_window() {
        let h = signature(b"k", 1_700_000_000, b"body");
        assert!(verify_signature(b"k", &h, b"body", 1_700_000_100, 300));
        assert!(!verify_signature(b"k", &h, b"bodY", 1_700_000_100, 300));
        assert!(!verify_signature(b"other", &h, b"body", 1_700_000_100, 300));
        assert!(!verify_signature(b"k", &h, b"body", 1_700_001_000, 300), "too old");
    }

    #[test]
    fn profiles_shape_the_body() {
        let b = batch();
        let generic: Value =
            serde_json::from_slice(&sink(WebhookProfile::Generic).body(&b).unwrap()).unwrap();
        assert_eq!(generic["events"][0]["event"]["action"], "key.rotated");
        let hec = sink(WebhookProfile::SplunkHec {
            token: SecretString::new("t".into()),
            sourcetype: "palisade:audit".into(),
            index: Some("audit".into()),
        })
        .body(&b)
        .unwrap();
        let first: Value = serde_json::from_slice(hec.split(|c| *c == b'\n').next().unwrap()).unwrap();
        assert_eq!(first["sourcetype"], "palisade:audit");
        assert_eq!(first["index"], "audit");
        assert_eq!(first["event"]["seq"], 1);
        let dd: Value = serde_json::from_slice(
            &sink(WebhookProfile::Datadog { api_key: SecretString::new("k".into()), service: "app".into() })
                .body(&b)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(dd[0]["ddsource"], "palisade");
        assert!(dd[0]["ddtags"].as_str().unwrap().contains("tenant:acme"));
        let msg: Value = serde_json::from_str(dd[0]["message"].as_str().unwrap()).unwrap();
        assert_eq!(msg["event"]["tenant"], "acme");
    }

    #[test]
    fn plain_http_only_to_loopback() {
        let mk = |url: &str| {
            WebhookSink::new(WebhookConfig {
                url: url.into(),
                hmac_key: SecretBytes::from_slice(&[7u8; 32]),
                profile: WebhookProfile::Generic,
                timeout: StdDuration::from_secs(5),
                extra_ca_pem: None,
            })
        };
        assert!(mk("http://siem.example/x").is_err());
        assert!(mk("http://127.0.0.1:9/x").is_ok());
        assert!(mk("https://siem.example/x").is_ok());
    }
}
