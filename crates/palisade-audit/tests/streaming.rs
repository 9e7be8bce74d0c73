//! Streaming through the spool to a webhook on loopback that fails, times out and recovers:
//! every event arrives, in order per tenant, signed; across restarts too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use palisade_audit::sink::webhook::verify_signature;
use palisade_audit::sink::{JsonlFileSink, WebhookConfig, WebhookProfile, WebhookSink};
use palisade_audit::{
    Actor, Alarm, AuditEvent, AuditLog, AuditStore, Destination, Error, FileAuditStore, FileStoreConfig,
    Filter, MemoryAuditStore, SpoolConfig, Verifier, WhenFull,
};
use palisade_core::{SecretBytes, SystemClock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

/// What the server does with request number n (0-based).
#[derive(Clone, Copy)]
enum Behaviour {
    Fail503,
    Hang,
    Drop,
    Ok,
}

#[derive(Default)]
struct Received {
    /// (tenant, seq, event id) in arrival order, accepted requests only.
    events: Vec<(String, u64, String)>,
    bad_signatures: usize,
    idempotency_keys: Vec<String>,
}

async fn server(script: Arc<dyn Fn(usize) -> Behaviour + Send + Sync>) -> (String, Arc<Mutex<Received>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/audit", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Received::default()));
    let count = Arc::new(AtomicUsize::new(0));
    let rec = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let rec = rec.clone();
            let n = count.fetch_add(1, Ordering::SeqCst);
            let behaviour = script(n);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head_end, len) = loop {
                    let k = sock.read(&mut chunk).await.unwrap_or(0);
                    if k == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..k]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..p]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map(|v| v.trim().parse::<usize>().unwrap())
                            .unwrap_or(0);
                        break (p + 4, len);
                    }
                };
                while buf.len() < head_end + len {
                    let k = sock.read(&mut chunk).await.unwrap_or(0);
                    if k == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..k]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let body = &buf[head_end..head_end + len];
                match behaviour {
                    Behaviour::Fail503 => {
                        let _ = sock.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
                    }
                    Behaviour::Hang => {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                    Behaviour::Drop => {}
                    Behaviour::Ok => {
                        let header = |name: &str| {
                            head.lines().find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                            })
                        };
                        let sig = header("x-palisade-signature").unwrap_or_default();
                        let now = time::OffsetDateTime::now_utc().unix_timestamp();
                        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
                        {
                            let mut r = rec.lock().unwrap();
                            if !verify_signature(KEY, &sig, body, now, 300) {
                                r.bad_signatures += 1;
                            }
                            r.idempotency_keys.push(header("idempotency-key").unwrap_or_default());
                            for e in v["events"].as_array().unwrap() {
                                r.events.push((
                                    e["event"]["tenant"].as_str().unwrap().to_owned(),
                                    e["seq"].as_u64().unwrap(),
                                    e["event"]["id"].as_str().unwrap().to_owned(),
                                ));
                            }
                        }
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                    }
                }
            });
        }
    });
    (url, received)
}

fn webhook(url: &str) -> Arc<WebhookSink> {
    Arc::new(
        WebhookSink::new(WebhookConfig {
            url: url.to_owned(),
            hmac_key: SecretBytes::from_slice(KEY),
            profile: WebhookProfile::Generic,
            timeout: Duration::from_millis(300),
            extra_ca_pem: None,
        })
        .unwrap(),
    )
}

fn fast_retries() -> SpoolConfig {
    SpoolConfig { retry_base_ms: 5, retry_max_ms: 50, batch_max: 16, ..Default::default() }
}

fn ev(tenant: &str, i: usize) -> AuditEvent {
    AuditEvent::new(
        &SystemClock,
        tenant.parse().unwrap(),
        Actor::system(format!("job-{i}")),
        "recipe.started",
    )
    .unwrap()
}

/// Every id recorded arrived; per tenant, first arrivals come in chain order.
fn assert_complete(received: &Received, recorded: &BTreeMap<String, Vec<String>>) {
    assert_eq!(received.bad_signatures, 0);
    let mut first_seen: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut ids = HashSet::new();
    for (t, seq, id) in &received.events {
        if ids.insert(id.clone()) {
            first_seen.entry(t.clone()).or_default().push(*seq);
        }
    }
    for (tenant, want) in recorded {
        let seqs = &first_seen[tenant];
        assert_eq!(
            seqs,
            &(1..=want.len() as u64).collect::<Vec<_>>(),
            "tenant {tenant}: order or completeness"
        );
        for id in want {
            assert!(ids.contains(id), "event {id} of {tenant} lost");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_that_fails_times_out_and_recovers_gets_every_event() {
    // Requests 0-2 fail with 503, 3 hangs past the client timeout, 4 drops the connection,
    // 5 fails again, then it recovers.
    let script: Arc<dyn Fn(usize) -> Behaviour + Send + Sync> = Arc::new(|n| match n {
        0..=2 | 5 => Behaviour::Fail503,
        3 => Behaviour::Hang,
        4 => Behaviour::Drop,
        _ => Behaviour::Ok,
    });
    let (url, received) = server(script).await;
    let spool = tempfile::tempdir().unwrap();
    let store: Arc<dyn AuditStore> = Arc::new(MemoryAuditStore::new(Arc::new(SystemClock), None));
    let log = AuditLog::start(
        store,
        spool.path(),
        vec![Destination { name: "hook".into(), sink: webhook(&url), config: fast_retries() }],
        None,
    )
    .await
    .unwrap();
    let mut recorded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in 0..120 {
        let tenant = ["acme", "globex", "initech"][i % 3];
        let out = log.record(vec![ev(tenant, i)]).await.unwrap();
        recorded.entry(tenant.to_owned()).or_default().push(out[0].event.id.to_string());
    }
    assert!(log.drain(Duration::from_secs(20)).await, "spool did not drain: {:?}", log.status());
    let status = log.status();
    assert!(status[0].delivered >= 120);
    log.shutdown().await;
    assert_complete(&received.lock().unwrap(), &recorded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undelivered_events_survive_a_restart_and_a_crash_before_spooling() {
    let down: Arc<dyn Fn(usize) -> Behaviour + Send + Sync> = Arc::new(|_| Behaviour::Fail503);
    let (down_url, _) = server(down).await;
    let (up_url, received) = server(Arc::new(|_| Behaviour::Ok)).await;
    let data = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let mut recorded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    {
        let store = Arc::new(
            FileAuditStore::open(data.path(), FileStoreConfig::default(), Arc::new(SystemClock), None)
                .unwrap(),
        );
        let log = AuditLog::start(
            store.clone(),
            spool.path(),
            vec![Destination { name: "hook".into(), sink: webhook(&down_url), config: fast_retries() }],
            None,
        )
        .await
        .unwrap();
        for i in 0..30 {
            let out = log.record(vec![ev("acme", i)]).await.unwrap();
            recorded.entry("acme".into()).or_default().push(out[0].event.id.to_string());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(log.status()[0].delivered, 0);
        log.shutdown().await;
        // A crash between the store append and the spool write: these never reached the spool.
        for i in 30..40 {
            let out = store.append(vec![ev("acme", i)]).await.unwrap();
            recorded.entry("acme".into()).or_default().push(out[0].event.id.to_string());
        }
    }
    let store = Arc::new(
        FileAuditStore::open(data.path(), FileStoreConfig::default(), Arc::new(SystemClock), None).unwrap(),
    );
    let log = AuditLog::start(
        store,
        spool.path(),
        vec![Destination { name: "hook".into(), sink: webhook(&up_url), config: fast_retries() }],
        None,
    )
    .await
    .unwrap();
    assert!(log.drain(Duration::from_secs(10)).await);
    log.shutdown().await;
    assert_complete(&received.lock().unwrap(), &recorded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spool_fails_loudly_and_raises_an_alarm() {
    let (url, _) = server(Arc::new(|_| Behaviour::Fail503)).await;
    let spool = tempfile::tempdir().unwrap();
    let alarms = Arc::new(Mutex::new(Vec::new()));
    let a = alarms.clone();
    let store: Arc<dyn AuditStore> = Arc::new(MemoryAuditStore::new(Arc::new(SystemClock), None));
    let config = SpoolConfig { capacity_bytes: 64 << 10, when_full: WhenFull::Fail, ..fast_retries() };
    let log = AuditLog::start(
        store.clone(),
        spool.path(),
        vec![Destination { name: "hook".into(), sink: webhook(&url), config }],
        Some(Arc::new(move |alarm: &Alarm| a.lock().unwrap().push(alarm.clone()))),
    )
    .await
    .unwrap();
    let mut ok = 0;
    let err = loop {
        match log.record(vec![ev("acme", ok)]).await {
            Ok(_) => ok += 1,
            Err(e) => break e,
        }
        assert!(ok < 10_000, "the spool never filled");
    };
    assert!(matches!(err, Error::SpoolFull { .. }), "{err}");
    // The refused event was not recorded either: the log and the spool agree.
    assert_eq!(store.head(&"acme".parse().unwrap()).await.unwrap().seq, ok as u64);
    assert!(alarms.lock().unwrap().iter().any(|a| matches!(a, Alarm::SpoolFull { .. })));
    log.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_a_jsonl_file_destination() {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("acme-logins.jsonl");
    let all = out.path().join("all.jsonl");
    let store: Arc<dyn AuditStore> = Arc::new(MemoryAuditStore::new(Arc::new(SystemClock), None));
    let filtered = SpoolConfig {
        filter: Filter { tenants: vec!["acme".parse().unwrap()], action_prefixes: vec!["user.login".into()] },
        ..fast_retries()
    };
    let log = AuditLog::start(
        store,
        &out.path().join("spool"),
        vec![
            Destination {
                name: "logins".into(),
                sink: Arc::new(JsonlFileSink::new(&file)),
                config: filtered,
            },
            Destination {
                name: "all".into(),
                sink: Arc::new(JsonlFileSink::new(&all)),
                config: fast_retries(),
            },
        ],
        None,
    )
    .await
    .unwrap();
    for (tenant, action) in [
        ("acme", "user.login.succeeded"),
        ("acme", "role.assigned"),
        ("globex", "user.login.failed"),
        ("acme", "user.login.failed"),
    ] {
        let e = AuditEvent::new(&SystemClock, tenant.parse().unwrap(), Actor::system("x"), action).unwrap();
        log.record(vec![e]).await.unwrap();
    }
    assert!(log.drain(Duration::from_secs(5)).await);
    log.shutdown().await;
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["event"]["tenant"] == "acme"
        && l["event"]["action"].as_str().unwrap().starts_with("user.login")));
    // The unfiltered copy is a complete chain again: verify it.
    assert!(Verifier::new().verify_files(&[all]).unwrap().intact);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spool_blocks_until_the_destination_catches_up() {
    // The destination is down for its first 20 requests, then recovers.
    let (url, received) = server(Arc::new(|n| if n < 20 { Behaviour::Fail503 } else { Behaviour::Ok })).await;
    let spool = tempfile::tempdir().unwrap();
    let alarms = Arc::new(Mutex::new(Vec::new()));
    let a = alarms.clone();
    let store: Arc<dyn AuditStore> = Arc::new(MemoryAuditStore::new(Arc::new(SystemClock), None));
    let config = SpoolConfig {
        capacity_bytes: 64 << 10,
        when_full: WhenFull::Block,
        block_timeout_secs: 20,
        ..fast_retries()
    };
    let log = AuditLog::start(
        store,
        spool.path(),
        vec![Destination { name: "hook".into(), sink: webhook(&url), config }],
        Some(Arc::new(move |alarm: &Alarm| a.lock().unwrap().push(alarm.clone()))),
    )
    .await
    .unwrap();
    let mut recorded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Far more than 64 KiB of events: record() must wait for deliveries, not drop or fail.
    for i in 0..400 {
        let out = log.record(vec![ev("acme", i)]).await.unwrap();
        recorded.entry("acme".into()).or_default().push(out[0].event.id.to_string());
    }
    assert!(log.drain(Duration::from_secs(20)).await);
    log.shutdown().await;
    assert!(
        alarms.lock().unwrap().iter().any(|a| matches!(a, Alarm::SpoolFull { .. })),
        "blocking raised an alarm"
    );
    assert_complete(&received.lock().unwrap(), &recorded);
}
