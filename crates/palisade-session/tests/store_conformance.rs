#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! The shared conformance suite, run against every store this crate ships.

use std::sync::Arc;

use palisade_session::{MemoryStore, SessionStore, conformance};
use time::OffsetDateTime;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_conforms() {
    let make = || async { Arc::new(MemoryStore::new()) as Arc<dyn SessionStore> };
    let report = conformance::run(&make, OffsetDateTime::now_utc()).await;
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    assert_eq!(report.passed.len(), 13);
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_conforms() {
    let Some(url) = redis_url() else { return };
    let make = || {
        let url = url.clone();
        async move {
            let prefix = format!(
                "palisade-test:{}:",
                palisade_session::SessionToken::generate().unwrap().hash().unwrap().session_id()
            );
            Arc::new(palisade_session::RedisStore::connect(&url, &prefix).await.unwrap())
                as Arc<dyn SessionStore>
        }
    };
    let report = conformance::run(&make, OffsetDateTime::now_utc()).await;
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    assert_eq!(report.passed.len(), 13);
}

/// The address of the test Redis (`scripts/services/redis.sh`); required under CI.
#[cfg(feature = "redis")]
fn redis_url() -> Option<String> {
    match std::env::var("PALISADE_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PALISADE_TEST_REDIS_URL is not set under CI: run the tests through scripts/test")
        }
        _ => {
            eprintln!("skipping: PALISADE_TEST_REDIS_URL is not set (scripts/test starts a redis-server)");
            None
        }
    }
}
