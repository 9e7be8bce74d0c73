//! A reqwest client using the egress resolver against a real server on loopback.
#![cfg(feature = "reqwest")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may

use std::error::Error as _;
use std::sync::Arc;

use palisade_egress::reqwest::{Denied, EgressClient, RequestError};
use palisade_egress::{Egress, EgressPolicy, PinnedResolver, Rule};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves every connection with `response`; returns the port.
async fn serve(response: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(response.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    port
}

fn resolver() -> Arc<PinnedResolver> {
    Arc::new(PinnedResolver::default().pin("svc.test", vec!["127.0.0.1".parse().unwrap()]))
}

fn chain_has_denied(e: &RequestError) -> bool {
    match e {
        RequestError::Denied(_) => true,
        RequestError::Http(h) => {
            let mut src = h.source();
            while let Some(s) = src {
                if s.downcast_ref::<Denied>().is_some() {
                    return true;
                }
                src = s.source();
            }
            false
        }
    }
}

#[tokio::test]
async fn loopback_is_refused_by_default() {
    let port = serve("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".into()).await;
    let egress = Arc::new(Egress::new(&EgressPolicy::public_internet()).unwrap());
    let client = EgressClient::new(egress, Some(resolver())).unwrap();
    // By name: refused at connect time by the resolver.
    let err = client
        .execute(client.inner().get(format!("http://svc.test:{port}/")).build().unwrap())
        .await
        .unwrap_err();
    assert!(chain_has_denied(&err), "{err:?}");
    assert!(
        matches!(err, RequestError::Http(_)),
        "the name passes the URL check and is stopped at connect time"
    );
    // By IP literal: refused before sending.
    let err = client
        .execute(client.inner().get(format!("http://127.0.0.1:{port}/")).build().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, RequestError::Denied(_)), "{err:?}");
}

#[tokio::test]
async fn allowed_when_the_policy_allows_loopback_explicitly() {
    let port = serve("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".into()).await;
    let policy = EgressPolicy {
        allow: vec![Rule {
            host: Some("svc.test".into()),
            ports: vec![port],
            label: Some("test server".into()),
            ..Rule::default()
        }],
        allow_builtin: vec!["127.0.0.0/8".into()],
        ..EgressPolicy::default()
    };
    let egress = Arc::new(Egress::new(&policy).unwrap());
    let client = EgressClient::new(egress, Some(resolver())).unwrap();
    let res = client
        .execute(client.inner().get(format!("http://svc.test:{port}/")).build().unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok");
    // Another port of the same host is not allowed.
    let err = client
        .execute(client.inner().get(format!("http://svc.test:{}/", port.wrapping_add(1))).build().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, RequestError::Denied(_)), "{err:?}");
}

#[tokio::test]
async fn redirects_are_rechecked() {
    let redirect = serve("HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()).await;
    let policy = EgressPolicy {
        allow: vec![Rule { host: Some("svc.test".into()), ..Rule::default() }],
        allow_builtin: vec!["127.0.0.0/8".into()],
        ..EgressPolicy::public_internet()
    };
    let egress = Arc::new(Egress::new(&policy).unwrap());
    let client = EgressClient::new(egress, Some(resolver())).unwrap();
    let err = client
        .execute(client.inner().get(format!("http://svc.test:{redirect}/")).build().unwrap())
        .await
        .unwrap_err();
    assert!(chain_has_denied(&err), "{err:?}");
}
