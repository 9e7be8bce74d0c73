//! Syslog: RFC 5424 messages, framed by RFC 6587 octet counting, over TCP or TLS (rustls).
//!
//! Each event becomes
//! `<PRI>1 <ts> <hostname> <app-name> - <action> [palisade@32473 tenant="..." seq="..." id="..." outcome="..."] <event JSON>`
//! where PRI = facility × 8 + severity (informational for success, warning for failure) and
//! MSGID is the action. 32473 is the private enterprise number reserved for documentation
//! (RFC 5612); set your own with [`SyslogConfig::sd_id`].
//!
//! Syslog over TCP has no application-level acknowledgement: a batch counts as delivered once
//! it is written and flushed to the socket. Events in flight when a connection breaks are sent
//! again on the new connection (at-least-once; the event id de-duplicates).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use time::format_description::well_known::Rfc3339;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::chain::StoredEntry;
use crate::error::{Error, Result};
use crate::event::Outcome;
use crate::stream::AuditSink;

/// Settings of a [`SyslogSink`].
#[derive(Debug, Clone)]
pub struct SyslogConfig {
    /// `host:port` of the collector.
    pub address: String,
    /// TLS: the server name to verify, and extra trusted CAs (PEM). `None` = plain TCP.
    pub tls: Option<(String, Option<Vec<u8>>)>,
    /// Syslog facility (0–23). Default 13, "log audit".
    pub facility: u8,
    /// HOSTNAME field. Default `-`.
    pub hostname: String,
    /// APP-NAME field. Default `palisade`.
    pub app_name: String,
    /// Structured-data id. Default `palisade@32473`.
    pub sd_id: String,
    /// Connect and write timeout.
    pub timeout: StdDuration,
}

impl SyslogConfig {
    /// Plain TCP to `address` with the defaults.
    pub fn tcp(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            tls: None,
            facility: 13,
            hostname: "-".into(),
            app_name: "palisade".into(),
            sd_id: "palisade@32473".into(),
            timeout: StdDuration::from_secs(10),
        }
    }
}

trait Conn: AsyncWrite + Unpin + Send {}
impl<T: AsyncWrite + Unpin + Send> Conn for T {}

/// Delivers to a syslog collector.
pub struct SyslogSink {
    config: SyslogConfig,
    tls: Option<(tokio_rustls::TlsConnector, rustls::pki_types::ServerName<'static>)>,
    conn: tokio::sync::Mutex<Option<Box<dyn Conn>>>,
}

impl std::fmt::Debug for SyslogSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyslogSink").field("address", &self.config.address).finish_non_exhaustive()
    }
}

impl SyslogSink {
    /// Builds the sink; it connects on first delivery.
    pub fn new(config: SyslogConfig) -> Result<Self> {
        if config.facility > 23 {
            return Err(Error::invalid("syslog facility", format!("{} is not 0..=23", config.facility)));
        }
        for (what, v, max) in [
            ("hostname", &config.hostname, 255),
            ("app name", &config.app_name, 48),
            ("sd id", &config.sd_id, 32),
        ] {
            if v.is_empty() || v.len() > max || !v.bytes().all(|b| (33..=126).contains(&b)) {
                return Err(Error::invalid(
                    "syslog header",
                    format!("{what} {v:?} must be 1 to {max} printable ASCII characters"),
                ));
            }
        }
        let tls = match &config.tls {
            None => None,
            Some((name, ca)) => {
                let cfg = crate::sink::tls_client_config(ca.as_deref())?;
                let server = rustls::pki_types::ServerName::try_from(name.clone())
                    .map_err(|e| Error::invalid("syslog TLS server name", e.to_string()))?;
                Some((tokio_rustls::TlsConnector::from(Arc::<rustls::ClientConfig>::clone(&cfg)), server))
            }
        };
        Ok(Self { config, tls, conn: tokio::sync::Mutex::new(None) })
    }

    /// The RFC 5424 message for one entry (without framing).
    pub fn format(&self, e: &StoredEntry) -> Result<String> {
        let severity = if e.event.outcome.is_success() { 6 } else { 4 };
        let pri = u16::from(self.config.facility) * 8 + severity;
        // RFC 5424 allows at most 6 digits of fractional seconds.
        let ts = e.event.ts.replace_nanosecond(e.event.ts.nanosecond() / 1000 * 1000).unwrap_or(e.event.ts);
        let ts = ts.format(&Rfc3339).map_err(|err| Error::invalid("event time", err.to_string()))?;
        let msgid: String = e.event.action.as_str().chars().take(32).collect();
        let outcome = match &e.event.outcome {
            Outcome::Success => "success",
            Outcome::Failure { .. } => "failure",
        };
        let sd = format!(
            "[{} tenant=\"{}\" seq=\"{}\" id=\"{}\" outcome=\"{}\"]",
            self.config.sd_id,
            sd_escape(e.event.tenant.as_str()),
            e.seq,
            e.event.id,
            outcome
        );
        let msg = serde_json::to_string(&e.event)?;
        Ok(format!("<{pri}>1 {ts} {} {} - {msgid} {sd} {msg}", self.config.hostname, self.config.app_name))
    }

    async fn connect(&self) -> std::io::Result<Box<dyn Conn>> {
        let tcp = tokio::time::timeout(self.config.timeout, TcpStream::connect(&self.config.address))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
        tcp.set_nodelay(true)?;
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some((connector, name)) => {
                let s = tokio::time::timeout(self.config.timeout, connector.connect(name.clone(), tcp))
                    .await
                    .map_err(|_| {
                        std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
                    })??;
                Ok(Box::new(s))
            }
        }
    }
}

fn sd_escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace(']', "\\]")
}

#[async_trait]
impl AuditSink for SyslogSink {
    async fn deliver(&self, batch: &[StoredEntry]) -> Result<()> {
        let mut frames = Vec::new();
        for e in batch {
            let msg = self.format(e)?;
            frames.extend_from_slice(format!("{} {msg}", msg.len()).as_bytes());
        }
        let mut guard = self.conn.lock().await;
        let fail = |e: std::io::Error| Error::Delivery {
            destination: self.config.address.clone(),
            reason: e.to_string(),
            retryable: true,
        };
        if guard.is_none() {
            *guard = Some(self.connect().await.map_err(fail)?);
        }
        let Some(conn) = guard.as_mut() else { return Err(Error::Closed) };
        let r = tokio::time::timeout(self.config.timeout, async {
            conn.write_all(&frames).await?;
            conn.flush().await
        })
        .await
        .unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out")));
        if let Err(e) = r {
            *guard = None;
            return Err(fail(e));
        }
        Ok(())
    }
}
