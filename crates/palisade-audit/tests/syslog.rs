//! Syslog delivery: to a real rsyslogd over TCP (started by scripts/test), and over TLS to an
//! in-process rustls server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::Duration;

use palisade_audit::sink::{SyslogConfig, SyslogSink};
use palisade_audit::{
    Actor, AuditEvent, AuditLog, AuditStore, Destination, MemoryAuditStore, Outcome, SpoolConfig,
};
use palisade_core::SystemClock;
use tokio::io::AsyncReadExt;

fn unique_tenant() -> String {
    let r: [u8; 6] = palisade_core::random::array().unwrap();
    format!("rs-{}", hex::encode(r))
}

async fn record_through(sink: SyslogSink, tenant: &str) -> Vec<palisade_audit::StoredEntry> {
    let spool = tempfile::tempdir().unwrap();
    let store: Arc<dyn AuditStore> = Arc::new(MemoryAuditStore::new(Arc::new(SystemClock), None));
    let config = SpoolConfig { retry_base_ms: 10, retry_max_ms: 100, ..Default::default() };
    let log = AuditLog::start(
        store,
        spool.path(),
        vec![Destination { name: "syslog".into(), sink: Arc::new(sink), config }],
        None,
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    for i in 0..5 {
        let mut e = AuditEvent::new(
            &SystemClock,
            tenant.parse().unwrap(),
            Actor::system(format!("op{i}")),
            "user.mfa.reset",
        )
        .unwrap();
        if i == 3 {
            e = e.with_outcome(Outcome::failure("factor \"missing\" ]"));
        }
        out.extend(log.record(vec![e]).await.unwrap());
    }
    assert!(log.drain(Duration::from_secs(10)).await, "{:?}", log.status());
    log.shutdown().await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsyslog_receives_rfc5424_with_octet_counting() {
    let (Ok(addr), Ok(out)) = (std::env::var("PALISADE_RSYSLOG_ADDR"), std::env::var("PALISADE_RSYSLOG_OUT"))
    else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "PALISADE_RSYSLOG_ADDR/PALISADE_RSYSLOG_OUT not set: run through scripts/test (scripts/services/rsyslog.sh)"
            );
        }
        eprintln!("skipping: no rsyslogd (run scripts/test to start one)");
        return;
    };
    let tenant = unique_tenant();
    let mut config = SyslogConfig::tcp(addr);
    config.hostname = "palisade-test".into();
    let entries = record_through(SyslogSink::new(config).unwrap(), &tenant).await;
    // rsyslog writes asynchronously: wait for our five lines (bounded).
    let mut mine = Vec::new();
    for _ in 0..100 {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        mine =
            text.lines().filter(|l| l.contains(&format!("tenant=\"{tenant}\""))).map(str::to_owned).collect();
        if mine.len() >= entries.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mine.len(), entries.len(), "rsyslog wrote: {mine:#?}");
    // The template is timereported|hostname|app-name|msgid|pri|structured-data|msg.
    for (line, e) in mine.iter().zip(&entries) {
        let f: Vec<&str> = line.splitn(7, '|').collect();
        assert_eq!(f[1], "palisade-test");
        assert_eq!(f[2], "palisade");
        assert_eq!(f[3], "user.mfa.reset");
        let pri = if e.event.outcome.is_success() { "110" } else { "108" };
        assert_eq!(f[4], pri, "{line}");
        assert!(f[5].contains(&format!("seq=\"{}\"", e.seq)), "{line}");
        assert!(f[5].contains(&format!("id=\"{}\"", e.event.id)), "{line}");
        let msg: serde_json::Value = serde_json::from_str(f[6].trim()).unwrap();
        assert_eq!(msg["id"], e.event.id.to_string());
        let ts = time::OffsetDateTime::parse(f[0], &time::format_description::well_known::Rfc3339).unwrap();
        assert!((ts - e.event.ts).abs() < time::Duration::milliseconds(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_over_tls() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = cert.cert.pem();
    let cert_der = cert.cert.der().clone();
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let server_config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert_der], key_der)
            .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(sock).await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = tls.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            // RFC 6587 octet counting: "LEN SP MSG".
            while let Some(sp) = buf.iter().position(|b| *b == b' ') {
                let len: usize = std::str::from_utf8(&buf[..sp]).unwrap().parse().unwrap();
                if buf.len() < sp + 1 + len {
                    break;
                }
                let msg = String::from_utf8(buf[sp + 1..sp + 1 + len].to_vec()).unwrap();
                buf.drain(..sp + 1 + len);
                tx.send(msg).unwrap();
            }
        }
    });
    let mut config = SyslogConfig::tcp(addr.to_string());
    config.tls = Some(("localhost".into(), Some(cert_pem.into_bytes())));
    let tenant = unique_tenant();
    let entries = record_through(SyslogSink::new(config).unwrap(), &tenant).await;
    for e in &entries {
        let msg = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap().unwrap();
        assert!(msg.starts_with(if e.event.outcome.is_success() { "<110>1 " } else { "<108>1 " }), "{msg}");
        assert!(msg.contains(&format!("[palisade@32473 tenant=\"{tenant}\" seq=\"{}\"", e.seq)), "{msg}");
        assert!(msg.contains(" palisade - user.mfa.reset "), "{msg}");
    }
}

#[test]
fn rfc5424_header_escaping() {
    let sink = SyslogSink::new(SyslogConfig::tcp("127.0.0.1:1")).unwrap();
    let e =
        AuditEvent::new(&SystemClock, "acme".parse().unwrap(), Actor::system("x"), "key.rotated").unwrap();
    let entry = palisade_audit::chain::seal(palisade_audit::ChainHead::EMPTY, e).unwrap().0;
    let msg = sink.format(&entry).unwrap();
    assert!(msg.starts_with("<110>1 "));
    // At most 6 digits of fractional seconds (RFC 5424 §6.2.3).
    let ts = msg.split(' ').nth(1).unwrap();
    if let Some(frac) = ts.split('.').nth(1) {
        assert!(frac.trim_end_matches('Z').len() <= 6, "{ts}");
    }
    let mut bad = SyslogConfig::tcp("x:1");
    bad.hostname = "has space".into();
    assert!(SyslogSink::new(bad).is_err());
}
