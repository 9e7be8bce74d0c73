//! Destinations: a JSONL file, an HTTPS webhook (generic, Splunk HEC, Datadog logs), and
//! syslog (RFC 5424 over TCP with RFC 6587 octet counting, or over TLS).

pub mod file;
pub mod syslog;
pub mod webhook;

use std::sync::Arc;

use crate::error::{Error, Result};

pub use file::JsonlFileSink;
pub use syslog::{SyslogConfig, SyslogSink};
pub use webhook::{WebhookConfig, WebhookProfile, WebhookSink};

/// A rustls client configuration (aws-lc-rs provider, TLS 1.2+) trusting the Mozilla roots and,
/// if given, the certificates in `extra_ca_pem` (for private CAs).
pub fn tls_client_config(extra_ca_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::invalid("CA certificate", e.to_string()))?;
            roots.add(cert).map_err(|e| Error::invalid("CA certificate", e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid("TLS configuration", e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
